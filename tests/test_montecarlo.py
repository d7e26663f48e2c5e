"""Crude Monte Carlo: agreement with exact values, CI coverage, determinism, exact chunk sums."""

from __future__ import annotations

import itertools
import json
import math
import pickle

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.network.bits import unpack_bits
from model.network.compiled import CompiledNetwork, compile_graph, csr_from_lists
from model.network.graphs import dodecahedron
from model.network.reachability import kernel_for
from model.static.montecarlo import (
    SHARE_BITS,
    Tally,
    chunk_plan,
    chunk_rng,
    crude_monte_carlo,
    make_result,
    run_chunk,
)
from model.static.sampling import sample_network_failures

# ----------------------------------------------------------------- exact by brute force
_EXACT: dict[tuple[str, float], tuple[float, np.ndarray]] = {}


def brute_force_of(make, q: float) -> tuple[float, np.ndarray]:
    key = (make.__name__, q)
    if key not in _EXACT:
        _EXACT[key] = brute_force(make(q))
    return _EXACT[key]


def brute_force(net: CompiledNetwork) -> tuple[float, np.ndarray]:
    """Exact demand-weighted unreachable probability and per-demand probabilities, by enumeration
    of every independent-failure and common-cause state with the reference BFS."""
    c, g = net.n_components, net.n_ccf
    probs = np.concatenate([net.q, net.ccf_q])
    w = net.demand_weight / net.total_weight
    overall, per = 0.0, np.zeros(net.n_demands)
    for state in itertools.product((False, True), repeat=c + g):
        s = np.array(state, dtype=bool)
        p = float(np.prod(np.where(s, probs, 1 - probs)))
        if p == 0.0:
            continue
        down = s[:c].copy()
        for e in np.flatnonzero(s[c:]):
            down[net.ccf_member_list(int(e))] = True
        mask = net.unreachable_demands(down)
        per += p * mask
        overall += p * float(w @ mask)
    return overall, per


def bridge(q: float) -> CompiledNetwork:
    g = nx.Graph()
    g.add_edges_from([("s", "a"), ("s", "b"), ("a", "b"), ("a", "t"), ("b", "t")], q=q)
    return compile_graph(g, "s", "t")


def series_parallel(q: float) -> CompiledNetwork:
    g = nx.Graph()
    g.add_edge("s", "a", q=q)
    g.add_edge("a", "t", q=q)
    g.add_edge("s", "t", q=2 * q)
    return compile_graph(g, "s", "t")


def call_network(scale_q: float = 1.0) -> CompiledNetwork:
    """A small call network: two originating networks, two platforms, rooms with buddies,
    caller groups' access links as prerequisites and two common-cause events."""
    comp = ["on0", "on1", "p0", "p1", "r0", "r1", "r2", "l0", "l1", "acc0", "acc1"]
    q = np.array([0.05, 0.02, 0.1, 0.15, 0.1, 0.08, 0.12, 0.04, 0.06, 0.03, 0.07]) * scale_q
    ix = {n: i for i, n in enumerate(comp)}
    nodes = ["on0", "on1", "p0", "p1", "r0", "r1", "r2"]
    node_comp = np.array([ix[n] for n in nodes])
    arcs = [("on0", "p0", "l0"), ("on0", "p1", None), ("on1", "p1", "l1"), ("on1", "p0", None),
            ("p0", "r0", None), ("p0", "r1", None), ("p1", "r1", None), ("p1", "r2", None)]
    nix = {n: i for i, n in enumerate(nodes)}
    demands = [("on0", ["r0", "r1"], ["acc0"], 5.0), ("on0", ["r2"], ["acc0"], 1.0),
               ("on1", ["r1"], ["acc1"], 3.0), ("on1", ["r2", "r0"], [], 0.5)]
    tptr, tind = csr_from_lists([[nix[t] for t in ts] for _s, ts, _p, _w in demands])
    pptr, pind = csr_from_lists([[ix[p] for p in ps] for _s, _t, ps, _w in demands])
    mptr, mind = csr_from_lists([[ix["p0"], ix["p1"]], [ix["r0"], ix["r1"], ix["r2"]]])
    return CompiledNetwork(
        component_names=tuple(comp), q=q, node_names=tuple(nodes), node_component=node_comp,
        arc_src=np.array([nix[a] for a, _b, _c in arcs]), arc_dst=np.array([nix[b] for _a, b, _c in arcs]),
        arc_component=np.array([ix[c] if c else -1 for _a, _b, c in arcs]),
        demand_names=("d0", "d1", "d2", "d3"), demand_source=np.array([nix[s] for s, *_ in demands]),
        demand_prereq_ptr=pptr, demand_prereq=pind, demand_target_ptr=tptr, demand_targets=tind,
        demand_weight=np.array([w for *_, w in demands]),
        ccf_names=("platforms", "rooms"), ccf_q=np.array([0.02, 0.01]) * scale_q,
        ccf_member_ptr=mptr, ccf_members=mind,
    )


