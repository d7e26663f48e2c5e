"""Summaries of replications under uncertain inputs: spread, paired savings, rank correlations.

A replay under uncertain inputs (e.g. :func:`model.sim.engine.replay_incident` with
parameter ranges) gives one value per replication. Its spread over the replications
is the spread over the inputs, not sampling error alone, so it is summarised by
percentiles (:func:`spread`). Two strategies replayed with common random numbers are
compared replication by replication (:func:`paired_saving`), and the inputs that
move the output most are ranked by Spearman correlation (:func:`rank_correlations`).
Year-by-year comparisons of simulated years are in :mod:`model.metrics.compare`.

Examples
--------
>>> import numpy as np
>>> from model.metrics.replications import paired_saving, spread
>>> spread([1, 2, 3, 4, 5])["median"]
3.0
>>> paired_saving(np.array([10.0, 20, 30]), np.array([9.0, 18, 27]))["median"]
2.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["paired_saving", "rank_correlations", "spread"]


def spread(x: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Median, 5th and 95th percentiles and mean of per-replication values.

    Parameters
    ----------
    x : array_like
        One value per replication.

    Returns
    -------
    dict
        ``median``, ``p05``, ``p95``, ``mean``.

    Examples
    --------
    >>> spread([1, 2, 3, 4, 5])
    {'median': 3.0, 'p05': 1.2, 'p95': 4.8, 'mean': 3.0}
    """
    a = np.asarray(x, dtype=float)
    return {"median": float(np.median(a)), "p05": float(np.percentile(a, 5)),
            "p95": float(np.percentile(a, 95)), "mean": float(a.mean())}


def paired_saving(base: np.ndarray, other: np.ndarray, confidence: float = 0.95) -> dict[str, Any]:
    """Per-replication differences ``base - other`` (common random numbers) summarised.

    Gives the median and the 5th-95th percentiles of the differences (the spread of the
    saving over the uncertain inputs), the mean with a normal confidence interval at
    ``confidence`` (``mean_ci95``), and the standard deviation of the paired differences
    next to the one independent runs would have (``sqrt(var(base) + var(other))``), and
    the share of replications in which ``other`` is lower.

    Parameters
    ----------
    base, other : array_like
        One value per replication, paired by position.
    confidence : float
        Of the interval of the mean.

    Returns
    -------
    dict

    Examples
    --------
    >>> s = paired_saving(np.array([10.0, 20, 30, 40]), np.array([8.0, 15, 26, 33]))
    >>> s["median"], s["mean"], s["sd_paired"] < s["sd_independent"]
    (4.5, 4.5, True)
    """
    base = np.asarray(base, float)
    other = np.asarray(other, float)
    if base.shape != other.shape:
        raise ValueError(f"paired values need the same shape, got {base.shape} and {other.shape}")
    d = base - other
    n = d.size
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    half = z * sd / math.sqrt(n) if n > 1 else math.nan
    out: dict[str, Any] = spread(d)
    out.update(mean_ci95=[out["mean"] - half, out["mean"] + half], sd_paired=sd,
               sd_independent=float(math.sqrt(base.var(ddof=1) + other.var(ddof=1))) if n > 1 else math.nan,
               share_of_replications_saving=float(np.mean(d > 0)))
    return out


def rank_correlations(inputs: Mapping[str, np.ndarray], output: np.ndarray) -> dict[str, float]:
    """Spearman rank correlation of each varying input with the output, over replications.

    Inputs that do not vary (or whose length differs from the output's) are left out,
    as is everything when the output does not vary.

    Examples
    --------
    >>> x = np.arange(10.0)
    >>> rho = rank_correlations({"a": x, "b": -x ** 3, "c": np.ones(10)}, 2 * x)
    >>> {k: round(v, 6) for k, v in rho.items()}
    {'a': 1.0, 'b': -1.0}
    """
    out = {}
    y = np.asarray(output, float)
    for name, v in inputs.items():
        v = np.asarray(v, float)
        if v.size == y.size and np.ptp(v) > 0 and np.ptp(y) > 0:
            out[name] = float(stats.spearmanr(v, y).statistic)
    return out
