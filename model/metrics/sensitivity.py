"""Sensitivity and uncertainty: uncertain parameters, Sobol indices, tornado swings, two-level propagation.

Generic tools for any model output ``func`` of a few uncertain parameters:

* :class:`UncertainParameter` — a named scenario value (a dotted key path, or several
  paths that move together) with a range, a distribution (uniform or log-uniform) and
  its source; :func:`apply_parameters` turns values into a scenario variant through
  :meth:`Scenario.extend <model.scenario.loader.Scenario.extend>` (the scenario stays
  immutable and every value is validated like a scenario file).
* :func:`sobol_indices` — first-order and total Sobol indices from
  :func:`scipy.stats.sobol_indices` (Saltelli 2010 estimators on a scrambled Sobol
  design), with percentile-bootstrap confidence intervals drawn from the caller's seed.
* :func:`tornado_data` — one-at-a-time swings: the output with each parameter at its
  low and at its high end, the others at their base values.
* :func:`propagate` — two-level Monte Carlo: an outer design over the parameters
  (scrambled Sobol or Latin hypercube), an inner estimate with its own standard error
  at each outer point; returns the distribution of the output, a median / p05 / p95
  band and the split of the spread into parameter uncertainty and Monte Carlo noise.

``func`` is vectorised: it receives a ``(d, n)`` array (row ``i`` = parameter ``i``)
and returns ``(n,)`` or ``(s, n)`` outputs (``propagate`` also accepts a pair
``(values, std_errors)``). With ``vectorized=False`` it is called once per sample with
a ``(d,)`` vector. Randomness comes only from the ``seed`` argument (an int, a
:class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator`).

Examples
--------
>>> import numpy as np
>>> from model.metrics.sensitivity import UncertainParameter, sobol_indices, tornado_data
>>> params = [UncertainParameter("a", "x.a", 0.0, 1.0), UncertainParameter("b", "x.b", 0.0, 1.0)]
>>> res = sobol_indices(lambda x: 4 * x[0] + x[1], params, n=1024, seed=1)
>>> [round(float(v), 2) for v in res.first_order[0]]   # variances 16/12 and 1/12 -> 16/17, 1/17
[0.94, 0.06]
>>> t = tornado_data(lambda x: 4 * x[0] + x[1], params, base=[0.5, 0.5])
>>> t.rows()[0]["name"], t.rows()[0]["swing"]
('a', 4.0)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats
from scipy.stats import qmc

from model.metrics.calibration import callers_overlay
from model.run.seeds import named_rng
from model.scenario.loader import Scenario
from model.scenario.schema import ScenarioError
from model.scenario.uncertainty import apply_uncertainty, uncertainty_groups
from model.sim.engine import as_time_model, check_call_budget, check_normal_operation

__all__ = [
    "CALIBRATED_GROUPS",
    "AssumptionDraws",
    "Propagation",
    "SobolIndices",
    "TornadoData",
    "UncertainParameter",
    "apply_parameters",
    "assumption_draws",
    "outer_design",
    "parameter_table",
    "propagate",
    "sobol_indices",
    "time_engine_refusals",
    "tornado_data",
]

Distribution = Literal["uniform", "loguniform", "discrete"]
SeedLike = int | np.random.SeedSequence | np.random.Generator | None


# ----------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class UncertainParameter:
    """A scenario value known only to lie in a range.

    Parameters
    ----------
    name : str
        Display name (also the key of the parameter in results).
    path : str or tuple of str
        Dotted key path(s) in the scenario document, e.g.
        ``"redundancy_groups.bt_platforms.detection_delay.mean_hours"``; every path
        receives the same value (a mean and a standard deviation that move together,
        or the same rate for two platforms).
    low, high : float
        Range of the parameter (``low < high``).
    distribution : {"uniform", "loguniform", "discrete"}
        How values are spread over the range (log-uniform needs ``low > 0``;
        discrete: the ``levels``, equally likely).
    source : str
        Citation or ``"assumption: <why>"`` for the range.
    unit : str
        Unit shown in reports.
    levels : tuple of float
        The values of a discrete parameter, increasing, from ``low`` to ``high`` (for a
        model that can only be evaluated at some values, e.g. replayed capacities).

    Examples
    --------
    >>> p = UncertainParameter("beta", "common_cause_groups.g.beta", 0.02, 0.10, source="BETA_SIL")
    >>> p.paths, round(float(p.ppf(0.5)), 2)
    (('common_cause_groups.g.beta',), 0.06)
    >>> round(float(UncertainParameter("rate", "a.b", 0.001, 0.1, "loguniform").ppf(0.5)), 4)
    0.01
    >>> calls = UncertainParameter("calls", "a.c", 24, 98, "discrete", levels=(24, 49, 98))
    >>> calls.ppf([0.1, 0.5, 0.9]).tolist()
    [24.0, 49.0, 98.0]
    """

    name: str
    path: str | tuple[str, ...]
    low: float
    high: float
    distribution: Distribution = "uniform"
    source: str = ""
    unit: str = ""
    levels: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.path, list):
            object.__setattr__(self, "path", tuple(self.path))
        if not self.paths or not all(isinstance(p, str) and p.strip(".") for p in self.paths):
            raise ValueError(f"parameter {self.name!r}: path must be a dotted key or a tuple of them, "
                             f"got {self.path!r}")
        lo, hi = float(self.low), float(self.high)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"parameter {self.name!r}: need finite low < high, "
                             f"got [{self.low}, {self.high}]")
        if self.distribution not in ("uniform", "loguniform", "discrete"):
            raise ValueError(f"parameter {self.name!r}: distribution {self.distribution!r} is not allowed; "
                             "use 'uniform', 'loguniform' or 'discrete'")
        object.__setattr__(self, "levels", tuple(float(v) for v in self.levels))
        if self.distribution == "discrete":
            lv = np.asarray(self.levels)
            if lv.size < 2 or not np.all(np.isfinite(lv)) or np.any(np.diff(lv) <= 0) \
                    or lv[0] != lo or lv[-1] != hi:
                raise ValueError(f"parameter {self.name!r}: a discrete parameter needs two or more "
                                 f"increasing levels from low to high, got {self.levels} for "
                                 f"[{self.low}, {self.high}]")
        elif self.levels:
            raise ValueError(f"parameter {self.name!r}: levels are only for distribution 'discrete'")
        if self.distribution == "loguniform" and lo <= 0:
            raise ValueError(f"parameter {self.name!r}: a log-uniform range needs low > 0, got {self.low}")

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path,) if isinstance(self.path, str) else tuple(self.path)

    @property
    def dist(self) -> Any:
        """The scipy frozen distribution of the parameter."""
        if self.distribution == "discrete":
            k = len(self.levels)
            return stats.rv_discrete(values=(np.asarray(self.levels), np.full(k, 1.0 / k)))
        if self.distribution == "loguniform":
            return stats.loguniform(float(self.low), float(self.high))
        return stats.uniform(loc=float(self.low), scale=float(self.high) - float(self.low))

    def ppf(self, u: Any) -> np.ndarray:
        """Values at probabilities ``u`` (inverse of the distribution function)."""
        u = np.asarray(u, dtype=float)
        if self.distribution == "discrete":
            lv = np.asarray(self.levels)
            return lv[np.clip(np.floor(u * lv.size).astype(np.int64), 0, lv.size - 1)]
        if self.distribution == "loguniform":
            return np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)

    @property
    def median(self) -> float:
        return float(self.ppf(0.5))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "paths": list(self.paths), "low": float(self.low),
                "high": float(self.high), "distribution": self.distribution, "source": self.source,
                "unit": self.unit, "levels": list(self.levels)}


def parameter_table(params: Sequence[UncertainParameter]) -> list[dict[str, Any]]:
    """Rows (name, range, distribution, source) for a report table."""
    return [{"parameter": p.name, "low": p.low, "high": p.high, "distribution": p.distribution,
             "unit": p.unit, "source": p.source or "not stated"} for p in params]


def _values_list(params: Sequence[UncertainParameter], values: Sequence[float] | Mapping[str, float]
                 ) -> list[float]:
    if isinstance(values, Mapping):
        names = {p.name for p in params}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"values for unknown parameters {unknown}; known: {sorted(names)}")
        missing = [p.name for p in params if p.name not in values]
        if missing:
            raise ValueError(f"no value given for parameters {missing}")
        return [float(values[p.name]) for p in params]
    vals = [float(v) for v in np.asarray(values, dtype=float).reshape(-1)]
    if len(vals) != len(params):
        raise ValueError(f"{len(vals)} values for {len(params)} parameters")
    return vals


def apply_parameters(scenario: Scenario, params: Sequence[UncertainParameter],
                     values: Sequence[float] | Mapping[str, float]) -> Scenario:
    """The scenario with each parameter's path(s) set to its value (a validated variant).

    Every table on a path must exist in the scenario; a value whose current entry is
    an integer (e.g. ``concurrent_calls``) is rounded. The variant is built with
    :meth:`Scenario.extend`, so out-of-range values are reported like any scenario
    error (:class:`~model.scenario.schema.ScenarioError`, naming the key).

    Raises
    ------
    ValueError
        Naming the parameter and the path when a table on the path does not exist,
        or when values do not match the parameters.

    Examples
    --------
    >>> from model.scenario.loader import load_scenario
    >>> s = load_scenario("uk999")
    >>> p = UncertainParameter("DR concurrent calls",
    ...                        "call_handling_platforms.bt_dr.capacity.concurrent_calls", 25, 98)
    >>> apply_parameters(s, [p], [73.4]).call_handling_platforms["bt_dr"].capacity.concurrent_calls
    73
    >>> bad = UncertainParameter("x", "call_handling_platforms.bt_nope.capacity", 0, 1)
    >>> apply_parameters(s, [bad], [1])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: parameter 'x': path 'call_handling_platforms.bt_nope.capacity': no table 'bt_nope' under ...
    """
    vals = _values_list(params, values)
    overlay: dict[str, Any] = {}
    raw = scenario.raw
    for p, v in zip(params, vals, strict=True):
        for path in p.paths:
            keys = path.split(".")
            if any(not k for k in keys):
                raise ValueError(f"parameter {p.name!r}: path {path!r} has an empty key")
            node: Any = raw
            here = "the scenario root"
            for k in keys[:-1]:
                if not isinstance(node, Mapping):
                    raise ValueError(f"parameter {p.name!r}: path {path!r}: {here!r} is a value, not a table")
                if k not in node or not isinstance(node[k], Mapping):
                    what = "no table" if k not in node else "not a table:"
                    has = ", ".join(sorted(str(x) for x in node)[:12]) if isinstance(node, Mapping) else ""
                    raise ValueError(f"parameter {p.name!r}: path {path!r}: {what} {k!r} under {here!r} in "
                                     f"scenario {scenario.name!r} (has: {has})")
                node = node[k]
                here = k
            old = node.get(keys[-1]) if isinstance(node, Mapping) else None
            if isinstance(old, Mapping):
                raise ValueError(f"parameter {p.name!r}: path {path!r} names a table, not a value")
            new: Any = round(v) if isinstance(old, int) and not isinstance(old, bool) else float(v)
            target = overlay
            for k in keys[:-1]:
                target = target.setdefault(k, {})
            target[keys[-1]] = new
    return scenario.extend(overlay, where="<parameters: " + ", ".join(p.name for p in params) + ">")


# ----------------------------------------------------------------------------- helpers
def _generator(seed: SeedLike) -> tuple[np.random.Generator, int | None]:
    """A Generator and the recorded seed (int entropy, or None for a given Generator)."""
    if isinstance(seed, np.random.Generator):
        return seed, None
    if isinstance(seed, np.random.SeedSequence):
        ent = seed.entropy
        return named_rng(seed, "sensitivity"), int(ent) if isinstance(ent, int) else None
    if seed is None:
        ss = np.random.SeedSequence()
        return named_rng(ss, "sensitivity"), int(ss.entropy)
    return named_rng(int(seed), "sensitivity"), int(seed)


def _evaluate(func: Callable[[np.ndarray], Any], x: np.ndarray, vectorized: bool
              ) -> tuple[np.ndarray, np.ndarray | None]:
    """Outputs (s, n) and standard errors (s, n) or None of ``func`` at the columns of ``x``."""
    if vectorized:
        out = func(x)
    else:
        outs = [func(x[:, i]) for i in range(x.shape[1])]  # a model that cannot take a batch
        if outs and isinstance(outs[0], tuple):
            out = (np.stack([np.atleast_1d(np.asarray(o[0], float)) for o in outs], axis=-1),
                   np.stack([np.atleast_1d(np.asarray(o[1], float)) for o in outs], axis=-1))
        else:
            out = np.stack([np.atleast_1d(np.asarray(o, float)) for o in outs], axis=-1)
    se = None
    if isinstance(out, tuple):
        out, se = out
        se = np.atleast_2d(np.asarray(se, dtype=float))
    val = np.atleast_2d(np.asarray(out, dtype=float))
    if val.shape[-1] != x.shape[1] or val.ndim != 2:
        raise ValueError(f"func returned shape {np.shape(out)} for {x.shape[1]} samples; "
                         "expected (n,) or (s, n)")
    if se is not None and se.shape != val.shape:
        raise ValueError(f"func's standard errors have shape {se.shape}, values {val.shape}")
    if not np.all(np.isfinite(val)):
        raise ValueError("func returned non-finite values")
    return val, se


def _names(output_names: Sequence[str] | None, s: int) -> list[str]:
    if output_names is None:
        return [f"output {i}" for i in range(s)] if s > 1 else ["output"]
    names = [str(x) for x in output_names]
    if len(names) != s:
        raise ValueError(f"{len(names)} output names for {s} outputs")
    return names


def _check_pow2(n: int, what: str) -> int:
    n_ = int(n)
    if n_ < 2 or n_ & (n_ - 1) or n_ != n:
        raise ValueError(f"{what}: n must be a power of 2 (>= 2) for a balanced Sobol design, got {n}")
    return n_


# ----------------------------------------------------------------------------- Sobol indices
@dataclass(frozen=True, eq=False)
class SobolIndices:
    """First-order and total Sobol indices with bootstrap intervals.

    ``first_order`` and ``total_order`` have shape (s, d) (outputs × parameters);
    ``first_ci`` and ``total_ci`` shape (s, d, 2). ``evaluations = n (d + 2)``.
    """

    names: tuple[str, ...]
    outputs: tuple[str, ...]
    first_order: np.ndarray
    total_order: np.ndarray
    first_ci: np.ndarray
    total_ci: np.ndarray
    n: int
    evaluations: int
    confidence: float
    n_resamples: int
    seed: int | None
    seconds: float
    output_variance: np.ndarray
    output_mean: np.ndarray
    method: str = ("scipy.stats.sobol_indices (Saltelli 2010 first-order and total estimators, scrambled "
                   "Sobol A/B design), percentile bootstrap over the n base rows; estimates and intervals "
                   "clipped to [0, 1], the indices' range")

    def rows(self, output: int = 0) -> list[dict[str, Any]]:
        """Per-parameter rows for one output, largest total index first."""
        order = np.argsort(-self.total_order[output], kind="stable")
        return [{"parameter": self.names[i],
                 "first_order": float(self.first_order[output, i]),
                 "first_ci": [float(self.first_ci[output, i, 0]), float(self.first_ci[output, i, 1])],
                 "total_order": float(self.total_order[output, i]),
                 "total_ci": [float(self.total_ci[output, i, 0]), float(self.total_ci[output, i, 1])]}
                for i in order]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "parameters": list(self.names),
            "n": self.n,
            "evaluations": self.evaluations,
            "confidence": self.confidence,
            "bootstrap_resamples": self.n_resamples,
            "seed": self.seed,
            "seconds": round(self.seconds, 3),
            "outputs": {name: {"mean": float(self.output_mean[k]), "variance": float(self.output_variance[k]),
                               "indices": self.rows(k)} for k, name in enumerate(self.outputs)},
        }


def _saltelli(f_a: np.ndarray, f_b: np.ndarray, f_ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices (s, d) from evaluations, computed by :func:`scipy.stats.sobol_indices`."""
    n = f_a.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        res = stats.sobol_indices(func={"f_A": f_a, "f_B": f_b, "f_AB": f_ab}, n=n)
    s = f_a.shape[0]
    d = f_ab.shape[0]
    first = np.asarray(res.first_order, float).reshape(s, d)
    return first, np.asarray(res.total_order, float).reshape(s, d)


