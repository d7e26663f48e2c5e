"""Rare, severe years by importance sampling of the outage processes: failure biasing with likelihood ratios.

A national outage of the 2023 kind comes once in decades; under a strategy that
works, once in thousands of years. Crude simulation needs ``100 / p`` years to
see a 1-in-``1/p`` year to 10 % relative error (10^6 years for the worst year in
10,000). Here the time engine simulates years in which a few chosen events —
common-cause events, members of standby groups (the call-handling platforms)
and rare events that alone cut off a large share of calls — fail ``beta_e``
times more often, and every year carries its likelihood ratio, so that every
tail statistic stays unbiased for the real model.

Likelihood ratio. A biased event ``e`` has exponential up times with rate
``lambda_e`` (own clock). On the window ``[0, H)`` its path has density
``lambda^n exp(-lambda U)`` times terms that do not depend on ``lambda`` (repair
times; ``n`` failures that start in the window, ``U`` its up time there). With the
rate ``beta lambda`` the ratio of the real to the biased density of a year is
``beta^-n exp((beta - 1) lambda U)``; with ``start="stationary"`` the initial
state (down with probability ``q = E[D] / (1/lambda + E[D])``) adds
``q / q_beta`` or ``(1 - q) / (1 - q_beta)``. Failover windows, maintenance
and callers depend on the outages, never on the rates, and their streams are
untouched, so the year's weight is the product over biased events. Each biased
event draws from its own stream keyed by its name (as in the plain engine), so
the ratio is recomputed exactly from a re-draw of the chunk's outages.

Repair times and manual switches. A biased event may also have long repairs
(``repair_above``: thresholds ``a_1 > a_2 > ...`` hours, ``repair_share``: shares
``s_1, s_2, ...``): each repair is drawn from its own law conditioned on ``>= a_i``
with probability ``s_i``, else (``s_0 = 1 - sum s_i``) from its own law
(:class:`model.processes.outages.TailBiased`, a defensive mixture), so each repair
``x`` of a failure in the window adds ``log f(x) - log g(x)``, one constant on
each band between thresholds, and never more than ``-log s_0``; a year that starts
with the event down adds ``(q / q_g) (m_g / m) f(x) / g(x)`` for the length-biased
total ``x`` of that outage (``m`` the mean repair). Several thresholds matter: with
one, a severe year whose repair falls just below it weighs ``1 / s_0`` (10 for
``s_0 = 0.1``) against a few hundredths for the others, and where the pilots put
that threshold is noise. A manual switch
of a standby group (``switches``: its window event's name) may have its
per-attempt failure probability ``p`` raised to ``p'`` (``switch_fail``): every
primary outage of the year adds ``f log(p / p') + s log((1 - p) / (1 - p'))``
for its ``f`` failed and ``s`` (0 or 1) successful attempts — attempts are made
until one succeeds, so the attempts not made do not enter. The severe years of
uk999 need three things at once: a platform-wide failure, every switch attempt
failing, and a long repair; biasing all three is what makes the 1-in-10,000
year visible.

Choice of the bias. :func:`choose_bias` is the rule of thumb: each chosen event
biased to about ``target / k`` failures a year (``k`` events chosen), never below
its own rate, and every manual switch to fail entirely with probability
``switch_all_fail``. :func:`cross_entropy_bias` refines it from pilot runs (on
streams of their own, so the main run stays unbiased): the cross-entropy step
sets every parameter to its weighted maximum-likelihood value over the pilot's
years at or above the level of interest (or its ``rho`` top share while that
level is out of reach) — rates ``sum W n / sum W U``, switch failure
``sum W f / sum W (f + s)`` — and the long repairs from the elite years of
several levels (the worst year in ``period`` and in each of ``levels``, by
default 100 and 1,000, weighing ``level_weight`` in all): thresholds on a fixed
ladder at the real repair law's quantiles (:data:`REPAIR_LADDER`), and the share
of each band at the elite's weighted share of repairs in it (:func:`_long_shares`:
the cross-entropy step for a piecewise-constant ratio, pooled so that the ratio
never falls as the repair grows, no band's ratio below a third of the band
above it, at least ``1 - repair_share`` left on the real law; a platform and
its common cause share one set of shares). The intensity of the biased events is
then capped (``events_per_year``: years with a national outage cost 10-40 times a
quiet one, for their callers) and
shared among a switch's primary events so that their severe years weigh alike
(:func:`_balance`).

Runs go through :func:`model.run.runner.run_chunks` (chunks, seeds, workers,
checkpoints), the chunk function :func:`run_biased_chunk` returns a
:class:`WeightedTally`, and :class:`TailRun` turns it into return periods and
return levels with :mod:`model.results.tails`.

Examples
--------
>>> from model.sim.timemodel import build_time_model
>>> tm = build_time_model("uk999")
>>> bias = choose_bias(tm)
>>> bias.events[:3], len(bias.events)   # the platforms, their common cause, and 7 networks' switching sites
(('bt_primary', 'bt_dr', 'ccf:bt_platform_software'), 10)
>>> bias.switches, [round(p, 3) for p in bias.switch_fail]   # the manual switch to the backup platform
(('failover:bt_platforms',), [0.794])
>>> run = simulate_tails(tm, 60, seed=1, bias=bias, chunk_years=30, backend="serial")
>>> run.years, bool(run.weights.mean() > 0)
(60, True)
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model.network.reachability import unreachable_sets
from model.processes.distributions import Exponential, LogNormal
from model.processes.outages import OutageProcess, Outages, TailBiased, sample_outages
from model.results.estimate import Estimate
from model.results.tails import exceedance, exceedance_curve, return_level
from model.run.checkpoint import register_tally
from model.run.runner import RunInfo, run_chunks
from model.run.seeds import chunk_plan, chunk_streams, named_rng
from model.sim.engine import (
    DEFAULT_CHUNK_YEARS,
    TimeTally,
    as_time_model,
    run_chunk,
    share_states,
    with_derived_outages,
)
from model.sim.timemodel import EVENT_KINDS, TimeModel

__all__ = [
    "REPAIR_LADDER",
    "STATISTICS",
    "FailureBias",
    "TailRun",
    "WeightedTally",
    "choose_bias",
    "cross_entropy_bias",
    "run_biased_chunk",
    "simulate_tails",
]

#: Quantiles of each biased event's real repair law where :func:`cross_entropy_bias` puts its thresholds.
REPAIR_LADDER = (0.5, 0.75, 0.85, 0.9, 0.93, 0.95, 0.97, 0.99, 0.999)

#: Per-year statistics of a tail run: field of the engine's year record, and what it means.
STATISTICS = {
    "unreachable": "unreachable calls in the year",
    "worst_incident": "unreachable calls in the year's worst incident",
    "longest_down_h": "longest unbroken outage of the year (hours with some demand cut off)",
    "down_hours": "hours in the year with some demand cut off",
}


Hours = tuple[float, ...]


def _as_levels(v: Any) -> Hours:
    """A float (0: none) or a sequence of floats, as a tuple without zeros."""
    return tuple(float(x) for x in np.atleast_1d(np.asarray(v, dtype=float)) if x != 0)


@dataclass(frozen=True)
class FailureBias:
    """Rate multipliers of some exponential events (by name), their long repairs and biased switches.

    ``factors[i]`` multiplies the failure rate of ``events[i]``; ``repair_above[i]``
    gives the thresholds (hours, decreasing; a float is one threshold, 0 or ``()``
    none) above which its repairs are drawn with the probabilities
    ``repair_share[i]`` (:class:`model.processes.outages.TailBiased`, a defensive
    mixture); ``switch_fail[j]`` is the per-attempt failure probability of the
    manual switch whose window event is ``switches[j]``. No events and no
    switches: the crude engine. Thresholds and shares are stored as tuples.

    Examples
    --------
    >>> b = FailureBias(("a", "b"), (10.0, 2.0), repair_above=(0.0, (30.0, 15.0)),
    ...                 repair_share=(0.0, (0.6, 0.3)))
    >>> b.factor_of("b"), b.long_repair_of("b"), b.long_repair_of("a")
    (2.0, ((30.0, 15.0), (0.6, 0.3)), None)
    """

    events: tuple[str, ...] = ()
    factors: tuple[float, ...] = ()
    repair_above: tuple[Any, ...] = ()
    repair_share: tuple[Any, ...] = ()
    switches: tuple[str, ...] = ()
    switch_fail: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if len(self.events) != len(self.factors):
            raise ValueError("FailureBias: one factor per event")
        if len(self.repair_above) != len(self.repair_share) or (
                self.repair_above and len(self.repair_above) != len(self.events)):
            raise ValueError("FailureBias: one long-repair threshold and share per event (or none)")
        if len(self.switches) != len(self.switch_fail):
            raise ValueError("FailureBias: one failure probability per biased switch")
        above = tuple(_as_levels(a) for a in self.repair_above) or ((),) * len(self.events)
        share = tuple(_as_levels(s) for s in self.repair_share) or ((),) * len(self.events)
        for name, f, a, sh in zip(self.events, self.factors, above, share, strict=True):
            if not (math.isfinite(f) and f > 0):
                raise ValueError(f"FailureBias: factor of {name!r} must be a positive number, got {f}")
            if (len(a) != len(sh) or not all(math.isfinite(x) and x > 0 for x in a)
                    or any(hi <= lo for hi, lo in itertools.pairwise(a))
                    or not (all(0 < x < 1 for x in sh) and sum(sh) < 1)):
                raise ValueError(f"FailureBias: long repairs of {name!r} need decreasing hours > 0, one "
                                 f"share each in (0, 1), summing to less than 1; got {a}, {sh}")
        for name, p in zip(self.switches, self.switch_fail, strict=True):
            if not 0 < p < 1:
                raise ValueError(f"FailureBias: switch failure probability of {name!r} must lie in (0, 1), "
                                 f"got {p}")
        if self.repair_above:
            object.__setattr__(self, "repair_above", above)
            object.__setattr__(self, "repair_share", share)

    @property
    def is_crude(self) -> bool:
        return not self.events and not self.switches

    def factor_of(self, name: str) -> float:
        return self.factors[self.events.index(name)] if name in self.events else 1.0

    def long_repair_of(self, name: str) -> tuple[Hours, Hours] | None:
        """``(thresholds, shares)`` of the event's long repairs (tuples, decreasing hours), or None."""
        if name not in self.events or not self.repair_above:
            return None
        i = self.events.index(name)
        return (self.repair_above[i], self.repair_share[i]) if self.repair_above[i] else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{event: factor}``, long repairs (``[[hours...], [shares...]]``) and switches."""
        out: dict[str, Any] = dict(zip(self.events, self.factors, strict=True))
        long = {n: [list(lr[0]), list(lr[1])] for n in self.events
                if (lr := self.long_repair_of(n)) is not None}
        if long:
            out["long_repairs"] = long
        if self.switches:
            out["switch_fail"] = dict(zip(self.switches, self.switch_fail, strict=True))
        return out


def _biasable(process: OutageProcess) -> np.ndarray:
    """Events whose likelihood ratio is exact here: exponential up time, own clock, positive rate."""
    clock = process.clock
    own = np.bincount(clock, minlength=int(clock.max(initial=-1)) + 1)[clock] == 1
    expo = np.array([u is None for u in process.up], dtype=bool)
    return own & expo & (process.rate > 0)


def _tail_biasable(d: Any) -> bool:
    """Repair laws :class:`~model.processes.outages.TailBiased` handles (with a stationary start too)."""
    return isinstance(d, (LogNormal, Exponential))


def _manual_switches(model: TimeModel) -> list[int]:
    """Indices of the switch policies whose per-attempt failure probability can be biased."""
    return [j for j, pol in enumerate(model.switch_policies) if pol.policy == "manual" and 0 < pol.p_fail < 1]


def _big_events(model: TimeModel, share: float, rare_per_year: float | None = None) -> list[int]:
    """Biasable events whose failure alone cuts off at least ``share`` of the calls (rarer than
    ``rare_per_year`` failures a year when given)."""
    p, ev = model.process, model.events
    ok = _biasable(p)
    per_year = p.rate * model.horizon
    cand = [e for e in range(p.n_events) if ok[e] and (rare_per_year is None or per_year[e] < rare_per_year)]
    if not cand:
        return []
    cut = unreachable_sets(model.net, [ev.member_list(e).tolist() if ev.structural[e] else [] for e in cand])
    w = model.net.demand_weight / max(model.net.demand_weight.sum(), 1e-300)
    return [e for e, row in zip(cand, cut, strict=True) if float(row @ w) >= share]


def choose_bias(model: TimeModel, *, target: float = 1.0, share: float = 0.25, rare_per_year: float = 0.1,
                events: Sequence[str] | None = None, switch_all_fail: float | None = 0.5,
                repair_quantile: float | None = None, repair_share: float = 0.5) -> FailureBias:
    """The events to bias and their factors (a rule of thumb; :func:`cross_entropy_bias` refines it).

    Chosen (unless ``events`` names them): common-cause events, events that take
    down a member of a standby group (primary or backup: the call-handling
    platforms), and events rarer than ``rare_per_year`` whose failure alone cuts
    off at least ``share`` of the calls — among those the likelihood ratio handles
    exactly (exponential up time, own clock). Each is biased to
    ``max(own rate, target / k)`` failures a year; with ``repair_quantile`` its
    repairs are at least their own ``repair_quantile`` quantile with probability
    ``repair_share`` (lognormal and exponential repairs). Every manual switch
    gets the per-attempt failure probability ``p'`` with ``p'^max_attempts =
    switch_all_fail`` (never below its own; None: switches unbiased).

    Examples
    --------
    >>> from model.sim.timemodel import build_time_model
    >>> b = choose_bias(build_time_model("uk999"), target=0.6)
    >>> [round(f * r, 3) for f, r in zip(b.factors, (0.0110485, 0.0110485, 0.0005815))]
    [0.06, 0.06, 0.06]
    """
    p = model.process
    ok = _biasable(p)
    if events is not None:
        idx = []
        for name in events:
            if name not in p.names:
                raise ValueError(f"no random event named {name!r} to bias")
            e = p.names.index(name)
            if not ok[e]:
                raise ValueError(f"event {name!r} cannot be biased: it needs an exponential up time of "
                                 "its own clock and a positive rate")
            idx.append(e)
    else:
        ev = model.events
        group = set(int(c) for c in model.standby_primary.tolist() if c >= 0)
        nc = model.net.node_component[model.standby_nodes]
        group |= set(int(c) for c in nc.tolist() if c >= 0)
        big = set(_big_events(model, share, rare_per_year))
        ccf = EVENT_KINDS.index("common_cause")
        idx = [e for e in range(p.n_events) if ok[e] and (
            int(ev.kind[e]) == ccf or e in big or group & set(ev.member_list(e).tolist()))]
    switches: list[str] = []
    probs: list[float] = []
    if switch_all_fail is not None:
        if not 0 < switch_all_fail < 1:
            raise ValueError(f"switch_all_fail must lie in (0, 1), got {switch_all_fail}")
        for j in _manual_switches(model):
            pol = model.switch_policies[j]
            switches.append(model.events.names[pol.window_event])
            probs.append(max(pol.p_fail, switch_all_fail ** (1.0 / pol.max_attempts)))
    if not idx:
        return FailureBias(switches=tuple(switches), switch_fail=tuple(probs))
    per_event = target / len(idx)
    m = p.rate[idx] * model.horizon
    factors = np.maximum(1.0, per_event / m)
    above: tuple[float, ...] = ()
    shares: tuple[float, ...] = ()
    if repair_quantile is not None:
        above = tuple(float(p.repair[e].quantile(repair_quantile)) if _tail_biasable(p.repair[e]) else 0.0
                      for e in idx)
        shares = tuple(repair_share if a > 0 else 0.0 for a in above)
    return FailureBias(tuple(p.names[e] for e in idx), tuple(float(f) for f in factors), above, shares,
                       tuple(switches), tuple(probs))


@dataclass(frozen=True, eq=False)
class _BiasedTask:
    """What a worker needs: the biased model, where its biased events and switches are, their real laws."""

    model: TimeModel  # the biased model (multiplied rates, scaled repairs, biased switches)
    bias: FailureBias
    idx: np.ndarray  # the biased events' indices in the process
    rate: np.ndarray  # real rates of the biased events
    repair: tuple[Any, ...]  # real repair distributions of the biased events
    biased_repair: tuple[Any, ...]  # their biased repair distributions (TailBiased, or the real one)
    q_real: np.ndarray
    q_biased: np.ndarray
    switch_idx: tuple[int, ...] = ()  # biased switch policies (indices in model.switch_policies)
    p_real: tuple[float, ...] = ()
    p_biased: tuple[float, ...] = ()
    whole_group: tuple[tuple[int, ...], ...] = ()  # per biased switch: primary events that down every member

    @property
    def n_stats(self) -> int:
        """Columns of the per-year statistics: 4 per biased event, 2 per biased switch."""
        return 4 * self.idx.size + 2 * len(self.switch_idx)


def _task(model: TimeModel, bias: FailureBias) -> _BiasedTask:
    p = model.process
    ok = _biasable(p)
    idx = []
    for name in bias.events:
        if name not in p.names or not ok[p.names.index(name)]:
            raise ValueError(f"event {name!r} cannot be biased in this model")
        idx.append(p.names.index(name))
    factor = np.ones(p.n_events)
    factor[idx] = bias.factors
    repair = list(p.repair)
    for e, name in zip(idx, bias.events, strict=True):
        lr = bias.long_repair_of(name)
        if lr is not None:
            if not _tail_biasable(p.repair[e]):
                raise ValueError(f"long repairs of {name!r} need a lognormal or exponential repair law")
            repair[e] = TailBiased(p.repair[e], *lr)
    biased = dataclasses.replace(p, rate=p.rate * factor, repair=tuple(repair))
    sub = OutageProcess(tuple(p.names[e] for e in idx), biased.rate[idx], tuple(repair[e] for e in idx))
    real_sub = OutageProcess(sub.names, p.rate[idx], tuple(p.repair[e] for e in idx))
    names = [model.events.names[pol.window_event] for pol in model.switch_policies]
    manual = _manual_switches(model)
    policies = list(model.switch_policies)
    sw, p_real, p_biased, whole = [], [], [], []
    for name, pf in zip(bias.switches, bias.switch_fail, strict=True):
        if name not in names or names.index(name) not in manual:
            raise ValueError(f"{name!r} is not the window event of a manual switch with a failure "
                             "probability in (0, 1)")
        j = names.index(name)
        sw.append(j)
        p_real.append(float(policies[j].p_fail))
        p_biased.append(float(pf))
        members = set(model.events.member_list(policies[j].window_event).tolist())
        whole.append(tuple(e for e in policies[j].primary_events
                           if members <= set(model.events.member_list(e).tolist())))
        policies[j] = dataclasses.replace(policies[j], p_fail=float(pf))
    bm = dataclasses.replace(model, process=biased, switch_policies=tuple(policies))
    share_states(bm, model)  # the bias changes no state: pilots, main run and crude share their evaluations
    return _BiasedTask(bm, bias, np.asarray(idx, dtype=np.int64), p.rate[idx].copy(),
                       tuple(p.repair[e] for e in idx), tuple(repair[e] for e in idx),
                       real_sub.steady_unavailability(),
                       sub.steady_unavailability(), tuple(sw), tuple(p_real), tuple(p_biased), tuple(whole))


def _covered(out: Outages, events: tuple[int, ...], year: np.ndarray, a: np.ndarray, b: np.ndarray
             ) -> np.ndarray:
    """Whether ``[a, b)`` of year ``year`` lies inside one outage of one of ``events``.

    Examples
    --------
    >>> out = Outages(np.array([0, 1]), np.array([3, 3]), np.array([5.0, 5.0]), np.array([9.0, 6.0]), 2, 20.)
    >>> a, b = np.array([5.0, 5.0, 4.0]), np.array([9.0, 9.0, 6.0])
    >>> _covered(out, (3,), np.array([0, 1, 0]), a, b).tolist()
    [True, False, False]
    """
    hit = np.zeros(year.size, dtype=bool)
    stride = 4.0 * out.horizon + 1.0
    for e in events:
        sel = out.event == e
        if not sel.any():
            continue
        key = out.year[sel] * stride + out.start[sel]
        order = np.argsort(key, kind="stable")
        key, end, yr = key[order], out.end[sel][order], out.year[sel][order]
        pos = np.searchsorted(key, year * stride + a, side="right") - 1
        okp = pos >= 0
        pc = np.maximum(pos, 0)
        hit |= okp & (yr[pc] == year) & (end[pc] >= b)
    return hit


def _log_weights(task: _BiasedTask, chunk_index: int, n_years: int, seed: int, start: str
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log likelihood ratio (real / biased) of each year of a chunk, from a re-draw of the chunk's outages.

    The re-draw takes the engine's own streams (:func:`model.sim.engine.run_chunk`), so it is the
    chunk's history exactly. Also returns the failures of each biased event that start in each year,
    ``(n_years, k)``, and the per-year statistics of the cross-entropy step, ``(n_years, n_stats)``:
    per biased event its failures, up time, repairs begun and the longest of them (hours); per biased
    switch the failed and the successful attempts.
    """
    logw = np.zeros(n_years)
    k_ev = task.idx.size
    counts = np.zeros((n_years, k_ev))
    stats = np.zeros((n_years, task.n_stats))
    if task.bias.is_crude:
        return logw, counts, stats
    model = task.model
    h = model.horizon
    out = sample_outages(model.process, n_years, h, chunk_streams(seed, chunk_index, model.process.names,
                                                                   "outages"), start=start)
    if task.switch_idx:
        attempts: list[tuple[int, ...]] = []
        with_derived_outages(model, out, seed, chunk_index, attempts=attempts)
        for j, (pj, p0, p1) in enumerate(zip(task.switch_idx, task.p_real, task.p_biased, strict=True)):
            for k, y, a, b, made, failed in attempts:
                if k != pj:
                    continue
                # Rao-Blackwell: a window inside an outage that takes the whole group down changes nothing,
                # so its switch's ratio (mean 1 under the bias, independent of the rest) is left out
                live = ~_covered(out, task.whole_group[j], y, a, b)
                y, made, failed = y[live], made[live], failed[live]
                ok = (made - failed).astype(float)
                logw += np.bincount(y, weights=failed * math.log(p0 / p1)
                                    + ok * (math.log1p(-p0) - math.log1p(-p1)), minlength=n_years)
                stats[:, 4 * k_ev + 2 * j] += np.bincount(y, weights=failed, minlength=n_years)
                stats[:, 4 * k_ev + 2 * j + 1] += np.bincount(y, weights=ok, minlength=n_years)
    dur = out.clipped_durations()
    for k, beta in enumerate(task.bias.factors):
        sel = out.event == task.idx[k]
        y, st, full = out.year[sel], out.start[sel], out.end[sel] - out.start[sel]
        inside = st >= 0
        n = np.bincount(y, weights=inside, minlength=n_years)
        counts[:, k] = n
        up = h - np.bincount(y, weights=dur[sel], minlength=n_years)
        logw += -n * math.log(beta) + (beta - 1.0) * task.rate[k] * up
        g = task.biased_repair[k]
        tb = isinstance(g, TailBiased)
        if tb:
            logw += np.bincount(y[inside], weights=g.log_ratio(full[inside]), minlength=n_years)
        longest = np.zeros(n_years)
        np.maximum.at(longest, y[inside], full[inside])
        stats[:, 4 * k + 2] = n
        stats[:, 4 * k + 3] = longest
        stats[:, 4 * k] = n
        stats[:, 4 * k + 1] = up
        if start == "stationary":
            first = ~inside
            init = np.bincount(y, weights=first, minlength=n_years) > 0
            q0, q1 = float(task.q_real[k]), float(task.q_biased[k])
            lw_init = np.full(n_years, math.log(q0 / q1))
            if tb:
                lw_init += math.log(g.mean / float(task.repair[k].mean))
                lw_init[y[first]] += g.log_ratio(full[first])
            logw += np.where(init, lw_init, math.log1p(-q0) - math.log1p(-q1))
    return logw, counts, stats


