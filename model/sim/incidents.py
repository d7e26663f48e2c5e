"""Incident counterfactuals: a prescribed incident as it would have run under a strategy.

An incident (``[incidents.<name>]`` in a scenario) is a prescribed timeline of
component states. This module rewrites a three-phase platform incident of the
shape of BT's 25 June 2023 outage (phase 1: the primary call-handling platform
degraded, dropping a share of calls; phase 2: both platforms down; phase 3: the
backup serving with limited capacity) as a strategy would change it, and replays
the variants over strata of the uncertain backup capacity and phase-1 loss with
:func:`model.sim.engine.replay_incident`.

Rules of the counterfactual (:func:`counterfactual_of`): an *automatic*
primary→backup redundancy group replaces the failed manual switch by its mean
failover delay (from the start of the fault, or after the original diagnosis); a
strategy that changes the backup's concurrent calls fixes its size (no capacity
uncertainty); the backup's queue limit is always the scenario's; public advice
comes at the strategy's ``advice_delay_hours`` when that is earlier; each fallback
line's compliance is centred on the strategy's value.

Seeds: the strata pairing draws from the registered stream ``incident-strata``
(:func:`model.run.seeds.named_rng`) and stratum ``k`` replays with the seed of child
``(k,)`` of ``SeedSequence(seed)`` (:func:`stratum_seeds`, :func:`model.run.seeds.child_seed`),
the same for every strategy, so strategies are compared with common random numbers.

Examples
--------
>>> from model.scenario.loader import load_scenario
>>> base = load_scenario("uk999")
>>> cf = counterfactual_of(base, base, "bt_2023_06_25", "bt_primary", "bt_dr")
>>> cf.automatic_delay_h is None, cf.dr_factor_applies
(True, True)
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from model.run.seeds import child_seed, named_rng
from model.scenario.loader import Scenario
from model.sim.engine import replay_incident
from model.sim.timemodel import build_time_model

__all__ = [
    "Counterfactual",
    "bin_edges",
    "check_incident",
    "clock",
    "counterfactual_of",
    "incident_variant",
    "lhs_strata",
    "phase_differences",
    "replay_strata",
    "split_replications",
    "stratum_seeds",
    "time_bins",
]

@dataclass(frozen=True)
class Counterfactual:
    """How a strategy changes the incident's timeline (what the replay prescribes).

    Attributes
    ----------
    automatic_delay_h : float or None
        Mean automatic failover delay (hours) when the strategy makes the
        primary→backup switch automatic; ``None`` keeps the incident's manual switch.
    detect_immediately : bool
        The automatic switch starts when the fault starts (hour 0) rather than at the
        end of phase 1 (when the fault had been diagnosed).
    dr_factor_applies : bool
        The backup keeps the scenario's (uncertain) size; False when the strategy resizes it.
    advice_hour : float
        Earliest hour the public advice to ring the fallback lines reaches callers.
    compliance : dict of str to float
        Centre of each fallback line's compliance range (the strategy's scenario values).
    compliance_changed : bool
        The strategy changes some line's compliance.
    """

    automatic_delay_h: float | None
    detect_immediately: bool
    dr_factor_applies: bool
    advice_hour: float
    compliance: dict[str, float]
    compliance_changed: bool = False


def _platform_group(scen: Scenario, primary: str, backup: str):
    for grp in scen.spec.redundancy_groups.values():
        if primary in grp.members and backup in grp.members:
            return grp
    return None


def counterfactual_of(scen: Scenario, base: Scenario, incident: str, primary: str, backup: str, *,
                      detect_immediately: bool = True) -> Counterfactual:
    """Read from a strategy's scenario how it changes the replayed incident (rules: module docstring).

    Parameters
    ----------
    scen : Scenario
        The strategy applied to ``base``.
    base : Scenario
        The scenario holding the incident.
    incident, primary, backup : str
        Names of the incident and of the primary and backup platforms.
    detect_immediately : bool
        An automatic switch starts at the fault (True) or after phase 1.

    Returns
    -------
    Counterfactual

    Examples
    --------
    >>> from model.scenario.loader import load_scenario
    >>> from model.scenario.strategies import apply_strategies, load_strategy
    >>> base = load_scenario("uk999")
    >>> scen = apply_strategies(base, [load_strategy("automatic_failover")])
    >>> cf = counterfactual_of(scen, base, "bt_2023_06_25", "bt_primary", "bt_dr")
    >>> round(cf.automatic_delay_h * 3600), cf.dr_factor_applies
    (30, True)
    """
    inc = base.spec.incidents[incident]
    grp = _platform_group(scen, primary, backup)
    delay = None
    if grp is not None and grp.policy == "automatic":
        delay = grp.failover_delay.mean() if grp.failover_delay is not None else 0.0
    cap_s = scen.spec.call_handling_platforms[backup].capacity
    cap_b = base.spec.call_handling_platforms[backup].capacity
    same_dr = (cap_s.concurrent_calls if cap_s else None) == (cap_b.concurrent_calls if cap_b else None)
    base_adv = inc.advice_hour if inc.advice_hour is not None else base.spec.callers.advice_delay_hours
    adv = base_adv
    own, ref = scen.spec.callers, base.spec.callers
    if own is not None and ref is not None and own.advice_delay_hours < ref.advice_delay_hours:
        adv = min(base_adv, own.advice_delay_hours)
    comp = {name: float(ln.compliance) for name, ln in scen.spec.fallback_lines.items()}
    ref_comp = {name: float(ln.compliance) for name, ln in base.spec.fallback_lines.items()}
    return Counterfactual(delay, detect_immediately, same_dr, float(adv), comp, comp != ref_comp)


def check_incident(raw: Mapping[str, Any], incident: str, primary: str, backup: str) -> None:
    """Refuse an incident that does not have the three-phase platform structure the rewrite needs.

    Raises
    ------
    ValueError
        Naming the incident and the structure required.

    Examples
    --------
    >>> check_incident({"phases": []}, "x", "p", "b")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: incidents.x: this study needs the 2023 structure (3 phases: p degraded; ...)
    """
    phases = raw.get("phases", [])
    ok = len(phases) == 3
    if ok:
        p1 = [e for e in phases[0]["effects"] if e["component"] == primary and e["state"] == "degraded"]
        p3 = [e for e in phases[2]["effects"] if e["component"] == backup and e["state"] == "capacity"]
        ok = len(p1) == 1 and len(p3) == 1
    if not ok:
        raise ValueError(f"incidents.{incident}: this study needs the 2023 structure (3 phases: {primary} "
                         f"degraded; both platforms down; {backup} capacity-limited)")


def incident_variant(raw: Mapping[str, Any], cf: Counterfactual, primary: str, backup: str, *,
                     capacity_factor: float, drop_fraction: float, until: float | None = None,
                     incident: str = "incident") -> dict[str, Any]:
    """The incident (a raw scenario table) as it would run under a counterfactual.

    ``capacity_factor`` multiplies the backup's concurrent calls in phase 3 (ignored when
    the strategy resizes the backup); ``drop_fraction`` is phase 1's share of calls lost;
    ``until`` cuts the incident at that hour (everything normal afterwards), used to
    count failed attempts by time bin.

    Examples
    --------
    >>> from model.scenario.loader import load_scenario
    >>> base = load_scenario("uk999")
    >>> raw = base.raw["incidents"]["bt_2023_06_25"]
    >>> cf = counterfactual_of(base, base, "bt_2023_06_25", "bt_primary", "bt_dr")
    >>> v = incident_variant(raw, cf, "bt_primary", "bt_dr", capacity_factor=0.8, drop_fraction=0.3,
    ...                      until=2.0)
    >>> [(p["start_hour"], p["end_hour"]) for p in v["phases"]]
    [(0.0, 1.15), (1.15, 2.0)]
    """
    inc = copy.deepcopy(dict(raw))
    check_incident(inc, incident, primary, backup)
    p1, p2, p3 = inc["phases"]
    for e in p1["effects"]:
        if e["component"] == primary and e["state"] == "degraded":
            e["drop_fraction"] = float(drop_fraction)
    for e in p3["effects"]:
        if e["component"] == backup and e["state"] == "capacity":
            e["capacity_factor"] = float(capacity_factor) if cf.dr_factor_applies else 1.0
            e.pop("queue_limit", None)  # the backup's own queue limit (strategies may change it)
    phases = [p1, p2, p3]
    if cf.automatic_delay_h is not None:
        d = float(cf.automatic_delay_h)
        if cf.detect_immediately:
            p1["end_hour"] = min(d, float(p1["end_hour"]))
            p3["start_hour"] = p1["end_hour"]
            phases = [p1, p3]
        else:
            p2["end_hour"] = float(p1["end_hour"]) + d
            p2["label"] = "automatic switch to the DR platform"
            p3["start_hour"] = p2["end_hour"]
    if until is not None:
        phases = [p for p in phases if float(p["start_hour"]) < until]
        for p in phases:
            p["end_hour"] = min(float(p["end_hour"]), float(until))
    inc["phases"] = phases
    inc["advice_hour"] = cf.advice_hour
    return inc


# ----------------------------------------------------------------------------- strata and seeds
def lhs_strata(k: int, seed: int, cap_range: tuple[float, float],
               drop_range: tuple[float, float]) -> list[tuple[float, float]]:
    """(capacity factor, phase-1 drop) at the midpoints of ``k`` strata each, paired at random (LHS).

    Examples
    --------
    >>> s = lhs_strata(2, 11, (0.6, 1.2), (0.25, 0.75))
    >>> sorted(round(c, 6) for c, _ in s), sorted(round(d, 6) for _, d in s)
    ([0.75, 1.05], [0.375, 0.625])
    """
    rng = named_rng(seed, "incident-strata")
    mid = (np.arange(k) + 0.5) / k
    cap = cap_range[0] + (cap_range[1] - cap_range[0]) * mid
    drop = drop_range[0] + (drop_range[1] - drop_range[0]) * rng.permutation(mid)
    return [(float(c), float(d)) for c, d in zip(cap, drop, strict=True)]


def stratum_seeds(seed: int, k: int) -> list[int]:
    """Replay seed of each of ``k`` strata: the first word of child ``(i,)`` of ``SeedSequence(seed)``.

    Examples
    --------
    >>> a, b = stratum_seeds(11, 2)
    >>> a != b and a == stratum_seeds(11, 1)[0]
    True
    """
    root = np.random.SeedSequence(seed)
    return [child_seed(root, i) for i in range(k)]


def split_replications(total: int, k: int) -> list[int]:
    """``total`` replications over ``k`` strata as evenly as possible.

    Examples
    --------
    >>> split_replications(12, 5)
    [3, 3, 2, 2, 2]
    """
    return [total // k + (1 if i < total % k else 0) for i in range(k)]


# ----------------------------------------------------------------------------- clock and bins
def clock(hours_after: float, start: str = "00:00") -> str:
    """Clock time ``hours_after`` the clock time ``start``, to the nearest minute.

    Examples
    --------
    >>> clock(2.433333, "06:24"), clock(10.533333, "06:24")
    ('08:50', '16:56')
    """
    hh, mm = (int(x) for x in start.split(":"))
    t = datetime(2000, 1, 1, hh, mm) + timedelta(minutes=round(float(hours_after) * 60))
    return t.strftime("%H:%M")


def bin_edges(phase_ends: Sequence[float], start: str, whole_hours: bool) -> list[float]:
    """Cut points (hours after the start): phase ends, plus whole clock hours when ``whole_hours``.

    A whole hour within 15 minutes of a phase end is left out.

    Examples
    --------
    >>> bin_edges([1.15, 2.433333], "06:24", False)
    [1.15, 2.433333]
    >>> bin_edges([1.15, 2.433333], "06:24", True)
    [0.6, 1.15, 1.6, 2.433333]
    """
    edges = {round(float(e), 6) for e in phase_ends}
    if whole_hours:
        mm = int(start.split(":")[1])
        first = (60 - mm) / 60.0 if mm else 1.0
        t = first
        end = max(phase_ends)
        while t < end:
            if min(abs(t - e) for e in phase_ends) > 0.25:
                edges.add(round(t, 6))
            t += 1.0
    return sorted(edges)


def time_bins(cumulative: np.ndarray, edges: Sequence[float], start: str) -> list[dict[str, Any]]:
    """Mean failed attempts per bin from replays cut at each edge (same seeds), differenced.

    ``cumulative[j]`` holds, per replication, the failed attempts of the replay cut at
    ``edges[j]``; bin ``j`` runs from the previous edge (or 0) to ``edges[j]``.

    Examples
    --------
    >>> b = time_bins(np.array([[6.0, 12.0], [9.0, 15.0]]), [1.0, 1.5], "06:24")
    >>> [(x["start_clock"], x["end_clock"], x["failed_attempts_mean"]) for x in b]
    [('06:24', '07:24', 9.0), ('07:24', '07:54', 3.0)]
    >>> b[1]["failed_attempts_per_10min"]
    1.0
    """
    cum = np.asarray(cumulative, float)
    cum0 = np.vstack([np.zeros((1, cum.shape[1])), cum])
    starts = [0.0, *edges[:-1]]
    bins = []
    for j, (a, b) in enumerate(zip(starts, edges, strict=True)):
        m = float((cum0[j + 1] - cum0[j]).mean())
        bins.append({"start_hour": a, "end_hour": b, "start_clock": clock(a, start),
                     "end_clock": clock(b, start), "failed_attempts_mean": m,
                     "failed_attempts_per_10min": m / ((b - a) * 6.0)})
    return bins


def phase_differences(cumulative: np.ndarray, edges: Sequence[float],
                      phase_ends: Sequence[float]) -> list[np.ndarray]:
    """Per-replication failed attempts in each phase (differences of the cut replays at the phase ends).

    Examples
    --------
    >>> cum = np.array([[6.0, 12.0], [9.0, 15.0]])
    >>> [d.tolist() for d in phase_differences(cum, [1.0, 1.5], [1.0, 1.5])]
    [[6.0, 12.0], [3.0, 3.0]]
    """
    cum = np.asarray(cumulative, float)
    prev = np.zeros(cum.shape[1])
    out = []
    for end in phase_ends:
        j = list(edges).index(round(float(end), 6))
        out.append(cum[j] - prev)
        prev = cum[j]
    return out


# ----------------------------------------------------------------------------- replays
def replay_strata(base: Scenario, scen: Scenario, cf: Counterfactual, incident: str, primary: str,
                  backup: str, strata: Sequence[tuple[float, float]], reps: Sequence[int],
                  seeds: Sequence[int], overrides: Mapping[str, Any], *, counts: Sequence[str],
                  tail_hours: float, trunc_edges: Sequence[float] = (), trunc_reps: int = 0,
                  where: str = "<incident variants>") -> dict[str, Any]:
    """Replay the counterfactual incident in every stratum of (backup capacity factor, phase-1 drop).

    Stratum ``k`` replays ``reps[k]`` times with ``seeds[k]`` and the caller ranges of
    ``overrides`` (see :func:`model.sim.engine.replay_incident`). With ``trunc_edges`` the
    incident is also replayed cut at each edge (``trunc_reps`` per stratum, same seeds),
    for :func:`time_bins`.

    Returns
    -------
    dict
        ``arrays`` (each of ``counts`` per replication, strata in order), ``parameters``
        (every input drawn, per replication, with the stratum's ``dr_capacity_factor`` and
        ``phase1_drop_fraction``), ``per_stratum`` rows, ``cumulative`` (edges ×
        replications, or None), ``seconds``, ``dr_concurrent`` and ``dr_queue`` (the
        strategy's backup capacity).
    """
    t0 = time.perf_counter()
    raw = base.raw["incidents"][incident]
    variants: dict[str, Any] = {}
    for k, (cap, drop) in enumerate(strata):
        variants[f"{incident}__s{k}"] = incident_variant(raw, cf, primary, backup, capacity_factor=cap,
                                                         drop_fraction=drop, incident=incident)
        for j, t in enumerate(trunc_edges):
            variants[f"{incident}__s{k}__t{j}"] = incident_variant(
                raw, cf, primary, backup, capacity_factor=cap, drop_fraction=drop, until=t, incident=incident)
    model = build_time_model(scen.extend({"incidents": variants}, where=where))
    cols: dict[str, list[np.ndarray]] = {c: [] for c in counts}
    params: dict[str, list[np.ndarray]] = {}
    per_stratum = []
    for k, (cap, drop) in enumerate(strata):
        out = replay_incident(model, f"{incident}__s{k}", replications=reps[k], seed=seeds[k],
                              overrides=overrides, tail_hours=tail_hours)
        per = out["per_replication"]
        for c in cols:
            cols[c].append(np.asarray(per[c], float))
        drawn = {**per["parameters"], "dr_capacity_factor": np.full(reps[k], cap),
                 "phase1_drop_fraction": np.full(reps[k], drop)}
        for name, v in drawn.items():
            params.setdefault(name, []).append(np.asarray(v, float))
        per_stratum.append({
            "stratum": k, "dr_capacity_factor": cap, "phase1_drop_fraction": drop, "seed": seeds[k],
            "replications": reps[k], "failed_callers": out["failed_callers"],
            "failed_attempts": out["failed_attempts"], "calls_simulated": out["calls_simulated"],
        })
    cumulative = None
    if trunc_edges:
        cumulative = np.zeros((len(trunc_edges), len(strata) * trunc_reps))
        for k in range(len(strata)):
            for j in range(len(trunc_edges)):
                out = replay_incident(model, f"{incident}__s{k}__t{j}", replications=trunc_reps,
                                      seed=seeds[k], overrides=overrides, tail_hours=tail_hours)
                cumulative[j, k * trunc_reps:(k + 1) * trunc_reps] = out["per_replication"]["failed_attempts"]
    dr_cap = scen.spec.call_handling_platforms[backup].capacity
    return {
        "arrays": {c: np.concatenate(v) for c, v in cols.items()},
        "per_stratum": per_stratum,
        "parameters": {name: np.concatenate(v) for name, v in params.items()},
        "cumulative": cumulative, "seconds": time.perf_counter() - t0,
        "dr_concurrent": dr_cap.concurrent_calls if dr_cap else None,
        "dr_queue": dr_cap.queue_limit if dr_cap else None,
    }