def sobol_indices(
    func: Callable[[np.ndarray], Any],
    params: Sequence[UncertainParameter],
    n: int,
    seed: SeedLike,
    *,
    vectorized: bool = True,
    confidence: float = 0.95,
    n_resamples: int = 999,
    output_names: Sequence[str] | None = None,
) -> SobolIndices:
    """First-order and total Sobol indices of ``func`` over ``params``, with bootstrap intervals.

    The A and B matrices are the two halves of one scrambled Sobol design of ``2 d``
    dimensions (as in :func:`scipy.stats.sobol_indices`), mapped through each
    parameter's distribution; ``func`` is evaluated at A, B and the ``d`` matrices
    ``AB_i`` (A with column ``i`` from B): ``n (d + 2)`` points. The indices are
    computed by :func:`scipy.stats.sobol_indices` from those evaluations, and their
    intervals by a percentile bootstrap over the ``n`` rows with a generator from
    ``seed`` (so the whole result is reproducible).

    Parameters
    ----------
    func : callable
        ``func(x)`` with ``x`` of shape (d, m) returns (m,) or (s, m) finite outputs.
    params : sequence of UncertainParameter
    n : int
        Base sample size, a power of 2.
    seed : int, SeedSequence or Generator
    vectorized : bool
        False: ``func`` takes one (d,) sample at a time.
    confidence : float
        Level of the bootstrap intervals.
    n_resamples : int
        Bootstrap resamples.
    output_names : sequence of str, optional

    Returns
    -------
    SobolIndices

    Examples
    --------
    >>> p = [UncertainParameter(f"x{i}", f"t.x{i}", -math.pi, math.pi) for i in range(3)]
    >>> def ishigami(x):
    ...     return np.sin(x[0]) + 7 * np.sin(x[1]) ** 2 + 0.1 * x[2] ** 4 * np.sin(x[0])
    >>> r = sobol_indices(ishigami, p, n=4096, seed=3)
    >>> np.round(r.first_order[0], 2).tolist(), np.round(r.total_order[0], 2).tolist()
    ([0.31, 0.44, 0.0], [0.56, 0.44, 0.24])
    """
    params = list(params)
    d = len(params)
    if d < 1:
        raise ValueError("sobol_indices needs at least one parameter")
    n = _check_pow2(n, "sobol_indices")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    t0 = time.perf_counter()
    rng, recorded = _generator(seed)
    u = qmc.Sobol(d=2 * d, scramble=True, bits=64, rng=rng).random(n)
    u = np.clip(u, 1e-12, 1 - 1e-12)
    a = np.stack([p.ppf(u[:, i]) for i, p in enumerate(params)])
    b = np.stack([p.ppf(u[:, d + i]) for i, p in enumerate(params)])
    ab = np.repeat(a[None], d, axis=0)
    idx = np.arange(d)
    ab[idx, idx] = b[idx]
    x = np.concatenate([a, b, np.moveaxis(ab, 0, 1).reshape(d, d * n)], axis=1)  # one batch for func
    f, _ = _evaluate(func, x, vectorized)
    s = f.shape[0]
    f_a, f_b = f[:, :n], f[:, n: 2 * n]
    f_ab = np.moveaxis(f[:, 2 * n:].reshape(s, d, n), 1, 0)  # (d, s, n)
    first, total = _saltelli(f_a, f_b, f_ab)
    first, total = np.clip(first, 0.0, 1.0), np.clip(total, 0.0, 1.0)  # the indices' range

    def statistic(rows: np.ndarray) -> np.ndarray:
        fi, ti = _saltelli(f_a[:, rows], f_b[:, rows], f_ab[..., rows])
        return np.concatenate([fi.ravel(), ti.ravel()])

    boot = stats.bootstrap((np.arange(n),), statistic, n_resamples=int(n_resamples), vectorized=False,
                           confidence_level=confidence, method="percentile", rng=rng)
    lo = np.asarray(boot.confidence_interval.low, float)
    hi = np.asarray(boot.confidence_interval.high, float)
    k = s * d
    # Sobol indices lie in [0, 1]; the estimators' bootstrap can stray outside, the interval may not
    first_ci = np.clip(np.stack([lo[:k].reshape(s, d), hi[:k].reshape(s, d)], axis=-1), 0.0, 1.0)
    total_ci = np.clip(np.stack([lo[k:].reshape(s, d), hi[k:].reshape(s, d)], axis=-1), 0.0, 1.0)
    both = np.concatenate([f_a, f_b], axis=1)
    return SobolIndices(tuple(p.name for p in params), tuple(_names(output_names, s)), first, total, first_ci,
                        total_ci, n, n * (d + 2), float(confidence), int(n_resamples), recorded,
                        time.perf_counter() - t0, both.var(axis=1), both.mean(axis=1))