@dataclass(frozen=True, eq=False)
class WeightedTally:
    """A :class:`~model.sim.engine.TimeTally` of biased years and the log likelihood ratio of each year.

    ``a + b`` merges exactly (chunk order), like the plain tally.
    """

    tally: TimeTally = field(default_factory=TimeTally)
    log_weight: dict[int, np.ndarray] = field(default_factory=dict)
    counts: dict[int, np.ndarray] = field(default_factory=dict)  # (years, biased events) failures
    stats: dict[int, np.ndarray] = field(default_factory=dict)  # (years, n_stats): for the cross-entropy step

    def __add__(self, other: WeightedTally) -> WeightedTally:
        if not isinstance(other, WeightedTally):
            return NotImplemented
        merged = {**self.log_weight, **other.log_weight}
        counts = {**self.counts, **other.counts}
        stats = {**self.stats, **other.stats}
        return WeightedTally(self.tally + other.tally, dict(sorted(merged.items())),
                             dict(sorted(counts.items())), dict(sorted(stats.items())))

    @property
    def years(self) -> int:
        return self.tally.years

    def weights(self) -> np.ndarray:
        """Likelihood ratios of the years, in chunk order (as :meth:`TimeTally.column`)."""
        if not self.log_weight:
            return np.zeros(0)
        return np.exp(np.concatenate([self.log_weight[k] for k in sorted(self.log_weight)]))

    def event_counts(self) -> np.ndarray:
        """Failures of each biased event starting in each year ``(years, k)``, in chunk order."""
        if not self.counts:
            return np.zeros((0, 0))
        return np.concatenate([self.counts[k] for k in sorted(self.counts)])

    def year_stats(self) -> np.ndarray:
        """Per-year statistics of the cross-entropy step ``(years, n_stats)``, in chunk order."""
        if not self.stats:
            return np.zeros((0, 0))
        return np.concatenate([self.stats[k] for k in sorted(self.stats)])

    def to_dict(self) -> dict[str, Any]:
        return {"tally": self.tally.to_dict(),
                "log_weight": {str(k): v.tolist() for k, v in self.log_weight.items()},
                "counts": {str(k): v.tolist() for k, v in self.counts.items()},
                "stats": {str(k): v.tolist() for k, v in self.stats.items()}}

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> WeightedTally:
        lw = {int(k): np.asarray(v, dtype=np.float64) for k, v in d["log_weight"].items()}
        counts = {int(k): np.asarray(v, dtype=np.float64).reshape(lw[int(k)].size, -1)
                  for k, v in d["counts"].items()}
        stats = {int(k): np.asarray(v, dtype=np.float64).reshape(lw[int(k)].size, -1)
                 for k, v in d.get("stats", {}).items()}
        return WeightedTally(TimeTally.from_dict(d["tally"]), lw, counts, stats)


