"""Recovery curves and expected-unserved metrics, as power-system tools report loss of load.

From the time engine's simulated years (each event's outages from the stream the engine
uses for it, so the histories are those of :func:`model.sim.engine.simulate` with the
same seed), the structural state of the network — the share of genuine call demand with
no working path — in every segment of time. An *outage* is a maximal stretch of time in
which some demand is cut off. :func:`outage_metrics` gives

* the **recovery curve**: the share of demand served against the time since an outage
  began, averaged over outages (95 % normal interval at each time);
* the **expected unreachable calls a year**: genuine calls that arrive while their demand
  has no working path (the arrival profile integrated over each segment; callers' redials
  and fallback lines, which the full time engine follows, are not counted here);
* **P(a year holds an outage longer than X)** for X from 10 minutes to 12 hours (Wilson
  intervals over simulated years).

Examples
--------
>>> m = outage_metrics("uk999", years=300, seed=1)
>>> m["curve"]["served"][0] < 1.0, m["exceedance"]["hours"][0]
(True, 0.16666666666666666)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from model.network.callnetwork import CallNetwork
from model.processes.outages import OutageProcess, sample_outages
from model.results.estimate import binomial_estimate, mean_estimate
from model.run.seeds import chunk_streams
from model.scenario.loader import Scenario
from model.sim.engine import Timeline, build_timeline, state_table_for, with_derived_outages
from model.sim.timemodel import TimeModel, build_time_model

__all__ = ["CURVE_HOURS", "EXCEEDANCE_HOURS", "outage_metrics", "outages_by_strategy", "structural_segments"]

#: Times since an outage began at which the recovery curve is reported (hours).
CURVE_HOURS = np.array([0.0, 1 / 60, 5 / 60, 10 / 60, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8, 12, 18, 24])
#: Outage lengths X for P(a year holds an outage longer than X) (hours): 10 min to 12 h.
EXCEEDANCE_HOURS = np.array([1 / 6, 0.25, 0.5, 1, 2, 3, 4, 6, 8, 12])


def _sub_process(proc: OutageProcess, keep: np.ndarray) -> tuple[OutageProcess, np.ndarray]:
    ids = np.flatnonzero(keep[: proc.n_events])
    sub = OutageProcess(tuple(proc.names[i] for i in ids), proc.rate[ids], tuple(proc.repair[i] for i in ids),
                        tuple(proc.up[i] for i in ids), np.unique(proc.clock[ids], return_inverse=True)[1])
    return sub, ids


def structural_segments(tm: TimeModel, years: int, seed: int, *, chunk_years: int = 2_000,
                        keep: np.ndarray | None = None
                        ) -> Iterator[tuple[int, Timeline, np.ndarray, np.ndarray, Any]]:
    """Per chunk of simulated years: ``(n_years, timeline, state id per boundary, share per state, table)``.

    Only the events where ``keep`` is true (default: all) are simulated; the states are
    resolved without routing traffic (a share of demand cut needs no routes).
    """
    if years < 1:
        raise ValueError("years must be >= 1")
    keep = np.ones(tm.n_events, dtype=bool) if keep is None else keep
    sub, ids = _sub_process(tm.process, keep)
    table = state_table_for(dataclasses.replace(tm, demand_rate=np.zeros_like(tm.demand_rate)))
    for chunk, lo in enumerate(range(0, years, chunk_years)):  # one step per chunk of years
        n = min(chunk_years, years - lo)
        streams = chunk_streams(seed, chunk, sub.names, "outages")
        out = sample_outages(sub, n, tm.horizon, streams, start="stationary")
        out = type(out)(out.year, ids[out.event], out.start, out.end, out.n_years, out.horizon)
        out = with_derived_outages(tm, out, seed, chunk)
        out = out.select(keep[out.event])
        tl = build_timeline(out, tm.events.hash)
        sid = table.resolve(tl)
        yield n, tl, sid, np.asarray(table.share), table


def outage_metrics(model: TimeModel | CallNetwork | Scenario | str | Path, *, years: int = 20_000,
                   seed: int = 20230625, curve_hours: Sequence[float] = CURVE_HOURS,
                   exceedance_hours: Sequence[float] = EXCEEDANCE_HOURS, min_share: float = 0.0
                   ) -> dict[str, Any]:
    """Recovery curve, expected unreachable calls a year and outage-length exceedance (module notes).

    ``min_share`` > 0 counts as outages (for the curve and the exceedance) only the stretches in
    which at least that share of national demand is cut off (0.1: a national-scale outage);
    the expected unreachable calls always count every cut.
    """
    if not 0 <= min_share <= 1:
        raise ValueError(f"min_share = {min_share}: must lie in [0, 1]")
    tm = model if isinstance(model, TimeModel) else build_time_model(model)
    grid = np.asarray(curve_hours, dtype=float)
    xs = np.asarray(exceedance_hours, dtype=float)
    rate = float(tm.net.demand_weight.sum()) / tm.horizon  # genuine calls an hour, long-run mean
    served_sum = np.zeros(grid.size)
    served_sq = np.zeros(grid.size)
    n_outages = 0
    longest: list[np.ndarray] = []
    lost: list[np.ndarray] = []
    for n, tl, sid, share, _table in structural_segments(tm, years, seed):
        ok = sid >= 0
        seg_share = np.where(ok, share[np.maximum(sid, 0)], 0.0)
        cut_any = ok & (seg_share > 0) & (tl.length > 0)
        down = cut_any & (seg_share >= min_share)
        local0 = tl.time - tl.year * tl.stride
        local1 = tl.end - tl.year * tl.stride
        calls = seg_share * rate * np.asarray(tm.profile.integrate(local0, local1), float) * cut_any
        lost.append(np.bincount(tl.year, weights=calls, minlength=n))
        # outages: maximal runs of down segments within a year (zero-length boundaries do not break a run)
        pos = np.flatnonzero(tl.length > 0)
        d = down[pos]
        yr = tl.year[pos]
        new = d & (np.r_[True, ~d[:-1]] | np.r_[True, yr[1:] != yr[:-1]])
        run = np.cumsum(new) - 1
        starts = tl.time[pos][new]
        ends = np.zeros(int(new.sum()))
        if ends.size:
            np.maximum.at(ends, run[d], tl.end[pos][d])
        dur = ends - starts
        big = np.zeros(n)
        if dur.size:
            np.maximum.at(big, yr[new], dur)
        longest.append(big)
        # recovery curve: served share at start + τ (the state there; after the outage, all served)
        if starts.size:
            t = starts[:, None] + grid[None, :]
            year_end = (yr[new] * tl.stride + tl.horizon)[:, None]
            t = np.minimum(t, year_end - 1e-9)  # beyond the window: its last state
            j = np.searchsorted(tl.time, t, side="right") - 1
            j = np.maximum(j, 0)
            cut = np.where(sid[j] >= 0, share[np.maximum(sid[j], 0)], 0.0)
            served = 1.0 - cut
            served_sum += served.sum(axis=0)
            served_sq += (served**2).sum(axis=0)
            n_outages += starts.size
    per_year_lost = np.concatenate(lost)
    per_year_long = np.concatenate(longest)
    mean_served = served_sum / max(n_outages, 1)
    var = np.maximum(served_sq / max(n_outages, 1) - mean_served**2, 0.0) * n_outages / max(n_outages - 1, 1)
    se = np.sqrt(var / max(n_outages, 1))
    total, total_sq = float(per_year_lost.sum()), float((per_year_lost**2).sum())
    unreachable = mean_estimate(total, total_sq, per_year_lost.size, n_nonzero=int((per_year_lost > 0).sum()),
                                method="time-engine (structural)", seed=seed,
                                upper_bound_per_sample=rate * tm.horizon)
    exceed = [binomial_estimate(int((per_year_long > x).sum()), per_year_long.size, method="time-engine",
                                seed=seed) for x in xs]
    return {
        "curve": {"hours": grid.tolist(), "served": mean_served.tolist(),
                  "ci_low": np.clip(mean_served - 1.96 * se, 0, 1).tolist(),
                  "ci_high": np.clip(mean_served + 1.96 * se, 0, 1).tolist(), "outages": n_outages},
        "unreachable_calls_per_year": unreachable,
        "exceedance": {"hours": xs.tolist(), "p": [e.value for e in exceed],
                       "ci_low": [e.ci_low for e in exceed], "ci_high": [e.ci_high for e in exceed]},
        "years": int(per_year_long.size), "seed": seed, "min_share": min_share,
        "outages_per_year": n_outages / max(per_year_long.size, 1),
    }


def outages_by_strategy(base: Scenario, strategy_sets: Sequence[Sequence[Any]], *, years: int = 20_000,
                        seed: int = 20230625, min_share: float = 0.1) -> list[tuple[str, dict[str, Any]]]:
    """(label, :func:`outage_metrics`) for the status quo and each set of strategies (same seed: common
    random numbers for the events the sets share)."""
    from model.scenario.strategies import apply_strategies

    scens = [base, *(apply_strategies(base, list(st)) for st in strategy_sets)]
    return [(sc.label, outage_metrics(sc, years=years, seed=seed, min_share=min_share)) for sc in scens]
