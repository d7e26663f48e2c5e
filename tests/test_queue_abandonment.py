"""M/M/c/K+M waiting times and abandonment (model.sim.erlang.queue_outcomes): analytic checks.

Erlang C (no queue limit, nobody abandons), M/M/c/K (a queue limit, nobody abandons),
conservation of abandonments (rate out of the queue = θ × mean queue), and the tagged
caller's wait against the transient solution of its own Markov chain.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg, special

from model.sim.erlang import (
    erlang_c,
    mean_wait,
    mmck_blocking,
    mmck_wait_sf,
    queue_outcomes,
    service_level,
)


@pytest.mark.parametrize(("c", "a", "aht", "t"), [(14, 10.0, 180.0, 20.0), (98, 87.5, 35.0, 5.0),
                                                  (1, 0.5, 1.0, 0.3), (300, 280.0, 60.0, 10.0)])
def test_erlang_c_without_limit_or_abandonment(c, a, aht, t):
    o = queue_outcomes(c, np.inf, a, aht, t)
    assert float(o.answered_within) == pytest.approx(service_level(c, a, aht, t), rel=1e-12)
    assert float(o.answered) == 1.0 and float(o.abandoned) == 0.0 and float(o.blocked) == 0.0
    # mean queue = λ W (Little) with W the Erlang C mean wait
    assert float(o.mean_queue) == pytest.approx(a / aht * mean_wait(c, a, aht), rel=1e-12)
    # a long finite queue gives the same as no limit
    long = queue_outcomes(c, c + 5000, a, aht, t)
    assert float(long.answered_within) == pytest.approx(service_level(c, a, aht, t), rel=1e-9)
    # P(wait > 0) is Erlang C
    zero = queue_outcomes(c, np.inf, a, aht, 0.0)
    assert 1 - float(zero.answered_within) == pytest.approx(erlang_c(c, a), rel=1e-10)


@pytest.mark.parametrize(("c", "k", "a"), [(14, 30, 13.0), (49, 99, 64.7), (5, 5, 4.0), (10, 400, 12.0)])
def test_mmck_without_abandonment(c, k, a):
    aht, t = 35.0, 5.0
    o = queue_outcomes(c, k, a, aht, t)
    b = mmck_blocking(c, k, a)
    assert float(o.blocked) == pytest.approx(b, rel=1e-10)
    assert float(o.answered) == pytest.approx(1 - b, rel=1e-12)
    assert float(o.answered_within) == pytest.approx((1 - b) * (1 - mmck_wait_sf(c, k, a, aht, t)), rel=1e-9)


@pytest.mark.parametrize(("c", "k", "a", "patience"), [(14, 64, 13.0, 120.0), (49, 99, 64.7, 600.0),
                                                       (3, np.inf, 5.0, 2.0), (98, 1098, 120.0, 60.0)])
def test_abandonment_balances_the_queue(c, k, a, patience):
    aht = 35.0
    o = queue_outcomes(c, k, a, aht, 5.0, patience)
    total = float(o.answered + o.abandoned + o.blocked)
    assert total == pytest.approx(1.0, abs=1e-12)
    # callers leave the queue by abandoning at rate θ × (mean number waiting) = λ × P(abandon)
    assert float(o.abandoned) * a / aht == pytest.approx(float(o.mean_queue) / patience, rel=1e-9)
    # carried load = a × P(answered) equals the mean number of busy agents (work conservation)
    assert 0 <= float(o.answered_within) <= float(o.answered) <= 1
    # more patience, fewer abandon
    more = queue_outcomes(c, k, a, aht, 5.0, patience * 4)
    assert float(more.abandoned) < float(o.abandoned)


def _served_by(c: int, mu: float, theta: float, j: int, t: float) -> float:
    """P(answered by t) for a caller who finds j waiting: transient solution of its own chain."""
    n = j + 1
    q = np.zeros((n + 2, n + 2))  # positions j..0, then answered (n) or abandoned (n + 1)
    for k in range(j + 1):
        i = j - k
        move = c * mu + k * theta
        q[i, n if k == 0 else i + 1] = move
        q[i, n + 1] = theta
        q[i, i] = -(move + theta)
    return float(linalg.expm(q * t)[0, n])


def test_tagged_caller_wait_against_its_markov_chain():
    # a caller who finds j waiting ahead: positions j..0, then served; abandons at rate θ
    c, aht, patience, t = 3, 1.0, 2.0, 1.3
    mu, theta = 1 / aht, 1 / patience
    for j in (0, 1, 4, 9):
        served_by_t = _served_by(c, mu, theta, j, t)
        alpha = c * mu / theta
        closed = alpha / (alpha + j + 1) * special.betainc(j + 1, alpha + 1, -np.expm1(-theta * t))
        assert closed == pytest.approx(served_by_t, rel=1e-10)
    # and the whole service level against the stationary mixture of those chains (M/M/3/8+M)
    a, kk = 2.5, 8
    o = queue_outcomes(c, kk, a, aht, t, patience)
    lam = a / aht
    rates = [min(i, c) * mu + max(i - c, 0) * theta for i in range(1, kk + 1)]
    p = np.cumprod([1.0] + [lam / r for r in rates])
    p /= p.sum()
    sl = p[:c].sum()
    for j in range(kk - c):
        sl += p[c + j] * _served_by(c, mu, theta, j, t)
    assert float(o.answered_within) == pytest.approx(sl, rel=1e-10)
    assert float(o.blocked) == pytest.approx(p[-1], rel=1e-10)


def test_broadcasting_and_bad_input():
    o = queue_outcomes([10, 20], np.inf, 8.0, 1.0, 0.1, [5.0, np.inf])
    assert o.answered_within.shape == (2,)
    assert queue_outcomes(10, 10, 0.0, 1.0, 1.0).answered == 1.0
    assert float(queue_outcomes(0, 5, 1.0, 1.0, 1.0).blocked) == 1.0
    with pytest.raises(ValueError, match="patience"):
        queue_outcomes(10, 20, 5.0, 1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="k must be"):
        queue_outcomes(10, 5, 5.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="whole number"):
        queue_outcomes(10.5, np.inf, 5.0, 1.0, 1.0)