def _weighted_tally_matches(t: WeightedTally, chunks_done: int, units_done: int) -> str | None:
    """What makes a checkpointed weighted tally inconsistent with its chunks (None: nothing)."""
    chunks = list(range(chunks_done))
    if sorted(t.tally.records) != chunks or sorted(t.log_weight) != chunks:
        return f"its records are not those of chunks 0..{chunks_done - 1}"
    if t.years != units_done or t.weights().size != units_done:
        return f"it holds {t.years} simulated years, the chunks {units_done}"
    if not np.all(np.isfinite(t.weights())):
        return "a likelihood ratio is not finite"
    return None


register_tally(WeightedTally, _weighted_tally_matches)


def run_biased_chunk(task: _BiasedTask, chunk_index: int, n_years: int, seed: int, *,
                     start: str = "stationary", chunk_years: int | None = None, callers: Any = None,
                     genuine_only: bool = False) -> WeightedTally:
    """Chunk ``chunk_index`` of a biased run: the engine's chunk on the biased model, and its years' weights.

    Draws exactly what :func:`model.sim.engine.run_chunk` draws (streams keyed by
    event name), so the outages and switch attempts are re-drawn identically for the
    likelihood ratio.
    """
    tally = run_chunk(task.model, chunk_index, n_years, seed, start=start, chunk_years=chunk_years,
                      callers=callers, genuine_only=genuine_only)
    logw, counts, stats = _log_weights(task, chunk_index, n_years, seed, start)
    ci = int(chunk_index)
    return WeightedTally(tally, {ci: logw}, {ci: counts}, {ci: stats})