def _z(value: float, exact: float, se: float) -> float:
    return (value - exact) / se


# ----------------------------------------------------------------- agreement with exact
@pytest.mark.parametrize("make,q", [(series_parallel, 0.05), (series_parallel, 0.3), (bridge, 0.05),
                                    (bridge, 0.2), (call_network, 1.0), (call_network, 0.2)])
def test_agrees_with_brute_force_within_ci(make, q: float) -> None:
    net = make(q)
    exact, per = brute_force_of(make, q)
    res = crude_monte_carlo(net, 300_000, seed=42, chunk_size=1 << 15)
    o = res.overall
    assert o.std_error > 0 and o.std_error < 0.1 * exact  # a real test: the CI is narrow
    assert abs(_z(o.value, exact, o.std_error)) < 4
    n = res.samples
    for d in range(net.n_demands):
        se = math.sqrt(per[d] * (1 - per[d]) / n)
        assert abs(_z(res.per_demand.value[d], per[d], se)) < 4, d
        assert res.per_demand.ci_low[d] <= res.per_demand.value[d] <= res.per_demand.ci_high[d]
    calls = res.expected_unreachable_calls_per_year
    assert calls.value == pytest.approx(o.value * net.total_weight, rel=1e-12)


def test_dodecahedron_against_exact_solver() -> None:
    exact_mod = pytest.importorskip("model.static.exact")
    for q in (0.1, 0.2):
        g, s, t = dodecahedron(q)
        net = compile_graph(g, s, t)
        exact = exact_mod.exact_unreachability(net).value
        res = crude_monte_carlo(net, 400_000, seed=int(q * 100))
        assert abs(_z(res.overall.value, exact, res.overall.std_error)) < 4, q


def test_ci_coverage_over_200_repetitions() -> None:
    net = bridge(0.1)
    exact, _ = brute_force_of(bridge, 0.1)
    covered = 0
    for rep in range(200):
        o = crude_monte_carlo(net, 5000, seed=1000 + rep, chunk_size=2048).overall
        covered += o.ci_low <= exact <= o.ci_high
    assert 0.92 * 200 <= covered <= 0.98 * 200


# ----------------------------------------------------------------- exact edge cases
def test_q_zero_gives_zero_with_one_sided_upper_bound() -> None:
    net = call_network(0.0)
    res = crude_monte_carlo(net, 10_000, seed=1)
    o = res.overall
    assert o.value == 0.0 and o.ci_low == 0.0 and o.interval == "one-sided-upper"
    assert o.ci_high == pytest.approx(1 - 0.05 ** (1 / 10_000))
    assert res.tally.any_unreachable == 0 and res.tally.failed_trials == 0
    assert np.all(res.per_demand.value == 0) and np.all(res.per_demand.ci_high > 0)


def test_demand_that_is_never_reachable_counts_in_every_trial() -> None:
    g = nx.DiGraph([("s", "t")])
    net = compile_graph(g, demands=[("s", ["t"], 1.0), ("t", ["s"], 3.0)], default_edge_q=0.0)
    res = crude_monte_carlo(net, 1000, seed=0)
    assert res.overall.value == 0.75
    assert res.tally.demand_unreachable.tolist() == [0, 1000]


def test_unreachable_demand_of_zero_weight_does_not_make_a_zero_width_interval() -> None:
    g = nx.DiGraph([("s", "t")])
    net = compile_graph(g, demands=[("s", ["t"], 1.0), ("t", ["s"], 0.0)], default_edge_q=0.0)
    res = crude_monte_carlo(net, 1000, seed=0)
    assert res.tally.any_unreachable == 1000 and res.tally.share_nonzero == 0
    assert res.overall.value == 0.0 and res.overall.interval == "one-sided-upper"
    assert res.overall.ci_high > 0
    for e in (res.by_group({"zero": [1]})["zero"], res.by_group({"both": [0, 1]})["both"]):
        assert e.value == 0.0 and e.interval == "one-sided-upper"
    tallied = crude_monte_carlo(net, 1000, seed=0, groups={"zero": [1], "both": [0, 1]}).by_group()
    assert all(e.interval == "one-sided-upper" for e in tallied.values())


