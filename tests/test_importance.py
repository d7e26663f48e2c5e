"""Importance measures: a hand-computed series/parallel system, identities, Monte Carlo (CRN)."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import networkx as nx
import numpy as np
import pytest

from model.network.compiled import CompiledNetwork, compile_graph, csr_from_lists
from model.network.graphs import grid
from model.static.exact import ExactTooLarge, exact_unreachability
from model.static.importance import MEASURES, importance_measures


def series_parallel(ccf_q: float | None = None) -> CompiledNetwork:
    """s -a- (series, q1) then two routes a -> t: a-t (q2) and a-b-t (q3, and b-t never fails)."""
    g = nx.Graph()
    g.add_nodes_from(["s", "a", "b", "t"])
    g.add_edge("s", "a", q=0.1)
    g.add_edge("a", "t", q=0.2)
    g.add_edge("a", "b", q=0.3)
    g.add_edge("b", "t", q=0.0)
    net = compile_graph(g, "s", "t")
    if ccf_q is None:
        return net
    kw = {f: getattr(net, f) for f in net.__dataclass_fields__}
    kw["ccf_names"] = ("routes",)
    kw["ccf_q"] = np.array([ccf_q])
    kw["ccf_member_ptr"], kw["ccf_members"] = csr_from_lists([[1, 2]])
    return CompiledNetwork(**kw)


F = Fraction


def _expected(q1, q2, q3, qg):
    """Hand formulas: P(S) and, per event, P(S|e) and P(S|not e)."""

    def U(a, b, c, g):
        return 1 - (1 - a) * (1 - (g + (1 - g) * b * c))

    u = U(q1, q2, q3, qg)
    cond = {
        "s-a": (F(1), U(0, q2, q3, qg)),
        "a-t": (U(q1, 1, q3, qg), U(q1, 0, q3, qg)),
        "a-b": (U(q1, q2, 1, qg), U(q1, q2, 0, qg)),
        "b-t": (U(q1, q2, 1, qg), u),  # q = 0: conditioning on "up" changes nothing
        "routes": (F(1), U(q1, q2, q3, 0)),
    }
    return u, cond


@pytest.mark.parametrize("with_ccf", [False, True])
def test_hand_computed_series_parallel(with_ccf):
    qg = 0.05 if with_ccf else None
    net = series_parallel(qg)
    tab = importance_measures(net, "exact")
    q = {"s-a": F(0.1), "a-t": F(0.2), "a-b": F(0.3), "b-t": F(0), "routes": F(0.05)}
    u, cond = _expected(q["s-a"], q["a-t"], q["a-b"], F(0.05) if with_ccf else F(0))
    assert tab.method == "exact-bdd" and tab.system_se == 0
    assert math.isclose(tab.system, float(u), rel_tol=1e-15)
    assert len(tab.rows) == 4 + with_ccf
    for r in tab.rows:
        ud, uu = cond[r.name]
        qe = q[r.name]
        assert math.isclose(r.p_fail_given_down, float(ud), rel_tol=1e-15)
        assert math.isclose(r.p_fail_given_up, float(uu), rel_tol=1e-15)
        assert math.isclose(r.birnbaum, float(ud - uu), rel_tol=1e-12)
        assert math.isclose(r.criticality, float(qe * (ud - uu) / u), rel_tol=1e-12, abs_tol=0)
        assert math.isclose(r.fussell_vesely, float(qe * ud / u), rel_tol=1e-12, abs_tol=0)
        assert math.isclose(r.raw, float(ud / u), rel_tol=1e-12)
        assert math.isclose(r.rrw, float(u / uu), rel_tol=1e-12)
    if with_ccf:
        assert tab.row("routes").kind == "common-cause" and tab.row("routes").index == 4
    # numbers a reader can check by hand (no common cause): U = 1 - 0.9 * (1 - 0.2 * 0.3) = 0.154
    if not with_ccf:
        r = tab.row("s-a")
        assert (round(tab.system, 12), round(r.birnbaum, 12), round(r.rrw, 9)) == (0.154, 0.94, 2.566666667)
        assert tab.row("b-t").criticality == 0 and tab.row("b-t").rrw == 1


def test_ranking_and_exports():
    tab = importance_measures(series_parallel(0.05), "exact")
    assert [r.name for r in tab.ranked("birnbaum")][:2] == ["s-a", "routes"]
    assert [r.name for r in tab.ranked("fussell_vesely", top=1)] == ["s-a"]
    arrays = tab.to_arrays()
    assert set(MEASURES) <= set(arrays) and arrays["name"].tolist() == [r.name for r in tab.rows]
    assert arrays["birnbaum"].dtype == np.float64
    json.dumps(tab.to_records())
    with pytest.raises(ValueError, match="unknown measure"):
        tab.ranked("nonsense")
    with pytest.raises(KeyError):
        tab.row("nope")


def test_total_probability_identity_and_coherence_several_demands():
    g = nx.DiGraph()
    g.add_node("h", q=0.05)
    arcs = [("c1", "h", 0.01), ("c2", "h", 0.02), ("h", "r1", 0.1), ("h", "r2", 0.2), ("c2", "r2", 0.3)]
    for u, v, q in arcs:
        g.add_edge(u, v, q=q)
    net = compile_graph(g, demands=[("c1", ["r1", "r2"], 5.0), ("c2", ["r2"], 1.0), ("c1", ["r1"], 2.0)])
    tab = importance_measures(net)
    assert math.isclose(tab.system, exact_unreachability(net).value, rel_tol=1e-15)
    for r in tab.rows:
        # U is linear in each basic event's probability
        total = r.q * r.p_fail_given_down + (1 - r.q) * r.p_fail_given_up
        assert math.isclose(total, tab.system, rel_tol=1e-12)
        assert r.p_fail_given_down >= r.p_fail_given_up
    assert tab.row("h").birnbaum > tab.row("c1-h").birnbaum


def test_degenerate_system_never_fails():
    net = compile_graph(nx.path_graph(3), 0, 2, default_edge_q=0.0)
    tab = importance_measures(net, "exact")
    assert tab.system == 0
    r = tab.rows[0]
    assert r.birnbaum == 1 and math.isnan(r.criticality) and math.isnan(r.raw) and math.isnan(r.rrw)
    json.dumps(tab.to_records())


def test_monte_carlo_common_random_numbers_agree_with_exact():
    net = series_parallel(0.05)
    ex = importance_measures(net, "exact")
    mc = importance_measures(net, "mc", samples=40_000, seed=11, chunk_size=10_000)
    assert mc.method == "crude-mc-crn" and mc.samples == 40_000 and mc.seed == 11
    assert abs(mc.system - ex.system) < 4 * mc.system_se
    for e, m in zip(ex.rows, mc.rows, strict=True):
        assert e.name == m.name
        for val, se, ref in ((m.p_fail_given_down, m.se_given_down, e.p_fail_given_down),
                             (m.p_fail_given_up, m.se_given_up, e.p_fail_given_up),
                             (m.birnbaum, m.se_birnbaum, e.birnbaum)):
            assert abs(val - ref) <= 4 * se + 1e-12, (e.name, val, ref, se)
    # the paired (CRN) Birnbaum estimate is tighter than two independent estimates would be
    r = mc.row("a-t")
    assert r.se_birnbaum < math.hypot(r.se_given_down, r.se_given_up)
    again = importance_measures(net, "mc", samples=40_000, seed=11, chunk_size=10_000)
    assert again.rows == mc.rows


def test_auto_falls_back_to_monte_carlo_only_when_too_large():
    net = series_parallel()
    assert importance_measures(net).method == "exact-bdd"
    tab = importance_measures(net, "auto", max_width=1, max_calls=0, samples=2_000, seed=3)
    assert tab.method == "crude-mc-crn"
    with pytest.raises(ExactTooLarge, match="use --method mc or rare"):
        importance_measures(net, "bdd", max_width=1)
    with pytest.raises(ValueError, match="unknown method"):
        importance_measures(net, "magic")


def test_grid_symmetry():
    g, s, t = grid(3, 0.1)
    tab = importance_measures(compile_graph(g, s, t), "exact")
    b = {r.name: r.birnbaum for r in tab.rows}
    # the two edges at the source are mirror images; so are the two at the target
    assert b["0-1"] == b["0-3"] and b["5-8"] == b["7-8"]
    assert b["0-1"] > b["4-5"]
