"""BT 999 outage of 25 June 2023: a blind replay with uncertain callers and backup capacity.

Replays Ofcom's three phases of the incident (06:24 a configuration error drops calls;
07:33 the first switch to the disaster-recovery (DR) platform fails, total outage;
08:50-16:56 traffic on an under-sized DR platform) on the uk999 reference network,
many times, with caller behaviour (redial probability, redial delay, attempts,
patience, compliance with advice to ring 101/111, timing of that advice), the DR
platform's capacity and the share of calls lost in phase 1 drawn from stated ranges.
Then it replays the same day under each fallback strategy, with the same seeds and
replications (common random numbers for the caller parameters), so the calls each
strategy would have saved are paired differences.

This is a **blind prediction**: every range below comes from a cited source or a
stated reason, and none was tuned to any reported count of failed calls.

Writes ``bt_outage_2023.html`` and ``bt_outage_2023.json``.

Run: ``python studies/bt_outage_2023.py [--out DIR] [--quick] [--seed N] [--replications N]``
"""

import copy
import html
import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from model.cli.study import Study, network_diagram, run_study, running_mean_figure, study_parser
from model.network.callnetwork import build_network
from model.report import (
    PALETTE,
    Report,
    band_chart,
    ecdf,
    format_number,
    histogram,
    nines_template,
    ranked_bar,
)
from model.scenario.loader import Scenario, load_scenario
from model.scenario.strategies import apply_strategies, load_strategy
from model.sim.engine import replay_incident
from model.sim.timemodel import build_time_model

__all__ = [
    "CALLER_RANGES",
    "DR_CAPACITY_FACTOR",
    "PHASE1_DROP",
    "STRATEGY_RUNS",
    "Counterfactual",
    "StrategyRun",
    "counterfactual_of",
    "incident_variant",
    "main",
    "paired_saving",
    "summary",
]

NAME = "bt_outage_2023"
INCIDENT = "bt_2023_06_25"
PRIMARY, DR = "bt_primary", "bt_dr"
FULL_STRATA, FULL_REPLICATIONS = 10, 400
QUICK_STRATA, QUICK_REPLICATIONS = 2, 12
#: Tail after the last phase: callers still redialling when service returns (the longest patience
#: drawn, 30 min, fits twice).
TAIL_HOURS = 1.0
#: Per-replication counts kept from every replay.
COUNTS = ("failed_attempts", "failed_callers", "connected_via_fallback", "connected_after_redial",
          "genuine_calls")


# ----------------------------------------------------------------------------- uncertain inputs
@dataclass(frozen=True)
class Range:
    """One uncertain input: its range, how it is drawn, the scenario's value and the reason."""

    parameter: str
    low: float
    high: float
    distribution: str
    scenario_value: str
    reason: str
    values: tuple[float, ...] = ()

    def override(self, shift: float = 0.0) -> tuple[float, float] | list[float]:
        """The value passed to :func:`model.sim.engine.replay_incident` (a range or a list)."""
        if self.values:
            return [float(v) + shift for v in self.values]
        return (self.low + shift, self.high + shift)

    def to_dict(self) -> dict[str, Any]:
        d = {"low": self.low, "high": self.high, "distribution": self.distribution,
             "scenario_value": self.scenario_value, "reason": self.reason}
        if self.values:
            d["values"] = list(self.values)
        return d


CALLER_RANGES: dict[str, Range] = {
    "redial_probability": Range(
        "Redial probability after a failed attempt", 0.60, 0.95, "uniform", "0.85",
        "No measured 999 value exists (traffic-and-capacity.md, Gaps). 0.85 is an uncalibrated example in "
        "the Graphitti NG911 simulator (GRAPHITTI_L, L); teletraffic practice uses a recall fraction of 0.5 "
        "for ordinary calls 'if unsure' (Extended Erlang B, L). A genuine emergency caller is more "
        "persistent than an ordinary caller, so the range starts above 0.5 and reaches near-certain "
        "redialling."),
    "redial_delay_s": Range(
        "Mean delay before redialling (s)", 10.0, 60.0, "uniform", "30 s",
        "No published 999 redial-interval data (traffic-and-capacity.md, Gaps). 10 s is about the "
        "fastest hang-up and redial on a mobile; the 1987 BT operator practice 'try another line ... after "
        "a 30-second delay' (HANSARD_1987, H) is the middle; 60 s allows callers who pause or try "
        "another phone."),
    "max_attempts": Range(
        "Attempts before giving up", 3, 10, "uniform on 3, 4, ..., 10", "5",
        "No data (traffic-and-capacity.md, Gaps). At least 3 (a caller who meets a dropped call tries "
        "again more than once); at most 10, beyond which patience binds anyway at these delays.",
        values=(3, 4, 5, 6, 7, 8, 9, 10)),
    "patience_s": Range(
        "Patience: time a caller keeps trying 999 (s)", 300.0, 1800.0, "uniform", "600 s",
        "No published distribution of 999 caller patience (traffic-and-capacity.md, Gaps). 5 min: an "
        "urgent caller then turns to other help (neighbours, driving to hospital); 30 min: a caller whose "
        "emergency can wait (a burglary discovered) keeps trying."),
    "compliance": Range(
        "Share of advised callers who ring the fallback line (offset from each line's value)", -0.2, 0.2,
        "uniform, drawn independently per line, clipped to 0-1",
        "0.5 (101, 111), 0.2 (SFRS direct numbers)",
        "No data on how many callers followed the 2023 advice (A_FALLBACK, assumption). Advice went out "
        "by police, NHS and news channels on a Sunday morning (COMPUTING_2023, M); the scenario's values "
        "(half for the known numbers 101 and 111, a fifth for numbers announced that day) are the "
        "middle and +/-0.2 the spread."),
    "advice_hour": Range(
        "Public advice to use 101/111 reaches callers (hours after 06:24)", 2.1, 2.6, "uniform",
        "2.1 h (08:30)",
        "Forces and NHS England advised 101/111 from about 08:30 (uk999-system.md, M); advice was "
        "issued by each force separately and spread over time (the government was told at 09:20, "
        "ITV_2023, M), so the time it reaches a caller is 08:30-09:00."),
}

