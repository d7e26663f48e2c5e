"""Tests for model.processes.profiles: exact integrals, inversion and Poisson arrivals."""

from __future__ import annotations

import itertools
import math
import pickle

import numpy as np
import pytest
from scipy import stats

from model.processes.profiles import (
    UK999_HOURLY_FRACTIONS,
    UK999_NEW_YEAR_SURGES,
    UK999_PROFILE_SOURCE,
    UK999_WEEKLY_MULTIPLIERS,
    ArrivalProfile,
    Surge,
    uk999_profile,
)

SHAPED = ArrivalProfile(
    daily=[0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2],
    weekly=[1, 1, 1, 1, 1.5, 2, 0.5],
    mean_rate=50.0,
    start_weekday=2,
)
PROFILES = {
    "flat": ArrivalProfile.flat(7.0),
    "shaped": SHAPED,
    "uk999": uk999_profile(4000.0),
    "uk999-no-surges": uk999_profile(4000.0, surges=False),
    "fractional-surge": ArrivalProfile(
        surges=(Surge(100.25, 130.75, 3.0), Surge(8000.5, 8001.0, 0.0)), mean_rate=2.0
    ),
}


def _hourly_reference(p: ArrivalProfile, t0: float, t1: float) -> float:
    """Obviously correct integral: walk the interval in pieces between breakpoints of the rate."""
    cuts = [t0, t1]
    cuts += [float(h) for h in range(math.ceil(t0), math.floor(t1) + 1)]
    for s in p.surges:  # fractional surge edges, in every year the interval touches
        for year in range(math.floor(t0 / 8760) - 1, math.floor(t1 / 8760) + 2):
            cuts += [year * 8760 + s.start_hour, year * 8760 + s.end_hour]
    edges = sorted(c for c in set(cuts) if t0 <= c <= t1)
    total = 0.0
    for a, b in itertools.pairwise(edges):
        total += (b - a) * float(p.rate_at(0.5 * (a + b)))
    return total


@pytest.mark.parametrize("name", PROFILES)
def test_integrate_matches_piecewise_reference(name):
    p = PROFILES[name]
    rng = np.random.default_rng(11)
    t0 = rng.uniform(-500.0, 3 * 8760.0, 60)
    t1 = t0 + rng.exponential(30.0, 60)
    t0[:3] = [8755.3, 8757.0, 100.0]  # around New Year and the fractional surge
    t1[:3] = [8766.9, 8763.0, 131.0]
    got = p.integrate(t0, t1)
    want = np.array([_hourly_reference(p, a, b) for a, b in zip(t0, t1, strict=True)])
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-9)


@pytest.mark.parametrize("name", PROFILES)
def test_integrate_matches_fine_numerical_integral(name):
    p = PROFILES[name]
    t0, t1 = 8700.37, 8790.81  # a few days across New Year
    h = 1.0 / 256
    mid = np.arange(t0 + h / 2, t1, h)
    riemann = p.rate_at(mid).sum() * h
    rates = p.rate_at(np.arange(t0, t1, 0.5))
    n_jumps = np.count_nonzero(np.diff(rates)) + 4
    bound = n_jumps * rates.max() * h  # midpoint rule error for a step function
    assert abs(p.integrate(t0, t1) - riemann) <= bound
    assert bound < 0.01 * riemann  # the check is sharp enough to see a misplaced hour


def test_flat_profile_is_rate_times_duration():
    p = ArrivalProfile.flat(12.5)
    t0 = np.array([0.0, 3.3, 1e6, -40.0])
    t1 = t0 + np.array([1.0, 0.01, 1.0 / 3600, 1000.0])
    np.testing.assert_allclose(p.integrate(t0, t1), 12.5 * (t1 - t0), rtol=1e-9)
    assert p.rate_at(123.4) == 12.5
    assert p.integrate(5.0, 2.0) == pytest.approx(-37.5)