@dataclass(frozen=True, eq=False)
class TailRun:
    """A tail run: per-year results, their likelihood ratios, the bias and how the run went."""

    tally: WeightedTally
    bias: FailureBias
    seed: int
    info: RunInfo | None = None
    name: str = ""

    @property
    def years(self) -> int:
        return self.tally.years

    @property
    def weights(self) -> np.ndarray:
        return self.tally.weights()

    @property
    def method(self) -> str:
        return "crude-simulation" if self.bias.is_crude else "importance-sampling"

    def values(self, statistic: str) -> np.ndarray:
        if statistic not in STATISTICS:
            raise ValueError(f"unknown statistic {statistic!r}; allowed: {', '.join(STATISTICS)}")
        return self.tally.tally.column(statistic)

    def exceedance(self, statistic: str, level: float):
        """``P(a year has statistic >= level)`` as an Estimate."""
        return exceedance(self.values(statistic), self.weights, level, method=self.method)

    def return_period(self, statistic: str, level: float) -> dict[str, float]:
        """Mean years between years with ``statistic >= level``: ``1 / P``, interval ``[1/hi, 1/lo]``."""
        e = self.exceedance(statistic, level)
        inv = lambda p: 1.0 / p if p > 0 else math.inf  # noqa: E731
        return {"level": float(level), "years": inv(e.value), "ci_low": inv(e.ci_high),
                "ci_high": inv(e.ci_low), "probability": e.value, "rse": e.relative_error,
                "interval": e.interval}

    def return_level(self, statistic: str, period: float) -> dict[str, Any]:
        """The worst year in ``period`` years for ``statistic`` (:func:`model.results.tails.return_level`)."""
        return return_level(self.values(statistic), self.weights, period)

    def curve(self, statistic: str, levels: np.ndarray) -> dict[str, np.ndarray]:
        """Return periods (years) with bands at each level: ``1 / P(X >= level)``."""
        c = exceedance_curve(self.values(statistic), self.weights, np.asarray(levels, dtype=float))
        with np.errstate(divide="ignore"):
            return {"level": c["level"], "years": 1.0 / c["estimate"], "ci_low": 1.0 / c["ci_high"],
                    "ci_high": np.where(c["ci_low"] > 0, 1.0 / np.maximum(c["ci_low"], 1e-300), np.inf)}

    def summary(self, *, periods: Sequence[float] = (100, 1000, 10_000),
                incident_levels: Sequence[float] = (), outage_hours: Sequence[float] = ()) -> dict[str, Any]:
        """The outputs of issue 14 for one strategy, JSON-ready."""
        w = self.weights
        worst = {str(int(t)): self.return_level("unreachable", t) for t in periods}
        warnings = [f"the worst year in {t}: one simulated year carries {r['max_year_share']:.0%} of the "
                    "tail "
                    "probability, so its interval cannot be trusted; "
                    + ("more biased years, or a bias on the events behind that year"
                       if not self.bias.is_crude else "importance sampling (simulate_tails with choose_bias)")
                    for t, r in worst.items() if r["max_year_share"] > 0.2 and r["years_at_or_above"] > 0]
        return {
            "name": self.name, "method": self.method, "years": self.years, "seed": self.seed,
            "bias": self.bias.as_dict(),
            "effective_years": float(w.sum() ** 2 / max((w**2).sum(), 1e-300)) if w.size else 0.0,
            "worst_year": worst, "warnings": warnings,
            "incident_return_period": [self.return_period("worst_incident", n) for n in incident_levels],
            "outage_longer_than": [{"hours": float(x), **self.exceedance("longest_down_h", x).to_dict()}
                                   for x in outage_hours],
        }