# ----------------------------------------------------------------------------- tornado
@dataclass(frozen=True, eq=False)
class TornadoData:
    """One-at-a-time swings of one output: each parameter at its low and high end."""

    names: tuple[str, ...]
    low_values: np.ndarray
    high_values: np.ndarray
    base_values: np.ndarray
    base_output: float
    output_low: np.ndarray
    output_high: np.ndarray
    base_std_error: float | None = None
    se_low: np.ndarray | None = None
    se_high: np.ndarray | None = None

    @property
    def swing(self) -> np.ndarray:
        return np.abs(self.output_high - self.output_low)

    def rows(self) -> list[dict[str, Any]]:
        """Per-parameter rows, widest swing first."""
        out = []
        for i in np.argsort(-self.swing, kind="stable"):
            r = {"name": self.names[i], "low": float(self.low_values[i]), "high": float(self.high_values[i]),
                 "base": float(self.base_values[i]), "output_low": float(self.output_low[i]),
                 "output_high": float(self.output_high[i]), "swing": float(self.swing[i])}
            if self.se_low is not None and self.se_high is not None:
                r["se_low"] = float(self.se_low[i])
                r["se_high"] = float(self.se_high[i])
            out.append(r)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"method": "one at a time: each parameter at its range ends, the others at base",
                "base_output": self.base_output, "base_std_error": self.base_std_error, "rows": self.rows()}


