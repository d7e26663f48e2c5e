"""Calls in failed states: routing, capacity loss (Erlang B), redial and fallback mechanics."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from model.sim.engine import replay_incident, state_table_for
from model.sim.erlang import erlang_b, mmck_blocking, redial_fixed_point
from model.sim.reference import Reference, mmck_loss, with_redials
from model.sim.timemodel import build_time_model
from model.sim.traffic import BlockingTable, CallerSet, RoutingPlan, route_states

DATA = Path(__file__).parent / "data"
SMALL = DATA / "time_small.toml"


def _state_arrays(tm, down_comps=(), drops=None, windows=()):
    net = tm.net
    down = np.zeros((1, net.n_components), dtype=bool)
    down[0, list(down_comps)] = True
    drop = np.zeros((1, net.n_components))
    for c, f in (drops or {}).items():
        drop[0, c] = f
    win = np.zeros((1, max(tm.standby_primary.size, 1)), dtype=bool)
    win[0, list(windows)] = True
    z = np.zeros((1, net.n_nodes))
    return down, drop, z, z.copy(), win


def _reference(tm) -> Reference:
    c = tm.callers
    return Reference(tm, redial_probability=c.redial_probability, redial_delay_h=c.redial_delay_h,
                     max_attempts=c.max_attempts, patience_h=c.patience_h, advice_delay_h=c.advice_delay_h,
                     compliance=tm.fallback_compliance.tolist())


def _reference_routes(tm, ref, down_set, drops, window_groups, classes):
    """The reference's routing of the given classes (plain Python)."""
    net = tm.net

    def node_up(u):
        c = int(net.node_component[u])
        return c < 0 or c not in down_set

    def arc_up(a):
        c = int(net.arc_component[a])
        return c < 0 or c not in down_set

    idle_n, idle_a = set(), set()
    for g in range(tm.standby_primary.size):
        p = int(tm.standby_primary[g])
        if (p < 0 or p not in down_set) and g not in window_groups:
            lo, hi = tm.standby_nodes_ptr[g], tm.standby_nodes_ptr[g + 1]
            idle_n.update(int(x) for x in tm.standby_nodes[lo:hi])
            lo, hi = tm.standby_arcs_ptr[g], tm.standby_arcs_ptr[g + 1]
            idle_a.update(int(x) for x in tm.standby_arcs[lo:hi])
    keep = {c: 1 - f for c, f in drops.items()}
    cap_index = {int(n): q for q, n in enumerate(tm.cap_node)}
    out = {}
    for k in classes:
        res = ref._route(k, node_up, arc_up, idle_n, idle_a, keep, {}, {}, cap_index)
        out[k] = res
    return out


def _compare(tm, down_set, drops, windows, classes):
    ref = _reference(tm)
    r = route_states(tm, *_state_arrays(tm, down_set, drops, windows))
    expect = _reference_routes(tm, ref, set(down_set), drops, set(windows), classes)
    all_caps = np.arange(tm.cap_node.size)
    flows = r.cap_flow(tm, 0, all_caps)
    for k, (delivered, delay, caps, routed) in expect.items():
        assert bool(r.routed[0, k]) == routed, k
        assert r.delivered[0, k] == pytest.approx(delivered, abs=1e-12), k
        assert r.delay_h[0, k] == pytest.approx(delay, abs=1e-12), k
        want = np.zeros(tm.cap_node.size)
        for q, f in caps.items():
            want[q] = f
        assert np.allclose(flows[k], want, atol=1e-12), k


def test_routing_matches_plain_python_reference_on_random_states():
    tm = build_time_model(SMALL)
    rng = np.random.default_rng(0)
    classes = list(range(tm.n_classes))
    for _ in range(40):
        down = rng.choice(tm.net.n_components, size=rng.integers(0, 4), replace=False).tolist()
        drops = {int(c): float(rng.choice([0.3, 0.5])) for c in rng.choice(tm.net.n_components, 2)
                 if c not in down and rng.random() < 0.5}
        windows = [0] if rng.random() < 0.3 else []
        _compare(tm, down, drops, windows, classes)


def test_routing_matches_reference_on_uk999_states():
    tm = build_time_model("uk999")
    rng = np.random.default_rng(1)
    names = list(tm.net.component_names)
    picks = [["bt_primary"], ["bt_primary", "glasgow"], ["police_met_lambeth" if "police_met_lambeth" in names
                                                          else names[-1]], ["ee", "portadown"], []]
    for pick in picks:
        down = [names.index(p) for p in pick if p in names]
        classes = rng.choice(tm.n_classes, 25, replace=False).tolist()
        _compare(tm, down, {}, [], classes)
    some = rng.choice(tm.n_classes, 10, replace=False).tolist()
    _compare(tm, [names.index("bt_primary")], {}, [0], some)
    _compare(tm, [], {names.index("bt_primary"): 0.5}, [], some)


