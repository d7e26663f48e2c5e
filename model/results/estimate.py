"""Estimates with confidence intervals and provenance: the one result type of every engine.

Every number nines reports is an :class:`Estimate`: value, confidence interval,
standard error, sample count, method, seed and provenance. The constructors here
build it from what the engines tally: binomial counts (:func:`binomial_estimate`),
means of bounded samples from running sums (:func:`mean_estimate`), means of
per-year values (:func:`sample_mean_estimate`) and ratios of yearly sums
(:func:`ratio_estimate`).

The interval vocabulary (:data:`INTERVALS`, the only labels an :class:`Estimate`
accepts):

``wilson``
    Wilson score interval of a binomial proportion.
``clopper-pearson``
    Exact (conservative) binomial interval.
``normal``
    Mean plus or minus ``z`` standard errors (``t`` quantile where stated in
    ``details``), lower end clipped at 0.
``delta-normal``
    Ratio of two sums with its delta-method standard error, normal quantile.
``one-sided-upper``
    **Nothing observed**: the value is 0 and the interval ``[0, upper]`` is the
    exact one-sided bound at ``confidence``: ``1 - (1 - c) ** (1 / n)`` for a
    probability from ``n`` samples (times the largest value a sample can take),
    ``-ln(1 - c) / exposure`` for a rate or a count per unit of exposure. Never a
    bare 0 (:func:`nothing_observed`).
``exact``
    Computed exactly (no sampling): the interval is the value.
``rounding-bound``
    Computed without sampling in floating point: the interval is the value plus or
    minus a proven bound on the accumulated rounding error (the exact engine on
    large diagrams).
``undefined``
    The interval cannot be formed: no sample, no denominator (a rate per call
    when no call was simulated: the value is ``nan`` too), or a single sample (no
    spread to estimate). ``details["undefined"]`` says why, and the JSON form
    (:meth:`Estimate.to_dict`) gives those words in place of each missing number.

Examples
--------
>>> from model.results.estimate import binomial_estimate
>>> e = binomial_estimate(5, 1000, method="crude-mc", seed=1)
>>> round(e.value, 4), e.samples, e.interval
(0.005, 1000, 'wilson')
>>> z = binomial_estimate(0, 1000, method="crude-mc")
>>> z.value, round(z.ci_high, 5), z.interval
(0.0, 0.00299, 'one-sided-upper')
"""

from __future__ import annotations

import functools
import math
import platform
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

__all__ = [
    "INTERVALS",
    "Estimate",
    "binomial_estimate",
    "clopper_pearson",
    "mean_estimate",
    "nothing_observed",
    "provenance",
    "ratio_estimate",
    "sample_mean_estimate",
    "summary_dict",
    "wilson",
]

#: The interval labels (see the module notes); an :class:`Estimate` with any other label is refused.
INTERVALS = ("wilson", "clopper-pearson", "normal", "delta-normal", "one-sided-upper", "exact",
             "rounding-bound", "undefined")


