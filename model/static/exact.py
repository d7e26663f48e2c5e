"""Exact unreachability of a compiled network: frontier BDD and factoring.

Two independent exact methods, so each checks the other:

* **Frontier BDD** (:class:`FrontierDiagram`): components are ordered along a
  path-width-friendly vertex order and a decision diagram is built level by
  level, one level per component; the state kept at a level is the reachability
  among the *frontier* nodes (those touching both decided and undecided
  components), so the size grows with the frontier width, not the edge count.
  A level is built for all its states at once (numpy): both branches in one
  array, states equal after the level merged by sorting one 64-bit key per state
  (cut-off and served states get the two largest keys, so the sort also gives
  every child index). On undirected problems a state is a partition of the
  frontier (each slot names the lowest slot of its block, or the source's or a
  target's block: a byte per slot, the row itself the key up to 8 slots, two
  codes a byte up to 13), else a reachability relation in bit masks. The limit
  of the method is the frontier width (``max_width``).
  The diagram depends only on the structure; it is evaluated for any failure
  probabilities in exact integer arithmetic (when every random component fails
  with the same ``p``, as the unreliability polynomial ``sum_k c_k p^k (1-p)^(m-k)``
  with the counts ``c_k`` in 64-bit integers while they fit), or, for diagrams
  too large for that (``arithmetic="auto"``), in double precision summing the
  unreachability itself (no ``1 - R``), with a proven relative rounding bound.
* **Factoring** (pivotal decomposition) on a mixed directed/undirected graph with
  node failures, with series, parallel, degree-1, perfect-element contraction and
  articulation-point (series-block) reductions, in exact rationals.

Both work per demand (source → any of its targets, with prerequisite components
in series) and are combined demand-weighted. Common-cause events are handled by
conditioning on the states of the events that touch a demand (members forced
down). Failure probabilities are taken as the exact rationals of the floats, the
unreachability ``U`` is accumulated directly (never as ``1 - R`` in floating
point), so results are exact down to ``q = 1e-9`` and below.

Examples
--------
>>> import networkx as nx
>>> from model.network.compiled import compile_graph
>>> g = nx.Graph()
>>> g.add_edge("s", "a", q=0.5); g.add_edge("a", "t", q=0.5); g.add_edge("s", "t", q=0.5)
>>> net = compile_graph(g, "s", "t")
>>> est = exact_unreachability(net)
>>> est.value, est.method, est.details["fraction"]
(0.375, 'exact-bdd', '3/8')
>>> exact_unreachability(net, method="factoring").value
0.375
>>> brute_force_unreachability(net)
0.375
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from model.network.compiled import CompiledNetwork
from model.results.estimate import Estimate, provenance

__all__ = [
    "DemandProblem",
    "ExactEngine",
    "ExactTooLarge",
    "FrontierDiagram",
    "brute_force_unreachability",
    "demand_problem",
    "demand_unreachability",
    "exact_unreachability",
]

FAIL = -1  # child code: demand cut off
SUCCESS = -2  # child code: demand served
_LIVE = -3  # child code while a level is built: a node of the next level
_MIX = np.uint64(0x9E3779B97F4A7C15)
_NO_CHILDREN = np.zeros(0, dtype=np.int32)  # children of a level not built yet
_KEY_SUCCESS = np.uint64(2**64 - 2)  # sort key of a served state: after every live state
_KEY_FAIL = np.uint64(2**64 - 1)  # sort key of a state cut off: the last

DEFAULT_MAX_MEMORY = 256 * 2**20  # bytes of frontier states per level
DEFAULT_EXACT_WORK = 400_000_000  # nodes x numerator bits of one exact-rational evaluation (~1 s)
_ADVICE = "use --method mc or rare (Monte Carlo or the rare-event estimator) instead"


class ExactTooLarge(ValueError):
    """The network is too large for the exact methods; the message names what to use instead."""


# ----------------------------------------------------------------------------- problems
@dataclass(frozen=True)
class DemandProblem:
    """The part of a network that matters for one (source, targets) pair.

    Nodes that cannot be reached from the source, or cannot reach a target, are
    dropped, as are arcs into the source and arcs out of targets.
    """

    source: int
    targets: frozenset[int]
    nodes: tuple[int, ...]
    node_comp: dict[int, int]  # node -> component, only nodes that fail
    arcs: tuple[tuple[int, int, int], ...]  # (u, v, component or -1)
    trivial: int | None = None  # 0: always served (given source/target up), 1: never served

    @functools.cached_property
    def components(self) -> frozenset[int]:
        """Components whose state can matter."""
        cs = set(self.node_comp.values())
        cs.update(c for _u, _v, c in self.arcs if c >= 0)
        return frozenset(cs)


def demand_problem(net: CompiledNetwork, source: int, targets: Iterable[int]) -> DemandProblem:
    """Relevant sub-network between ``source`` and ``targets`` (node indices).

    Examples
    --------
    >>> import networkx as nx
    >>> from model.network.compiled import compile_graph
    >>> g = nx.path_graph(4); nx.set_edge_attributes(g, 0.1, "q")
    >>> net = compile_graph(g, 1, 3)
    >>> p = demand_problem(net, 1, [3])
    >>> p.nodes, sorted(p.components)
    ((1, 2, 3), [1, 2])
    """
    targets = frozenset(int(t) for t in targets)
    s = int(source)
    ncomp = {int(v): int(c) for v, c in enumerate(net.node_component.tolist()) if c >= 0}
    if s in targets:
        # served exactly when the source node is up
        nodes = (s,)
        return DemandProblem(s, targets, nodes, {k: v for k, v in ncomp.items() if k == s}, (), None)
    src, dst, comp = net.arc_src.tolist(), net.arc_dst.tolist(), net.arc_component.tolist()
    out_adj: dict[int, list[int]] = {}
    in_adj: dict[int, list[int]] = {}
    for a, (u, v) in enumerate(zip(src, dst, strict=True)):
        if u == v or v == s or u in targets:
            continue
        out_adj.setdefault(u, []).append(a)
        in_adj.setdefault(v, []).append(a)
    fwd = {s}
    stack = [s]
    while stack:
        u = stack.pop()
        for a in out_adj.get(u, ()):
            if dst[a] not in fwd:
                fwd.add(dst[a])
                stack.append(dst[a])
    bwd = set(t for t in targets if t in fwd)
    stack = list(bwd)
    while stack:
        v = stack.pop()
        for a in in_adj.get(v, ()):
            if src[a] in fwd and src[a] not in bwd:
                bwd.add(src[a])
                stack.append(src[a])
    if s not in bwd:
        return DemandProblem(s, targets, (s,), {}, (), 1)
    arcs = tuple(
        (src[a], dst[a], comp[a])
        for u in sorted(bwd)
        for a in out_adj.get(u, ())
        if dst[a] in bwd
    )
    nodes = tuple(sorted(bwd))
    return DemandProblem(s, targets, nodes, {v: ncomp[v] for v in nodes if v in ncomp}, arcs, None)


def _frac(x: float | Fraction) -> Fraction:
    return x if isinstance(x, Fraction) else Fraction(float(x))


def _unique_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of one occurrence of each distinct key, and the index of each key among them."""
    order = np.argsort(keys)
    sk = keys[order]
    new = np.empty(sk.size, dtype=bool)
    new[:1] = True
    np.not_equal(sk[1:], sk[:-1], out=new[1:])
    new[0] = False
    inv = np.empty(sk.size, dtype=np.int32)
    inv[order] = np.add.accumulate(new, dtype=np.int32)
    new[0] = True
    return order[new], inv


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of an int64 matrix and the index of each row among them.

    Rows are hashed to one 64-bit word and sorted once; the distinct rows are then
    checked against every row, so a hash collision falls back to an exact row sort.
    """
    u = rows.view(np.uint64)
    h = np.zeros(rows.shape[0], dtype=np.uint64)
    for j in np.flatnonzero(u.any(axis=0)):
        h ^= u[:, j]
        h *= _MIX
        h ^= h >> np.uint64(31)
    _, first, inv = np.unique(h, return_index=True, return_inverse=True)
    uniq = rows[first]
    if np.array_equal(uniq[inv], rows):
        return uniq, inv.reshape(-1)
    uniq, inv = np.unique(rows, axis=0, return_inverse=True)
    return uniq, inv.reshape(-1)


# ----------------------------------------------------------------------------- frontier BDD
@dataclass
class _Level:
    comp: int  # component decided at this level, -1 for an arc that never fails
    arcs: list[tuple[int, int]]  # (slot of tail, slot of head)
    keep: int  # mask of slots still active after this level
    retire: list[int]  # slots freed after this level
    tmask: int  # slots holding targets during this level
    start: list[int] = field(default_factory=list)  # slots that join the frontier at this level
    pairs: list[tuple[int, int]] = field(default_factory=list)  # the arcs as undirected slot pairs
    down: np.ndarray = field(default_factory=lambda: _NO_CHILDREN)
    up: np.ndarray = field(default_factory=lambda: _NO_CHILDREN)


def _vertex_orders(
    n: int, adj: list[set[int]], source: int, targets: Sequence[int], limit: int | None = None
) -> list[list[int]]:
    """Candidate vertex orders: greedy small-frontier orders and BFS from the source and targets.

    A greedy order is abandoned as soon as its frontier exceeds ``limit``.
    """

    def bfs(starts: Sequence[int], by_degree: bool = False) -> list[int]:
        seen = [False] * n
        order: list[int] = []
        for st in [*starts, *range(n)]:
            if seen[st]:
                continue
            seen[st] = True
            queue = [st]
            i = 0
            while i < len(queue):
                u = queue[i]
                i += 1
                order.append(u)
                nb = sorted(adj[u], key=lambda x: (len(adj[x]), x)) if by_degree else sorted(adj[u])
                for v in nb:
                    if not seen[v]:
                        seen[v] = True
                        queue.append(v)
        return order

    def greedy(start: int) -> list[int] | None:
        # grow the visited set one vertex at a time, keeping the frontier (visited vertices
        # with unvisited neighbours) as small as possible: the next vertex minimises
        # (frontier growth - frontier shrink, -visited neighbours, index)
        visited = [False] * n
        rem = [len(adj[v]) for v in range(n)]  # unvisited neighbours
        shrink = [0] * n  # visited neighbours whose last unvisited neighbour this is
        nvis = [0] * n
        order: list[int] = []
        cand: set[int] = set()
        nxt = 0
        width = 0

        def last_open(u: int) -> None:
            for w in adj[u]:
                if not visited[w]:
                    shrink[w] += 1
                    return

        while len(order) < n:
            if limit is not None and width > limit:
                return None
            if cand:
                v = min(cand, key=lambda x: ((rem[x] > 0) - shrink[x], -nvis[x], x))
                cand.discard(v)
            elif not visited[start]:
                v = start
            else:
                while visited[nxt]:
                    nxt += 1
                v = nxt
            visited[v] = True
            order.append(v)
            if rem[v] > 0:
                width += 1
            for u in adj[v]:
                rem[u] -= 1
                nvis[u] += 1
                if not visited[u]:
                    cand.add(u)
                elif rem[u] == 0:
                    width -= 1
                elif rem[u] == 1:
                    last_open(u)
            if rem[v] == 1:
                last_open(v)
        return order

    cands = [greedy(source), bfs([source]), bfs([source], by_degree=True)]
    for t in list(targets)[:2]:
        cands.append(greedy(t))
        cands.append(bfs([t]))
    return [c for c in cands if c is not None]


class FrontierDiagram:
    """Ordered decision diagram of "demand served" over the components of a problem.

    Built once per (source, targets) structure; :meth:`unreachability` evaluates
    it exactly for any failure probabilities.

    Parameters
    ----------
    problem : DemandProblem
    max_width : int
        Refuse (``ExactTooLarge``) when the best order found has a wider frontier.
    max_memory : int
        Bytes the frontier states of one level may take while it is built; a
        level that would need more is refused (``ExactTooLarge``). The limit of
        the method is the frontier width; this guards the rare graph whose states
        at a width within ``max_width`` are still too many.

    Examples
    --------
    >>> import networkx as nx
    >>> from model.network.compiled import compile_graph
    >>> g = nx.cycle_graph(4); nx.set_edge_attributes(g, 0.5, "q")
    >>> net = compile_graph(g, 0, 2)
    >>> d = FrontierDiagram(demand_problem(net, 0, [2]))
    >>> d.unreachability({c: Fraction(1, 2) for c in range(4)})
    Fraction(9, 16)
    """

    def __init__(
        self, problem: DemandProblem, *, max_width: int = 22, max_memory: int = DEFAULT_MAX_MEMORY
    ) -> None:
        self.problem = problem
        self.levels: list[_Level] = []
        self.width = 0
        self.n_nodes = 0
        self.root: int = FAIL
        if problem.trivial == 1 or (not problem.arcs and not problem.node_comp):
            self.root = FAIL if problem.trivial == 1 or problem.source not in problem.targets else SUCCESS
            return
        self._build(max_width, max_memory)

    # -- structure
    def _build(self, max_width: int, max_memory: int) -> None:
        p = self.problem
        # split failing nodes into in/out halves joined by an arc carrying the node component
        ids_in: dict[int, int] = {}
        ids_out: dict[int, int] = {}
        arcs: list[tuple[int, int, int]] = []
        n = 0
        for v in p.nodes:
            ids_in[v] = n
            n += 1
            if v in p.node_comp:
                ids_out[v] = n
                arcs.append((n - 1, n, p.node_comp[v]))
                n += 1
            else:
                ids_out[v] = ids_in[v]
        arcs.extend((ids_out[u], ids_in[v], c) for u, v, c in p.arcs)
        source = ids_in[p.source]
        targets = sorted({ids_out[t] for t in p.targets if t in ids_out})
        groups: dict[int, list[tuple[int, int]]] = {}
        fixed: list[tuple[int, int]] = []
        for u, v, c in arcs:
            if c >= 0:
                groups.setdefault(c, []).append((u, v))
            else:
                fixed.append((u, v))
        elems: list[tuple[int, list[tuple[int, int]]]] = [(c, a) for c, a in groups.items()]
        elems.extend((-1, [a]) for a in fixed)
        adj: list[set[int]] = [set() for _ in range(n)]
        for _c, al in elems:
            ends = {x for a in al for x in a}
            for x in ends:
                adj[x].update(ends - {x})
        # score each candidate vertex order (widest frontier, then total frontier) in numpy:
        # elements sorted by their last then first vertex, the frontier counted per level
        E = len(elems)
        ends = np.array([x for _c, al in elems for a in al for x in a], dtype=np.int64)
        sizes = np.array([2 * len(al) for _c, al in elems], dtype=np.int64)
        offs = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        elem_of = np.repeat(np.arange(E), sizes)
        keep_node = np.ones(n, dtype=bool)
        keep_node[targets] = False
        best: tuple[tuple[int, int], np.ndarray] | None = None
        seen: set[tuple[int, ...]] = set()
        for order in _vertex_orders(n, adj, source, targets, limit=max_width):
            if tuple(order) in seen:  # BFS by degree often equals plain BFS
                continue
            seen.add(tuple(order))
            pos = np.empty(n, dtype=np.int64)
            pos[order] = np.arange(n)
            pe = pos[ends]
            lo, hi = np.minimum.reduceat(pe, offs), np.maximum.reduceat(pe, offs)
            lvl_order = np.lexsort((np.arange(E), lo, hi))
            rank = np.empty(E, dtype=np.int64)
            rank[lvl_order] = np.arange(E)
            le = rank[elem_of]
            first = np.full(n, E, dtype=np.int64)
            last = np.full(n, -1, dtype=np.int64)
            np.minimum.at(first, ends, le)
            np.maximum.at(last, ends, le)
            first[source] = 0
            ok = keep_node & (last >= first)
            diff = np.bincount(first[ok], minlength=E + 1) - np.bincount(last[ok] + 1, minlength=E + 1)
            prof = np.cumsum(diff)
            score = (int(prof[:E].max()) if E else 0, int(prof[:E].sum()))
            if best is None or score < best[0]:
                best = (score, lvl_order)
        assert best is not None
        if best[0][0] > max_width:
            raise ExactTooLarge(
                f"exact-bdd: the frontier is {best[0][0]} nodes wide for demand from node "
                f"{p.source} (limit {max_width}); the decision diagram would be too large; {_ADVICE}"
            )
        ordered = [elems[i] for i in best[1].tolist()]
        self._assign_slots(n, ordered, source, targets)
        if self._undirected():
            self._run_partition(max_memory)
        else:
            self._run(max_memory)

    @staticmethod
    def _first_last(
        n: int, arcsets: list[list[tuple[int, int]]], source: int, targets: Iterable[int]
    ) -> tuple[list[int], list[int]]:
        """First and last level touching each node; targets get none (they are one sink bit)."""
        first = [-1] * n
        last = [-1] * n
        for lv, al in enumerate(arcsets):
            for a in al:
                for x in a:
                    if first[x] < 0:
                        first[x] = lv
                    last[x] = lv
        first[source] = 0
        for x in targets:
            first[x] = last[x] = -1
        return first, last

    def _assign_slots(
        self, n: int, ordered: list[tuple[int, list[tuple[int, int]]]], source: int, targets: list[int]
    ) -> None:
        # Frontier nodes get slots (bit positions), reused after a node's last level. Targets
        # are sinks (arcs out of them were dropped) and all share one extra bit, "a target".
        first, last = self._first_last(n, [al for _c, al in ordered], source, targets)
        starts: dict[int, list[int]] = {}
        for x in range(n):
            if first[x] >= 0 and last[x] >= first[x]:
                starts.setdefault(first[x], []).append(x)
        slot = [-1] * n
        free: list[int] = []
        width = 0
        tset = set(targets)
        TG = -2  # the target bit, numbered once the width is known
        active = 0
        for lv, (c, al) in enumerate(ordered):
            st = starts.get(lv, ())
            for x in sorted(st, key=lambda y: (y != source, y)):
                if free:
                    free.sort()
                    slot[x] = free.pop(0)
                else:
                    slot[x] = width
                    width += 1
                active |= 1 << slot[x]
            arcs = [(slot[u], TG if v in tset else slot[v]) for u, v in al]
            retire_slots = sorted({slot[x] for a in al for x in a if x not in tset and last[x] == lv})
            for sl in retire_slots:
                active &= ~(1 << sl)
            self.levels.append(_Level(c, arcs, active, retire_slots, 0, [slot[x] for x in st]))
            free.extend(retire_slots)
        self.width = width
        tbit = 1 << width
        for lev in self.levels:
            if any(b == TG for _a, b in lev.arcs):
                lev.arcs = [(a, width if b == TG else b) for a, b in lev.arcs]
            lev.pairs = sorted({(min(a, b), max(a, b)) for a, b in lev.arcs})
            lev.tmask = tbit
        self._source_slot = slot[source]
        self._source_is_target = source in tset

    def _check_memory(self, states: int, need: int, max_memory: int) -> None:
        if need > max_memory:
            raise ExactTooLarge(
                f"exact-bdd: {states:,} frontier states at one level (frontier width {self.width}) for "
                f"the demand from node {self.problem.source} need more than "
                f"max_memory={max_memory / 2**20:.0f} MiB; {_ADVICE}"
            )

    def _undirected(self) -> bool:
        """True when every arc has its reverse on the same component (an undirected graph)
        and no node can fail: then the frontier state is a partition, and cheaper."""
        p = self.problem
        if p.node_comp:
            return False
        arcs = set(p.arcs)
        for u, v, c in p.arcs:
            # arcs into the source and out of targets were dropped as useless
            if (v, u, c) not in arcs and u != p.source and v not in p.targets:
                return False
        return True

    def _run_partition(self, max_memory: int) -> None:
        """Frontier states of an undirected problem as partitions of the frontier slots.

        Each slot holds a byte code: the lowest slot of its block, ``W`` for the source's
        block, ``W + 1`` for a block joined to a target, ``W + 2`` when inactive. The
        codes are canonical without relabelling, so a level's states are deduplicated by
        sorting one 64-bit key per state: the row of codes itself when the frontier has
        at most 8 slots, two codes a byte up to 13 slots. Both branches of a level are
        built in one array; the states that are cut off or served get the two largest
        keys, so after one sort the child of every state is its index among the distinct
        keys, ``n`` meaning served and ``n + 1`` cut off (``n`` live states).
        """
        W = self.width
        SRC, TGT, OFF = W, W + 1, W + 2
        if OFF > 15:
            self._run_partition_wide(max_memory)
            return
        cols = 8 if W <= 8 else 16
        # merge table of an arc between blocks coded x and y: the surviving code, the code that
        # disappears (equal to the survivor when x and y are one block) and "source meets target"
        xs = np.arange(OFF + 1)
        hi = np.maximum.outer(xs, xs)
        lo = np.minimum.outer(xs, xs)
        t_keep = np.where(hi >= SRC, hi, lo).astype(np.uint8)
        t_gone = np.where(hi >= SRC, lo, hi).astype(np.uint8)
        t_succ = (lo == SRC) & (hi == TGT)
        t_gone[t_succ] = OFF + 1  # served: nothing to rename, the state leaves
        live_keys = np.array([_KEY_SUCCESS, _KEY_FAIL], dtype=np.uint64)
        tgt_seen = False  # no block can be joined to a target before the first arc into one
        L = np.full((1, cols), OFF, dtype=np.uint8)
        L[0, self._source_slot] = SRC
        total = 0
        for lvn, lev in enumerate(self.levels):
            for x in lev.start:
                if x != self._source_slot or lvn:
                    L[:, x] = x
            S = L.shape[0]
            total += S
            self._check_memory(S, S * (4 * cols + 32), max_memory)
            rnd = lev.comp >= 0
            B = np.concatenate([L, L]) if rnd else L
            U = B[S:] if rnd else B  # the up branch: the level's arcs work
            succ = None
            for a, b in lev.pairs:
                ra = U[:, a]
                s_ab = None
                if b < W:
                    rb = U[:, b]
                    keep, gone = t_keep[ra, rb], t_gone[ra, rb]
                    if tgt_seen:  # the source meets a block already joined to a target
                        s_ab = t_succ[ra, rb]
                else:  # an arc into the target bit
                    tgt_seen = True
                    keep, gone = t_keep[ra, TGT], t_gone[ra, TGT]
                    s_ab = ra == SRC
                np.copyto(U, keep[:, None], where=U == gone[:, None])
                if s_ab is not None:
                    succ = s_ab if succ is None else succ | s_ab
            for j in lev.retire:
                B[:, j] = OFF
                m = B == j  # j was its block's lowest slot: the next lowest names the block
                if m.any():
                    np.copyto(B, m.argmax(axis=1).astype(np.uint8)[:, None], where=m)
            if cols == 8:
                keys = B.view(np.uint64).reshape(-1)
            else:
                keys = (B[:, 0::2] | (B[:, 1::2] << 4)).view(np.uint64).reshape(-1)
            if lev.retire:  # the source's block lost its last slot: cut off
                has = (B == SRC).view(np.uint64)
                keys[(has[:, 0] if cols == 8 else has[:, 0] | has[:, 1]) == 0] = _KEY_FAIL
            if succ is not None:
                keys[B.shape[0] - S :][succ] = _KEY_SUCCESS
            first, inv = _unique_keys(np.concatenate([keys, live_keys]))
            n = first.size - 2
            L = B[first[:n]]
            lev.up = inv[B.shape[0] - S : B.shape[0]]
            lev.down = inv[:S]
        self.n_nodes = total
        if L.shape[0]:
            raise AssertionError("frontier diagram left open states")
        self.root = 0

    def _run_partition_wide(self, max_memory: int) -> None:
        """Partition states for frontiers wider than 13 slots: several 64-bit words a state."""
        W = self.width
        SRC, TGT, OFF = W, W + 1, W + 2
        bits = max(1, int(OFF).bit_length())
        per_word = 64 // bits
        words = -(-W // per_word)
        shifts = [np.uint64(bits * (j % per_word)) for j in range(W)]
        nibbles = OFF < 16  # then two codes a byte, the whole state in one 64-bit word
        L = np.full((1, W), OFF, dtype=np.uint8)
        L[0, self._source_slot] = SRC
        total = 0
        for lev in self.levels:
            for x in lev.start:
                if x != self._source_slot or total:
                    L[:, x] = x
            S = L.shape[0]
            total += S
            self._check_memory(S, 12 * S * W, max_memory)
            branches = [L] if lev.comp < 0 else [L.copy(), L]
            Lu = branches[-1]
            succ = np.zeros(S, dtype=bool)
            for a, b in {(min(a, b), max(a, b)) for a, b in lev.arcs}:
                ra = Lu[:, a]
                rb = Lu[:, b] if b < W else np.full(S, TGT, dtype=np.uint8)
                hi = np.maximum(ra, rb)
                lo = np.minimum(ra, rb)
                succ |= (lo == SRC) & (hi == TGT)
                merged = np.where(hi >= SRC, hi, lo)
                other = hi + lo - merged  # the code that disappears (== merged when one block)
                Lu = np.where(Lu == other[:, None], merged[:, None], Lu)
            branches[-1] = Lu
            codes, keep_rows = [], []
            for k, B in enumerate(branches):
                code = np.full(S, _LIVE, dtype=np.int32)
                for j in lev.retire:
                    cj = B[:, j].copy()
                    B[:, j] = OFF
                    h = np.flatnonzero(cj == j)  # j was its block's lowest slot: pass the name on
                    if h.size:
                        sub = B[h]
                        m = sub == j
                        has = m.any(axis=1)
                        rep = np.argmax(m, axis=1).astype(np.uint8)
                        B[h[has]] = np.where(m[has], rep[has, None], sub[has])
                    h = np.flatnonzero(cj == SRC)  # the source's block may have lost its last slot
                    if h.size:
                        code[h[~(B[h] == SRC).any(axis=1)]] = FAIL
                if k == len(branches) - 1:
                    code[succ] = SUCCESS
                live = code == _LIVE
                codes.append(code)
                keep_rows.append(B[live])
            rows = keep_rows[0] if len(keep_rows) == 1 else np.concatenate(keep_rows)
            if rows.shape[0]:
                if nibbles:
                    pad = np.zeros((rows.shape[0], 16), dtype=np.uint8)
                    pad[:, :W] = rows
                    packed = np.ascontiguousarray(pad[:, 0::2] | (pad[:, 1::2] << 4))
                    first, inv = _unique_keys(packed.view(np.uint64)[:, 0])
                else:
                    keys = np.zeros((rows.shape[0], words), dtype=np.uint64)
                    for j in range(W):
                        keys[:, j // per_word] |= rows[:, j].astype(np.uint64) << shifts[j]
                    if words == 1:
                        first, inv = _unique_keys(keys[:, 0])
                    else:
                        _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
                L = rows[first]
                inv = inv.reshape(-1)
            else:
                L = np.zeros((0, W), dtype=np.uint8)
                inv = np.zeros(0, dtype=np.int64)
            off = 0
            for c in codes:
                live = c == _LIVE
                n_live = int(live.sum())
                c[live] = inv[off : off + n_live]
                off += n_live
            lev.up = codes[-1]
            lev.down = codes[0] if lev.comp >= 0 else codes[-1]
        self.n_nodes = total
        if L.shape[0]:
            raise AssertionError("frontier diagram left open states")
        self.root = 0

    def _run(self, max_memory: int) -> None:
        W = self.width
        if self._source_is_target:
            self.root = SUCCESS
            return
        bit = np.left_shift(np.int64(1), np.arange(W, dtype=np.int64))  # bit of each slot
        notbit = ~bit
        tbit = np.int64(1) << np.int64(W)  # the shared target bit
        # one row per diagram node of the level: column 0 the slots reached from the source,
        # column 1 + i the slots (and target bit) reached from slot i when i is not reached
        M = np.zeros((1, W + 1), dtype=np.int64)
        M[0, 0] = np.int64(1) << np.int64(self._source_slot)
        total = 0
        row_bytes = 8 * (W + 1)
        for lev in self.levels:
            S = M.shape[0]
            total += S
            # the level's rows, two branches and their canonical forms live at once
            self._check_memory(S, 6 * S * row_bytes, max_memory)
            keep = np.int64(lev.keep)
            if lev.comp >= 0:
                parts = [self._canonical(M[:, 0], M[:, 1:], keep, tbit, bit, notbit)]
            else:
                parts = []
            R, reach = M[:, 0].copy(), M[:, 1:].copy()
            for a, b in lev.arcs:
                ba = bit[a]
                X = (bit[b] | reach[:, b]) if b < W else np.full(S, tbit)
                inR = (R & ba) != 0
                R = np.where(inR, R | X, R)
                hit = (reach & ba) != 0
                hit[:, a] = True
                hit &= ~inR[:, None]
                reach |= np.where(hit, X[:, None], np.int64(0))
            parts.append(self._canonical(R, reach, keep, tbit, bit, notbit))
            codes = [c for c, _rows in parts]
            rows = parts[0][1] if len(parts) == 1 else np.concatenate([parts[0][1], parts[1][1]])
            if rows.shape[0]:
                M, inv = _unique_rows(rows)
            else:
                M, inv = np.zeros((0, W + 1), dtype=np.int64), np.zeros(0, dtype=np.int64)
            off = 0
            for c in codes:
                live = c == _LIVE
                k = int(live.sum())
                c[live] = inv[off : off + k]
                off += k
            lev.up = codes[-1]
            lev.down = codes[0] if lev.comp >= 0 else codes[-1]
        self.n_nodes = total
        if M.shape[0]:  # every node retires at its last level, so nothing can survive the last level
            raise AssertionError("frontier diagram left open states")
        self.root = 0

    @staticmethod
    def _canonical(
        R: np.ndarray, reach: np.ndarray, keep: np.int64, tbit: np.int64, bit: np.ndarray, notbit: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Child codes (SUCCESS, FAIL or _LIVE) and the canonical rows of the live children."""
        succ = (R & tbit) != 0
        R = R & keep
        code = np.full(R.shape[0], _LIVE, dtype=np.int32)
        code[R == 0] = FAIL
        code[succ] = SUCCESS
        live = code == _LIVE
        R = R[live]
        drop = ~R & keep  # active slots the source does not reach
        new = reach[live] & (drop | tbit)[:, None] & notbit[None, :]
        new[(drop[:, None] & bit[None, :]) == 0] = 0
        return code, np.column_stack([R, new])

    # -- evaluation
    @property
    def components(self) -> list[int]:
        """Component of each random level, in diagram order."""
        return [lev.comp for lev in self.levels if lev.comp >= 0]

    def exact_work(self, q: dict[int, Fraction] | Sequence[Fraction]) -> int:
        """Estimated cost of the exact-rational evaluation: nodes times numerator bits, summed."""
        work, bits = 0, 0
        size: dict[int, int] = {}
        for lev in reversed(self.levels):
            if lev.comp >= 0:
                b = size.get(lev.comp)
                if b is None:
                    b = size[lev.comp] = _frac(q[lev.comp]).denominator.bit_length()
                bits += b
            work += lev.up.size * max(bits, 1)
        return work

    def unreachability(
        self, q: dict[int, Fraction] | Sequence[Fraction], arithmetic: str = "exact"
    ) -> Fraction | float:
        """Probability that the source reaches no target.

        ``q`` maps component index to failure probability (exact rationals; floats
        are converted exactly). With ``arithmetic="exact"`` the result is the exact
        ``Fraction``; with ``"float"`` it is a float computed as the unreachability
        itself (sums of non-negative terms, never ``1 - R``), so its relative rounding
        error is below :meth:`rounding_bound` even at ``q = 1e-9``. Exact values of
        diagrams whose random components share one probability (others 0 or 1) are
        summed as the unreliability polynomial (:meth:`_polynomial`), the same rational
        as the general evaluation (:meth:`_rational`) at a fraction of its cost.
        """
        if self.root == FAIL:
            return Fraction(1) if arithmetic == "exact" else 1.0
        if self.root == SUCCESS:
            return Fraction(0) if arithmetic == "exact" else 0.0
        if arithmetic == "float":
            fv = np.zeros(0, dtype=np.float64)
            for lev in reversed(self.levels):
                ext = np.concatenate([fv, [0.0, 1.0]])  # index -2 success, -1 fail
                if lev.comp >= 0:
                    qc = float(q[lev.comp])
                    fv = qc * ext[lev.down] + (1.0 - qc) * ext[lev.up]
                else:
                    fv = ext[lev.up]
            return float(fv[0])
        qs = {c: _frac(q[c]) for c in {lev.comp for lev in self.levels if lev.comp >= 0}}
        shared = {(x.numerator, x.denominator) for x in qs.values() if 0 < x.numerator < x.denominator}
        if len(shared) == 1:
            return self._polynomial(qs, Fraction(*shared.pop()))
        return self._rational(qs)

    def _rational(self, q: dict[int, Fraction] | Sequence[Fraction]) -> Fraction:
        """Exact value for any probabilities: integers over a common power of the denominators."""
        vals = np.zeros(0, dtype=object)
        scale = 1
        for lev in reversed(self.levels):
            ext = np.empty(vals.size + 2, dtype=object)
            ext[: vals.size] = vals
            ext[-2] = 0
            ext[-1] = scale
            if lev.comp >= 0:
                qc = _frac(q[lev.comp])
                den = qc.denominator
                a = qc.numerator
                b = den - a
                if a == 0:
                    vals = ext[lev.up] * b if b != 1 else ext[lev.up]
                elif b == 0:
                    vals = ext[lev.down] * a if a != 1 else ext[lev.down]
                else:
                    vals = ext[lev.down] * a + ext[lev.up] * b
                scale *= den
            else:
                vals = ext[lev.up]
        return Fraction(int(vals[0]), scale)

    def _polynomial(self, qs: dict[int, Fraction], p: Fraction) -> Fraction:
        """Exact value when every random component fails with the same ``p`` (others 0 or 1).

        The diagram is evaluated as the unreliability polynomial: each node gets the number
        ``c_k`` of failure patterns of ``k`` such components below it that cut the demand
        off, in 64-bit integers while ``C(r, k)`` fits (``r`` such levels below: up to 66),
        Python integers above. Then ``U = sum_k c_k p^k (1 - p)^(m - k)``, exactly.
        """
        # rows of a level: its nodes, then "served" (no pattern) and "cut off" (every pattern:
        # C(m, k)), which map to themselves so that one gather moves all of them up a level
        vals = np.array([[0], [1]], dtype=np.int64)
        m = 0
        # 0: never fails (or an arc without a component), 1: always down, 2: fails with p
        kind = {c: 0 if x.numerator == 0 else 1 if x.numerator == x.denominator else 2 for c, x in qs.items()}
        for lev in reversed(self.levels):
            n = vals.shape[0] - 2
            tail = np.array([n, n + 1], dtype=lev.up.dtype)
            pc = kind.get(lev.comp, 0)
            if pc == 0:
                vals = vals[np.concatenate([lev.up, tail])]
            elif pc == 1:
                vals = vals[np.concatenate([lev.down, tail])]
            else:
                m += 1
                if m == 67 and vals.dtype != object:  # C(67, 33) > 2**63
                    vals = vals.astype(object)
                k = lev.up.size + 2
                g = vals[np.concatenate([lev.up, tail, lev.down, tail])]
                up, down = g[:k], g[k:]  # the component down: one failure more
                vals = np.empty((k, m + 1), dtype=vals.dtype)
                vals[:, 0] = up[:, 0]
                np.add(up[:, 1:], down[:, :-1], out=vals[:, 1:-1])
                vals[:, -1] = down[:, -1]
        a, den = p.numerator, p.denominator
        b = den - a
        coef = [int(x) for x in vals[0].tolist()]
        # homogeneous Horner, H_k = c_k b^(m-k) + a H_(k+1): only small-by-large products
        acc, bk = 0, 1
        for c in reversed(coef):
            acc = acc * a + c * bk
            bk *= b
        return Fraction(acc, den**m)

    def rounding_bound(self) -> float:
        """Relative error bound of the float evaluation: 4 roundings per level, unit 2**-53."""
        return 4.0 * (len(self.levels) + 1) * 2.0**-53

    def node_levels(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """``(component, down, up)`` per level; children index the next level or are FAIL/SUCCESS."""
        out = []
        for i, lev in enumerate(self.levels):
            n = self.levels[i + 1].up.size if i + 1 < len(self.levels) else 0
            # while built, child n of a level with n successors means served and n + 1 cut off
            down, up = (np.where(c >= n, c - (n + 2), c) for c in (lev.down, lev.up))
            out.append((lev.comp, down, up))
        return out


# ----------------------------------------------------------------------------- factoring
_Edge = tuple[int, int, int, Fraction]  # (u, v, directed 0/1, probability up)


class _Budget:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.calls = 0

    def tick(self) -> None:
        self.calls += 1
        if self.calls > self.limit:
            raise ExactTooLarge(
                f"exact-factoring: more than {self.limit} factoring steps; the network is too large "
                f"for exact factoring; {_ADVICE}"
            )


def _reduce(
    s: int, t: int, pn: dict[int, Fraction], edges: list[_Edge]
) -> tuple[dict[int, Fraction], list[_Edge]] | Fraction:
    """Apply reductions until none applies. Returns the reduced graph or the answer R."""
    ONE = Fraction(1)
    while True:
        # 1. drop failed elements and self-loops; orient edges at the terminals
        pn = {v: p for v, p in pn.items() if p != 0 or v in (s, t)}
        if pn.get(s, ONE) == 0 or pn.get(t, ONE) == 0:
            return Fraction(0)
        cleaned: list[_Edge] = []
        for u, v, d, p in edges:
            if p == 0 or u == v or u not in pn or v not in pn:
                continue
            if d == 0:
                if u == s or v == t:
                    d = 1
                elif v == s or u == t:
                    u, v, d = v, u, 1
            if d == 1 and (v == s or u == t):
                continue
            if d == 0 and u > v:
                u, v = v, u
            cleaned.append((u, v, d, p))
        # 2. parallel edges of the same kind merge: q = q1 * q2
        par: dict[tuple[int, int, int], Fraction] = {}
        for u, v, d, p in cleaned:
            k = (u, v, d)
            par[k] = 1 - (1 - par[k]) * (1 - p) if k in par else p
        edges = [(u, v, d, p) for (u, v, d), p in par.items()]
        # 3. relevance: reachable from s and reaching t
        out: dict[int, list[int]] = {}
        inn: dict[int, list[int]] = {}
        for u, v, d, _p in edges:
            out.setdefault(u, []).append(v)
            inn.setdefault(v, []).append(u)
            if d == 0:
                out.setdefault(v, []).append(u)
                inn.setdefault(u, []).append(v)
        fwd = {s}
        stack = [s]
        while stack:
            x = stack.pop()
            for y in out.get(x, ()):
                if y not in fwd:
                    fwd.add(y)
                    stack.append(y)
        if t not in fwd:
            return Fraction(0)
        bwd = {t}
        stack = [t]
        while stack:
            x = stack.pop()
            for y in inn.get(x, ()):
                if y in fwd and y not in bwd:
                    bwd.add(y)
                    stack.append(y)
        if len(bwd) < len(pn):
            pn = {v: p for v, p in pn.items() if v in bwd}
            edges = [e for e in edges if e[0] in bwd and e[1] in bwd]
        # 4. degree-1 and series nodes, with a worklist so one pass removes chains
        emap: dict[int, _Edge] = dict(enumerate(edges))
        inc: dict[int, set[int]] = {v: set() for v in pn}
        for i, (u, v, _d, _p) in emap.items():
            inc[u].add(i)
            inc[v].add(i)
        next_id = len(emap)
        changed = False
        work = [v for v in pn if v not in (s, t)]
        while work:
            v = work.pop()
            if v not in pn or v in (s, t):
                continue
            ie = inc[v]
            nbrs = {emap[i][0] if emap[i][1] == v else emap[i][1] for i in ie}
            if len(nbrs) <= 1:
                for i in ie:
                    x = emap[i][0] if emap[i][1] == v else emap[i][1]
                    inc[x].discard(i)
                    del emap[i]
                    work.append(x)
                del pn[v], inc[v]
                changed = True
            elif len(ie) == 2 and len(nbrs) == 2:
                i1, i2 = ie
                e1, e2 = emap.pop(i1), emap.pop(i2)
                x = e1[0] if e1[1] == v else e1[1]
                y = e2[0] if e2[1] == v else e2[1]
                inc[x].discard(i1)
                inc[y].discard(i2)
                in_x = e1[2] == 0 or e1[1] == v
                out_x = e1[2] == 0 or e1[0] == v
                in_y = e2[2] == 0 or e2[1] == v
                out_y = e2[2] == 0 or e2[0] == v
                p = e1[3] * pn[v] * e2[3]
                new: _Edge | None = None
                if in_x and out_y and in_y and out_x:
                    new = (min(x, y), max(x, y), 0, p)
                elif in_x and out_y:
                    new = (x, y, 1, p)
                elif in_y and out_x:
                    new = (y, x, 1, p)
                if new is not None:
                    emap[next_id] = new
                    inc[x].add(next_id)
                    inc[y].add(next_id)
                    next_id += 1
                del pn[v], inc[v]
                work.extend((x, y))
                changed = True
        if changed:
            edges = list(emap.values())
            continue
        # 5. contract perfect elements
        indeg: dict[int, int] = {}
        outdeg: dict[int, int] = {}
        for u, v, d, _p in edges:
            outdeg[u] = outdeg.get(u, 0) + 1
            indeg[v] = indeg.get(v, 0) + 1
            if d == 0:
                outdeg[v] = outdeg.get(v, 0) + 1
                indeg[u] = indeg.get(u, 0) + 1
        merge: tuple[int, int] | None = None  # (absorbed, into)
        for u, v, d, p in edges:
            if p != 1 or pn[u] != 1 or pn[v] != 1:
                continue
            if (u, v) in ((s, t), (t, s)):
                return Fraction(1)
            if d == 0:
                merge = (u, v) if v in (s, t) else (v, u)
            elif u == s:
                merge = (v, s)
            elif v == t:
                merge = (u, t)
            elif indeg.get(v, 0) == 1 or outdeg.get(u, 0) == 1:
                merge = (v, u)
            if merge is not None:
                break
        if merge is None:
            return pn, edges
        gone, into = merge
        del pn[gone]
        edges = [
            (into if a == gone else a, into if b == gone else b, d, p) for a, b, d, p in edges
        ]


def _separator(s: int, t: int, nodes: Iterable[int], edges: list[_Edge]) -> int | None:
    """A node (not s or t) through which every s–t path passes, or None (Tarjan lowpoints)."""
    adj: dict[int, list[int]] = {v: [] for v in nodes}
    for u, v, _d, _p in edges:
        adj[u].append(v)
        adj[v].append(u)
    disc = {s: 0}
    low = {s: 0}
    parent = {s: s}
    it = {s: iter(adj[s])}
    stack = [s]
    counter = 1
    while stack:
        x = stack[-1]
        for y in it[x]:
            if y not in disc:
                disc[y] = low[y] = counter
                counter += 1
                parent[y] = x
                it[y] = iter(adj[y])
                stack.append(y)
                break
            if y != parent[x]:
                low[x] = min(low[x], disc[y])
        else:
            stack.pop()
            if stack:
                px = parent[x]
                low[px] = min(low[px], low[x])
    if t not in disc:
        return None
    c = t
    while parent[c] != s:
        a = parent[c]
        if low[c] >= disc[a]:
            return a
        c = a
    return None


def _parallel_groups(
    s: int, t: int, pn: dict[int, Fraction], edges: list[_Edge]
) -> list[tuple[set[int], list[_Edge]]]:
    """Split into subnetworks that share only s and t (each direct s-t edge is one)."""
    parent = {v: v for v in pn if v not in (s, t)}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for u, v, _d, _p in edges:
        if u in parent and v in parent:
            ru, rv = find(u), find(v)
            if ru != rv:
                parent[ru] = rv
    groups: dict[Any, tuple[set[int], list[_Edge]]] = {}
    for i, e in enumerate(edges):
        u, v = e[0], e[1]
        inner = u if u in parent else v if v in parent else None
        key: Any = ("direct", i) if inner is None else find(inner)
        if key not in groups:
            groups[key] = ({s, t}, [])
        groups[key][1].append(e)
        groups[key][0].update((u, v))
    return list(groups.values())


def _factor(
    s: int, t: int, pn: dict[int, Fraction], edges: list[_Edge],
    memo: dict[Any, Fraction], budget: _Budget,
) -> Fraction:
    """Two-terminal reliability R (s and t perfect) by factoring with reductions."""
    red = _reduce(s, t, pn, edges)
    if isinstance(red, Fraction):
        return red
    pn, edges = red
    key = (s, t, frozenset(pn.items()), frozenset(edges))
    hit = memo.get(key)
    if hit is not None:
        return hit
    budget.tick()
    groups = _parallel_groups(s, t, pn, edges)
    if len(groups) > 1:
        # independent s-t subnetworks sharing only s and t: R = 1 - prod(1 - R_i)
        miss = Fraction(1)
        for nodes, sub in groups:
            miss *= 1 - _factor(s, t, {v: pn[v] for v in nodes}, sub, memo, budget)
            if miss == 0:
                break
        memo[key] = 1 - miss
        return 1 - miss
    a = _separator(s, t, pn, edges)
    if a is not None:
        # every s-t path passes a: R = R(s -> a) * p_a * R(a -> t)
        side: set[int] = {s}
        stack = [s]
        adj: dict[int, list[int]] = {}
        for u, v, _d, _p in edges:
            adj.setdefault(u, []).append(v)
            adj.setdefault(v, []).append(u)
        while stack:
            x = stack.pop()
            for y in adj.get(x, ()):
                if y != a and y not in side:
                    side.add(y)
                    stack.append(y)
        ea = [e for e in edges if e[0] in side or e[1] in side]
        eb = [e for e in edges if e[0] not in side and e[1] not in side]
        pa = {v: p for v, p in pn.items() if v in side}
        pa[a] = Fraction(1)
        pb = {v: p for v, p in pn.items() if v not in side}
        pb[a] = Fraction(1)
        r = pn[a] * _factor(s, a, pa, ea, memo, budget)
        if r:
            r *= _factor(a, t, pb, eb, memo, budget)
    else:
        direct = [e for e in edges if e[0] == s and e[1] == t]
        if direct:
            e = direct[0]
        else:
            cand = [e for e in edges if e[0] == s or (e[2] == 0 and e[1] == s)]
            e = min(cand, key=lambda x: (x[3] == 1, x[0] if x[1] == s else x[1]))
        v = e[1] if e[0] == s else e[0]
        rest = [x for x in edges if x is not e]
        if pn[v] != 1 and v != t:
            pv = pn[v]
            up = dict(pn)
            up[v] = Fraction(1)
            dn = dict(pn)
            del dn[v]
            r = pv * _factor(s, t, up, edges, memo, budget)
            r += (1 - pv) * _factor(s, t, dn, edges, memo, budget)
        else:
            pe = e[3]
            r = pe * _factor(s, t, pn, [*rest, (e[0], e[1], e[2], Fraction(1))], memo, budget)
            r += (1 - pe) * _factor(s, t, pn, rest, memo, budget)
    memo[key] = r
    return r


class _FactoringSolver:
    """Exact two-terminal(-set) unreachability by factoring, for one problem."""

    def __init__(self, problem: DemandProblem, *, max_calls: int = 200_000, max_shared: int = 12) -> None:
        self.problem = problem
        self.max_calls = max_calls
        self.max_shared = max_shared
        self.calls = 0
        p = problem
        by_comp: dict[int, list[tuple[int, int]]] = {}
        fixed: list[tuple[int, int]] = []
        for u, v, c in p.arcs:
            if c >= 0:
                by_comp.setdefault(c, []).append((u, v))
            else:
                fixed.append((u, v))
        node_uses: dict[int, list[int]] = {}
        for v, c in p.node_comp.items():
            node_uses.setdefault(c, []).append(v)
        shared = set()
        for c, al in by_comp.items():
            pair = len(al) == 2 and al[0] == (al[1][1], al[1][0])
            if c in node_uses or not (len(al) == 1 or pair):
                shared.add(c)
        shared.update(c for c, vs in node_uses.items() if len(vs) > 1)
        # targets with a node failure are conditioned on as well
        tfail = sorted(p.node_comp[t] for t in p.targets if t in p.node_comp and t != p.source)
        shared.update(tfail)
        if len(shared) > max_shared:
            raise ExactTooLarge(
                f"exact-factoring: {len(shared)} components are shared by several elements or sit on "
                f"targets (limit {max_shared}); {_ADVICE}"
            )
        self.shared = sorted(shared)
        self.by_comp = by_comp
        self.fixed = fixed
        self.node_uses = node_uses

    def unreachability(self, q: dict[int, Fraction] | Sequence[Fraction]) -> Fraction:
        p = self.problem
        if p.trivial == 1:
            return Fraction(1)
        s = p.source
        if s in p.targets:
            c = p.node_comp.get(s)
            return Fraction(0) if c is None else _frac(q[c])
        budget = _Budget(self.max_calls)
        memo: dict[Any, Fraction] = {}
        total_r = Fraction(0)
        for states in itertools.product((0, 1), repeat=len(self.shared)):
            weight = Fraction(1)
            up_shared: dict[int, bool] = {}
            for c, st in zip(self.shared, states, strict=True):
                qc = _frac(q[c])
                weight *= (1 - qc) if st else qc
                up_shared[c] = bool(st)
            if weight == 0:
                continue
            pn: dict[int, Fraction] = {}
            for v in p.nodes:
                c = p.node_comp.get(v)
                if c is None:
                    pn[v] = Fraction(1)
                elif c in up_shared:
                    pn[v] = Fraction(int(up_shared[c]))
                else:
                    pn[v] = 1 - _frac(q[c])
            ps = pn[s]
            pn[s] = Fraction(1)
            targets = [x for x in p.targets if x in pn and pn[x] != 0]
            if not targets or ps == 0:
                continue
            t = min(targets)
            for x in targets:
                pn[x] = Fraction(1)
            ren = {x: t for x in targets}
            edges: list[_Edge] = []
            for c, al in self.by_comp.items():
                if c in up_shared:
                    if up_shared[c]:
                        edges.extend((u, v, 1, Fraction(1)) for u, v in al)
                    continue
                pc = 1 - _frac(q[c])
                if len(al) == 2:
                    u, v = al[0]
                    edges.append((u, v, 0, pc))
                else:
                    edges.append((al[0][0], al[0][1], 1, pc))
            edges.extend((u, v, 1, Fraction(1)) for u, v in self.fixed)
            edges = [(ren.get(u, u), ren.get(v, v), d, pr) for u, v, d, pr in edges]
            for x in targets:
                if x != t:
                    del pn[x]
            if s == t:
                r = Fraction(1)
            else:
                r = _factor(s, t, pn, edges, memo, budget)
            total_r += weight * ps * r
        self.calls = budget.calls
        return 1 - total_r


# ----------------------------------------------------------------------------- engine
class ExactEngine:
    """Exact per-demand and demand-weighted unreachability of a compiled network.

    Structures (decision diagrams) are built once; :meth:`demand_values` can then
    be evaluated for many failure-probability vectors (importance measures).

    Parameters
    ----------
    net : CompiledNetwork
    method : {"bdd", "factoring"}
    max_width : int
        Widest frontier the BDD accepts (the limit of the method).
    max_memory : int
        Bytes the frontier states of one level may take while a diagram is built.
    arithmetic : {"auto", "exact", "float"}
        How diagrams are evaluated: ``exact`` rationals, ``float`` (the
        unreachability summed directly in double precision, relative error below
        ``4 (levels + 1) 2**-53``), or ``auto``: exact when the evaluation costs at most
        ``max_exact_work`` node-bits (any small or medium diagram), float beyond.
        Factoring is always exact.
    max_exact_work : int
        Budget of ``auto`` for one exact evaluation (nodes times numerator bits).
    max_calls : int
        Limit on factoring steps per evaluation.
    max_ccf_states : int
        Limit on the number of common-cause states conditioned on per demand.

    Examples
    --------
    >>> import networkx as nx
    >>> from model.network.compiled import compile_graph
    >>> g = nx.Graph(); g.add_edge(0, 1, q=0.25); g.add_edge(1, 2, q=0.25)
    >>> eng = ExactEngine(compile_graph(g, 0, 2))
    >>> eng.unreachability()
    Fraction(7, 16)
    """

    def __init__(
        self, net: CompiledNetwork, method: str = "bdd", *, max_width: int = 22,
        max_memory: int = DEFAULT_MAX_MEMORY, arithmetic: str = "auto",
        max_exact_work: int = DEFAULT_EXACT_WORK,
        max_calls: int = 200_000, max_ccf_states: int = 4096, max_components: int | None = None,
    ) -> None:
        if method not in ("bdd", "factoring"):
            raise ValueError(f"method must be 'bdd' or 'factoring', got {method!r}")
        if arithmetic not in ("auto", "exact", "float"):
            raise ValueError(f"arithmetic must be 'auto', 'exact' or 'float', got {arithmetic!r}")
        if not 1 <= max_width <= 61:
            raise ValueError(f"max_width must lie in 1..61 (bits of a 64-bit word), got {max_width}")
        self.net = net
        self.method = method
        self.arithmetic = arithmetic
        self.max_exact_work = max_exact_work
        self.float_bound = 0.0  # relative rounding bound of the last evaluation, 0 when exact
        n_events = net.n_components + net.n_ccf
        if max_components is not None and n_events > max_components:
            raise ExactTooLarge(
                f"exact-{method}: {n_events} components and common-cause events exceed the limit "
                f"max_components={max_components}; {_ADVICE}"
            )
        self.problems: list[DemandProblem] = []
        self._solver_of: list[Any] = []
        self.demand_events: list[frozenset[int]] = []
        self.demand_ccf: list[list[int]] = []
        cache: dict[tuple[int, frozenset[int]], Any] = {}
        members = [set(net.ccf_member_list(g).tolist()) for g in range(net.n_ccf)]
        for d in range(net.n_demands):
            key = (int(net.demand_source[d]), frozenset(net.targets(d).tolist()))
            if key not in cache:
                prob = demand_problem(net, *key)
                if method == "bdd":
                    cache[key] = FrontierDiagram(prob, max_width=max_width, max_memory=max_memory)
                else:
                    cache[key] = _FactoringSolver(prob, max_calls=max_calls)
            solver = cache[key]
            self._solver_of.append(solver)
            self.problems.append(solver.problem)
            comps = set(solver.problem.components) | set(net.prereq(d).tolist())
            ccf = [g for g in range(net.n_ccf) if members[g] & comps]
            if 2 ** len(ccf) > max_ccf_states:
                raise ExactTooLarge(
                    f"exact-{method}: demand {net.demand_names[d]!r} is touched by {len(ccf)} common-cause "
                    f"events ({2 ** len(ccf)} states, limit {max_ccf_states}); {_ADVICE}"
                )
            self.demand_ccf.append(ccf)
            self.demand_events.append(frozenset(comps | {net.n_components + g for g in ccf}))
        self._solvers = list(cache.values())
        self._members = members

    @property
    def diagram_nodes(self) -> int:
        return sum(getattr(s, "n_nodes", 0) for s in self._solvers)

    @property
    def max_frontier(self) -> int:
        return max((getattr(s, "width", 0) for s in self._solvers), default=0)

    def _prepare(
        self, q: Sequence[float | Fraction] | None, ccf_q: Sequence[float | Fraction] | None
    ) -> tuple[list[Fraction], list[Fraction]]:
        qs = self.net.q if q is None else q
        cs = self.net.ccf_q if ccf_q is None else ccf_q
        memo: dict[float | Fraction, Fraction] = {}  # few distinct values: convert each once

        def conv(xs: Any) -> list[Fraction]:
            out = []
            for x in xs.tolist() if isinstance(xs, np.ndarray) else xs:
                f = memo.get(x)
                if f is None:
                    f = memo[x] = _frac(x)
                out.append(f)
            return out

        qf, cf = conv(qs), conv(cs)
        if len(qf) != self.net.n_components or len(cf) != self.net.n_ccf:
            raise ValueError("q and ccf_q must have one entry per component and common-cause event")
        for x in memo.values():
            if not 0 <= x.numerator <= x.denominator:
                raise ValueError(f"failure probabilities must lie in [0, 1], got {float(x)}")
        return qf, cf

    def demand_values(
        self, q: Sequence[float | Fraction] | None = None, ccf_q: Sequence[float | Fraction] | None = None,
        demands: Iterable[int] | None = None,
    ) -> dict[int, Fraction]:
        """Exact unreachability of each demand (dict demand index → Fraction)."""
        qf, cf = self._prepare(q, ccf_q)
        self.float_bound = 0.0
        out: dict[int, Fraction] = {}
        graph_cache: dict[tuple[int, tuple[tuple[int, int], ...]], Fraction] = {}
        for d in range(self.net.n_demands) if demands is None else demands:
            solver = self._solver_of[d]
            comps = sorted(solver.problem.components)
            prereq = sorted(set(self.net.prereq(d).tolist()))
            ccf = self.demand_ccf[d]
            total = Fraction(0)
            for states in itertools.product((0, 1), repeat=len(ccf)):
                w = Fraction(1)
                forced: set[int] = set()
                for g, st in zip(ccf, states, strict=True):
                    w *= cf[g] if st else 1 - cf[g]
                    if st:
                        forced |= self._members[g]
                if w == 0:
                    continue
                p_up = Fraction(1)
                for c in prereq:
                    p_up *= 0 if c in forced else 1 - qf[c]
                if p_up == 0:
                    total += w
                    continue
                pset = set(prereq)
                qeff = tuple(
                    Fraction(0) if c in pset else Fraction(1) if c in forced else qf[c] for c in comps
                )
                gkey = (id(solver), tuple((x.numerator, x.denominator) for x in qeff))
                ug = graph_cache.get(gkey)
                if ug is None:
                    qd = dict(zip(comps, qeff, strict=True))
                    ug = self._evaluate(solver, qd)
                    graph_cache[gkey] = ug
                # U_d = P(some prerequisite down) + P(all up) * U_graph, accumulated exactly
                total += w * ((1 - p_up) + p_up * ug)
            out[d] = total
        return out

    def _evaluate(self, solver: Any, q: dict[int, Fraction]) -> Fraction | float:
        if not isinstance(solver, FrontierDiagram) or self.arithmetic == "exact":
            return solver.unreachability(q)
        if self.arithmetic == "auto" and solver.exact_work(q) <= self.max_exact_work:
            return solver.unreachability(q)
        # a float result enters a few more sums and products per demand: 16 roundings more
        self.float_bound = max(self.float_bound, solver.rounding_bound() + 16 * 2.0**-53)
        return solver.unreachability(q, arithmetic="float")

    def combine(self, values: dict[int, Fraction]) -> Fraction:
        """Demand-weighted share from per-demand values."""
        wts = [_frac(w) for w in self.net.demand_weight.tolist()]
        wsum = sum(wts, Fraction(0))
        if wsum == 0:
            return Fraction(0)
        return sum((w * values[d] for d, w in enumerate(wts)), Fraction(0)) / wsum

    def unreachability(
        self, q: Sequence[float | Fraction] | None = None, ccf_q: Sequence[float | Fraction] | None = None
    ) -> Fraction:
        """Exact demand-weighted unreachability."""
        return self.combine(self.demand_values(q, ccf_q))


def make_engine(net: CompiledNetwork, method: str, **limits: Any) -> ExactEngine:
    if method in ("bdd", "exact-bdd"):
        return ExactEngine(net, "bdd", **limits)
    if method in ("factoring", "exact-factoring"):
        return ExactEngine(net, "factoring", **limits)
    if method != "auto":
        raise ValueError(f"method must be 'auto', 'bdd' or 'factoring', got {method!r}")
    try:
        return ExactEngine(net, "bdd", **limits)
    except ExactTooLarge as first:
        if net.n_components > 150:
            raise
        try:
            # as a fallback, factoring gets a smaller step budget unless one is given
            return ExactEngine(net, "factoring", **{"max_calls": 20_000, **limits})
        except ExactTooLarge:
            raise first from None


def exact_unreachability(
    net: CompiledNetwork, method: str = "auto", max_components: int | None = None, **limits: Any
) -> Estimate:
    """Exact demand-weighted probability that a call is unreachable.

    Parameters
    ----------
    net : CompiledNetwork
    method : {"auto", "bdd", "factoring"}
        ``auto`` uses the frontier BDD and falls back to factoring when the
        frontier is too wide.
    max_components : int, optional
        Refuse networks with more components plus common-cause events.
    **limits
        ``max_width``, ``max_memory``, ``arithmetic``, ``max_exact_work``, ``max_calls``,
        ``max_ccf_states`` (see :class:`ExactEngine`).

    Returns
    -------
    Estimate
        ``method`` is ``"exact-bdd"`` or ``"exact-factoring"``; interval ``"exact"``;
        ``details`` holds ``per_demand`` (list of floats), ``demand_names``,
        ``fraction`` (the exact value as ``"p/q"`` when short) and sizes.

    Raises
    ------
    ExactTooLarge
        When the network is too large; the message says to use ``mc`` or ``rare``.

    Examples
    --------
    >>> from model.network.compiled import compile_graph
    >>> from model.network.graphs import dodecahedron
    >>> g, s, t = dodecahedron(1e-6)
    >>> e = exact_unreachability(compile_graph(g, s, t))
    >>> round(e.value / 2e-18, 4), e.ci_low == e.ci_high == e.value, e.interval
    (1.0, True, 'exact')
    """
    t0 = time.perf_counter()
    eng = make_engine(net, method, max_components=max_components, **limits)
    vals = eng.demand_values()
    total = eng.combine(vals)
    value = float(total)
    rational = isinstance(total, Fraction)
    frac = f"{total.numerator}/{total.denominator}" if rational else None
    seconds = time.perf_counter() - t0
    details: dict[str, Any] = {
        "per_demand": [float(vals[d]) for d in range(net.n_demands)],
        "demand_names": list(net.demand_names),
        "fraction": frac if frac is not None and len(frac) <= 4000 else None,
        "arithmetic": "exact-rational" if rational else "float64-direct",
        "ccf_states": int(sum(2 ** len(c) for c in eng.demand_ccf)),
    }
    if eng.method == "bdd":
        details["diagram_nodes"] = eng.diagram_nodes
        details["max_frontier"] = eng.max_frontier
    name = f"exact-{eng.method}"
    lo = hi = value
    interval = "exact"
    if not rational:
        # the diagram is exact, its evaluation rounded: a proven relative bound
        details["relative_rounding_bound"] = eng.float_bound
        lo, hi = value * (1 - eng.float_bound), min(1.0, value * (1 + eng.float_bound))
        interval = "rounding-bound"
    return Estimate(
        value, lo, hi, 0.0, 0, name, None, 1.0, interval, seconds, details,
        provenance(engine="exact", method=name),
    )


def demand_unreachability(net: CompiledNetwork, method: str = "auto", **limits: Any) -> np.ndarray:
    """Exact unreachability of every demand, shape ``(D,)``.

    Examples
    --------
    >>> import networkx as nx
    >>> from model.network.compiled import compile_graph
    >>> g = nx.Graph(); g.add_edge("a", "b", q=0.5); g.add_edge("b", "c", q=0.25)
    >>> net = compile_graph(g, demands=[("a", ["b"], 1.0), ("a", ["c"], 3.0)])
    >>> demand_unreachability(net).tolist()
    [0.5, 0.625]
    """
    eng = make_engine(net, method, **limits)
    vals = eng.demand_values()
    return np.array([float(vals[d]) for d in range(net.n_demands)], dtype=np.float64)


# ----------------------------------------------------------------------------- brute force
def brute_force_unreachability(
    net: CompiledNetwork, *, per_demand: bool = False, max_events: int = 24, chunk_bits: int = 14
) -> float | np.ndarray:
    """Unreachability by enumerating all ``2**(C+G)`` failure states (tests only).

    Independent of the exact engine: it expands common-cause events, evaluates
    reachability for every state (vectorised over states) and sums the
    probabilities of the states that cut each demand.

    Examples
    --------
    >>> import networkx as nx
    >>> from model.network.compiled import compile_graph
    >>> g = nx.Graph(); g.add_edge(0, 1, q=0.5); g.add_edge(0, 1, q=0.5)
    >>> brute_force_unreachability(compile_graph(g, 0, 1))
    0.5
    """
    C, G = net.n_components, net.n_ccf
    n = C + G
    if n > max_events:
        raise ExactTooLarge(f"brute force: 2**{n} states is too many (limit 2**{max_events})")
    probs_event = np.concatenate([net.q, net.ccf_q])
    member = np.zeros((G, C), dtype=bool)
    for g in range(G):
        member[g, net.ccf_member_list(g)] = True
    D, N = net.n_demands, net.n_nodes
    acc = np.zeros(D, dtype=np.float64)
    total = 1 << n
    step = 1 << min(chunk_bits, n)
    nc, ac = net.node_component, net.arc_component
    for start in range(0, total, step):
        idx = np.arange(start, min(start + step, total), dtype=np.int64)
        bits = ((idx[None, :] >> np.arange(n, dtype=np.int64)[:, None]) & 1).astype(bool)  # (n, S)
        pr = np.where(bits, probs_event[:, None], 1.0 - probs_event[:, None]).prod(axis=0)
        down = bits[:C].copy()
        for g in range(G):
            down[member[g]] |= bits[C + g]
        node_up = np.ones((N, idx.size), dtype=bool)
        node_up[nc >= 0] = ~down[nc[nc >= 0]]
        arc_up = np.ones((net.n_arcs, idx.size), dtype=bool)
        arc_up[ac >= 0] = ~down[ac[ac >= 0]]
        reach_of: dict[int, np.ndarray] = {}
        for d in range(D):
            s = int(net.demand_source[d])
            if s not in reach_of:
                reach = np.zeros((N, idx.size), dtype=bool)
                reach[s] = node_up[s]
                for _ in range(N):
                    before = reach.copy()
                    for a in range(net.n_arcs):
                        u, v = int(net.arc_src[a]), int(net.arc_dst[a])
                        reach[v] |= reach[u] & arc_up[a] & node_up[v]
                    if np.array_equal(before, reach):
                        break
                reach_of[s] = reach
            reach = reach_of[s]
            ok = reach[net.targets(d)].any(axis=0)
            pre = net.prereq(d)
            if pre.size:
                ok &= ~down[pre].any(axis=0)
            acc[d] += pr[~ok].sum()
    if per_demand:
        return acc
    w = net.demand_weight
    return float((w * acc).sum() / w.sum()) if w.sum() > 0 else 0.0
