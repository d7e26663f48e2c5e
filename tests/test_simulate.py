"""The time engine: analytic checks, agreement with the per-call reference simulator, determinism, API."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from model.processes.outages import Outages, failover_windows, sample_outages
from model.sim.engine import (
    TimeTally,
    build_timeline,
    replay_incident,
    run_chunk,
    run_intervals,
    simulate,
    simulate_graph,
    state_table_for,
)
from model.sim.reference import Reference, reference_outages, reference_year
from model.sim.timemodel import build_time_model
from model.units import HOURS_PER_YEAR

DATA = Path(__file__).parent / "data"
SMALL = DATA / "time_small.toml"


def _z(x: float, expected: float, se: float) -> float:
    return (x - expected) / se if se > 0 else (0.0 if x == expected else math.inf)


# ----------------------------------------------------------------------------- plain graphs
def test_one_repairable_component():
    mtbf, mttr = 400.0, 8.0
    g = nx.Graph()
    g.add_edge("s", "t", mtbf=mtbf, mttr=mttr)
    out = simulate_graph(g, "s", "t", years=400, seed=4)
    assert abs(_z(out.unavailability.value, mttr / (mtbf + mttr), out.unavailability.std_error)) < 4
    freq = HOURS_PER_YEAR / (mtbf + mttr)
    assert abs(_z(out.failure_frequency_per_year.value, freq, out.failure_frequency_per_year.std_error)) < 4
    n_fail = out.failure_frequency_per_year.value * out.years
    assert abs(out.mean_down_hours - mttr) < 4 * mttr / math.sqrt(n_fail)  # exponential: sd = mean


def _bridge(rates: dict[tuple[str, str], tuple[float, float]]) -> nx.Graph:
    g = nx.Graph()
    for (u, v), (mtbf, mttr) in rates.items():
        g.add_edge(u, v, mtbf=mtbf, mttr=mttr)
    return g


BRIDGE = {("s", "a"): (30.0, 6.0), ("s", "b"): (50.0, 4.0), ("a", "b"): (20.0, 10.0),
          ("a", "t"): (40.0, 5.0), ("b", "t"): (25.0, 8.0)}


def _static_bridge(q: dict[tuple[str, str], float]) -> float:
    """P(s cannot reach t) by enumerating the 2^5 edge states (independent edges)."""
    edges = list(q)
    total = 0.0
    for state in itertools.product([False, True], repeat=len(edges)):
        p = 1.0
        g = nx.Graph()
        g.add_nodes_from("sabt")
        for e, up in zip(edges, state, strict=True):
            p *= (1 - q[e]) if up else q[e]
            if up:
                g.add_edge(*e)
        if not nx.has_path(g, "s", "t"):
            total += p
    return total


def test_point_unavailability_equals_static_value_at_each_q_of_t():
    # from all up at t = 0: q_e(t) = λ/(λ+μ) (1 - exp(-(λ+μ) t)); independent components, so the
    # system's point unavailability is the static unreliability at those q_e(t)
    probes = [1.0, 4.0, 12.0, 40.0]
    out = simulate_graph(_bridge(BRIDGE), "s", "t", years=20_000, seed=7, start="up", horizon=50.0,
                         probe_hours=probes, chunk_years=5000)
    for pt in out.point_unavailability:
        t = pt.details["hour"]
        q = {}
        for e, (mtbf, mttr) in BRIDGE.items():
            lam, mu = 1 / mtbf, 1 / mttr
            q[e] = lam / (lam + mu) * (1 - math.exp(-(lam + mu) * t))
        exact = _static_bridge(q)
        se = math.sqrt(exact * (1 - exact) / out.years)
        assert abs(_z(pt.value, exact, se)) < 4, (t, pt.value, exact)


def test_long_run_unavailability_and_failure_frequency_of_a_parallel_pair():
    (m1, r1), (m2, r2) = (60.0, 6.0), (90.0, 3.0)
    g = nx.MultiGraph()
    g.add_edge("s", "t", mtbf=m1, mttr=r1)
    g.add_edge("s", "t", mtbf=m2, mttr=r2)
    gg = nx.Graph()  # a parallel pair through two relay nodes (simple graph)
    gg.add_edge("s", "x", mtbf=m1, mttr=r1)
    gg.add_edge("x", "t")
    gg.add_edge("s", "y", mtbf=m2, mttr=r2)
    gg.add_edge("y", "t")
    out = simulate_graph(gg, "s", "t", years=300, seed=9)
    q1, q2 = r1 / (m1 + r1), r2 / (m2 + r2)
    u = q1 * q2
    assert abs(_z(out.unavailability.value, u, out.unavailability.std_error)) < 4
    # frequency w = Σ_e MIF_e (1 - q_e) λ_e with MIF_1 = q2, MIF_2 = q1; mean down time = U / w
    w = (q2 * (1 - q1) / m1 + q1 * (1 - q2) / m2) * HOURS_PER_YEAR
    assert abs(_z(out.failure_frequency_per_year.value, w, out.failure_frequency_per_year.std_error)) < 4
    mdt = u / w * HOURS_PER_YEAR  # 1 / (1/r1 + 1/r2) for exponential repairs
    assert mdt == pytest.approx(1 / (1 / r1 + 1 / r2), rel=1e-9)
    n_fail = out.failure_frequency_per_year.value * out.years
    assert abs(out.mean_down_hours - mdt) < 4 * mdt / math.sqrt(n_fail)


def test_reliawiki_deterministic_series_example():
    g = nx.Graph()
    g.add_edge("s", "m", mtbf=100.0, mttr=10.0)  # A
    g.add_edge("m", "t", mtbf=120.0, mttr=10.0)  # B
    out = simulate_graph(g, "s", "t", years=3, seed=0, start="up", horizon=300.0, up="fixed", repair="fixed",
                         shared_clock=True)
    assert 1 - out.unavailability.value == pytest.approx(260 / 300, abs=1e-12)
    assert out.mean_down_hours == pytest.approx(10.0)
    assert out.failure_frequency_per_year.value == pytest.approx(4 * HOURS_PER_YEAR / 300.0)


# ----------------------------------------------------------------------------- failover
FAILOVER_TOML = """
name = "failover_only"
[traffic]
annual_calls = 1000.0
genuine_share = 1.0
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
[call_handling_platforms.primary.failure]
failures_per_year = 40.0
repair = { distribution = "lognormal", mean_hours = 4.0, sd_hours = 6.0 }
[call_handling_platforms.standby]
label = "Standby"
failure = { failures_per_year = 1e-9, repair = { distribution = "fixed", value_hours = 1.0 } }
[call_handling_centres.c]
label = "Centre"
[control_rooms.room]
label = "Room"
service = "police"
areas = { all = 1.0 }
[redundancy_groups.pair]
members = ["primary", "standby"]
@POLICY@
"""


@pytest.mark.parametrize("policy", [
    'policy = "automatic"\nfailover_delay = { distribution = "exponential", mean_hours = 0.75 }',
    'policy = "manual"\ndetection_delay = { distribution = "fixed", value_hours = 0.5 }\n'
    'switch_time = { distribution = "exponential", mean_hours = 0.5 }\nswitch_failure_probability = 0.4\n'
    'max_attempts = 2',
], ids=["automatic", "manual"])
def test_failover_window_loses_lambda_times_expected_min(tmp_path, policy):
    from model.processes.failover import failover_unavailability
    from model.scenario.loader import load_scenario

    path = tmp_path / "failover.toml"
    path.write_text(FAILOVER_TOML.replace("@POLICY@", policy))
    tm = build_time_model(path)
    res = simulate(tm, years=400, seed=12, chunk_years=200)
    un = res.to_dict()["unavailability"]
    s = load_scenario(path).spec
    grp = s.redundancy_groups["pair"]
    expected = failover_unavailability(grp, s.call_handling_platforms["primary"].failure)
    # λ E[min(D, R)] / (1 + λ E[R]) computed by the static engines' own routine, plus nothing else
    assert abs(_z(un["estimate"], expected, un["std_error"])) < 4


# ----------------------------------------------------------------------------- reference simulator
def _as_outages(ivs: list[list[tuple[int, float, float]]], horizon: float) -> Outages:
    yy = np.concatenate([[y] * len(iv) for y, iv in enumerate(ivs)]).astype(np.int64)
    ee = np.concatenate([[e for e, _, _ in iv] for iv in ivs]).astype(np.int64)
    ss = np.concatenate([[a for _, a, _ in iv] for iv in ivs])
    tt = np.concatenate([[b for _, _, b in iv] for iv in ivs])
    o = np.lexsort((ee, ss, yy))
    return Outages(yy[o], ee[o], ss[o], tt[o], len(ivs), horizon)


def _reference(tm, **over) -> Reference:
    c = tm.callers
    kw = dict(redial_probability=c.redial_probability, redial_delay_h=c.redial_delay_h,
              max_attempts=c.max_attempts, patience_h=c.patience_h, advice_delay_h=c.advice_delay_h,
              compliance=tm.fallback_compliance.tolist())
    kw.update(over)
    return Reference(tm, **kw)


def test_engine_agrees_with_per_call_reference_on_the_same_outages():
    # paired comparison: the reference draws the outages event by event; both then turn the same intervals
    # into states, routes, capacity losses, redials and fallback calls, independently
    tm = build_time_model(SMALL)
    rng = np.random.default_rng(5)
    years = 50
    ivs = [reference_outages(tm, rng, tm.horizon, 500.0) for _ in range(years)]
    ref = _reference(tm)
    rows = [reference_year(ref, iv, tm.horizon, rng) for iv in ivs]
    eng = run_intervals(tm, _as_outages(ivs, tm.horizon), seed=3)
    ref_unavailability = [r["unavailability"] for r in rows]
    assert np.allclose(eng.column("unavailability"), ref_unavailability, rtol=1e-9, atol=1e-15)
    for key in ("unreachable", "failed_attempts", "via_fallback", "after_redial", "simulated"):
        a = eng.column(key)
        b = np.array([r[key] for r in rows])
        d = a - b
        assert b.sum() > 100, key  # the scenario exercises this path
        z = d.mean() / (d.std(ddof=1) / math.sqrt(years))
        assert abs(z) < 4, (key, a.mean(), b.mean(), z)


def test_outage_generation_agrees_with_event_by_event_reference():
    tm = build_time_model(SMALL)
    years = 300
    rng = np.random.default_rng(8)
    ref = np.zeros((years, tm.n_events))
    for y in range(years):
        for e, s, t in reference_outages(tm, rng, tm.horizon, 500.0):
            ref[y, e] += min(t, tm.horizon) - max(s, 0.0)
    out = sample_outages(tm.process, years, tm.horizon, np.random.default_rng(9), start="up",
                         warmup_hours=500.0)
    out = out.concat(failover_windows(out, tm.switch_policies, np.random.default_rng(10)))
    eng = np.zeros((years, tm.n_events))
    np.add.at(eng, (out.year, out.event), out.clipped_durations())
    for e in np.flatnonzero(ref.sum(axis=0) > 0):
        se = math.sqrt(ref[:, e].var(ddof=1) / years + eng[:, e].var(ddof=1) / years)
        assert abs(eng[:, e].mean() - ref[:, e].mean()) < 4 * se, tm.events.names[e]


def test_replay_agrees_with_reference():
    tm = build_time_model(SMALL)
    inc = tm.incidents["test_outage"]
    reps = 150
    out = replay_incident(tm, "test_outage", replications=reps, seed=4)
    rows = tm.incident_events["test_outage"]
    horizon = out["hours"]
    offset = inc.weekday * 24.0 + 10.0
    ref = _reference(tm)
    rng = np.random.default_rng(6)
    r = [reference_year(ref, list(rows), horizon, rng, profile_offset=offset, advice_local=inc.advice_hour)
         for _ in range(reps)]
    for key, ref_key in (("failed_callers", "unreachable"), ("failed_attempts", "failed_attempts"),
                         ("connected_via_fallback", "via_fallback")):
        a = np.array(out["per_replication"][key])
        b = np.array([x[ref_key] for x in r])
        mean_a = out[key]["mean"]
        assert mean_a == pytest.approx(a.mean())
        se = math.sqrt(a.var(ddof=1) / reps + b.var(ddof=1) / reps)
        assert b.mean() > 5
        assert abs(mean_a - b.mean()) < 4 * se, (key, mean_a, b.mean())


def test_replay_with_uncertain_callers_on_uk999():
    out = replay_incident("uk999", "bt_2023_06_25", replications=30, seed=2,
                          overrides={"redial_probability": (0.5, 0.95), "compliance": (0.2, 0.7)})
    fc = out["failed_callers"]
    assert 0 < fc["p05"] <= fc["median"] <= fc["p95"]
    assert out["failed_attempts"]["median"] >= fc["median"]
    drawn = out["parameters"]["redial_probability"]
    assert 0.5 <= drawn["p05"] <= drawn["median"] <= drawn["p95"] <= 0.95
    assert out["connected_via_fallback"]["mean"] > 0
    per = out["per_replication"]
    assert len(per["connected_after_redial"]) == 30 and len(per["parameters"]["redial_probability"]) == 30
    lines = replay_incident("uk999", "bt_2023_06_25", replications=3, seed=2,
                            overrides={"compliance": {"police_101": 1.0, "nhs_111": (0.0, 0.1)}})
    assert lines["parameters"]["compliance[police_101]"]["mean"] == 1.0
    assert lines["parameters"]["compliance[nhs_111]"]["p95"] <= 0.1
    with pytest.raises(ValueError, match="unknown fallback lines"):
        replay_incident("uk999", "bt_2023_06_25", replications=2, seed=1, overrides={"compliance": {"x": 1}})
    with pytest.raises(KeyError, match="no incident"):
        replay_incident("uk999", "nope", replications=2, seed=1)
    with pytest.raises(ValueError, match="unknown overrides"):
        replay_incident("uk999", "bt_2023_06_25", replications=2, seed=1, overrides={"bogus": 1})


# ----------------------------------------------------------------------------- engine mechanics
def test_timeline_keys_count_active_events():
    out = Outages(np.array([0, 0, 0, 1]), np.array([0, 1, 2, 0]), np.array([-1.0, 2.0, 2.0, 5.0]),
                  np.array([3.0, 4.0, 2.5, 20.0]), 2, 10.0)
    h = np.array([11, 13, 17], dtype=np.uint64)
    tl = build_timeline(out, h)
    pos = tl.length > 0
    for j in np.flatnonzero(pos):
        evs = tl.active(int(j))
        assert tl.count[j] == evs.size
        assert int(tl.key[j]) == int(h[evs].sum())
    assert np.all(tl.end <= tl.year * tl.stride + 10.0)


def test_chunks_add_exactly_in_any_grouping():
    tm = build_time_model(SMALL)
    parts = [run_chunk(tm, i, 30, seed=21) for i in range(4)]
    a = ((parts[0] + parts[1]) + parts[2]) + parts[3]
    b = parts[3] + (parts[1] + (parts[2] + parts[0]))
    for key in ("unreachable", "genuine", "failed_attempts", "unavailability"):
        assert np.array_equal(a.column(key), b.column(key))
    assert np.array_equal(a.hist, b.hist) and a.incidents == b.incidents
    again = run_chunk(tm, 2, 30, seed=21)
    assert np.array_equal(again.records[2].unreachable, parts[2].records[2].unreachable)
    other = run_chunk(tm, 2, 30, seed=22)
    assert not np.array_equal(other.records[2].genuine, parts[2].records[2].genuine)
    # checkpoint form
    back = TimeTally.from_dict(json.loads(json.dumps(a.to_dict())))
    assert np.array_equal(back.column("genuine"), a.column("genuine")) and back.incidents == a.incidents
    with pytest.raises(ValueError, match="share chunks"):
        _ = parts[0] + parts[0]


def test_simulate_is_reproducible_and_states_are_evaluated_once():
    tm = build_time_model(SMALL)
    r1 = simulate(tm, years=60, seed=5, chunk_years=20)
    table = state_table_for(tm)
    n_states = table.n
    evals = table.evaluations
    r2 = simulate(tm, years=60, seed=5, chunk_years=20)
    assert table.evaluations == evals and table.n == n_states  # every state came from the cache
    assert r1.to_dict()["unreachable_call_rate"] == r2.to_dict()["unreachable_call_rate"]
    keys = {frozenset(s.tolist()) for s in table.event_sets}
    assert len(keys) == table.n  # one entry per distinct set of active events


def test_result_json_has_the_documented_fields():
    res = simulate(SMALL, years=40, seed=1, chunk_years=20)
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    r = d["unreachable_call_rate"]
    assert r["ci_low"] <= r["estimate"] <= r["ci_high"]
    f = d["failed_calls_per_year"]
    assert {"mean", "p50", "p95", "p99"} <= set(f) and f["p50"] <= f["p95"] <= f["p99"]
    assert d["failed_attempts_per_year"]["mean"] >= d["failed_callers_per_year"]["mean"] > 0
    assert set(d["time_to_connect_s"]["delayed"]) == {"p50", "p95", "p99"}
    inc = d["largest_incidents"]
    assert inc and all({"year", "start_hour", "duration_hours", "calls_lost"} <= set(x) for x in inc)
    assert [x["calls_lost"] for x in inc] == sorted((x["calls_lost"] for x in inc), reverse=True)
    assert d["years"] == 40 and d["seed"] == 1 and d["seconds"] > 0 and "method" in d
    # the genuine calls a year are the scenario's (profile-integrated over a 365.25-day year)
    assert d["genuine_calls_per_year"] == pytest.approx(200_000, rel=0.01)


def test_uk999_runs_and_reports_platform_incidents():
    res = simulate("uk999", years=60, seed=11, chunk_years=30)
    d = res.to_dict()
    rate = d["unreachable_call_rate"]
    assert 0 < rate["estimate"] < 1e-2
    assert d["genuine_calls_per_year"] == pytest.approx(17.5e6, rel=0.01)
    assert d["failed_attempts_per_year"]["mean"] > d["failed_callers_per_year"]["mean"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="years"):
        simulate(SMALL, years=0, seed=1)
    g = nx.Graph()
    g.add_edge("s", "t", mtbf=10.0, mttr=1.0)
    with pytest.raises(ValueError, match="years"):
        simulate_graph(g, "s", "t", years=0)


def test_calls_simulated_in_blocks_keep_the_law(monkeypatch):
    """Segments simulated in many small blocks (bounded memory) give the same rate within the intervals."""
    import model.sim.engine as engine

    calls = []
    real = engine.simulate_calls

    def counted(*a, **kw):
        calls.append(kw["seg_start"].size)
        return real(*a, **kw)

    monkeypatch.setattr(engine, "simulate_calls", counted)
    whole = simulate("uk999", years=60, seed=4, chunk_years=60)
    n_whole = len(calls)
    monkeypatch.setattr(engine, "CALL_BLOCK", 512)
    blocks = simulate("uk999", years=60, seed=4, chunk_years=60)
    assert len(calls) - n_whole > 4 * n_whole  # the small budget really splits the segments
    a, b = whole.unreachable_call_rate, blocks.unreachable_call_rate
    assert a.value > 0 and b.value > 0
    assert abs(a.value - b.value) < 4 * np.hypot(a.std_error, b.std_error)
    # the expected calls outside the simulated segments are the same; only the simulated ones vary
    g_whole, g_blocks = (sum(r.genuine.sum() for r in x.tally.records.values()) for x in (whole, blocks))
    assert abs(g_whole - g_blocks) < 1e-3 * g_whole


def test_a_national_outage_of_days_is_simulated_in_bounded_blocks_with_the_same_law(monkeypatch):
    """A 36-hour loss of both call-handling platforms (one segment of ~140,000 expected callers a year) is
    cut into pieces of equal expected calls: no block holds much more than CALL_BLOCK callers, the callers
    simulated match the expected calls, and the share that never connect is the unsplit run's."""
    import model.sim.engine as engine

    tm = build_time_model("uk999")
    ev = [tm.events.index(n) for n in ("bt_primary", "bt_dr")]
    years = 2
    out = Outages(np.repeat(np.arange(years), 2), np.tile(ev, years), np.full(2 * years, 2000.0),
                  np.full(2 * years, 2036.0), years, tm.horizon)
    sizes: list[int] = []
    real = engine.simulate_calls

    def counted(*a, **kw):
        o = real(*a, **kw)
        sizes.append(o.n)
        return o

    monkeypatch.setattr(engine, "simulate_calls", counted)
    whole = run_intervals(tm, out, seed=11)
    n_whole = len(sizes)
    block = 20_000
    monkeypatch.setattr(engine, "CALL_BLOCK", block)
    split = run_intervals(tm, out, seed=11)
    pieces = sizes[n_whole:]
    assert len(pieces) >= 10 and max(pieces) < 1.5 * block  # bounded blocks, ~CALL_BLOCK callers each
    assert sum(pieces) == pytest.approx(sum(sizes[:n_whole]), rel=0.02)
    sim_w, sim_s = whole.column("simulated").sum(), split.column("simulated").sum()
    expected = tm.demand_rate.sum() * tm.profile.integrate(2000.0, 2036.0) * years  # every genuine call
    assert abs(sim_s - sim_w) < 4 * math.sqrt(sim_w + sim_s)
    assert abs(sim_s - expected) < 4 * math.sqrt(expected)  # Poisson: the pieces add up to the segment
    p_w, p_s = whole.column("unreachable").sum() / sim_w, split.column("unreachable").sum() / sim_s
    assert 0 < p_w < 1
    assert abs(p_w - p_s) < 4 * math.sqrt(p_w * (1 - p_w) * (1 / sim_w + 1 / sim_s))


