"""Rank-regression importance (model.metrics.rank_importance) against an analytic case.

For ``y = a . z + s * e`` with independent standard normal ``z`` and ``e``, the Pearson
correlation of ``z_i`` with ``y`` is ``a_i / sqrt(|a|^2 + s^2)`` and, the pair being
bivariate normal, its Spearman correlation is ``(6 / pi) asin(rho / 2)``. The ranks of
independent inputs are uncorrelated, so the population rank-regression coefficient of
input ``i`` is that Spearman correlation, its square is the input's share of the rank
variance, and the shares add up to the population R^2. The inputs are given as unit-cube
coordinates (``z = Phi^-1(u)``), as the flagship passes its Sobol design: ranks do not
change under a monotone map.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.stats import qmc

from model.metrics.rank_importance import rank_importance

A = np.array([3.0, -2.0, 1.0, 0.0])
NOISE = 2.0


def analytic_shares(a: np.ndarray, s: float) -> np.ndarray:
    rho = a / np.sqrt((a ** 2).sum() + s ** 2)
    return (6 / np.pi * np.arcsin(rho / 2)) ** 2


def draws(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    u = qmc.Sobol(A.size + 1, scramble=True, seed=seed).random(n)
    z = stats.norm.ppf(u)
    return u[:, :-1], z[:, :-1] @ A + NOISE * z[:, -1]


def test_shares_match_the_analytic_values_within_their_intervals():
    truth = analytic_shares(A, NOISE)
    u, y = draws(256, seed=5)
    imp = rank_importance(u, y, ["a", "b", "c", "d"], seed=2)
    rows = {r["input"]: r for r in imp["inputs"]}
    for name, t in zip("abc", truth[:3], strict=True):
        r = rows[name]
        assert r["share_p05"] <= t <= r["share_p95"], (name, t, r)
    # the input with no effect: its interval reaches below the smallest true share
    assert rows["d"]["share_p95"] < truth[2]
    assert [r["input"] for r in imp["inputs"]] == ["a", "b", "c", "d"]
    assert [rows[k]["direction"] for k in "abc"] == [1, -1, 1]
    # shares add up to R^2, which estimates the sum of the analytic shares
    assert sum(r["share"] for r in imp["inputs"]) == pytest.approx(imp["r2"], rel=1e-9)
    assert abs(imp["r2"] - truth.sum()) < 0.05  # 1 - R^2 ~ 0.38: its sd at n = 256 is ~0.02


def test_intervals_cover_the_analytic_share_at_about_their_rate():
    """Over 60 independent designs the 90 % interval of the largest share covers it ~90 % of the time."""
    truth = analytic_shares(A, NOISE)[0]
    reps = 60
    hits = 0
    for k in range(reps):
        u, y = draws(128, seed=100 + k)
        r = next(r for r in rank_importance(u, y, list("abcd"), seed=k, bootstrap=200)["inputs"]
                 if r["input"] == "a")
        hits += r["share_p05"] <= truth <= r["share_p95"]
    # binomial(60, 0.9): mean 54, sd 2.3; a percentile bootstrap may under-cover by a few points
    assert hits >= 54 - 4 * np.sqrt(reps * 0.9 * 0.1) - 0.05 * reps


def test_too_few_draws_and_wrong_names_are_refused():
    u, y = draws(4, seed=1)
    with pytest.raises(ValueError, match="more draws"):
        rank_importance(u, y, list("abcd"))
    u, y = draws(64, seed=1)
    with pytest.raises(ValueError, match="names"):
        rank_importance(u, y, list("abc"))


def test_noise_alone_gives_the_chance_r2():
    """With an output unrelated to the inputs, R^2 is about d / (n - 1), the value the result states."""
    rng = np.random.default_rng(8)
    names = [str(j) for j in range(19)]
    r2 = [rank_importance(rng.random((64, 19)), rng.random(64), names, bootstrap=2)["r2"]
          for _ in range(40)]
    null = 19 / 63
    # R^2 of noise ~ Beta(d/2, (n-d-1)/2): sd ~0.08; the mean of 40 within 4 standard errors
    assert abs(np.mean(r2) - null) < 4 * 0.08 / np.sqrt(40)
