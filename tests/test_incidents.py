"""Incident counterfactuals (model.sim.incidents): timelines under strategies, strata, bins."""

from __future__ import annotations

import numpy as np
import pytest

from model.scenario.loader import load_scenario
from model.scenario.strategies import apply_strategies, load_strategy
from model.sim.engine import replay_incident
from model.sim.incidents import (
    bin_edges,
    check_incident,
    counterfactual_of,
    incident_variant,
    lhs_strata,
    phase_differences,
    stratum_seeds,
    time_bins,
)
from model.sim.timemodel import build_time_model

INCIDENT, PRIMARY, DR = "bt_2023_06_25", "bt_primary", "bt_dr"


@pytest.fixture(scope="module")
def base():
    return load_scenario("uk999")


def _cf(scen, base, **kw):
    return counterfactual_of(scen, base, INCIDENT, PRIMARY, DR, **kw)


def _variant(raw, cf, **kw):
    return incident_variant(raw, cf, PRIMARY, DR, **kw)


def test_counterfactual_timelines(base):
    raw = base.raw["incidents"][INCIDENT]
    af = apply_strategies(base, [load_strategy("automatic_failover")])
    cf = _cf(af, base)
    v = _variant(raw, cf, capacity_factor=0.9, drop_fraction=0.4)
    (p1, p3) = v["phases"]
    assert p1["end_hour"] == p3["start_hour"] == pytest.approx(30 / 3600, rel=1e-3)
    assert p3["end_hour"] == pytest.approx(10.533333)
    dr = next(e for e in p3["effects"] if e["component"] == DR)
    assert dr["capacity_factor"] == 0.9 and "queue_limit" not in dr
    p1_drop = next(e for e in p1["effects"] if e["component"] == PRIMARY)
    assert p1_drop["drop_fraction"] == 0.4
    late = _variant(raw, _cf(af, base, detect_immediately=False), capacity_factor=0.9, drop_fraction=0.4)
    assert [p["start_hour"] for p in late["phases"]] == pytest.approx([0, 1.15, 1.15 + 30 / 3600])
    fcb = _cf(apply_strategies(base, [load_strategy("full_capacity_backup")]), base)
    v = _variant(raw, fcb, capacity_factor=0.7, drop_fraction=0.5)
    dr = next(e for e in v["phases"][2]["effects"] if e["component"] == DR)
    assert dr["capacity_factor"] == 1.0  # the strategy sizes the DR itself
    pd = _cf(apply_strategies(base, [load_strategy("public_diversion")]), base)
    assert pd.advice_hour == 0.25 and pd.compliance["police_101"] == 0.7 and pd.compliance_changed
    sq = _cf(base, base)
    assert sq.automatic_delay_h is None and sq.dr_factor_applies and not sq.compliance_changed
    # the raw incident is never modified
    assert [p["start_hour"] for p in raw["phases"]] == [0.0, 1.15, 2.433333]


def test_cut_variants_end_at_the_cut(base):
    raw = base.raw["incidents"][INCIDENT]
    cf = _cf(base, base)
    v = _variant(raw, cf, capacity_factor=1.0, drop_fraction=0.5, until=1.0)
    assert [(p["start_hour"], p["end_hour"]) for p in v["phases"]] == [(0.0, 1.0)]


def test_rewritten_incident_replays_as_the_original(base):
    """Dropping the phase-3 queue override (the DR's own 50 applies) changes nothing for the status quo."""
    raw = base.raw["incidents"][INCIDENT]
    v = _variant(raw, _cf(base, base), capacity_factor=1.0, drop_fraction=0.5)
    tm = build_time_model(base.extend({"incidents": {"copy": v}}))
    a = replay_incident(tm, INCIDENT, replications=3, seed=4)
    b = replay_incident(tm, "copy", replications=3, seed=4)
    assert a["per_replication"]["failed_callers"] == b["per_replication"]["failed_callers"]
    assert a["per_replication"]["failed_attempts"] == b["per_replication"]["failed_attempts"]


def test_other_incident_structure_is_refused(base):
    raw = dict(base.raw["incidents"][INCIDENT])
    raw["phases"] = raw["phases"][:2]
    with pytest.raises(ValueError, match=r"incidents\.bt_2023_06_25: this study needs the 2023 structure"):
        check_incident(raw, INCIDENT, PRIMARY, DR)


def test_strata_are_a_latin_hypercube_and_seeds_fixed():
    for k in (1, 2, 7):
        s = lhs_strata(k, 3, (0.6, 1.2), (0.25, 0.75))
        caps, drops = np.array(s).T
        mid = (np.arange(k) + 0.5) / k
        assert np.allclose(np.sort(caps), 0.6 + 0.6 * mid) and np.allclose(np.sort(drops), 0.25 + 0.5 * mid)
    assert lhs_strata(7, 3, (0, 1), (0, 1)) == lhs_strata(7, 3, (0, 1), (0, 1))
    assert lhs_strata(7, 3, (0, 1), (0, 1)) != lhs_strata(7, 4, (0, 1), (0, 1))
    seeds = stratum_seeds(3, 10)
    assert len(set(seeds)) == 10 and stratum_seeds(3, 4) == seeds[:4]


def test_bins_and_phases_add_up():
    rng = np.random.default_rng(0)
    edges = bin_edges([1.15, 2.433333, 10.533333], "06:24", whole_hours=True)
    assert edges[0] == pytest.approx(0.6) and edges[-1] == 10.533333
    ends = {1.15, 2.433333, 10.533333}
    assert ends <= set(edges) and edges == sorted(edges)
    for e in set(edges) - ends:  # whole clock hours (06:24 + 0.6 h = 07:00), not within 15 min of an end
        assert abs((e - 0.6) - round(e - 0.6)) < 1e-9 and min(abs(e - x) for x in ends) > 0.25
    assert bin_edges([1.15, 2.433333, 10.533333], "06:24", whole_hours=False) == sorted(ends)
    cum = np.cumsum(rng.integers(0, 50, (len(edges), 6)), axis=0).astype(float)
    bins = time_bins(cum, edges, "06:24")
    assert sum(b["failed_attempts_mean"] for b in bins) == pytest.approx(cum[-1].mean())
    phases = phase_differences(cum, edges, [1.15, 2.433333, 10.533333])
    assert np.allclose(sum(phases), cum[-1])