class _TailPrecision:
    """Prefix tally -> Estimate of ``P(statistic >= return level of period)`` (for stopping on precision)."""

    def __init__(self, statistic: str, period: float) -> None:
        self.statistic, self.period = statistic, float(period)

    def __call__(self, tally: WeightedTally) -> Estimate:
        x, w = tally.tally.column(self.statistic), tally.weights()
        if x.size < 200:
            return Estimate(1.0, 0.0, 1.0, math.inf, int(x.size), "importance-sampling")
        r = return_level(x, w, self.period)
        p = r["tail_probability"]
        return Estimate(p, 0.0, 1.0, r["tail_rse"] * p if math.isfinite(r["tail_rse"]) else math.inf,
                        int(x.size), "importance-sampling")


def simulate_tails(
    net_or_scenario: Any, years: int, seed: int | None = None, *, bias: FailureBias | None = None,
    chunk_years: int | None = None, start: str = "stationary", callers: Any = None, backend: Any = "auto",
    workers: int | None = None, checkpoint: str | os.PathLike[str] | None = None,
    progress: bool | None = None, quiet: bool = True, name: str = "", target_rse: float | None = None,
    period: float = 10_000.0, statistic: str = "unreachable", genuine_only: bool = True,
) -> TailRun:
    """Simulate ``years`` biased years (``bias``; default :func:`choose_bias`) on any backend.

    Parameters
    ----------
    net_or_scenario : TimeModel, CallNetwork, Scenario, bundled name or path
    years : int
    seed : int, optional
        Entropy of the root ``SeedSequence``; chunk ``i`` uses the streams of the
        plain engine's chunk ``i``, so a crude run with the same seed is paired
        with this one year by year (the unbiased events' histories coincide).
    bias : FailureBias, optional
        ``FailureBias()`` (no events) gives the crude engine with weights 1.
    chunk_years, start, callers, backend, workers, checkpoint, progress, quiet
        As for :func:`model.sim.engine.simulate` (``start`` "stationary"
        or "up"; no warm-up: the likelihood ratio is taken over the year itself).
    target_rse, period, statistic : float, float, str
        Stop at the first chunk boundary where the relative standard error of
        ``P(statistic >= its return level of period)`` is at most ``target_rse``
        (at least 200 years in; ``years`` is then the cap).
    genuine_only : bool
        Follow genuine callers only (default: every tail statistic counts genuine callers;
        non-genuine calls still load the capacities through their rates, and following them
        would double the callers of a national outage). False: the engine's full caller
        tally, non-genuine outcomes included (:func:`model.sim.engine.run_chunk`).

    Returns
    -------
    TailRun
    """
    if years < 1:
        raise ValueError(f"years must be >= 1, got {years}")
    if start not in ("stationary", "up"):
        raise ValueError(f"start = {start!r} is not allowed; use 'stationary' or 'up'")
    model = as_time_model(net_or_scenario)
    bias = choose_bias(model) if bias is None else bias
    task = _task(model, bias)
    cy = DEFAULT_CHUNK_YEARS if chunk_years is None else int(chunk_years)
    if statistic not in STATISTICS:
        raise ValueError(f"unknown statistic {statistic!r}; allowed: {', '.join(STATISTICS)}")
    tally, info = run_chunks(run_biased_chunk, task, chunk_plan(years, cy), seed, backend=backend,
                             workers=workers, checkpoint=checkpoint, progress=progress, quiet=quiet,
                             chunk_kwargs={"start": start, "chunk_years": cy, "callers": callers,
                                           "genuine_only": genuine_only},
                             target_rse=target_rse, estimate_fn=_TailPrecision(statistic, period),
                             unit="years", desc="tails")
    return TailRun(tally, bias, info.seed_entropy, info, name or model.name)


