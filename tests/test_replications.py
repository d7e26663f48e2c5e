"""Summaries of replications (model.metrics.replications): spread, paired savings, rank correlations."""

from __future__ import annotations

import numpy as np
import pytest

from model.metrics.replications import paired_saving, rank_correlations, spread


def test_paired_saving_recovers_a_known_shift():
    rng = np.random.default_rng(3)
    common = rng.normal(1000, 300, 500)
    s = paired_saving(common + rng.normal(0, 10, 500), common - 50 + rng.normal(0, 10, 500))
    assert abs(s["mean"] - 50) < 4 * s["sd_paired"] / np.sqrt(500)
    assert s["mean_ci95"][0] < 50 < s["mean_ci95"][1]
    assert s["sd_paired"] < 0.1 * s["sd_independent"]
    assert s["share_of_replications_saving"] > 0.99


def test_paired_saving_interval_covers_at_its_rate():
    """Over many small experiments with a true saving of 2, the 95 % interval covers it ~95 % of the time."""
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(400):
        a = rng.normal(10, 3, 40)
        d = paired_saving(a, a - 2 + rng.normal(0, 1, 40))
        hits += d["mean_ci95"][0] <= 2 <= d["mean_ci95"][1]
    # binomial(400, 0.95), |z| < 4, plus the normal interval's slight undercoverage at n = 40 (~0.6 %)
    assert abs(hits - 380) < 4 * np.sqrt(400 * 0.95 * 0.05) + 400 * 0.01


def test_spread_and_shapes():
    assert spread(np.arange(101.0)) == {"median": 50.0, "p05": 5.0, "p95": 95.0, "mean": 50.0}
    with pytest.raises(ValueError, match="same shape"):
        paired_saving(np.ones(3), np.ones(4))


def test_rank_correlations_skip_constant_inputs():
    x = np.arange(20.0)
    rho = rank_correlations({"up": x, "down": -np.exp(x), "flat": np.zeros(20), "short": x[:5]}, x ** 2)
    assert rho == {"up": 1.0, "down": -1.0}
    assert rank_correlations({"up": x}, np.ones(20)) == {}
