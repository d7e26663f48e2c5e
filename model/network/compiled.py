"""Compiled networks: the array form every engine works on.

A :class:`CompiledNetwork` is built once from a scenario's call network (see
:mod:`model.network.callnetwork`) or from any networkx graph (:func:`compile_graph`), and is
small, immutable and picklable, so it can be shipped to worker processes.

Semantics
---------
*Components* are the things that fail. Each graph node and each arc may carry a
component index (``-1`` means the element never fails). An undirected edge is two
arcs sharing one component. A *demand* ``d`` is served when

* every component in ``demand_prereq[d]`` is up (series elements in front of the
  source, such as a caller group's access link to its originating network), and
* some path leads from ``demand_source[d]`` to any node of ``demand_targets[d]``
  (the control room, then its buddy rooms) through nodes and arcs that are up.

A component is down when its own independent failure occurred or when any
common-cause event that contains it occurred.

Examples
--------
>>> import networkx as nx
>>> from model.network.compiled import compile_graph
>>> g = nx.Graph()
>>> g.add_edge("s", "a", q=0.1); g.add_edge("a", "t", q=0.1); g.add_edge("s", "t", q=0.2)
>>> net = compile_graph(g, source="s", target="t")
>>> net.n_components, net.n_demands
(3, 1)
>>> bool(net.unreachable_demands({net.component_index("s-t")})[0])
False
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

__all__ = ["CompiledNetwork", "compile_graph", "csr_from_lists"]


def csr_from_lists(lists: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(indptr, indices)`` for a list of integer lists.

    Examples
    --------
    >>> csr_from_lists([[1, 2], [], [0]])
    (array([0, 2, 2, 3]), array([1, 2, 0]))
    """
    indptr = np.zeros(len(lists) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(x) for x in lists])
    indices = np.fromiter((i for x in lists for i in x), dtype=np.int64, count=int(indptr[-1]))
    return indptr, indices


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class CompiledNetwork:
    """Arrays describing components, graph, demands and common-cause events.

    Build with :func:`compile_graph` or :func:`model.network.callnetwork.CallNetwork.compile`;
    the constructor checks shapes and index ranges.
    """

    component_names: tuple[str, ...]
    q: np.ndarray  # (C,) steady-state unavailability of the independent failure
    node_names: tuple[str, ...]
    node_component: np.ndarray  # (N,) component of node or -1
    arc_src: np.ndarray  # (A,)
    arc_dst: np.ndarray  # (A,)
    arc_component: np.ndarray  # (A,) component of arc or -1
    demand_names: tuple[str, ...]
    demand_source: np.ndarray  # (D,) node index
    demand_prereq_ptr: np.ndarray  # (D+1,)
    demand_prereq: np.ndarray  # component indices
    demand_target_ptr: np.ndarray  # (D+1,)
    demand_targets: np.ndarray  # node indices, primary first then alternatives
    demand_weight: np.ndarray  # (D,) calls per year (or any non-negative weight)
    ccf_names: tuple[str, ...] = ()
    ccf_q: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ccf_member_ptr: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    ccf_members: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    component_kind: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        C, N, D = len(self.component_names), len(self.node_names), len(self.demand_names)
        for name in (
            "q", "node_component", "arc_src", "arc_dst", "arc_component", "demand_source",
            "demand_prereq_ptr", "demand_prereq", "demand_target_ptr", "demand_targets",
            "demand_weight", "ccf_q", "ccf_member_ptr", "ccf_members",
        ):
            arr = np.asarray(getattr(self, name))
            if name not in ("q", "demand_weight", "ccf_q"):
                arr = arr.astype(np.int64, copy=False)
            else:
                arr = arr.astype(np.float64, copy=False)
            object.__setattr__(self, name, _ro(arr))
        if not self.component_kind:
            object.__setattr__(self, "component_kind", ("component",) * C)
        checks = [
            (self.q.shape == (C,), "q must have one entry per component"),
            (self.node_component.shape == (N,), "node_component must have one entry per node"),
            (self.arc_src.shape == self.arc_dst.shape == self.arc_component.shape, "arc arrays differ"),
            (self.demand_source.shape == (D,) and self.demand_weight.shape == (D,), "demand arrays"),
            (self.demand_prereq_ptr.shape == (D + 1,), "demand_prereq_ptr"),
            (self.demand_target_ptr.shape == (D + 1,), "demand_target_ptr"),
            (bool(np.all((self.q >= 0) & (self.q <= 1))), "q must lie in [0, 1]"),
            (bool(np.all((self.ccf_q >= 0) & (self.ccf_q <= 1))), "ccf_q must lie in [0, 1]"),
            (self.ccf_member_ptr.shape == (len(self.ccf_names) + 1,), "ccf_member_ptr"),
            (bool(np.all(self.demand_weight >= 0)), "demand weights must be >= 0"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(f"CompiledNetwork: {msg}")
        for arr, hi, name in (
            (self.node_component, C, "node_component"),
            (self.arc_component, C, "arc_component"),
            (self.arc_src, N, "arc_src"),
            (self.arc_dst, N, "arc_dst"),
            (self.demand_source, N, "demand_source"),
            (self.demand_targets, N, "demand_targets"),
            (self.demand_prereq, C, "demand_prereq"),
            (self.ccf_members, C, "ccf_members"),
        ):
            lo = -1 if name in ("node_component", "arc_component") else 0
            if arr.size and (arr.min() < lo or arr.max() >= hi):
                raise ValueError(f"CompiledNetwork: {name} index out of range")

    # ------------------------------------------------------------------ sizes
    @property
    def n_components(self) -> int:
        return len(self.component_names)

    @property
    def n_nodes(self) -> int:
        return len(self.node_names)

    @property
    def n_arcs(self) -> int:
        return int(self.arc_src.size)

    @property
    def n_demands(self) -> int:
        return len(self.demand_names)

    @property
    def n_ccf(self) -> int:
        return len(self.ccf_names)

    @property
    def total_weight(self) -> float:
        return float(self.demand_weight.sum())

    def component_index(self, name: str) -> int:
        """Index of the component called ``name`` (raises ``KeyError``)."""
        try:
            return self._component_lookup[name]
        except KeyError:
            raise KeyError(f"no component named {name!r}") from None

    @property
    def _component_lookup(self) -> dict[str, int]:
        cache = self.__dict__.get("_lookup")
        if cache is None:
            cache = {n: i for i, n in enumerate(self.component_names)}
            object.__setattr__(self, "_lookup", cache)
        return cache

    def prereq(self, d: int) -> np.ndarray:
        return self.demand_prereq[self.demand_prereq_ptr[d] : self.demand_prereq_ptr[d + 1]]

    def targets(self, d: int) -> np.ndarray:
        return self.demand_targets[self.demand_target_ptr[d] : self.demand_target_ptr[d + 1]]

    def ccf_member_list(self, g: int) -> np.ndarray:
        return self.ccf_members[self.ccf_member_ptr[g] : self.ccf_member_ptr[g + 1]]

    # ---------------------------------------------------------- graph shapes
    @property
    def is_dag(self) -> bool:
        """True when the arcs form a directed acyclic graph."""
        cache = self.__dict__.get("_topo")
        if cache is None:
            g = nx.DiGraph()
            g.add_nodes_from(range(self.n_nodes))
            g.add_edges_from(zip(self.arc_src.tolist(), self.arc_dst.tolist(), strict=True))
            try:
                cache = np.array(list(nx.topological_sort(g)), dtype=np.int64)
            except nx.NetworkXUnfeasible:
                cache = np.zeros(0, dtype=np.int64)
            object.__setattr__(self, "_topo", cache)
        return cache.size == self.n_nodes

    @property
    def topological_order(self) -> np.ndarray:
        if not self.is_dag:
            raise ValueError("the network has directed cycles; it has no topological order")
        return self.__dict__["_topo"]

    def expand_failures(self, failed: np.ndarray) -> np.ndarray:
        """Component failure mask from independent-failure and CCF-event masks.

        ``failed`` is a boolean array of length ``C + G``: the first ``C`` entries are
        independent component failures, the rest common-cause events.
        """
        failed = np.asarray(failed, dtype=bool)
        out = failed[: self.n_components].copy()
        for g in np.flatnonzero(failed[self.n_components :]):
            out[self.ccf_member_list(int(g))] = True
        return out

    # ------------------------------------------------------- reference kernel
    def unreachable_demands(self, failed_components: Iterable[int] | np.ndarray) -> np.ndarray:
        """Boolean mask of demands cut off when exactly these components are down.

        A plain breadth-first search: the obviously correct reference that the
        vectorised kernels are tested against, and fast enough for what-if queries.
        ``failed_components`` are component indices (common-cause events already
        expanded) or a boolean mask of length ``n_components``.
        """
        down = np.zeros(self.n_components, dtype=bool)
        fc = np.asarray(list(failed_components) if not isinstance(failed_components, np.ndarray)
                        else failed_components)
        if fc.dtype == bool:
            down[: fc.size] = fc
        elif fc.size:
            down[fc.astype(np.int64)] = True
        node_up = np.ones(self.n_nodes, dtype=bool)
        has = self.node_component >= 0
        node_up[has] = ~down[self.node_component[has]]
        arc_up = np.ones(self.n_arcs, dtype=bool)
        has = self.arc_component >= 0
        arc_up[has] = ~down[self.arc_component[has]]
        adj = self._adjacency
        out = np.zeros(self.n_demands, dtype=bool)
        memo: dict[int, np.ndarray] = {}
        for d in range(self.n_demands):
            if down[self.prereq(d)].any():
                out[d] = True
                continue
            s = int(self.demand_source[d])
            if s not in memo:
                seen = np.zeros(self.n_nodes, dtype=bool)
                if node_up[s]:
                    seen[s] = True
                    stack = [s]
                    while stack:
                        u = stack.pop()
                        for a in adj[u]:
                            v = int(self.arc_dst[a])
                            if not seen[v] and arc_up[a] and node_up[v]:
                                seen[v] = True
                                stack.append(v)
                memo[s] = seen
            out[d] = not memo[s][self.targets(d)].any()
        return out

    @property
    def _adjacency(self) -> list[list[int]]:
        cache = self.__dict__.get("_adj")
        if cache is None:
            cache = [[] for _ in range(self.n_nodes)]
            for a, s in enumerate(self.arc_src.tolist()):
                cache[s].append(a)
            object.__setattr__(self, "_adj", cache)
        return cache

    def unreachable_share(self, failed_components: Iterable[int] | np.ndarray) -> float:
        """Demand-weighted share of calls cut off by a failed set."""
        if self.total_weight == 0:
            return 0.0
        mask = self.unreachable_demands(failed_components)
        return float(self.demand_weight[mask].sum() / self.total_weight)

    def with_q(self, q: np.ndarray, ccf_q: np.ndarray | None = None) -> CompiledNetwork:
        """A copy with other failure probabilities (same structure)."""
        kw = {f: getattr(self, f) for f in self.__dataclass_fields__}
        kw["q"] = np.asarray(q, dtype=np.float64)
        if ccf_q is not None:
            kw["ccf_q"] = np.asarray(ccf_q, dtype=np.float64)
        return CompiledNetwork(**kw)


def compile_graph(
    graph: nx.Graph,
    source: Hashable | None = None,
    target: Hashable | Sequence[Hashable] | None = None,
    *,
    demands: Sequence[tuple[Hashable, Sequence[Hashable], float]] | None = None,
    q_attr: str = "q",
    default_edge_q: float = 0.0,
) -> CompiledNetwork:
    """Compile any networkx graph whose edges (and optionally nodes) carry ``q``.

    Parameters
    ----------
    graph : networkx.Graph or networkx.DiGraph
        Undirected edges become two arcs sharing one component. An edge or node is a
        component when it has the ``q_attr`` attribute (edges without it get
        ``default_edge_q`` and are components as well; nodes without it never fail).
    source, target : node, node or list of nodes
        A single two-terminal demand: served when ``source`` reaches any ``target``.
    demands : list of (source, targets, weight), optional
        Several weighted demands instead of ``source``/``target``.
    q_attr : str
        Name of the failure-probability attribute.

    Returns
    -------
    CompiledNetwork

    Examples
    --------
    >>> import networkx as nx
    >>> net = compile_graph(nx.path_graph(3), 0, 2, default_edge_q=0.5)
    >>> net.q.tolist()
    [0.5, 0.5]
    """
    if demands is None:
        if source is None or target is None:
            raise ValueError("give source and target, or demands")
        tl = list(target) if isinstance(target, list | tuple | set) else [target]
        demands = [(source, tl, 1.0)]
    nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    comp_names: list[str] = []
    comp_kind: list[str] = []
    q: list[float] = []
    node_comp = np.full(len(nodes), -1, dtype=np.int64)
    for n, data in graph.nodes(data=True):
        if q_attr in data:
            node_comp[index[n]] = len(comp_names)
            comp_names.append(str(n))
            comp_kind.append("node")
            q.append(float(data[q_attr]))
    src, dst, acomp = [], [], []
    directed = graph.is_directed()
    for u, v, data in graph.edges(data=True):
        c = len(comp_names)
        comp_names.append(f"{u}-{v}")
        comp_kind.append("link")
        q.append(float(data.get(q_attr, default_edge_q)))
        arcs = [(u, v)] if directed else [(u, v), (v, u)]
        for a, b in arcs:
            src.append(index[a])
            dst.append(index[b])
            acomp.append(c)
    for s, ts, _w in demands:
        for n in [s, *ts]:
            if n not in index:
                raise ValueError(f"demand node {n!r} is not in the graph")
    tptr, tind = csr_from_lists([[index[t] for t in ts] for _s, ts, _w in demands])
    pptr, pind = csr_from_lists([[] for _ in demands])
    return CompiledNetwork(
        component_names=tuple(comp_names),
        component_kind=tuple(comp_kind),
        q=np.array(q, dtype=np.float64),
        node_names=tuple(str(n) for n in nodes),
        node_component=node_comp,
        arc_src=np.array(src, dtype=np.int64),
        arc_dst=np.array(dst, dtype=np.int64),
        arc_component=np.array(acomp, dtype=np.int64),
        demand_names=tuple(f"{s}->{'|'.join(map(str, ts))}" for s, ts, _w in demands),
        demand_source=np.array([index[s] for s, _t, _w in demands], dtype=np.int64),
        demand_prereq_ptr=pptr,
        demand_prereq=pind,
        demand_target_ptr=tptr,
        demand_targets=tind,
        demand_weight=np.array([float(w) for _s, _t, w in demands], dtype=np.float64),
    )