def _weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x)
    c = np.cumsum(w[order])
    return float(x[order][min(int(np.searchsorted(c, q * c[-1])), x.size - 1)])


def _balance(model: TimeModel, task: _BiasedTask, factors: list[float], above: list[Hours],
             shares: list[Hours], probs: list[float]) -> None:
    """Share the learnt intensity of each biased switch's primary events so their severe years weigh alike.

    A failure of a primary event is severe when every switch attempt fails (``p^k``; one of an event
    that takes the whole group down always is) and its repair is long (``S(a)`` at its highest
    threshold ``a``, drawn so with probability ``S_g(a)`` under the bias); the rates become
    proportional to ``lambda p^k / p'^k S(a) / S_g(a)``, their sum the cross-entropy one. It only cuts
    the pilot's noise in how the intensity is split.
    """
    k_ev = task.idx.size
    for j, pj in enumerate(task.switch_idx):
        pol = model.switch_policies[pj]
        mech = [k for k in range(k_ev) if int(task.idx[k]) in pol.primary_events and factors[k] > 1.0]
        if len(mech) < 2:
            continue
        whole = set(task.whole_group[j])
        sev = []
        for k in mech:
            v = 1.0 if int(task.idx[k]) in whole else (task.p_real[j] / probs[j]) ** pol.max_attempts
            if above[k]:
                g = TailBiased(task.repair[k], above[k], shares[k])
                v *= float(task.repair[k].sf(above[k][0])) / float(g.sf(above[k][0]))
            sev.append(v)
        total = sum(factors[k] * task.rate[k] for k in mech)
        share = task.rate[mech] * np.asarray(sev)
        for k, lam in zip(mech, total * share / share.sum(), strict=True):
            factors[k] = max(1.0, float(lam / task.rate[k]))


def _pool_decreasing(p: np.ndarray, q: np.ndarray) -> list[list[int]]:
    """Pool adjacent bands until the ratio ``p / q`` decreases from the top band down (PAV).

    Returns the groups of band indices (top first) whose pooled ratios decrease: a nested mixture of
    tails has a density ratio ``g / f`` that never falls as the repair grows.
    """
    groups: list[list[int]] = []
    for j in range(p.size):
        groups.append([j])
        while len(groups) > 1 and (p[groups[-2]].sum() / q[groups[-2]].sum()
                                   <= p[groups[-1]].sum() / q[groups[-1]].sum()):
            last = groups.pop()
            groups[-1] = groups[-1] + last
    return groups


def _long_shares(task: _BiasedTask, k: int, above: Sequence[float],
                 elites: Sequence[tuple[float, np.ndarray]], S: np.ndarray, most: float,
                 least: float = 0.02, step: float | None = None) -> tuple[Hours, Hours]:
    """Thresholds and shares of the nested mixture that matches the elite years' repairs.

    The cross-entropy step for a density ratio that is constant on the bands ``[a_1, inf)``,
    ``[a_2, a_1)``, ..., ``[0, a_K)``: each band's biased probability is the elite's weighted share of
    repairs in it, averaged over the levels (``elites``: ``(weight, W)`` per level). The elite's
    repairs are counted as its longest one per year in its band and the others as ordinary (spread
    like the real law), so an event that fails often, whose other repairs are ordinary, gets small
    shares. Bands whose ratios would not fall from the top down are pooled (their threshold dropped);
    at least ``1 - most`` of the repairs stay on the real law (so none weighs more than
    ``1 / (1 - most)``), and shares below ``least`` are dropped; with ``step``, no band's ratio is
    below ``1 / step`` of the band above it (raised, then all renormalised). Several events ``k`` (one repair
    law) are pooled: their repairs of a year are counted together, the longest of them in its band.
    """
    ks = [int(k)] if isinstance(k, (int, np.integer)) else [int(j) for j in k]
    a = np.asarray(sorted(set(above), reverse=True), dtype=float)
    if not a.size:
        return (), ()
    k = ks[0]
    sf = np.asarray(task.repair[k].sf(a), dtype=float)
    q = np.diff(np.concatenate([[0.0], sf, [1.0]]))  # real probability of each band, top first
    n = S[:, [4 * j + 2 for j in ks]].sum(axis=1)
    longest = S[:, [4 * j + 3 for j in ks]].max(axis=1)
    band = np.searchsorted(-a, -longest, side="right")  # 0: above a_1, ..., K: below a_K
    p = np.zeros(q.size)
    total = 0.0
    for c, W in elites:
        nt = float(W @ n)
        if not (nt > 0 and c > 0):
            continue
        held = (n > 0).astype(float)
        pt = np.bincount(band, weights=W * held, minlength=q.size) + float(W @ np.maximum(n - 1, 0)) * q
        p += c * pt / nt
        total += c
    if not total > 0:
        return (), ()
    p /= total
    p[-1] = max(p[-1], (1.0 - most) * q[-1])  # the defensive share: at least 1 - most of the real law
    p /= p.sum()
    groups = _pool_decreasing(p, q)
    if step is not None:  # no band's ratio below 1 / step of the band above it
        rb = np.concatenate([np.full(len(g), p[g].sum() / q[g].sum()) for g in groups])
        for j in range(1, rb.size):
            rb[j] = max(rb[j], rb[j - 1] / step)
        rb /= float(rb @ q)
        groups = [list(g) for _, g in itertools.groupby(range(rb.size), key=lambda j: rb[j])]
        p = rb * q
    r = np.array([p[g].sum() / q[g].sum() for g in groups])  # ratios g / f, top band first, decreasing
    lows = [float(a[g[-1]]) for g in groups[:-1]]  # each pooled band's lower threshold
    s0 = float(r[-1])
    tails = np.asarray(task.repair[k].sf(np.asarray(lows)), dtype=float) if lows else np.zeros(0)
    shares = (r[:-1] - r[1:]) * tails  # nested mixture: s_i = (r_i - r_{i+1}) S(a_i)
    keep = shares >= least
    if not keep.any() or s0 >= 1.0:
        return (), ()
    hours, sh = np.asarray(lows)[keep], shares[keep]
    scale = min(1.0, most / float(sh.sum()))  # the defensive share, whatever the pooling left
    return tuple(float(v) for v in hours), tuple(float(v) * scale for v in sh)


