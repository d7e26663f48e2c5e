"""Bit-parallel reachability: which demands are cut off in each of many trials.

The kernel takes packed component-down bits ``(C, W)`` (64 trials per ``uint64``
word, see :mod:`model.static.sampling`) and returns packed unreachable bits ``(D, W)``
per demand, with the semantics of :class:`model.network.compiled.CompiledNetwork`: a
demand is unreachable in a trial when one of its prerequisite components is down,
or no path of up nodes and up arcs leads from its source to any of its targets
(the control room, then its buddy rooms).

How it works
------------
* Every distinct demand source gets its own reach bits, kept only for the nodes
  that lie on one of its routes in the intact graph (reachable from it and leading
  to one of its targets); demands that share a source, and demands that share
  source and targets, are evaluated once.
* The state is ``X[(source, node), word]``. Rows are grouped in levels; a level is
  updated with one gather of its in-arcs' tail states, one AND with the arcs' up
  bits, one ``np.bitwise_or.reduceat`` per head row, one AND with the nodes' up
  bits — a handful of numpy calls per level, whatever the number of arcs.
* On a DAG the levels are longest-path layers and one pass in topological order is
  exact. With cycles (undirected graphs) the levels are breadth-first layers from
  the sources and forward and backward sweeps repeat until nothing changes: the
  update is monotone, so the fixed point is exactly the reachable set.
* Word blocks keep the state under a fixed memory budget.

Examples
--------
>>> import networkx as nx, numpy as np
>>> from model.network.compiled import compile_graph
>>> from model.network.bits import pack_sets
>>> g = nx.Graph([("s", "a"), ("a", "t"), ("s", "t")])
>>> net = compile_graph(g, "s", "t", default_edge_q=0.1)
>>> ix = net.component_index
>>> sets = [[], [ix("s-t")], [ix("s-a"), ix("s-t")]]
>>> unreachable_sets(net, sets).ravel().tolist()
[False, False, True]
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from model.network.bits import pack_sets, unpack_bits
from model.network.compiled import CompiledNetwork

__all__ = ["ReachabilityKernel", "kernel_for", "unreachable_bits", "unreachable_sets"]

_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class _Level:
    heads: np.ndarray  # (n_L,) state rows updated together (each has >= 1 in-arc)
    tails: np.ndarray  # (a_L,) state rows of the in-arcs' tails, grouped by head
    arc_comp: np.ndarray  # (a_L,) arc component, C for "never fails"
    starts: np.ndarray  # (n_L,) first in-arc of each head
    any_arc_comp: bool
    seeds: np.ndarray  # positions within heads that are a source's own row


def _ranges(ptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Concatenated index ranges ``ptr[r]:ptr[r+1]`` of the given rows."""
    lens = ptr[rows + 1] - ptr[rows]
    total = int(lens.sum())
    return np.repeat(ptr[rows] - np.cumsum(lens) + lens, lens) + np.arange(total, dtype=np.int64)


def _layers(n: int, nodes: np.ndarray, tail: np.ndarray, head: np.ndarray,
            sources: Sequence[int]) -> tuple[np.ndarray, bool]:
    """Level of every node and whether the arcs ``tail -> head`` among ``nodes`` form a DAG."""
    level = np.zeros(n, dtype=np.int64)
    order = np.argsort(tail, kind="stable")
    t, h = tail[order], head[order]
    ptr = np.searchsorted(t, np.arange(n + 1))
    indeg = np.bincount(h, minlength=n)
    frontier = np.flatnonzero(nodes & (indeg == 0))
    k, done = 0, 0
    while frontier.size:
        level[frontier] = k
        done += frontier.size
        hh = h[_ranges(ptr, frontier)]
        indeg -= np.bincount(hh, minlength=n)
        frontier = np.unique(hh[indeg[hh] == 0])
        k += 1
    if done == int(nodes.sum()):
        return level, True
    level[:] = 0
    seen = np.zeros(n, dtype=bool)
    seen[list(sources)] = True
    frontier_m, k = seen.copy(), 0
    while frontier_m.any():
        k += 1
        nxt = np.zeros(n, dtype=bool)
        nxt[head[frontier_m[tail]]] = True
        frontier_m = nxt & ~seen
        seen |= frontier_m
        level[frontier_m] = k
    return level, False