def tornado_data(
    func: Callable[[np.ndarray], Any],
    params: Sequence[UncertainParameter],
    base: Sequence[float] | Mapping[str, float],
    *,
    vectorized: bool = True,
    output: int = 0,
) -> TornadoData:
    """Output at each parameter's low and high end, the others at ``base`` (one batch of 2d + 1 points).

    ``func`` may return values, or ``(values, std_errors)``; ``output`` picks one row of
    a multi-output ``func``.

    Examples
    --------
    >>> p = [UncertainParameter("a", "t.a", 0.0, 2.0), UncertainParameter("b", "t.b", 1.0, 3.0)]
    >>> t = tornado_data(lambda x: x[0] * x[1], p, base={"a": 1.0, "b": 2.0})
    >>> t.base_output, t.output_low.tolist(), t.output_high.tolist()
    (2.0, [0.0, 1.0], [4.0, 3.0])
    """
    params = list(params)
    d = len(params)
    b = np.array(_values_list(params, base))
    x = np.repeat(b[:, None], 2 * d + 1, axis=1)
    lows = np.array([p.low for p in params], float)
    highs = np.array([p.high for p in params], float)
    idx = np.arange(d)
    x[idx, 1 + idx] = lows
    x[idx, 1 + d + idx] = highs
    f, se = _evaluate(func, x, vectorized)
    if not 0 <= output < f.shape[0]:
        raise ValueError(f"output {output} out of range: func has {f.shape[0]} outputs")
    y = f[output]
    e = se[output] if se is not None else None
    return TornadoData(tuple(p.name for p in params), lows, highs, b, float(y[0]), y[1: 1 + d].copy(),
                       y[1 + d:].copy(), None if e is None else float(e[0]),
                       None if e is None else e[1: 1 + d].copy(), None if e is None else e[1 + d:].copy())