# ----------------------------------------------------------------- determinism and chunking
def test_chunk_tallies_add_exactly_in_any_order_and_grouping() -> None:
    net = call_network()
    groups = {"on0": [0, 1], "on1": [2, 3], "all": [0, 1, 2, 3]}
    plan = chunk_plan(70_000, 8192)
    assert len(plan) == 9 and sum(plan) == 70_000
    parts = [run_chunk(net, i, n, seed=5, groups=groups) for i, n in enumerate(plan)]
    shipped = [pickle.loads(pickle.dumps(t)) for t in parts]  # as a worker would return them
    forward = sum(parts[1:], parts[0])
    backward = sum(shipped[-2::-1], shipped[-1])
    odd = sum(parts[1::2], Tally.zero(net.n_demands, tuple(groups)))
    even = sum(parts[0::2], Tally.zero(net.n_demands, tuple(groups)))
    assert forward == backward == even + odd == odd + even
    serial = crude_monte_carlo(net, 70_000, seed=5, chunk_size=8192, groups=groups)
    assert serial.tally == forward
    assert Tally.from_dict(json.loads(json.dumps(forward.to_dict()))) == forward
    # a chunk does not depend on which other chunks ran before it in the process
    assert run_chunk(net, 4, plan[4], seed=5, groups=groups) == parts[4]


def test_chunk_rng_is_the_spawned_child() -> None:
    children = np.random.SeedSequence(77).spawn(6)
    for i in (0, 5):
        assert chunk_rng(77, i).integers(0, 2**62) == np.random.default_rng(children[i]).integers(0, 2**62)


@pytest.mark.parametrize("scale", [1.0, 0.05])
def test_deduplicated_and_full_evaluation_give_the_same_tally(scale: float) -> None:
    net = call_network(scale)
    groups = {"a": [0, 2], "b": [1, 3, 0]}
    for i in range(3):
        fast = run_chunk(net, i, 9000, seed=3, groups=groups, dedupe=True)
        full = run_chunk(net, i, 9000, seed=3, groups=groups, dedupe=False)
        assert fast == full
        assert fast.evaluated_sets < full.evaluated_sets


def test_chunk_plan_validates() -> None:
    assert chunk_plan(10, 64) == [10]
    with pytest.raises(ValueError):
        chunk_plan(0, 64)
    with pytest.raises(ValueError):
        chunk_plan(10, 0)


# ----------------------------------------------------------------- groups
def test_groups_exact_and_conservative() -> None:
    net = call_network()
    _, per = brute_force_of(call_network, 1.0)
    groups = {"on0": [0, 1], "all": [0, 1, 2, 3], "d2": [2]}
    res = crude_monte_carlo(net, 200_000, seed=4, groups=groups)
    est = res.by_group()
    assert est["all"].value == res.overall.value  # same fixed-point weights, same sums
    assert est["all"].std_error == pytest.approx(res.overall.std_error, rel=1e-12)
    w = net.demand_weight
    for name, idx in groups.items():
        exact_g = float(w[idx] @ per[idx] / w[idx].sum())
        assert abs(_z(est[name].value, exact_g, est[name].std_error)) < 4, name
        assert est[name].interval == "normal"
    # the same group asked for after the run: same value, a conservative (wider) interval
    later = res.by_group({"on0 later": [0, 1]})["on0 later"]
    assert later.interval == "normal" and "upper bound" in later.details["variance"]
    assert later.value == pytest.approx(est["on0"].value, rel=1e-12)
    assert later.std_error * (1 + 1e-3) >= est["on0"].std_error
    assert json.dumps(res.to_dict())  # JSON-ready
    with pytest.raises(ValueError, match="out of range"):
        crude_monte_carlo(net, 100, seed=1, groups={"bad": [7]})


def test_group_with_nothing_seen_gets_upper_bound() -> None:
    net = call_network(0.0)
    res = crude_monte_carlo(net, 3000, seed=1, groups={"g": [0, 1]})
    for e in (res.by_group()["g"], res.by_group({"h": [2]})["h"]):
        assert e.value == 0.0 and e.interval == "one-sided-upper" and e.ci_high > 0


def test_make_result_from_a_summed_tally() -> None:
    net = bridge(0.2)
    plan = chunk_plan(20_000, 4096)
    total = sum((run_chunk(net, i, n, 8) for i, n in enumerate(plan)), Tally.zero(1))
    res = make_result(net, total, seed=8, chunk_size=4096, seconds=0.0)
    assert res.overall.value == total.share_sum / (total.trials << SHARE_BITS)
    assert res.tally == crude_monte_carlo(net, 20_000, seed=8, chunk_size=4096).tally


