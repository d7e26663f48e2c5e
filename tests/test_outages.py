"""Outage processes: analytic checks of the bulk renewal generator and derived failover windows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.processes.distributions import Exponential, Fixed, LogNormal, Weibull
from model.processes.failover import failover_unavailability
from model.processes.outages import (
    Maintenance,
    Mixture,
    OutageProcess,
    Outages,
    SwitchPolicy,
    failover_windows,
    length_biased,
    maintenance_windows,
    merge_intervals,
    sample_outages,
    switch_delays,
)
from model.scenario.loader import DistributionSpec, Failure, RedundancyGroup


def _per_year_down(out: Outages, events=None) -> np.ndarray:
    """Share of each year's window spent down (union over the selected events)."""
    sel = np.ones(out.size, bool) if events is None else np.isin(out.event, events)
    y, a, b = merge_intervals(out.year[sel], out.start[sel], out.end[sel])
    dur = np.maximum(np.minimum(b, out.horizon) - np.maximum(a, 0.0), 0.0)
    return np.bincount(y, weights=dur, minlength=out.n_years) / out.horizon


def _z(samples: np.ndarray, expected: float) -> float:
    se = samples.std(ddof=1) / math.sqrt(samples.size)
    return (samples.mean() - expected) / se


REPAIRS = [Exponential(10.0), LogNormal(10.0, 15.0), Weibull.from_mean(0.7, 10.0), Fixed(10.0),
           Mixture((Fixed(4.0), Exponential(16.0)))]


@pytest.mark.parametrize("repair", REPAIRS, ids=lambda r: type(r).__name__)
def test_one_repairable_component_long_run_unavailability(repair):
    mtbf = 100.0
    proc = OutageProcess(("c",), rate=np.array([1 / mtbf]), repair=(repair,))
    out = sample_outages(proc, 4000, 2000.0, np.random.default_rng(11), start="stationary")
    u = _per_year_down(out)
    exact = repair.mean / (mtbf + repair.mean)  # MTTR / (MTBF + MTTR)
    assert abs(_z(u, exact)) < 4
    assert proc.steady_unavailability()[0] == pytest.approx(exact)


@pytest.mark.parametrize("repair", REPAIRS[:4], ids=lambda r: type(r).__name__)
def test_stationary_start_is_stationary_at_time_zero(repair):
    lam = 1 / 50.0
    proc = OutageProcess(("c",), rate=np.array([lam]), repair=(repair,))
    n = 40_000
    out = sample_outages(proc, n, 100.0, np.random.default_rng(3), start="stationary")
    q = repair.mean / (1 / lam + repair.mean)
    for t in (0.0, 1.0, 7.5):
        down = np.zeros(n, bool)
        m = (out.start <= t) & (out.end > t)
        down[out.year[m]] = True
        se = math.sqrt(q * (1 - q) / n)
        assert abs(down.mean() - q) < 4 * se


def test_transient_from_all_up_matches_textbook_formula():
    lam, mu = 1 / 20.0, 1 / 5.0
    proc = OutageProcess(("c",), rate=np.array([lam]), repair=(Exponential(1 / mu),))
    n = 40_000
    out = sample_outages(proc, n, 30.0, np.random.default_rng(5), start="up")
    for t in (0.5, 2.0, 6.0, 25.0):
        m = (out.start <= t) & (out.end > t)
        down = np.zeros(n, bool)
        down[out.year[m]] = True
        q = lam / (lam + mu) * (1 - math.exp(-(lam + mu) * t))
        assert abs(down.mean() - q) < 4 * math.sqrt(q * (1 - q) / n)


def test_warmup_reaches_the_stationary_value():
    lam, mu = 1 / 20.0, 1 / 5.0
    proc = OutageProcess(("c",), rate=np.array([lam]), repair=(Exponential(1 / mu),))
    n = 40_000
    out = sample_outages(proc, n, 10.0, np.random.default_rng(6), start="up", warmup_hours=200.0)
    m = (out.start <= 0.0) & (out.end > 0.0)
    q = lam / (lam + mu)
    assert abs(np.unique(out.year[m]).size / n - q) < 4 * math.sqrt(q * (1 - q) / n)


