"""Series and parallel structure of a demand: cut vertices and separation pairs between its terminals.

A demand ``s -> {t1, t2, ...}`` (targets joined to one virtual target by perfect
arcs) splits exactly into independent parts when

* **series**: a node ``c`` lies on every path from ``s`` to the target (a cut
  vertex on the path of the block-cut tree of the underlying undirected graph).
  Every directed ``s -> t`` path passes through ``c``, enters the part after
  ``c`` only through ``c`` and never comes back, so the demand is served exactly
  when ``c`` is up and each part between successive cut vertices is served.
  Blocks of the block-cut tree off that path hold no simple ``s -> t`` path and
  are dropped.
* **parallel**: the graph minus ``{s, t}`` falls apart into pieces (or arcs run
  straight from ``s`` to ``t``). A simple path cannot move between pieces
  without passing ``s`` or ``t``, so the demand is cut exactly when every piece
  is; failing terminal nodes are taken out first as series parts.

Applied recursively, this gives a tree whose leaves are single components (a
failing terminal or cut vertex) or 2-connected blocks that split no further.
The parts use disjoint sets of components, so they fail independently — as
long as no common-cause event and no prerequisite ties components together:
such demands are not split (:func:`demand_tree` returns ``None``).

Examples
--------
>>> from model.network.compiled import compile_graph
>>> from model.network.graphs import dodecahedron, parallel, series
>>> g, s, t = parallel([dodecahedron(0.1)] * 3)
>>> tree = demand_tree(compile_graph(g, s, t), 0)
>>> tree.kind, len(tree.parts), [p.kind for p in tree.parts]
('parallel', 3, ['block', 'block', 'block'])
>>> g, s, t = series([dodecahedron(0.1)] * 2)
>>> tree = demand_tree(compile_graph(g, s, t), 0)
>>> tree.kind, [p.kind for p in tree.parts], tree.parts[0].net.n_components
('series', ['block', 'block'], 30)
>>> summary(compile_graph(g, s, t))
{'demands': 1, 'split': 1, 'series': 1, 'parallel': 0, 'blocks': 2, 'components': 0, 'largest_block': 30}
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from model.network.compiled import CompiledNetwork, csr_from_lists

__all__ = ["Part", "demand_tree", "summary"]

Arc = tuple[int, int, int]  # (tail, head, component or -1)


@dataclass(frozen=True, eq=False)
class Part:
    """A node of the decomposition tree of one demand.

    ``kind`` is ``"series"`` (served when every part is), ``"parallel"`` (cut
    when every part is), ``"component"`` (one component: cut exactly when it
    fails, ``component`` its index), ``"block"`` (a two-terminal sub-network
    ``net`` that splits no further, with ``components`` the indices of its
    components in the original network, in the order of ``net``'s) or
    ``"never"`` (no path: always cut) / ``"always"`` (nothing can fail).
    """

    kind: str
    parts: tuple[Part, ...] = ()
    component: int = -1
    net: CompiledNetwork | None = None
    components: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def leaves(self) -> Iterator[Part]:
        """The ``component`` and ``block`` leaves, depth first."""
        if self.kind in ("component", "block"):
            yield self
        for p in self.parts:
            yield from p.leaves()

    def count(self, kind: str) -> int:
        """Number of nodes of ``kind`` in the tree."""
        return int(self.kind == kind) + sum(p.count(kind) for p in self.parts)


def _prune(s: int, t: int, arcs: list[Arc]) -> list[Arc]:
    """Arcs on some walk from ``s`` to ``t`` (arcs into ``s`` and out of ``t`` dropped)."""
    arcs = [a for a in arcs if a[0] != a[1] and a[1] != s and a[0] != t]
    out: dict[int, list[int]] = {}
    inn: dict[int, list[int]] = {}
    for u, v, _c in arcs:
        out.setdefault(u, []).append(v)
        inn.setdefault(v, []).append(u)

    def closure(start: int, adj: dict[int, list[int]]) -> set[int]:
        seen, stack = {start}, [start]
        while stack:
            for w in adj.get(stack.pop(), ()):
                if w not in seen:
                    seen.add(w)
                    stack.append(w)
        return seen

    keep = closure(s, out) & closure(t, inn)
    return [a for a in arcs if a[0] in keep and a[1] in keep]


def _series(parts: list[Part]) -> Part:
    parts = [p for p in parts if p.kind != "always"]
    if any(p.kind == "never" for p in parts):
        return Part("never")
    flat = [q for p in parts for q in (p.parts if p.kind == "series" else (p,))]
    if not flat:
        return Part("always")
    return flat[0] if len(flat) == 1 else Part("series", tuple(flat))


def _parallel(parts: list[Part]) -> Part:
    parts = [p for p in parts if p.kind != "never"]
    if any(p.kind == "always" for p in parts):
        return Part("always")
    flat = [q for p in parts for q in (p.parts if p.kind == "parallel" else (p,))]
    if not flat:
        return Part("never")
    return flat[0] if len(flat) == 1 else Part("parallel", tuple(flat))


class _Splitter:
    def __init__(self, net: CompiledNetwork) -> None:
        self.net = net

    def block(self, s: int, t: int, arcs: list[Arc], node_comp: dict[int, int]) -> Part:
        """A leaf: the arcs as a one-demand network of their own (nodes renumbered)."""
        comps = sorted({c for _u, _v, c in arcs if c >= 0} | {c for n, c in node_comp.items()})
        if not comps:
            return Part("always")
        nodes = sorted({s, t} | {u for u, _v, _c in arcs} | {v for _u, v, _c in arcs})
        ni = {n: i for i, n in enumerate(nodes)}
        ci = {c: i for i, c in enumerate(comps)}
        q = self.net.q
        names = self.net.node_names
        node_names = tuple(names[n] if n < len(names) else "target" for n in nodes)
        tptr, tind = csr_from_lists([[ni[t]]])
        pptr, pind = csr_from_lists([[]])
        sub = CompiledNetwork(
            component_names=tuple(self.net.component_names[c] for c in comps),
            component_kind=tuple(self.net.component_kind[c] for c in comps),
            q=np.array([q[c] for c in comps], dtype=np.float64),
            node_names=node_names,
            node_component=np.array([ci[node_comp[n]] if n in node_comp else -1 for n in nodes],
                                    dtype=np.int64),
            arc_src=np.array([ni[u] for u, _v, _c in arcs], dtype=np.int64),
            arc_dst=np.array([ni[v] for _u, v, _c in arcs], dtype=np.int64),
            arc_component=np.array([ci[c] if c >= 0 else -1 for _u, _v, c in arcs], dtype=np.int64),
            demand_names=(f"{node_names[ni[s]]}->{node_names[ni[t]]}",),
            demand_source=np.array([ni[s]], dtype=np.int64),
            demand_prereq_ptr=pptr, demand_prereq=pind, demand_target_ptr=tptr, demand_targets=tind,
            demand_weight=np.ones(1),
        )
        return Part("block", net=sub, components=np.array(comps, dtype=np.int64))

    def solve(self, s: int, t: int, arcs: list[Arc], node_comp: dict[int, int]) -> Part:
        arcs = _prune(s, t, arcs)
        if not arcs:
            return Part("never")
        nodes = {u for u, _v, _c in arcs} | {v for _u, v, _c in arcs}
        node_comp = {n: c for n, c in node_comp.items() if n in nodes}
        ends = [Part("component", component=node_comp.pop(x)) for x in (s, t) if x in node_comp]
        h = nx.Graph()
        h.add_edges_from((u, v) for u, v, _c in arcs)
        # series: cut vertices on the block-cut tree path from s to t
        cut = set(nx.articulation_points(h))
        blocks = [set(b) for b in nx.biconnected_components(h)]
        tree = nx.Graph()
        for i, b in enumerate(blocks):
            for c in b & cut:
                tree.add_edge(("b", i), ("c", c))
        def anchor(x: int) -> tuple[str, int]:
            if x in cut:
                return ("c", x)
            return ("b", next(i for i, b in enumerate(blocks) if x in b))
        a_s, a_t = anchor(s), anchor(t)
        path = nx.shortest_path(tree, a_s, a_t) if a_s != a_t else [a_s]
        on_path = [x for kind, x in path if kind == "c" and x not in (s, t)]
        path_blocks = [blocks[x] for kind, x in path if kind == "b"]
        if on_path:
            stops = [s, *on_path, t]
            parts: list[Part] = list(ends)
            for k, (a, b) in enumerate(itertools.pairwise(stops)):
                bn = path_blocks[k]
                sub = [x for x in arcs if x[0] in bn and x[1] in bn]
                parts.append(self.solve(a, b, sub, {n: c for n, c in node_comp.items()
                                                    if n in bn and n not in (a, b)}))
            parts += [Part("component", component=node_comp[c]) for c in on_path if c in node_comp]
            return _series(parts)
        # s and t in one block: drop the blocks hanging off it
        bn = path_blocks[0]
        arcs = [x for x in arcs if x[0] in bn and x[1] in bn]
        node_comp = {n: c for n, c in node_comp.items() if n in bn}
        # parallel: pieces of the graph without s and t, and arcs straight from s to t
        rest = nx.Graph()
        inner = ({u for u, _v, _c in arcs} | {v for _u, v, _c in arcs}) - {s, t}
        rest.add_nodes_from(inner)
        rest.add_edges_from((u, v) for u, v, _c in arcs if u not in (s, t) and v not in (s, t))
        pieces = [set(p) for p in nx.connected_components(rest)]
        direct = [x for x in arcs if x[0] == s and x[1] == t]
        if len(pieces) + len(direct) > 1:
            alts: list[Part] = [Part("component", component=c) if c >= 0 else Part("always")
                                for _u, _v, c in direct]
            for p in pieces:
                sub = [x for x in arcs if x[0] in p or x[1] in p]
                alts.append(self.solve(s, t, sub, {n: c for n, c in node_comp.items() if n in p}))
            return _series([*ends, _parallel(alts)])
        return _series([*ends, self.block(s, t, arcs, node_comp)])


def demand_tree(net: CompiledNetwork, d: int) -> Part | None:
    """Decomposition tree of demand ``d``, or ``None`` when common-cause events or prerequisites touch it.

    Parameters
    ----------
    net : CompiledNetwork
    d : int
        Demand index.

    Returns
    -------
    Part or None
        The root; its leaves' components are disjoint, so they fail independently.

    Examples
    --------
    >>> import networkx as nx
    >>> from model.network.compiled import compile_graph
    >>> g = nx.Graph([("s", "a"), ("a", "t"), ("s", "t"), ("t", "x")])
    >>> nx.set_edge_attributes(g, 0.1, "q")
    >>> tree = demand_tree(compile_graph(g, "s", "t"), 0)
    >>> tree.kind, sorted(p.kind for p in tree.parts)
    ('parallel', ['component', 'series'])
    """
    if net.prereq(d).size:
        return None
    src = int(net.demand_source[d])
    targets = sorted(set(net.targets(d).tolist()))
    virtual = net.n_nodes
    node_comp = {n: int(c) for n, c in enumerate(net.node_component.tolist()) if c >= 0}
    arcs: list[Arc] = list(zip(net.arc_src.tolist(), net.arc_dst.tolist(), net.arc_component.tolist(),
                               strict=True))
    if src in targets:
        return Part("component", component=node_comp[src]) if src in node_comp else Part("always")
    arcs += [(t, virtual, -1) for t in targets]
    tree = _Splitter(net).solve(src, virtual, arcs, node_comp)
    if net.n_ccf:
        used = {int(c) for leaf in tree.leaves() for c in
                (leaf.components.tolist() if leaf.kind == "block" else [leaf.component])}
        members = set(net.ccf_members.tolist())
        if used & members:
            return None
    return tree


def summary(net: CompiledNetwork) -> dict[str, int]:
    """How the demands split: demands split at all, series and parallel splits, leaves, largest block.

    ``split`` counts demands whose tree has a series or parallel node;
    ``components`` counts single-component leaves, ``blocks`` the sub-network
    leaves, ``largest_block`` the most components in one of them (demands that
    cannot be split count as one block of all their components).
    """
    out = {"demands": net.n_demands, "split": 0, "series": 0, "parallel": 0, "blocks": 0, "components": 0,
           "largest_block": 0}
    seen: dict[tuple[int, tuple[int, ...]], Part | None] = {}
    for d in range(net.n_demands):
        key = (int(net.demand_source[d]), tuple(sorted(net.targets(d).tolist())))
        if key not in seen or net.prereq(d).size:
            seen[key] = demand_tree(net, d)
        tree = seen[key]
        if tree is None:
            out["blocks"] += 1
            out["largest_block"] = max(out["largest_block"], net.n_components + net.n_ccf)
            continue
        s, p = tree.count("series"), tree.count("parallel")
        out["split"] += int(s + p > 0)
        out["series"] += s
        out["parallel"] += p
        for leaf in tree.leaves():
            if leaf.kind == "block":
                out["blocks"] += 1
                out["largest_block"] = max(out["largest_block"], int(leaf.components.size))
            else:
                out["components"] += 1
    return out