def test_calls_split_by_servers_standby_idles_and_buddy_takes_over():
    tm = build_time_model(SMALL)
    names = list(tm.net.node_names)
    caps = {names[n]: q for q, n in enumerate(tm.cap_node)}
    r = route_states(tm, *_state_arrays(tm))
    flows = r.cap_flow(tm, 0, np.arange(tm.cap_node.size))
    k = 0
    assert flows[k, caps["c1"]] == pytest.approx(8 / 14) and flows[k, caps["c2"]] == pytest.approx(6 / 14)
    assert flows[k, caps["primary"]] == 1.0 and flows[k, caps["dr"]] == 0.0
    comp = list(tm.net.component_names)
    # primary down, window closed: the standby carries everything
    r = route_states(tm, *_state_arrays(tm, [comp.index("primary")]))
    f = r.cap_flow(tm, 0, np.arange(tm.cap_node.size))
    assert np.allclose(f[:, caps["dr"]], 1.0) and np.all(r.routed)
    # primary down while the failover window is open: no route through the group
    d, dr_, nd, de, w = _state_arrays(tm, [comp.index("primary"), comp.index("dr")])
    assert not route_states(tm, d, dr_, nd, de, w).routed.any()
    # a police room down: its calls go to the buddy after buddy_delay_s
    r = route_states(tm, *_state_arrays(tm, [comp.index("police_north")]))
    north = [k for k in range(tm.n_classes) if names[tm.class_target_list(k)[0]] == "police_north"]
    assert north and np.allclose(r.delay_h[0, north], 30 / 3600) and np.all(r.routed[0, north])
    # a platform dropping 30 % of calls: 70 % delivered
    r = route_states(tm, *_state_arrays(tm, drops={comp.index("primary"): 0.3}))
    assert np.allclose(r.delivered, 0.7)


def test_routing_plan_keeps_only_each_class_part_of_the_graph():
    tm = build_time_model("uk999")
    plan = RoutingPlan.of(tm)
    per_class = np.bincount(plan.pair_class, minlength=tm.n_classes)
    assert per_class.max() < 20 < tm.net.n_nodes  # source, 2 platforms, 7 centres, room and buddies
    assert RoutingPlan.of(tm) is plan


# ----------------------------------------------------------------------------- capacity
ERLANG_TOML = """
name = "erlang_b_check"
[traffic]
annual_calls = @CALLS@
genuine_share = 1.0
[callers]
redial_probability = 0.0
redial_delay_s = 30
max_attempts = 1
patience_s = 600
[services.police]
label = "Police"
share = 1.0
[areas.all]
label = "All"
population = 1
[access.fixed]
share = 1.0
networks = { net = 1.0 }
[originating_networks.net]
label = "Net"
[call_handling_platforms.primary]
label = "Primary"
failure = { failures_per_year = 1e-9, repair = { distribution = "fixed", value_hours = 1.0 } }
[call_handling_platforms.dr]
label = "DR"
failure = { failures_per_year = 1e-9, repair = { distribution = "fixed", value_hours = 1.0 } }
capacity = { concurrent_calls = @C@, queue_limit = 0, handling_time_s = 180 }
[call_handling_centres.c]
label = "Centre"
[control_rooms.room]
label = "Room"
service = "police"
areas = { all = 1.0 }
[redundancy_groups.pair]
members = ["primary", "dr"]
policy = "automatic"
failover_delay = { distribution = "fixed", value_hours = 0.0 }
[incidents.dr_only]
label = "Primary down for two days"
[[incidents.dr_only.phases]]
start_hour = 0.0
end_hour = 48.0
effects = [{ component = "primary", state = "down" }]
"""