DR_CAPACITY_FACTOR = Range(
    "DR platform capacity (multiple of the scenario's 49 concurrent calls)", 0.6, 1.2,
    "uniform, stratified (outer loop)", "1.0 (49 concurrent calls, A_DR_CAPACITY)",
    "BT's DR capacity is not public. Ofcom: 'insufficient capacity ... to deal with a level of demand "
    "that might reasonably be expected' and it 'struggled with demand' while failures fell (OFCOM_FINE, "
    "H). The Sunday load of all calls (35 m/yr, 35 s each, hourly profile, Sunday 0.98) is 41-57 "
    "Erlangs in daytime; 0.6 x 49 = 29 concurrent calls is about half the midday load (a platform that "
    "still carried most daytime calls would not be 'struggling' at less), 1.2 x 49 = 59 is the midday "
    "load itself (a larger DR would not have struggled on a Sunday). Queue limit 50 (SIMWOOD_2024, M) "
    "is not varied.")

PHASE1_DROP = Range(
    "Share of calls lost in phase 1 (06:24-07:33)", 0.25, 0.75, "uniform, stratified (outer loop)",
    "0.5 (assumption)",
    "Ofcom: agents' systems restarted as a call arrived, calls were dropped on transfer or put back in "
    "the queue, and the incident 'grew from affecting some calls to a total outage' only with the failed "
    "switch (OFCOM_FINE, H): fewer than all calls were lost, but enough for BT to decide to switch "
    "platforms. No share was published; a quarter to three quarters.")


# ----------------------------------------------------------------------------- strategies
@dataclass(frozen=True)
class StrategyRun:
    """One replay of the incident under a strategy (or a combination of strategies)."""

    key: str
    strategies: tuple[str, ...]
    detect_immediately: bool = True
    label: str = ""
    sensitivity: bool = False


STRATEGY_RUNS: tuple[StrategyRun, ...] = (
    StrategyRun("status_quo", ("status_quo",)),
    StrategyRun("automatic_failover", ("automatic_failover",)),
    StrategyRun("full_capacity_backup", ("full_capacity_backup",)),
    StrategyRun("backup_queue_420", ("backup_queue_420",)),
    StrategyRun("second_cha", ("second_cha",)),
    StrategyRun("public_diversion", ("public_diversion",)),
    StrategyRun("mobile_direct_routing", ("mobile_direct_routing",)),
    StrategyRun("automatic_failover+full_capacity_backup", ("automatic_failover", "full_capacity_backup")),
    StrategyRun("automatic_failover_after_diagnosis", ("automatic_failover",), detect_immediately=False,
                label="Automatic failover, only after BT's 69-minute diagnosis (sensitivity)",
                sensitivity=True),
)


@dataclass(frozen=True)
class Counterfactual:
    """How a strategy changes the 2023 timeline (what the replay prescribes).

    Attributes
    ----------
    automatic_delay_h : float or None
        Mean automatic failover delay (hours) when the strategy makes the primary→DR
        switch automatic; ``None`` keeps 2023's manual switch (first attempt failed).
    detect_immediately : bool
        The automatic switch starts when the fault starts (06:24) rather than when BT
        had diagnosed it (07:33).
    dr_factor_applies : bool
        The DR keeps the scenario's (uncertain) size; False when the strategy resizes it.
    advice_hour : float
        Earliest hour (after 06:24) the public advice to ring 101/111 reaches callers.
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

    def describe(self, base_advice: float) -> str:
        parts = []
        if self.automatic_delay_h is None:
            parts.append("2023 timeline: manual switch, first attempt fails, total outage 07:33-08:50")
        elif self.detect_immediately:
            parts.append(f"automatic switch {self.automatic_delay_h * 3600:.0f} s after 06:24; traffic on "
                         "the DR from then to 16:56; no failed manual switch")
        else:
            parts.append(f"phase 1 unchanged (06:24-07:33, BT diagnosing); then automatic switch in "
                         f"{self.automatic_delay_h * 3600:.0f} s; no failed manual switch")
        parts.append("DR capacity uncertain as status quo" if self.dr_factor_applies
                     else "DR sized by the strategy (no capacity uncertainty)")
        if self.advice_hour < base_advice - 1e-9:
            parts.append(f"public advice from {_clock(self.advice_hour)} instead of {_clock(base_advice)}")
        if self.compliance_changed:
            parts.append("compliance with the advice centred on " + ", ".join(
                f"{k} {v:g}" for k, v in sorted(self.compliance.items())))
        return "; ".join(parts)


def _platform_group(scen: Scenario):
    for grp in scen.spec.redundancy_groups.values():
        if PRIMARY in grp.members and DR in grp.members:
            return grp
    return None


def counterfactual_of(scen: Scenario, base: Scenario, *, detect_immediately: bool = True) -> Counterfactual:
    """Read from a strategy's scenario how it changes the replayed incident.

    Rules (stated in the report): an *automatic* primary→DR redundancy group replaces
    the failed manual switch by its mean failover delay; a strategy that changes the
    DR's concurrent calls fixes its size (no capacity uncertainty); the DR's queue
    limit is always the scenario's (50 in 2023, 420 or 1000 under strategies); public
    advice comes at the strategy's ``advice_delay_hours`` when that is earlier than in
    2023; each fallback line's compliance range is centred on the strategy's value.

    Examples
    --------
    >>> base = load_scenario("uk999")
    >>> cf = counterfactual_of(apply_strategies(base, [load_strategy("automatic_failover")]), base)
    >>> round(cf.automatic_delay_h * 3600), cf.dr_factor_applies
    (30, True)
    """
    inc = base.spec.incidents[INCIDENT]
    grp = _platform_group(scen)
    delay = None
    if grp is not None and grp.policy == "automatic":
        delay = grp.failover_delay.mean() if grp.failover_delay is not None else 0.0
    cap_s = scen.spec.call_handling_platforms[DR].capacity
    cap_b = base.spec.call_handling_platforms[DR].capacity
    same_dr = (cap_s.concurrent_calls if cap_s else None) == (cap_b.concurrent_calls if cap_b else None)
    base_adv = inc.advice_hour if inc.advice_hour is not None else base.spec.callers.advice_delay_hours
    adv = base_adv
    own, ref = scen.spec.callers, base.spec.callers
    if own is not None and ref is not None and own.advice_delay_hours < ref.advice_delay_hours:
        adv = min(base_adv, own.advice_delay_hours)
    comp = {name: float(ln.compliance) for name, ln in scen.spec.fallback_lines.items()}
    ref_comp = {name: float(ln.compliance) for name, ln in base.spec.fallback_lines.items()}
    return Counterfactual(delay, detect_immediately, same_dr, float(adv), comp, comp != ref_comp)


def _check_incident(raw: Mapping[str, Any]) -> None:
    """The replay rewrites the 2023 incident's three phases; refuse anything else."""
    phases = raw.get("phases", [])
    ok = len(phases) == 3
    if ok:
        p1 = [e for e in phases[0]["effects"] if e["component"] == PRIMARY and e["state"] == "degraded"]
        p3 = [e for e in phases[2]["effects"] if e["component"] == DR and e["state"] == "capacity"]
        ok = len(p1) == 1 and len(p3) == 1
    if not ok:
        raise ValueError(f"incidents.{INCIDENT}: this study needs the 2023 structure (3 phases: {PRIMARY} "
                         f"degraded; both platforms down; {DR} capacity-limited)")