def test_mean_down_time_and_failure_count():
    repair = LogNormal(3.0, 4.0)
    lam = 1 / 97.0
    proc = OutageProcess(("c",), rate=np.array([lam]), repair=(repair,))
    out = sample_outages(proc, 3000, 5000.0, np.random.default_rng(8), start="up")
    d = out.end - out.start
    assert abs(_z(d, repair.mean)) < 4
    # failures per hour = 1 / (MTBF + MTTR) in the long run (from all-up: slightly more)
    counts = np.bincount(out.year, minlength=out.n_years).astype(float)
    assert abs(_z(counts / 5000.0, 1 / (97.0 + 3.0))) < 4.5


def test_reliawiki_deterministic_series_without_ageing_while_down():
    # A fails every 100 h, B every 120 h of operation; 10 h repairs; neither ages while the
    # series system is down: availability over 300 h is 260/300.
    proc = OutageProcess(("A", "B"), rate=np.zeros(2), repair=(Fixed(10.0), Fixed(10.0)),
                         up=(Fixed(100.0), Fixed(120.0)), clock=np.array([0, 0]))
    out = sample_outages(proc, 5, 300.0, np.random.default_rng(0))
    assert out.start[out.year == 0].tolist() == [100.0, 130.0, 220.0, 270.0]
    availability = 1 - _per_year_down(out)
    assert np.allclose(availability, 260 / 300)
    # with independent clocks the answer differs (A at 100, 210; B at 120, 250)
    own = OutageProcess(("A", "B"), rate=np.zeros(2), repair=(Fixed(10.0), Fixed(10.0)),
                        up=(Fixed(100.0), Fixed(120.0)))
    assert np.allclose(1 - _per_year_down(sample_outages(own, 1, 300.0, np.random.default_rng(0))),
                       260 / 300)
    assert sample_outages(own, 1, 300.0, np.random.default_rng(0)).start.tolist() == [100, 120, 210, 250]


def test_shared_clock_random_series_system():
    # Two exponential components in series, no ageing while the system is down: the system
    # fails at rate l1 + l2 per hour of up time, so its unavailability is
    # (l1 m1 + l2 m2) / (1 + l1 m1 + l2 m2).
    l1, l2, m1, m2 = 1 / 50.0, 1 / 80.0, 4.0, 9.0
    proc = OutageProcess(("a", "b"), rate=np.array([l1, l2]), repair=(Fixed(m1), Exponential(m2)),
                         clock=np.array([7, 7]))
    out = sample_outages(proc, 3000, 3000.0, np.random.default_rng(4), start="up", warmup_hours=500.0)
    u = _per_year_down(out)
    r = l1 * m1 + l2 * m2
    assert abs(_z(u, r / (1 + r))) < 4
    # never both down at once
    assert merge_intervals(out.year, out.start, out.end)[0].size == out.size
    with pytest.raises(ValueError, match="stationary"):
        sample_outages(proc, 10, 100.0, np.random.default_rng(0), start="stationary")


def test_non_exponential_up_times_renewal():
    up = Weibull.from_mean(2.5, 40.0)
    proc = OutageProcess(("w",), rate=np.zeros(1), repair=(Fixed(2.0),), up=(up,))
    out = sample_outages(proc, 2000, 4000.0, np.random.default_rng(9), start="stationary")
    assert abs(_z(_per_year_down(out), 2.0 / 42.0)) < 4


@pytest.mark.parametrize("dist", [Exponential(2.0), LogNormal(2.0, 3.0), Weibull(1.7, 2.0), Fixed(2.0),
                                  Mixture((Fixed(1.0), Exponential(3.0)))],
                         ids=lambda d: type(d).__name__)
def test_length_biased_mean_is_second_moment_over_mean(dist):
    x = length_biased(dist, np.random.default_rng(1), 400_000)
    expected = (dist.var + dist.mean**2) / dist.mean
    assert abs(_z(x, expected)) < 4 if dist.var > 0 else np.allclose(x, expected)


def test_reproducible_and_seed_dependent():
    proc = OutageProcess(("a", "b"), rate=np.array([0.01, 0.002]), repair=(Exponential(3.0), Fixed(1.0)))
    a = sample_outages(proc, 50, 8766.0, np.random.default_rng(42), start="stationary")
    b = sample_outages(proc, 50, 8766.0, np.random.default_rng(42), start="stationary")
    c = sample_outages(proc, 50, 8766.0, np.random.default_rng(43), start="stationary")
    assert np.array_equal(a.start, b.start) and np.array_equal(a.event, b.event)
    assert not (a.size == c.size and np.array_equal(a.start, c.start))
    # sorted by year then start; every interval overlaps the window
    key = a.year * 1e6 + a.start
    assert np.all(np.diff(key) >= 0)
    assert np.all(a.end > 0) and np.all(a.start < a.horizon)


