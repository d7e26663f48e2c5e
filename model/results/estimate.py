"""Estimates with confidence intervals and provenance.

Every number nines reports is an :class:`Estimate`: value, confidence interval,
standard error, sample count, method, seed and provenance. Interval helpers for
binomial counts (Wilson, Clopper–Pearson, exact one-sided bound when nothing was
observed) and for means of bounded samples live here too.

Examples
--------
>>> from model.results.estimate import binomial_estimate
>>> e = binomial_estimate(5, 1000, method="crude-mc", seed=1)
>>> round(e.value, 4), e.samples, e.interval
(0.005, 1000, 'wilson')
>>> z = binomial_estimate(0, 1000, method="crude-mc")
>>> z.value, round(z.ci_high, 5), z.interval
(0.0, 0.00299, 'clopper-pearson-upper')
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
    "Estimate",
    "binomial_estimate",
    "clopper_pearson",
    "mean_estimate",
    "provenance",
    "wilson",
]


@dataclass(frozen=True)
class Estimate:
    """A probability or rate with its uncertainty and where it came from.

    Attributes
    ----------
    value : float
        Point estimate.
    ci_low, ci_high : float
        Two-sided interval at ``confidence`` (or ``[0, upper]`` when
        ``interval`` ends in ``-upper``: a one-sided bound, nothing observed).
    std_error : float
        Standard error of ``value`` (0 for exact values).
    samples : int
        Trials, simulated years or replications behind the value (0 for exact).
    method : str
        ``"exact-bdd"``, ``"crude-mc"``, ``"turnip"``, ``"simulation"``, ...
    seed : int or None
        Entropy of the root ``SeedSequence`` (None for exact methods).
    interval : str
        How the interval was made: ``wilson``, ``clopper-pearson``,
        ``clopper-pearson-upper``, ``normal``, ``exact``.
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; non-finite numbers become ``None``."""
        d = asdict(self)
        d["estimate"] = d.pop("value")
        d["relative_error"] = self.relative_error
        return jsonable(d)

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
        hi = 1 - (1 - confidence) ** (1 / n) if n else 1.0
        lo, kind = 0.0, "clopper-pearson-upper"
    elif interval == "clopper-pearson":
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
        hi = (1 - (1 - confidence) ** (1 / n)) * upper_bound_per_sample
        return Estimate(0.0, 0.0, hi, 0.0, n, method, seed, confidence, "clopper-pearson-upper",
                        seconds, {"nonzero_samples": 0, **(details or {})})
    var = max(total_sq / n - mean * mean, 0.0) * n / max(n - 1, 1)
    se = math.sqrt(var / n)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return Estimate(mean, max(0.0, mean - z * se), mean + z * se, se, n, method, seed, confidence,
                    "normal", seconds, {"nonzero_samples": int(n_nonzero), **(details or {})})


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
