"""Call-arrival intensity over time: daily × weekly profiles with calendar surges.

An :class:`ArrivalProfile` is a periodic, piecewise-constant call rate (calls per
hour) built from 24 hourly multipliers, 7 daily multipliers (Monday first) and
optional :class:`Surge` windows that repeat every year (New Year's Eve). Time
``t`` is in hours from the start of the simulation; ``t = 0`` is midnight at the
start of weekday ``start_weekday`` and of the surge calendar (1 January).

The profile keeps the cumulative intensity ``Λ(t) = ∫_0^t rate`` as a table at
its breakpoints, so

* :meth:`ArrivalProfile.integrate` gives the exact expected number of calls in
  any intervals — the time engine's count of calls arriving during outages —
  with one ``searchsorted`` per endpoint, no loop over hours;
* :meth:`ArrivalProfile.sample_arrivals` draws non-homogeneous Poisson arrival
  times in many intervals at once by inverting ``Λ``.

:func:`uk999_profile` is the default for UK 999 traffic (sources in
:data:`UK999_PROFILE_SOURCE`).

Examples
--------
>>> import numpy as np
>>> from model.processes.profiles import ArrivalProfile, uk999_profile
>>> flat = ArrivalProfile.flat(120.0)
>>> flat.integrate(10.0, 10.5)
60.0
>>> p = uk999_profile(mean_rate=4000.0, surges=False)
>>> round(p.rate_at(4.5)), round(p.rate_at(13.5))  # Monday 04:30 and 13:30
(1693, 5833)
>>> round(p.integrate(0.0, 168.0) / 168.0, 6)  # the mean over a week is the mean rate
4000.0
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from model.units import CALENDAR_YEAR_HOURS

__all__ = [
    "UK999_HOURLY_FRACTIONS",
    "UK999_NEW_YEAR_SURGES",
    "UK999_PROFILE_SOURCE",
    "UK999_WEEKLY_MULTIPLIERS",
    "ArrivalProfile",
    "Surge",
    "uk999_profile",
]

HOURS_PER_WEEK = 168

# ----------------------------------------------------------------------------- UK 999 defaults

UK999_HOURLY_FRACTIONS: tuple[float, ...] = (
    0.035, 0.031, 0.026, 0.022, 0.018, 0.018, 0.018, 0.022, 0.031, 0.044, 0.057, 0.059,
    0.062, 0.062, 0.059, 0.057, 0.055, 0.053, 0.053, 0.051, 0.048, 0.044, 0.040, 0.035,
)  # fmt: skip
"""Share of a day's calls in each hour 00:00..23:00 (sums to 1.000).

Confidence L: a 24-value vector in an unnamed GitHub script, commented "Rounded
using 'Total cases' from Table 1 of https://pubmed.ncbi.nlm.nih.gov/25664379/";
the primary table and its population were not read (traffic-and-capacity.md,
"Diurnal / weekly profile"). Peak hour 1.49×, trough 0.43× the mean hour."""

UK999_WEEKLY_MULTIPLIERS: tuple[float, ...] = (*(0.84 / 6 * 7,) * 5, 0.16 * 7, 0.84 / 6 * 7)
"""Monday..Sunday multipliers (mean 1): Saturday 1.12, every other day 0.98.