def test_never_failing_event_has_no_outages():
    proc = OutageProcess(("x", "y"), rate=np.array([0.0, 0.1]), repair=(Fixed(1.0), Fixed(1.0)))
    out = sample_outages(proc, 10, 100.0, np.random.default_rng(0), start="stationary")
    assert not np.any(out.event == 0) and np.any(out.event == 1)


def test_merge_intervals_unions_overlaps_per_year():
    y, a, b = merge_intervals(np.array([0, 0, 0, 0, 2]), np.array([0.0, 1.0, 1.5, 9.0, 0.0]),
                              np.array([2.0, 1.2, 4.0, 10.0, 1.0]))
    assert y.tolist() == [0, 0, 2] and a.tolist() == [0.0, 9.0, 0.0] and b.tolist() == [4.0, 10.0, 1.0]


# ----------------------------------------------------------------------------- failover
def test_manual_switch_delay_distribution():
    pol = SwitchPolicy(0, (1,), "manual", detection=Exponential(1.0), switch_time=Fixed(0.25),
                       p_fail=0.3, max_attempts=3)
    d = switch_delays(pol, np.random.default_rng(2), 200_000)
    assert abs(np.isinf(d).mean() - 0.3**3) < 4 * math.sqrt(0.027 * 0.973 / d.size)
    fin = d[np.isfinite(d)]
    # E[attempts | success within 3] = (1*0.7 + 2*0.21 + 3*0.063) / 0.973
    attempts = (0.7 + 2 * 0.21 + 3 * 0.063) / 0.973
    assert abs(_z(fin, 1.0 + 0.25 * attempts)) < 4


@pytest.mark.parametrize("repair", [Exponential(4.0), LogNormal(4.0, 6.0), Fixed(4.0)],
                         ids=lambda r: type(r).__name__)
def test_failover_window_costs_lambda_times_expected_min(repair):
    lam = 1 / 200.0
    delay = Exponential(1.5)
    proc = OutageProcess(("primary",), rate=np.array([lam]), repair=(repair,))
    rng = np.random.default_rng(17)
    out = sample_outages(proc, 3000, 4000.0, rng, start="stationary")
    pol = SwitchPolicy(1, (0,), "automatic", delay=delay)
    w = failover_windows(out, [pol], rng)
    share = _per_year_down(w)
    expected = lam * repair.mean_min_with(delay) / (1 + lam * repair.mean)
    assert abs(_z(share, expected)) < 4
    # the static engines' value (model.processes.failover) is the same quantity
    spec = {"exponential": dict(mean_hours=4.0), "lognormal": dict(mean_hours=4.0, sd_hours=6.0),
            "fixed": dict(value_hours=4.0)}[repair.family]
    grp = RedundancyGroup(members=("p", "s"), policy="automatic",
                          failover_delay=DistributionSpec(distribution="exponential", mean_hours=1.5))
    f = Failure(failures_per_year=lam * 8766.0, repair=DistributionSpec(distribution=repair.family, **spec))
    assert failover_unavailability(grp, f) == pytest.approx(expected, rel=2e-3)
    # windows never outlast the primary's outage
    assert np.all(w.end - w.start <= 4.0 * 50 + 1e-9)


def test_failover_window_ends_at_repair_when_all_attempts_fail():
    out = Outages(np.array([0, 0, 0]), np.array([0, 2, 0]), np.array([1.0, 2.0, 20.0]),
                  np.array([3.0, 6.0, 25.0]), 1, 100.0)
    pol = SwitchPolicy(9, (0, 2), "manual", detection=Fixed(0.5), switch_time=Fixed(0.5), p_fail=1.0,
                       max_attempts=2)
    w = failover_windows(out, [pol], np.random.default_rng(0))
    # union of the primary's outages from both events: [1, 6) and [20, 25)
    assert w.start.tolist() == [1.0, 20.0] and w.end.tolist() == [6.0, 25.0]
    assert set(w.event.tolist()) == {9}


def test_maintenance_windows_every_year():
    w = maintenance_windows([Maintenance(0, 24.0 * 7, 4.0, 2.0)], 3, 24.0 * 28)
    assert w.size == 12 and np.allclose(w.end - w.start, 4.0)
    with pytest.raises(ValueError):
        Maintenance(0, 10.0, 11.0)
