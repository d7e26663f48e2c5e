"""Teletraffic formulas: Erlang B and C, M/M/c/K, interval losses and redial.

All functions are numpy-vectorised: every argument may be a scalar or an array,
and arguments broadcast against each other. A result is a ``float`` when every
argument is a scalar and an ``ndarray`` otherwise. Offered load ``a`` is in
Erlangs (call rate × mean holding time); times are in hours unless a docstring
says otherwise — only ratios such as ``t / aht`` matter.

Numerics
--------
Erlang B is evaluated through its continuous extension (Jagerman 1974):
``B(c, A) = f(A) / S(A)`` for the Gamma(shape ``c + 1``, scale 1) density ``f`` and
survival function ``S`` — i.e. the Poisson probability of ``c`` over the
regularised upper incomplete gamma function ``Q(c + 1, A)``. Below the mean
(``A <= c + 2``) the Poisson term is computed in log space with Loader's
saddle-point form (no cancellation of ``c log A`` against ``log c!``); above it,
``B = 1 / (A F)`` where ``F`` is the Lentz continued fraction of ``Γ(c+1, A)``,
which never underflows. The result is accurate to about 1e-13 relative for
``c`` up to 1e5 and underflows gracefully (to a tiny positive number, then 0)
for vanishing blocking, never to NaN. :func:`erlang_b_recursive` is the textbook
recursion ``B(n) = A B(n-1) / (n + A B(n-1))`` kept as an independent check.

M/M/c/K quantities are built on ``log B``: with ``m = K - c`` queue places and
``ρ = A / c`` the stationary probabilities are ``π_{c+j} = π_c ρ^j`` and
``π_c = 1 / (1/B + Σ_{j=1..m} ρ^j)``, which is evaluated with ``logaddexp``.

Examples
--------
>>> from model.sim.erlang import erlang_b, erlang_c, service_level
>>> round(erlang_b(30, 25), 4)
0.0526
>>> round(erlang_c(14, 10), 7)
0.1741319
>>> round(service_level(14, 10, aht=3.0, t=20 / 60), 5)
0.88835
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

__all__ = [
    "LossSplit",
    "QueueOutcomes",
    "RedialSolution",
    "carried_and_lost",
    "erlang_b",
    "erlang_b_load",
    "erlang_b_recursive",
    "erlang_c",
    "log_erlang_b",
    "mean_wait",
    "mmck_blocking",
    "mmck_wait_sf",
    "queue_outcomes",
    "redial_fixed_point",
    "servers_for_blocking",
    "service_level",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


# ----------------------------------------------------------------------------- helpers


def _ret(x: np.ndarray, scalar: bool) -> float | np.ndarray:
    return float(x) if scalar else x


def _is_scalar(*args: ArrayLike) -> bool:
    return all(np.ndim(a) == 0 for a in args)


def _as_float(name: str, x: ArrayLike, *, allow_inf: bool = False) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    bad = np.isnan(arr) | (arr < 0) | (np.isinf(arr) & (not allow_inf))
    if np.any(bad):
        first = arr[bad].flat[0] if arr.ndim else float(arr)
        what = "a non-negative number" + (" or inf" if allow_inf else "")
        raise ValueError(f"{name} = {first!r} is not allowed; {name} must be {what}")
    return arr


def _stirlerr(n: np.ndarray) -> np.ndarray:
    """``log Γ(n+1) - (n + 1/2) log n + n - log(2π)/2`` without cancellation (n > 0)."""
    n = np.asarray(n, dtype=float)
    small = n < 15.0
    ns = np.where(small, n, 15.0)
    direct = special.gammaln(ns + 1.0) - (ns + 0.5) * np.log(ns) + ns - 0.5 * _LOG_2PI
    nb = np.where(small, 15.0, n)
    inv2 = 1.0 / (nb * nb)
    series = (1.0 / 12 - inv2 * (1.0 / 360 - inv2 * (1.0 / 1260 - inv2 * (1.0 / 1680 - inv2 / 1188)))) / nb
    return np.where(small, direct, series)


def _bd0(x: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Deviance term ``x log(x/mu) + mu - x`` computed stably (x > 0, mu > 0)."""
    with np.errstate(over="ignore"):
        u = x / mu - 1.0
    near = np.abs(u) < 0.1
    un = np.where(near, u, 0.0)
    # (1+u) log1p(u) - u = sum_{k>=2} (-1)^k u^k / (k (k-1))
    acc = np.zeros_like(un)
    for k in range(22, 1, -1):
        acc = (acc + (-1.0) ** k / (k * (k - 1))) * un
    series = mu * acc * un
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        direct = x * np.log(x / mu) + mu - x
    return np.where(near, series, direct)