def _pool_switch_repairs(model: TimeModel, task: _BiasedTask, factors: list[float], above: list[Hours],
                         shares: list[Hours], elites: Sequence[tuple[float, np.ndarray]], S: np.ndarray,
                         ladder: Sequence[float], most: float, step: float | None = None) -> None:
    """One set of long-repair shares for the biased primary events of each switch that share a repair law.

    The primary events of a switch (a platform, and the common cause that takes the whole group down)
    make the same kind of severe year: an outage whose length sets the cost. Learnt apart, the rarer
    event's shares rest on a handful of elite years and its severe years weigh far more than the
    others'; pooled, the elite's longest repair of the group per year sets one ladder for all of them.
    """
    for pj in task.switch_idx:
        pol = model.switch_policies[pj]
        mech = [k for k in range(task.idx.size) if int(task.idx[k]) in pol.primary_events
                and factors[k] > 1.0 and _tail_biasable(task.repair[k])]
        while mech:
            law = repr(task.repair[mech[0]])
            group = [k for k in mech if repr(task.repair[k]) == law]
            mech = [k for k in mech if k not in group]
            if len(group) < 2:
                continue
            cands = [float(task.repair[group[0]].quantile(q)) for q in ladder]
            hours, sh = _long_shares(task, group, cands, elites, S, most, step=step)
            for k in group:
                above[k], shares[k] = hours, sh


def _elite_weights(x: np.ndarray, w: np.ndarray, period: float, rho: float) -> np.ndarray:
    """Weights of the years at or above the return level of ``period`` (or the top ``rho`` share)."""
    level = return_level(x, w, period)["value"]
    gamma = level if np.mean(x >= level) >= rho else min(level, float(np.quantile(x, 1.0 - rho)))
    return w * (x >= gamma) if gamma > 0 else np.zeros_like(w)


def _ce_update(model: TimeModel, runs: Sequence[TailRun], period: float, statistic: str, rho: float, *,
               max_per_year: float, repair_quantile: float, repair_share: float, max_switch_fail: float,
               events_per_year: float | None, min_elite: int, levels: Sequence[float] = (),
               level_weight: float = 0.0, ladder: Sequence[float] | None = None,
               pool: bool = False, step: float | None = None) -> FailureBias:
    """One cross-entropy step: every bias parameter at its weighted MLE over the pilots' elite years.

    Every pilot so far is used (each year weighted by its own likelihood ratio: all of them estimate
    the real law), so later rounds are not left with a handful of elite years. Rates and switches
    are learnt from the elite of ``period``; long repairs get one threshold per level (``period``
    and each of ``levels``) and the band shares of :func:`_long_shares`, where the lower levels
    weigh ``level_weight`` in all.
    """
    bias, task = runs[-1].bias, _task(model, runs[-1].bias)
    x = np.concatenate([r.values(statistic) for r in runs])
    w = np.concatenate([r.weights for r in runs])
    S = np.concatenate([r.tally.year_stats() for r in runs])
    W = _elite_weights(x, w, period, rho)
    if np.count_nonzero(W > 0) < 2 * min_elite:
        return bias  # too few elite years to learn from: keep the bias
    lower = sorted({float(t) for t in levels if t < period})
    elites = [(1.0 - level_weight if lower else 1.0, W)]
    elites += [(level_weight / len(lower), _elite_weights(x, w, t, rho)) for t in lower]
    h, k_ev = model.horizon, task.idx.size
    elite = W > 0
    factors: list[float] = []
    above: list[Hours] = []
    shares: list[Hours] = []
    longest = S[:, 3:4 * k_ev:4]  # (years, k) longest repair begun
    top = longest.max(axis=1)
    for k in range(k_ev):
        held = elite & (S[:, 4 * k] > 0)
        if np.count_nonzero(held) < min_elite:  # too few elite years hold it: leave it unbiased
            factors.append(1.0)
            above.append(())
            shares.append(())
            continue
        lam = float(W @ S[:, 4 * k]) / max(float(W @ S[:, 4 * k + 1]), 1e-300)
        cap = max(1.0, max_per_year / (task.rate[k] * h))
        factors.append(float(np.clip(lam / task.rate[k], 1.0, cap)))
        cands: list[float] = []
        if ladder is not None and _tail_biasable(task.repair[k]):  # fixed thresholds: only shares learnt
            # only for an event whose repair is the longest of the biased events' in enough elite years of
            # ``period`` (those it made severe): a site that happens to fail in a platform outage's year
            # would otherwise get long repairs, costly years and weights
            lead = elite & (S[:, 4 * k] > 0) & (longest[:, k] >= top)
            if np.count_nonzero(lead) >= 2 * min_elite:
                cands = [float(task.repair[k].quantile(q)) for q in ladder]
        elif _tail_biasable(task.repair[k]):
            for i, (_, Wt) in enumerate(elites):
                et = Wt > 0
                # the years where its repair is the longest of the biased events': those it made severe
                lead = et & (S[:, 4 * k] > 0) & (longest[:, k] >= top)
                if np.count_nonzero(lead) >= 2 * min_elite:
                    a = _weighted_quantile(S[lead, 4 * k + 3], Wt[lead], repair_quantile)
                elif i == 0 and np.count_nonzero(pooled := et & (top > 0)) > 0:  # pool those of any event
                    a = _weighted_quantile(top[pooled], Wt[pooled], repair_quantile)
                else:
                    continue
                # not below the real law's median: the thresholds are for long repairs
                cands.append(max(a, float(task.repair[k].quantile(0.5))))
        hours, sh = _long_shares(task, k, cands, elites, S, repair_share,
                                 step=step if ladder is not None else None)
        above.append(hours)
        shares.append(sh)
    if pool and ladder is not None:
        _pool_switch_repairs(model, task, factors, above, shares, elites, S, ladder, repair_share, step)
    probs = []
    for j, p0 in enumerate(task.p_real):
        f, s = float(W @ S[:, 4 * k_ev + 2 * j]), float(W @ S[:, 4 * k_ev + 2 * j + 1])
        probs.append(float(np.clip(f / (f + s), p0, max_switch_fail)) if f + s > 0 else task.p_biased[j])
    _balance(model, task, factors, above, shares, probs)
    if events_per_year is not None:  # keep the proportions, not the intensity (outage years cost most)
        biased = np.asarray(factors) * task.rate * h
        up = np.asarray(factors) > 1.0
        total = float(biased[up].sum())
        if total > events_per_year:
            factors = np.where(up, np.maximum(1.0, np.asarray(factors) * events_per_year / total),
                               factors).tolist()
    return FailureBias(bias.events, tuple(factors), tuple(above), tuple(shares), bias.switches, tuple(probs))