@dataclass(frozen=True)
class Estimate:
    """A probability or rate with its uncertainty and where it came from.

    Attributes
    ----------
    value : float
        Point estimate.
    ci_low, ci_high : float
        Two-sided interval at ``confidence`` (or ``[0, upper]`` when ``interval``
        is ``one-sided-upper``: nothing observed).
    std_error : float
        Standard error of ``value`` (0 for exact values).
    samples : int
        Trials, simulated years or replications behind the value (0 for exact).
    method : str
        ``"exact-bdd"``, ``"crude-mc"``, ``"turnip"``, ``"simulation"``, ...
    seed : int or None
        Entropy of the root ``SeedSequence`` (None for exact methods).
    interval : str
        How the interval was made: one of :data:`INTERVALS`.
    confidence : float
        Level of the interval.
    seconds : float
        Wall time behind the value.
    details : dict
        Engine-specific diagnostics (events counted, quantiles, warnings).
    provenance : dict
        Version, commit, time and run settings (:func:`provenance`).

    Raises
    ------
    ValueError
        An interval label outside :data:`INTERVALS`.

    Examples
    --------
    >>> e = Estimate(0.5, 0.4, 0.6, 0.05, 100, "crude-mc", 1, interval="normal")
    >>> e.relative_error, str(e)
    (0.1, '0.5 [0.4, 0.6] (crude-mc, n=100, normal)')
    """

    value: float
    ci_low: float
    ci_high: float
    std_error: float
    samples: int
    method: str
    seed: int | None = None
    confidence: float = 0.95
    interval: str = "normal"
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.interval not in INTERVALS:
            raise ValueError(f"interval {self.interval!r} is not one of {', '.join(INTERVALS)}")

    @property
    def relative_error(self) -> float:
        """Standard error over value (``inf`` when the value is 0)."""
        return self.std_error / self.value if self.value > 0 else math.inf

    def scaled(self, factor: float) -> Estimate:
        """The same estimate multiplied by a non-negative constant (e.g. calls per year)."""
        if factor < 0:
            raise ValueError("factor must be >= 0")
        return Estimate(
            self.value * factor, self.ci_low * factor, self.ci_high * factor, self.std_error * factor,
            self.samples, self.method, self.seed, self.confidence, self.interval, self.seconds,
            dict(self.details), dict(self.provenance),
        )

    def to_dict(self, *, with_provenance: bool = True) -> dict[str, Any]:
        """JSON-ready dict; non-finite numbers become ``None``.

        ``with_provenance=False`` leaves the provenance out (for a figure nested in a result that
        states it once).
        """
        d = asdict(self)
        if not with_provenance:
            d.pop("provenance")
        d["estimate"] = d.pop("value")
        d["relative_error"] = self.relative_error
        d = jsonable(d)
        if self.interval == "undefined":  # the numbers that cannot be given say why, in words
            why = f"undefined: {self.details.get('undefined', 'no interval')}"
            for k in ("estimate", "ci_low", "ci_high", "std_error", "relative_error"):
                if d[k] is None:
                    d[k] = why
        return d

    def __str__(self) -> str:
        return (f"{self.value:.4g} [{self.ci_low:.4g}, {self.ci_high:.4g}] "
                f"({self.method}, n={self.samples}, {self.interval})")


def jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        x = float(x)
        return x if math.isfinite(x) else None
    return x


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes in ``n`` trials.

    >>> [round(x, 4) for x in wilson(10, 100)]
    [0.0552, 0.1744]
    """
    if n <= 0:
        return 0.0, 1.0
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval; conservative.

    >>> [round(x, 4) for x in clopper_pearson(10, 100)]
    [0.049, 0.1762]
    """
    if n <= 0:
        return 0.0, 1.0
    a = 1 - confidence
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def binomial_estimate(
    k: int, n: int, *, method: str, seed: int | None = None, confidence: float = 0.95,
    interval: str = "wilson", seconds: float = 0.0, details: dict | None = None,
) -> Estimate:
    """Estimate of a probability from ``k`` events in ``n`` independent trials.

    With ``k == 0`` the interval is the exact one-sided upper bound
    ``1 - (1 - confidence) ** (1 / n)`` and the value is 0 with that bound stated.
    """
    if k < 0 or n < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    p = k / n if n else 0.0
    se = math.sqrt(p * (1 - p) / n) if n else math.inf
    if k == 0:
        return nothing_observed(n, method=method, seed=seed, confidence=confidence, seconds=seconds,
                                details={"events": 0, **(details or {})})
    if interval == "clopper-pearson":
        lo, hi = clopper_pearson(k, n, confidence)
        kind = interval
    else:
        lo, hi = wilson(k, n, confidence)
        kind = "wilson"
    return Estimate(p, lo, hi, se, n, method, seed, confidence, kind, seconds,
                    {"events": int(k), **(details or {})})


def mean_estimate(
    total: float, total_sq: float, n: int, *, n_nonzero: int, method: str, seed: int | None = None,
    confidence: float = 0.95, seconds: float = 0.0, upper_bound_per_sample: float = 1.0,
    details: dict | None = None,
) -> Estimate:
    """Estimate of the mean of ``n`` i.i.d. samples in ``[0, upper_bound_per_sample]``.

    Given the running sums ``total`` and ``total_sq`` (sums add exactly across
    chunks, so any split of the work gives the same answer). With no non-zero
    sample the interval is the exact binomial one-sided bound on P(sample > 0)
    times the per-sample bound, never a bare zero. Otherwise it is a normal
    interval, with its lower end at 0 or above.
    """
    if n <= 0:
        raise ValueError("need at least one sample")
    mean = total / n
    if n_nonzero == 0:
        return nothing_observed(n, method=method, seed=seed, confidence=confidence, seconds=seconds,
                                per_sample=upper_bound_per_sample,
                                details={"nonzero_samples": 0, **(details or {})})
    var = max(total_sq / n - mean * mean, 0.0) * n / max(n - 1, 1)
    se = math.sqrt(var / n)
    z = _z(confidence)
    return Estimate(mean, max(0.0, mean - z * se), mean + z * se, se, n, method, seed, confidence,
                    "normal", seconds, {"nonzero_samples": int(n_nonzero), **(details or {})})


