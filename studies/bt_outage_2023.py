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
(the package installed, e.g. ``pip install -e .``)
"""

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.cli.study import Study, network_diagram, run_study, running_mean_figure, study_parser
from model.metrics.replications import paired_saving, rank_correlations, spread
from model.network.callnetwork import build_network
from model.report import Report, band_chart, ecdf, format_number, histogram, incident_timeline, ranked_bar
from model.scenario.loader import Scenario, load_scenario
from model.scenario.strategies import apply_strategies, load_strategy
from model.sim.incidents import (
    Counterfactual,
    bin_edges,
    check_incident,
    clock,
    counterfactual_of,
    lhs_strata,
    phase_differences,
    replay_strata,
    split_replications,
    stratum_seeds,
    time_bins,
)

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


def describe(cf: Counterfactual, base_advice: float) -> str:
    """How a counterfactual changes the 2023 timeline, in words (for the report)."""
    parts = []
    if cf.automatic_delay_h is None:
        parts.append("2023 timeline: manual switch, first attempt fails, total outage 07:33-08:50")
    elif cf.detect_immediately:
        parts.append(f"automatic switch {cf.automatic_delay_h * 3600:.0f} s after 06:24; traffic on "
                     "the DR from then to 16:56; no failed manual switch")
    else:
        parts.append(f"phase 1 unchanged (06:24-07:33, BT diagnosing); then automatic switch in "
                     f"{cf.automatic_delay_h * 3600:.0f} s; no failed manual switch")
    parts.append("DR capacity uncertain as status quo" if cf.dr_factor_applies
                 else "DR sized by the strategy (no capacity uncertainty)")
    if cf.advice_hour < base_advice - 1e-9:
        parts.append(f"public advice from {_clock(cf.advice_hour)} instead of {_clock(base_advice)}")
    if cf.compliance_changed:
        parts.append("compliance with the advice centred on " + ", ".join(
            f"{k} {v:g}" for k, v in sorted(cf.compliance.items())))
    return "; ".join(parts)


def _clock(hours_after: float) -> str:
    return clock(hours_after, "06:24")


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
                  seeds: list[int], trunc_edges=(), trunc_reps: int = 0) -> dict[str, Any]:
    scen = apply_strategies(base, [load_strategy(s) for s in run.strategies])
    cf = counterfactual_of(scen, base, INCIDENT, PRIMARY, DR, detect_immediately=run.detect_immediately)
    out = replay_strata(base, scen, cf, INCIDENT, PRIMARY, DR, strata, reps, seeds, _overrides(cf),
                        counts=COUNTS, tail_hours=TAIL_HOURS, trunc_edges=trunc_edges, trunc_reps=trunc_reps,
                        where="<bt_outage_2023 variants>")
    return {"run": run, "scenario": scen, "counterfactual": cf, **out}


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
    check_incident(raw, INCIDENT, PRIMARY, DR)
    inc = base.spec.incidents[INCIDENT]
    n_strata = min(QUICK_STRATA if args.quick else FULL_STRATA, reps_total)
    strata = lhs_strata(n_strata, args.seed, (DR_CAPACITY_FACTOR.low, DR_CAPACITY_FACTOR.high),
                        (PHASE1_DROP.low, PHASE1_DROP.high))
    reps = split_replications(reps_total, n_strata)
    seeds = stratum_seeds(args.seed, n_strata)
    phase_ends = [float(ph.end_hour) for ph in inc.phases]
    edges = bin_edges(phase_ends, inc.start_clock, whole_hours=not args.quick)
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
    bins = time_bins(sq["cumulative"], edges, inc.start_clock)
    starts = [0.0, *phase_ends[:-1]]
    per_phase = phase_differences(sq["cumulative"], edges, phase_ends)
    phase_rows = [{"phase": i + 1, "start": clock(a, inc.start_clock), "end": clock(b, inc.start_clock),
                   "label": ph.label, "failed_attempts": spread(d)}
                  for i, (ph, a, b, d) in enumerate(zip(inc.phases, starts, phase_ends, per_phase,
                                                        strict=True))]

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
            "timeline": describe(r["counterfactual"], inc.advice_hour or 2.1),
            "dr_concurrent_calls": r["dr_concurrent"], "dr_queue_limit": r["dr_queue"],
            "failed_callers": spread(r["arrays"]["failed_callers"]),
            "failed_attempts": spread(r["arrays"]["failed_attempts"]),
            "connected_via_fallback": spread(r["arrays"]["connected_via_fallback"]),
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
    draws = {name: spread(v) for name, v in sq["parameters"].items()}
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
        "predicted_failed_attempts": spread(sq["arrays"]["failed_attempts"]),
        "predicted_failed_callers": spread(sq["arrays"]["failed_callers"]),
        "connected_via_fallback": spread(sq["arrays"]["connected_via_fallback"]),
        "connected_after_redial": spread(sq["arrays"]["connected_after_redial"]),
        "genuine_calls": spread(sq["arrays"]["genuine_calls"]),
        "per_phase": phase_rows,
        "time_bins": bins,
        "time_bins_replications": int(sq["cumulative"].shape[1]),
        "tail_hours": TAIL_HOURS,
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
    rep.figure(incident_timeline(phases, inc.advice_hour or 2.1, data["time_bins"], inc.start_clock, inc.date,
                                 title="25 June 2023: phases and expected failed attempts (status quo)"),
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
    best_here = max(others, key=lambda r: r["calls_saved"]["median"]) if others else None
    if best_here is not None:
        rep.paragraph(
            f"Why this ranking differs from the flagship's (fallback_strategies): this replay weighs one "
            f"national outage of the call-handling platforms, in which {best_here['label']} saves the most "
            f"({format_number(round(best_here['calls_saved']['median']))} callers, median). The flagship "
            "averages decades of simulated years, nearly all of them without a platform-wide event, so "
            "there the strategies that help in routine outages of networks and links (such as early public "
            "diversion) come first, while those aimed at the platforms only move the small share of failed "
            "calls that platform-wide events cause (its 'Routine outages and platform-wide events' table). "
            "Both are right about different questions: how bad a day like 25 June 2023 would be, and what "
            "an average year costs.")
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
