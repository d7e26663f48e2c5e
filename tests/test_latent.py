"""Dormant standby failures found by periodic tests (latent failures): analytic checks, both engines.

The mean unavailability of a periodically tested item with silent failures at rate λ,
found only at tests every T, is ``1 - (1 - e^{-λT}) / (λT)`` (≈ λT/2 for λT ≪ 1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.network.callnetwork import build_network
from model.processes.distributions import Fixed
from model.processes.outages import Outages, PeriodicTest, latent_windows
from model.run.seeds import chunk_streams
from model.scenario.loader import LatentFailure, load_scenario
from model.scenario.schema import ScenarioError
from model.sim.timemodel import build_time_model

YEAR = 8766.0


def _hidden(lam: float, t: float) -> float:
    return 1 - (1 - math.exp(-lam * t)) / (lam * t)


def _yearly_down(w: Outages, event: int) -> np.ndarray:
    sel = w.event == event
    d = np.minimum(w.end[sel], w.horizon) - np.maximum(w.start[sel], 0.0)
    return np.bincount(w.year[sel], weights=np.maximum(d, 0), minlength=w.n_years) / w.horizon


# test intervals that divide the year: with tests at fixed times a year holds whole cycles only then
@pytest.mark.parametrize(("lam", "t"), [(1 / 1000.0, YEAR / 90), (1 / 50_000.0, YEAR / 12),
                                        (1 / 500.0, YEAR / 4)])
def test_mean_unavailability_of_a_tested_standby(lam, t):
    pt = PeriodicTest(event=0, rate=lam, interval_hours=t, offset_hours=17.0)
    w = latent_windows(Outages.empty(3000, YEAR), [pt], np.random.default_rng(7))
    per_year = _yearly_down(w, 0)
    exact = _hidden(lam, t)
    se = per_year.std(ddof=1) / math.sqrt(per_year.size)
    assert abs(per_year.mean() - exact) < 4 * se
    if lam * t < 0.05:
        assert exact == pytest.approx(lam * t / 2, rel=0.02)  # λT/2 for λT ≪ 1


def test_a_demand_finds_the_latent_failure_before_the_test():
    # failures happen almost at once in every cycle; the primary fails at hour 30 of the first cycle
    pt = PeriodicTest(event=0, rate=10.0, interval_hours=100.0, repair=Fixed(2.0), reveal_events=(5,))
    prim = Outages(np.array([0]), np.array([5]), np.array([30.0]), np.array([40.0]), 1, 300.0)
    w = latent_windows(prim, [pt], np.random.default_rng(1))
    first = (w.end > 0) & (w.end < 100)  # (merged with the previous cycle's, found at the test at 0)
    assert w.end[first].tolist() == [pytest.approx(32.0)]  # found at the demand, then 2 h of repair
    later = (w.start >= 100) & (w.start < 200)
    # the next cycles fail again within the 2 h repair: one union, ending 2 h after the test at 300
    assert w.end[later].tolist() == [pytest.approx(302.0)]


def test_tests_that_cause_outages():
    pt = PeriodicTest(event=0, rate=0.0, interval_hours=100.0, outage_event=3, outage_probability=0.2,
                      outage_duration=Fixed(0.5))
    w = latent_windows(Outages.empty(2000, 1000.0), [pt], np.random.default_rng(4))
    n = int((w.event == 3).sum())
    tests = 2000 * 10  # tests at 0, 100, ..., 900
    assert abs(n - 0.2 * tests) < 4 * math.sqrt(tests * 0.2 * 0.8)
    assert np.allclose(w.end - w.start, 0.5)


def _with_latent(lat: dict, component: str = "bt_dr", section: str = "call_handling_platforms"):
    return load_scenario("uk999").extend({section: {component: {"failure": {"latent": lat}}}})


def test_static_engines_see_latent_failures_tests_and_test_outages():
    lat = {"failures_per_year": 0.5, "test_interval_hours": YEAR / 4, "test_duration_hours": 2.0,
           "test_outage_probability": 0.02, "test_outage": {"distribution": "fixed", "value_hours": 1.5},
           "repair": {"distribution": "fixed", "value_hours": 6.0}, "source": "assumption: test"}
    net = build_network(_with_latent(lat))
    base = build_network("uk999")
    spec = LatentFailure(**{**lat, "test_outage": None, "repair": None})
    lam, t = 0.5 / YEAR, YEAR / 4
    expected_hidden = _hidden(lam, t) + (1 - math.exp(-lam * t)) * 6.0 / t + 2.0 / t
    own = base.components["bt_dr"].failure.own_unavailability()
    assert spec.mean_unavailability(6.0) == pytest.approx(expected_hidden, rel=1e-12)
    beta = 0.05  # uk999's platform common cause splits only the revealed failures
    assert net.components["bt_dr"].q == pytest.approx(1 - (1 - (1 - beta) * own) * (1 - expected_hidden))
    events = {e.name: e for e in net.common_cause_events}
    assert events["test_outage:bt_dr"].q == pytest.approx(0.02 * 1.5 / t)
    assert events["test_outage:bt_dr"].members == ("bt_primary", "bt_dr")
    assert events["ccf:bt_platform_software"].q == pytest.approx(
        {e.name: e for e in base.common_cause_events}["ccf:bt_platform_software"].q)


def test_time_engine_matches_the_static_unavailability_of_a_tested_room():
    # a control room (no standby group: nothing finds it early) with latent failures and tests
    lat = {"failures_per_year": 2.0, "test_interval_hours": YEAR / 12, "test_duration_hours": 1.0,
           "repair": {"distribution": "fixed", "value_hours": 3.0}}
    scen = _with_latent(lat, "police_psni", "control_rooms")
    net = build_network(scen)
    tm = build_time_model(net)
    (pt,) = [t for t in tm.tests if tm.events.names[t.event] == "latent:police_psni"]
    assert pt.reveal_events == ()
    w = latent_windows(Outages.empty(2000, tm.horizon), tm.tests,
                       chunk_streams(9, 0, tm.test_stream_names(), "latent-tests"))
    per_year = _yearly_down(w, pt.event)  # (uk999's backup is tested too, on its own stream)
    lat_spec = scen.spec.control_rooms["police_psni"].failure.latent
    static = lat_spec.mean_unavailability(3.0) - 12.0 / YEAR  # test windows are maintenance events
    se = per_year.std(ddof=1) / math.sqrt(per_year.size)
    # + 2e-5: failures during a repair are merged in time, added in the static sum (λ r ≈ 7e-4 of it)
    assert abs(per_year.mean() - static) < 4 * se + 2e-5
    (plan,) = [m for m in tm.maintenance if tm.events.names[m.event] == "test:police_psni"]
    assert (plan.period_hours, plan.duration_hours) == (YEAR / 12, 1.0)


def test_a_standby_is_revealed_by_its_primary_in_the_time_model():
    tm = build_time_model(_with_latent({"failures_per_year": 0.5, "test_interval_hours": YEAR}))
    (pt,) = tm.tests
    assert {tm.events.names[e] for e in pt.reveal_events} == {"bt_primary", "ccf:bt_platform_software"}
    assert pt.repair is not None  # the platform's own repair once found


def test_validation_names_file_key_and_value():
    with pytest.raises(ScenarioError) as err:
        _with_latent({"failures_per_year": 0.5, "test_interval_hours": 10.0, "test_duration_hours": 20.0,
                      "test_outage_probability": 0.1})
    text = str(err.value)
    assert "call_handling_platforms.bt_dr.failure.latent.test_duration_hours = 20.0: must be <=" in text
    assert "call_handling_platforms.bt_dr.failure.latent.test_outage: required when" in text
    with pytest.raises(ScenarioError, match="test_interval_hours = 0: must be > 0"):
        _with_latent({"failures_per_year": 0.5, "test_interval_hours": 0})