@pytest.mark.parametrize(("servers", "erlangs", "published"), [(10, 4.46, 0.01), (30, 24.80, 0.05)])
def test_erlang_b_against_published_table_end_to_end(tmp_path, servers, erlangs, published):
    # Erlang B tables: 10 circuits carry 4.46 E at 1 % loss, 30 circuits 24.80 E at 5 %. The whole engine
    # (incident replay: platform down, traffic on the DR with no queue, no redial) must lose that share.
    calls_per_hour = erlangs * 3600 / 180
    text = ERLANG_TOML.replace("@CALLS@", repr(calls_per_hour * 8766)).replace("@C@", str(servers))
    path = tmp_path / "erlang.toml"
    path.write_text(text)
    out = replay_incident(path, "dr_only", replications=40, seed=3, tail_hours=0.0)
    lost = np.array(out["per_replication"]["failed_callers"])
    calls = out["genuine_calls"]["mean"] * out["replications"]
    share = lost.sum() / calls
    se = math.sqrt(published * (1 - published) / calls)
    rounding = 0.01 * published  # the table's load is given to 3 significant figures
    assert abs(share - published) < 4 * se + rounding, (share, published)
    assert erlang_b(servers, erlangs) == pytest.approx(published, rel=0.01)


def test_blocking_table_is_the_redial_fixed_point_of_mmck():
    tm = build_time_model("uk999")
    table = state_table_for(tm)
    names = list(tm.events.names)
    # a state with the primary down and the failover over: all traffic on the DR (49 servers, 50 queue)
    from model.processes.outages import Outages
    from model.sim.engine import run_intervals

    e = names.index("bt_primary")
    run_intervals(tm, Outages(np.array([0]), np.array([e]), np.array([10.0]), np.array([20.0]), 1, 100.0), 1)
    sid = table.ids[int(tm.events.hash[e])]
    st = table.traffic[sid]
    assert not st.clean and st.cap.size == 1 and tm.net.node_names[tm.cap_node[st.cap[0]]] == "bt_dr"
    cs = CallerSet.of_model(tm)
    bt = BlockingTable(tm, cs, table.traffic)
    cap, _fb = bt.values(np.array([sid]), np.array([1.3]), np.array([0]), 1)
    a0 = 1.3 * st.base_erlang[0]
    c = tm.callers
    # the DR carries genuine and non-genuine calls (scale 2 = all / genuine): their redial chances mix
    scale = float(tm.cap_scale[st.cap[0]])
    assert scale == pytest.approx(2.0) and c.non_genuine_redial_probability is not None
    p_mix = (c.redial_probability + (scale - 1) * c.non_genuine_redial_probability) / scale
    direct = redial_fixed_point(a0, lambda a: mmck_blocking(49, 99, a), p_mix, max_attempts=c.max_attempts)
    assert cap[0, 0] == pytest.approx(float(direct.blocking), rel=1e-9)
    # and the reference's plain-Python birth-death version agrees
    plain = with_redials(a0, lambda a: mmck_loss(49, 99, a), p_mix, c.max_attempts)
    assert cap[0, 0] == pytest.approx(plain, rel=1e-6)
    # base load: every call (genuine and not) at 35 s on the DR, at multiplier 1; the 20,000 emergency texts
    # (all genuine) are scaled by the platforms' all/genuine factor too (2x: an over-count of 0.1 %)
    assert st.base_erlang[0] == pytest.approx((35e6 + 2 * 20_000) / 8766 * 35 / 3600, rel=1e-6)


def test_fallback_line_load_includes_complying_callers():
    tm = build_time_model(SMALL)
    table = state_table_for(tm)
    from model.processes.outages import Outages
    from model.sim.engine import run_intervals

    names = list(tm.events.names)
    e = names.index("net_a")
    f = names.index("net_b")
    run_intervals(tm, Outages(np.array([0, 0]), np.array([e, f]), np.array([1.0, 1.0]), np.array([9.0, 9.0]),
                              1, 20.0), 2)
    sid = table.ids[int(tm.events.hash[e]) + int(tm.events.hash[f]) & 0xFFFFFFFFFFFFFFFF]
    st = table.traffic[sid]
    assert st.unreachable.all()
    cs = CallerSet.of_model(tm)
    bt = BlockingTable(tm, cs, table.traffic)
    _cap, fb = bt.values(np.array([sid]), np.array([1.0]), np.array([0]), 0)
    # every police call fails: 101 gets compliance x police rate on top of its own load
    police = tm.services.index("police")
    rate = tm.demand_rate[tm.demand_service == police].sum()
    a0 = (6.0 + 0.5 * rate) * 300 / 3600
    c = tm.callers
    direct = redial_fixed_point(a0, lambda a: mmck_blocking(2, 4, a), c.redial_probability,
                                max_attempts=c.max_attempts)
    assert fb[0, tm.fallback_names.index("police_101")] == pytest.approx(float(direct.blocking), rel=1e-9)