def test_weeks_days_and_periods():
    p = SHAPED
    starts = np.array([0.0, 13.7, 500.25, 10_000.0])
    np.testing.assert_allclose(p.integrate(starts, starts + 168.0), 168 * 50.0, rtol=1e-12)
    weekly = np.asarray(SHAPED.weekly)
    for day in range(7):  # t = 0 is a Wednesday (start_weekday=2)
        got = p.integrate(24.0 * day, 24.0 * (day + 1))
        assert got == pytest.approx(24 * 50.0 * weekly[(day + 2) % 7], rel=1e-12)
    assert p.rate_at(0.5) == 0.0 and p.rate_at(1.5) == 0.0  # 00:00-02:00 has no calls in this shape
    # far from t = 0 the integral of a short interval keeps full precision (period arithmetic)
    t = 1.0 / 3 + 168.0 * 100_000
    assert p.integrate(t, t + 1 / 60) == pytest.approx(p.integrate(1 / 3, 1 / 3 + 1 / 60), rel=1e-9)


def test_uk999_default_profile():
    p = uk999_profile(35e6 / 8760)
    assert p.source == UK999_PROFILE_SOURCE and "assumption:" in UK999_PROFILE_SOURCE
    np.testing.assert_allclose(p.daily, np.asarray(UK999_HOURLY_FRACTIONS) * 24 / sum(UK999_HOURLY_FRACTIONS))
    assert np.mean(UK999_WEEKLY_MULTIPLIERS) == pytest.approx(1.0) and UK999_WEEKLY_MULTIPLIERS[5] == 1.12
    # long-run mean is the mean rate, surges included
    assert p.integrate(0.0, p.period_hours) == pytest.approx(35e6 * 7, rel=1e-12)
    years = p.integrate(8760.0 * np.arange(7), 8760.0 * np.arange(1, 8))
    np.testing.assert_allclose(years, 35e6, rtol=2e-3)  # weekday drift only
    # New Year's Eve 21:00-03:00 carries about half a mean day's calls, New Year's Day 115/88 of one;
    # exactly so (up to the surge normalisation, < 0.2 %) without the weekday effect
    mean_day = 35e6 / 365
    no_week = ArrivalProfile(
        daily=UK999_HOURLY_FRACTIONS, surges=UK999_NEW_YEAR_SURGES, mean_rate=35e6 / 8760
    )
    for year in range(1, 7):
        nye = no_week.integrate(8760.0 * year - 3, 8760.0 * year + 3)
        nyd = no_week.integrate(8760.0 * year, 8760.0 * year + 24)
        assert nye / mean_day == pytest.approx(0.5, rel=2e-3)
        assert nyd / mean_day == pytest.approx(115 / 88, rel=2e-3)
        # with the weekday effect: within the weekly multipliers' range
        ratio = p.integrate(8760.0 * year - 3, 8760.0 * year + 3) / nye
        assert 0.98 * 0.997 < ratio < 1.12 * 1.003
    flat_year = uk999_profile(1.0, surges=False)
    assert flat_year.period_hours == 168 and len(UK999_NEW_YEAR_SURGES) == 2


def test_cumulative_inverse_round_trip():
    for p in PROFILES.values():
        t = np.array([0.0, 0.3, 2.5, 77.7, 8758.1, 20_000.4, 1e5])
        back = p.inverse_cumulative(p.cumulative(t))
        # where the rate is zero the inverse is the start of the flat stretch; elsewhere exact
        np.testing.assert_allclose(p.cumulative(back), p.cumulative(t), rtol=1e-12, atol=1e-9)
        pos = p.rate_at(t) > 0
        np.testing.assert_allclose(back[pos], t[pos], rtol=1e-10, atol=1e-9)
    with pytest.raises(ValueError, match="zero rate everywhere"):
        ArrivalProfile.flat(0.0).inverse_cumulative(1.0)


def test_arrivals_counts_match_expectation():
    p = uk999_profile(300.0)
    rng = np.random.default_rng(999)
    t0 = rng.uniform(0, 3 * 8760.0, 400)
    t1 = t0 + rng.exponential(2.0, 400)
    scale = rng.uniform(0.1, 2.0, 400)
    times, counts = p.sample_arrivals(rng, t0, t1, scale)
    expected = scale * p.integrate(t0, t1)
    assert counts.shape == (400,) and times.size == counts.sum()
    z = (counts.sum() - expected.sum()) / math.sqrt(expected.sum())
    assert abs(z) < 4
    # per-interval counts are Poisson: chi-square of the standardised counts
    chi2 = float((((counts - expected) ** 2) / expected).sum())
    assert stats.chi2.sf(chi2, df=400) > 1e-4
    owner = np.repeat(np.arange(400), counts)
    assert np.all((times >= t0[owner]) & (times <= t1[owner]))
    same = owner[1:] == owner[:-1]
    assert np.all(np.diff(times)[same] >= 0)  # sorted within each interval