# ---------------------------------------------------------------- failed callers by area
def test_a_local_access_failure_fails_callers_of_its_own_area_only():
    tm = build_time_model("uk999")
    e = tm.events.index("access:london:fixed:bt_fixed")  # London's BT fixed-line callers cut off for 6 hours
    out = Outages(np.array([0]), np.array([e]), np.array([2000.0]), np.array([2006.0]), 1, tm.horizon)
    t = run_intervals(tm, out, seed=4)
    cols = t.area_columns()
    london = tm.areas.index("london")
    assert cols.shape == (1, len(tm.areas))
    assert cols[0, london] > 0 and cols[0].sum() == cols[0, london] == t.column("unreachable")[0]


def test_failed_callers_by_area_add_up_and_survive_the_checkpoint_form():
    res = simulate("uk999", years=30, seed=5, chunk_years=10)
    cols = res.tally.area_columns()
    assert cols.shape == (30, 12) and res.areas[6] == "london"
    np.testing.assert_array_equal(cols.sum(axis=1), res.tally.column("unreachable"))
    back = TimeTally.from_dict(json.loads(json.dumps(res.tally.to_dict())))
    np.testing.assert_array_equal(back.area_columns(), cols)
    by = res.failed_calls_by_area
    assert list(by) == list(res.areas)
    assert sum(e.value for e in by.values()) == pytest.approx(res.failed_calls_per_year.value, rel=1e-12)
    assert res.to_dict()["failed_calls_by_area"]["london"]["mean"] == pytest.approx(by["london"].value)