def nothing_observed(
    n: int, *, method: str, seed: int | None = None, confidence: float = 0.95, seconds: float = 0.0,
    per_sample: float = 1.0, exposure: float | None = None, details: dict | None = None,
    provenance: dict | None = None,
) -> Estimate:
    """The one rule for nothing observed: value 0 with the exact one-sided upper bound at ``confidence``.

    Without ``exposure``: a probability (or a mean of samples in ``[0, per_sample]``) from ``n``
    samples none of which was positive, bound ``(1 - (1 - c) ** (1 / n)) * per_sample``. With
    ``exposure``: a rate of Poisson events with none seen in ``exposure`` units (calls, years),
    bound ``-ln(1 - c) / exposure``.

    Examples
    --------
    >>> round(nothing_observed(1000, method="crude-mc").ci_high, 5)
    0.00299
    >>> e = nothing_observed(50, method="simulation", exposure=1e6)
    >>> e.value, round(e.ci_high * 1e6, 3), e.interval
    (0.0, 2.996, 'one-sided-upper')
    """
    if exposure is not None:
        hi = -math.log(1 - confidence) / exposure if exposure > 0 else math.inf
    else:
        hi = (1 - (1 - confidence) ** (1 / n)) * per_sample if n > 0 else per_sample
    return Estimate(0.0, 0.0, hi, 0.0, int(n), method, seed, confidence, "one-sided-upper", seconds,
                    dict(details or {}), dict(provenance or {}))


def _one(sample: str) -> str:
    return f"one {sample} gives no interval (at least 2 are needed)"


def _undefined(value: float, n: int, method: str, seed: int | None, confidence: float, seconds: float,
               info: dict, why: str) -> Estimate:
    """An estimate whose interval cannot be formed; ``why`` goes to ``details["undefined"]``."""
    return Estimate(value, math.nan, math.nan, math.nan, int(n), method, seed, confidence, "undefined",
                    seconds, {**info, "undefined": why})


def _z(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2))


