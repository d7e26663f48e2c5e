"""Tests for model.sim.erlang: published values, exact cross-checks and monotonicity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from model.sim.erlang import (
    carried_and_lost,
    erlang_b,
    erlang_b_load,
    erlang_b_recursive,
    erlang_c,
    log_erlang_b,
    mean_wait,
    mmck_blocking,
    mmck_wait_sf,
    redial_fixed_point,
    servers_for_blocking,
    service_level,
)

# ----------------------------------------------------------------------------- published values


def test_reference_vectors_from_traffic_notes():
    # traffic-and-capacity.md, section 1 (computed there and cross-checked by pyworkforce / R ErlangC)
    assert round(erlang_b(30, 25), 4) == 0.0526
    assert round(erlang_b(30.5, 25), 5) == 0.04639
    assert erlang_c(14, 10) == pytest.approx(0.1741319, abs=5e-8)
    assert service_level(14, 10, aht=3.0, t=20 / 60) == pytest.approx(0.88835, abs=5e-6)


# Standard Erlang-B tables (offered Erlangs for a grade of service), as printed (3-4 significant digits).
ERLANG_B_TABLE = [
    (0.01, 1, "0.0101"), (0.01, 2, "0.153"), (0.01, 5, "1.361"), (0.01, 10, "4.461"), (0.01, 20, "12.03"),
    (0.01, 30, "20.34"), (0.01, 50, "37.90"), (0.01, 100, "84.06"),
    (0.001, 2, "0.0458"), (0.001, 5, "0.762"), (0.001, 10, "3.092"), (0.001, 20, "9.411"),
    (0.001, 30, "16.68"), (0.001, 50, "32.51"), (0.001, 100, "75.24"),
]  # fmt: skip


@pytest.mark.parametrize(("gos", "c", "printed"), ERLANG_B_TABLE)
def test_erlang_b_table(gos, c, printed):
    half_unit = 0.5 * 10.0 ** -len(printed.split(".")[1])  # the table rounds to its last printed digit
    assert abs(erlang_b_load(c, gos) - float(printed)) <= half_unit * (1 + 1e-9)
    # forward direction: the printed load gives the grade of service to the table's precision
    assert erlang_b(c, float(printed)) == pytest.approx(gos, rel=0.01)


def test_servers_for_blocking_is_the_smallest_sufficient_integer():
    a = np.array([0.5, 4.461, 25.0, 84.06, 950.0, 5200.0])
    n = servers_for_blocking(a, 0.01)
    assert np.all(erlang_b(n, a) <= 0.01)
    assert np.all(erlang_b(n - 1, a) > 0.01)
    assert servers_for_blocking(84.06, 0.01) == 100


# ----------------------------------------------------------------------------- Erlang B numerics


@pytest.mark.parametrize(
    ("c", "a"),
    [(30, 25), (1000, 950), (5000, 5200), (200, 100), (1, 0.5), (3, 10.0), (10, 1000.0), (50, 52.0),
     (50, 51.0), (50, 49.0), (20_000, 25_000.0)],
)  # fmt: skip
def test_gamma_form_matches_recursion(c, a):
    assert erlang_b(c, a) == pytest.approx(erlang_b_recursive(c, a), rel=1e-12)


def test_gamma_form_matches_recursion_on_a_grid():
    c = np.arange(0, 400)[:, None]
    a = np.geomspace(0.01, 2000.0, 60)[None, :]
    b, r = erlang_b(c, a), erlang_b_recursive(c, a)
    ok = r > 1e-290  # recursion itself underflows below that
    np.testing.assert_allclose(b[ok], r[ok], rtol=1e-12)
    assert np.all(b[~ok] < 1e-280)


def test_large_c_against_recursion():
    c = np.array([100_000, 100_000, 100_000, 100_000])
    a = np.array([97_000.0, 99_000.0, 100_000.0, 101_000.0])
    np.testing.assert_allclose(erlang_b(c, a), erlang_b_recursive(c, a), rtol=1e-12)


def test_edges_and_tiny_blocking():
    assert erlang_b(0, 0) == 1.0 and erlang_b(0, 7.0) == 1.0
    assert erlang_b(5, 0) == 0.0 and log_erlang_b(5, 0) == -np.inf
    assert erlang_b(200, 100) == pytest.approx(4.71697060279262e-19, rel=1e-12)
    # blocking near and below the smallest normal double: no NaN, log form stays finite
    c = np.array([1000, 2000, 10_000, 100_000])
    a = np.array([400.0, 700.0, 10.0, 50_000.0])
    lb = log_erlang_b(c, a)
    assert np.all(np.isfinite(lb)) and np.all(lb < -300)
    b = erlang_b(c, a)
    assert not np.any(np.isnan(b)) and np.all(b >= 0)
    # log form equals log of the direct formula where the direct formula is representable
    lb_direct = (
        c[:1] * np.log(a[:1])
        - special.gammaln(c[:1] + 1)
        - special.logsumexp(np.arange(c[0] + 1) * np.log(a[0]) - special.gammaln(np.arange(c[0] + 1) + 1))
    )
    assert lb[0] == pytest.approx(lb_direct[0], rel=1e-12)
    b_small = erlang_b(1000, 234.00963373714134)  # 1e-300, still a normal double
    assert b_small == pytest.approx(1e-300, rel=1e-9)
    assert b_small == pytest.approx(erlang_b_recursive(1000, 234.00963373714134), rel=1e-12)
    assert erlang_b(1, 5e-324) == 0.0  # subnormal load: no overflow warning, no NaN


def test_no_nan_anywhere_on_a_wide_grid():
    c = np.geomspace(1, 1e5, 40)[:, None]
    a = np.concatenate([[0.0], np.geomspace(1e-3, 1e6, 80)])[None, :]
    b = erlang_b(c, a)
    assert b.shape == (40, 81)
    assert np.all(np.isfinite(b)) and np.all((b >= 0) & (b <= 1))
    assert np.all(np.diff(b, axis=1) >= -1e-15)  # increasing in load


def test_non_integer_c_interpolates_continuously():
    a = 25.0
    b30, b305, b31 = erlang_b([30, 30.5, 31], a)
    assert b31 < b305 < b30
    assert erlang_b(30 + 1e-9, a) == pytest.approx(b30, rel=1e-7)
    with pytest.raises(ValueError, match="integer c"):
        erlang_b_recursive(30.5, 25)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="c = -1"):
        erlang_b(-1, 3)
    with pytest.raises(ValueError, match="a = nan"):
        erlang_b(3, float("nan"))


# ----------------------------------------------------------------------------- Erlang C


def test_erlang_c_identity_and_overload():
    c = np.arange(1, 60)
    a = 0.8 * c
    b = erlang_b(c, a)
    np.testing.assert_allclose(erlang_c(c, a), c * b / (c - a * (1 - b)), rtol=1e-12)
    assert erlang_c(10, 10) == 1.0 and erlang_c(10, 12) == 1.0
    assert service_level(10, 12, 1.0, 5.0) == 0.0
    assert mean_wait(10, 12, 1.0) == np.inf
    # Erlang C via the M/M/c/K birth-death chain with a very long queue
    assert erlang_c(14, 10) == pytest.approx(1 - sum(_birth_death(14, 214, 10.0)[:14]), rel=1e-9)
    assert mean_wait(14, 10, 180.0) == pytest.approx(180.0 * erlang_c(14, 10) / 4, rel=1e-14)


# ----------------------------------------------------------------------------- M/M/c/K


def _birth_death(c: int, k: int, a: float) -> np.ndarray:
    """Stationary distribution of M/M/c/K by detailed balance, π_{n+1}/π_n = a / min(n+1, c), in logs."""
    n = np.arange(1, k + 1)
    logp = np.concatenate([[0.0], np.cumsum(np.log(a) - np.log(np.minimum(n, c)))])
    return np.exp(logp - special.logsumexp(logp))


def _generator_solution(c: int, k: int, a: float) -> np.ndarray:
    """The same distribution from the generator matrix: π Q = 0, Σ π = 1 (small k only)."""
    n = np.arange(k + 1)
    gen = np.zeros((k + 1, k + 1))
    gen[n[:-1], n[:-1] + 1] = a  # arrivals, unit service rate
    gen[n[1:], n[1:] - 1] = np.minimum(n[1:], c)
    gen[n, n] = -gen.sum(axis=1)
    lhs = gen.T.copy()
    lhs[-1] = 1.0  # replace one (redundant) balance equation by the normalisation
    rhs = np.zeros(k + 1)
    rhs[-1] = 1.0
    return np.linalg.solve(lhs, rhs)


def _wait_sf_direct(c: int, k: int, a: float, aht: float, t: float) -> float:
    p = _birth_death(c, k, a)
    j = np.arange(k - c)
    return float((p[c + j] * stats.poisson.cdf(j, c * t / aht)).sum() / (1 - p[k]))


MMCK_CASES = [(30, 40, 25.0), (10, 20, 12.0), (10, 20, 10.0), (5, 105, 3.0), (5, 105, 8.0), (1, 50, 0.9),
              (100, 130, 95.0), (100, 100, 95.0), (3, 4, 30.0)]  # fmt: skip


@pytest.mark.parametrize(("c", "k", "a"), MMCK_CASES)
def test_mmck_blocking_matches_generator_solution(c, k, a):
    np.testing.assert_allclose(_generator_solution(c, k, a), _birth_death(c, k, a), rtol=1e-8, atol=1e-13)
    assert mmck_blocking(c, k, a) == pytest.approx(_birth_death(c, k, a)[-1], rel=1e-11)


@pytest.mark.parametrize(("c", "k", "a"), [x for x in MMCK_CASES if x[1] > x[0]])
@pytest.mark.parametrize("t", [0.0, 0.05, 0.3, 2.0])
def test_mmck_wait_tail_matches_direct_sum(c, k, a, t):
    expected = _wait_sf_direct(c, k, a, 1.0, t)
    assert mmck_wait_sf(c, k, a, 1.0, t) == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_mmck_wait_tail_at_and_near_rho_one():
    for a in (10.0, 10.0 * (1 + 1e-12), 10.0 * (1 - 1e-9), 10.0 * (1 + 1e-6)):
        expected = _wait_sf_direct(10, 60, a, 1.0, 0.7)
        assert mmck_wait_sf(10, 60, a, 1.0, 0.7) == pytest.approx(expected, rel=1e-8)


def test_mmck_large_c_is_stable_and_consistent():
    c = np.array([2000, 20_000, 100_000])
    a = np.array([1900.0, 20_100.0, 99_000.0])
    k = c + 200
    pb = mmck_blocking(c, k, a)
    w = mmck_wait_sf(c, k, a, 1.0, 0.001)
    assert np.all(np.isfinite(pb)) and np.all(np.isfinite(w))
    assert pb[0] == pytest.approx(_birth_death(2000, 2200, 1900.0)[-1], rel=1e-8)
    assert w[0] == pytest.approx(_wait_sf_direct(2000, 2200, 1900.0, 1.0, 0.001), rel=1e-8)
    # overloaded with a queue: loss tends to the fluid value 1 - c/a
    assert mmck_blocking(20_000, 20_200, 25_000.0) == pytest.approx(1 - 20_000 / 25_000, rel=1e-3)


def test_mmck_limits():
    assert mmck_blocking(30, 30, 25) == pytest.approx(erlang_b(30, 25), rel=1e-14)
    assert mmck_blocking(10, np.inf, 8.0) == 0.0
    assert mmck_blocking(10, np.inf, 12.0) == pytest.approx(1 / 6)
    assert mmck_blocking(0, 5, 1.0) == 1.0 and mmck_blocking(4, 9, 0.0) == 0.0
    # a long queue converges to M/M/c: wait tail = Erlang C tail = 1 - service level
    tail = 1 - service_level(14, 10, 180, 20)
    assert mmck_wait_sf(14, 10_014, 10.0, 180.0, 20.0) == pytest.approx(tail, rel=1e-10)
    assert mmck_wait_sf(14, np.inf, 10.0, 180.0, 20.0) == pytest.approx(tail, rel=1e-14)
    with pytest.raises(ValueError, match="queue places"):
        mmck_blocking(10, 9, 1.0)
    with pytest.raises(ValueError, match="queue places"):
        mmck_blocking(10, 10.5, 1.0)


# ----------------------------------------------------------------------------- monotonicity (hypothesis)

loads = st.floats(min_value=0.0, max_value=5000.0, allow_nan=False)
servers = st.floats(min_value=0.0, max_value=5000.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    c=servers,
    a=loads,
    da=st.floats(min_value=1e-6, max_value=100),
    dc=st.floats(min_value=1e-6, max_value=50),
)
def test_erlang_b_monotone(c, a, da, dc):
    b = erlang_b(c, a)
    assert 0.0 <= b <= 1.0
    assert erlang_b(c, a + da) >= b * (1 - 1e-12)
    assert erlang_b(c + dc, a) <= b * (1 + 1e-12)


@settings(max_examples=100, deadline=None)
@given(
    c=st.integers(min_value=1, max_value=300),
    q=st.integers(min_value=0, max_value=300),
    a=st.floats(min_value=1e-3, max_value=600.0),
    t=st.floats(min_value=0.0, max_value=5.0),
)
def test_mmck_monotone(c, q, a, t):
    pb = mmck_blocking(c, c + q, a)
    assert 0.0 <= pb <= erlang_b(c, a) * (1 + 1e-12)
    assert mmck_blocking(c, c + q + 1, a) <= pb * (1 + 1e-12)
    assert erlang_c(c, a) >= erlang_b(c, a) * (1 - 1e-12)
    w = mmck_wait_sf(c, c + q, a, 1.0, t)
    assert 0.0 <= w <= 1.0
    assert mmck_wait_sf(c, c + q, a, 1.0, t + 0.1) <= w * (1 + 1e-9) + 1e-300


# ----------------------------------------------------------------------------- intervals


def test_carried_and_lost_per_interval():
    rate = np.array([0.0, 100.0, 500.0, 80.0, 120.0])
    cap = np.array([30, 30, 30, 0, 30])
    dur = np.array([1.0, 2.0, 0.5, 3.0, 1.5])
    s = carried_and_lost(rate, cap, 0.25, duration=dur)
    np.testing.assert_allclose(s.carried + s.lost, rate * dur, rtol=1e-14)
    np.testing.assert_allclose(s.lost_share[[1, 2, 4]], erlang_b(30, rate[[1, 2, 4]] * 0.25), rtol=1e-14)
    assert s.lost[0] == 0 and s.lost_share[3] == 1.0 and s.carried[3] == 0
    q = carried_and_lost(rate, cap, 0.25, queue_limit=10)
    np.testing.assert_allclose(q.lost_share, mmck_blocking(cap, cap + 10, rate * 0.25), rtol=1e-14)
    assert np.all(q.lost_share <= s.lost_share)
    # zero patience: every caller who would queue is lost as well
    z = carried_and_lost(120.0, 30, 0.25, queue_limit=10, patience=0.0)
    pb = mmck_blocking(30, 40, 30.0)
    assert z.lost_share == pytest.approx(pb + (1 - pb) * mmck_wait_sf(30, 40, 30.0, 0.25, 0.0))
    long = carried_and_lost(120.0, 30, 0.25, queue_limit=10, patience=np.inf)
    assert long.lost_share == pytest.approx(pb)


# ----------------------------------------------------------------------------- redial


def test_redial_fixed_point_solves_the_orbit_equation():
    a0 = np.array([0.0, 5.0, 25.0, 40.0, 80.0])
    c = np.array([30, 30, 30, 30, 60])
    p = np.array([0.85, 0.85, 0.85, 0.5, 0.95])
    s = redial_fixed_point(a0, lambda a: erlang_b(c, a), p)
    b = erlang_b(c, s.total_load)
    np.testing.assert_allclose(s.blocking, b, rtol=1e-12)
    np.testing.assert_allclose(s.total_load, a0 + p * b * s.total_load, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s.first_try + s.after_redial + s.abandoned, 1.0, rtol=1e-12)
    np.testing.assert_allclose(s.attempts_per_caller[1:], s.total_load[1:] / a0[1:], rtol=1e-10)
    assert s.total_load[0] == 0 and s.abandoned[0] == 0
    # the "extended Erlang B" iteration E <- E0 + R E B(E) converges to the same load
    e = a0.copy()
    for _ in range(5000):
        e_next = a0 + p * e * erlang_b(c, e)
        if np.all(np.abs(e_next - e) <= 1e-13 * np.maximum(e, 1.0)):
            break
        e = e_next
    np.testing.assert_allclose(s.total_load, e, rtol=1e-8)


def test_redial_limits():
    no = redial_fixed_point(25.0, lambda a: erlang_b(30, a), 0.0)
    assert float(no.total_load) == pytest.approx(25.0)
    assert float(no.abandoned) == pytest.approx(erlang_b(30, 25))
    one = redial_fixed_point(40.0, lambda a: erlang_b(30, a), 1.0, max_attempts=1)
    assert float(one.abandoned) == pytest.approx(erlang_b(30, 40.0), rel=1e-10)
    persistent = redial_fixed_point(20.0, lambda a: erlang_b(30, a), 1.0, max_attempts=50)
    assert float(persistent.abandoned) < 1e-12
    idle = redial_fixed_point(2000.0, lambda a: erlang_b(4000, a), 0.85)  # B underflows to 0
    assert float(idle.total_load) == 2000.0 and float(idle.first_try) == 1.0
    with pytest.raises(ValueError, match="no stationary solution"):
        redial_fixed_point(20.0, lambda a: erlang_b(30, a), 1.0)


def test_redial_shares_match_a_caller_simulation():
    """Simulate callers attempt by attempt against the fixed-point blocking (vectorised, fixed seed)."""
    c, a0, p, kmax = 30, 32.0, 0.8, 4
    s = redial_fixed_point(a0, lambda a: erlang_b(c, a), p, max_attempts=kmax)
    rng = np.random.default_rng(20240625)
    n = 200_000
    b = float(s.blocking)
    blocked = rng.random((n, kmax)) < b
    redial = rng.random((n, kmax)) < p
    # caller reaches attempt k+1 iff attempts 1..k were all blocked and redialled
    reach = np.ones((n, kmax), dtype=bool)
    reach[:, 1:] = np.cumprod(blocked[:, :-1] & redial[:, :-1], axis=1).astype(bool)
    connected_at = np.where((reach & ~blocked).any(axis=1), np.argmax(reach & ~blocked, axis=1), -1)
    attempts = reach.sum(axis=1)
    for observed, expected in [
        (connected_at == 0, float(s.first_try)),
        (connected_at > 0, float(s.after_redial)),
        (connected_at < 0, float(s.abandoned)),
    ]:
        z = (observed.mean() - expected) / np.sqrt(expected * (1 - expected) / n)
        assert abs(z) < 4
    z = (attempts.mean() - float(s.attempts_per_caller)) / (attempts.std() / np.sqrt(n))
    assert abs(z) < 4


def test_bad_load_message_names_the_bad_value():
    """The message quotes the offending element (not the first element of the array)."""
    from model.sim.erlang import redial_fixed_point

    with pytest.raises(ValueError, match=r"fresh_load = np.float64\(-0.5\)"):
        redial_fixed_point(np.array([3.0, -0.5]), lambda a: erlang_b(5, a), 0.5)