# ----------------------------------------------------------------------------- propagation
def _quantile_ci(x: np.ndarray, q: float, confidence: float) -> tuple[float, float]:
    """Distribution-free interval for the q-quantile from order statistics (binomial)."""
    n = x.size
    xs = np.sort(x)
    a = (1 - confidence) / 2
    lo = int(stats.binom.ppf(a, n, q))
    hi = int(stats.binom.ppf(1 - a, n, q))
    lo_v = float(xs[max(lo - 1, 0)]) if lo >= 1 else -math.inf
    hi_v = float(xs[min(hi, n - 1)]) if hi < n else math.inf
    return lo_v, hi_v


@dataclass(frozen=True, eq=False)
class Propagation:
    """Parameter uncertainty pushed through a model output (two-level Monte Carlo).

    Arrays are per output (shape (s,)) unless noted: ``samples`` (d, n) are the outer
    parameter draws, ``values`` (s, n) the inner estimates there, ``std_errors``
    (s, n) their inner standard errors (zeros when ``func`` gave none).
    ``variance_total`` is the variance of the inner estimates over the outer draws;
    ``variance_noise`` the mean inner variance (the part Monte Carlo noise adds), and
    ``share_noise = variance_noise / variance_total`` (capped at 1);
    ``share_parameter = 1 - share_noise``.
    """

    names: tuple[str, ...]
    outputs: tuple[str, ...]
    samples: np.ndarray
    values: np.ndarray
    std_errors: np.ndarray
    design: str
    seed: int | None
    seconds: float
    confidence: float = 0.9

    @property
    def n(self) -> int:
        return int(self.values.shape[1])

    def quantile(self, q: float) -> np.ndarray:
        return np.quantile(self.values, q, axis=1)

    @property
    def median(self) -> np.ndarray:
        return self.quantile(0.5)

    @property
    def p05(self) -> np.ndarray:
        return self.quantile(0.05)

    @property
    def p95(self) -> np.ndarray:
        return self.quantile(0.95)

    @property
    def mean(self) -> np.ndarray:
        return self.values.mean(axis=1)

    @property
    def variance_total(self) -> np.ndarray:
        return self.values.var(axis=1, ddof=1) if self.n > 1 else np.zeros(self.values.shape[0])

    @property
    def variance_noise(self) -> np.ndarray:
        return (self.std_errors**2).mean(axis=1)

    @property
    def share_noise(self) -> np.ndarray:
        tot = self.variance_total
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(tot > 0, self.variance_noise / tot, 0.0)
        return np.clip(share, 0.0, 1.0)

    @property
    def share_parameter(self) -> np.ndarray:
        return 1.0 - self.share_noise

    def band(self, k: int = 0) -> dict[str, Any]:
        """Summary of output ``k``: median, p05, p95 (with order-statistic 95 % intervals), mean, shares."""
        x = self.values[k]
        out: dict[str, Any] = {"median": float(np.median(x)), "p05": float(np.quantile(x, 0.05)),
                               "p95": float(np.quantile(x, 0.95)), "mean": float(x.mean())}
        for name, q in (("median", 0.5), ("p05", 0.05), ("p95", 0.95)):
            lo, hi = _quantile_ci(x, q, 0.95)
            out[f"{name}_ci"] = [lo if math.isfinite(lo) else None, hi if math.isfinite(hi) else None]
        out.update(variance_total=float(self.variance_total[k]), variance_noise=float(self.variance_noise[k]),
                   share_parameter=float(self.share_parameter[k]), share_noise=float(self.share_noise[k]),
                   draws=self.n)
        return out

    def to_dict(self, include_draws: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "method": f"two-level Monte Carlo: {self.n} outer parameter draws ({self.design}), an inner "
                      "estimate with its standard error at each",
            "parameters": list(self.names), "design": self.design, "seed": self.seed,
            "seconds": round(self.seconds, 3),
            "outputs": {name: self.band(k) for k, name in enumerate(self.outputs)},
        }
        if include_draws:
            d["draws"] = {"samples": self.samples.tolist(), "values": self.values.tolist(),
                          "std_errors": self.std_errors.tolist()}
        return d