def _log_poisson_pmf(k: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """log P(Poisson(mu) = k) for real k >= 0, mu >= 0 (continuous in k)."""
    k, mu = np.broadcast_arrays(np.asarray(k, float), np.asarray(mu, float))
    out = np.empty(k.shape)
    k0 = k == 0
    out[k0] = -mu[k0]
    m0 = (mu == 0) & ~k0
    out[m0] = -np.inf
    gen = ~k0 & ~m0
    kk, mm = k[gen], mu[gen]
    out[gen] = -_bd0(kk, mm) - _stirlerr(kk) - 0.5 * (_LOG_2PI + np.log(kk))
    return out


def _log_cf_upper(a: np.ndarray, x: np.ndarray, max_iter: int = 5000) -> np.ndarray:
    """log F with Γ(a, x) = e^{-x} x^a F (modified Lentz); accurate for x > a - 1."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = np.full(x.shape, 1.0 / tiny)
    d = 1.0 / b
    h = d.copy()
    active = np.ones(x.shape, dtype=bool)
    for i in range(1, max_iter):
        an = -i * (i - a)
        b = b + 2.0
        d = an * d + b
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        delta = d * c
        h = np.where(active, h * delta, h)
        active &= np.abs(delta - 1.0) > 4e-16
        if not active.any():
            break
    return np.log(h)


def _log_q(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log of the regularised upper incomplete gamma Q(a, x) (a > 0, x >= 0), no underflow."""
    a, x = np.broadcast_arrays(np.asarray(a, float), np.asarray(x, float))
    q = special.gammaincc(a, x)
    out = np.empty(a.shape)
    ok = q > 1e-250
    out[ok] = np.log(q[ok])
    tail = ~ok
    if tail.any():
        at, xt = a[tail], x[tail]
        out[tail] = -xt + at * np.log(xt) - special.gammaln(at) + _log_cf_upper(at, xt)
    return out


def _log_q_int(m: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log P(Poisson(x) <= m - 1) = log Q(m, x); ``-inf`` for m <= 0."""
    m, x = np.broadcast_arrays(np.asarray(m, float), np.asarray(x, float))
    out = np.full(m.shape, -np.inf)
    pos = m > 0
    if pos.any():
        out[pos] = _log_q(m[pos], x[pos])
    return out


# ----------------------------------------------------------------------------- Erlang B


def log_erlang_b(c: ArrayLike, a: ArrayLike) -> float | np.ndarray:
    """Natural log of the Erlang B blocking probability (see :func:`erlang_b`).

    Useful when the blocking is far below the smallest double (``c`` large,
    ``a`` small): ``log_erlang_b(10_000, 10)`` is finite although
    ``erlang_b(10_000, 10)`` underflows to 0.

    Examples
    --------
    >>> round(log_erlang_b(10_000, 10), 1)
    -59093.1
    """
    scalar = _is_scalar(c, a)
    cc, aa = np.broadcast_arrays(_as_float("c", c), _as_float("a", a))
    out = np.empty(cc.shape)
    zero_c = cc == 0
    out[zero_c] = 0.0
    zero_a = (aa == 0) & ~zero_c
    out[zero_a] = -np.inf
    gen = ~zero_c & ~zero_a
    shape = cc + 1.0
    above = gen & (aa > shape + 1.0)
    below = gen & ~above
    if above.any():
        x = aa[above]
        out[above] = -np.log(x) - _log_cf_upper(shape[above], x)
    if below.any():
        out[below] = _log_poisson_pmf(cc[below], aa[below]) - _log_q(shape[below], aa[below])
    out = np.minimum(out, 0.0)
    return _ret(out, scalar)


def erlang_b(c: ArrayLike, a: ArrayLike) -> float | np.ndarray:
    """Erlang B (M/M/c/c loss) blocking probability for ``c`` servers and load ``a``.

    Parameters
    ----------
    c : array_like
        Number of servers (agents, trunks), ``>= 0``; non-integer values use the
        continuous extension (smooth in ``c``, e.g. a platform at 62.5 % capacity).
    a : array_like
        Offered load in Erlangs, ``>= 0``.

    Returns
    -------
    float or ndarray
        ``B(c, a)``; ``B(0, a) = 1`` and ``B(c, 0) = 0`` for ``c > 0``.

    Examples
    --------
    >>> round(erlang_b(30, 25), 4), round(erlang_b(30.5, 25), 5)
    (0.0526, 0.04639)
    >>> erlang_b([0, 10, 100], [5.0, 4.461, 84.06]).round(4)
    array([1.  , 0.01, 0.01])
    >>> float(erlang_b(500, 10))  # about 1e-634: underflows to 0, never to NaN
    0.0
    """
    scalar = _is_scalar(c, a)
    return _ret(np.exp(np.asarray(log_erlang_b(c, a))), scalar)


def erlang_b_recursive(c: ArrayLike, a: ArrayLike) -> float | np.ndarray:
    """Erlang B by the textbook recursion, for integer ``c`` (an independent check).

    ``B(0) = 1``, ``B(n) = a B(n-1) / (n + a B(n-1))``; O(max c) vectorised steps.

    Examples
    --------
    >>> round(erlang_b_recursive(30, 25), 6) == round(erlang_b(30, 25), 6)
    True
    """
    scalar = _is_scalar(c, a)
    cc, aa = np.broadcast_arrays(_as_float("c", c), _as_float("a", a))
    if np.any(cc != np.round(cc)):
        raise ValueError("erlang_b_recursive needs integer c; use erlang_b for non-integer c")
    b = np.ones(cc.shape)
    for n in range(1, int(cc.max(initial=0)) + 1):
        ab = aa * b
        b = np.where(n <= cc, ab / (n + ab), b)
    return _ret(b, scalar)


def erlang_b_load(c: ArrayLike, blocking: ArrayLike, *, rtol: float = 1e-12) -> float | np.ndarray:
    """Offered load (Erlangs) at which ``c`` servers block a share ``blocking`` of calls.

    Vectorised bisection on the strictly increasing ``a -> B(c, a)``.

    Examples
    --------
    >>> round(erlang_b_load(10, 0.01), 3), round(erlang_b_load(100, 0.01), 2)
    (4.461, 84.06)
    """
    scalar = _is_scalar(c, blocking)
    cc, bb = np.broadcast_arrays(_as_float("c", c), np.asarray(blocking, float))
    if np.any(~((bb > 0) & (bb < 1))) or np.any(cc <= 0):
        raise ValueError("erlang_b_load needs c > 0 and 0 < blocking < 1")
    lo = np.zeros(cc.shape)
    hi = cc / (1.0 - bb) + 1.0  # B(c, a) >= 1 - c/a, so B(c, hi) > blocking
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        below = np.asarray(erlang_b(cc, mid)) < bb
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
        if np.all(hi - lo <= rtol * hi):
            break
    return _ret(0.5 * (lo + hi), scalar)


def servers_for_blocking(a: ArrayLike, blocking: ArrayLike) -> int | np.ndarray:
    """Smallest integer number of servers with Erlang B blocking ``<= blocking``.

    Examples
    --------
    >>> servers_for_blocking(25.0, 0.01), servers_for_blocking(84.06, 0.01)
    (36, 100)
    """
    scalar = _is_scalar(a, blocking)
    aa, bb = np.broadcast_arrays(_as_float("a", a), np.asarray(blocking, float))
    if np.any(~((bb > 0) & (bb <= 1))):
        raise ValueError("servers_for_blocking needs 0 < blocking <= 1")
    lo = np.full(aa.shape, -1.0)  # B(lo) > blocking (B(-1) treated as 1 > blocking or equal)
    hi = np.ceil(aa) + 1.0
    while True:  # grow hi until B(hi) <= blocking (doubling: O(log) vectorised steps)
        bad = np.asarray(erlang_b(hi, aa)) > bb
        if not bad.any():
            break
        lo = np.where(bad, hi, lo)
        hi = np.where(bad, 2.0 * hi + 1.0, hi)
    while np.any(hi - lo > 1):
        mid = np.floor(0.5 * (lo + hi))
        ok = np.asarray(erlang_b(np.maximum(mid, 0.0), aa)) <= bb
        ok &= mid >= 0
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    out = hi.astype(np.int64)
    return int(out) if scalar else out


# ----------------------------------------------------------------------------- Erlang C


def erlang_c(c: ArrayLike, a: ArrayLike) -> float | np.ndarray:
    """Erlang C: probability that a call must wait in M/M/c with an unlimited queue.

    ``C = c B / (c - a (1 - B))`` for ``a < c`` and 1 when ``a >= c`` (the queue
    grows without bound).

    Examples
    --------
    >>> round(erlang_c(14, 10), 7)
    0.1741319
    >>> erlang_c([14, 10, 9], 10.0).round(4)
    array([0.1741, 1.    , 1.    ])
    """
    scalar = _is_scalar(c, a)
    cc, aa = np.broadcast_arrays(_as_float("c", c), _as_float("a", a))
    b = np.asarray(erlang_b(cc, aa))
    stable = aa < cc
    with np.errstate(divide="ignore", invalid="ignore"):
        val = cc * b / (cc - aa * (1.0 - b))
    out = np.where(stable, np.clip(val, 0.0, 1.0), 1.0)
    return _ret(out, scalar)


def service_level(c: ArrayLike, a: ArrayLike, aht: ArrayLike, t: ArrayLike) -> float | np.ndarray:
    """Share of calls answered within ``t`` in M/M/c: ``1 - C exp(-(c - a) t / aht)``.

    ``aht`` (mean holding time) and ``t`` share one time unit. 0 when ``a >= c``.

    Examples
    --------
    >>> round(service_level(14, 10, aht=180.0, t=20.0), 5)  # seconds work too
    0.88835
    """
    scalar = _is_scalar(c, a, aht, t)
    cc, aa, hh, tt = np.broadcast_arrays(
        _as_float("c", c), _as_float("a", a), _as_float("aht", aht), _as_float("t", t, allow_inf=True)
    )
    if np.any(hh <= 0):
        raise ValueError("aht must be > 0")
    cw = np.asarray(erlang_c(cc, aa))
    with np.errstate(invalid="ignore", over="ignore"):
        sl = 1.0 - cw * np.exp(-(cc - aa) * tt / hh)
    out = np.where(aa < cc, sl, 0.0)
    return _ret(out, scalar)


def mean_wait(c: ArrayLike, a: ArrayLike, aht: ArrayLike) -> float | np.ndarray:
    """Mean waiting time (average speed of answer) in M/M/c: ``C aht / (c - a)``; inf if ``a >= c``.

    Examples
    --------
    >>> round(mean_wait(14, 10, aht=180.0), 3)  # seconds
    7.836
    """
    scalar = _is_scalar(c, a, aht)
    cc, aa, hh = np.broadcast_arrays(_as_float("c", c), _as_float("a", a), _as_float("aht", aht))
    cw = np.asarray(erlang_c(cc, aa))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = cw * hh / (cc - aa)
    out = np.where(aa < cc, w, np.inf)
    return _ret(out, scalar)


# ----------------------------------------------------------------------------- M/M/c/K


def _log_abs_expm1(u: np.ndarray) -> np.ndarray:
    """log |e^u - 1| for u != 0, without overflow."""
    u = np.asarray(u, float)
    pos = u > 0
    up = np.where(pos, u, 1.0)
    un = np.where(pos, -1.0, u)
    with np.errstate(divide="ignore"):
        return np.where(pos, up + np.log(-np.expm1(-up)), np.log(-np.expm1(un)))


def _mmck_parts(c: np.ndarray, m: np.ndarray, a: np.ndarray):
    """log π_c, log π_K and log ρ for c > 0, a > 0, finite integer m >= 0."""
    logb = np.asarray(log_erlang_b(c, a), float)
    logr = np.log(a) - np.log(c)
    # log G, G = sum_{j=1..m} ρ^j
    with np.errstate(divide="ignore", invalid="ignore"):
        logg = logr + _log_abs_expm1(m * logr) - _log_abs_expm1(logr)
    logg = np.where(logr == 0, np.log(np.where(m > 0, m, 1.0)), logg)
    logg = np.where(m == 0, -np.inf, logg)
    log_pc = -np.logaddexp(-logb, logg)
    log_pk = log_pc + m * logr
    return log_pc, np.minimum(log_pk, 0.0), logr


def _queue_places(c: np.ndarray, k: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        m = k - c
    finite = np.isfinite(m)
    frac = np.abs(np.where(finite, m, 0.0) - np.round(np.where(finite, m, 0.0)))
    if np.any(m < 0) or np.any(np.isnan(m)) or np.any(frac > 1e-9):
        raise ValueError("k must be c + a whole number of queue places (k >= c), or inf")
    return np.where(finite, np.round(m), m)


def mmck_blocking(c: ArrayLike, k: ArrayLike, a: ArrayLike) -> float | np.ndarray:
    """Loss probability of M/M/c/K: ``c`` servers, ``k`` places in total (``k - c`` queue places).

    By PASTA the share of arriving calls that find all ``k`` places taken.
    ``k == c`` gives Erlang B; ``k = inf`` gives 0 for ``a < c`` and the
    long-run overflow ``1 - c/a`` for ``a >= c``. Log-space, stable for large c.

    Examples
    --------
    >>> round(mmck_blocking(30, 30, 25), 4)  # no queue: Erlang B
    0.0526
    >>> round(mmck_blocking(30, 40, 25), 5)
    0.00696
    >>> mmck_blocking(10, [10, 20, np.inf], 12.0).round(4)
    array([0.3019, 0.1797, 0.1667])
    """
    scalar = _is_scalar(c, k, a)
    cc, kk, aa = np.broadcast_arrays(_as_float("c", c), _as_float("k", k, allow_inf=True), _as_float("a", a))
    m = _queue_places(cc, kk)
    out = np.zeros(cc.shape)
    no_server = cc == 0
    out[no_server] = 1.0
    infinite = ~no_server & np.isinf(m) & (aa > 0)
    out[infinite] = np.maximum(0.0, 1.0 - cc[infinite] / aa[infinite])
    gen = ~no_server & ~np.isinf(m) & (aa > 0)
    if gen.any():
        _, log_pk, _ = _mmck_parts(cc[gen], m[gen], aa[gen])
        out[gen] = np.exp(log_pk)
    return _ret(out, scalar)


def _direct_wait_sum(log_pc, logr, m, x, block: int = 4096) -> np.ndarray:
    """log Σ_{j<m} π_c ρ^j Q(j+1, x) by summation (only used for ρ ≈ 1)."""
    acc = np.full(m.shape, -np.inf)
    mmax = int(m.max(initial=0))
    for start in range(0, mmax, block):
        j = np.arange(start, min(start + block, mmax), dtype=float)
        terms = j[None, :] * logr[:, None] + _log_q_int(j[None, :] + 1.0, x[:, None])
        terms = np.where(j[None, :] < m[:, None], terms, -np.inf)
        acc = np.logaddexp(acc, special.logsumexp(terms, axis=1))
    return log_pc + acc


def mmck_wait_sf(
    c: ArrayLike, k: ArrayLike, a: ArrayLike, aht: ArrayLike, t: ArrayLike
) -> float | np.ndarray:
    """P(wait > t) for an admitted call in M/M/c/K, first come first served.

    A call admitted with ``j`` calls queued ahead waits for ``j + 1`` service
    completions at rate ``c / aht``, so ``P(W > t) = Σ_j π_{c+j} Q(j+1, c t / aht)
    / (1 - π_K)``. The sum has the closed form
    ``[e^{-x(1-ρ)} Q(m, ρx) - ρ^m Q(m, x)] / (1 - ρ)`` (``x = c t / aht``),
    evaluated in log space; within about 1e-7 of ``ρ = 1`` it is summed
    directly instead. ``k = inf`` gives the Erlang C tail (1 when ``a >= c``).

    Examples
    --------
    >>> round(mmck_wait_sf(14, np.inf, 10, aht=180.0, t=20.0), 5)  # = 1 - service level
    0.11165
    >>> round(mmck_wait_sf(14, 10_014, 10, aht=180.0, t=20.0), 5)  # a long queue: same
    0.11165
    >>> round(mmck_wait_sf(14, 14, 10, aht=180.0, t=0.0), 5)  # no queue, nobody waits
    0.0
    """
    scalar = _is_scalar(c, k, a, aht, t)
    cc, kk, aa, hh, tt = np.broadcast_arrays(
        _as_float("c", c),
        _as_float("k", k, allow_inf=True),
        _as_float("a", a),
        _as_float("aht", aht),
        _as_float("t", t, allow_inf=True),
    )
    if np.any(hh <= 0):
        raise ValueError("aht must be > 0")
    m = _queue_places(cc, kk)
    out = np.zeros(cc.shape)
    out[(cc == 0) & (m > 0)] = 1.0  # nobody is ever served
    infinite = (cc > 0) & np.isinf(m) & (aa > 0)
    if infinite.any():
        out[infinite] = 1.0 - np.asarray(
            service_level(cc[infinite], aa[infinite], hh[infinite], tt[infinite])
        )
    gen = (cc > 0) & np.isfinite(m) & (m > 0) & (aa > 0) & np.isfinite(tt)
    if gen.any():
        cg, mg, ag = cc[gen], m[gen], aa[gen]
        x = cg * tt[gen] / hh[gen]
        log_pc, log_pk, logr = _mmck_parts(cg, mg, ag)
        rho = np.exp(logr)
        l1 = log_pc - x * (1.0 - rho) + _log_q_int(mg, rho * x)
        l2 = log_pk + _log_q_int(mg, x)
        hi, lo = np.maximum(l1, l2), np.minimum(l1, l2)
        gap = hi - lo
        with np.errstate(divide="ignore", invalid="ignore"):
            log_num = hi + np.log(-np.expm1(-gap)) - np.log(np.abs(-np.expm1(logr)))
        near = ~(gap > 1e-7) & np.isfinite(hi)
        if near.any():
            log_num[near] = _direct_wait_sum(log_pc[near], logr[near], mg[near], x[near])
        log_num = np.where(np.isfinite(hi), log_num, -np.inf)
        log_admit = np.log(-np.expm1(np.minimum(log_pk, -1e-300)))
        out[gen] = np.clip(np.exp(log_num - log_admit), 0.0, 1.0)
    return _ret(out, scalar)


# ----------------------------------------------------------------------------- waiting with abandonment


class QueueOutcomes(NamedTuple):
    """What happens to offered calls in M/M/c/K+M (see :func:`queue_outcomes`); shares of offered calls.

    ``answered_within + (answered - answered_within) + abandoned + blocked = 1``.
    """

    answered_within: np.ndarray  # answered after waiting at most t (the service level)
    answered: np.ndarray  # answered at all
    abandoned: np.ndarray  # gave up while queued (patience ran out)
    blocked: np.ndarray  # found every place taken
    mean_queue: np.ndarray  # mean number of calls waiting


def _queue_outcome_one(c: float, m: float, a: float, aht: float, t: float, patience: float
                       ) -> tuple[float, float, float, float, float]:
    """One M/M/c/K+M system (scalars); vectorised over its states."""
    if a == 0:
        return 1.0, 1.0, 0.0, 0.0, 0.0
    if c == 0:
        return 0.0, 0.0, 0.0, 1.0, 0.0
    mu = 1.0 / aht
    lam = a * mu
    theta = 0.0 if math.isinf(patience) else 1.0 / patience
    if math.isinf(m):
        if theta == 0.0:  # Erlang C: stable only below c Erlangs
            if a >= c:
                return 0.0, 0.0, 0.0, max(0.0, 1.0 - c / a), math.inf
            sl = float(service_level(c, a, aht, t))
            pw = float(erlang_c(c, a))
            return sl, 1.0, 0.0, 0.0, pw * a / (c - a)
        # impatient callers keep an unlimited queue finite: cut where the terms are negligible
        top = max(0.0, (lam - c * mu) / theta)
        m = math.ceil(top + 40.0 * math.sqrt(lam / theta + 1.0) + 200.0)
    m = int(m)
    n = np.arange(c + m + 1, dtype=float)
    log_p = np.empty(n.size)
    ci = int(c)
    log_p[: ci + 1] = n[: ci + 1] * math.log(a) - special.gammaln(n[: ci + 1] + 1.0)
    j = np.arange(1, m + 1, dtype=float)
    log_p[ci + 1:] = log_p[ci] + np.cumsum(math.log(lam) - np.log(c * mu + j * theta))
    p = np.exp(log_p - special.logsumexp(log_p))
    queue_state = p[ci: ci + m]  # arrivals that find j = 0 .. m-1 calls waiting
    jj = np.arange(m, dtype=float)
    if theta > 0:
        alpha = c * mu / theta
        served = alpha / (alpha + jj + 1.0)  # Π_k (cμ + kθ) / (cμ + (k+1)θ), telescoped
        # waiting time given service: Σ_{k=0..j} Exp(θ(α + k + 1)) = the (j+1)-th order statistic
        # of α + j + 1 exponentials (Rényi): CDF = I_{1 - e^{-θt}}(j + 1, α + 1)
        x = -math.expm1(-theta * t) if math.isfinite(t) else 1.0
        within = served * special.betainc(jj + 1.0, alpha + 1.0, x)
    else:
        served = np.ones(m)
        within = special.gammainc(jj + 1.0, c * mu * t) if math.isfinite(t) else served
    immediate = float(p[:ci].sum())
    blocked = float(p[ci + m]) if m >= 0 else 0.0
    answered = immediate + float(queue_state @ served)
    answered_within = immediate + float(queue_state @ within)
    abandoned = float(queue_state @ (1.0 - served))
    mean_queue = float(p[ci:] @ np.arange(m + 1, dtype=float))
    return answered_within, answered, abandoned, blocked, mean_queue


def queue_outcomes(c: ArrayLike, k: ArrayLike, a: ArrayLike, aht: ArrayLike, t: ArrayLike,
                   patience: ArrayLike = np.inf) -> QueueOutcomes:
    """Service level, abandonment and blocking of M/M/c/K+M (Erlang A with a queue limit).

    Calls arrive at rate ``a / aht``; ``c`` agents answer them first come first served
    in mean ``aht``; at most ``k - c`` wait. A waiting caller gives up after an
    exponential patience of mean ``patience`` (``inf``: nobody abandons, M/M/c/K).
    The stationary distribution is the birth–death one,
    ``π_{c+j} = π_c Π_{i<=j} λ / (cμ + iθ)``. A call that finds ``j`` waiting ahead
    is answered with probability ``α / (α + j + 1)`` (``α = cμ/θ``) and, given that,
    after a wait distributed as the sum of exponentials of rates ``θ(α + 1) ..
    θ(α + j + 1)``, whose CDF is the regularised incomplete beta
    ``I_{1-e^{-θt}}(j + 1, α + 1)``. With ``θ = 0`` it is Erlang(j+1, cμ), and with
    ``k = inf`` Erlang C.

    Parameters
    ----------
    c, k : array_like
        Agents, and places in total (``k = c + queue places``; ``inf`` = no limit).
    a : array_like
        Offered load in Erlangs.
    aht, t, patience : array_like
        Mean handling time, the service-level threshold and the mean patience, in one unit.

    Returns
    -------
    QueueOutcomes
        Shares of offered calls (arrays shaped like the broadcast inputs; loops over
        the broadcast elements, each vectorised over its queue states).

    Examples
    --------
    >>> o = queue_outcomes(14, np.inf, 10, aht=180.0, t=20.0)   # Erlang C
    >>> round(float(o.answered_within), 5), float(o.abandoned)
    (0.88835, 0.0)
    >>> o = queue_outcomes(14, 64, 13, aht=180.0, t=20.0, patience=120.0)
    >>> bool(o.abandoned > 0), round(float(o.answered + o.abandoned + o.blocked), 12)
    (True, 1.0)
    """
    cc, kk, aa, hh, tt, pp = np.broadcast_arrays(
        _as_float("c", c), _as_float("k", k, allow_inf=True), _as_float("a", a), _as_float("aht", aht),
        _as_float("t", t, allow_inf=True), _as_float("patience", patience, allow_inf=True))
    if np.any(hh <= 0) or np.any(pp <= 0):
        raise ValueError("aht and patience must be > 0")
    if np.any(cc != np.round(cc)):
        raise ValueError("c must be a whole number of agents")
    m = _queue_places(cc, kk)
    out = np.zeros((5, *cc.shape))
    for idx in np.ndindex(cc.shape):  # one system per element; each vectorised over its states
        out[(slice(None), *idx)] = _queue_outcome_one(float(cc[idx]), float(m[idx]), float(aa[idx]),
                                                      float(hh[idx]), float(tt[idx]), float(pp[idx]))
    return QueueOutcomes(*(out[i] for i in range(5)))


# ----------------------------------------------------------------------------- intervals


class LossSplit(NamedTuple):
    """Offered traffic split into carried and lost parts (see :func:`carried_and_lost`)."""

    carried: np.ndarray
    lost: np.ndarray
    lost_share: np.ndarray


def carried_and_lost(
    offered_rate: ArrayLike,
    capacity: ArrayLike,
    aht: ArrayLike,
    queue_limit: ArrayLike = 0,
    *,
    duration: ArrayLike | None = None,
    patience: ArrayLike | None = None,
) -> LossSplit:
    """Calls carried and lost by a capacity-limited resource, per time interval.

    Each interval is treated as quasi-stationary (intervals long compared with
    ``aht``): the lost share is the M/M/c/K loss probability at the interval's
    offered load ``offered_rate × aht`` with ``c = capacity`` and
    ``K = capacity + queue_limit``. With ``patience``, admitted callers who would
    wait longer than their (fixed) patience are counted as lost too —
    ``lost_share = P_K + (1 - P_K) P(W > patience)`` — an upper bound, since
    abandoning callers would also free queue places.

    Parameters
    ----------
    offered_rate : array_like
        Calls per hour offered in each interval.
    capacity : array_like
        Concurrent calls (servers) available in each interval; 0 loses all calls.
    aht : array_like
        Mean holding time in hours.
    queue_limit : array_like, default 0
        Queue places beyond ``capacity`` (``inf`` for an unlimited queue).
    duration : array_like, optional
        Interval lengths in hours: the results are then expected call counts
        (``offered_rate × duration`` split), otherwise rates in calls per hour.
    patience : array_like, optional
        Longest wait in hours before a queued caller gives up.

    Returns
    -------
    LossSplit
        ``carried``, ``lost`` (rates or counts) and ``lost_share``.

    Examples
    --------
    >>> s = carried_and_lost([100.0, 500.0], capacity=30, aht=0.25, duration=[2.0, 0.5])
    >>> s.lost.round(2), s.lost_share.round(4)
    (array([ 10.52, 190.61]), array([0.0526, 0.7625]))
    """
    rate = _as_float("offered_rate", offered_rate)
    cap = _as_float("capacity", capacity)
    h = _as_float("aht", aht)
    if np.any(h <= 0):
        raise ValueError("aht must be > 0 hours")
    q = _as_float("queue_limit", queue_limit, allow_inf=True)
    rate, cap, h, q = np.broadcast_arrays(rate, cap, h, q)
    load = rate * h
    share = np.asarray(mmck_blocking(cap, cap + q, load), float)
    if patience is not None:
        pat = _as_float("patience", patience, allow_inf=True)
        wait = np.asarray(mmck_wait_sf(cap, cap + q, load, h, pat), float)
        share = share + (1.0 - share) * wait
    amount = rate if duration is None else rate * _as_float("duration", duration)
    lost = amount * share
    return LossSplit(carried=amount - lost, lost=lost, lost_share=np.broadcast_to(share, lost.shape))


# ----------------------------------------------------------------------------- redial


@dataclass(frozen=True)
class RedialSolution:
    """Stationary outcome of fresh calls plus redials (see :func:`redial_fixed_point`).

    All attributes are arrays shaped like the broadcast inputs. Shares are per
    fresh caller and add up to 1: ``first_try + after_redial + abandoned``.

    Attributes
    ----------
    total_load : ndarray
        Offered load including redials (Erlangs).
    blocking : ndarray
        Blocking probability of any single attempt at ``total_load``.
    first_try, after_redial, abandoned : ndarray
        Share of fresh callers connected at the first attempt, connected after
        at least one redial, and giving up.
    attempts_per_caller : ndarray
        Mean attempts per fresh caller (``total_load / fresh_load``).
    """

    total_load: np.ndarray
    blocking: np.ndarray
    first_try: np.ndarray
    after_redial: np.ndarray
    abandoned: np.ndarray
    attempts_per_caller: np.ndarray


def _geometric_sum(q: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Σ_{k=0}^{n-1} q^k for 0 <= q <= 1, n >= 0 (n may be inf when q < 1)."""
    q = np.asarray(q, float)
    one = q >= 1.0
    qs = np.where(one | (q <= 0), 0.5, q)
    with np.errstate(invalid="ignore", over="ignore"):
        val = -np.expm1(n * np.log(qs)) / (1.0 - qs)
    val = np.where(q <= 0, np.minimum(n, 1.0), val)
    return np.where(one, n, val)


def redial_fixed_point(
    fresh_load: ArrayLike,
    blocking: Callable[[np.ndarray], ArrayLike],
    redial_p: ArrayLike,
    *,
    max_attempts: ArrayLike | None = None,
    rtol: float = 1e-12,
) -> RedialSolution:
    """Total offered load with redials, and the resulting caller outcomes.

    Cohen-style orbit approximation: every attempt, fresh or repeated, is blocked
    independently with the blocking probability ``B`` of the *total* offered
    load; a blocked caller tries again with probability ``redial_p`` (at most
    ``max_attempts`` attempts in all). The total load then solves
    ``A = A0 Σ_{k<K} (p B(A))^k``, found by a vectorised bracketed search
    (Illinois false position safeguarded by bisection) on
    ``[A0, A0 Σ_{k<K} p^k]``. With unlimited attempts the root is unique for a
    loss system, because its lost traffic ``A B(A)`` grows more slowly than ``A``.

    Parameters
    ----------
    fresh_load : array_like
        Offered load of first attempts (Erlangs).
    blocking : callable
        Vectorised ``A -> B(A)`` for the resource, e.g.
        ``lambda a: erlang_b(c, a)`` (``c`` may be an array broadcasting with
        ``fresh_load``).
    redial_p : array_like
        Probability that a blocked caller tries again; must be < 1 unless
        ``max_attempts`` is finite.
    max_attempts : array_like, optional
        Attempts per caller including the first (``None``: unlimited).
    rtol : float
        Relative tolerance on the total load.

    Returns
    -------
    RedialSolution

    Examples
    --------
    >>> s = redial_fixed_point(25.0, lambda a: erlang_b(30, a), 0.85)
    >>> round(float(s.total_load), 3), round(float(s.blocking), 4)
    (26.789, 0.0786)
    >>> round(float(s.first_try + s.after_redial), 4), round(float(s.abandoned), 4)
    (0.9874, 0.0126)
    """
    a0 = _as_float("fresh_load", fresh_load)
    p = np.asarray(redial_p, dtype=float)
    if np.any(~((p >= 0) & (p <= 1))):
        raise ValueError("redial_p must lie in [0, 1]")
    if max_attempts is None:
        kk = np.full(p.shape, np.inf)
    else:
        kk = np.asarray(max_attempts, dtype=float)
        if np.any(~(kk >= 1)) or np.any(np.isfinite(kk) & (kk != np.round(kk))):
            raise ValueError("max_attempts must be a whole number >= 1 (or None for unlimited)")
    if np.any((p >= 1) & np.isinf(kk)):
        raise ValueError(
            "redial_p = 1 with unlimited attempts has no stationary solution; "
            "give max_attempts or redial_p < 1"
        )
    a0, p, kk = np.broadcast_arrays(a0, p, kk)

    def excess(x: np.ndarray) -> np.ndarray:
        b = np.broadcast_to(np.asarray(blocking(x), float), x.shape)
        return a0 * _geometric_sum(p * b, kk) - x

    # Bracketed root search: Illinois false position, which falls back to bisection
    # whenever a step would not shrink the bracket by half within two iterations.
    lo = a0.copy()
    hi = a0 * _geometric_sum(p, kk)
    g_lo = excess(lo)  # >= 0
    g_hi = excess(hi)  # <= 0
    side = np.zeros(lo.shape, dtype=np.int8)  # side updated last: +1 lo, -1 hi
    width_before = 2.0 * (hi - lo)
    at_lo = g_lo <= rtol * lo  # e.g. no blocking at all: the fresh load is the answer
    at_hi = ~at_lo & (g_hi >= -rtol * hi)
    total = np.where(at_lo, lo, np.where(at_hi, hi, 0.5 * (lo + hi)))
    done = at_lo | at_hi | (hi - lo <= rtol * hi)
    for it in range(300):
        if done.all():
            break
        denom = g_lo - g_hi
        with np.errstate(divide="ignore", invalid="ignore"):
            x = lo + g_lo * (hi - lo) / denom
        bisect = ~np.isfinite(x) | (x <= lo) | (x >= hi) | (denom <= 0)
        if it % 2 == 0:  # every other step: bisect where the bracket did not halve
            bisect |= (hi - lo) > 0.5 * width_before
            width_before = hi - lo
        x = np.where(bisect, 0.5 * (lo + hi), x)
        g = excess(x)
        up = g > 0
        hit = g == 0
        g_hi = np.where(up & (side == 1), 0.5 * g_hi, g_hi)  # Illinois: damp the stale end
        g_lo = np.where(~up & ~hit & (side == -1), 0.5 * g_lo, g_lo)
        lo, g_lo = np.where(up, x, lo), np.where(up, g, g_lo)
        hi, g_hi = np.where(~up, x, hi), np.where(~up, g, g_hi)
        side = np.where(up, 1, -1).astype(np.int8)
        newly = ~done & ((hi - lo <= rtol * hi) | (np.abs(g) <= rtol * x) | hit)
        total = np.where(newly, x, total)
        done |= newly
    total = np.where(done, total, 0.5 * (lo + hi))
    b = np.broadcast_to(np.asarray(blocking(total), float), total.shape).copy()
    q = p * b
    attempts = _geometric_sum(q, kk)
    first = 1.0 - b
    after = first * (attempts - 1.0)
    with np.errstate(invalid="ignore"):
        last = np.where(np.isinf(kk), 0.0, np.where(q > 0, q, 0.0) ** np.where(np.isinf(kk), 1.0, kk - 1.0))
    abandoned = b * (1.0 - p) * _geometric_sum(q, kk - 1.0) + last * b
    return RedialSolution(
        total_load=np.asarray(total, float),
        blocking=np.asarray(b, float),
        first_try=np.asarray(first, float),
        after_redial=np.asarray(after, float),
        abandoned=np.asarray(abandoned, float),
        attempts_per_caller=np.asarray(attempts, float),
    )