# ----------------------------------------------------------------- monotonicity
def with_extra_link(net: CompiledNetwork, u: int, v: int, q: float) -> CompiledNetwork:
    """``net`` plus an undirected link u - v whose component is appended last."""
    kw = {f: getattr(net, f) for f in net.__dataclass_fields__}
    c = net.n_components
    kw["component_names"] = (*net.component_names, "extra")
    kw["component_kind"] = (*net.component_kind, "link")
    kw["q"] = np.r_[net.q, q]
    kw["arc_src"] = np.r_[net.arc_src, u, v]
    kw["arc_dst"] = np.r_[net.arc_dst, v, u]
    kw["arc_component"] = np.r_[net.arc_component, c, c]
    return CompiledNetwork(**kw)


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 8), st.floats(0.1, 0.6), st.integers(0, 2**31), st.booleans())
def test_adding_a_link_never_cuts_a_demand_with_common_random_numbers(
        n: int, p: float, seed: int, sparse: bool) -> None:
    rng = np.random.default_rng(seed)
    g = nx.gnp_random_graph(n, p, seed=seed)
    q = 0.01 if sparse else 0.3
    nx.set_edge_attributes(g, q, "q")
    for x in g.nodes:
        if rng.random() < 0.3:
            g.nodes[x]["q"] = q
    u, v = (int(x) for x in rng.choice(n, 2, replace=False))
    before = compile_graph(g, 0, n - 1)
    after = with_extra_link(before, u, v, q)
    sample = sample_network_failures(after, 4096, np.random.default_rng(seed))
    down = sample.packed()
    cut_before = kernel_for(before)(down[: before.n_components])
    cut_after = kernel_for(after)(down)
    assert not np.any(cut_after & ~cut_before)


def test_adding_a_redundant_link_never_raises_the_estimate() -> None:
    for q in (0.1, 0.3):  # dense sampling: the new component's draws come after the others'
        base = bridge(q)
        better = with_extra_link(base, base.node_names.index("s"), base.node_names.index("t"), q)
        a = crude_monte_carlo(base, 40_000, seed=6, chunk_size=8192)
        b = crude_monte_carlo(better, 40_000, seed=6, chunk_size=8192)
        # common random numbers: the old components have the same states in every trial
        s_old = sample_network_failures(base, 8192, chunk_rng(6, 0))
        s_new = sample_network_failures(better, 8192, chunk_rng(6, 0))
        assert np.array_equal(s_old.packed(), s_new.packed()[: base.n_components])
        assert b.overall.value <= a.overall.value
        assert b.tally.demand_unreachable[0] <= a.tally.demand_unreachable[0]
        assert b.overall.value < a.overall.value  # the extra link does help here


def test_unpacked_chunk_matches_reference_per_trial() -> None:
    net = call_network()
    sample = sample_network_failures(net, 3000, chunk_rng(1, 0))
    bits = unpack_bits(kernel_for(net)(sample.packed()), 3000).T
    trial, comp = sample.pairs()
    for t in range(0, 3000, 37):
        assert np.array_equal(bits[t], net.unreachable_demands(comp[trial == t]))
    tally = run_chunk(net, 0, 3000, seed=1)
    assert tally.demand_unreachable.tolist() == bits.sum(axis=0).tolist()
    assert tally.any_unreachable == int(bits.any(axis=1).sum())


def test_chunk_size_follows_the_memory_budget():
    from model.static.montecarlo import DEFAULT_CHUNK_SIZE, MemoryBudgetError, chunk_size_for

    g, s, t = dodecahedron(0.05)
    net = compile_graph(g, s, t)
    sizes = [chunk_size_for(net, mib * 2**20) for mib in (5, 6, 8, 256)]
    assert all(n % 64 == 0 for n in sizes) and sizes == sorted(sizes) and sizes[-1] == DEFAULT_CHUNK_SIZE
    assert sizes[0] < sizes[-1]
    with pytest.raises(MemoryBudgetError, match=r"smallest chunk \(64 trials\)"):
        chunk_size_for(net, 2**16)
    # the chosen chunk size is the plan: the same budget gives the same result
    a = crude_monte_carlo(net, 20_000, seed=4, max_memory=5 * 2**20)
    b = crude_monte_carlo(net, 20_000, seed=4, chunk_size=sizes[0])
    assert a.overall.value == b.overall.value and a.chunk_size == sizes[0]