def propagate(
    func: Callable[[np.ndarray], Any],
    params: Sequence[UncertainParameter],
    n: int,
    seed: SeedLike,
    *,
    design: Literal["sobol", "lhs"] = "sobol",
    vectorized: bool = True,
    output_names: Sequence[str] | None = None,
) -> Propagation:
    """Two-level Monte Carlo: outer draws of ``params``, inner estimates by ``func``.

    The outer design is a scrambled Sobol sequence (``n`` a power of 2) or a Latin
    hypercube, from ``seed``; ``func(x)`` returns the inner estimates at the draws
    (``(n,)`` or ``(s, n)``), or ``(values, std_errors)``. An inner estimator that
    uses the same random numbers at every outer draw (common random numbers) makes
    its error a shared bias rather than spread between draws: the reported noise
    share is then the size of that error relative to the spread, not a part of it.

    Examples
    --------
    >>> p = [UncertainParameter("rate", "t.r", 0.001, 0.1, "loguniform")]
    >>> res = propagate(lambda x: (1000 * x[0], 0.0 * x[0] + 1.0), p, n=256, seed=5)
    >>> b = res.band()
    >>> round(b["median"]), b["p05"] < b["median"] < b["p95"], b["share_noise"] < 0.01
    (10, True, True)
    """
    params = list(params)
    d = len(params)
    if d < 1:
        raise ValueError("propagate needs at least one parameter")
    if design not in ("sobol", "lhs"):
        raise ValueError(f"design {design!r} is not allowed; use 'sobol' or 'lhs'")
    if design == "sobol":
        n = _check_pow2(n, "propagate")
    elif int(n) < 2:
        raise ValueError(f"propagate needs n >= 2 outer draws, got {n}")
    t0 = time.perf_counter()
    rng, recorded = _generator(seed)
    engine = (qmc.Sobol(d=d, scramble=True, bits=64, rng=rng) if design == "sobol"
              else qmc.LatinHypercube(d=d, rng=rng))
    u = np.clip(engine.random(int(n)), 1e-12, 1 - 1e-12)
    x = np.stack([p.ppf(u[:, i]) for i, p in enumerate(params)])
    f, se = _evaluate(func, x, vectorized)
    if se is None:
        se = np.zeros_like(f)
    return Propagation(tuple(p.name for p in params), tuple(_names(output_names, f.shape[0])), x, f, se,
                       design, recorded, time.perf_counter() - t0)


