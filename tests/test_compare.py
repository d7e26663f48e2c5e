"""Comparing strategies with common random numbers: paired intervals are far narrower.

The same seed gives every strategy the same outage history for every basic event
it shares with the status quo (streams keyed by name), so year-by-year differences
remove most of the between-year variance. The test measures it against a truly
independent run of the strategy (another seed).
"""

from __future__ import annotations

import numpy as np
import pytest

from model.metrics.compare import compare_strategies, paired_difference, tail_quantile
from model.scenario.loader import load_scenario
from model.scenario.strategies import apply_strategies, load_strategy
from model.sim.engine import simulate


def test_paired_difference_by_hand():
    d = paired_difference(np.array([3.0, 5.0, 7.0]), np.array([1.0, 4.0, 4.0]))
    assert d["mean"] == pytest.approx(2.0)
    assert d["std_error"] == pytest.approx(np.std([2.0, 1.0, 3.0], ddof=1) / np.sqrt(3))
    assert d["ci_low"] < 2.0 < d["ci_high"]


def test_tail_quantile_interval_brackets_the_quantile():
    x = np.arange(1000.0)
    t = tail_quantile(x, 0.9)
    assert t["ci_low"] <= t["value"] <= t["ci_high"]
    assert 870 <= t["ci_low"] < 900 < t["ci_high"] <= 930


@pytest.fixture(scope="module")
def uk():
    return load_scenario("uk999")


def test_crn_holds_when_a_strategy_adds_components(uk):
    """second_cha adds a platform and a centre: every other event keeps its history."""
    comp = compare_strategies(uk, [[load_strategy("second_cha")], [load_strategy("public_diversion")]],
                              years=40, seed=3, chunk_years=20)
    by = {o.name: o for o in comp.outcomes}
    a = comp.avoided(by["public_diversion"])
    assert a["mean"] > 0
    assert a["std_error"] * 2 < a["independent_std_error"]
    b = comp.avoided(by["second_cha"])
    # second_cha also avoids the networks' 999 switching-site outages (uk999 sites), an effect that itself
    # varies much from year to year, so pairing gains less here than for public_diversion
    assert b["std_error"] * 1.5 < b["independent_std_error"]


def test_same_result_on_one_process_and_two(uk):
    """The strategies run through the runner: a pool of two gives the identical years."""
    sets = [[load_strategy("public_diversion")], [load_strategy("automatic_failover")]]
    one = compare_strategies(uk, sets, years=20, seed=5, chunk_years=10, workers=1)
    two = compare_strategies(uk, sets, years=20, seed=5, chunk_years=10, workers=2, backend="processes")
    for a, b in zip((one.baseline, *one.outcomes), (two.baseline, *two.outcomes), strict=True):
        assert a.name == b.name
        assert np.array_equal(a.failed_calls, b.failed_calls)
        assert np.array_equal(a.genuine_calls, b.genuine_calls)


def test_paired_ci_narrower_than_two_independent_runs(uk):
    strat = apply_strategies(uk, [load_strategy("public_diversion")])
    base = simulate(uk, years=40, seed=11, chunk_years=20).tally.column("unreachable")
    same = simulate(strat, years=40, seed=11, chunk_years=20).tally.column("unreachable")
    other = simulate(strat, years=40, seed=12, chunk_years=20).tally.column("unreachable")
    paired = paired_difference(base, same)
    independent = paired_difference(base, other)
    # both estimate the same effect; the CRN interval is at least twice as narrow
    assert abs(paired["mean"] - independent["mean"]) < 4 * independent["std_error"]
    assert paired["std_error"] * 2 < independent["std_error"]

