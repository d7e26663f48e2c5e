"""Duration distributions for repair times, failover delays and caller behaviour.

Every distribution is a small frozen dataclass in **hours** sharing one protocol
(:class:`Distribution`): ``mean``, ``var``, ``sample(rng, size)``, ``cdf``,
``sf``, ``quantile``, ``mean_min(d)`` = E[min(X, d)], ``mean_min_with(other)``
= E[min(X, Y)] for independent ``X`` and ``Y``, and ``to_dict()``.
:func:`parse_distribution` builds one from a scenario-file table such as
``{distribution = "lognormal", mean_hours = 4, sd_hours = 6}`` and reports bad
input with the location, key, value and what is allowed.

The families and their canonical parameters:

============  ==============================  =====================================
family        parameters (hours)              alternative constructor
============  ==============================  =====================================
exponential   ``mean``                        —
lognormal     ``mean``, ``sd``                :meth:`LogNormal.from_median_sigma`
weibull       ``shape``, ``scale``            :meth:`Weibull.from_mean`
fixed         ``value``                       —
============  ==============================  =====================================

``E[min(X, d)]`` is what a failover with delay ``d`` costs when the primary's
repair time is ``X`` (the primary may come back before the switch completes):
a primary failing at rate λ is then unavailable for about ``λ E[min(X, D)]``
of the time.

Examples
--------
>>> import numpy as np
>>> from model.processes.distributions import LogNormal, Fixed, parse_distribution
>>> table = {"distribution": "lognormal", "mean_hours": 4, "sd_hours": 6}
>>> repair = parse_distribution(table, "platform.repair")
>>> repair
LogNormal(mean=4.0, sd=6.0)
>>> round(repair.mean_min(0.5), 4)  # a 30-minute switch-over
0.4855
>>> round(repair.mean_min_with(Fixed(0.5)), 4)
0.4855
>>> repair.sample(np.random.default_rng(1), 3).round(3)
array([3.229, 5.414, 3.176])
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike
from scipy import integrate, special

__all__ = [
    "FAMILIES",
    "Distribution",
    "Exponential",
    "Fixed",
    "LogNormal",
    "Weibull",
    "parse_distribution",
]


@runtime_checkable
class Distribution(Protocol):
    """What every duration distribution offers (times in hours)."""

    family: ClassVar[str]

    @property
    def mean(self) -> float: ...

    @property
    def var(self) -> float: ...

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray: ...

    def cdf(self, x: ArrayLike) -> float | np.ndarray: ...

    def sf(self, x: ArrayLike) -> float | np.ndarray: ...

    def quantile(self, p: ArrayLike) -> float | np.ndarray: ...

    def mean_min(self, d: ArrayLike) -> float | np.ndarray: ...

    def mean_min_with(self, other: Distribution) -> float: ...

    def to_dict(self) -> dict[str, Any]: ...


def _out(x: np.ndarray, scalar: bool) -> float | np.ndarray:
    return float(x) if scalar else x


def _check_param(cls: str, name: str, value: float, *, zero_ok: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value >= 0 if zero_ok else value > 0)
    if not ok:
        what = "a finite number >= 0" if zero_ok else "a finite number > 0"
        raise ValueError(f"{cls}: {name} = {value!r} is not allowed; {name} must be {what}")


def _check_rng(rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError("sample() needs a numpy.random.Generator, e.g. np.random.default_rng(seed)")
    return rng


def _check_d(d: ArrayLike) -> np.ndarray:
    arr = np.asarray(d, dtype=float)
    if np.any(np.isnan(arr) | (arr < 0)):
        raise ValueError("mean_min(d) needs d >= 0 hours (inf allowed)")
    return arr


def _check_p(p: ArrayLike) -> np.ndarray:
    arr = np.asarray(p, dtype=float)
    if np.any(~((arr >= 0) & (arr <= 1))):
        raise ValueError("quantile(p) needs 0 <= p <= 1")
    return arr


class _Base(ABC):
    """Shared implementation: E[min(X, Y)] and the dictionary form."""

    family: ClassVar[str]
    mean: float
    var: float

    @abstractmethod
    def sf(self, x: ArrayLike) -> float | np.ndarray:
        """P(X > x)."""

    @abstractmethod
    def quantile(self, p: ArrayLike) -> float | np.ndarray:
        """The ``p`` quantile."""

    @abstractmethod
    def mean_min(self, d: ArrayLike) -> float | np.ndarray:
        """E[min(X, d)] for constants ``d``."""

    def mean_min_with(self, other: Distribution, *, method: str = "auto") -> float:
        """E[min(X, Y)] in hours for this ``X`` and an independent ``Y``.

        ``method="auto"`` uses a closed form when one exists (either side fixed,
        both exponential) and otherwise integrates ``∫ sf_X(t) sf_Y(t) dt`` with
        :func:`scipy.integrate.quad`; ``method="quad"`` always integrates.

        Examples
        --------
        >>> round(Exponential(2.0).mean_min_with(Exponential(2.0)), 12)
        1.0
        >>> round(Weibull(1.5, 3.0).mean_min_with(LogNormal(1.0, 0.5)), 4)
        0.8979
        """
        if method not in ("auto", "quad"):
            raise ValueError(f"method = {method!r} is not allowed; use 'auto' or 'quad'")
        if method == "auto":
            if isinstance(other, Fixed):
                return float(self.mean_min(other.value))
            if isinstance(self, Fixed):
                return float(other.mean_min(self.value))
            if isinstance(self, Exponential) and isinstance(other, Exponential):
                return 1.0 / (1.0 / self.mean + 1.0 / other.mean)
        return _mean_min_quad(self, other)

    def to_dict(self) -> dict[str, Any]:
        """Scenario-file form, accepted back by :func:`parse_distribution`."""
        out: dict[str, Any] = {"distribution": self.family}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            out[_KEYS[self.family][f.name]] = getattr(self, f.name)
        return out


def _mean_min_quad(x: Distribution, y: Distribution) -> float:
    upper = float(min(x.quantile(1 - 1e-14), y.quantile(1 - 1e-14)))
    if upper <= 0:
        return 0.0
    pts = sorted(
        {
            float(q)
            for d in (x, y)
            for q in np.atleast_1d(d.quantile([0.1, 0.5, 0.9, 0.99, 0.999]))
            if 0 < q < upper
        }
    )

    def f(t: float) -> float:
        return float(x.sf(t)) * float(y.sf(t))

    val, _ = integrate.quad(f, 0.0, upper, points=pts or None, limit=500, epsabs=0.0, epsrel=1e-10)
    return float(val)


@dataclass(frozen=True)
class Exponential(_Base):
    """Exponential durations with the given mean (hours).

    Examples
    --------
    >>> e = Exponential(4.0)
    >>> e.mean, e.var, round(e.quantile(0.5), 4), round(e.mean_min(4.0), 4)
    (4.0, 16.0, 2.7726, 2.5285)
    """

    mean: float
    family: ClassVar[str] = "exponential"

    def __post_init__(self) -> None:
        _check_param("Exponential", "mean", self.mean)

    @property
    def var(self) -> float:
        """Variance in hours²."""
        return self.mean**2

    @property
    def sd(self) -> float:
        """Standard deviation in hours."""
        return math.sqrt(self.var)

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        """Draw ``size`` durations."""
        return _check_rng(rng).exponential(self.mean, size)

    def cdf(self, x: ArrayLike) -> float | np.ndarray:
        """P(X <= x)."""
        xa = np.asarray(x, float)
        return _out(-np.expm1(-np.maximum(xa, 0.0) / self.mean), xa.ndim == 0)

    def sf(self, x: ArrayLike) -> float | np.ndarray:
        """P(X > x)."""
        xa = np.asarray(x, float)
        return _out(np.exp(-np.maximum(xa, 0.0) / self.mean), xa.ndim == 0)

    def quantile(self, p: ArrayLike) -> float | np.ndarray:
        """Inverse of :meth:`cdf`."""
        pa = _check_p(p)
        with np.errstate(divide="ignore"):
            return _out(-self.mean * np.log1p(-pa), pa.ndim == 0)

    def mean_min(self, d: ArrayLike) -> float | np.ndarray:
        """E[min(X, d)] = mean (1 - exp(-d/mean))."""
        da = _check_d(d)
        return _out(-self.mean * np.expm1(-da / self.mean), da.ndim == 0)


@dataclass(frozen=True)
class LogNormal(_Base):
    """Lognormal durations given by their mean and standard deviation (hours).

    ``log X ~ Normal(mu, sigma)`` with ``sigma² = log(1 + (sd/mean)²)`` and
    ``mu = log(mean) - sigma²/2``; :meth:`from_median_sigma` takes the other
    common parametrisation.

    Examples
    --------
    >>> d = LogNormal(4.0, 6.0)
    >>> round(d.median, 4), round(d.sigma, 4)
    (2.2188, 1.0857)
    >>> e = LogNormal.from_median_sigma(d.median, d.sigma)
    >>> round(e.mean, 12), round(e.sd, 12)
    (4.0, 6.0)
    """

    mean: float
    sd: float
    family: ClassVar[str] = "lognormal"

    def __post_init__(self) -> None:
        _check_param("LogNormal", "mean", self.mean)
        _check_param("LogNormal", "sd", self.sd)

    @classmethod
    def from_median_sigma(cls, median: float, sigma: float) -> LogNormal:
        """Lognormal with the given median (hours) and log-scale standard deviation."""
        _check_param("LogNormal", "median", median)
        _check_param("LogNormal", "sigma", sigma)
        mean = median * math.exp(0.5 * sigma * sigma)
        sd = mean * math.sqrt(math.expm1(sigma * sigma))
        return cls(mean, sd)

    @property
    def sigma(self) -> float:
        """Standard deviation of ``log X``."""
        return math.sqrt(math.log1p((self.sd / self.mean) ** 2))

    @property
    def mu(self) -> float:
        """Mean of ``log X``."""
        return math.log(self.mean) - 0.5 * self.sigma**2

    @property
    def median(self) -> float:
        """Median in hours."""
        return math.exp(self.mu)

    @property
    def var(self) -> float:
        """Variance in hours²."""
        return self.sd**2

    def _z(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return (np.log(np.maximum(x, 0.0)) - self.mu) / self.sigma

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        """Draw ``size`` durations."""
        return _check_rng(rng).lognormal(self.mu, self.sigma, size)

    def cdf(self, x: ArrayLike) -> float | np.ndarray:
        """P(X <= x)."""
        xa = np.asarray(x, float)
        return _out(special.ndtr(self._z(xa)), xa.ndim == 0)

    def sf(self, x: ArrayLike) -> float | np.ndarray:
        """P(X > x)."""
        xa = np.asarray(x, float)
        return _out(special.ndtr(-self._z(xa)), xa.ndim == 0)

    def quantile(self, p: ArrayLike) -> float | np.ndarray:
        """Inverse of :meth:`cdf`."""
        pa = _check_p(p)
        return _out(np.exp(self.mu + self.sigma * special.ndtri(pa)), pa.ndim == 0)

    def mean_min(self, d: ArrayLike) -> float | np.ndarray:
        """E[min(X, d)] = mean Φ(z - σ) + d Φ(-z), z = (log d - mu)/σ."""
        da = _check_d(d)
        z = self._z(da)
        with np.errstate(invalid="ignore"):
            tail = np.where(np.isinf(da), 0.0, da * special.ndtr(-z))
        return _out(self.mean * special.ndtr(z - self.sigma) + tail, da.ndim == 0)


@dataclass(frozen=True)
class Weibull(_Base):
    """Weibull durations: ``P(X > x) = exp(-(x/scale)^shape)`` (scale in hours).

    Examples
    --------
    >>> w = Weibull.from_mean(2.0, 4.0)
    >>> round(w.scale, 4), round(w.mean, 12)
    (4.5135, 4.0)
    >>> Weibull(1.0, 3.0).mean_min(2.0) == Exponential(3.0).mean_min(2.0)
    True
    """

    shape: float
    scale: float
    family: ClassVar[str] = "weibull"

    def __post_init__(self) -> None:
        _check_param("Weibull", "shape", self.shape)
        _check_param("Weibull", "scale", self.scale)

    @classmethod
    def from_mean(cls, shape: float, mean: float) -> Weibull:
        """Weibull with the given shape and mean (hours)."""
        _check_param("Weibull", "shape", shape)
        _check_param("Weibull", "mean", mean)
        return cls(shape, mean / math.gamma(1.0 + 1.0 / shape))

    @property
    def mean(self) -> float:  # type: ignore[override]
        """Mean in hours."""
        return self.scale * math.gamma(1.0 + 1.0 / self.shape)

    @property
    def var(self) -> float:
        """Variance in hours²."""
        g1 = math.gamma(1.0 + 1.0 / self.shape)
        return self.scale**2 * (math.gamma(1.0 + 2.0 / self.shape) - g1 * g1)

    @property
    def sd(self) -> float:
        """Standard deviation in hours."""
        return math.sqrt(self.var)

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        """Draw ``size`` durations."""
        return self.scale * _check_rng(rng).weibull(self.shape, size)

    def _h(self, x: np.ndarray) -> np.ndarray:
        return (np.maximum(x, 0.0) / self.scale) ** self.shape

    def cdf(self, x: ArrayLike) -> float | np.ndarray:
        """P(X <= x)."""
        xa = np.asarray(x, float)
        return _out(-np.expm1(-self._h(xa)), xa.ndim == 0)

    def sf(self, x: ArrayLike) -> float | np.ndarray:
        """P(X > x)."""
        xa = np.asarray(x, float)
        return _out(np.exp(-self._h(xa)), xa.ndim == 0)

    def quantile(self, p: ArrayLike) -> float | np.ndarray:
        """Inverse of :meth:`cdf`."""
        pa = _check_p(p)
        with np.errstate(divide="ignore"):
            return _out(self.scale * (-np.log1p(-pa)) ** (1.0 / self.shape), pa.ndim == 0)

    def mean_min(self, d: ArrayLike) -> float | np.ndarray:
        """E[min(X, d)] = mean P(1 + 1/k, (d/scale)^k) + d exp(-(d/scale)^k)."""
        da = _check_d(d)
        h = self._h(da)
        with np.errstate(invalid="ignore"):
            tail = np.where(np.isinf(da), 0.0, da * np.exp(-h))
        return _out(self.mean * special.gammainc(1.0 + 1.0 / self.shape, h) + tail, da.ndim == 0)


@dataclass(frozen=True)
class Fixed(_Base):
    """A duration that is always ``value`` hours (0 allowed: an instant switch).

    Examples
    --------
    >>> f = Fixed(0.5)
    >>> f.mean, f.var, f.mean_min([0.25, 1.0]).tolist(), f.cdf([0.4, 0.5]).tolist()
    (0.5, 0.0, [0.25, 0.5], [0.0, 1.0])
    """

    value: float
    family: ClassVar[str] = "fixed"

    def __post_init__(self) -> None:
        _check_param("Fixed", "value", self.value, zero_ok=True)

    @property
    def mean(self) -> float:  # type: ignore[override]
        """Mean in hours (the value)."""
        return float(self.value)

    @property
    def var(self) -> float:
        """Variance (0)."""
        return 0.0

    @property
    def sd(self) -> float:
        """Standard deviation in hours."""
        return math.sqrt(self.var)

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        """``size`` copies of the value (``rng`` is checked but not used)."""
        _check_rng(rng)
        return np.full(size, float(self.value))

    def cdf(self, x: ArrayLike) -> float | np.ndarray:
        """P(X <= x): a step at the value."""
        xa = np.asarray(x, float)
        return _out((xa >= self.value).astype(float), xa.ndim == 0)

    def sf(self, x: ArrayLike) -> float | np.ndarray:
        """P(X > x)."""
        xa = np.asarray(x, float)
        return _out((xa < self.value).astype(float), xa.ndim == 0)

    def quantile(self, p: ArrayLike) -> float | np.ndarray:
        """The value, for every p."""
        pa = _check_p(p)
        return _out(np.full(pa.shape, float(self.value)), pa.ndim == 0)

    def mean_min(self, d: ArrayLike) -> float | np.ndarray:
        """min(value, d)."""
        da = _check_d(d)
        return _out(np.minimum(da, float(self.value)), da.ndim == 0)


FAMILIES: dict[str, type] = {
    "exponential": Exponential,
    "lognormal": LogNormal,
    "weibull": Weibull,
    "fixed": Fixed,
}
"""Distribution families by their scenario-file name."""

# dataclass field -> scenario-file key
_KEYS: dict[str, dict[str, str]] = {
    "exponential": {"mean": "mean_hours"},
    "lognormal": {"mean": "mean_hours", "sd": "sd_hours"},
    "weibull": {"shape": "shape", "scale": "scale_hours"},
    "fixed": {"value": "value_hours"},
}
_ALLOWED: dict[str, tuple[str, ...]] = {
    "exponential": ("mean_hours",),
    "lognormal": ("mean_hours", "sd_hours"),
    "weibull": ("shape", "scale_hours", "mean_hours"),
    "fixed": ("value_hours",),
}
_META = ("distribution", "source")


def parse_distribution(spec: Mapping[str, Any] | Any, where: str) -> Distribution:
    """Build a distribution from a scenario-file table (all durations in hours).

    Accepted tables (``source`` may be added to any of them; keys whose value is
    ``None`` count as absent, so ``dataclasses.asdict`` of a scenario spec works):

    * ``{distribution = "exponential", mean_hours = m}``
    * ``{distribution = "lognormal", mean_hours = m, sd_hours = s}``
    * ``{distribution = "weibull", shape = k, scale_hours = λ}`` or
      ``{distribution = "weibull", shape = k, mean_hours = m}``
    * ``{distribution = "fixed", value_hours = v}``

    Parameters
    ----------
    spec : mapping or dataclass instance
        The table.
    where : str
        Location for error messages, e.g. ``"scenario.toml: components.bt_cha.repair"``.

    Raises
    ------
    ValueError
        Naming ``where``, the key, the value and what is allowed.

    Examples
    --------
    >>> parse_distribution({"distribution": "weibull", "shape": 2, "mean_hours": 4}, "x").mean
    4.0
    >>> parse_distribution({"distribution": "gamma", "mean_hours": 4}, "s.toml: repair")
    Traceback (most recent call last):
    ...
    ValueError: s.toml: repair: distribution = 'gamma' is not allowed; use one of 'exponential', \
