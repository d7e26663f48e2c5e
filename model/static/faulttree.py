"""Fault trees: the PRA community's form of a static model, built from a network or read from a file.

A :class:`FaultTree` holds basic events with probabilities, common-cause events
(each one fails a set of basic events together, as in a beta-factor group), gates
(``and``, ``or``, ``atleast k``) over events, and one or more *top events* with
weights. The demand-weighted top probability is ``Σ w_t P(top_t) / Σ w`` — for a
tree made from a :class:`~model.network.compiled.CompiledNetwork` that is exactly
the network's demand-weighted unreachability.

From a network (:func:`network_fault_tree`)
-------------------------------------------
For every demand the top event "this demand is unreachable" is written from the
demand's **minimal path sets**: ``top = OR(prerequisites, AND over routes of
OR(components on the route))``. Path sets rather than cut sets because a call
network's demands have few routes (a caller group's originating networks, the
call-handling centres, the control room and its buddy), so the tree is small and
reads like the network; minimal cut sets are many more and costly to enumerate
(the dodecahedron has 780 s-t paths but 7,376 minimal cut sets, which nines'
cut-set enumeration takes minutes to list). Routes are simple paths of the
demand's relevant sub-network (:func:`model.static.exact.demand_problem`); routes
whose component sets are equal or supersets of another's are dropped, and equal
routes are shared between demands as one gate.

Path sets grow exponentially on meshes (the 5x5 grid has 8,512 routes, and an AND over
hundreds of routes is hard for any BDD: SCRAM did not finish the 780-route dodecahedron in
two minutes). So ``form="auto"`` uses them only for demands with at most ``auto_paths``
routes and otherwise writes the **decision-diagram form**: the Shannon expansion of nines'
frontier diagram (:class:`model.static.exact.FrontierDiagram`), ``f = f|x up OR (x AND
f|x down)`` (valid because "demand cut" is monotone), one ``or`` and one ``and`` gate per
diagram node: exact, linear in the diagram (2,598 gates for the dodecahedron, which SCRAM
then solves in about a second).

To the engines (:func:`reachability_network`)
---------------------------------------------
Crude Monte Carlo and the rare-event engine work on a compiled network, so a tree
is compiled into its *success network*: a directed two-terminal network per top
in which the source reaches the target exactly when the top event does not occur.
A basic event is an arc carrying it as component; an ``or`` gate (fails when any
input fails) is its inputs in series; an ``and`` gate is its inputs in parallel; an
``atleast k`` of ``n`` gate works while ``n - k + 1`` inputs work, a grid of
``(inputs seen, inputs working)`` states. Common-cause events stay common-cause
events of the network. A gate used by several parents is copied into each (a
directed network cannot share a sub-network between two contexts without creating
false paths), so the size is bounded (``max_arcs``) before building. The exact
value comes from the gate BDD of :mod:`model.static.gatebdd` instead: nines' frontier
BDD and factoring need each component on one edge, and a success network has
components on many arcs.

Examples
--------
>>> import networkx as nx
>>> from model.network.compiled import compile_graph
>>> g = nx.Graph(); g.add_edge("s", "a", q=0.1); g.add_edge("a", "t", q=0.1); g.add_edge("s", "t", q=0.2)
>>> tree = network_fault_tree(compile_graph(g, "s", "t"))
>>> [(gt.name, gt.kind, gt.inputs) for gt in tree.gates]      # s-t (1) alone, or s-a (0) and a-t (2)
[('route-1', 'or', (0, 2)), ('unreachable-1', 'and', (1, 3))]
>>> net = reachability_network(tree)
>>> net.n_components, net.n_demands, bool(net.unreachable_demands([0, 1])[0])   # s-a and s-t down
(3, 1, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from model.network.compiled import CompiledNetwork, csr_from_lists
from model.static.cutsets import minimize
from model.static.exact import FAIL, SUCCESS, FrontierDiagram, demand_problem

__all__ = ["FaultTree", "FaultTreeError", "Gate", "network_fault_tree", "reachability_network"]

GATE_KINDS = ("and", "or", "atleast")


class FaultTreeError(ValueError):
    """A fault tree that is malformed or too large for the requested form."""


@dataclass(frozen=True)
class Gate:
    """One gate: ``kind`` over ``inputs`` (event codes: basic event ``i`` is ``i``, gate ``j`` is ``B + j``).

    ``k`` is the ``atleast`` threshold (the gate fails when ``k`` or more inputs fail).
    """

    name: str
    kind: str
    inputs: tuple[int, ...]
    k: int = 0
    label: str = ""


@dataclass(frozen=True, eq=False)
class FaultTree:
    """Basic events, common-cause events, gates and weighted top events.

    Attributes
    ----------
    basic_names : tuple of str
    q : numpy.ndarray
        Probability of each basic event's independent occurrence.
    gates : tuple of Gate
        In any order; inputs refer to basic events (``< B``) or gates (``B + j``).
    tops : tuple of int
        Event codes of the top events.
    top_names : tuple of str
    weights : numpy.ndarray
        One non-negative weight per top (calls a year for a network's demands).
    ccf_names, ccf_q, ccf_members
        Common-cause events: event ``g`` occurs with ``ccf_q[g]`` and fails every basic
        event in ``ccf_members[g]`` (basic event indices).
    basic_labels : tuple of str
        Display names (the network's component names), empty when unknown.
    total_weight : float
        Weight of all demands, including those that never fail and have no top.
    """

    basic_names: tuple[str, ...]
    q: np.ndarray
    gates: tuple[Gate, ...]
    tops: tuple[int, ...]
    top_names: tuple[str, ...]
    weights: np.ndarray
    ccf_names: tuple[str, ...] = ()
    ccf_q: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ccf_members: tuple[tuple[int, ...], ...] = ()
    basic_labels: tuple[str, ...] = ()
    top_labels: tuple[str, ...] = ()
    total_weight: float = -1.0

    def __post_init__(self) -> None:
        q = np.asarray(self.q, dtype=np.float64)
        cq = np.asarray(self.ccf_q, dtype=np.float64)
        w = np.asarray(self.weights, dtype=np.float64)
        for name, arr in (("q", q), ("ccf_q", cq), ("weights", w)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        B, G = len(self.basic_names), len(self.gates)
        problems = []
        if q.shape != (B,):
            problems.append("q needs one probability per basic event")
        if not bool(np.all((q >= 0) & (q <= 1))) or not bool(np.all((cq >= 0) & (cq <= 1))):
            problems.append("probabilities must lie in [0, 1]")
        if len(self.tops) != len(self.top_names) or w.shape != (len(self.tops),) or not bool(np.all(w >= 0)):
            problems.append("tops, top_names and weights (>= 0) must have one entry per top")
        if len(self.ccf_names) != len(self.ccf_members) or cq.shape != (len(self.ccf_names),):
            problems.append("ccf_names, ccf_q and ccf_members differ in length")
        for gt in self.gates:
            if gt.kind not in GATE_KINDS or not gt.inputs or any(not 0 <= c < B + G for c in gt.inputs):
                problems.append(f"gate {gt.name!r}: kind must be one of {GATE_KINDS} over known events")
            elif gt.kind == "atleast" and not 1 <= gt.k:
                problems.append(f"gate {gt.name!r}: atleast needs k >= 1")
        if any(not 0 <= t < B + G for t in self.tops):
            problems.append("a top refers to an unknown event")
        if any(not 0 <= m < B for ms in self.ccf_members for m in ms):
            problems.append("a common-cause event names an unknown basic event")
        if problems:
            raise FaultTreeError("fault tree: " + "; ".join(problems))
        if self.total_weight < 0:
            object.__setattr__(self, "total_weight", float(w.sum()))
        self.topological_gates()  # raises on a cycle

    @property
    def n_basic(self) -> int:
        return len(self.basic_names)

    def event_name(self, code: int) -> str:
        """Name of basic event or gate ``code``."""
        return self.basic_names[code] if code < self.n_basic else self.gates[code - self.n_basic].name

    def topological_gates(self) -> list[int]:
        """Gate indices, every gate after the gates it uses (raises :class:`FaultTreeError` on a cycle)."""
        B = self.n_basic
        state = [0] * len(self.gates)  # 0 new, 1 on stack, 2 done
        order: list[int] = []
        for root in range(len(self.gates)):
            if state[root]:
                continue
            stack = [(root, 0)]
            state[root] = 1
            while stack:
                j, i = stack.pop()
                ins = self.gates[j].inputs
                while i < len(ins) and (ins[i] < B or state[ins[i] - B] == 2):
                    i += 1
                if i == len(ins):
                    state[j] = 2
                    order.append(j)
                    continue
                c = ins[i] - B
                if state[c] == 1:
                    raise FaultTreeError(f"fault tree: gate {self.gates[c].name!r} is part of a cycle")
                stack.append((j, i + 1))
                state[c] = 1
                stack.append((c, 0))
        return order


# ------------------------------------------------------------------ from a network
def _routes(net: CompiledNetwork, d: int, max_paths: int) -> list[frozenset[int]] | None:
    """Minimal path sets (component sets) of demand ``d``; None when a route with no component exists."""
    p = demand_problem(net, int(net.demand_source[d]), net.targets(d).tolist())
    if p.trivial == 1:
        return []
    s = p.source
    if s in p.targets:
        c = p.node_comp.get(s)
        return None if c is None else [frozenset([c])]
    out_arcs: dict[int, list[tuple[int, int]]] = {}
    for u, v, c in p.arcs:
        out_arcs.setdefault(u, []).append((v, c))
    found: set[frozenset[int]] = set()
    start = frozenset([p.node_comp[s]]) if s in p.node_comp else frozenset()
    on_path = {s}
    stack: list[tuple[int, frozenset[int], int]] = [(s, start, 0)]
    n_paths = 0
    while stack:  # depth-first over simple paths, stopping at the first target reached
        u, comps, i = stack.pop()
        arcs = out_arcs.get(u, [])
        if i >= len(arcs):
            on_path.discard(u)
            continue
        stack.append((u, comps, i + 1))
        v, c = arcs[i]
        if v in on_path:
            continue
        nc = comps | {c} if c >= 0 else comps
        if v in p.node_comp:
            nc = nc | {p.node_comp[v]}
        if v in p.targets:
            n_paths += 1
            if not nc:
                return None
            found.add(nc)
            if n_paths > max_paths:
                raise FaultTreeError(
                    f"demand {net.demand_names[d]!r} has more than {max_paths:,} routes; "
                    "its path-set fault tree would be too large (raise max_paths)")
            continue
        on_path.add(v)
        stack.append((v, nc, 0))
    return minimize(found)


class _GateTable:
    """Gates shared by structure: the same (kind, inputs) is one gate."""

    def __init__(self, C: int) -> None:
        self.C = C
        self.gates: list[Gate] = []
        self.index: dict[tuple[str, tuple[int, ...]], int] = {}

    def get(self, kind: str, inputs: tuple[int, ...], name: str) -> int:
        key = (kind, inputs)
        if key not in self.index:
            self.index[key] = self.C + len(self.gates)
            self.gates.append(Gate(f"{name}-{len(self.gates) + 1}", kind, inputs))
        return self.index[key]


def _diagram_event(net: CompiledNetwork, d: int, table: _GateTable) -> int | bool:
    """Event code of "demand ``d`` cut off, prerequisites aside" from nines' frontier diagram.

    Shannon expansion of a monotone function, ``f = f|x up OR (x AND f|x down)``: one ``or`` and one
    ``and`` gate per diagram node. Returns True/False for a constant.
    """
    dia = FrontierDiagram(demand_problem(net, int(net.demand_source[d]), net.targets(d).tolist()))
    if dia.root in (FAIL, SUCCESS):
        return dia.root == FAIL
    nxt: list[int | bool] = []
    for comp, down, up in reversed(dia.node_levels()):

        def child(k: int, nxt: list[int | bool] = nxt) -> int | bool:
            return True if k == FAIL else False if k == SUCCESS else nxt[k]

        cur: list[int | bool] = []
        for i in range(len(up)):
            cu = child(int(up[i]))
            if comp < 0 or cu is True:
                cur.append(cu)
                continue
            cd = child(int(down[i]))
            if cd is False:  # monotone: then the up branch is false too
                cur.append(False)
                continue
            part = comp if cd is True else table.get("and", (int(comp), cd), "down")
            cur.append(part if cu is False else table.get("or", tuple(sorted((cu, part))), "cut"))
        nxt = cur
    return nxt[0]


def network_fault_tree(net: CompiledNetwork, demands: Sequence[int] | None = None, *,
                       max_paths: int = 200_000, form: str = "auto", auto_paths: int = 64) -> FaultTree:
    """The fault tree "demand unreachable" of every demand of ``net``, from minimal path sets.

    Parameters
    ----------
    net : CompiledNetwork
    demands : sequence of int, optional
        Only these demands (default: all). ``total_weight`` stays the weight of all demands.
    max_paths : int
        Refuse a demand with more simple routes than this.

    Returns
    -------
    FaultTree
        Basic events are the network's components (same order, names ``c1, c2, ...`` with the
        component names as labels) and its common-cause events; one top per demand that can
        fail, weighted by the demand's weight. Demands that can never fail get no top.

    Examples
    --------
    >>> from model.network.compiled import compile_graph
    >>> from model.network.graphs import dodecahedron
    >>> g, s, t = dodecahedron(0.01)
    >>> net = compile_graph(g, s, t)
    >>> len(network_fault_tree(net, form="paths").gates) - 1      # one gate per route
    780
    >>> len(network_fault_tree(net).gates) - 1                    # the diagram form (780 > auto_paths)
    2597
    """
    if form not in ("auto", "paths", "diagram"):
        raise ValueError(f"form must be 'auto', 'paths' or 'diagram', got {form!r}")
    C = net.n_components
    ds = range(net.n_demands) if demands is None else [int(d) for d in demands]
    table = _GateTable(C)
    tops: list[int] = []
    top_names: list[str] = []
    top_labels: list[str] = []
    weights: list[float] = []
    for d in ds:
        kind = "or"
        inputs: list[int] = sorted(set(net.prereq(d).tolist()))  # in series in front of the source
        never = False
        routes: list[frozenset[int]] | None = []
        use_diagram = form == "diagram"
        if form == "auto":
            try:
                routes = _routes(net, d, auto_paths)
            except FaultTreeError:
                use_diagram = True
        elif form == "paths":
            routes = _routes(net, d, max_paths)
        if use_diagram:
            ev = _diagram_event(net, d, table)
            never = ev is True
            if ev is not True and ev is not False:
                inputs.append(ev)
        else:  # routes None: a route with no failing element
            never = routes == []
            codes = [next(iter(r)) if len(r) == 1 else table.get("or", tuple(sorted(r)), "route")
                     for r in sorted(routes or [], key=lambda x: (len(x), sorted(x)))]
            if len(codes) == 1:
                inputs.append(codes[0])
            elif codes and not inputs:
                inputs, kind = codes, "and"
            elif codes:
                inputs.append(table.get("and", tuple(codes), "routes"))
        if never:
            raise FaultTreeError(f"demand {net.demand_names[d]!r} can never be served; it has no fault tree")
        if not inputs:
            continue  # can never fail
        name = f"unreachable-{d + 1}"
        tops.append(C + len(table.gates))
        table.gates.append(Gate(name, kind, tuple(inputs), label=net.demand_names[d]))
        top_names.append(name)
        top_labels.append(net.demand_names[d])
        weights.append(float(net.demand_weight[d]))
    return FaultTree(
        basic_names=tuple(f"c{i + 1}" for i in range(C)),
        q=net.q,
        gates=tuple(table.gates),
        tops=tuple(tops),
        top_names=tuple(top_names),
        weights=np.array(weights, dtype=np.float64),
        ccf_names=net.ccf_names,
        ccf_q=net.ccf_q,
        ccf_members=tuple(tuple(int(m) for m in net.ccf_member_list(g)) for g in range(net.n_ccf)),
        basic_labels=net.component_names,
        top_labels=tuple(top_labels),
        total_weight=net.total_weight,
    )


# ------------------------------------------------------------------ to the engines
def _sizes(tree: FaultTree) -> list[int]:
    """Arcs of each gate's success sub-network (gates copied into every parent)."""
    B = tree.n_basic
    size = [0] * len(tree.gates)

    def of(c: int) -> int:
        return 1 if c < B else size[c - B]

    for j in tree.topological_gates():
        gt = tree.gates[j]
        s = sum(of(c) for c in gt.inputs)
        if gt.kind == "atleast" and gt.k <= len(gt.inputs):
            s = s * (len(gt.inputs) - gt.k + 1) + len(gt.inputs) * (len(gt.inputs) - gt.k + 1)
        size[j] = s
    return size


def reachability_network(tree: FaultTree, *, max_arcs: int = 2_000_000) -> CompiledNetwork:
    """The success network of ``tree``: each top's source reaches its target iff the top does not occur.

    Components are the basic events (same order and probabilities), common-cause events are the
    tree's; demand ``t`` is top ``t`` with its weight, so every engine's demand-weighted
    unreachability of the result is the tree's weighted top probability.

    Raises
    ------
    FaultTreeError
        When copying shared gates would need more than ``max_arcs`` arcs.

    Examples
    --------
    >>> t = FaultTree(("a", "b", "c"), [0.1, 0.2, 0.3], (Gate("two", "atleast", (0, 1, 2), k=2),),
    ...               (3,), ("two",), [1.0])
    >>> from model.static.exact import brute_force_unreachability
    >>> round(brute_force_unreachability(reachability_network(t)), 12)   # .02 + .03 + .06 - 2 * .006
    0.098
    """
    B = tree.n_basic
    size = _sizes(tree)
    total = sum(1 if t < B else size[t - B] for t in tree.tops)
    if total > max_arcs:
        raise FaultTreeError(f"the fault tree's success network needs {total:,} arcs (limit {max_arcs:,}): "
                             "its shared gates are copied into every parent; use --method exact")
    n_nodes = 0
    src: list[int] = []
    dst: list[int] = []
    comp: list[int] = []

    def node() -> int:
        nonlocal n_nodes
        n_nodes += 1
        return n_nodes - 1

    def build(code: int, u: int, v: int) -> None:
        work = [(code, u, v)]
        while work:
            c, a, b = work.pop()
            if c < B:
                src.append(a)
                dst.append(b)
                comp.append(c)
                continue
            gt = tree.gates[c - B]
            n = len(gt.inputs)
            if gt.kind == "and":
                work.extend((x, a, b) for x in gt.inputs)
            elif gt.kind == "or":
                ends = [a] + [node() for _ in range(n - 1)] + [b]
                work.extend((x, ends[i], ends[i + 1]) for i, x in enumerate(gt.inputs))
            elif gt.k > n:  # can never fail
                src.append(a)
                dst.append(b)
                comp.append(-1)
            else:
                m = n - gt.k + 1  # inputs that must work
                grid: dict[tuple[int, int], int] = {(0, 0): a, (n, m): b}

                def at(i: int, j: int, grid: dict[tuple[int, int], int] = grid) -> int:
                    if (i, j) not in grid:
                        grid[(i, j)] = node()
                    return grid[(i, j)]

                for i, x in enumerate(gt.inputs):
                    for j in range(max(0, m - (n - i)), min(i, m) + 1):
                        if m - j <= n - i - 1:  # skip input i (it may have failed)
                            src.append(at(i, j))
                            dst.append(at(i + 1, j))
                            comp.append(-1)
                        if j < m:  # input i works
                            work.append((x, at(i, j), at(i + 1, j + 1)))

    sources, targets = [], []
    for t in tree.tops:
        s, e = node(), node()
        build(t, s, e)
        sources.append(s)
        targets.append(e)
    tptr, tind = csr_from_lists([[e] for e in targets])
    pptr, pind = csr_from_lists([[] for _ in targets])
    mptr, mind = csr_from_lists([list(m) for m in tree.ccf_members])
    return CompiledNetwork(
        component_names=tree.basic_names,
        q=tree.q,
        node_names=tuple(f"n{i}" for i in range(n_nodes)),
        node_component=np.full(n_nodes, -1, dtype=np.int64),
        arc_src=np.array(src, dtype=np.int64),
        arc_dst=np.array(dst, dtype=np.int64),
        arc_component=np.array(comp, dtype=np.int64),
        demand_names=tree.top_names,
        demand_source=np.array(sources, dtype=np.int64),
        demand_prereq_ptr=pptr,
        demand_prereq=pind,
        demand_target_ptr=tptr,
        demand_targets=tind,
        demand_weight=tree.weights,
        ccf_names=tree.ccf_names,
        ccf_q=tree.ccf_q,
        ccf_member_ptr=mptr,
        ccf_members=mind,
    )