# ----------------------------------------------------------------------------- callers
CALLERS_TOML = (ERLANG_TOML.replace("redial_probability = 0.0", "redial_probability = @P@")
                .replace("max_attempts = 1\n", "max_attempts = @K@\n")
                .replace("redial_delay_s = 30", "redial_delay_s = @D@"))
BOTH_DOWN = '{ component = "primary", state = "down" }, { component = "dr", state = "down" }'



def _callers_model(tmp_path, p, k, delay_s, patience_s=600):
    text = (CALLERS_TOML.replace("@CALLS@", "876600.0").replace("@C@", "10").replace("@P@", repr(p))
            .replace("@K@", str(k)).replace("@D@", repr(delay_s))
            .replace("patience_s = 600", f"patience_s = {patience_s}"))
    text = text.replace('effects = [{ component = "primary", state = "down" }]', f"effects = [{BOTH_DOWN}]")
    path = tmp_path / f"callers_{p}_{k}_{delay_s}_{patience_s}.toml"
    path.write_text(text)
    return path


def test_redial_counts_when_nothing_gets_through(tmp_path):
    # both platforms down for two days: every attempt fails; a caller makes 1 + Bin-like redials:
    # E[attempts] = sum_{i<K} p^i
    p, k = 0.7, 4
    path = _callers_model(tmp_path, p, k, 30)
    out = replay_incident(path, "dr_only", replications=5, seed=1, tail_hours=0.5)
    callers = np.array(out["per_replication"]["failed_callers"]).sum()
    attempts = np.array(out["per_replication"]["failed_attempts"]).sum()
    expect = sum(p**i for i in range(k))  # P(N > i) = p^i for i < K
    var = sum((2 * i + 1) * p**i for i in range(k)) - expect**2
    assert abs(attempts / callers - expect) < 4 * math.sqrt(var / callers)
    assert out["connected_after_redial"]["mean"] > 0  # the last callers reach the recovered network


def test_patience_limits_redials(tmp_path):
    # redial after a mean 60 s but patience 30 s: almost nobody gets a second attempt
    path = _callers_model(tmp_path, 1.0, 10, 60.0, patience_s=30)
    out = replay_incident(path, "dr_only", replications=3, seed=2, tail_hours=0.0)
    callers = np.array(out["per_replication"]["failed_callers"]).sum()
    attempts = np.array(out["per_replication"]["failed_attempts"]).sum()
    # attempt n + 1 happens when n exponential delays (mean 60 s) add up to at most 30 s:
    # E[attempts] = 1 + sum_n P(Poisson(0.5) >= n) = 1 + 0.5 (max_attempts = 10 never binds)
    n = callers
    assert abs(attempts / n - 1.5) < 4 * math.sqrt(0.5 / n)


def test_state_table_reroutes_only_touched_classes_correctly():
    # the engine routes a new state by re-routing only the classes it touches on top of the normal
    # state's routes; this must equal routing every class from scratch
    from model.sim.engine import StateTable

    tm = build_time_model("uk999")
    table = StateTable(tm)
    rng = np.random.default_rng(4)
    comps = tm.net.n_components
    b = 12
    down = np.zeros((b, comps), dtype=bool)
    drop = np.zeros((b, comps))
    for i in range(b):
        down[i, rng.choice(comps, size=rng.integers(1, 4), replace=False)] = True
        if i % 3 == 0:
            drop[i, rng.integers(comps)] = 0.4
    down[0, list(tm.net.component_names).index("bt_primary")] = True  # standby takes over
    n = tm.net.n_nodes
    nd, de = np.zeros((b, n)), np.zeros((b, n))
    win = np.zeros((b, 1), dtype=bool)
    win[1] = True  # the failover window: the group's members are down
    down[1, [list(tm.net.component_names).index(x) for x in ("bt_primary", "bt_dr")]] = True
    from model.network.reachability import unreachable_sets

    rows, cols = np.nonzero(down)
    ptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=b))]
    unre = unreachable_sets(tm.net, (ptr, cols))
    got = table._route(down, drop, nd, de, win, unre)
    want = table._route(down, drop, nd, de, win, unre, every_class=True)
    assert not np.array_equal(got.pair_flow[0], table._normal.pair_flow[0])  # the states do change routes
    assert np.array_equal(got.routed, want.routed)
    assert np.allclose(got.delivered, want.delivered) and np.allclose(got.delay_h, want.delay_h)
    assert np.allclose(got.pair_flow, want.pair_flow)
