"""Repair crews shared by components: simultaneous failures queue for repair.

A *crew group* is a set of components whose repairs are done by ``crews`` crews. A
component that fails while every crew is busy waits (first come, first served) and
stays down while it waits; a waiting or repaired component does not fail again until
it is back up (each member's failures are a Poisson process in its own up time).

:func:`crew_outages` generates the members' down intervals for many simulated years
at once: an event-driven simulation vectorised over years — one step handles the next
event (a failure or a repair completion) of every year together, so the Python loop
runs once per event of the busiest year, not per year or per time step. It starts
``warmup_hours`` before each window, all members up.

:func:`machine_repair` is the finite-source (machine-repair) queue's steady state for
identical members with exponential repairs (Palm's formula); the static engines use
the long-run share of time each member is down, :func:`crew_unavailability`.

Examples
--------
>>> p = machine_repair(n=3, crews=1, failure_rate=0.5, repair_rate=1.0)
>>> p.round(4).tolist()   # P(0, 1, 2, 3 down): p_n ∝ 3!/(3-n)! (λ/μ)^n / 1^(n-1)
[0.2105, 0.3158, 0.3158, 0.1579]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from model.processes.distributions import Distribution
from model.processes.outages import Outages

__all__ = ["CrewGroup", "crew_outages", "crew_unavailability", "machine_repair"]


def machine_repair(n: int, crews: int, failure_rate: float, repair_rate: float) -> np.ndarray:
    """Steady-state P(k of ``n`` identical members down), k = 0..n, with ``crews`` crews.

    ``p_k ∝ n!/(n-k)! (λ/μ)^k / (k!  if k <= c  else  c! c^{k-c})`` (exponential up and
    repair times; computed in logs).
    """
    if n < 1 or crews < 1 or failure_rate < 0 or repair_rate <= 0:
        raise ValueError("need n >= 1, crews >= 1, failure_rate >= 0 and repair_rate > 0")
    k = np.arange(n + 1, dtype=float)
    if failure_rate == 0:
        out = np.zeros(n + 1)
        out[0] = 1.0
        return out
    c = float(crews)
    log_p = (math.lgamma(n + 1) - np.array([math.lgamma(n - x + 1) for x in k])
             + k * math.log(failure_rate / repair_rate))
    served = np.where(k <= c, np.array([math.lgamma(x + 1) for x in k]),
                      math.lgamma(c + 1) + (k - c) * math.log(c))
    log_p -= served
    p = np.exp(log_p - log_p.max())
    return p / p.sum()


def crew_unavailability(n: int, crews: int, failure_rate: float, mean_repair_hours: float) -> float:
    """Long-run share of time one member of a crew group is down (``E[k down] / n``).

    Examples
    --------
    >>> round(crew_unavailability(3, 1, 0.5, 1.0), 4)   # (0.3158 + 2 x 0.3158 + 3 x 0.1579) / 3
    0.4737
    """
    p = machine_repair(n, crews, failure_rate, 1.0 / mean_repair_hours)
    return float(p @ np.arange(n + 1)) / n


@dataclass(frozen=True)
class CrewGroup:
    """Events ``events`` (the members' own failures) repaired by ``crews`` crews, first come first served."""

    events: tuple[int, ...]
    rates: tuple[float, ...]  # failures per hour of up time
    repairs: tuple[Distribution, ...]
    crews: int

    def __post_init__(self) -> None:
        if not (len(self.events) == len(self.rates) == len(self.repairs)) or self.crews < 1:
            raise ValueError("a crew group needs one rate and repair per event and at least one crew")


def crew_outages(groups: Sequence[CrewGroup], n_years: int, horizon: float,
                 rng: np.random.Generator | Callable[[int], np.random.Generator], *,
                 warmup_hours: float | None = None) -> Outages:
    """Down intervals (waiting + repair) of every crew group's members in ``n_years`` windows.

    Stream ``k`` of ``rng`` (a callable) serves group ``k``. ``warmup_hours`` (default: 50
    mean repairs, at least 500 h) lets each window start near the steady state.

    Examples
    --------
    >>> from model.processes.distributions import Exponential
    >>> g = CrewGroup((0, 1, 2), (0.5, 0.5, 0.5), (Exponential(1.0),) * 3, crews=1)
    >>> out = crew_outages([g], 400, 1000.0, np.random.default_rng(3))
    >>> down = np.minimum(out.end, 1000.0) - np.maximum(out.start, 0.0)
    >>> round(float(down.sum() / (3 * 400 * 1000.0)), 2)   # crew_unavailability(3, 1, 0.5, 1.0) = 0.4737
    0.47
    """
    parts = []
    for k, grp in enumerate(groups):  # one simulation per crew group, vectorised over years
        g = rng(k) if callable(rng) else rng
        parts.append(_one_group(grp, n_years, horizon, g, warmup_hours))
    if not parts:
        return Outages.empty(n_years, horizon)
    return parts[0].concat(*parts[1:])


def _one_group(grp: CrewGroup, ny: int, horizon: float, g: np.random.Generator,
               warmup_hours: float | None) -> Outages:
    m = len(grp.events)
    rates = np.asarray(grp.rates, dtype=float)
    mean_rep = max(float(np.mean([r.mean for r in grp.repairs])), 1e-9)
    warm = warmup_hours if warmup_hours is not None else max(500.0, 50.0 * mean_rep)
    inf = np.inf
    with np.errstate(divide="ignore"):
        scale = np.where(rates > 0, 1.0 / np.maximum(rates, 1e-300), inf)
    next_fail = -warm + g.exponential(1.0, (ny, m)) * scale  # all up at -warm
    failed_at = np.full((ny, m), inf)  # when the current outage began (waiting or in repair)
    repair_end = np.full((ny, m), inf)
    status = np.zeros((ny, m), dtype=np.int8)  # 0 up, 1 waiting, 2 in repair
    busy = np.zeros(ny, dtype=np.int64)
    rows = np.arange(ny)
    out_y, out_e, out_s, out_t = [], [], [], []
    events = np.asarray(grp.events, dtype=np.int64)
    while True:  # one step per event of the busiest year (all years together)
        nf = np.where(status == 0, next_fail, inf)
        re = np.where(status == 2, repair_end, inf)
        t_f, m_f = nf.min(axis=1), nf.argmin(axis=1)
        t_r, m_r = re.min(axis=1), re.argmin(axis=1)
        t = np.minimum(t_f, t_r)
        live = t < horizon
        if not live.any():
            break
        is_fail = live & (t_f <= t_r)
        is_rep = live & ~is_fail
        # a failure: wait, or start a repair when a crew is free
        yf, mf = rows[is_fail], m_f[is_fail]
        status[yf, mf] = 1
        failed_at[yf, mf] = t[is_fail]
        # a repair completion: the member is up again and its crew is free
        yr, mr = rows[is_rep], m_r[is_rep]
        out_y.append(yr)
        out_e.append(events[mr])
        out_s.append(failed_at[yr, mr])
        out_t.append(t[is_rep])
        status[yr, mr] = 0
        failed_at[yr, mr] = inf
        repair_end[yr, mr] = inf
        next_fail[yr, mr] = t[is_rep] + g.exponential(1.0, yr.size) * scale[mr]
        busy[yr] -= 1
        # a free crew takes the member that has waited longest (first come, first served)
        ys = rows[live & (busy < grp.crews) & (status == 1).any(axis=1)]
        if ys.size:
            wait = np.where(status[ys] == 1, failed_at[ys], inf)
            mw = wait.argmin(axis=1)
            status[ys, mw] = 2
            dur = np.empty(ys.size)
            for j in np.unique(mw).tolist():  # one draw per member kind (a handful), not per year
                sel = mw == j
                dur[sel] = np.asarray(grp.repairs[j].sample(g, int(sel.sum())), dtype=float)
            repair_end[ys, mw] = t[ys] + dur
            busy[ys] += 1
    # still down at the end of the window
    yd, md = np.nonzero(status > 0)
    out_y.append(yd)
    out_e.append(events[md])
    out_s.append(failed_at[yd, md])
    out_t.append(np.where(status[yd, md] == 2, repair_end[yd, md], horizon + 1.0))
    y = np.concatenate(out_y)
    e = np.concatenate(out_e)
    s = np.concatenate(out_s)
    f = np.concatenate(out_t)
    keep = f > 0
    order = np.lexsort((e[keep], s[keep], y[keep]))
    return Outages(y[keep][order], e[keep][order], s[keep][order], f[keep][order], ny, horizon)