def _with_floor(model: TimeModel, bias: FailureBias, floor: Sequence[int], quantile: float, share: float
                ) -> FailureBias:
    """``bias`` with a defensive long-repair rung for every event of ``floor`` that has none.

    Each such event (added at its own rate if the bias lacks it) draws its repair above its real
    law's ``quantile`` with probability ``share``: a mechanism the pilots never saw severe (a
    long outage of an originating network, under a strategy that makes platform outages mild)
    still shows its long repairs, at a cost of at most ``share / (1 - share)`` in each of its
    failures' variance. Events the cross-entropy step gave long repairs keep theirs.
    """
    p = model.process
    names = list(bias.events) + [p.names[e] for e in floor if p.names[e] not in bias.events]
    factors = [bias.factor_of(n) for n in names]  # 1.0 for the added ones
    rungs = {p.names[e]: ((float(p.repair[e].quantile(quantile)),), (float(share),)) for e in floor}
    long = [bias.long_repair_of(n) or rungs.get(n, ((), ())) for n in names]
    return FailureBias(tuple(names), tuple(factors), tuple(a for a, _ in long), tuple(sh for _, sh in long),
                       bias.switches, bias.switch_fail)


def cross_entropy_bias(
    net_or_scenario: Any, seed: int, *, years: int = 100, rounds: int = 2, period: float = 10_000.0,
    statistic: str = "unreachable", rho: float = 0.05, initial: FailureBias | None = None,
    chunk_years: int | None = None, start: str = "stationary", callers: Any = None, backend: Any = "serial",
    workers: int | None = None, max_per_year: float = 3.0, repair_quantile: float = 0.1,
    repair_share: float = 0.9, max_switch_fail: float = 0.9, events_per_year: float | None = 0.4,
    initial_target: float = 1.0, min_elite: int = 2, levels: Sequence[float] = (100.0, 1000.0),
    level_weight: float = 0.3, repair_ladder: Sequence[float] | None = REPAIR_LADDER,
    pool_repairs: bool = True, repair_step: float | None = 3.0, floor_cut: float | None = 0.1,
    floor_quantile: float = 0.999, floor_share: float = 0.1,
) -> FailureBias:
    """The bias for the worst year in ``period``, by ``rounds`` cross-entropy steps on pilot runs.

    Each round simulates ``years`` years with the current bias (start:
    ``initial``, default :func:`choose_bias` with ``initial_target`` failures a
    year and half the repairs above their 90 % quantile), on streams of their own
    (run-level stream ``tails-pilot``, round ``r``: never the main run's), and sets
    every parameter to its weighted maximum-likelihood value over the elite years
    of all rounds so far — those at or above the estimated return level of
    ``period``, or the top ``rho`` share while fewer reach it (adaptive levels):
    rates (at most ``max_per_year`` failures a year; events in fewer than
    ``min_elite`` elite years stay unbiased), switch failure probabilities (at
    most ``max_switch_fail``, which bounds the weight of a year whose switch
    worked), and long repairs. These sit on a fixed ladder of thresholds, the
    real repair law's ``repair_ladder`` quantiles (default :data:`REPAIR_LADDER`,
    0.5 ... 0.999), so no threshold depends on a handful of elite years: only
    the band shares are learnt, each band drawn with the elite's weighted share
    of repairs in it (the levels below ``period`` weigh ``level_weight`` in all;
    at most ``repair_share`` of the repairs biased), pooled so the ratio never
    falls as the repair grows, and with no band's ratio below ``1 /
    repair_step`` of the band above it (a severe year whose repair falls just
    below a busy band weighs at most ``repair_step`` times those in it). Only an
    event whose repair is the longest of the biased events' in ``2 min_elite``
    elite years gets long repairs, and with ``pool_repairs`` the primary events
    of a biased switch that share a repair law (a platform and its common
    cause) share one set of band shares, learnt from the elite's longest repair
    of the group. ``repair_ladder=None``: the thresholds of the earlier rule, one
    per level at the ``repair_quantile`` of that level's elite years' longest
    repairs. The biased events' intensity is then capped at
    ``events_per_year``. Whatever the pilots saw, every event whose failure
    alone cuts off at least ``floor_cut`` of the calls (None: none) and has no
    long repairs from the step draws its repair above its real law's
    ``floor_quantile`` with probability ``floor_share`` (a defensive rung: the
    long outage of an originating network is the worst year under a strategy
    that makes platform outages mild, and 200 pilot years never show one). The
    rungs are added to the result only, not in the pilots, where those years
    would enter the elite and steer what the step learns of the platforms;
    each costs at most ``floor_share / (1 - floor_share)`` in the variance of
    its event's failures. The estimator that uses the result is unbiased
    whatever the pilots gave.

    Examples
    --------
    >>> from model.sim.timemodel import build_time_model
    >>> tm = build_time_model("uk999")
    >>> b = cross_entropy_bias(tm, 1, years=40, rounds=1, chunk_years=20, period=100)
    >>> set(choose_bias(tm).events) <= set(b.events) and all(f >= 1 for f in b.factors)
    True
    >>> hours, shares = b.long_repair_of("vmo2")  # cuts 24 % of the calls: a defensive rung
    >>> [round(h, 1) for h in hours], shares          # above its real repairs' 0.999 quantile
    ([27.8], (0.1,))
    """
    if rounds < 1 or years < 10:
        raise ValueError("cross_entropy_bias needs rounds >= 1 and years >= 10")
    if not 0 < rho < 1:
        raise ValueError(f"rho must lie in (0, 1), got {rho}")
    if not 0 <= level_weight < 1:
        raise ValueError(f"level_weight must lie in [0, 1), got {level_weight}")
    model = as_time_model(net_or_scenario)
    if initial is None:
        initial = choose_bias(model, target=initial_target, repair_quantile=0.9, repair_share=0.5)
    floor = ([e for e in _big_events(model, floor_cut) if _tail_biasable(model.process.repair[e])]
             if floor_cut is not None else [])
    if floor and not 0 < floor_share < 1:
        raise ValueError(f"floor_share must lie in (0, 1), got {floor_share}")
    bias = initial
    runs: list[TailRun] = []
    for r in range(rounds):
        pilot_seed = int(named_rng(seed, "tails-pilot", r).integers(2**63))
        runs.append(simulate_tails(model, years, seed=pilot_seed, bias=bias, chunk_years=chunk_years,
                                   start=start, callers=callers, backend=backend, workers=workers))
        bias = _ce_update(model, runs, period, statistic, rho, max_per_year=max_per_year,
                          repair_quantile=repair_quantile, repair_share=repair_share,
                          max_switch_fail=max_switch_fail, events_per_year=events_per_year,
                          min_elite=min_elite, levels=levels, level_weight=level_weight,
                          ladder=repair_ladder, pool=pool_repairs, step=repair_step)
    # the defensive rungs only for the run that uses the bias: in the pilots their years would enter the
    # elite (the top share) and steer what the step learns of the platforms
    return _with_floor(model, bias, floor, floor_quantile, floor_share) if floor else bias