def test_years_run_in_batches_that_fit_the_call_memory_budget_and_add_up_as_one(monkeypatch):
    import model.sim.engine as engine
    from model.sim.engine import YearRecord, years_per_batch

    tm = build_time_model("uk999")
    monkeypatch.setattr(engine, "CALL_MEMORY_BUDGET", 3 * 2**20)  # a few years a batch
    assert 1 <= years_per_batch(tm) < 10
    small = run_chunk(tm, 1, 40, seed=2, chunk_years=40)
    again = run_chunk(tm, 1, 40, seed=2, chunk_years=40)
    np.testing.assert_array_equal(small.column("unreachable"), again.column("unreachable"))
    assert small.years == 40 and all(40 <= r["year"] < 80 for r in small.incidents)
    np.testing.assert_array_equal(small.area_columns().sum(axis=1), small.column("unreachable"))
    monkeypatch.undo()
    assert years_per_batch(tm, budget=1) == 1 and years_per_batch(tm) > years_per_batch(tm, budget=2**20)
    t = run_chunk(tm, 0, 30, seed=2)  # batches of years_per_batch(tm) years, one record
    rec = t.records[0]
    assert rec.genuine.size == 30 and rec.by_area.shape == (30, len(tm.areas)) and rec.probes.shape[0] == 30
    parts = [YearRecord.from_dict(rec.to_dict())] * 2
    both = YearRecord.concat(parts)
    np.testing.assert_array_equal(both.unreachable, np.tile(rec.unreachable, 2))
    assert both.outcome("callers_genuine").size == 60