def test_arrival_times_follow_the_profile_shape():
    """Within one week the times are distributed like rate(t)/Λ: chi-square on hourly bins."""
    p = SHAPED
    times, counts = p.sample_arrivals(np.random.default_rng(5), 0.0, 168.0, scale=20.0)
    assert counts.shape == (1,)
    observed = np.bincount(np.floor(times).astype(int), minlength=168)
    expected = counts[0] * p.integrate(np.arange(168.0), np.arange(1.0, 169.0)) / p.integrate(0.0, 168.0)
    pos = expected > 0
    assert np.all(observed[~pos] == 0)  # nobody calls in the zero-rate hours
    chi2 = float((((observed[pos] - expected[pos]) ** 2) / expected[pos]).sum())
    assert stats.chi2.sf(chi2, df=int(pos.sum()) - 1) > 1e-4
    # within an hour the times are uniform (constant rate): KS on the fractional parts
    frac = times - np.floor(times)
    assert stats.kstest(frac, "uniform").pvalue > 1e-4


def test_arrivals_reproducible_and_validated():
    p = SHAPED
    a = p.sample_arrivals(np.random.default_rng(1), [0.0, 30.0], [10.0, 40.0])
    b = p.sample_arrivals(np.random.default_rng(1), [0.0, 30.0], [10.0, 40.0])
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    times, counts = p.sample_arrivals(np.random.default_rng(1), [0.0, 5.0], [0.0, 6.0], [1.0, 0.0])
    assert counts.tolist() == [0, 0] and times.size == 0
    with pytest.raises(ValueError, match="t0 <= t1"):
        p.sample_arrivals(np.random.default_rng(1), 5.0, 4.0)
    with pytest.raises(TypeError, match="Generator"):
        p.sample_arrivals(1, 0.0, 1.0)


def test_pickle_ships_parameters_and_rebuilds_tables():
    p = uk999_profile(4000.0)
    blob = pickle.dumps(p)
    assert len(blob) < 5000
    q = pickle.loads(blob)
    assert q == p and q.period_hours == p.period_hours
    t = np.array([0.5, 8759.5, 30_000.25])
    np.testing.assert_array_equal(q.integrate(t, t + 1.0), p.integrate(t, t + 1.0))


def test_with_rate_and_start_weekday():
    q = SHAPED.with_rate(100.0)
    assert q.integrate(0.0, 168.0) == pytest.approx(2 * SHAPED.integrate(0.0, 168.0))
    sat = ArrivalProfile(weekly=[1, 1, 1, 1, 1, 3, 1], start_weekday=5)
    assert sat.rate_at(12.0) == pytest.approx(3 * 7 / 9) and sat.rate_at(36.0) == pytest.approx(7 / 9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"daily": [1.0] * 23}, "daily: needs exactly 24 values"),
        ({"weekly": [1, 1, 1, 1, 1, 1, -1]}, "weekly: values must be finite, >= 0"),
        ({"daily": [0.0] * 24}, "not all 0"),
        ({"mean_rate": -1.0}, "mean_rate = -1.0 is not allowed"),
        ({"start_weekday": 7}, "start_weekday = 7 is not allowed"),
        ({"surges": ("NYE",)}, "every item must be a Surge"),
    ],
)
def test_profile_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ArrivalProfile(**kwargs)


def test_surge_validation():
    with pytest.raises(ValueError, match="end_hour must be after start_hour"):
        Surge(5.0, 5.0, 2.0)
    with pytest.raises(ValueError, match="factor = -1"):
        Surge(0.0, 5.0, -1.0)
    with pytest.raises(ValueError, match="longer than a year"):
        ArrivalProfile(surges=(Surge(0.0, 9000.0, 2.0),))
