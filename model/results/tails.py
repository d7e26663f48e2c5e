"""Tail statistics of per-year results, plain or importance-weighted: exceedance, return periods and levels.

Every function takes the per-year values ``x_y`` of a run and, for an
importance-sampling run, the likelihood ratios ``w_y`` of its years (1 for a
crude run). The exceedance probability ``P(X >= x)`` is estimated without bias
by ``mean(w_y 1{x_y >= x})``, its standard error from the same per-year terms,
and its interval is normal (clipped at 0). With no year at or above ``x`` the
value is 0 and the interval the one-sided bound ``-ln(0.05) / years`` of a crude
run that saw nothing (interval ``"none-observed"``); under importance sampling,
where the biased years are the likely ones, that bound is conservative only
when the bias makes such years more likely, as it is built to do.

The *return level* of period ``T`` years (the worst year in ``T``) is the
smallest ``x`` with ``P(X > x) <= 1/T``; its interval inverts the exceedance
interval (the values ``x`` whose interval holds ``1/T``), and ``tail_rse`` is the
relative standard error of the exceedance estimate there — the precision with
which the run knows "1 year in T".

Examples
--------
>>> import numpy as np
>>> x = np.arange(1, 1001, dtype=float)   # 1000 crude years, values 1..1000
>>> e = exceedance(x, None, 991.0)
>>> e.value, e.samples
(0.01, 1000)
>>> r = return_level(x, None, 100)
>>> r["value"], r["ci_low"] < 990 < r["ci_high"]
(990.0, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from model.results.estimate import Estimate

__all__ = ["exceedance", "exceedance_curve", "return_level"]

_NONE_BOUND = -math.log(0.05)


def _prepare(values: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(values, dtype=np.float64).ravel()
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if x.size == 0 or x.shape != w.shape:
        raise ValueError("need one weight per year and at least one year")
    if not np.all(np.isfinite(w) & (w >= 0)):
        raise ValueError("weights must be finite and >= 0")
    return x, w


def exceedance_curve(values: np.ndarray, weights: np.ndarray | None, levels: np.ndarray,
                     confidence: float = 0.95) -> dict[str, np.ndarray]:
    """``P(X >= x)`` for every ``x`` in ``levels``: estimate, standard error and interval bounds.

    Examples
    --------
    >>> c = exceedance_curve(np.array([0.0, 1.0, 2.0, 3.0]), None, np.array([1.0, 4.0]))
    >>> c["estimate"].tolist(), float(c["ci_high"][1]) > 0
    ([0.75, 0.0], True)
    """
    x, w = _prepare(values, weights)
    n = x.size
    order = np.argsort(-x, kind="stable")
    xs, ws = x[order], w[order]
    c1 = np.concatenate([[0.0], np.cumsum(ws)])
    c2 = np.concatenate([[0.0], np.cumsum(ws**2)])
    lv = np.asarray(levels, dtype=np.float64)
    k = np.searchsorted(-xs, -lv, side="right")  # years with x >= level
    p = c1[k] / n
    var = np.maximum(c2[k] / n - p**2, 0.0) / max(n - 1, 1)
    se = np.sqrt(var)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    none = k == 0
    return {"level": lv, "estimate": p, "std_error": se, "ci_low": np.maximum(p - z * se, 0.0),
            "ci_high": np.where(none, _NONE_BOUND / n, p + z * se), "years_at_or_above": k}


def exceedance(values: np.ndarray, weights: np.ndarray | None, level: float, *, confidence: float = 0.95,
               method: str = "crude-simulation") -> Estimate:
    """``P(X >= level)`` per year as an :class:`~model.results.estimate.Estimate`.

    Examples
    --------
    >>> exceedance(np.zeros(100), None, 1.0).interval
    'none-observed'
    """
    c = exceedance_curve(values, weights, np.array([float(level)]), confidence)
    p, se = float(c["estimate"][0]), float(c["std_error"][0])
    n = int(np.asarray(values).size)
    hits = int(c["years_at_or_above"][0])
    return Estimate(value=p, ci_low=float(c["ci_low"][0]), ci_high=float(c["ci_high"][0]), std_error=se,
                    samples=n, method=method, confidence=confidence,
                    interval="none-observed" if hits == 0 else "normal",
                    details={"level": float(level), "years_at_or_above": hits})


def return_level(values: np.ndarray, weights: np.ndarray | None, period: float,
                 confidence: float = 0.95) -> dict[str, Any]:
    """The worst year in ``period`` years: value, interval, and the precision of ``1/period`` there.

    Returns a dict with ``value`` (smallest ``x`` with ``P(X > x) <= 1/period``),
    ``ci_low``/``ci_high`` (inverted exceedance interval; ``ci_high`` is ``inf``
    when even the largest value seen may lie below the level), ``tail_probability``
    and ``tail_rse`` (estimate and relative standard error of ``P(X >= value)``),
    ``years_at_or_above`` and ``max_year_share`` (the largest share of the tail
    probability carried by one year: near 1 the interval cannot be trusted).

    Examples
    --------
    >>> r = return_level(np.arange(10_000, dtype=float), None, 1000)
    >>> r["value"], round(r["tail_rse"], 2)
    (9989.0, 0.3)
    """
    if not period > 1:
        raise ValueError(f"period must be > 1 year, got {period}")
    x, w = _prepare(values, weights)
    n = x.size
    target = 1.0 / period
    levels = np.unique(x)[::-1]  # distinct values, largest first
    c = exceedance_curve(x, w, levels, confidence)
    p_incl = c["estimate"]  # P(X >= v), increasing along levels
    p_above = np.concatenate([[0.0], p_incl[:-1]])  # P(X > v)
    ok = np.flatnonzero(p_above <= target)
    k = int(ok[-1])  # smallest v with P(X > v) <= target
    inside = np.flatnonzero((c["ci_low"] <= target) & (target <= c["ci_high"]))
    if inside.size:
        # values whose interval holds 1/T; above the first of them the level surely lies below
        hi = float(levels[inside[0] - 1]) if inside[0] > 0 else math.inf
        lo = float(levels[inside[-1]])
    else:
        hi = lo = float(levels[k])
    p_k, se_k = float(p_incl[k]), float(c["std_error"][k])
    top = w[x >= levels[k]]
    share = float(top.max() / top.sum()) if top.size and top.sum() > 0 else 1.0
    return {"period": float(period), "value": float(levels[k]), "ci_low": min(lo, float(levels[k])),
            "ci_high": max(hi, float(levels[k])), "tail_probability": p_k,
            "tail_rse": se_k / p_k if p_k > 0 else math.inf, "years": n,
            "years_at_or_above": int(c["years_at_or_above"][k]), "max_year_share": share}