# ----------------------------------------------------------------------------- every assumption of a scenario

#: Caller-behaviour groups of ``[uncertainty]`` that a calibrated posterior supersedes.
CALIBRATED_GROUPS = ("callers", "callers_timing", "non_genuine")


@dataclass(frozen=True)
class AssumptionDraws:
    """Outer draws of every assumption group of a scenario (and of a calibrated caller posterior).

    Attributes
    ----------
    unit_cube : (n, d) array
        The scrambled-Sobol design; column ``j < len(groups)`` is group ``j``, the last column (with a
        posterior) picks the caller-behaviour draw.
    inputs : list of str
        A label per column.
    groups : dict
        The varied :class:`~model.scenario.uncertainty.UncertaintyGroup` objects by key.
    scenarios : list of Scenario
        One varied scenario per draw.
    method : str
        How the draws were made (design and seed).
    """

    unit_cube: np.ndarray
    inputs: list[str]
    groups: dict[str, Any]
    scenarios: list[Scenario]
    method: str


def outer_design(n: int, d: int, seed: int) -> np.ndarray:
    """Outer-loop draws ``(n, d)`` on the unit cube: scrambled Sobol points (``n`` a power of 2).

    Examples
    --------
    >>> outer_design(8, 3, seed=1).shape
    (8, 3)
    """
    if n < 2 or n & (n - 1):
        raise ValueError(f"the number of outer draws must be a power of 2 (Sobol balance), got {n}")
    return qmc.Sobol(d, scramble=True, seed=seed).random(n)