def incident_variant(raw: Mapping[str, Any], cf: Counterfactual, *, capacity_factor: float,
                     drop_fraction: float, until: float | None = None) -> dict[str, Any]:
    """The 2023 incident (a raw scenario table) as it would run under a counterfactual.

    ``capacity_factor`` multiplies the DR's concurrent calls in the DR phase (ignored when
    the strategy resizes the DR); ``drop_fraction`` is phase 1's share of calls lost;
    ``until`` cuts the incident at that hour (everything normal afterwards), used to
    count failed attempts by time bin.

    Examples
    --------
    >>> base = load_scenario("uk999")
    >>> raw = base.raw["incidents"]["bt_2023_06_25"]
    >>> cf = counterfactual_of(base, base)
    >>> v = incident_variant(raw, cf, capacity_factor=0.8, drop_fraction=0.3, until=2.0)
    >>> [(p["start_hour"], p["end_hour"]) for p in v["phases"]]
    [(0.0, 1.15), (1.15, 2.0)]
    """
    inc = copy.deepcopy(dict(raw))
    _check_incident(inc)
    p1, p2, p3 = inc["phases"]
    for e in p1["effects"]:
        if e["component"] == PRIMARY and e["state"] == "degraded":
            e["drop_fraction"] = float(drop_fraction)
    for e in p3["effects"]:
        if e["component"] == DR and e["state"] == "capacity":
            e["capacity_factor"] = float(capacity_factor) if cf.dr_factor_applies else 1.0
            e.pop("queue_limit", None)  # the DR's own queue limit (50 in 2023; strategies change it)
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


