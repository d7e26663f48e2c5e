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
the ratio is recomputed exactly from a re-draw of those events alone.

Choice of the bias (:func:`choose_bias`). Each chosen event is biased to about
``target / k`` failures a year (``k`` events chosen), never below its own rate:
for the probability of a year with one such event the relative variance per
year is then ``e^{m'}/m' - 1`` (1.7 at ``m' = 1``) instead of ``1/p``, whatever
``p`` is.

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
>>> run = simulate_tails(tm, 60, seed=1, bias=bias, chunk_years=30, backend="serial")
>>> run.years, bool(run.weights.mean() > 0)
(60, True)
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model.network.reachability import unreachable_sets
from model.processes.outages import OutageProcess, sample_outages
from model.results.estimate import Estimate
from model.results.tails import exceedance, exceedance_curve, return_level
from model.run.checkpoint import register_tally
from model.run.runner import RunInfo, run_chunks
from model.run.seeds import chunk_plan, chunk_streams
from model.sim.engine import DEFAULT_CHUNK_YEARS, TimeTally, as_time_model, run_chunk
from model.sim.timemodel import EVENT_KINDS, TimeModel

__all__ = [
    "STATISTICS",
    "FailureBias",
    "TailRun",
    "WeightedTally",
    "choose_bias",
    "run_biased_chunk",
    "simulate_tails",
]

#: Per-year statistics of a tail run: field of the engine's year record, and what it means.
STATISTICS = {
    "unreachable": "unreachable calls in the year",
    "worst_incident": "unreachable calls in the year's worst incident",
    "longest_down_h": "longest unbroken outage of the year (hours with some demand cut off)",
    "down_hours": "hours in the year with some demand cut off",
}


@dataclass(frozen=True)
class FailureBias:
    """Rate multipliers of some exponential events (by name); factor 1 is the crude engine.

    Examples
    --------
    >>> FailureBias(("a", "b"), (10.0, 2.0)).factor_of("b")
    2.0
    """

    events: tuple[str, ...] = ()
    factors: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if len(self.events) != len(self.factors):
            raise ValueError("FailureBias: one factor per event")
        for name, f in zip(self.events, self.factors, strict=True):
            if not (math.isfinite(f) and f > 0):
                raise ValueError(f"FailureBias: factor of {name!r} must be a positive number, got {f}")

    def factor_of(self, name: str) -> float:
        return self.factors[self.events.index(name)] if name in self.events else 1.0


def _biasable(process: OutageProcess) -> np.ndarray:
    """Events whose likelihood ratio is exact here: exponential up time, own clock, positive rate."""
    clock = process.clock
    own = np.bincount(clock, minlength=int(clock.max(initial=-1)) + 1)[clock] == 1
    expo = np.array([u is None for u in process.up], dtype=bool)
    return own & expo & (process.rate > 0)


def choose_bias(model: TimeModel, *, target: float = 1.0, share: float = 0.25, rare_per_year: float = 0.1,
                events: Sequence[str] | None = None) -> FailureBias:
    """The events to bias and their factors.

    Chosen (unless ``events`` names them): common-cause events, events that take
    down a member of a standby group (primary or backup: the call-handling
    platforms), and events rarer than ``rare_per_year`` whose failure alone cuts
    off at least ``share`` of the calls — among those the likelihood ratio handles
    exactly (exponential up time, own clock). Each is biased to
    ``max(own rate, target / k)`` failures a year.

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
        per_year = p.rate * model.horizon
        rare = [e for e in range(p.n_events) if ok[e] and per_year[e] < rare_per_year]
        cut = unreachable_sets(model.net, [ev.member_list(e).tolist() if ev.structural[e] else []
                                           for e in rare]) if rare else np.zeros((0, model.net.n_demands))
        w = model.net.demand_weight / max(model.net.demand_weight.sum(), 1e-300)
        big = {e for e, row in zip(rare, cut, strict=True) if float(row @ w) >= share}
        ccf = EVENT_KINDS.index("common_cause")
        idx = [e for e in range(p.n_events) if ok[e] and (
            int(ev.kind[e]) == ccf or e in big or group & set(ev.member_list(e).tolist()))]
    if not idx:
        return FailureBias()
    per_event = target / len(idx)
    m = p.rate[idx] * model.horizon
    factors = np.maximum(1.0, per_event / m)
    return FailureBias(tuple(p.names[e] for e in idx), tuple(float(f) for f in factors))


@dataclass(frozen=True, eq=False)
class _BiasedTask:
    """What a worker needs: the biased model, and the biased events' own process and real rates."""

    model: TimeModel  # the biased model (its process has the multiplied rates)
    bias: FailureBias
    sub: OutageProcess  # the biased events alone, biased rates
    rate: np.ndarray  # real rates of the biased events
    q_real: np.ndarray
    q_biased: np.ndarray


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
    biased = dataclasses.replace(p, rate=p.rate * factor)
    sub = OutageProcess(tuple(p.names[e] for e in idx), biased.rate[idx], tuple(p.repair[e] for e in idx))
    real_sub = OutageProcess(sub.names, p.rate[idx], sub.repair)
    return _BiasedTask(dataclasses.replace(model, process=biased), bias, sub, p.rate[idx].copy(),
                       real_sub.steady_unavailability(), sub.steady_unavailability())


def _log_weights(task: _BiasedTask, chunk_index: int, n_years: int, seed: int, start: str
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Log likelihood ratio (real / biased) of each year of a chunk, from a re-draw of the biased events.

    Also returns the failures of each biased event that start in each year, ``(n_years, k)``.
    """
    logw = np.zeros(n_years)
    counts = np.zeros((n_years, task.sub.n_events))
    if not task.sub.n_events:
        return logw, counts
    h = task.model.horizon
    out = sample_outages(task.sub, n_years, h, chunk_streams(seed, chunk_index, task.sub.names, "outages"),
                         start=start)
    dur = out.clipped_durations()
    for k, beta in enumerate(task.bias.factors):
        sel = out.event == k
        y, st = out.year[sel], out.start[sel]
        n = np.bincount(y, weights=st >= 0, minlength=n_years)
        counts[:, k] = n
        down = np.bincount(y, weights=dur[sel], minlength=n_years)
        logw += -n * math.log(beta) + (beta - 1.0) * task.rate[k] * (h - down)
        if start == "stationary":
            init = np.bincount(y, weights=st < 0, minlength=n_years) > 0
            q0, q1 = float(task.q_real[k]), float(task.q_biased[k])
            logw += np.where(init, math.log(q0 / q1), math.log1p(-q0) - math.log1p(-q1))
    return logw, counts


@dataclass(frozen=True, eq=False)
class WeightedTally:
    """A :class:`~model.sim.engine.TimeTally` of biased years and the log likelihood ratio of each year.

    ``a + b`` merges exactly (chunk order), like the plain tally.
    """

    tally: TimeTally = field(default_factory=TimeTally)
    log_weight: dict[int, np.ndarray] = field(default_factory=dict)
    counts: dict[int, np.ndarray] = field(default_factory=dict)  # (years, biased events) failures

    def __add__(self, other: WeightedTally) -> WeightedTally:
        if not isinstance(other, WeightedTally):
            return NotImplemented
        merged = {**self.log_weight, **other.log_weight}
        counts = {**self.counts, **other.counts}
        return WeightedTally(self.tally + other.tally, dict(sorted(merged.items())),
                             dict(sorted(counts.items())))

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

    def to_dict(self) -> dict[str, Any]:
        return {"tally": self.tally.to_dict(),
                "log_weight": {str(k): v.tolist() for k, v in self.log_weight.items()},
                "counts": {str(k): v.tolist() for k, v in self.counts.items()}}

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> WeightedTally:
        lw = {int(k): np.asarray(v, dtype=np.float64) for k, v in d["log_weight"].items()}
        counts = {int(k): np.asarray(v, dtype=np.float64).reshape(lw[int(k)].size, -1)
                  for k, v in d["counts"].items()}
        return WeightedTally(TimeTally.from_dict(d["tally"]), lw, counts)


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
                     start: str = "stationary", chunk_years: int | None = None, callers: Any = None
                     ) -> WeightedTally:
    """Chunk ``chunk_index`` of a biased run: the engine's chunk on the biased model, and its years' weights.

    Draws exactly what :func:`model.sim.engine.run_chunk` draws (streams keyed by
    event name), so the biased events' outages are re-drawn identically for the
    likelihood ratio.
    """
    tally = run_chunk(task.model, chunk_index, n_years, seed, start=start, chunk_years=chunk_years,
                      callers=callers)
    logw, counts = _log_weights(task, chunk_index, n_years, seed, start)
    return WeightedTally(tally, {int(chunk_index): logw}, {int(chunk_index): counts})


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
        return "importance-sampling" if self.bias.events else "crude-simulation"

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
                       if self.bias.events else "importance sampling (simulate_tails with choose_bias)")
                    for t, r in worst.items() if r["max_year_share"] > 0.2 and r["years_at_or_above"] > 0]
        return {
            "name": self.name, "method": self.method, "years": self.years, "seed": self.seed,
            "bias": dict(zip(self.bias.events, self.bias.factors, strict=True)),
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
    period: float = 10_000.0, statistic: str = "unreachable",
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
                             chunk_kwargs={"start": start, "chunk_years": cy, "callers": callers},
                             target_rse=target_rse, estimate_fn=_TailPrecision(statistic, period),
                             unit="years", desc="tails")
    return TailRun(tally, bias, info.seed_entropy, info, name or model.name)