def assumption_draws(scenario: Scenario, n: int, seed: int,
                     posterior: Sequence[Mapping[str, float]] = ()) -> AssumptionDraws:
    """Vary every ``[uncertainty]`` group of ``scenario`` over ``n`` scrambled-Sobol draws.

    With a calibrated caller ``posterior`` (a sequence of parameter points, see
    :mod:`model.metrics.calibration`) the caller groups it supersedes
    (:data:`CALIBRATED_GROUPS`) are left out and each draw takes one posterior point,
    picked by one more design column.

    Parameters
    ----------
    scenario : Scenario
        The scenario whose assumption groups are varied.
    n : int
        Draws (a power of 2).
    seed : int
        Seed of the scrambling.
    posterior : sequence of mapping, optional
        Caller-behaviour posterior draws.

    Returns
    -------
    AssumptionDraws

    Examples
    --------
    >>> from model.scenario.loader import load_scenario
    >>> d = assumption_draws(load_scenario("uk999"), 4, seed=3)
    >>> d.unit_cube.shape[0], len(d.scenarios), d.unit_cube.shape[1] == len(d.groups) == len(d.inputs)
    (4, 4, True)
    """
    groups = uncertainty_groups(scenario)
    if posterior:
        groups = {k: g for k, g in groups.items() if k not in CALIBRATED_GROUPS}
    names = list(groups)
    u = outer_design(n, len(names) + (1 if posterior else 0), seed)
    scenarios = []
    for k in range(n):  # one step per outer draw
        scen_k = scenario
        if posterior:
            pick = min(int(u[k, -1] * len(posterior)), len(posterior) - 1)
            scen_k = scenario.extend(callers_overlay(posterior[pick]), "<calibrated callers draw>")
        scenarios.append(apply_uncertainty(scen_k, {g: float(groups[g].ppf(u[k, j]))
                                                    for j, g in enumerate(names)}, groups))
    inputs = [groups[g].label for g in names]
    if posterior:
        inputs.append("Caller behaviour (calibrated posterior)")
    return AssumptionDraws(u, inputs, groups, scenarios,
                           f"scrambled Sobol, {n} draws of {u.shape[1]} columns, seed {seed}")


def time_engine_refusals(scenarios: Sequence[Scenario]) -> dict[int, str]:
    """The draws the time engine refuses before any work, with its message.

    A draw is refused when its normal operation (nothing failed) loses calls at a capacity
    (:func:`model.sim.engine.check_normal_operation`) or when a simulated year would follow
    too many calls one by one (:func:`model.sim.engine.check_call_budget`). A study that
    leaves them out reports the rest as conditional on a network that carries its normal load.

    Examples
    --------
    >>> from model.scenario.loader import load_scenario
    >>> s = load_scenario("uk999")
    >>> room = {"police_metropolitan": {"capacity": {"concurrent_calls": 1}}}
    >>> over = s.extend({"control_rooms": room}, "<t>")
    >>> sorted(time_engine_refusals([s, over]))
    [1]
    """
    out = {}
    for k, scen in enumerate(scenarios):  # one step per draw: builds its time model
        try:
            model = as_time_model(scen)
            check_normal_operation(model, scen)
            check_call_budget(model, scen)
        except ScenarioError as exc:
            out[k] = str(exc)
    return out