# ----------------------------------------------------------------------------- statistics
def summary(x: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Median, 5th and 95th percentiles and mean of per-replication values.

    Examples
    --------
    >>> summary([1, 2, 3, 4, 5])
    {'median': 3.0, 'p05': 1.2, 'p95': 4.8, 'mean': 3.0}
    """
    a = np.asarray(x, dtype=float)
    return {"median": float(np.median(a)), "p05": float(np.percentile(a, 5)),
            "p95": float(np.percentile(a, 95)), "mean": float(a.mean())}


def paired_saving(base: np.ndarray, other: np.ndarray) -> dict[str, Any]:
    """Per-replication differences ``base - other`` (common random numbers) summarised.

    Gives the median and the 5th-95th percentiles of the differences (the spread of the
    saving over the uncertain inputs), the mean with a 95 % confidence interval, and the
    standard deviation of the paired differences next to the one independent runs would
    have (``sqrt(var(base) + var(other))``).

    Examples
    --------
    >>> s = paired_saving(np.array([10.0, 20, 30, 40]), np.array([8.0, 15, 26, 33]))
    >>> s["median"], s["mean"], s["sd_paired"] < s["sd_independent"]
    (4.5, 4.5, True)
    """
    base = np.asarray(base, float)
    other = np.asarray(other, float)
    d = base - other
    n = d.size
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    half = 1.959964 * sd / math.sqrt(n) if n > 1 else math.nan
    out: dict[str, Any] = summary(d)
    out.update(mean_ci95=[out["mean"] - half, out["mean"] + half], sd_paired=sd,
               sd_independent=float(math.sqrt(base.var(ddof=1) + other.var(ddof=1))) if n > 1 else math.nan,
               share_of_replications_saving=float(np.mean(d > 0)))
    return out


#: Display names of the uncertain inputs (per-replication parameter keys of replay_incident).
INPUT_LABELS = {
    "dr_capacity_factor": "DR platform capacity",
    "phase1_drop_fraction": "Share of calls lost in phase 1",
    "redial_probability": "Redial probability",
    "redial_delay_s": "Redial delay",
    "max_attempts": "Attempts before giving up",
    "patience_s": "Patience",
    "advice_hour": "Time the advice reaches callers",
}


def rank_correlations(inputs: Mapping[str, np.ndarray], output: np.ndarray) -> dict[str, float]:
    """Spearman rank correlation of each varying input with the output, over replications.

    Inputs that do not vary are left out.

    Examples
    --------
    >>> x = np.arange(10.0)
    >>> rho = rank_correlations({"a": x, "b": -x ** 3, "c": np.ones(10)}, 2 * x)
    >>> {k: round(v, 6) for k, v in rho.items()}
    {'a': 1.0, 'b': -1.0}
    """
    from scipy.stats import spearmanr

    out = {}
    y = np.asarray(output, float)
    for name, v in inputs.items():
        v = np.asarray(v, float)
        if v.size == y.size and np.ptp(v) > 0 and np.ptp(y) > 0:
            out[name] = float(spearmanr(v, y).statistic)
    return out


def _lhs_strata(k: int, seed: int) -> list[tuple[float, float]]:
    """(DR capacity factor, phase-1 drop) at the midpoints of k strata each, randomly paired."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1_000_003,)))
    mid = (np.arange(k) + 0.5) / k
    cap = DR_CAPACITY_FACTOR.low + (DR_CAPACITY_FACTOR.high - DR_CAPACITY_FACTOR.low) * mid
    drop = PHASE1_DROP.low + (PHASE1_DROP.high - PHASE1_DROP.low) * rng.permutation(mid)
    return [(float(c), float(d)) for c, d in zip(cap, drop, strict=True)]


def _stratum_seed(seed: int, k: int) -> int:
    return int(np.random.SeedSequence(seed, spawn_key=(k,)).generate_state(1)[0])


def _split(total: int, k: int) -> list[int]:
    return [total // k + (1 if i < total % k else 0) for i in range(k)]


def _clock(hours_after: float, start: str = "06:24") -> str:
    """Clock time ``hours_after`` the start, to the nearest minute.

    Examples
    --------
    >>> _clock(2.433333), _clock(10.533333)
    ('08:50', '16:56')
    """
    hh, mm = (int(x) for x in start.split(":"))
    t = datetime(2023, 6, 25, hh, mm) + timedelta(minutes=round(float(hours_after) * 60))
    return t.strftime("%H:%M")


def _stamp(hours_after: float, start: str = "06:24") -> str:
    hh, mm = (int(x) for x in start.split(":"))
    t = datetime(2023, 6, 25, hh, mm) + timedelta(hours=float(hours_after))
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _bin_edges(phase_ends: Sequence[float], start: str, quick: bool) -> list[float]:
    """Cut points (hours after the start): phase ends, plus whole clock hours in full runs."""
    edges = {round(float(e), 6) for e in phase_ends}
    if not quick:
        mm = int(start.split(":")[1])
        first = (60 - mm) / 60.0 if mm else 1.0
        t = first
        end = max(phase_ends)
        while t < end:
            if min(abs(t - e) for e in phase_ends) > 0.25:
                edges.add(round(t, 6))
            t += 1.0
    return sorted(edges)


# ----------------------------------------------------------------------------- the runs
def _overrides(cf: Counterfactual) -> dict[str, Any]:
    """Caller ranges for replay_incident: the same structure for every strategy (paired draws)."""
    out = {k: r.override() for k, r in CALLER_RANGES.items() if k not in ("compliance", "advice_hour")}
    c = CALLER_RANGES["compliance"]
    out["compliance"] = {line: (min(max(v + c.low, 0.0), 1.0), min(max(v + c.high, 0.0), 1.0))
                         for line, v in sorted(cf.compliance.items())}
    a = CALLER_RANGES["advice_hour"]
    width = a.high - a.low
    out["advice_hour"] = (cf.advice_hour, cf.advice_hour + width)
    return out


def _run_strategy(base: Scenario, run: StrategyRun, strata: list[tuple[float, float]], reps: list[int],
                  seeds: list[int], trunc_edges: Sequence[float] = (), trunc_reps: int = 0) -> dict[str, Any]:
    t0 = time.perf_counter()
    scen = apply_strategies(base, [load_strategy(s) for s in run.strategies])
    cf = counterfactual_of(scen, base, detect_immediately=run.detect_immediately)
    raw = base.raw["incidents"][INCIDENT]
    incidents: dict[str, Any] = {}
    for k, (cap, drop) in enumerate(strata):
        incidents[f"{INCIDENT}__s{k}"] = incident_variant(raw, cf, capacity_factor=cap, drop_fraction=drop)
        for j, t in enumerate(trunc_edges):
            incidents[f"{INCIDENT}__s{k}__t{j}"] = incident_variant(raw, cf, capacity_factor=cap,
                                                                   drop_fraction=drop, until=t)
    model = build_time_model(scen.extend({"incidents": incidents}, where="<bt_outage_2023 variants>"))
    ovr = _overrides(cf)
    cols: dict[str, list[np.ndarray]] = {c: [] for c in COUNTS}
    params: dict[str, list[np.ndarray]] = {}
    per_stratum = []
    for k, (cap, drop) in enumerate(strata):
        out = replay_incident(model, f"{INCIDENT}__s{k}", replications=reps[k], seed=seeds[k], overrides=ovr,
                              tail_hours=TAIL_HOURS)
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
                out = replay_incident(model, f"{INCIDENT}__s{k}__t{j}", replications=trunc_reps,
                                      seed=seeds[k], overrides=ovr, tail_hours=TAIL_HOURS)
                cumulative[j, k * trunc_reps:(k + 1) * trunc_reps] = out["per_replication"]["failed_attempts"]
    arrays = {c: np.concatenate(v) for c, v in cols.items()}
    dr_cap = scen.spec.call_handling_platforms[DR].capacity
    return {
        "run": run, "scenario": scen, "counterfactual": cf, "arrays": arrays, "per_stratum": per_stratum,
        "parameters": {name: np.concatenate(v) for name, v in params.items()},
        "cumulative": cumulative, "seconds": time.perf_counter() - t0,
        "dr_concurrent": dr_cap.concurrent_calls if dr_cap else None,
        "dr_queue": dr_cap.queue_limit if dr_cap else None,
    }


# ----------------------------------------------------------------------------- figures
def _esc(x: Any) -> str:
    return html.escape(str(x), quote=False)


def timeline_figure(phases: Sequence[Mapping[str, Any]], advice_hour: float,
                    bins: Sequence[Mapping[str, Any]], start: str) -> go.Figure:
    """Gantt bars of the incident's phases over expected failed attempts per 10 minutes."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.32, 0.68], vertical_spacing=0.06)
    for i, p in enumerate(phases):
        name = f"Phase {i + 1}"
        fig.add_trace(go.Scatter(
            x=[_stamp(p["start_hour"], start), _stamp(p["end_hour"], start)], y=[name, name], mode="lines",
            line={"width": 22, "color": PALETTE[(i + 1) % len(PALETTE)]}, showlegend=False,
            hovertext=f"<b>{_esc(name)}</b><br>{_esc(p['label'])}", hoverinfo="text"), row=1, col=1)
    fig.add_trace(go.Scatter(
        x=[_stamp(advice_hour, start)] * 2, y=["Phase 1", f"Phase {len(phases)}"], mode="lines+markers",
        line={"dash": "dot", "color": "#334155", "width": 1.5}, marker={"size": 6}, showlegend=False,
        hovertext=f"public advice to ring 101/111 from about {_clock(advice_hour, start)}", hoverinfo="text"),
        row=1, col=1)
    x = [_stamp((b["start_hour"] + b["end_hour"]) / 2, start) for b in bins]
    width = [(b["end_hour"] - b["start_hour"]) * 3_600_000 * 0.96 for b in bins]
    y = [b["failed_attempts_per_10min"] for b in bins]
    hover = [f"{b['start_clock']}–{b['end_clock']}<br>{format_number(b['failed_attempts_per_10min'])} failed "
             f"attempts per 10 min<br>{format_number(b['failed_attempts_mean'])} in the bin (mean)"
             for b in bins]
    fig.add_trace(go.Bar(x=x, y=y, width=width, marker={"color": PALETTE[0]}, hovertext=hover,
                         hoverinfo="text", showlegend=False), row=2, col=1)
    fig.update_layout(template=nines_template(), height=560, bargap=0,
                      title={"text": "25 June 2023: phases and expected failed attempts (status quo)"},
                      margin={"t": 60})
    fig.update_yaxes(autorange="reversed", row=1, col=1, showgrid=False)
    fig.update_yaxes(title_text="failed attempts per 10 min", row=2, col=1)
    fig.update_xaxes(type="date", tickformat="%H:%M", row=2, col=1, title_text="time on 25 June 2023")
    fig.update_xaxes(type="date", tickformat="%H:%M", row=1, col=1)
    return fig


# ----------------------------------------------------------------------------- main
def _dist_text(d: Mapping[str, float]) -> str:
    return f"90% interval {format_number(round(d['p05']))} – {format_number(round(d['p95']))}"


def main(argv: list[str] | None = None) -> int:
    p = study_parser(NAME, __doc__.splitlines()[0])
    p.add_argument("--replications", type=int, default=None,
                   help=f"replications per strategy (default {FULL_REPLICATIONS}; "
                        f"{QUICK_REPLICATIONS} with --quick)")
    args = p.parse_args(argv)
    reps_total = args.replications
    if reps_total is None:
        reps_total = QUICK_REPLICATIONS if args.quick else FULL_REPLICATIONS
    if reps_total < 2:
        raise ValueError(f"--replications {reps_total}: need at least 2 (percentiles of replications)")
    if args.seed < 0:
        raise ValueError(f"--seed {args.seed}: must be >= 0")
    study = Study(NAME, args)
    base = load_scenario(args.scenario)
    if INCIDENT not in base.spec.incidents:
        raise ValueError(f"scenario {base.spec.name!r} has no incident {INCIDENT!r}; use uk999 or a scenario "
                         "that extends it")
    if DR not in base.spec.call_handling_platforms or PRIMARY not in base.spec.call_handling_platforms:
        raise ValueError(f"scenario {base.spec.name!r} lacks the platforms {PRIMARY!r} and {DR!r}")
    raw = base.raw["incidents"][INCIDENT]
    _check_incident(raw)
    inc = base.spec.incidents[INCIDENT]
    n_strata = min(QUICK_STRATA if args.quick else FULL_STRATA, reps_total)
    strata = _lhs_strata(n_strata, args.seed)
    reps = _split(reps_total, n_strata)
    seeds = [_stratum_seed(args.seed, k) for k in range(n_strata)]
    phase_ends = [float(ph.end_hour) for ph in inc.phases]
    edges = _bin_edges(phase_ends, inc.start_clock, args.quick)
    trunc_reps = 3 if args.quick else 10

    results: dict[str, dict[str, Any]] = {}
    for run in STRATEGY_RUNS:
        sq = run.key == "status_quo"
        results[run.key] = _run_strategy(base, run, strata, reps, seeds, edges if sq else (),
                                         trunc_reps if sq else 0)
        r = results[run.key]
        print(f"  {run.key}: failed callers median {np.median(r['arrays']['failed_callers']):,.0f} "
              f"({r['seconds']:.1f} s)", file=sys.stderr)
    sq = results["status_quo"]

    # per time bin and per phase (cumulative failed attempts at each cut, differenced)
    cum = sq["cumulative"]
    cum0 = np.vstack([np.zeros((1, cum.shape[1])), cum])
    starts = [0.0, *edges[:-1]]
    bins = []
    for j, (a, b) in enumerate(zip(starts, edges, strict=True)):
        m = float((cum0[j + 1] - cum0[j]).mean())
        bins.append({"start_hour": a, "end_hour": b, "start_clock": _clock(a, inc.start_clock),
                     "end_clock": _clock(b, inc.start_clock), "failed_attempts_mean": m,
                     "failed_attempts_per_10min": m / ((b - a) * 6.0)})
    phase_rows = []
    prev = 0.0
    prev_col = np.zeros(cum.shape[1])
    for i, ph in enumerate(inc.phases):
        j = edges.index(round(float(ph.end_hour), 6))
        d = cum[j] - prev_col
        phase_rows.append({"phase": i + 1, "start": _clock(prev, inc.start_clock),
                           "end": _clock(float(ph.end_hour), inc.start_clock), "label": ph.label,
                           "failed_attempts": summary(d)})
        prev, prev_col = float(ph.end_hour), cum[j]

    # strategies, paired against the status quo
    strat_rows = []
    for run in STRATEGY_RUNS:
        r = results[run.key]
        scen = r["scenario"]
        info = scen.spec.strategy
        label = run.label or (info.label if info else run.key)
        row = {
            "key": run.key, "label": label, "strategies": list(run.strategies),
            "sensitivity": run.sensitivity,
            "description": info.description if info else "",
            "annual_cost_gbp": info.annual_cost_gbp if info else None,
            "timeline": r["counterfactual"].describe(inc.advice_hour or 2.1),
            "dr_concurrent_calls": r["dr_concurrent"], "dr_queue_limit": r["dr_queue"],
            "failed_callers": summary(r["arrays"]["failed_callers"]),
            "failed_attempts": summary(r["arrays"]["failed_attempts"]),
            "connected_via_fallback": summary(r["arrays"]["connected_via_fallback"]),
            "calls_saved": paired_saving(sq["arrays"]["failed_callers"], r["arrays"]["failed_callers"]),
            "attempts_saved": paired_saving(sq["arrays"]["failed_attempts"], r["arrays"]["failed_attempts"]),
            "seconds": r["seconds"],
        }
        strat_rows.append(row)

    runtime = time.perf_counter() - study.started
    prov = study.provenance(
        base, method="incident replay (time engine, model.sim.engine.replay_incident) with an outer "
        "stratified "
        "loop over DR capacity and phase-1 drop", replications=reps_total, strata=n_strata,
        replications_per_stratum=reps, stratum_seeds=seeds, truncation_replications_per_stratum=trunc_reps,
        study_seconds=round(runtime, 2))
    report_data = _results_json(args, base, inc, strata, seeds, reps, results, bins, phase_rows,
                                strat_rows, prov)
    fc, fa = report_data["predicted_failed_callers"], report_data["predicted_failed_attempts"]
    rep = _build_report(base, inc, report_data, results, strata)
    rep.provenance(prov)
    report_data["compliance"] = study.compliance(rep, base)
    html_path, json_path = study.write(rep, report_data)
    print(f"wrote {html_path} and {json_path}")
    print(f"predicted failed callers {fc['median']:,.0f} (90% {fc['p05']:,.0f}-{fc['p95']:,.0f}); "
          f"failed attempts {fa['median']:,.0f} (90% {fa['p05']:,.0f}-{fa['p95']:,.0f}); "
          f"{reps_total} replications, {runtime:.0f} s")
    return 0


def _results_json(args, base, inc, strata, seeds, reps, results, bins, phase_rows, strat_rows,
                  prov) -> dict[str, Any]:
    sq = results["status_quo"]
    draws = {name: summary(v) for name, v in sq["parameters"].items()}
    same = all(np.array_equal(r["parameters"][k], sq["parameters"][k]) for r in results.values()
               for k in ("redial_probability", "redial_delay_s", "max_attempts", "patience_s",
                         "dr_capacity_factor", "phase1_drop_fraction"))
    return {
        "study": NAME,
        "blind_prediction": True,
        "statement": ("Blind prediction: every input comes from a cited source or a stated reason; none "
                      "was tuned to any reported count of failed calls. Counts are of genuine callers "
                      "(half of all 999 calls, BEDFORD_TODAY); silent and accidental calls are carried as "
                      "load but not followed as callers."),
        "scenario": base.spec.name,
        "incident": {"name": INCIDENT, "label": inc.label, "date": inc.date, "start_clock": inc.start_clock,
                     "advice_hour": inc.advice_hour, "source": inc.source,
                     "phases": [{"start_hour": ph.start_hour, "end_hour": ph.end_hour, "label": ph.label}
                                for ph in inc.phases]},
        "predicted_failed_attempts": summary(sq["arrays"]["failed_attempts"]),
        "predicted_failed_callers": summary(sq["arrays"]["failed_callers"]),
        "connected_via_fallback": summary(sq["arrays"]["connected_via_fallback"]),
        "connected_after_redial": summary(sq["arrays"]["connected_after_redial"]),
        "genuine_calls": summary(sq["arrays"]["genuine_calls"]),
        "per_phase": phase_rows,
        "time_bins": bins,
        "time_bins_replications": int(sq["cumulative"].shape[1]),
        "uncertain_inputs": {**{k: r.to_dict() for k, r in CALLER_RANGES.items()},
                             "dr_capacity_factor": DR_CAPACITY_FACTOR.to_dict(),
                             "phase1_drop_fraction": PHASE1_DROP.to_dict()},
        "parameter_draws": {
            "summary": draws,
            "identical_across_strategies": same,
            "strata": [{"stratum": s["stratum"], "dr_capacity_factor": s["dr_capacity_factor"],
                        "dr_concurrent_calls": s["dr_capacity_factor"] * (sq["dr_concurrent"] or 0),
                        "phase1_drop_fraction": s["phase1_drop_fraction"], "seed": s["seed"],
                        "replications": s["replications"], "failed_callers": s["failed_callers"]}
                       for s in sq["per_stratum"]],
        },
        "input_rank_correlation": rank_correlations(sq["parameters"], sq["arrays"]["failed_callers"]),
        "strategies": strat_rows,
        "replications": int(sum(reps)),
        "strata": len(strata),
        "seed": args.seed,
        "common_random_numbers": ("every strategy uses the same strata, seeds and replications, so caller "
                                  "parameters are drawn identically and differences are per replication"),
        "provenance": prov,
    }


def _build_report(base: Scenario, inc, data: Mapping[str, Any], results, strata) -> Report:
    fc, fa = data["predicted_failed_callers"], data["predicted_failed_attempts"]
    fb = data["connected_via_fallback"]
    rows = {r["key"]: r for r in data["strategies"]}
    sq = results["status_quo"]
    rep = Report("BT 999 outage, 25 June 2023: a blind replay",
                 subtitle=f"{base.label}; {data['replications']} replications per strategy over "
                          f"{data['strata']} strata of DR capacity and phase-1 loss; seed {data['seed']}")
    rep.key_number("failed_callers", "Predicted failed callers (never got through)", round(fc["median"]),
                   _dist_text(fc), note="genuine callers who gave up or ran out of patience; median")
    rep.key_number("failed_attempts", "Predicted failed 999 attempts", round(fa["median"]), _dist_text(fa),
                   note="attempts by genuine callers that did not connect; median")
    rep.key_number("via_fallback", "Connected via 101/111 or direct lines", round(fb["median"]),
                   _dist_text(fb))
    ar = data["connected_after_redial"]
    rep.key_number("after_redial", "Connected after redialling", round(ar["median"]), _dist_text(ar))
    for key, label in (("automatic_failover", "Saved by automatic failover"),
                       ("full_capacity_backup", "Saved by a full-capacity backup"),
                       ("automatic_failover+full_capacity_backup", "Saved by both together")):
        s = rows[key]["calls_saved"]
        rep.key_number(f"saved_{key.replace('+', '_and_')}", label, round(s["median"]), _dist_text(s),
                       note="failed callers avoided vs status quo (paired)")
    rep.paragraph(
        "This is a blind prediction. Every input is taken from a cited source or set by a stated reason "
        "(table at the end); nothing was tuned to any reported count of failed calls. It rests on: "
        "Ofcom's phase times (06:24, 07:33, 08:50, 16:56); the DR platform's 50-call queue limit; 35 m "
        "calls a year, half of them genuine, shaped by an hourly profile (Sunday morning); and ranges for "
        "what is not public — the DR platform's concurrent-call capacity (the largest source of "
        "uncertainty), the share of calls lost in phase 1 and how callers behave. Intervals are the "
        "5th–95th percentiles over the replications: they show the spread over those uncertain inputs, "
        "not sampling error alone.", note=True)

    rep.section("Timeline", "Ofcom's three phases, and the expected failed attempts per 10 minutes in the "
                "status-quo replay (mean over replications; each bin is the difference of replays cut at "
                "its two ends with the same seeds).")
    phases = [{"start_hour": ph.start_hour, "end_hour": ph.end_hour, "label": ph.label} for ph in inc.phases]
    rep.figure(timeline_figure(phases, inc.advice_hour or 2.1, data["time_bins"], inc.start_clock),
               caption="Top: phases (hover for Ofcom's account); dotted: public advice to ring 101/111. "
                       "Bottom: expected failed attempts per 10 minutes.")
    rep.table([{"phase": r["phase"], "from": r["start"], "to": r["end"], "what happened": r["label"],
                "failed attempts (mean)": r["failed_attempts"]["mean"],
                "median": r["failed_attempts"]["median"]} for r in data["per_phase"]],
              formats={"failed attempts (mean)": ",.0f", "median": ",.0f"},
              caption="Failed attempts by phase (differences of cut replays; "
                      f"{data['time_bins_replications']} replications each).")

    rep.section("How many callers failed to get through", "Distribution over the replications.")
    fcs = sq["arrays"]["failed_callers"]
    rep.figure(histogram(fcs, bins=30 if fcs.size >= 60 else "auto", markers={
        "median": fc["median"], "5th pct": fc["p05"], "95th pct": fc["p95"]},
        title="Predicted failed callers, status quo", x_title="genuine callers who never got through"),
        caption="Share of replications per bin.")
    caps = np.array([s["dr_capacity_factor"] for s in sq["per_stratum"]]) * (sq["dr_concurrent"] or 0)
    order = np.argsort(caps)
    series = {"status_quo": "Status quo", "automatic_failover": "Automatic failover"}
    med, lo, hi = [], [], []
    for key in series:
        st = results[key]["per_stratum"]
        med.append([st[i]["failed_callers"]["median"] for i in order])
        lo.append([st[i]["failed_callers"]["p05"] for i in order])
        hi.append([st[i]["failed_callers"]["p95"] for i in order])
    rep.figure(band_chart(caps[order], med, lo, hi, names=list(series.values()), band_label="90% band",
                          title="What the prediction rests on: the DR platform's capacity",
                          x_title="DR platform concurrent calls (stratum)", y_title="failed callers",
                          value_format=",.0f"),
               caption="Per stratum of DR capacity (its phase-1 loss is paired at random, Latin hypercube): "
                       "median and 5th–95th percentiles over the caller draws.")

    rho = data["input_rank_correlation"]
    if rho:
        names = sorted(rho, key=lambda k: -abs(rho[k]))
        lines = base.spec.fallback_lines

        def label(k: str) -> str:
            if k.startswith("compliance[") and k[11:-1] in lines:
                return f"Compliance with advice: {lines[k[11:-1]].number}"
            return INPUT_LABELS.get(k, k)

        rep.figure(ranked_bar([label(k) for k in names], [rho[k] for k in names], sort=False,
                              title="Which uncertain input moves the prediction most",
                              x_title="Spearman rank correlation with failed callers (status quo)",
                              value_format="+.2f"),
                   caption="Spearman rank correlation over the replications between each input drawn and "
                           "the failed callers (negative: more of the input, fewer failed callers). DR "
                           "capacity and the phase-1 loss take one value per stratum, paired at random, so "
                           "a small correlation of one can be borrowed from the other.")

    rep.section("Strategies on the same day", "Each strategy replays the same incident with the same "
                "strata, seeds and replications (common random numbers for caller parameters). Calls saved = "
                "status-quo failed callers minus the strategy's, replication by replication.")
    others = [r for r in data["strategies"] if r["key"] != "status_quo"]
    rep.figure(ranked_bar([r["label"] for r in others], [r["calls_saved"]["median"] for r in others],
                          [r["calls_saved"]["p05"] for r in others],
                          [r["calls_saved"]["p95"] for r in others],
                          title="Failed callers avoided vs status quo (median, 5th–95th pct of paired "
                                "differences)", x_title="callers saved", value_format=",.0f"),
               caption="Error bars: 5th–95th percentiles of the per-replication differences.")
    fig = ecdf({r["label"]: results[r["key"]]["arrays"]["failed_callers"] for r in data["strategies"]
                if not r["sensitivity"]},
               title="Failed callers under each strategy", x_title="failed callers",
               y_title="share of replications ≤ x")
    fig.update_layout(height=520, margin={"t": 150})  # room for a three-row legend under the title
    rep.figure(fig, caption="Empirical distribution over replications.")

    def span(d: Mapping[str, float]) -> str:
        return f"{format_number(round(d['p05']))} – {format_number(round(d['p95']))}"

    rep.table([{"strategy": r["label"], "failed callers": r["failed_callers"]["median"],
                "90% interval": span(r["failed_callers"]),
                "saved": r["calls_saved"]["median"] if r["key"] != "status_quo" else None,
                "saved, 90% interval": span(r["calls_saved"]) if r["key"] != "status_quo" else "—",
                "mean saved [95% CI]": (
                    f"{format_number(round(r['calls_saved']['mean']))} "
                    f"[{format_number(round(r['calls_saved']['mean_ci95'][0]))}, "
                    f"{format_number(round(r['calls_saved']['mean_ci95'][1]))}]" if r["key"] != "status_quo"
                    else "—"),
                "annual cost £": r["annual_cost_gbp"]} for r in data["strategies"]],
              formats={k: ",.0f" for k in ("failed callers", "saved", "annual cost £")},
              caption="Failed callers (median) and callers saved vs status quo (median of paired "
                      "differences) per strategy; costs are the strategies' stated order-of-magnitude "
                      "assumptions.")
    rep.table([{"strategy": r["label"], "how the 2023 timeline changes": r["timeline"],
                "DR concurrent calls": r["dr_concurrent_calls"], "DR queue limit": r["dr_queue_limit"]}
               for r in data["strategies"]],
              caption="Counterfactual timelines: how each strategy is applied to the prescribed incident.")

    rep.paragraph(
        "Limits. The model cannot represent: the degraded caller location on the DR platform (police "
        "said it was less effective at telling where callers were); text relay calls, which also failed; "
        "BT's call-backs to every missed caller afterwards (a failed caller here may have been reached "
        "later); callers who reach help by other means (driving to hospital, a neighbour) — they count as "
        "failed. The ~30 s extra connection delay reported by some fire services is applied to every fire "
        "room (an upper bound). Callers who turn to 101/111 stay with that line; its own load and staff are "
        "assumptions (A_FALLBACK). Non-genuine calls (about half) load the platforms but are not followed, "
        "so failed attempts here are genuine callers' attempts only. Counterfactual timelines are rules, "
        "not history: an automatic switch that detects the fault at once is the strategy's own definition; "
        "the sensitivity row keeps BT's 69-minute diagnosis. Mobile direct routing: the direct routes "
        "are a standby used while BT's primary platform is down, so in phase 3 (primary down, DR serving) "
        "mobile calls split between the DR and the direct routes in proportion to servers; a rule that "
        "used them only while no call-handling platform works would save less. Backup queue 420: the queue "
        "holds calls rather than adding servers, and the model has no abandonment from the queue, so when "
        "the offered load exceeds the DR's servers a longer queue changes little.", note=True)
    rep.section("The network", "Callers → originating networks → BT platforms → centres → control rooms; "
                "colour: share of national demand a single outage of that element cuts.")
    rep.figure(network_diagram(build_network(base)), height=720)
    rep.convergence(running_mean_figure(fcs, x_title="replications (status quo)",
                                        y_title="mean failed callers"),
                    caption="Running mean of failed callers over the status-quo replications, 95% interval.")
    rep.assumptions(_assumption_rows(base, inc))
    return rep


def _assumption_rows(base: Scenario, inc) -> list[tuple[str, str, str]]:
    s = base.spec
    dr = s.call_handling_platforms[DR].capacity
    rows: list[tuple[str, str, str]] = [
        ("Phases", "06:24–07:33 degraded; 07:33–08:50 total outage; 08:50–16:56 on the DR platform",
         "OFCOM_FINE (H): " + s.sources.get("OFCOM_FINE", "")),
        ("DR platform queue limit", str(dr.queue_limit if dr else "—"),
         s.sources.get("SIMWOOD_2024", "SIMWOOD_2024")),
        ("DR platform concurrent calls (scenario value)", str(dr.concurrent_calls if dr else "—"),
         "assumption: " + s.sources.get("A_DR_CAPACITY", "A_DR_CAPACITY")),
        ("Calls a year (all 999/112)", f"{s.traffic.annual_calls:,.0f}", s.sources.get("K1", "K1")),
        ("Genuine share of calls", f"{s.traffic.genuine_share:.0%}",
         s.sources.get("BEDFORD_TODAY", "BEDFORD_TODAY")),
        ("Hourly profile", "peak 1.49×, trough 0.43× the mean hour", s.sources.get("HOURLY_L", "HOURLY_L")),
        ("Sunday factor", f"{s.traffic.weekly_profile[6] if s.traffic.weekly_profile else 1.0}",
         "assumption: " + s.sources.get("A_WEEKLY", "A_WEEKLY")),
        ("Call-handling time", "35 s", s.sources.get("COURIER_80Y", "COURIER_80Y")),
        ("Extra delay at fire rooms on the DR", "30 s, every fire room (upper bound)",
         "uk999-system.md (M): some fire services reported ~30 s extra delay"),
        ("Public advice (101, 111, direct numbers)", f"from about {_clock(inc.advice_hour or 2.1)}",
         "uk999-system.md (M); COMPUTING_2023 (M)"),
    ]
    for name, ln in s.fallback_lines.items():
        rows.append((f"Fallback line {ln.number}", f"{ln.agents} agents, {ln.handling_time_s:.0f} s per "
                     f"call, {ln.normal_calls_per_hour:,.0f} own calls/h", ln.source or name))
    for r in (*CALLER_RANGES.values(), DR_CAPACITY_FACTOR, PHASE1_DROP):
        val = f"{r.low:g}–{r.high:g}, {r.distribution} (scenario: {r.scenario_value})"
        src = f"assumption (stated reason): {r.reason}"
        rows.append((r.parameter, val, src))
    return rows


if __name__ == "__main__":
    sys.exit(run_study(main))
