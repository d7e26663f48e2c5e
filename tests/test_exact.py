"""Exact engine: frontier BDD vs factoring vs brute force, exactness, limits, cut sets."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from model.network.compiled import CompiledNetwork, compile_graph, csr_from_lists
from model.network.graphs import complete, dodecahedron, grid, parallel, series
from model.static.cutsets import minimal_cut_sets, minimize, rare_event_approximation
from model.static.exact import (
    ExactEngine,
    ExactTooLarge,
    FrontierDiagram,
    brute_force_unreachability,
    demand_problem,
    demand_unreachability,
    exact_unreachability,
)

QS = st.sampled_from([0.0, 1e-9, 0.1, 0.3, 0.5, 0.9, 1.0])
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def with_extras(
    net: CompiledNetwork, prereq: list[list[int]], ccf: list[tuple[list[int], float]],
    merges: list[tuple[int, int]] = (),
):
    """The same network with demand prerequisites, common-cause events, and components
    ``j`` merged into ``i`` (one component on several nodes and arcs) for each ``(i, j)``."""
    kw = {f: getattr(net, f) for f in net.__dataclass_fields__}
    ac, nc = net.arc_component.copy(), net.node_component.copy()
    for i, j in merges:
        ac[ac == j] = i
        nc[nc == j] = i
    kw["arc_component"], kw["node_component"] = ac, nc
    kw["demand_prereq_ptr"], kw["demand_prereq"] = csr_from_lists(prereq)
    kw["ccf_names"] = tuple(f"ccf{i}" for i in range(len(ccf)))
    kw["ccf_q"] = np.array([q for _m, q in ccf], dtype=float)
    kw["ccf_member_ptr"], kw["ccf_members"] = csr_from_lists([m for m, _q in ccf])
    return CompiledNetwork(**kw)


@st.composite
def graphs_and_demands(draw, max_nodes: int = 6, max_edges: int = 10):
    n = draw(st.integers(2, max_nodes))
    directed = draw(st.booleans())
    g = nx.DiGraph() if directed else nx.Graph()
    g.add_nodes_from(range(n))
    node = st.integers(0, n - 1)
    for u, v, q in draw(st.lists(st.tuples(node, node, QS), min_size=1, max_size=max_edges)):
        if u != v:
            g.add_edge(u, v, q=q)
    for v in range(n):
        nq = draw(st.one_of(st.none(), st.sampled_from([0.1, 0.5, 1.0])))
        if nq is not None:
            g.nodes[v]["q"] = nq
    demands = draw(st.lists(
        st.tuples(node, st.lists(node, min_size=1, max_size=2, unique=True), st.integers(1, 5)),
        min_size=1, max_size=3,
    ))
    return g, [(s, ts, float(w)) for s, ts, w in demands]


@st.composite
def networks(draw, max_events: int = 16):
    """Random small networks: node and edge failures, several demands with alternative
    targets, prerequisites, common-cause events and components shared by several elements."""
    g, demands = draw(graphs_and_demands())
    net = compile_graph(g, demands=demands)
    C = net.n_components
    comp = st.integers(0, max(C - 1, 0))
    prereq = [draw(st.lists(comp, max_size=1 if C else 0, unique=True)) for _ in demands]
    ccf = []
    if C >= 2:
        for _ in range(draw(st.integers(0, 2))):
            members = draw(st.lists(comp, min_size=2, max_size=3, unique=True))
            ccf.append((members, draw(st.sampled_from([0.05, 0.3, 1.0]))))
    merges = draw(st.lists(st.tuples(comp, comp), max_size=2)) if C >= 2 else []
    assume(C + len(ccf) <= max_events)
    return with_extras(net, prereq, ccf, [(i, j) for i, j in merges if i != j])


def _values(net: CompiledNetwork, method: str) -> list[Fraction]:
    v = ExactEngine(net, method).demand_values()
    return [v[d] for d in range(net.n_demands)]


# ----------------------------------------------------------------------------- cross-checks
@SETTINGS
@given(networks())
def test_bdd_factoring_and_brute_force_agree(net):
    bdd = _values(net, "bdd")
    fac = _values(net, "factoring")
    assert bdd == fac  # both exact rationals: identical, not just close
    bf = brute_force_unreachability(net, per_demand=True)
    for exact, brute in zip(bdd, bf, strict=True):
        assert math.isclose(float(exact), brute, rel_tol=1e-12, abs_tol=0.0), (float(exact), brute)
    weighted = ExactEngine(net, "bdd").unreachability()
    assert math.isclose(float(weighted), brute_force_unreachability(net), rel_tol=1e-12, abs_tol=0.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_brute_force_up_to_twenty_components(seed):
    rng = np.random.default_rng(seed)
    g = nx.gnm_random_graph(9, 18, seed=seed)
    for u, v in g.edges:
        g.edges[u, v]["q"] = float(rng.choice([0.05, 0.2, 0.5]))
    g.nodes[4]["q"] = 0.1
    demands = [(0, [8], 2.0), (1, [7, 6], 1.0)]
    net = with_extras(compile_graph(g, demands=demands), [[3], []], [([0, 5], 0.02)])
    assert net.n_components + net.n_ccf == 20
    bf = brute_force_unreachability(net, per_demand=True)
    for method in ("bdd", "factoring"):
        got = np.array([float(x) for x in _values(net, method)])
        np.testing.assert_allclose(got, bf, rtol=1e-12, atol=0)


@SETTINGS
@given(networks())
def test_q0_and_q1_are_exact(net):
    C, G = net.n_components, net.n_ccf
    cases = (
        (0.0, 0.0, np.zeros(C + G, bool)),
        (1.0, 0.0, np.r_[np.ones(C, bool), np.zeros(G, bool)]),
        (0.0, 1.0, np.r_[np.zeros(C, bool), np.ones(G, bool)]),
    )
    for q, cq, failed in cases:
        m = net.with_q(np.full(C, q), np.full(G, cq))
        expect = m.unreachable_demands(m.expand_failures(failed))
        for method in ("bdd", "factoring"):
            got = _values(m, method)
            assert got == [Fraction(int(x)) for x in expect]


@SETTINGS
@given(graphs_and_demands(), st.data())
def test_adding_a_redundant_link_never_raises_unreachability(gd, data):
    g, demands = gd
    n = g.number_of_nodes()
    u = data.draw(st.integers(0, n - 1))
    v = data.draw(st.integers(0, n - 1).filter(lambda x: x != u))
    assume(not g.has_edge(u, v))
    before = _values(compile_graph(g, demands=demands), "bdd")
    h = g.copy()
    h.add_edge(u, v, q=data.draw(QS))
    after = _values(compile_graph(h, demands=demands), "bdd")
    assert all(a <= b for a, b in zip(after, before, strict=True))


# ----------------------------------------------------------------------------- benchmark graphs
def test_dodecahedron_leading_term_and_no_cancellation():
    for q, rel in ((1e-6, 1e-3), (1e-9, 1e-6)):
        g, s, t = dodecahedron(q)
        e = exact_unreachability(compile_graph(g, s, t))
        assert abs(e.value / (2 * q**3) - 1) < rel
    # the next term is 6 q^4: U / (2 q^3) - 1 = 3 q + O(q^2) is resolved even at q = 1e-9,
    # which floating-point 1 - R could not do below q ~ 1e-4
    assert abs((e.value / (2 * q**3) - 1) / (3 * q) - 1) < 1e-3


def test_dodecahedron_bdd_equals_factoring_exactly():
    for q in (0.1, 1e-3):
        g, s, t = dodecahedron(q)
        net = compile_graph(g, s, t)
        assert ExactEngine(net, "bdd").unreachability() == ExactEngine(net, "factoring").unreachability()


def test_series_and_parallel_dodecahedra_exact_identities():
    g, s, t = dodecahedron(0.1)
    u = ExactEngine(compile_graph(g, s, t)).unreachability()
    gs, ss, ts = series([dodecahedron(0.1)] * 3)
    gp, sp, tp = parallel([dodecahedron(0.1)] * 3)
    assert ExactEngine(compile_graph(gs, ss, ts)).unreachability() == 1 - (1 - u) ** 3
    assert ExactEngine(compile_graph(gp, sp, tp)).unreachability() == u**3
    assert ExactEngine(compile_graph(gs, ss, ts), "factoring").unreachability() == 1 - (1 - u) ** 3


def test_grid_and_complete_graph_methods_agree():
    for g, s, t in (grid(4, 0.2), complete(6, 0.4)):
        net = compile_graph(g, s, t)
        assert ExactEngine(net, "bdd").unreachability() == ExactEngine(net, "factoring").unreachability()


def test_scram_two_trains():
    # SCRAM's "TwoTrains": two trains in parallel, each a valve and a pump in series; the top
    # event is "both trains fail". Reading p as the failure probability of each basic event
    # reproduces SCRAM's 0.7225: P(train fails) = 1 - (1 - 0.5)(1 - 0.7) = 0.85, and 0.85^2.
    g = nx.DiGraph()
    for i in (1, 2):
        g.add_node(f"valve{i}", q=0.5)
        g.add_node(f"pump{i}", q=0.7)
        g.add_edge("in", f"valve{i}", q=0.0)
        g.add_edge(f"valve{i}", f"pump{i}", q=0.0)
        g.add_edge(f"pump{i}", "out", q=0.0)
    net = compile_graph(g, "in", "out")
    for method in ("bdd", "factoring"):
        e = exact_unreachability(net, method=method)
        assert math.isclose(e.value, 0.7225, rel_tol=1e-15)
        qv, qp = Fraction(0.5), Fraction(0.7)  # 0.7 as the float it is
        assert Fraction(e.details["fraction"]) == (1 - (1 - qv) * (1 - qp)) ** 2


def test_common_cause_and_prerequisite_by_hand():
    g = nx.MultiGraph()
    g.add_edge("a", "b", q=0.1)
    g.add_edge("a", "b", q=0.1)
    g.add_edge("b", "c", q=0.2)
    net = compile_graph(g, demands=[("a", ["b"], 1.0), ("a", ["c"], 3.0)])
    net = with_extras(net, [[], [2]], [([0, 1], 0.01)])
    # demand 0: both parallel links down, independently or by the common cause
    u0 = Fraction(0.01) + (1 - Fraction(0.01)) * Fraction(0.1) ** 2
    # demand 1: link b-c is a prerequisite in series with the same pair
    u1 = 1 - (1 - Fraction(0.2)) * (1 - u0)
    for method in ("bdd", "factoring"):
        eng = ExactEngine(net, method)
        assert eng.demand_values() == {0: u0, 1: u1}
        assert eng.unreachability() == (u0 + 3 * u1) / 4
    np.testing.assert_allclose(demand_unreachability(net), [float(u0), float(u1)], rtol=1e-15)


def test_estimate_fields():
    g, s, t = dodecahedron(0.1)
    net = compile_graph(g, s, t)
    e = exact_unreachability(net, method="bdd")
    assert e.method == "exact-bdd" and e.interval == "exact"
    assert e.ci_low == e.ci_high == e.value and e.std_error == 0 and e.samples == 0 and e.seed is None
    assert float(Fraction(e.details["fraction"])) == e.value
    assert e.details["per_demand"] == [e.value]
    assert e.details["max_frontier"] >= 3 and e.details["diagram_nodes"] > 0
    assert e.to_dict()["estimate"] == e.value
    f = exact_unreachability(net, method="factoring")
    assert f.method == "exact-factoring" and f.value == e.value


def test_unreachable_and_trivial_demands():
    g = nx.DiGraph()
    g.add_edge("a", "b", q=0.3)
    g.add_node("c")
    g.add_node("d", q=0.25)
    net = compile_graph(g, demands=[("b", ["a"], 1.0), ("a", ["a"], 1.0), ("d", ["d", "c"], 1.0),
                                    ("a", ["c", "b"], 1.0)])
    for method in ("bdd", "factoring"):
        assert _values(net, method) == [1, 0, Fraction(0.25), Fraction(0.3)]


# ----------------------------------------------------------------------------- limits
def test_too_large_names_the_method_to_use():
    g, s, t = grid(60, 0.01)
    net = compile_graph(g, s, t)
    with pytest.raises(ExactTooLarge, match="use --method mc or rare"):
        exact_unreachability(net)
    with pytest.raises(ExactTooLarge, match=r"frontier is \d+ nodes wide"):
        exact_unreachability(net, method="bdd")
    g, s, t = grid(5, 0.1)
    small = compile_graph(g, s, t)
    with pytest.raises(ExactTooLarge, match=r"exact-factoring: more than 20 factoring steps"):
        exact_unreachability(small, method="factoring", max_calls=20)
    with pytest.raises(ExactTooLarge, match=r"frontier is 6 nodes wide .*limit 5"):
        exact_unreachability(small, method="bdd", max_width=5)
    with pytest.raises(ExactTooLarge, match=r"frontier states at one level .* max_memory=0 MiB"):
        exact_unreachability(small, method="bdd", max_memory=100)
    with pytest.raises(ExactTooLarge, match="max_components=10"):
        exact_unreachability(small, max_components=10)
    assert issubclass(ExactTooLarge, ValueError)
    with pytest.raises(ExactTooLarge, match="brute force"):
        brute_force_unreachability(small)


def test_bad_method_rejected():
    g, s, t = complete(3, 0.1)
    with pytest.raises(ValueError, match="method must be"):
        exact_unreachability(compile_graph(g, s, t), method="mc")


# ----------------------------------------------------------------------------- cut sets
def _brute_cuts(net: CompiledNetwork, d: int, max_order: int) -> list[frozenset[int]]:
    n = net.n_components + net.n_ccf
    found: list[frozenset[int]] = []
    for r in range(max_order + 1):
        for S in itertools.combinations(range(n), r):
            fs = frozenset(S)
            if any(c <= fs for c in found):
                continue
            mask = np.zeros(n, dtype=bool)
            mask[list(S)] = True
            if net.unreachable_demands(net.expand_failures(mask))[d]:
                found.append(fs)
    return minimize(found)


@SETTINGS
@given(networks(max_events=10), st.integers(1, 3))
def test_minimal_cut_sets_match_enumeration(net, order):
    for d in range(net.n_demands):
        assert minimal_cut_sets(net, demand=d, max_order=order) == _brute_cuts(net, d, order)
    union = set().union(*(_brute_cuts(net, d, order) for d in range(net.n_demands)))
    assert set(minimal_cut_sets(net, max_order=order)) == union


@SETTINGS
@given(networks(max_events=10))
def test_rare_event_approximation_bounds_when_complete(net):
    r = rare_event_approximation(net, max_order=net.n_components + net.n_ccf)
    assert r.complete
    exact = demand_unreachability(net)
    assert np.all(r.per_demand >= exact * (1 - 1e-12))
    assert r.leading_term <= r.value * (1 + 1e-12)


def test_dodecahedron_cut_sets_are_the_terminal_stars():
    g, s, t = dodecahedron(1e-6)
    net = compile_graph(g, s, t)
    cuts = minimal_cut_sets(net, max_order=3)
    name = {frozenset(n.split("-")): i for i, n in enumerate(net.component_names)}
    stars = [frozenset(name[frozenset((str(u), str(v)))] for u, v in g.edges(x)) for x in (s, t)]
    assert sorted(cuts, key=sorted) == sorted(stars, key=sorted)
    r = rare_event_approximation(net, max_order=4)
    assert r.leading_order == 3 and not r.complete
    assert math.isclose(r.leading_term, 2e-18, rel_tol=1e-12)
    assert abs(r.leading_term / exact_unreachability(net).value - 1) < 1e-5


# ----------------------------------------------------------------------------- diagram paths, arithmetic
@pytest.mark.parametrize("make", [lambda: dodecahedron(0.01), lambda: grid(5, 0.1), lambda: complete(6, 0.3)])
def test_partition_states_equal_the_general_states(make, monkeypatch):
    g, s, t = make()
    net = compile_graph(g, s, t)
    fast = ExactEngine(net, "bdd")
    assert all(d._undirected() for d in fast._solvers)
    monkeypatch.setattr(FrontierDiagram, "_undirected", lambda self: False)
    general = ExactEngine(net, "bdd")
    assert fast.unreachability() == general.unreachability()
    # partitions merge what directed reachability keeps apart, never the reverse
    assert fast.diagram_nodes <= general.diagram_nodes


@pytest.mark.parametrize("make", [lambda: dodecahedron(0.1), lambda: grid(5, 0.1), lambda: complete(6, 0.3)])
def test_one_word_partition_states_equal_the_wide_ones(make, monkeypatch):
    # frontiers up to 13 slots keep a state in one 64-bit key, wider ones in several words:
    # forced onto the wide builder, small graphs give the same diagram and the same value
    g, s, t = make()
    net = compile_graph(g, s, t)
    fast = ExactEngine(net, "bdd")
    monkeypatch.setattr(FrontierDiagram, "_run_partition", FrontierDiagram._run_partition_wide)
    wide = ExactEngine(net, "bdd")
    assert fast.unreachability() == wide.unreachability()
    assert fast.diagram_nodes == wide.diagram_nodes


@SETTINGS
@given(networks())
def test_partition_and_general_states_agree_on_random_networks(net):
    exact = _values(net, "bdd")
    saved = FrontierDiagram._undirected
    FrontierDiagram._undirected = lambda self: False  # type: ignore[method-assign]
    try:
        general = _values(net, "bdd")
    finally:
        FrontierDiagram._undirected = saved  # type: ignore[method-assign]
    assert exact == general


@pytest.mark.parametrize("q", [1e-6, 0.01, 0.3])
def test_float_evaluation_within_its_rounding_bound(q):
    for g, s, t in (dodecahedron(q), grid(6, q)):
        net = compile_graph(g, s, t)
        exact = exact_unreachability(net, method="bdd", arithmetic="exact")
        fl = exact_unreachability(net, method="bdd", arithmetic="float")
        auto = exact_unreachability(net, method="bdd", max_exact_work=0)
        assert exact.interval == "exact" and exact.details["arithmetic"] == "exact-rational"
        assert fl.interval == auto.interval == "rounding-bound" and fl.value == auto.value
        bound = fl.details["relative_rounding_bound"]
        assert 0 < bound < 1e-12
        u = Fraction(exact.details["fraction"])
        assert abs(Fraction(fl.value) - u) <= bound * u
        assert fl.ci_low <= float(u) <= fl.ci_high
    # the 1e-6 dodecahedron: 2 q^3 + ..., no cancellation in float either
    g, s, t = dodecahedron(1e-6)
    assert math.isclose(exact_unreachability(compile_graph(g, s, t), arithmetic="float").value,
                        2.000006e-18, rel_tol=1e-6)


@pytest.mark.parametrize("make", [lambda q: dodecahedron(q), lambda q: grid(7, q)])
def test_uniform_q_polynomial_equals_the_rational_evaluation(make):
    # every random component failing with one p: the diagram is summed as the unreliability
    # polynomial (64-bit counts, Python integers above 66 levels: the 7x7 grid has 84); some
    # components forced up or down, as importance measures and prerequisites do
    for q in (0.01, 0.3):
        g, s, t = make(q)
        net = compile_graph(g, s, t)
        d = FrontierDiagram(demand_problem(net, int(net.demand_source[0]), net.targets(0).tolist()))
        qs = {c: Fraction(q) for c in d.components}
        qs[d.components[3]] = Fraction(0)
        qs[d.components[-5]] = Fraction(1)
        u = d.unreachability(qs)
        assert u == d._rational(qs)
        assert d.unreachability({c: Fraction(q) for c in d.components}) == d._rational(
            {c: Fraction(q) for c in d.components})
        assert 0 < u < 1


def test_bad_arithmetic_and_width_rejected():
    g, s, t = grid(3, 0.1)
    net = compile_graph(g, s, t)
    with pytest.raises(ValueError, match="arithmetic must be"):
        ExactEngine(net, arithmetic="decimal")
    with pytest.raises(ValueError, match=r"max_width must lie in 1\.\.61"):
        ExactEngine(net, max_width=64)