'lognormal', 'weibull', 'fixed'
    >>> parse_distribution({"distribution": "lognormal", "mean_hours": 4, "sd_hours": -1}, "s.toml: repair")
    Traceback (most recent call last):
    ...
    ValueError: s.toml: repair: sd_hours = -1 is not allowed; it must be a finite number > 0 (hours)
    """
    if dataclasses.is_dataclass(spec) and not isinstance(spec, type):
        spec = dataclasses.asdict(spec)
    if not isinstance(spec, Mapping):
        raise ValueError(
            f"{where}: {spec!r} is not allowed; a distribution is a table such as "
            '{distribution = "exponential", mean_hours = 4}'
        )
    table = {k: v for k, v in spec.items() if v is not None}
    if "distribution" not in table:
        raise ValueError(
            f"{where}: key 'distribution' is missing; use one of " + ", ".join(repr(f) for f in FAMILIES)
        )
    family = table["distribution"]
    if family not in FAMILIES:
        raise ValueError(
            f"{where}: distribution = {family!r} is not allowed; use one of "
            + ", ".join(repr(f) for f in FAMILIES)
        )
    allowed = _ALLOWED[family]
    for key in table:
        if key not in allowed and key not in _META:
            raise ValueError(
                f"{where}: key {key!r} is not allowed for a {family} distribution; "
                f"allowed keys: {', '.join((*_META[:1], *allowed, *_META[1:]))}"
            )
    for key in allowed:
        if key in table:
            val = table[key]
            zero_ok = key == "value_hours"
            ok = isinstance(val, int | float) and not isinstance(val, bool) and math.isfinite(val)
            ok = ok and (val >= 0 if zero_ok else val > 0)
            if not ok:
                bound = ">= 0" if zero_ok else "> 0"
                unit = "" if key == "shape" else " (hours)"
                raise ValueError(
                    f"{where}: {key} = {val!r} is not allowed; it must be a finite number {bound}{unit}"
                )

    def need(*keys: str) -> None:
        for key in keys:
            if key not in table:
                raise ValueError(f"{where}: a {family} distribution needs key {key!r}")

    if family == "exponential":
        need("mean_hours")
        return Exponential(float(table["mean_hours"]))
    if family == "lognormal":
        need("mean_hours", "sd_hours")
        return LogNormal(float(table["mean_hours"]), float(table["sd_hours"]))
    if family == "weibull":
        need("shape")
        if ("scale_hours" in table) == ("mean_hours" in table):
            raise ValueError(
                f"{where}: a weibull distribution needs exactly one of 'scale_hours' or 'mean_hours'"
            )
        if "scale_hours" in table:
            return Weibull(float(table["shape"]), float(table["scale_hours"]))
        return Weibull.from_mean(float(table["shape"]), float(table["mean_hours"]))
    need("value_hours")
    return Fixed(float(table["value_hours"]))
