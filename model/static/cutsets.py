"""Minimal cut sets and the rare-event approximation.

A *cut set* of a demand is a set of basic events — independent component
failures (index ``c``) and common-cause events (index ``C + g``) — whose
occurrence cuts the demand off; it is *minimal* when no proper subset does. They
are read off the frontier decision diagram of :mod:`model.static.exact` by the
Shannon-expansion recursion for monotone functions

``MCS(f) = MCS(f|x up) ∪ {x ∪ m : m ∈ MCS(f|x down), m not a cut of f|x up}``,

truncated at ``max_order``. Common-cause events are added by conditioning: for
every set ``Y`` of at most ``max_order`` events touching the demand, the members
are forced down and the cut sets ``m`` of the restricted function give ``Y ∪ m``;
the union is minimised at the end. Prerequisite components are singleton cuts.

The rare-event approximation is ``Σ P(cut)`` over the minimal cut sets (an upper
bound on the unreachability when the list is complete); the leading term keeps
only the cut sets of the lowest order.

Examples
--------
>>> from model.network.compiled import compile_graph
>>> from model.network.graphs import dodecahedron
>>> g, s, t = dodecahedron(1e-3)
>>> net = compile_graph(g, s, t)
>>> cuts = minimal_cut_sets(net, max_order=3)
>>> len(cuts), sorted(len(c) for c in cuts)
(2, [3, 3])
>>> r = rare_event_approximation(net, max_order=3)
>>> round(r.leading_term / 2e-9, 12), r.leading_order
(1.0, 3)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from model.network.compiled import CompiledNetwork
from model.static.exact import FAIL, SUCCESS, ExactEngine, FrontierDiagram

__all__ = ["RareEventApproximation", "minimal_cut_sets", "minimize", "rare_event_approximation"]

CutSet = frozenset[int]


def minimize(sets: Iterable[CutSet]) -> list[CutSet]:
    """Drop every set that contains another; sorted by order, then members.

    Examples
    --------
    >>> minimize([frozenset({1, 2}), frozenset({1}), frozenset({2, 3})])
    [frozenset({1}), frozenset({2, 3})]
    """
    out: list[CutSet] = []
    for s in sorted(set(sets), key=lambda x: (len(x), sorted(x))):
        if not any(k <= s for k in out):
            out.append(s)
    return out


class _DiagramCuts:
    """Truncated minimal cut sets of the "demand cut" function of one diagram.

    Computed bottom-up over the levels (no recursion), for every node and every
    order budget ``0..max_order``; ``forced`` components are down for sure.
    ``truncated`` is a conservative flag: False guarantees that no minimal cut set
    was dropped by the budget.
    """

    def __init__(self, diagram: FrontierDiagram, forced: frozenset[int], max_order: int) -> None:
        R = max_order
        empty: list[CutSet] = []
        term_fail = [[frozenset()] for _ in range(R + 1)]
        term_ok: list[list[CutSet]] = [empty for _ in range(R + 1)]
        nxt: list[list[list[CutSet]]] = []
        nxt_tr: list[list[bool]] = []
        nxt_cf = np.zeros(0, dtype=bool)
        if diagram.root in (FAIL, SUCCESS):
            self.cuts = (term_fail if diagram.root == FAIL else term_ok)[R]
            self.truncated = False
            return
        no_tr = [False] * (R + 1)
        for comp, down, up in reversed(diagram.node_levels()):
            ext_cf = np.concatenate([nxt_cf, [False, True]])  # index -2 success, -1 fail

            def child(k: int, nxt: list = nxt, nxt_tr: list = nxt_tr) -> tuple[list, list]:
                if k == FAIL:
                    return term_fail, no_tr
                if k == SUCCESS:
                    return term_ok, no_tr
                return nxt[k], nxt_tr[k]

            cur: list[list[list[CutSet]]] = []
            cur_tr: list[list[bool]] = []
            if comp < 0:
                cf = ext_cf[up]
                for u in up.tolist():
                    c, t = child(u)
                    cur.append(c)
                    cur_tr.append(t)
            elif comp in forced:
                cf = ext_cf[down]
                for d in down.tolist():
                    c, t = child(d)
                    cur.append(c)
                    cur_tr.append(t)
            else:
                cf = ext_cf[down] | ext_cf[up]
                for d, u in zip(down.tolist(), up.tolist(), strict=True):
                    cd, td = child(d)
                    cu, tu = child(u)
                    res: list[list[CutSet]] = []
                    tr: list[bool] = []
                    for r in range(R + 1):
                        ru = cu[r]
                        if r >= 1:
                            extra = [m | {comp} for m in cd[r - 1] if not any(c <= m for c in ru)]
                            res.append([*ru, *extra] if extra else ru)
                            tr.append(tu[r] or td[r - 1])
                        else:
                            res.append(ru)
                            tr.append(tu[0] or (not ru and bool(ext_cf[d])))
                    cur.append(res)
                    cur_tr.append(tr)
            nxt, nxt_tr, nxt_cf = cur, cur_tr, cf
        self.cuts = nxt[0][R]
        self.truncated = nxt_tr[0][R]


@dataclass(frozen=True)
class _DemandCuts:
    cuts: list[CutSet]
    truncated: bool


def _demand_cuts(eng: ExactEngine, d: int, max_order: int) -> _DemandCuts:
    net = eng.net
    C = net.n_components
    diagram = eng._solver_of[d]
    prereq = set(net.prereq(d).tolist())
    ccf = eng.demand_ccf[d]
    members = [frozenset(net.ccf_member_list(g).tolist()) for g in range(net.n_ccf)]
    found: list[CutSet] = []
    truncated = False
    for size in range(min(max_order, len(ccf)) + 1):
        for ys in itertools.combinations(ccf, size):
            forced = frozenset().union(*(members[g] for g in ys)) if ys else frozenset()
            y = frozenset(C + g for g in ys)
            if forced & prereq:
                found.append(y)
                continue
            r = max_order - size
            part = [frozenset({p}) for p in prereq if p not in forced] if r >= 1 else []
            dc = _DiagramCuts(diagram, forced, r)
            part.extend(dc.cuts)
            truncated |= dc.truncated or (r == 0 and bool(prereq - forced))
            found.extend(y | m for m in part)
    if len(ccf) > max_order:
        truncated = True
    return _DemandCuts(minimize(found), truncated)


def _engine(net: CompiledNetwork, **limits: object) -> ExactEngine:
    return ExactEngine(net, "bdd", **limits)  # type: ignore[arg-type]


def minimal_cut_sets(
    net: CompiledNetwork, demand: int | None = None, max_order: int = 4, **limits: object
) -> list[CutSet]:
    """Minimal cut sets up to ``max_order`` basic events.

    Parameters
    ----------
    net : CompiledNetwork
    demand : int, optional
        One demand; by default the union over all demands (every set that is a
        minimal cut set of at least one demand).
    max_order : int
        Largest cut set size returned.
    **limits
        Passed to :class:`model.static.exact.ExactEngine` (``max_width``, ``max_nodes``, ...).

    Returns
    -------
    list of frozenset of int
        Component indices ``c`` and common-cause events ``C + g``, sorted by order.

    Raises
    ------
    model.static.exact.ExactTooLarge
        When the decision diagram would be too large.

    Examples
    --------
    >>> import networkx as nx
    >>> from model.network.compiled import compile_graph
    >>> g = nx.Graph(); g.add_edge("s", "a", q=0.1); g.add_edge("a", "t", q=0.1)
    >>> g.add_edge("s", "t", q=0.1)
    >>> net = compile_graph(g, "s", "t")
    >>> [sorted(net.component_names[i] for i in c) for c in minimal_cut_sets(net)]
    [['s-a', 's-t'], ['a-t', 's-t']]
    """
    if max_order < 0:
        raise ValueError("max_order must be >= 0")
    eng = _engine(net, **limits)
    ds = range(net.n_demands) if demand is None else [int(demand)]
    out: set[CutSet] = set()
    for d in ds:
        out.update(_demand_cuts(eng, d, max_order).cuts)
    return sorted(out, key=lambda x: (len(x), sorted(x)))


@dataclass(frozen=True)
class RareEventApproximation:
    """Σ P(cut) over minimal cut sets, demand-weighted.

    Attributes
    ----------
    value : float
        Demand-weighted ``Σ_d w_d Σ_{cut of d} P(cut) / Σ w`` (each demand's sum
        capped at 1). An upper bound on the unreachability when ``complete``.
    leading_term : float
        The same with, per demand, only the cut sets of that demand's lowest order.
    leading_order : int
        Lowest cut set order over the demands with positive weight (-1 if none).
    per_demand : numpy.ndarray
        Σ P(cut) per demand.
    n_cuts : int
        Number of (demand, cut set) pairs summed.
    max_order : int
    complete : bool
        True when no minimal cut set was cut off by ``max_order``.
    """

    value: float
    leading_term: float
    leading_order: int
    per_demand: np.ndarray
    n_cuts: int
    max_order: int
    complete: bool


def rare_event_approximation(
    net: CompiledNetwork, max_order: int = 4, **limits: object
) -> RareEventApproximation:
    """Rare-event approximation of the demand-weighted unreachability from minimal cut sets.

    Examples
    --------
    >>> import networkx as nx
    >>> from model.network.compiled import compile_graph
    >>> g = nx.Graph(); g.add_edge(0, 1, q=1e-3); g.add_edge(1, 2, q=2e-3)
    >>> r = rare_event_approximation(compile_graph(g, 0, 2))
    >>> round(r.value, 12), r.leading_order, r.complete
    (0.003, 1, True)
    """
    eng = _engine(net, **limits)
    p_event = np.concatenate([net.q, net.ccf_q])
    D = net.n_demands
    per = np.zeros(D)
    lead = np.zeros(D)
    orders = np.full(D, -1)
    n_cuts = 0
    complete = True
    for d in range(D):
        dc = _demand_cuts(eng, d, max_order)
        complete &= not dc.truncated
        n_cuts += len(dc.cuts)
        if not dc.cuts:
            continue
        probs = np.array([float(np.prod(p_event[sorted(c)])) for c in dc.cuts])
        sizes = np.array([len(c) for c in dc.cuts])
        per[d] = min(1.0, float(probs.sum()))
        orders[d] = int(sizes.min())
        lead[d] = min(1.0, float(probs[sizes == sizes.min()].sum()))
    w = net.demand_weight
    wsum = float(w.sum())
    val = float((w * per).sum() / wsum) if wsum > 0 else 0.0
    lt = float((w * lead).sum() / wsum) if wsum > 0 else 0.0
    pos = orders[(w > 0) & (orders >= 0)]
    return RareEventApproximation(val, lt, int(pos.min()) if pos.size else -1, per, n_cuts, max_order,
                                  bool(complete))
