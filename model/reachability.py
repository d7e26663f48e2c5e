"""Bit-parallel reachability: which demands are cut off in each of many trials.

The kernel takes packed component-down bits ``(C, W)`` (64 trials per ``uint64``
word, see :mod:`model.sampling`) and returns packed unreachable bits ``(D, W)``
per demand, with the semantics of :class:`model.compiled.CompiledNetwork`: a
demand is unreachable in a trial when one of its prerequisite components is down,
or no path of up nodes and up arcs leads from its source to any of its targets
(the control room, then its buddy rooms).

How it works
------------
* Only nodes that lie on some source-to-target route of the intact graph are kept;
  every distinct demand source gets its own reach bits, so demands that share a
  source (and demands that share source and targets) are evaluated once.
* The state is ``X[node, source, word]``. Nodes are grouped in levels; a level is
  updated with one gather of its in-arcs' tail states, one AND with the arcs' up
  bits, one ``np.bitwise_or.reduceat`` per head node, one AND with the nodes' up
  bits — a handful of numpy calls per level, whatever the number of arcs.
* On a DAG the levels are longest-path layers and one pass in topological order is
  exact. With cycles (undirected graphs) the levels are breadth-first layers from
  the sources and forward and backward sweeps repeat until nothing changes: the
  update is monotone, so the fixed point is exactly the reachable set.
* Word blocks keep the state under a fixed memory budget.

Examples
--------
>>> import networkx as nx, numpy as np
>>> from model.compiled import compile_graph
>>> from model.sampling import pack_sets
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

import networkx as nx
import numpy as np

from model.compiled import CompiledNetwork
from model.sampling import pack_sets, unpack_bits

__all__ = ["ReachabilityKernel", "kernel_for", "unreachable_bits", "unreachable_sets"]

_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class _Level:
    heads: np.ndarray  # (n_L,) positions of nodes with in-arcs, updated together
    tails: np.ndarray  # (a_L,) positions of the in-arcs' tails, grouped by head
    arc_comp: np.ndarray  # (a_L,) arc component, C for "never fails"
    starts: np.ndarray  # (n_L,) first in-arc of each head
    any_arc_comp: bool
    seed_rows: np.ndarray  # rows within heads that are sources
    seed_cols: np.ndarray  # their source index


class ReachabilityKernel:
    """Precomputed levels of a compiled network; call it on packed down bits.

    Parameters
    ----------
    net : CompiledNetwork
    block_bytes : int
        Memory budget for the per-block reach state; the words are processed in
        blocks that fit it.

    Examples
    --------
    >>> import networkx as nx, numpy as np
    >>> from model.compiled import compile_graph
    >>> net = compile_graph(nx.path_graph(3), 0, 2, default_edge_q=0.5)
    >>> k = ReachabilityKernel(net)
    >>> down = np.array([[0b0101], [0b0011]], dtype=np.uint64)  # 2 components, 4 trials
    >>> int(k(down)[0, 0]) & 0b1111 == 0b0111
    True
    """

    def __init__(self, net: CompiledNetwork, *, block_bytes: int = 16 << 20) -> None:
        self.n_components = net.n_components
        self.n_demands = net.n_demands
        self.block_bytes = int(block_bytes)
        c = net.n_components
        d_targets = [net.targets(d).tolist() for d in range(net.n_demands)]
        src = net.demand_source.tolist()
        sources = sorted({src[d] for d in range(net.n_demands) if d_targets[d]})
        all_targets = sorted({t for ts in d_targets for t in ts})

        g = nx.DiGraph()
        g.add_nodes_from(range(net.n_nodes))
        g.add_edges_from(zip(net.arc_src.tolist(), net.arc_dst.tolist(), strict=True))
        fwd = set(sources)
        for s in sources:
            fwd |= nx.descendants(g, s)
        bwd = set(all_targets)
        for t in all_targets:
            bwd |= nx.ancestors(g, t)
        relevant = np.array(sorted(fwd & bwd), dtype=np.int64)
        nr = relevant.size
        pos = np.full(net.n_nodes, nr, dtype=np.int64)  # nr = the always-zero row
        pos[relevant] = np.arange(nr)
        self.n_relevant = nr
        self.n_sources = max(1, len(sources))
        sidx = {s: i for i, s in enumerate(sources)}

        nc = np.asarray(net.node_component)
        self._node_comp = np.where(nc[relevant] >= 0, nc[relevant], c)
        keep = (pos[net.arc_src] < nr) & (pos[net.arc_dst] < nr)
        a_src = pos[net.arc_src[keep]]
        a_dst = pos[net.arc_dst[keep]]
        ac = np.asarray(net.arc_component)[keep]
        a_comp = np.where(ac >= 0, ac, c)

        sub = nx.DiGraph()
        sub.add_nodes_from(range(nr))
        sub.add_edges_from(zip(a_src.tolist(), a_dst.tolist(), strict=True))
        self.is_dag = nx.is_directed_acyclic_graph(sub)
        level = np.zeros(nr, dtype=np.int64)
        if self.is_dag:
            for v in nx.topological_sort(sub):
                preds = list(sub.predecessors(v))
                if preds:
                    level[v] = 1 + int(level[preds].max())
        elif sources:
            roots = [int(pos[s]) for s in sources if pos[s] < nr]
            dist = nx.multi_source_dijkstra_path_length(sub, roots, weight=None) if roots else {}
            for v, dv in dist.items():
                level[v] = dv
        src_pos = np.array([pos[s] for s in sources], dtype=np.int64)
        self._source_pos = src_pos

        order = np.lexsort((a_dst, level[a_dst]))
        a_src, a_dst, a_comp = a_src[order], a_dst[order], a_comp[order]
        self._levels: list[_Level] = []
        for lev in np.unique(level[a_dst]) if a_dst.size else []:
            sel = level[a_dst] == lev
            heads_all = a_dst[sel]
            new = np.r_[True, heads_all[1:] != heads_all[:-1]]
            starts = np.flatnonzero(new)
            heads = heads_all[starts]
            is_src = np.isin(heads, src_pos)
            rows = np.flatnonzero(is_src)
            cols = np.array([int(np.flatnonzero(src_pos == heads[r])[0]) for r in rows], dtype=np.int64)
            self._levels.append(_Level(heads, a_src[sel], a_comp[sel], starts,
                                       bool(np.any(a_comp[sel] < c)), rows, cols))
        self.max_level_arcs = max((lv.tails.size for lv in self._levels), default=0)

        # routes: distinct (source, targets) pairs; demands point at one
        route_key: dict[tuple[int, tuple[int, ...]], int] = {}
        demand_route = np.zeros(net.n_demands, dtype=np.int64)
        for d in range(net.n_demands):
            ts = tuple(int(pos[t]) for t in d_targets[d]) or (nr,)
            key = (sidx.get(src[d], 0), ts)
            demand_route[d] = route_key.setdefault(key, len(route_key))
        self.n_routes = len(route_key)
        self._demand_route = demand_route
        r_rows, r_cols, r_ptr = [], [], [0]
        for (si, ts) in route_key:
            r_rows.extend(ts)
            r_cols.extend([si] * len(ts))
            r_ptr.append(len(r_rows))
        self._route_rows = np.array(r_rows, dtype=np.int64)
        self._route_cols = np.array(r_cols, dtype=np.int64)
        self._route_starts = np.array(r_ptr[:-1], dtype=np.int64)
        # prerequisites: every demand gets >= 1 entry (C = never down)
        pre = [net.prereq(d).tolist() or [c] for d in range(net.n_demands)]
        self._prereq = np.array([x for p in pre for x in p], dtype=np.int64)
        self._prereq_starts = np.cumsum([0] + [len(p) for p in pre[:-1]]).astype(np.int64)
        self.has_prereq = bool(net.demand_prereq.size)

    # ------------------------------------------------------------------ run
    def block_words(self) -> int:
        """Words per block under the memory budget."""
        per_word = 8 * self.n_sources * (self.n_relevant + 1 + 2 * self.max_level_arcs)
        return max(1, self.block_bytes // max(per_word, 1))

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
        node_up = up_ext[self._node_comp]  # (Nr, wb)
        x = np.zeros((self.n_relevant + 1, self.n_sources, wb), dtype=np.uint64)
        sp = self._source_pos
        ok = np.flatnonzero(sp < self.n_relevant)  # a source that reaches no target stays 0
        x[sp[ok], ok] = node_up[sp[ok]]
        if self.is_dag:
            for lv in self._levels:
                self._update(x, lv, up_ext, node_up)
        else:
            sweeps = [self._levels, self._levels[::-1]]
            changed, i = True, 0
            while changed:
                changed = False
                for lv in sweeps[i % 2]:
                    changed |= self._update(x, lv, up_ext, node_up, check=True)
                i += 1
        reach = np.bitwise_or.reduceat(x[self._route_rows, self._route_cols], self._route_starts, axis=0)
        unreach = ~reach[self._demand_route]
        if self.has_prereq:
            unreach |= np.bitwise_or.reduceat(down_ext[self._prereq], self._prereq_starts, axis=0)
        return unreach

    @staticmethod
    def _update(x: np.ndarray, lv: _Level, up_ext: np.ndarray, node_up: np.ndarray,
                check: bool = False) -> bool:
        g = x[lv.tails]
        if lv.any_arc_comp:
            g &= up_ext[lv.arc_comp][:, None, :]
        red = np.bitwise_or.reduceat(g, lv.starts, axis=0)
        if lv.seed_rows.size:
            red[lv.seed_rows, lv.seed_cols] = _ALL
        red &= node_up[lv.heads][:, None, :]
        if check:
            if np.array_equal(red, x[lv.heads]):
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
    >>> from model.compiled import compile_graph
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
    (as in :class:`model.sampling.FailedSets`). Common-cause events must already be
    expanded into their member components.

    Examples
    --------
    >>> import networkx as nx
    >>> from model.compiled import compile_graph
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
