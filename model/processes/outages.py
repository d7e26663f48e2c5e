"""Outage processes: when each basic event is down, for many simulated years at once.

A *basic event* is anything that takes components down for a while: a component's
own failures, a common-cause event (beta factor or an explicit shared cause), a
planned-maintenance window, or a failover window derived from a primary's outage
(DESIGN idea 2). Each random event is an **alternating renewal process**: up times
with the event's failure rate, down times from its repair distribution
(:mod:`model.processes.distributions`: exponential, lognormal, Weibull, fixed).

How the years are generated in bulk
-----------------------------------
Exponential up times make the failures a Poisson process *in the event's own up
time*. So :func:`sample_outages` draws, for each event, the Poisson number of
failure points over all simulated years at once, scatters them uniformly over
(year, up-time position), draws one repair time per point, and converts up time
into real time with one sorted, segmented cumulative sum of the repair times:
``t_k = s_k + Σ_{j<k} D_j``. Points whose real time falls beyond the horizon are
dropped. Work is proportional to the number of outages, not to years × events,
and no top-up is ever needed. Non-exponential up times (fixed, Weibull, ...) are
generated as renewal sequences in blocks with a vectorised cumulative sum, topping
up the rare rows that need more cycles.

Clock groups ("no ageing while down")
-------------------------------------
Events in one *clock group* age only while no member of the group is down — the
classic "no ageing while the system is down" rule for a series system
(ReliaWiki's deterministic example). The same cumulative sum does it: the members'
failure points are merged in the group's common up-time clock and every repair
shifts all later points of the group.

Start state
-----------
``start="up"`` starts every event up at ``t = 0``; one exponential item then has
the textbook point unavailability ``q(t) = λ/(λ+μ) (1 - e^{-(λ+μ) t})``.
``start="stationary"`` (the default of the engine) starts each event in its
long-run state: down with probability ``E[D]/(E[U]+E[D])``, and then in the
middle of a repair whose total length is drawn from the *length-biased* repair
distribution and whose elapsed share is uniform (exact renewal-theory
equilibrium; closed forms for every family). The window of each simulated year is
then stationary from its first hour, with no warm-up to pay for. ``warmup_hours``
starts the processes that much earlier instead, for either start state.

Examples
--------
>>> import numpy as np
>>> from model.processes.distributions import Exponential
>>> from model.processes.outages import OutageProcess, sample_outages
>>> proc = OutageProcess(("pump",), rate=np.array([1 / 100.0]), repair=(Exponential(10.0),))
>>> out = sample_outages(proc, n_years=2000, horizon=1000.0, rng=np.random.default_rng(1),
...                      start="stationary")
>>> down = np.minimum(out.end, 1000.0) - np.maximum(out.start, 0.0)
>>> round(float(down.sum() / (2000 * 1000.0)), 2)   # MTTR / (MTBF + MTTR) = 10 / 110
0.09
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import special

from model.processes.distributions import Distribution, Exponential, Fixed, LogNormal, Weibull
from model.processes.failover import manual_switch_delay

__all__ = [
    "Maintenance",
    "Mixture",
    "OutageProcess",
    "Outages",
    "PeriodicTest",
    "SwitchPolicy",
    "TailBiased",
    "failover_windows",
    "latent_windows",
    "length_biased",
    "maintenance_windows",
    "merge_intervals",
    "sample_outages",
    "switch_delays",
    "switch_draws",
]

Start = Literal["up", "stationary"]


# ----------------------------------------------------------------------------- distributions
@dataclass(frozen=True)
class Mixture:
    """An equal-weight mixture of duration distributions (a beta-factor event's repair).

    A common-cause event of members with different repair distributions is
    repaired like a member chosen at random.

    Examples
    --------
    >>> from model.processes.distributions import Fixed
    >>> m = Mixture((Fixed(1.0), Fixed(3.0)))
    >>> m.mean, sorted(set(m.sample(np.random.default_rng(0), 50).tolist()))
    (2.0, [1.0, 3.0])
    """

    parts: tuple[Distribution, ...]
    family = "mixture"

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("Mixture needs at least one distribution")

    @property
    def mean(self) -> float:
        return float(np.mean([p.mean for p in self.parts]))

    @property
    def var(self) -> float:
        m = self.mean
        return float(np.mean([p.var + p.mean**2 for p in self.parts]) - m * m)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        if len(self.parts) == 1:
            return self.parts[0].sample(rng, size)
        which = rng.integers(0, len(self.parts), size)
        out = np.empty(size)
        for i, p in enumerate(self.parts):
            sel = which == i
            out[sel] = p.sample(rng, int(sel.sum()))
        return out


def _simplify(d: Distribution | Mixture) -> Distribution | Mixture:
    if isinstance(d, Mixture) and len(set(d.parts)) == 1:
        return d.parts[0]
    return d


@dataclass(frozen=True)
class TailBiased:
    """Durations of ``base`` drawn above ``above[i]`` with probability ``share[i]``, else from ``base``.

    A defensive change of measure for importance sampling of long repairs, with
    one or several thresholds ``above[0] > above[1] > ...`` (a float: one): density
    ``g(x) = f(x) (s_0 + sum_i share[i] 1{x >= above[i]} / S(above[i]))`` with
    ``s_0 = 1 - sum(share) > 0`` the share drawn from ``base`` unchanged. The ratio
    ``f / g`` (:meth:`log_ratio`) is piecewise constant: one value above
    ``above[0]``, one on each band between thresholds, ``1 / s_0`` below the
    lowest, so no repair ever weighs more than ``1 / s_0``.

    Examples
    --------
    >>> from model.processes.distributions import LogNormal
    >>> t = TailBiased(LogNormal(10.0, 10.0), 30.0, 0.9)
    >>> x = t.sample(np.random.default_rng(0), 100_000)
    >>> round(float(np.mean(x >= 30.0)), 2)   # 0.9 + 0.1 P(X >= 30)
    0.9
    >>> lr = np.exp(t.log_ratio(x))               # real / biased density: mean 1
    >>> bool(abs(lr.mean() - 1) < 4 * lr.std() / np.sqrt(x.size))
    True
    >>> bool(abs(x.mean() / t.mean - 1) < 0.02)
    True
    >>> t2 = TailBiased(LogNormal(10.0, 10.0), (30.0, 15.0), (0.6, 0.3))   # two thresholds
    >>> np.exp(t2.log_ratio(np.array([40.0, 20.0, 5.0]))).round(3).tolist()  # above 30, 15-30, below 15
    [0.061, 0.575, 10.0]
    >>> round(float(t2.sf(30.0)), 3)             # P_g(X >= 30): 0.6 + 0.3 S(30) / S(15) + 0.1 S(30)
    0.672
    """

    base: Distribution
    above: tuple[float, ...]  # a float is taken as one threshold
    share: tuple[float, ...]

    def __post_init__(self) -> None:
        a = tuple(float(v) for v in np.atleast_1d(np.asarray(self.above, dtype=float)))
        s = tuple(float(v) for v in np.atleast_1d(np.asarray(self.share, dtype=float)))
        if not a or len(a) != len(s):
            raise ValueError("TailBiased needs one share per threshold (at least one)")
        if not all(v > 0 for v in a) or any(hi <= lo for hi, lo in itertools.pairwise(a)):
            raise ValueError("TailBiased needs thresholds > 0 in decreasing order")
        if not (all(v > 0 for v in s) and sum(s) < 1):
            raise ValueError("TailBiased needs shares > 0 that sum to less than 1")
        if not float(self.base.sf(a[0])) > 0:
            raise ValueError("TailBiased: the base law never exceeds 'above'")
        object.__setattr__(self, "above", a)
        object.__setattr__(self, "share", s)

    @property
    def family(self) -> str:
        return f"tail-biased {self.base.family}"

    @property
    def tails(self) -> np.ndarray:
        """``S(above[i])`` of the base law."""
        return np.array([float(self.base.sf(a)) for a in self.above])

    @property
    def base_share(self) -> float:
        """``s_0``: the share of durations drawn from the base law itself."""
        return 1.0 - sum(self.share)

    def _upper(self) -> np.ndarray:
        """``E[X 1{X >= above[i]}]`` of the base law."""
        m = float(self.base.mean)
        return np.array([m - float(self.base.mean_min(a)) + a * float(self.base.sf(a)) for a in self.above])

    @property
    def mean(self) -> float:
        s0 = self.tails
        upper = self._upper() / s0  # E[X | X >= above[i]]
        return float(np.dot(self.share, upper) + self.base_share * float(self.base.mean))

    def sf(self, x: Any) -> Any:
        """``P_g(X >= x)`` under the biased law."""
        x = np.asarray(x, dtype=float)
        out = self.base_share * np.asarray(self.base.sf(x), dtype=float)
        for a, s, t in zip(self.above, self.share, self.tails, strict=True):
            out = out + s * np.where(x >= a, np.asarray(self.base.sf(np.maximum(x, a)), dtype=float) / t, 1.0)
        return out

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        comp = np.searchsorted(np.cumsum(self.share), rng.random(size), side="right")
        u = rng.random(size)
        return self._draw(self.base, comp, u)

    def _draw(self, law: Any, comp: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Component ``i < K`` draws ``law`` above ``above[i]`` by inversion, component ``K`` ``law``."""
        q = u.copy()
        floor = np.zeros(u.size)
        for i, a in enumerate(self.above):
            sel = comp == i
            q[sel] = 1.0 - float(law.sf(a)) * (1.0 - u[sel])  # the upper S(a) of the law
            floor[sel] = a
        x = np.asarray(law.quantile(np.clip(q, 1e-300, 1.0 - 1e-16)), dtype=float)
        return np.maximum(x, floor)

    def log_ratio(self, x: np.ndarray) -> np.ndarray:
        """``log f(x) - log g(x)`` (real over biased density)."""
        x = np.asarray(x, dtype=float)
        r = np.full(x.shape, self.base_share)
        for a, s, t in zip(self.above, self.share, self.tails, strict=True):
            r = r + np.where(x >= a, s / t, 0.0)
        return -np.log(r)

    def length_biased(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draws from ``x g(x) / E_g[X]``: the length-biased base, above one threshold or not.

        The length-biased base law is lognormal(μ + σ², σ) for a lognormal base and
        Gamma(2, mean) for an exponential one (others raise ``TypeError``); component
        ``i`` is picked with probability proportional to ``share[i] E[X | X >= above[i]]``.
        """
        b = self.base
        if isinstance(b, LogNormal):
            law: Any = LogNormal.from_median_sigma(math.exp(b.mu + b.sigma**2), b.sigma)
        elif isinstance(b, Exponential):
            law = _Gamma2(b.mean)
        else:
            raise TypeError("a tail-biased law has a length-biased form for lognormal and exponential bases")
        mass = np.append(np.asarray(self.share) * self._upper() / self.tails,
                         self.base_share * float(b.mean))
        comp = np.searchsorted(np.cumsum(mass[:-1]) / mass.sum(), rng.random(size), side="right")
        u = rng.random(size)
        return self._draw(law, comp, u)


@dataclass(frozen=True)
class _Gamma2:
    """Gamma(2, scale): the length-biased exponential (survival and quantile only)."""

    scale: float

    def sf(self, x: Any) -> Any:
        z = np.asarray(x, dtype=float) / self.scale
        return (1.0 + z) * np.exp(-z)

    def quantile(self, q: Any) -> Any:
        return self.scale * special.gammaincinv(2.0, np.asarray(q, dtype=float))


def length_biased(d: Distribution | Mixture, rng: np.random.Generator, size: int) -> np.ndarray:
    """Draw from the length-biased version of ``d`` (density ``x f(x) / E[X]``).

    It is the law of the duration that covers a fixed instant of a stationary
    renewal process; the elapsed share of it is uniform. Closed forms: exponential
    → Gamma(2, mean); lognormal(μ, σ) → lognormal(μ + σ², σ); Weibull(k, λ) →
    ``λ G^{1/k}`` with ``G ~ Gamma(1 + 1/k)``; fixed → itself; a mixture picks a
    part with probability proportional to its mean.

    Examples
    --------
    >>> from model.processes.distributions import Exponential
    >>> x = length_biased(Exponential(2.0), np.random.default_rng(0), 200_000)
    >>> round(float(x.mean()), 1)   # E[X^2] / E[X] = 2 mean
    4.0
    """
    if isinstance(d, TailBiased):
        return d.length_biased(rng, size)
    if isinstance(d, Mixture):
        w = np.array([p.mean for p in d.parts], dtype=float)
        which = rng.choice(len(d.parts), size=size, p=w / w.sum())
        out = np.empty(size)
        for i, p in enumerate(d.parts):
            sel = which == i
            out[sel] = length_biased(p, rng, int(sel.sum()))
        return out
    if isinstance(d, Exponential):
        return rng.gamma(2.0, d.mean, size)
    if isinstance(d, LogNormal):
        return rng.lognormal(d.mu + d.sigma**2, d.sigma, size)
    if isinstance(d, Weibull):
        return d.scale * rng.gamma(1.0 + 1.0 / d.shape, 1.0, size) ** (1.0 / d.shape)
    if isinstance(d, Fixed):
        return np.full(size, float(d.value))
    raise TypeError(f"no length-biased form for {type(d).__name__}; use start='up' with a warm-up")


# ----------------------------------------------------------------------------- processes
@dataclass(frozen=True, eq=False)
class OutageProcess:
    """Alternating renewal processes of basic events (one entry per event).

    Attributes
    ----------
    names : tuple of str
    rate : float array (E,)
        Failures per hour of up time when the up time is exponential (``up[e]`` is
        None); 0 means the event never happens at random.
    repair : tuple of distributions (E,)
        Down-time (repair) distribution of each event, hours.
    up : tuple of (distribution or None) (E,), optional
        Non-exponential up-time distributions (fixed, Weibull, ...); None keeps
        the exponential with ``rate``.
    clock : int array (E,), optional
        Clock group of each event: events sharing a group age only while none of
        them is down. Default: every event has its own clock.
    """

    names: tuple[str, ...]
    rate: np.ndarray
    repair: tuple[Distribution | Mixture, ...]
    up: tuple[Distribution | None, ...] = ()
    clock: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        e = len(self.names)
        rate = np.asarray(self.rate, dtype=np.float64)
        object.__setattr__(self, "rate", rate)
        if not self.up:
            object.__setattr__(self, "up", (None,) * e)
        clock = np.asarray(self.clock, dtype=np.int64)
        if clock.size == 0:
            clock = np.arange(e, dtype=np.int64)
        object.__setattr__(self, "clock", clock)
        object.__setattr__(self, "repair", tuple(_simplify(r) for r in self.repair))
        if rate.shape != (e,) or len(self.repair) != e or len(self.up) != e or clock.shape != (e,):
            raise ValueError("OutageProcess: names, rate, repair, up and clock need one entry per event")
        if np.any(~np.isfinite(rate) | (rate < 0)):
            raise ValueError("OutageProcess: rates must be finite and >= 0")

    @property
    def n_events(self) -> int:
        return len(self.names)

    def mean_up(self, e: int) -> float:
        """Mean up time of event ``e`` in hours (inf when it never fails)."""
        u = self.up[e]
        if u is not None:
            return float(u.mean)
        return 1.0 / self.rate[e] if self.rate[e] > 0 else math.inf

    def active(self) -> np.ndarray:
        """Events that can happen at random."""
        return np.array([self.up[e] is not None or self.rate[e] > 0 for e in range(self.n_events)],
                        dtype=bool)

    def steady_unavailability(self) -> np.ndarray:
        """Long-run share of time each event is down (own clock): E[D] / (E[U] + E[D])."""
        out = np.zeros(self.n_events)
        for e in range(self.n_events):
            mu = self.mean_up(e)
            if math.isfinite(mu):
                md = self.repair[e].mean
                out[e] = md / (mu + md)
        return out


@dataclass(frozen=True, eq=False)
class Outages:
    """Down intervals ``[start, end)`` (hours) of events, per simulated year.

    Sorted by year, then start. ``start`` may be negative (an outage in progress
    when the year begins) and ``end`` may exceed the horizon.

    Examples
    --------
    >>> o = Outages(np.array([0, 1]), np.array([3, 3]), np.array([-1.0, 5.0]), np.array([2.0, 12.0]), 2, 10.0)
    >>> o.clipped_durations().tolist()
    [2.0, 5.0]
    """

    year: np.ndarray
    event: np.ndarray
    start: np.ndarray
    end: np.ndarray
    n_years: int
    horizon: float

    def __post_init__(self) -> None:
        for name, dt in (("year", np.int64), ("event", np.int64), ("start", np.float64),
                         ("end", np.float64)):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=dt))

    @property
    def size(self) -> int:
        return int(self.year.size)

    @staticmethod
    def empty(n_years: int, horizon: float) -> Outages:
        z = np.zeros(0)
        return Outages(z, z, z, z, n_years, horizon)

    def years_slice(self, lo: int, hi: int) -> Outages:
        """The intervals of years ``lo .. hi - 1``, renumbered from 0 (``hi - lo`` years).

        Examples
        --------
        >>> o = Outages(np.array([0, 1, 2]), np.array([0, 0, 0]), np.array([1.0, 2.0, 3.0]),
        ...             np.array([2.0, 3.0, 4.0]), 3, 10.0)
        >>> s = o.years_slice(1, 3)
        >>> s.year.tolist(), s.start.tolist(), s.n_years
        ([0, 1], [2.0, 3.0], 2)
        """
        if not 0 <= lo <= hi <= self.n_years:
            raise ValueError(f"years {lo}..{hi} are not within 0..{self.n_years}")
        i, j = np.searchsorted(self.year, [lo, hi])  # sorted by year
        return Outages(self.year[i:j] - lo, self.event[i:j], self.start[i:j], self.end[i:j], hi - lo,
                       self.horizon)

    def concat(self, *others: Outages) -> Outages:
        """All intervals of ``self`` and ``others`` (same years and horizon), re-sorted."""
        parts = (self, *others)
        for o in others:
            if o.n_years != self.n_years or o.horizon != self.horizon:
                raise ValueError("cannot concatenate outages of different years or horizons")
        parts = tuple(p for p in parts if p.size) or (self,)
        if len(parts) == 1 and _is_sorted(parts[0]):  # nothing to add: no re-sort (the same order)
            return parts[0]
        y = np.concatenate([p.year for p in parts])
        e = np.concatenate([p.event for p in parts])
        s = np.concatenate([p.start for p in parts])
        t = np.concatenate([p.end for p in parts])
        order = np.lexsort((e, s, y))
        return Outages(y[order], e[order], s[order], t[order], self.n_years, self.horizon)

    def select(self, mask: np.ndarray) -> Outages:
        return Outages(self.year[mask], self.event[mask], self.start[mask], self.end[mask],
                       self.n_years, self.horizon)

    def clipped_durations(self) -> np.ndarray:
        """Length of each interval inside ``[0, horizon)``."""
        return np.maximum(np.minimum(self.end, self.horizon) - np.maximum(self.start, 0.0), 0.0)


def _is_sorted(o: Outages) -> bool:
    """Whether ``o`` is in the order :meth:`Outages.concat` sorts to (year, then start, then event)."""
    y, s, e = o.year, o.start, o.event
    if y.size < 2:
        return True
    dy, ds, de = np.diff(y), np.diff(s), np.diff(e)
    return bool(np.all((dy > 0) | ((dy == 0) & ((ds > 0) | ((ds == 0) & (de >= 0))))))


def _segment_starts(keys: Sequence[np.ndarray]) -> np.ndarray:
    """Boolean mask: first element of each run of equal key tuples (arrays already sorted)."""
    n = keys[0].size
    new = np.zeros(n, dtype=bool)
    if n:
        new[0] = True
        for k in keys:
            new[1:] |= k[1:] != k[:-1]
    return new


def _general_points(up: Distribution, first: np.ndarray, length: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Renewal points in up time, in ``[0, length)``, for rows whose first point is ``first``.

    Returns (row, position). Drawn in blocks, with a top-up for rows still short.
    """
    mean = float(up.mean)
    sd = math.sqrt(max(float(up.var), 0.0))
    need = length / mean
    block = max(1, math.ceil(need + 4.0 * math.sqrt(max(need, 1.0)) * (sd / mean + 0.1) + 2))
    last = first.copy()
    live = np.flatnonzero(last < length)
    out_rows, out_pos = [], []
    # first points
    keep = first < length
    out_rows.append(np.flatnonzero(keep))
    out_pos.append(first[keep])
    while live.size:  # rarely more than one round: rows that outran the block are topped up
        inc = up.sample(rng, (live.size, block))
        p = last[live, None] + np.cumsum(inc, axis=1)
        m = p < length
        rr = np.broadcast_to(live[:, None], p.shape)
        out_rows.append(rr[m])
        out_pos.append(p[m])
        last[live] = p[:, -1]
        live = live[last[live] < length]
    return np.concatenate(out_rows), np.concatenate(out_pos)


def _stream(rng: np.random.Generator | Callable[[int], np.random.Generator]
            ) -> Callable[[int], np.random.Generator]:
    if isinstance(rng, np.random.Generator):
        return lambda _e: rng
    return rng


def sample_outages(
    process: OutageProcess,
    n_years: int,
    horizon: float,
    rng: np.random.Generator | Callable[[int], np.random.Generator],
    *,
    start: Start = "up",
    warmup_hours: float = 0.0,
) -> Outages:
    """Down intervals of every event in ``n_years`` independent windows ``[0, horizon)``.

    Parameters
    ----------
    process : OutageProcess
    n_years : int
        Independent windows (simulated years, or replications).
    horizon : float
        Window length in hours (8766 for a year).
    rng : numpy.random.Generator
    start : {"up", "stationary"}
        State at the start of the process (see the module notes). Clock groups
        with several members need ``"up"``.
    warmup_hours : float
        Start the processes this many hours before the window.

    Returns
    -------
    Outages
        Intervals that overlap ``[0, horizon)`` (or end after 0), sorted.

    Examples
    --------
    >>> from model.processes.distributions import Fixed
    >>> proc = OutageProcess(("a",), rate=np.zeros(1), repair=(Fixed(10.0),), up=(Fixed(100.0),))
    >>> out = sample_outages(proc, 1, 300.0, np.random.default_rng(0))
    >>> out.start.tolist(), out.end.tolist()
    ([100.0, 210.0], [110.0, 220.0])
    """
    if n_years < 1:
        raise ValueError("n_years must be >= 1")
    if not horizon > 0:
        raise ValueError("horizon must be > 0 hours")
    if start not in ("up", "stationary"):
        raise ValueError(f"start = {start!r} is not allowed; use 'up' or 'stationary'")
    if warmup_hours < 0:
        raise ValueError("warmup_hours must be >= 0")
    E = process.n_events
    length = horizon + warmup_hours
    clock = process.clock
    group_size = np.bincount(clock, minlength=int(clock.max(initial=-1)) + 1)
    shared_clock = group_size[clock] > 1
    if start == "stationary" and np.any(shared_clock & process.active()):
        raise ValueError("start='stationary' is not available for shared clock groups; use start='up'")

    init_year, init_event, init_start, init_end = [], [], [], []
    offset = {}  # event -> (years, residual) for events down at t=0
    first_general: dict[int, np.ndarray] = {}
    active = process.active()
    stationary = start == "stationary"
    R = _stream(rng)
    if stationary:
        q = process.steady_unavailability()
        for e in np.flatnonzero(active):  # loop over event types, vectorised over years
            rng = R(int(e))
            down = np.flatnonzero(rng.random(n_years) < q[e])
            total = length_biased(process.repair[e], rng, down.size)
            elapsed = total * rng.random(down.size)
            res = total - elapsed
            init_year.append(down)
            init_event.append(np.full(down.size, e))
            init_start.append(-elapsed)
            init_end.append(res)
            off = np.zeros(n_years)
            off[down] = res
            offset[int(e)] = off
            if process.up[e] is not None:  # first failure: residual up time, or a full one after repair
                first = length_biased(process.up[e], rng, n_years) * rng.random(n_years)
                first[down] = process.up[e].sample(rng, down.size)  # (shifted by res below)
                first_general[int(e)] = first
    # failure points in up time: exponential events (Poisson), general events (renewal)
    ev_parts, yr_parts, s_parts = [], [], []
    expo = np.array([process.up[e] is None for e in range(E)], dtype=bool) & (process.rate > 0)
    for e in np.flatnonzero(expo):  # loop over event types, vectorised over years and failures
        rng = R(int(e))
        count = int(rng.poisson(process.rate[e] * length * n_years))
        ev_parts.append(np.full(count, e))
        yr_parts.append(rng.integers(0, n_years, count))
        s_parts.append(rng.random(count) * length)
    for e in range(E):
        up = process.up[e]
        if up is None:
            continue
        rng = R(e)
        first = first_general.get(e)
        if first is None:
            first = up.sample(rng, n_years).astype(float)
        rows, pos = _general_points(up, np.asarray(first, float), length, rng)
        ev_parts.append(np.full(rows.size, e))
        yr_parts.append(rows)
        s_parts.append(pos)
    ev = np.concatenate(ev_parts) if ev_parts else np.zeros(0, dtype=np.int64)
    yr = np.concatenate(yr_parts) if yr_parts else np.zeros(0, dtype=np.int64)
    s = np.concatenate(s_parts) if s_parts else np.zeros(0)
    ev = ev.astype(np.int64)
    yr = yr.astype(np.int64)
    # repair time of every point, drawn per event type
    order = np.argsort(ev, kind="stable")
    ev, yr, s = ev[order], yr[order], s[order]
    d = np.empty(ev.size)
    bounds = np.searchsorted(ev, np.arange(E + 1))
    for e in range(E):
        lo, hi = bounds[e], bounds[e + 1]
        if hi > lo:
            d[lo:hi] = process.repair[e].sample(R(e), hi - lo)
    # real time: up-time position + repairs of earlier points of the same clock group and year
    g = clock[ev]
    order = np.lexsort((s, yr, g))
    ev, yr, s, d, g = ev[order], yr[order], s[order], d[order], g[order]
    first = _segment_starts((g, yr))
    run = np.cumsum(first) - 1
    cs = np.cumsum(d)
    before = (cs - d)[first]
    t = s + (cs - d) - before[run]
    if offset:
        off = np.zeros(ev.size)
        for e, o in offset.items():
            sel = ev == e
            off[sel] = o[yr[sel]]
        t = t + off
    keep = t < length
    starts = np.concatenate([*init_start, t[keep]]) - warmup_hours
    ends = np.concatenate([*init_end, (t + d)[keep]]) - warmup_hours
    years = np.concatenate([*init_year, yr[keep]]).astype(np.int64)
    events = np.concatenate([*init_event, ev[keep]]).astype(np.int64)
    live = ends > 0
    order = np.lexsort((events[live], starts[live], years[live]))
    return Outages(years[live][order], events[live][order], starts[live][order], ends[live][order],
                   n_years, float(horizon))


def merge_intervals(year: np.ndarray, start: np.ndarray, end: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union of intervals per year (input sorted by year, then start).

    Examples
    --------
    >>> merge_intervals(np.array([0, 0, 0, 1]), np.array([1., 2., 5., 1.]), np.array([3., 4., 6., 2.]))
    (array([0, 0, 1]), array([1., 5., 1.]), array([4., 6., 2.]))
    """
    if year.size == 0:
        return year.copy(), start.copy(), end.copy()
    span = float(np.max(end) - np.min(start)) + 1.0
    base = year.astype(np.float64) * span * 4.0  # make times increase across years
    e = end - np.min(start) + base
    st = start - np.min(start) + base
    run_end = np.maximum.accumulate(e)
    new = np.ones(year.size, dtype=bool)
    new[1:] = st[1:] > run_end[:-1]
    new[1:] |= year[1:] != year[:-1]
    idx = np.flatnonzero(new)
    ends = np.maximum.reduceat(end, idx)  # union end: the largest end within each run
    return year[idx], start[idx], ends


# ----------------------------------------------------------------------------- failover
@dataclass(frozen=True)
class SwitchPolicy:
    """How a standby redundancy group switches to its standby (a derived outage).

    ``window_event`` is the event id given to the windows; ``primary_events`` are
    the events that take the primary down. ``policy`` "automatic": delay ~
    ``delay``. "manual": ``detection`` then attempts of length ``switch_time``,
    each failing with ``p_fail``; after ``max_attempts`` failures the group waits
    for the primary's repair.
    """

    window_event: int
    primary_events: tuple[int, ...]
    policy: Literal["automatic", "manual"]
    delay: Distribution | None = None
    detection: Distribution | None = None
    switch_time: Distribution | None = None
    p_fail: float = 0.0
    max_attempts: int = 1

    def __post_init__(self) -> None:
        if self.policy == "automatic" and self.delay is None:
            raise ValueError("an automatic switch needs a delay distribution")
        if self.policy == "manual" and (self.detection is None or self.switch_time is None):
            raise ValueError("a manual switch needs detection and switch_time distributions")
        if not 0 <= self.p_fail <= 1 or self.max_attempts < 1:
            raise ValueError("p_fail must lie in [0, 1] and max_attempts be >= 1")


def switch_delays(policy: SwitchPolicy, rng: np.random.Generator, n: int) -> np.ndarray:
    """Switch delays in hours for ``n`` primary outages (``inf`` when every attempt fails).

    Examples
    --------
    >>> from model.processes.distributions import Fixed
    >>> p = SwitchPolicy(0, (1,), "manual", detection=Fixed(1.0), switch_time=Fixed(0.5),
    ...                  p_fail=0.5, max_attempts=2)
    >>> d = switch_delays(p, np.random.default_rng(0), 100_000)
    >>> sorted(set(np.round(d, 6).tolist()))
    [1.5, 2.0, inf]
    >>> round(float(np.mean(np.isinf(d))), 2)   # both attempts fail: 0.5 ** 2
    0.25
    """
    return switch_draws(policy, rng, n)[0]


def switch_draws(policy: SwitchPolicy, rng: np.random.Generator, n: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`switch_delays` and, per outage, the attempts made and how many of them failed.

    Attempts are made up to and including the first that succeeds (all ``max_attempts``
    when every one fails); an automatic switch makes none. The counts are what a change
    of measure of the per-attempt failure probability needs (:mod:`model.sim.tails`).

    Examples
    --------
    >>> from model.processes.distributions import Fixed
    >>> p = SwitchPolicy(0, (1,), "manual", detection=Fixed(1.0), switch_time=Fixed(0.5),
    ...                  p_fail=0.5, max_attempts=3)
    >>> d, made, failed = switch_draws(p, np.random.default_rng(1), 6)
    >>> bool(np.all((failed == made - 1) | ((failed == 3) & np.isinf(d))))
    True
    """
    if policy.policy == "automatic":
        zero = np.zeros(n, dtype=np.int64)
        return np.asarray(policy.delay.sample(rng, n), dtype=float), zero, zero
    det = np.asarray(policy.detection.sample(rng, n), dtype=float)
    k = policy.max_attempts
    fails = rng.random((n, k)) < policy.p_fail
    durations = policy.switch_time.sample(rng, (n, k))
    ok = ~fails
    first_ok = np.where(ok.any(axis=-1), np.argmax(ok, axis=-1), k)
    made = np.minimum(first_ok + 1, k).astype(np.int64)
    return manual_switch_delay(det, durations, fails), made, np.minimum(first_ok, k).astype(np.int64)


def failover_windows(outages: Outages, policies: Sequence[SwitchPolicy],
                     rng: np.random.Generator | Callable[[int], np.random.Generator], *,
                     attempts: list[tuple[int, ...]] | None = None) -> Outages:
    """Derived outages of standby groups: from each primary outage's start until the switch.

    Each union of the primary's down intervals (from any of ``primary_events``)
    makes the group unavailable on ``[a, a + min(D, b - a))`` with ``D`` drawn per
    outage by :func:`switch_delays`: the window ends when the switch completes or
    the primary is back, whichever comes first. ``attempts``, when given, receives
    ``(policy index, year, start, end, attempts made, attempts failed)`` of every
    merged primary outage (also those whose window is empty), for likelihood ratios
    of biased switches.

    Examples
    --------
    >>> from model.processes.distributions import Fixed
    >>> out = Outages(np.array([0, 0]), np.array([0, 0]), np.array([10., 50.]), np.array([12., 50.2]),
    ...               1, 100.0)
    >>> pol = SwitchPolicy(window_event=5, primary_events=(0,), policy="automatic", delay=Fixed(0.5))
    >>> w = failover_windows(out, [pol], np.random.default_rng(0))
    >>> w.event.tolist(), w.start.tolist(), np.round(w.end, 6).tolist()
    ([5, 5], [10.0, 50.0], [10.5, 50.2])
    """
    parts = []
    R = _stream(rng)
    for k, pol in enumerate(policies):  # one pass per redundancy group (stream k: chunk_streams)
        sel = np.isin(outages.event, np.asarray(pol.primary_events, dtype=np.int64))
        if not sel.any():
            continue
        y, a, b = merge_intervals(outages.year[sel], outages.start[sel], outages.end[sel])
        d, made, failed = switch_draws(pol, R(k), y.size)
        if attempts is not None:
            attempts.append((k, y, a, b, made, failed))
        end = a + np.minimum(d, b - a)
        keep = end > np.maximum(a, 0.0)
        parts.append(Outages(y[keep], np.full(int(keep.sum()), pol.window_event), a[keep], end[keep],
                             outages.n_years, outages.horizon))
    if not parts:
        return Outages.empty(outages.n_years, outages.horizon)
    return parts[0].concat(*parts[1:])


# ----------------------------------------------------------------------------- maintenance
@dataclass(frozen=True)
class Maintenance:
    """Planned maintenance: event ``event`` is down ``duration_hours`` every ``period_hours``.

    The first window starts at ``offset_hours``; windows are the same in every year.
    """

    event: int
    period_hours: float
    duration_hours: float
    offset_hours: float = 0.0

    def __post_init__(self) -> None:
        if not (self.period_hours > 0 and 0 <= self.duration_hours <= self.period_hours
                and self.offset_hours >= 0):
            raise ValueError("maintenance needs period > 0, 0 <= duration <= period, offset >= 0")


def maintenance_windows(plans: Sequence[Maintenance], n_years: int, horizon: float) -> Outages:
    """The planned windows of every year.

    Examples
    --------
    >>> w = maintenance_windows([Maintenance(3, 100.0, 2.0, 10.0)], 2, 250.0)
    >>> w.year.tolist(), w.start.tolist()
    ([0, 0, 0, 1, 1, 1], [10.0, 110.0, 210.0, 10.0, 110.0, 210.0])
    """
    parts = []
    for p in plans:
        starts = np.arange(p.offset_hours, horizon, p.period_hours)
        if p.duration_hours == 0 or starts.size == 0:
            continue
        n = starts.size
        parts.append(Outages(np.repeat(np.arange(n_years), n), np.full(n * n_years, p.event),
                             np.tile(starts, n_years), np.tile(starts + p.duration_hours, n_years),
                             n_years, horizon))
    if not parts:
        return Outages.empty(n_years, horizon)
    return parts[0].concat(*parts[1:])


# ----------------------------------------------------------------------------- latent failures and tests
@dataclass(frozen=True)
class PeriodicTest:
    """A standby that fails silently (rate ``rate`` per hour) and is tested every ``interval_hours``.

    A latent failure at time ``u`` in the test cycle ``[t_k, t_{k+1})`` keeps event
    ``event`` down from ``u`` until it is found — at the next test ``t_{k+1}``, or
    earlier when an outage of one of ``reveal_events`` (the primary's) starts and the
    standby is needed — and then for a repair drawn from ``repair`` (None: found and
    fixed at once). Tests are at ``offset_hours + k interval_hours`` in every year. With
    probability ``outage_probability`` a test causes an outage (event ``outage_event``)
    lasting ``outage_duration`` from the test's time. Test windows themselves are
    planned maintenance (:class:`Maintenance`).
    """

    event: int
    rate: float
    interval_hours: float
    offset_hours: float = 0.0
    repair: Distribution | None = None
    reveal_events: tuple[int, ...] = ()
    outage_event: int = -1
    outage_probability: float = 0.0
    outage_duration: Distribution | None = None

    def __post_init__(self) -> None:
        if not (self.interval_hours > 0 and self.rate >= 0 and self.offset_hours >= 0
                and 0 <= self.outage_probability <= 1):
            raise ValueError("a periodic test needs interval > 0, rate >= 0, offset >= 0 and a probability "
                             "in [0, 1]")
        if self.outage_probability > 0 and (self.outage_event < 0 or self.outage_duration is None):
            raise ValueError("a test that can cause an outage needs its event and duration distribution")


def _test_grid(test: PeriodicTest, horizon: float) -> np.ndarray:
    """Test times from one interval before the window to one after (so windows are stationary)."""
    t = test.interval_hours
    k0 = math.floor(-test.offset_hours / t) - 1
    k1 = math.ceil((horizon - test.offset_hours) / t) + 1
    return test.offset_hours + t * np.arange(k0, k1 + 1, dtype=np.float64)


def latent_windows(outages: Outages, tests: Sequence[PeriodicTest],
                   rng: np.random.Generator | Callable[[int], np.random.Generator]) -> Outages:
    """Down intervals of latent failures (until found, then repaired) and of outages tests cause.

    ``outages`` are the random outages of the same years (their ``reveal_events``
    starts find a latent failure early). Stream ``k`` of ``rng`` serves test ``k``.
    Vectorised over years × test cycles; only the cycles with a failure are drawn
    in detail.

    Examples
    --------
    >>> pt = PeriodicTest(event=0, rate=1 / 1000.0, interval_hours=100.0)
    >>> w = latent_windows(Outages.empty(4000, 1000.0), [pt], np.random.default_rng(2))
    >>> down = np.minimum(w.end, 1000.0) - np.maximum(w.start, 0.0)
    >>> exact = 1 - (1 - np.exp(-0.1)) / 0.1              # 1 - (1 - e^{-λT}) / (λT)
    >>> bool(abs(down.sum() / 4e6 - exact) < 0.002)
    True
    """
    R = _stream(rng)
    ny, horizon = int(outages.n_years), float(outages.horizon)
    parts = []
    for k, test in enumerate(tests):  # one pass per tested standby
        g = R(k)
        grid = _test_grid(test, horizon)
        ncyc = grid.size - 1
        t = test.interval_hours
        p_fail = -math.expm1(-test.rate * t)
        total = ny * ncyc
        if p_fail > 0:
            n_f = int(g.binomial(total, p_fail))
            cells = np.sort(g.choice(total, size=n_f, replace=False)) if n_f else np.zeros(0, dtype=np.int64)
            yr, cyc = np.divmod(cells, ncyc)
            # failure time given a failure in the cycle: exponential truncated to [0, T)
            u = -np.log1p(g.random(n_f) * -p_fail) / test.rate
            start = grid[cyc] + u
            found = grid[cyc + 1].copy()
            sel = np.isin(outages.event, np.asarray(test.reveal_events, dtype=np.int64))
            if sel.any():
                stride = horizon * 4.0 + 4.0 * t + 1.0
                key = np.sort(outages.year[sel] * stride + outages.start[sel])
                pos = np.searchsorted(key, yr * stride + start, side="right")
                nxt = np.where(pos < key.size, key[np.minimum(pos, key.size - 1)], np.inf)
                found = np.minimum(found, np.where(nxt - yr * stride < found, nxt - yr * stride, np.inf))
            rep = (np.asarray(test.repair.sample(g, n_f), dtype=float) if test.repair is not None and n_f
                   else np.zeros(n_f))
            end = found + rep
            keep = (end > 0) & (start < horizon)
            yy, ss, ee = merge_intervals(yr[keep], start[keep], end[keep])
            parts.append(Outages(yy, np.full(yy.size, test.event), ss, ee, ny, horizon))
        if test.outage_probability > 0:
            inside = np.flatnonzero((grid >= 0) & (grid < horizon))
            n_o = int(g.binomial(ny * inside.size, test.outage_probability))
            cells = (np.sort(g.choice(ny * inside.size, size=n_o, replace=False)) if n_o
                     else np.zeros(0, dtype=np.int64))
            yr, j = np.divmod(cells, max(inside.size, 1))
            start = grid[inside[j]]
            end = start + np.asarray(test.outage_duration.sample(g, n_o), dtype=float)
            yy, ss, ee = merge_intervals(yr, start, end)
            parts.append(Outages(yy, np.full(yy.size, test.outage_event), ss, ee, ny, horizon))
    if not parts:
        return Outages.empty(ny, horizon)
    return parts[0].concat(*parts[1:])