def closure(start: np.ndarray, tail: np.ndarray, head: np.ndarray) -> np.ndarray:
    """Nodes reachable from the ``start`` mask along arcs ``tail -> head`` (frontier BFS)."""
    seen = start.copy()
    frontier = seen.copy()
    while frontier.any():
        nxt = np.zeros_like(seen)
        nxt[head[frontier[tail]]] = True
        frontier = nxt & ~seen
        seen |= frontier
    return seen


class ReachabilityKernel:
    """Precomputed levels of a compiled network; call it on packed down bits.

    The state has one row per *(source, node)* pair that matters: the node is
    reachable from the source in the intact graph and leads to one of that source's
    targets. Sources whose demands go to different places therefore carry only
    their own part of the network.

    Parameters
    ----------
    net : CompiledNetwork
    block_bytes : int
        Memory budget for the per-block state; the words are processed in blocks
        that fit it.

    Examples
    --------
    >>> import networkx as nx, numpy as np
    >>> from model.network.compiled import compile_graph
    >>> net = compile_graph(nx.path_graph(3), 0, 2, default_edge_q=0.5)
    >>> k = ReachabilityKernel(net)
    >>> down = np.array([[0b0101], [0b0011]], dtype=np.uint64)  # 2 components, 4 trials
    >>> int(k(down)[0, 0]) & 0b1111 == 0b0111
    True
    """

    def __init__(self, net: CompiledNetwork, *, block_bytes: int = 4 << 20) -> None:
        self.n_components = c = net.n_components
        self.n_demands = net.n_demands
        self.block_bytes = int(block_bytes)
        n_nodes = net.n_nodes
        d_targets = [net.targets(d).tolist() for d in range(net.n_demands)]
        src = net.demand_source.tolist()
        sources = sorted({src[d] for d in range(net.n_demands) if d_targets[d]})
        self.n_sources = len(sources)
        sidx = {s: i for i, s in enumerate(sources)}
        tail, head = np.asarray(net.arc_src), np.asarray(net.arc_dst)
        ac = np.asarray(net.arc_component)
        arc_comp = np.where(ac >= 0, ac, c)
        nc = np.asarray(net.node_component)
        node_comp = np.where(nc >= 0, nc, c)

        # relevant (source, node) pairs
        targets_of: list[set[int]] = [set() for _ in sources]
        for d in range(net.n_demands):
            if d_targets[d]:
                targets_of[sidx[src[d]]].update(d_targets[d])
        rel = np.zeros((len(sources), n_nodes), dtype=bool)
        for i, s in enumerate(sources):
            start = np.zeros(n_nodes, dtype=bool)
            start[s] = True
            fwd = closure(start, tail, head)
            start = np.zeros(n_nodes, dtype=bool)
            start[sorted(targets_of[i])] = True
            rel[i] = fwd & closure(start, head, tail)
        self.n_relevant = int(rel.any(axis=0).sum())
        n_rows = int(rel.sum())
        self.n_states = n_rows
        row_of = np.full((len(sources), n_nodes), n_rows, dtype=np.int64)  # n_rows = always-zero row
        si, ni = np.nonzero(rel)
        row_of[si, ni] = np.arange(n_rows)
        self._row_comp = node_comp[ni]
        seeds = np.array([row_of[i, s] for i, s in enumerate(sources) if rel[i, s]], dtype=np.int64)
        self._seed_rows = seeds

        # state arcs: arc u -> v for every source to which both ends matter
        t_parts, h_parts, c_parts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for i in range(len(sources)):
            m = rel[i, tail] & rel[i, head]
            t_parts.append(row_of[i, tail[m]])
            h_parts.append(row_of[i, head[m]])
            c_parts.append(arc_comp[m])
        s_tail, s_head, s_comp = (np.concatenate(x) for x in (t_parts, h_parts, c_parts))

        # node levels on the union of the relevant parts: longest-path layers when it is a DAG
        # (Kahn's peeling, one numpy round per layer), else breadth-first layers from the sources
        union = rel.any(axis=0)
        keep = union[tail] & union[head]
        level, self.is_dag = _layers(n_nodes, union, tail[keep], head[keep], sources)
        row_level = level[ni]
        order = np.lexsort((s_head, row_level[s_head]))
        s_tail, s_head, s_comp = s_tail[order], s_head[order], s_comp[order]
        self._levels: list[_Level] = []
        head_level = row_level[s_head]
        for lev in np.unique(head_level):
            sel = head_level == lev
            heads_all = s_head[sel]
            starts = np.flatnonzero(np.r_[True, heads_all[1:] != heads_all[:-1]])
            heads = heads_all[starts]
            self._levels.append(_Level(heads, s_tail[sel], s_comp[sel], starts, bool(np.any(s_comp[sel] < c)),
                                       np.flatnonzero(np.isin(heads, seeds))))
        self.max_level_arcs = max((lv.tails.size for lv in self._levels), default=0)
        level_arcs = sum(lv.tails.size for lv in self._levels)

        # routes: distinct target-row tuples; demands point at one
        route_key: dict[tuple[int, ...], int] = {}
        demand_route = np.zeros(net.n_demands, dtype=np.int64)
        for d in range(net.n_demands):
            rows = tuple(int(row_of[sidx[src[d]], t]) for t in d_targets[d]) if d_targets[d] else ()
            demand_route[d] = route_key.setdefault(rows or (n_rows,), len(route_key))
        self.n_routes = len(route_key)
        self._demand_route = demand_route
        self._route_rows = np.array([r for key in route_key for r in key], dtype=np.int64)
        self._route_starts = np.cumsum([0, *[len(k) for k in route_key][:-1]]).astype(np.int64)
        # prerequisites: distinct prerequisite sets, each evaluated once
        pre_key: dict[tuple[int, ...], int] = {}
        self._demand_prereq_set = np.array(
            [pre_key.setdefault(tuple(sorted(net.prereq(d).tolist())) or (c,), len(pre_key))
             for d in range(net.n_demands)], dtype=np.int64)
        self._prereq = np.array([x for key in pre_key for x in key], dtype=np.int64)
        self._prereq_starts = np.cumsum([0, *[len(k) for k in pre_key][:-1]]).astype(np.int64)
        self.has_prereq = bool(net.demand_prereq.size)
        #: rough number of word operations per 64 trials (cyclic graphs need several sweeps)
        self.work_per_word = ((n_rows + level_arcs) * (1 if self.is_dag else 3) + self._route_rows.size
                              + 2 * self.n_demands + self._prereq.size)

    # ------------------------------------------------------------------ run
    def fixed_bytes(self) -> int:
        """Bytes of the kernel's arrays plus one block of its state (at least one word)."""
        arrays = 8 * (3 * self.n_states + 3 * sum(lv.tails.size for lv in self._levels)
                      + self._route_rows.size + 2 * self.n_demands + self._prereq.size)
        per_word = 8 * (2 * self.n_states + 2 + 2 * self.max_level_arcs + 2 * self.n_components)
        return arrays + max(self.block_bytes, per_word)

    def block_words(self) -> int:
        """Words per block under the memory budget."""
        per_word = 8 * (2 * self.n_states + 2 + 2 * self.max_level_arcs + 2 * self.n_components)
        return max(1, self.block_bytes // per_word)

    def __call__(self, down: np.ndarray) -> np.ndarray:
        """Packed unreachable bits ``(D, W)`` from packed component-down bits ``(C, W)``.

        Padding bits (trials beyond the last real one) are computed as if no
        component were down there; callers ignore them.
        """
        down = np.asarray(down, dtype=np.uint64)
        if down.ndim != 2 or down.shape[0] != self.n_components:
            raise ValueError(f"down bits must have shape ({self.n_components}, W), got {down.shape}")
        w = down.shape[1]
        out = np.empty((self.n_demands, w), dtype=np.uint64)
        bw = self.block_words()
        for lo in range(0, w, bw):
            out[:, lo : lo + bw] = self._block(down[:, lo : lo + bw])
        return out

    def _block(self, down: np.ndarray) -> np.ndarray:
        wb = down.shape[1]
        down_ext = np.zeros((self.n_components + 1, wb), dtype=np.uint64)
        down_ext[: self.n_components] = down
        up_ext = ~down_ext
        row_up = up_ext[self._row_comp]  # (P, wb)
        x = np.zeros((self.n_states + 1, wb), dtype=np.uint64)
        x[self._seed_rows] = row_up[self._seed_rows]
        if self.is_dag:
            for lv in self._levels:
                self._update(x, lv, up_ext, row_up)
        else:
            sweeps = [self._levels, self._levels[::-1]]
            changed, i = True, 0
            while changed:
                changed = False
                for lv in sweeps[i % 2]:
                    changed |= self._update(x, lv, up_ext, row_up, check=True)
                i += 1
        reach = np.bitwise_or.reduceat(x[self._route_rows], self._route_starts, axis=0)
        unreach = ~reach[self._demand_route]
        if self.has_prereq:
            pre = np.bitwise_or.reduceat(down_ext[self._prereq], self._prereq_starts, axis=0)
            unreach |= pre[self._demand_prereq_set]
        return unreach

    @staticmethod
    def _update(x: np.ndarray, lv: _Level, up_ext: np.ndarray, row_up: np.ndarray,
                check: bool = False) -> bool:
        g = x[lv.tails]
        if lv.any_arc_comp:
            g &= up_ext[lv.arc_comp]
        red = np.bitwise_or.reduceat(g, lv.starts, axis=0)
        if lv.seeds.size:
            red[lv.seeds] = _ALL
        red &= row_up[lv.heads]
        if check and np.array_equal(red, x[lv.heads]):
            return False
        x[lv.heads] = red
        return True


_KERNELS: weakref.WeakKeyDictionary[CompiledNetwork, ReachabilityKernel] = weakref.WeakKeyDictionary()


def kernel_for(net: CompiledNetwork) -> ReachabilityKernel:
    """The :class:`ReachabilityKernel` of ``net``, built once per process and cached."""
    k = _KERNELS.get(net)
    if k is None:
        k = ReachabilityKernel(net)
        _KERNELS[net] = k
    return k


def unreachable_bits(net: CompiledNetwork, down: np.ndarray) -> np.ndarray:
    """Packed unreachable bits ``(D, W)`` for packed component-down bits ``(C, W)``.

    Examples
    --------
    >>> import networkx as nx, numpy as np
    >>> from model.network.compiled import compile_graph
    >>> net = compile_graph(nx.path_graph(3), 0, 2, default_edge_q=0.5)
    >>> unreachable_bits(net, np.array([[1], [4]], dtype=np.uint64))[0, 0] & 7
    np.uint64(5)
    """
    return kernel_for(net)(down)


def unreachable_sets(
    net: CompiledNetwork,
    sets: Sequence[Sequence[int]] | tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Boolean ``(n_sets, D)``: demands cut off by each failed set.

    ``sets`` is a list of component-index lists, or ``(ptr, members)`` in CSR form
    (as in :class:`model.static.sampling.FailedSets`). Common-cause events must already be
    expanded into their member components.

    Examples
    --------
    >>> import networkx as nx
    >>> from model.network.compiled import compile_graph
    >>> net = compile_graph(nx.path_graph(3), 0, 2, default_edge_q=0.5)
    >>> unreachable_sets(net, [[0], [], [0, 1]]).ravel().tolist()
    [True, False, True]
    """
    if isinstance(sets, tuple) and len(sets) == 2 and isinstance(sets[0], np.ndarray):
        ptr, members = sets
    else:
        lists = [list(s) for s in sets]
        ptr = np.cumsum([0] + [len(s) for s in lists]).astype(np.int64)
        members = np.array([x for s in lists for x in s], dtype=np.int64)
    n_sets = ptr.size - 1
    bits = unreachable_bits(net, pack_sets(ptr, members, net.n_components))
    return unpack_bits(bits, n_sets).T