def sample_mean_estimate(
    x: np.ndarray, *, method: str, seed: int | None = None, confidence: float = 0.95, seconds: float = 0.0,
    student: bool = False, per_sample: float | None = None, quantiles: tuple[int, ...] = (),
    details: dict | None = None, sample: str = "sample",
) -> Estimate:
    """Mean of i.i.d. samples ``x`` (e.g. failed calls per simulated year) with a normal interval.

    ``student`` uses the ``t`` quantile with ``n - 1`` degrees of freedom. ``quantiles`` (percent)
    adds ``p50``, ``p95``, ... and ``max`` of the samples to ``details``. When no sample is
    positive the value is 0 with the one-sided bound (:func:`nothing_observed`): of a mean of
    samples in ``[0, per_sample]``, or, with ``per_sample=None``, of a mean count per sample.
    With no sample, or one (no spread to estimate), the interval is ``undefined`` and says why in
    words, naming the ``sample`` ("simulated year").

    Examples
    --------
    >>> import numpy as np
    >>> e = sample_mean_estimate(np.array([1.0, 3.0]), method="simulation", quantiles=(50,))
    >>> e.value, e.interval, e.details["p50"], e.details["max"]
    (2.0, 'normal', 2.0, 3.0)
    >>> sample_mean_estimate(np.zeros(100), method="simulation").interval
    'one-sided-upper'
    >>> one = sample_mean_estimate(np.array([4.0]), method="simulation", sample="simulated year")
    >>> one.to_dict()["ci_high"]
    'undefined: one simulated year gives no interval (at least 2 are needed)'
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    info: dict[str, Any] = {}
    for p in quantiles:
        info[f"p{p}"] = float(np.percentile(x, p)) if n else math.nan
    if quantiles:
        info["max"] = float(x.max()) if n else math.nan
    info.update(details or {})
    if n == 0:
        return _undefined(math.nan, 0, method, seed, confidence, seconds, info, f"no {sample}s")
    if not (x > 0).any() and not (x < 0).any():
        return nothing_observed(n, method=method, seed=seed, confidence=confidence, seconds=seconds,
                                per_sample=1.0 if per_sample is None else per_sample,
                                exposure=float(n) if per_sample is None else None, details=info)
    mean = float(x.mean())
    if n == 1:
        return _undefined(mean, 1, method, seed, confidence, seconds, info, _one(sample))
    se = float(x.std(ddof=1) / math.sqrt(n))
    q = float(stats.t.ppf(0.5 + confidence / 2, max(n - 1, 1))) if student else _z(confidence)
    if student:
        info["quantile"] = "student-t"
    return Estimate(mean, max(0.0, mean - q * se), mean + q * se, se, n, method, seed, confidence, "normal",
                    seconds, info)


def ratio_estimate(
    num: np.ndarray, den: np.ndarray, *, method: str, seed: int | None = None, confidence: float = 0.95,
    seconds: float = 0.0, details: dict | None = None, sample: str = "sample",
    denominator: str = "denominator",
) -> Estimate:
    """``sum(num) / sum(den)`` of paired per-sample values (e.g. unreachable over genuine calls per year).

    Delta-method interval from the between-sample variation of ``num - r * den``; with
    ``sum(num) == 0`` the Poisson one-sided bound ``-ln(1 - c) / sum(den)``; with no
    ``denominator`` at all, or one ``sample`` (no spread), ``undefined`` with the reason in words.

    Examples
    --------
    >>> import numpy as np
    >>> e = ratio_estimate(np.array([1.0, 3.0, 2.0]), np.array([100.0, 100.0, 100.0]), method="simulation")
    >>> e.value, e.interval
    (0.02, 'delta-normal')
    >>> round(ratio_estimate(np.zeros(3), np.full(3, 1e6), method="simulation").ci_high * 3e6, 3)
    2.996
    """
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    n = num.size
    sn, sd = float(num.sum()), float(den.sum())
    if sd <= 0:
        return _undefined(math.nan, n, method, seed, confidence, seconds, dict(details or {}),
                          f"no {denominator}")
    if sn == 0:
        return nothing_observed(n, method=method, seed=seed, confidence=confidence, seconds=seconds,
                                exposure=sd, details=details)
    r = sn / sd
    if n == 1:
        return _undefined(r, 1, method, seed, confidence, seconds, dict(details or {}), _one(sample))
    resid = num - r * den
    se = math.sqrt(float(resid.var(ddof=1)) / n) / float(den.mean())
    z = _z(confidence)
    return Estimate(r, max(0.0, r - z * se), r + z * se, se, n, method, seed, confidence, "delta-normal",
                    seconds, dict(details or {}))


def summary_dict(est: Estimate, *, with_provenance: bool = False) -> dict[str, Any]:
    """JSON form of a mean figure: :meth:`Estimate.to_dict` plus ``mean`` and the quantiles of ``details``
    lifted to the top (the keys the reports and the CLI read).

    Examples
    --------
    >>> import numpy as np
    >>> d = summary_dict(sample_mean_estimate(np.array([1.0, 3.0]), method="simulation", quantiles=(95,)))
    >>> d["mean"], d["estimate"], d["p95"]
    (2.0, 2.0, 2.9)
    """
    d = est.to_dict(with_provenance=with_provenance)
    d["mean"] = d["estimate"]
    for k, v in est.details.items():
        if k == "max" or (k[:1] == "p" and k[1:].isdigit()):
            d[k] = jsonable(v)
    return d


@functools.lru_cache(maxsize=1)
def _git_commit() -> str | None:
    # asked once per process: a fork per estimate cost more than a small exact solve
    here = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def provenance(**extra: Any) -> dict[str, Any]:
    """Version, git commit, Python, numpy, time (UTC) and anything passed in."""
    from model.version import __version__

    return jsonable({
        "nines_version": __version__,
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **extra,
    })