Saturday carries 16 % of the week's calls at the Copenhagen EMDC, 211,193 calls
2011–13 (Møller et al., SJTREM 2015, https://link.springer.com/doi/10.1186/s13049-015-0169-0;
H for that share). assumption: the other six days share the remaining 84 %
equally — no UK weekly 999 table was found, and this is Danish data."""


def _new_year_surges() -> tuple[Surge, ...]:
    daily = np.asarray(UK999_HOURLY_FRACTIONS) * 24.0
    nye_hours = [21, 22, 23, 0, 1, 2]
    # "almost half a day's calls in six hours": the window carries 12 mean hours of calls
    nye = 12.0 / daily[nye_hours].sum()
    # New Year's Day: 115,000 calls against an 88,000 daily average (×1.31); 00:00-03:00 is in the NYE window
    nyd = (24.0 * 115_000 / 88_000 - nye * daily[:3].sum()) / daily[3:].sum()
    return (
        Surge(-3.0, 3.0, float(nye), "New Year's Eve 21:00-03:00"),
        Surge(3.0, 24.0, float(nyd), "New Year's Day 03:00-24:00"),
    )


UK999_PROFILE_SOURCE = (
    "hourly shape: L-grade 24-value vector citing PMID 25664379 Table 1 (second-hand, unverified); "
    "weekly: Saturday 16 % of calls, Copenhagen EMDC 2011-13 (Moller et al. 2015), other days equal "
    "(assumption: no UK weekly table found); surges: NYE 21:00-03:00 carries about half a day's calls "
    "(westwaleschronicle.co.uk 2018-12-28, M; its peak 9,000/h = 2.3x the mean hour is not matched "
    "hour by hour), "
    "New Year's Day 115,000 vs 88,000 average calls (BT, H); "
    "assumption: t = 0 is Monday 1 January 00:00, 365-day years, weekday effect ignored when sizing surges"
)
"""Where every number in :func:`uk999_profile` comes from (see traffic-and-capacity.md)."""


# ----------------------------------------------------------------------------- profile


@dataclass(frozen=True)
class Surge:
    """A window of the yearly calendar in which the profile is multiplied by ``factor``.

    ``start_hour`` and ``end_hour`` count hours from 1 January 00:00; a window
    may start before 0 to wrap round the end of the year (``Surge(-3, 3, 2.2)``
    is 31 December 21:00 to 1 January 03:00).
    """

    start_hour: float
    end_hour: float
    factor: float
    label: str = ""

    def __post_init__(self) -> None:
        vals = (self.start_hour, self.end_hour, self.factor)
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in vals):
            raise ValueError(f"Surge {self.label!r}: start_hour, end_hour and factor must be finite numbers")
        if self.factor < 0:
            raise ValueError(
                f"Surge {self.label!r}: factor = {self.factor!r} is not allowed; it must be >= 0"
            )
        if not self.end_hour > self.start_hour:
            raise ValueError(f"Surge {self.label!r}: end_hour must be after start_hour")


def _multipliers(name: str, values: Sequence[float], n: int) -> tuple[float, ...]:
    arr = np.asarray(values, dtype=float)
    if arr.shape != (n,):
        raise ValueError(f"{name}: needs exactly {n} values, got {arr.size}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or arr.sum() <= 0:
        raise ValueError(f"{name}: values must be finite, >= 0 and not all 0; got {arr.tolist()}")
    return tuple(float(x) for x in arr / arr.mean())


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class ArrivalProfile:
    """Periodic piecewise-constant call rate: ``mean_rate × daily[h] × weekly[d] × surges``.

    Parameters
    ----------
    daily : sequence of 24 floats
        Relative call rate in each hour of the day (00:00 first); any positive
        scale — counts, shares or multipliers — normalised to mean 1.
    weekly : sequence of 7 floats
        Relative call volume of each day, Monday first; normalised to mean 1.
    surges : sequence of Surge
        Yearly windows multiplying the rate (applied on top of daily × weekly).
    mean_rate : float
        Long-run mean calls per hour. The whole profile, surges included, is
        scaled so its mean over a full period is exactly ``mean_rate``.
    start_weekday : int
        Weekday at ``t = 0`` (0 = Monday).
    source : str
        Citation or ``assumption: <why>``.

    Notes
    -----
    The period is one week without surges and ``lcm(168, 8760)`` hours (seven
    365-day years) with them, so the weekday of a surge drifts from year to
    year as in the calendar.
    """

    daily: tuple[float, ...] = (1.0,) * 24
    weekly: tuple[float, ...] = (1.0,) * 7
    surges: tuple[Surge, ...] = ()
    mean_rate: float = 1.0
    start_weekday: int = 0
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "daily", _multipliers("daily", self.daily, 24))
        object.__setattr__(self, "weekly", _multipliers("weekly", self.weekly, 7))
        object.__setattr__(self, "surges", tuple(self.surges))
        if not all(isinstance(s, Surge) for s in self.surges):
            raise ValueError("surges: every item must be a Surge")
        if not (
            isinstance(self.mean_rate, int | float) and math.isfinite(self.mean_rate) and self.mean_rate >= 0
        ):
            raise ValueError(
                f"mean_rate = {self.mean_rate!r} is not allowed; it must be a finite number >= 0"
            )
        if self.start_weekday not in range(7):
            raise ValueError(
                f"start_weekday = {self.start_weekday!r} is not allowed; use 0 (Monday) .. 6 (Sunday)"
            )
        self._build()

    def __reduce__(self):
        # pickle the parameters only (a few hundred bytes); workers rebuild the tables
        return (
            type(self),
            (self.daily, self.weekly, self.surges, self.mean_rate, self.start_weekday, self.source),
        )

    # ------------------------------------------------------------------ construction

    @classmethod
    def flat(cls, mean_rate: float = 1.0) -> ArrivalProfile:
        """A constant rate.

        Examples
        --------
        >>> ArrivalProfile.flat(3.0).rate_at([0.0, 100.0]).tolist()
        [3.0, 3.0]
        """
        return cls(mean_rate=mean_rate, source="assumption: constant rate")

    def with_rate(self, mean_rate: float) -> ArrivalProfile:
        """The same shape with another long-run mean rate (calls per hour)."""
        return dataclasses.replace(self, mean_rate=mean_rate)

    def _build(self) -> None:
        period = HOURS_PER_WEEK if not self.surges else math.lcm(HOURS_PER_WEEK, CALENDAR_YEAR_HOURS)
        hours = np.arange(period + 1, dtype=float)
        cuts = [hours]
        for s in self.surges:
            if s.end_hour - s.start_hour > CALENDAR_YEAR_HOURS:
                raise ValueError(f"Surge {s.label!r}: longer than a year")
            starts = s.start_hour % CALENDAR_YEAR_HOURS + CALENDAR_YEAR_HOURS * np.arange(
                -1, period // CALENDAR_YEAR_HOURS + 1
            )
            cuts += [starts, starts + (s.end_hour - s.start_hour)]
        breaks = np.unique(np.clip(np.concatenate(cuts), 0.0, float(period)))
        mid = 0.5 * (breaks[:-1] + breaks[1:])
        hour = np.floor(mid).astype(np.int64)
        rel = (
            np.asarray(self.daily)[hour % 24] * np.asarray(self.weekly)[(hour // 24 + self.start_weekday) % 7]
        )
        for s in self.surges:
            pos = (mid - s.start_hour) % CALENDAR_YEAR_HOURS
            rel = np.where(pos < s.end_hour - s.start_hour, rel * s.factor, rel)
        widths = np.diff(breaks)
        total = float(np.dot(rel, widths))
        rates = rel * (self.mean_rate * period / total) if total > 0 else rel * 0.0
        cum = np.concatenate([[0.0], np.cumsum(rates * widths)])
        object.__setattr__(self, "_period", float(period))
        object.__setattr__(self, "_breaks", _ro(breaks))
        object.__setattr__(self, "_rates", _ro(rates))
        object.__setattr__(self, "_cum", _ro(cum))

    @property
    def period_hours(self) -> float:
        """Length of one period of the rate function, in hours."""
        return self._period  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ evaluation

    def _split(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = np.floor(t / self._period)  # type: ignore[attr-defined]
        tau = t - q * self._period  # type: ignore[attr-defined]
        return q, np.clip(tau, 0.0, self._period)  # type: ignore[attr-defined]

    def _local_cum(self, tau: np.ndarray) -> np.ndarray:
        b, r, c = self._breaks, self._rates, self._cum  # type: ignore[attr-defined]
        k = np.clip(np.searchsorted(b, tau, side="right") - 1, 0, r.size - 1)
        return c[k] + r[k] * (tau - b[k])

    def rate_at(self, t: ArrayLike) -> float | np.ndarray:
        """Call rate (calls per hour) at times ``t`` (hours).

        Examples
        --------
        >>> p = ArrivalProfile(daily=[1.0] * 12 + [3.0] * 12, mean_rate=10.0)
        >>> p.rate_at([0.0, 11.99, 12.0, 23.5]).tolist()
        [5.0, 5.0, 15.0, 15.0]
        """
        ta = np.asarray(t, dtype=float)
        _, tau = self._split(ta)
        k = np.clip(np.searchsorted(self._breaks, tau, side="right") - 1, 0, self._rates.size - 1)  # type: ignore[attr-defined]
        out = self._rates[k]  # type: ignore[attr-defined]
        return float(out) if ta.ndim == 0 else out

    def cumulative(self, t: ArrayLike) -> float | np.ndarray:
        """Expected calls from ``0`` to ``t``: ``Λ(t) = ∫_0^t rate`` (negative for ``t < 0``)."""
        ta = np.asarray(t, dtype=float)
        q, tau = self._split(ta)
        out = q * self._cum[-1] + self._local_cum(tau)  # type: ignore[attr-defined]
        return float(out) if ta.ndim == 0 else out

    def integrate(self, t0: ArrayLike, t1: ArrayLike) -> float | np.ndarray:
        """Expected calls in ``[t0, t1)``: the exact integral of the rate (broadcasts).

        Computed from the cumulative table as whole periods plus two in-period
        parts, so short intervals far from ``t = 0`` keep full precision.
        ``t1 < t0`` gives the negative of the reversed integral.

        Examples
        --------
        >>> p = ArrivalProfile(daily=[1.0] * 12 + [3.0] * 12, mean_rate=10.0)
        >>> p.integrate([0.0, 11.0, 0.0], [1.0, 13.0, 24.0 * 365]).tolist()
        [5.0, 20.0, 87600.0]
        """
        a, b = np.broadcast_arrays(np.asarray(t0, dtype=float), np.asarray(t1, dtype=float))
        qa, ta = self._split(a)
        qb, tb = self._split(b)
        out = (qb - qa) * self._cum[-1] + (self._local_cum(tb) - self._local_cum(ta))  # type: ignore[attr-defined]
        return float(out) if out.ndim == 0 else out

    def inverse_cumulative(self, y: ArrayLike) -> float | np.ndarray:
        """Earliest time ``t`` with ``Λ(t) = y`` (hours); the inverse of :meth:`cumulative`."""
        ya = np.asarray(y, dtype=float)
        out = self._inverse(np.zeros(ya.shape), ya)
        return float(out) if ya.ndim == 0 else out

    def _inverse(self, q0: np.ndarray, y_local: np.ndarray) -> np.ndarray:
        """Time ``q0 × period + s`` where ``s`` solves ``local Λ(s) = y_local`` (may exceed a period)."""
        total = self._cum[-1]  # type: ignore[attr-defined]
        if total <= 0:
            raise ValueError("the profile has a zero rate everywhere; Λ cannot be inverted")
        extra = np.floor(y_local / total)
        rem = y_local - extra * total
        c, b, r = self._cum, self._breaks, self._rates  # type: ignore[attr-defined]
        k = np.clip(np.searchsorted(c, rem, side="right") - 1, 0, r.size - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(r[k] > 0, (rem - c[k]) / r[k], 0.0)
        s = np.minimum(b[k] + step, b[k + 1])
        return (q0 + extra) * self._period + s  # type: ignore[attr-defined]

    def sample_arrivals(
        self,
        rng: np.random.Generator,
        t0: ArrayLike,
        t1: ArrayLike,
        scale: ArrayLike = 1.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Poisson arrival times in many intervals at once, by inverting ``Λ``.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.
        t0, t1 : array_like
            Interval starts and ends in hours (broadcast together, 1-D after broadcasting).
        scale : array_like
            Multiplier of the rate per interval (e.g. a caller group's share of the calls).

        Returns
        -------
        times : ndarray
            Arrival times, grouped by interval in input order and sorted within each.
        counts : ndarray of int
            Number of arrivals per interval; ``np.repeat(np.arange(len(counts)), counts)``
            gives the interval of each time.

        Examples
        --------
        >>> p = ArrivalProfile.flat(100.0)
        >>> times, counts = p.sample_arrivals(np.random.default_rng(3), [0.0, 5.0], [0.1, 5.05])
        >>> counts.tolist(), bool(np.all((times[:counts[0]] >= 0) & (times[:counts[0]] < 0.1)))
        ([5, 5], True)
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError("sample_arrivals() needs a numpy.random.Generator")
        a, b, sc = np.broadcast_arrays(
            np.atleast_1d(np.asarray(t0, float)),
            np.atleast_1d(np.asarray(t1, float)),
            np.asarray(scale, float),
        )
        if a.ndim != 1:
            raise ValueError("t0, t1 and scale must broadcast to one dimension")
        if np.any(~(b >= a)) or np.any(~(sc >= 0)) or not np.all(np.isfinite(a) & np.isfinite(b)):
            raise ValueError("sample_arrivals needs finite t0 <= t1 and scale >= 0")
        qa, ta = self._split(a)
        ya = self._local_cum(ta)
        width = np.asarray(self.integrate(a, b), float).reshape(a.shape)
        counts = rng.poisson(sc * width)
        owner = np.repeat(np.arange(a.size), counts)
        u = rng.random(owner.size)
        order = np.lexsort((u, owner))
        u = u[order]
        times = self._inverse(qa[owner], ya[owner] + u * width[owner])
        times = np.clip(times, a[owner], b[owner])
        return times, counts


def uk999_profile(mean_rate: float = 1.0, *, surges: bool = True) -> ArrivalProfile:
    """The default UK 999 arrival profile (sources in :data:`UK999_PROFILE_SOURCE`).

    Parameters
    ----------
    mean_rate : float
        Long-run mean calls per hour (e.g. 35e6 / 8760 for all UK 999 calls).
    surges : bool
        Include the New Year's Eve and New Year's Day surges.

    Examples
    --------
    >>> p = uk999_profile(35e6 / 8760)
    >>> round(p.integrate(0.0, 8760.0 * 7) / 7 / 1e6, 6)  # calls a year, in millions
    35.0
    >>> nye = p.integrate(8757.0, 8763.0)  # 31 December 21:00 to 1 January 03:00
    >>> round(nye / (35e6 / 365), 1)  # about half a mean day's calls
    0.5
    """
    return ArrivalProfile(
        daily=UK999_HOURLY_FRACTIONS,
        weekly=UK999_WEEKLY_MULTIPLIERS,
        surges=UK999_NEW_YEAR_SURGES if surges else (),
        mean_rate=mean_rate,
        start_weekday=0,
        source=UK999_PROFILE_SOURCE,
    )


UK999_NEW_YEAR_SURGES: tuple[Surge, ...] = _new_year_surges()
"""New Year's Eve (about half a day's calls in 21:00–03:00) and New Year's Day (×1.31 calls) windows."""
