"""Failover delay and backup capacity: the levers Ofcom named, with Sobol indices and uncertainty bands.

How many genuine 999 calls a year fail because BT's call-handling platform fails, as a
function of how long traffic takes to reach the disaster-recovery (DR) platform (an
automatic switch in seconds, or the manual procedure of detection and switch attempts
in hours) and of the DR's capacity (concurrent calls and queue places: 49/50 as in
June 2023, 49/420 since, 98/1000 = the primary's)? Which uncertain inputs drive the
answer (Sobol indices, tornado), and how wide is it once they are propagated (bands)?

Writes ``failover_delay.html`` and ``failover_delay.json``.

Method (conditional design, see the report's Method section): platform outages are
rare (about one in 86 years), so simulating plain years wastes almost all the time on
years without one. Instead the time engine replays *sampled platform outages only*
(start time across the week, repair time from the scenario) and measures the calls
lost in each as a function of the failover window ``w`` at a grid of knots; any
switch policy is then integrated over its delay distribution, and the yearly figure
is ``rate of outages × expected calls lost per outage``. The rest of the network is
simulated once in plain years (it does not depend on the levers).

The estimator is :mod:`model.sim.failover_windows`; this script is its configuration
(levels, uncertain inputs and their sources), the library calls, the JSON and the report.

Run: ``python studies/failover_delay.py [--out DIR] [--quick] [--seed N] [--workers N]``
(the package installed, e.g. ``pip install -e .``)
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from typing import Any

import numpy as np

from model.cli.study import Study, network_diagram, run_study, running_mean_figure, study_parser
from model.metrics.sensitivity import (
    UncertainParameter,
    apply_parameters,
    propagate,
    sobol_indices,
    tornado_data,
)
from model.network.callnetwork import build_network
from model.processes.distributions import parse_distribution
from model.report import (
    Report,
    band_chart,
    format_number,
    format_percent,
    log_heatmap,
    sobol_bars,
    tornado,
)
from model.run.seeds import child_seed
from model.scenario.loader import Scenario, load_scenario
from model.scenario.strategies import apply_strategies, load_strategy
from model.sim.engine import simulate
from model.sim.failover_windows import (
    KNOTS,
    Capacity,
    Design,
    FailoverSetup,
    KnotValues,
    WindowModel,
    capacity_scenario,
    delay_design,
    direct_check,
    evaluate_points,
    knot_values,
    make_setup,
    normal_estimate,
    outage_design,
    per_outage_curves,
    window_weights,
)

NAME = "failover_delay"

QUICK = {
    "outages": 8,
    "delay_draws": 64,
    "sobol_n": 64,
    "bands": 64,
    "baseline_years": 30,
    "check_years": 0,
    "check_replicates": 1,
    # values the backup's concurrent calls (fractions of the primary's) and the redial probability take
    "cap_fractions": (0.25, 0.5, 1.0),
    "redial_levels": (0.5, 0.95),
    "check_point": (0.25, 0.5),  # (capacity fraction, redial) of the fourth whole-replay check
}
FULL = {
    "outages": 64,
    "delay_draws": 256,
    "sobol_n": 512,
    "bands": 512,
    "baseline_years": 800,
    "check_years": 1500,
    "check_replicates": 2,
    "cap_fractions": (0.25, 0.375, 0.5, 0.625, 0.75, 1.0),
    "redial_levels": (0.5, 0.95),
    "check_point": (0.625, 0.5),
}

#: Manual sweep: multipliers of the scenario's detection delay and switch time (means).
MANUAL_FACTORS = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0, 2.0, 4.0)
#: Automatic sweep: mean delay of an automatic switch, hours (5 s ... 1 h).
AUTO_DELAYS_H = (5 / 3600, 30 / 3600, 2 / 60, 10 / 60, 0.5, 1.0)
QUEUE_NOW = 420  # SIMWOOD_2024 (M): the DR's queue limit since June 2023


# ----------------------------------------------------------------------------- configuration
def _delay_param(
    name: str, group_path: str, key: str, spec, low: float, high: float, source: str
) -> UncertainParameter:
    if spec.distribution == "lognormal":
        if spec.sd_hours is None or abs(spec.sd_hours - spec.mean_hours) > 1e-9 * spec.mean_hours:
            raise ValueError(
                f"{group_path}.{key}: the study varies a lognormal delay with sd = mean "
                f"(as in uk999, A_SWITCH); this scenario has sd {spec.sd_hours} and mean "
                f"{spec.mean_hours}"
            )
        paths = (f"{group_path}.{key}.mean_hours", f"{group_path}.{key}.sd_hours")
    elif spec.distribution == "exponential":
        paths = (f"{group_path}.{key}.mean_hours",)
    else:
        raise ValueError(
            f"{group_path}.{key}: the study varies exponential or lognormal delays, not {spec.distribution!r}"
        )
    return UncertainParameter(name, paths, low, high, "loguniform", source, "h")


def study_setup(scenario: Scenario, cfg: dict[str, Any]) -> FailoverSetup:
    """The estimator's setup with the study's capacities: replayed levels, the 2023 queue, the primary's."""
    auto = load_strategy("automatic_failover").overlay["redundancy_groups"]
    auto_spec = parse_distribution(next(iter(auto.values()))["failover_delay"], "automatic_failover")
    s = make_setup(scenario, auto_spec, cfg["cap_fractions"], cfg["redial_levels"])
    c0 = s.backup_calls
    caps = tuple(dataclasses.replace(c, label=f"{c.label} (2023)") if c.key == "status_quo" else c
                 for c in s.capacities)
    caps += (
        Capacity("queue_now", f"{c0} calls, queue {QUEUE_NOW} (since 2023)", c0, QUEUE_NOW),
        Capacity("full", f"{s.primary_calls} calls, queue {s.primary_queue} (= primary)", s.primary_calls,
                 s.primary_queue),
    )
    return dataclasses.replace(s, capacities=caps)


def uncertain_parameters(setup: FailoverSetup) -> tuple[tuple[UncertainParameter, ...], dict[str, float]]:
    """The seven uncertain inputs (ranges and sources) and their values in the scenario."""
    s = setup.scenario.spec
    grp = s.redundancy_groups[setup.group]
    gpath = f"redundancy_groups.{setup.group}"
    levels, c0, redial = setup.cap_levels, setup.backup_calls, setup.redial_levels
    primary, backup, ccf = setup.primary, setup.backup, setup.ccf
    p0 = float(s.callers.redial_probability)
    params = (
        _delay_param(
            "detection delay (mean)",
            gpath,
            "detection_delay",
            grp.detection_delay,
            grp.detection_delay.mean_hours / 4,
            grp.detection_delay.mean_hours * 4,
            "assumption: a factor 4 either side of the one observation (69 min on 25 Jun 2023, A_SWITCH, "
            "OFCOM_FINE); log-uniform",
        ),
        _delay_param(
            "switch attempt time (mean)",
            gpath,
            "switch_time",
            grp.switch_time,
            grp.switch_time.mean_hours / 4,
            grp.switch_time.mean_hours * 4,
            "assumption: a factor 4 either side of 38.5 min per attempt (A_SWITCH, OFCOM_FINE); log-uniform",
        ),
        UncertainParameter(
            "switch failure probability",
            f"{gpath}.switch_failure_probability",
            0.1,
            0.9,
            "uniform",
            "derived: ~ the Jeffreys 90 % interval (0.10-0.90) for 1 failed attempt "
            "in 2 (A_SWITCH, one incident)",
        ),
        UncertainParameter(
            "DR concurrent calls",
            f"call_handling_platforms.{backup}.capacity.concurrent_calls",
            levels[0],
            levels[-1],
            "discrete",
            f"assumption: equally likely levels {', '.join(map(str, levels))} from a quarter to all of the "
            f"primary's capacity; {c0} = half is itself an assumption (A_DR_CAPACITY); queue limit kept at "
            "its 2023 value (SIMWOOD_2024)",
            "calls",
            levels=levels,
        ),
        UncertainParameter(
            "platform failure rate",
            (
                f"call_handling_platforms.{primary}.failure.failures_per_year",
                f"call_handling_platforms.{backup}.failure.failures_per_year",
            ),
            0.0006,
            0.055,
            "loguniform",
            "derived: exact Poisson 90 % interval for 1 event in 86 years (PARL_2024; scenario "
            "comment at [call_handling_platforms]); log-uniform, mean 0.0120 ~ 1/86",
            "/yr",
        ),
        UncertainParameter(
            "common-cause beta",
            f"common_cause_groups.{ccf}.beta" if ccf else "x.beta",
            0.02,
            0.10,
            "uniform",
            "BETA_SIL (M): beta 2-10 % (A_BETA)",
        ),
        UncertainParameter(
            "redial probability",
            "callers.redial_probability",
            redial[0],
            redial[-1],
            "discrete",
            f"assumption: equally likely levels {', '.join(f'{x:g}' for x in redial)}; {p0:g} is an "
            "uncalibrated example (GRAPHITTI_L); no published 999 redial rate (traffic-and-capacity.md, "
            "Gaps)",
            levels=redial,
        ),
    )
    base = {
        "detection delay (mean)": float(grp.detection_delay.mean_hours),
        "switch attempt time (mean)": float(grp.switch_time.mean_hours),
        "switch failure probability": float(grp.switch_failure_probability),
        "DR concurrent calls": float(c0),
        "platform failure rate": setup.rate_primary,
        "common-cause beta": setup.beta,
        "redial probability": p0,
    }
    return params, base


def _fmt_delay(h: float) -> str:
    if h < 1 / 60:
        return f"{h * 3600:.0f} s"
    if h < 1:
        return f"{h * 60:.0f} min"
    return f"{h:.3g} h"


# ----------------------------------------------------------------------------- main

def check_verdict(direct: float, estimator: float, z: float) -> str:
    """A check passes only when the two agree in size, not just within a wide interval."""
    if not np.isfinite(z) or abs(z) >= 3:
        return "disagree"
    lo, hi = sorted((abs(direct), abs(estimator)))
    return "agree" if hi == 0 or lo / hi >= 1 / 1.2 else "inconclusive"

def main(argv: list[str] | None = None) -> int:
    parser = study_parser(NAME, __doc__.splitlines()[0])
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes for the engine replays when run as a script (default: 2, or 1 on a single "
        "core); results do not depend on it",
    )
    args = parser.parse_args(argv)
    study = Study(NAME, args)
    cfg = QUICK if args.quick else FULL
    workers = args.workers if args.workers is not None else min(2, os.cpu_count() or 1)
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    scenario = load_scenario(args.scenario)
    setup = study_setup(scenario, cfg)
    params, base = uncertain_parameters(setup)
    root = np.random.SeedSequence(args.seed)
    ss_design, ss_delay, ss_engine, ss_sobol, ss_band, ss_check, ss_base = root.spawn(7)
    timings: dict[str, float] = {}

    # 1. engine replays of sampled platform outages at the knots (all capacity and redial levels)
    t0 = time.perf_counter()
    design = outage_design(setup, cfg["outages"], ss_design)
    kv = knot_values(setup, design, ss_engine, workers=workers)
    dd = delay_design(setup, cfg["delay_draws"], ss_delay)
    model = WindowModel(setup, kv, dd)
    timings["engine_replays"] = time.perf_counter() - t0

    # 2. the rest of the network (independent of the levers): plain simulated years without platform failures
    t0 = time.perf_counter()
    rate_par = params[4]
    no_platform = apply_parameters(scenario, [rate_par], [0.0])
    base_res = simulate(
        no_platform,
        years=cfg["baseline_years"],
        seed=child_seed(ss_base, 0),
        chunk_years=max(10, cfg["baseline_years"] // 4),
    )
    base_sim = base_res.to_dict()
    genuine = float(base_sim["genuine_calls_per_year"])
    baseline = {**base_sim["failed_calls_per_year"], "yearly": base_res.tally.column("unreachable").tolist()}
    timings["baseline_years"] = time.perf_counter() - t0

    # 3. curves at the base parameters: manual sweep (detection and switch time scaled together) and automatic
    b = base
    manual = [
        {
            "policy": "manual",
            "factor": f,
            "det": b["detection delay (mean)"] * f,
            "sw": b["switch attempt time (mean)"] * f,
            "delay_h": (b["detection delay (mean)"] + b["switch attempt time (mean)"]) * f,
        }
        for f in MANUAL_FACTORS
    ]
    auto = [{"policy": "automatic", "auto": h, "delay_h": h} for h in AUTO_DELAYS_H]
    policies = auto + manual
    rate0, beta0, p0, pf0 = (
        b["platform failure rate"],
        b["common-cause beta"],
        b["redial probability"],
        b["switch failure probability"],
    )
    points = evaluate_points(model, policies, rate0, setup.rate_backup, beta0, p0, pf0)
    attempts = evaluate_points(model, policies, rate0, setup.rate_backup, beta0, p0, pf0, row=1)
    for pt, at in zip(points, attempts, strict=True):
        pt["attempts_per_year"] = at["per_year"]
        pt["attempts_per_year_se"] = at["per_year_se"]

    # 4. bands: the other uncertain inputs propagated (two-level Monte Carlo) at every curve point
    t0 = time.perf_counter()
    band_params = [params[i] for i in (2, 4, 5, 6)]  # switch failure p, rate, beta, redial
    curve_caps = ("status_quo", "queue_now", "full")

    def band_func(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pf, rate, beta, redial = x
        vals, ses = [], []
        full = model.full_outage(redial)
        for pol in policies:
            wts = window_weights(kv, model.policy_delays(pol, pf))
            for ck in curve_caps:
                y, se = model.per_year(model.per_outage(wts, ck, None, redial), full, rate, beta)
                vals.append(y)
                ses.append(se)
        return np.array(vals), np.array(ses)

    band_names = [f"{p['policy']}:{p['delay_h']:.6g}:{c}" for p in policies for c in curve_caps]
    prop = propagate(band_func, band_params, cfg["bands"], ss_band, output_names=band_names)
    timings["bands"] = time.perf_counter() - t0

    # 5. Sobol indices and tornado over all seven uncertain inputs (status quo policy shape, 2023 queue)
    t0 = time.perf_counter()

    def sobol_func(x: np.ndarray) -> np.ndarray:
        y, _, per_outage = model.manual_per_year(*x, batch=256)
        return np.stack([y, per_outage])

    sob = sobol_indices(
        sobol_func,
        params,
        cfg["sobol_n"],
        ss_sobol,
        output_names=["failed calls per year (platform outages)", "failed calls per primary-platform outage"],
    )

    def tornado_func(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return model.manual_per_year(*x)[:2]

    torn = tornado_data(tornado_func, params, b)
    timings["sobol_and_tornado"] = time.perf_counter() - t0

    # 6. checks: direct engine replays with the engine's own switch delays vs the estimator (paired)
    t0 = time.perf_counter()
    sq_pol = next(p for p in manual if p["factor"] == 1.0)
    auto_pol = {"policy": "automatic", "auto": setup.auto_shape.mean, "delay_h": setup.auto_shape.mean}
    auto_scen = apply_strategies(scenario, [load_strategy("automatic_failover")])
    cap = {c.key: c for c in setup.capacities}
    frac, check_redial = cfg["check_point"]
    check_calls = max(1, round(setup.cap_levels[-1] * frac))
    check_runs = [
        (
            "manual switch, 49/50 (status quo)",
            capacity_scenario(setup, cap["status_quo"]),
            "status_quo",
            sq_pol,
            None,
            None,
        ),
        (
            "automatic failover, 49/50",
            capacity_scenario(setup, cap["status_quo"], auto_scen),
            "status_quo",
            auto_pol,
            None,
            None,
        ),
        ("manual switch, full capacity", capacity_scenario(setup, cap["full"]), "full", sq_pol, None, None),
        # another replayed level of the capacity and the redial probability (the Sobol and band inputs)
        (
            f"manual switch, {check_calls} calls/queue {cap['status_quo'].queue}, redial {check_redial:g}",
            apply_parameters(scenario, [params[3], params[6]], [check_calls, check_redial]),
            None,
            sq_pol,
            check_calls,
            check_redial,
        ),
    ]
    checks = [
        direct_check(
            setup,
            model,
            design,
            scen,
            key,
            label,
            ss_check,
            i + 1,
            pol,
            cfg["check_replicates"],
            calls=calls,
            redial=redial,
        )
        for i, (label, scen, key, pol, calls, redial) in enumerate(check_runs)
    ]
    plain = None
    if cfg["check_years"]:
        res = simulate(
            scenario, years=cfg["check_years"], seed=child_seed(ss_check, 9), chunk_years=250
        ).to_dict()
        plain = {
            "years": cfg["check_years"],
            "failed_calls_per_year": res["failed_calls_per_year"],
            "seconds": res["seconds"],
        }
    timings["checks"] = time.perf_counter() - t0

    results = assemble(
        setup,
        params,
        base,
        cfg,
        design,
        kv,
        points,
        prop,
        band_names,
        sob,
        torn,
        checks,
        baseline,
        base_sim,
        genuine,
        plain,
        policies,
        timings,
    )
    prov = study.provenance(
        scenario,
        method="conditional replays of platform outages (time engine) + plain "
        "years for the rest of the network",
        workers=workers,
        engine_backend=kv.backend,
    )
    results["provenance"] = prov
    rep = build_report(setup, params, results, design, kv, prov)
    results["compliance"] = study.compliance(rep, scenario)
    html_path, json_path = study.write(rep, results)
    sq = results["key_numbers"]
    print(f"wrote {html_path} and {json_path}")
    print(
        f"status quo: {sq['status_quo_platform_failed_calls_per_year']['estimate']:.1f} failed calls a year "
        f"from platform outages; automatic failover "
        f"{sq['automatic_platform_failed_calls_per_year']['estimate']:.1f}; "
        f"runtime {prov['runtime_seconds']:.1f} s"
    )
    return 0


def assemble(
    setup,
    params,
    base,
    cfg,
    design,
    kv,
    points,
    prop,
    band_names,
    sob,
    torn,
    checks,
    baseline,
    base_sim,
    genuine,
    plain,
    policies,
    timings,
) -> dict[str, Any]:
    """The JSON document."""
    est = normal_estimate
    cap_label = {c.key: c.label for c in setup.capacities}
    base_rate = base_sim["unreachable_call_rate"]
    grid = []
    band_of = {name: prop.band(k) for k, name in enumerate(band_names)}
    for pt in points:
        y, se = pt["per_year"], pt["per_year_se"]
        key = f"{pt['policy']}:{pt['delay_h']:.6g}:{pt['capacity']}"
        row = {
            "policy": pt["policy"],
            "delay_hours": pt["delay_h"],
            "capacity": pt["capacity"],
            "capacity_label": cap_label[pt["capacity"]],
            "detection_mean_hours": pt.get("det"),
            "switch_time_mean_hours": pt.get("sw"),
            "automatic_delay_mean_hours": pt.get("auto"),
            "platform_failed_calls_per_year": est(y, se),
            "platform_failed_attempts_per_year": est(pt["attempts_per_year"], pt["attempts_per_year_se"]),
            "platform_unreachable_call_rate": est(y / genuine, se / genuine),
            "failed_calls_per_platform_outage": est(pt["per_outage"], pt["per_outage_se"]),
            "total_unreachable_call_rate": est(
                (y + baseline["mean"]) / genuine, math.hypot(se, baseline["std_error"]) / genuine
            ),
            "total_failed_calls_per_year": est(y + baseline["mean"], math.hypot(se, baseline["std_error"])),
        }
        if key in band_of:
            row["band_platform_failed_calls_per_year"] = band_of[key]
        grid.append(row)

    def pick(policy: str, delay: float, cap: str) -> dict:
        return next(
            r
            for r in grid
            if r["policy"] == policy and abs(r["delay_hours"] - delay) < 1e-9 and r["capacity"] == cap
        )

    b = base
    sq_delay = b["detection delay (mean)"] + b["switch attempt time (mean)"]
    sq = pick("manual", sq_delay, "status_quo")
    au = pick("automatic", 30 / 3600, "status_quo")
    fu = pick("manual", sq_delay, "full")
    st_names = sob.outputs
    top = sob.rows(0)[0]
    return {
        "scenario": setup.scenario.name,
        "quick": cfg is QUICK,
        "settings": dict(cfg),
        "key_numbers": {
            "status_quo_platform_failed_calls_per_year": sq["platform_failed_calls_per_year"],
            "status_quo_total_unreachable_call_rate": sq["total_unreachable_call_rate"],
            "automatic_platform_failed_calls_per_year": au["platform_failed_calls_per_year"],
            "full_capacity_platform_failed_calls_per_year": fu["platform_failed_calls_per_year"],
            "status_quo_failed_calls_per_platform_outage": sq["failed_calls_per_platform_outage"],
            "top_sobol_parameter": {
                "parameter": top["parameter"],
                "total_order": top["total_order"],
                "total_ci": top["total_ci"],
            },
        },
        "grid": grid,
        "capacities": [dataclasses.asdict(c) for c in setup.capacities],
        "baseline_rest_of_network": {
            "failed_calls_per_year": baseline,
            "unreachable_call_rate": base_rate,
            "years": base_sim["years"],
            "genuine_calls_per_year": genuine,
            "method": "plain simulated years of the scenario with both platforms made failure-free",
        },
        "uncertain_parameters": [p.to_dict() | {"base": b[p.name]} for p in params],
        "sobol": sob.to_dict() | {"output_names": list(st_names)},
        "tornado": torn.to_dict() | {"output": "failed calls per year (platform outages)"},
        "bands": prop.to_dict(),
        "checks": {"direct_replays": checks, "plain_years": plain},
        "per_outage_curves": per_outage_curves(setup, kv),
        "engine": {
            "outages": int(design.start.size),
            "runs": kv.runs,
            "seconds": round(kv.seconds, 3),
            "knots_hours": KNOTS.tolist(),
            "delay_draws": int(cfg["delay_draws"]),
            "redial_levels": list(setup.redial_levels),
            "capacity_levels": list(setup.cap_levels),
        },
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
        "policies": policies,
    }


def build_report(
    setup: FailoverSetup,
    params: tuple[UncertainParameter, ...],
    res: dict[str, Any],
    design: Design,
    kv: KnotValues,
    prov: dict,
) -> Report:
    s = setup.scenario
    kn = res["key_numbers"]
    grid = res["grid"]
    rep = Report(
        f"Failover delay and backup capacity — {s.label}",
        subtitle="Calls lost to call-handling platform outages against the time to fail over and the "
        "backup's capacity, with Sobol indices and uncertainty bands",
    )

    def est_card(key, label, e, note="", fmt=format_number):
        rep.key_number(key, label, e["estimate"], ci=(e["ci_low"], e["ci_high"]), note=note, fmt=fmt)

    est_card(
        "status_quo",
        "Failed calls a year from platform outages (2023 set-up)",
        kn["status_quo_platform_failed_calls_per_year"],
        note="manual switch as on 25 Jun 2023; backup 49 calls, queue 50; 95% CI (Monte Carlo)",
    )
    est_card(
        "automatic",
        "… with automatic failover (mean 30 s)",
        kn["automatic_platform_failed_calls_per_year"],
        note="same backup capacity",
    )
    est_card(
        "full_capacity",
        "… with a full-capacity backup (manual switch)",
        kn["full_capacity_platform_failed_calls_per_year"],
        note="backup = primary: 98 calls, queue 1000",
    )
    est_card(
        "per_outage",
        "Failed calls per primary-platform outage (2023 set-up)",
        kn["status_quo_failed_calls_per_platform_outage"],
    )
    est_card(
        "total_rate",
        "Unreachable-call rate, whole network (2023 set-up)",
        kn["status_quo_total_unreachable_call_rate"],
        fmt=lambda v: format_percent(v, 3),
        note="platform outages + every other component",
    )
    top = kn["top_sobol_parameter"]
    rep.key_number(
        "top_driver",
        f"Largest Sobol total index: {top['parameter']}",
        f"{top['total_order']:.2f}",
        ci=f"95% CI {top['total_ci'][0]:.2f}–{top['total_ci'][1]:.2f}",
        note="share of the variance of failed calls a year it accounts for, interactions included",
    )

    caps = {c.key: c.label for c in setup.capacities}
    curve_caps = ("status_quo", "queue_now", "full")

    def curves(policy: str):
        rows = [r for r in grid if r["policy"] == policy]
        xs = sorted({r["delay_hours"] for r in rows})
        med, lo, hi, names = [], [], [], []
        for ck in curve_caps:
            by = {r["delay_hours"]: r for r in rows if r["capacity"] == ck}
            bands = [by[x]["band_platform_failed_calls_per_year"] for x in xs]
            med.append([bd["median"] for bd in bands])
            lo.append([bd["p05"] for bd in bands])
            hi.append([bd["p95"] for bd in bands])
            names.append(caps[ck])
        return np.array(xs), np.array(med), np.array(lo), np.array(hi), names

    rep.section(
        "Failed calls a year against the failover delay",
        "Lines: median over the uncertain inputs that are not on the axes (platform failure rate, "
        "common-cause beta, redial probability and, for the manual switch, the chance a switch attempt "
        "fails); shaded: 5th–95th percentile. The platform failure rate alone spans two orders of "
        "magnitude (one event in 86 years), hence the log scale.",
    )
    x, med, lo, hi, names = curves("manual")
    rep.figure(
        band_chart(
            x,
            med,
            lo,
            hi,
            names=names,
            band_label="90% band",
            log_x=True,
            log_y=True,
            x_title="manual switch: mean detection + one attempt (hours)",
            y_title="failed calls a year (platform outages)",
            title="Manual switch: detection delay and attempt time scaled together",
        ),
        caption="x = 1.79 h is 25 June 2023 (69 min detection, 38.5 min per attempt, half the attempts "
        "fail, at most 3 attempts).",
    )
    x, med, lo, hi, names = curves("automatic")
    rep.figure(
        band_chart(
            x * 3600,
            med,
            lo,
            hi,
            names=names,
            band_label="90% band",
            log_x=True,
            log_y=True,
            x_title="automatic switch: mean delay (seconds)",
            y_title="failed calls a year (platform outages)",
            title="Automatic failover: delay of the switch",
        ),
        caption="An automatic switch never fails here (the automatic_failover strategy); what remains is "
        "the backup's capacity.",
    )
    b = {p["name"]: p["base"] for p in res["uncertain_parameters"]}
    sq_delay = b["detection delay (mean)"] + b["switch attempt time (mean)"]
    sq_row = next(
        r
        for r in grid
        if r["policy"] == "manual"
        and abs(r["delay_hours"] - sq_delay) < 1e-9
        and r["capacity"] == "status_quo"
    )
    bd = sq_row["band_platform_failed_calls_per_year"]
    point = sq_row["platform_failed_calls_per_year"]["estimate"]
    rate_p = params[4]
    rep.paragraph(
        f"At the 2023 set-up the band runs from {format_number(bd['p05'])} to {format_number(bd['p95'])} "
        f"failed calls a year (median {format_number(bd['median'])}; at the scenario's own values "
        f"{format_number(point)}: the log-uniform failure rate has median {rate_p.median:.2g}/yr, below "
        f"the point value {setup.rate_primary:.3g}). Monte Carlo noise of the conditional estimate is "
        f"{100 * bd['share_noise']:.1f}% of the band's variance; the rest is parameter uncertainty (the "
        "same sampled outages serve every parameter draw, so that error shifts the band rather than "
        "widening it)."
    )

    # heat map at base parameters: delay settings x all capacity levels
    pols = [p for p in res["policies"]]
    xl = [f"{'auto' if p['policy'] == 'automatic' else 'manual'} {_fmt_delay(p['delay_h'])}" for p in pols]
    yl = [c.label for c in setup.capacities]
    z = np.array(
        [
            [
                next(
                    r
                    for r in grid
                    if r["policy"] == p["policy"]
                    and abs(r["delay_hours"] - p["delay_h"]) < 1e-9
                    and r["capacity"] == c.key
                )["platform_failed_calls_per_year"]["estimate"]
                for p in pols
            ]
            for c in setup.capacities
        ]
    )
    rep.section(
        "Delay × capacity",
        "Expected failed calls a year from platform outages at the scenario's "
        "parameter values, for every failover setting and backup capacity.",
    )
    rep.figure(
        log_heatmap(
            xl,
            yl,
            z,
            "Failed calls a year: failover delay × backup capacity",
            x_title="failover: policy and mean delay",
            y_title="backup (DR) capacity",
            value_label="failed calls/yr",
            hover_unit=" failed calls a year",
        ),
        caption="Manual settings scale the 2023 detection delay and attempt time together; the delay "
        "shown is their sum.",
    )
    curves_po = res["per_outage_curves"]
    ws = np.array(curves_po["window_hours"])
    wpos = np.maximum(ws, 1 / 3600)
    rep.figure(
        band_chart(
            wpos * 60,
            [curves_po[c]["mean"] for c in curve_caps],
            [curves_po[c]["ci_low"] for c in curve_caps],
            [curves_po[c]["ci_high"] for c in curve_caps],
            names=[caps[c] for c in curve_caps],
            band_label="95% CI",
            log_x=True,
            x_title="failover window: minutes with no platform serving (0 shown at 1 s)",
            y_title="failed calls per primary outage",
            title="Calls lost in one primary-platform outage, by failover window",
        ),
        caption="The engine's direct output: mean over the sampled outages (start time across the week, "
        "repair time from the scenario), with its Monte Carlo 95% CI.",
    )

    sob = res["sobol"]
    out0, out1 = sob["output_names"]
    rep.section(
        "What drives the uncertainty: Sobol indices",
        f"Variance-based indices over the seven uncertain inputs ({sob['n']} base samples, "
        f"{sob['evaluations']:,} evaluations of the conditional estimator; 95% bootstrap intervals). "
        "First-order: the share of the output's variance explained by the input alone; total: including "
        "its interactions.",
    )
    rep.figure(
        sobol_bars(sob["outputs"][out0]["indices"], f"Sobol indices: {out0}"),
        caption="Manual switch; the DR's queue limit kept at 50.",
    )
    rep.figure(
        sobol_bars(sob["outputs"][out1]["indices"], f"Sobol indices: {out1}"),
        caption="Given an outage, the failure rate and beta cannot matter (their indices are exactly 0: a "
        "check); this ranks the levers.",
    )
    t = res["tornado"]
    rows = t["rows"]
    rep.section("Tornado: one input at a time")
    rep.figure(
        tornado(
            [r["name"] for r in rows],
            [r["output_low"] for r in rows],
            [r["output_high"] for r in rows],
            t["base_output"],
            x_title="failed calls a year (platform outages)",
            title="Each input at the ends of its range, the others at the scenario's values",
        ),
        caption="Base: the scenario's values (2023 set-up).",
    )
    rep.table(
        [
            {
                "parameter": r["name"],
                "low": r["low"],
                "high": r["high"],
                "output at low": r["output_low"],
                "output at high": r["output_high"],
                "swing": r["swing"],
            }
            for r in rows
        ],
        caption="Tornado data (failed calls a year from platform outages).",
    )

    rep.section("Grid results")
    table_rows = []
    for r in grid:
        if r["capacity"] not in curve_caps:
            continue
        e = r["platform_failed_calls_per_year"]
        bd = r.get("band_platform_failed_calls_per_year")
        table_rows.append(
            {
                "policy": r["policy"],
                "mean delay": _fmt_delay(r["delay_hours"]),
                "backup": r["capacity_label"],
                "failed calls/yr": e["estimate"],
                "95% CI": f"{format_number(e['ci_low'])}–{format_number(e['ci_high'])}",
                "band p05–p95": f"{format_number(bd['p05'])}–{format_number(bd['p95'])}" if bd else "—",
                "per outage": r["failed_calls_per_platform_outage"]["estimate"],
                "total rate": r["total_unreachable_call_rate"]["estimate"],
            }
        )
    rep.table(
        table_rows,
        formats={"failed calls/yr": ".4g", "per outage": ",.0f", "total rate": ".3e"},
        caption="Platform-related failed calls a year (CI: Monte Carlo at the scenario's values; band: "
        "5th–95th percentile over uncertain inputs), calls lost per primary outage, and the whole "
        "network's unreachable-call rate (adds the rest of the network). The other backup capacities are "
        "in the heat map and the JSON.",
    )

    rep.section("Checks")
    ch = res["checks"]
    rep.table(
        [
            {
                "check": c["check"],
                "direct replays": c["direct_per_outage"],
                "estimator": c["estimator_per_outage"],
                "difference": c["paired_difference"],
                "SE": c["difference_se"],
                "z": c["z"],
                "verdict": check_verdict(c["direct_per_outage"], c["estimator_per_outage"], c["z"]),
            }
            for c in ch["direct_replays"]
        ],
        formats={
            "direct replays": ",.1f",
            "estimator": ",.1f",
            "difference": ",.1f",
            "SE": ",.1f",
            "z": ".2f",
        },
        caption="Calls lost per primary outage: the same sampled outages replayed whole by the engine, with "
        "switch delays drawn by the engine itself, against the conditional estimator (knots, "
        "interpolation in w, delay integration). Paired difference and its z-score. Verdict: 'agree' needs "
        "|z| < 3 and the two within 20% of each other; a small z with a larger gap is 'inconclusive' (too "
        "few replays to tell), |z| ≥ 3 is 'disagree'.",
    )
    base = res["baseline_rest_of_network"]
    text = (
        f"Rest of the network (every component except the two platforms), {base['years']} plain simulated "
        f"years: {base['failed_calls_per_year']['mean']:.0f} failed calls a year "
        f"(95% CI {base['failed_calls_per_year']['ci_low']:.0f}–"
        f"{base['failed_calls_per_year']['ci_high']:.0f})."
    )
    if ch["plain_years"]:
        pl = ch["plain_years"]
        f = pl["failed_calls_per_year"]
        pred = (
            base["failed_calls_per_year"]["mean"]
            + kn["status_quo_platform_failed_calls_per_year"]["estimate"]
        )
        text += (
            f" Plain simulation of the whole scenario, {pl['years']} years ({pl['seconds']:.0f} s): "
            f"{f['mean']:.0f} failed calls a year (95% CI {f['ci_low']:.0f}–{f['ci_high']:.0f}) against "
            f"{pred:.0f} = rest of network + the conditional estimate; its platform part rests on about "
            f"{pl['years'] * setup.rate_primary:.0f} platform outages, so it is far less precise than the "
            "conditional estimate."
        )
    rep.paragraph(text)

    rep.section("Method", "")
    rep.paragraph(
        METHOD_TEXT.format(
            n=design.start.size,
            knots=", ".join(_fmt_delay(k) for k in KNOTS),
            runs=kv.runs,
            secs=kv.seconds,
            draws=res["engine"]["delay_draws"],
        )
    )
    rep.paragraph(LIMITS_TEXT, note=True)
    rows_a = [
        (
            p["name"],
            f"{p['low']:g} – {p['high']:g} {p['unit']} ({p['distribution']}); base {p['base']:g}",
            p["source"],
        )
        for p in res["uncertain_parameters"]
    ]
    g = s.redundancy_groups[setup.group]
    rows_a += [
        (
            "Platform repair time",
            f"{setup.repair!r}",
            s.call_handling_platforms[setup.primary].failure.source,
        ),
        ("Switch attempts before waiting for repair", str(g.max_attempts), g.source),
        (
            "Automatic failover delay",
            f"{setup.auto_shape!r}",
            "automatic_failover strategy: traffic-and-capacity.md s.4 (H) VRRP 3-4 s to SIP Timer B 32 s",
        ),
        ("Backup queue limit since 2023", str(QUEUE_NOW), "SIMWOOD_2024 (M)"),
        (
            "Caller patience / redial delay / attempts",
            f"{s.callers.patience_s:g} s / {s.callers.redial_delay_s:g} s / {s.callers.max_attempts}",
            s.callers.source,
        ),
        (
            "Public advice to use 101/111",
            f"{s.callers.advice_delay_hours:g} h after the outage starts",
            s.callers.source,
        ),
    ]
    rep.section("The network", "Callers → originating networks → BT platforms → centres → control rooms; "
                "colour: share of national demand a single outage of that element cuts.")
    rep.figure(network_diagram(build_network(setup.scenario)), height=720)
    rep.convergence(running_mean_figure(res["baseline_rest_of_network"]["failed_calls_per_year"]["yearly"],
                                        x_title="plain simulated years (rest of the network)",
                                        y_title="failed calls a year"),
                    caption="Running mean of the rest of the network's failed calls a year, 95% interval.")
    rep.assumptions(rows_a)
    rep.provenance(prov)
    return rep


METHOD_TEXT = """Estimate. Failed calls a year from platform outages = λ(1 − β) · E[calls lost in a \
primary outage] + β · λ · E[calls lost when both platforms fail together], with λ the platforms' failure \
rate and β the common-cause share (the engine's beta-factor model). Outages of the backup alone lose no \
calls (it carries no traffic then) and are left out.

Calls lost per outage. {n} primary outages are sampled on a scrambled Sobol design over the hour of the \
week the outage starts (the arrival profile is weekly) and the repair time (the scenario's lognormal). \
The time engine replays each outage with its caller simulation (redials, patience, public advice to use \
101/111 and their capacity, the backup's capacity as an M/M/c/K loss with the redial fixed point) for \
failover windows w at the knots {knots} and at w = repair time: no platform serves during [0, w), the \
backup serves from w to the repair. To replay all knots without replaying each outage once per knot, \
each outage is cut into pieces at the knots; a piece is replayed with a tail of one caller patience in \
the state that follows it, and a replay of the tail alone is subtracted, so every caller who arrived in \
the piece meets exactly the states it would meet in the whole outage (the engine's capacity losses \
depend only on the time of day and the state, not on history). Window parts up to 1 hour are replayed \
whole; for longer windows the outage pieces are summed and only the callers of the last patience before \
the switch (the only ones who can still reach the backup by redialling) are replayed again with the \
switch, so the switch boundary is exact throughout. Public advice starts at its scenario delay after the \
outage start in every piece. {runs} engine runs took {secs:.1f} s. The same random numbers are used for \
every backup capacity, so differences between capacities are sharp.

Switch policies. For a policy, the window is w = min(D, repair) with D the switch delay: for the manual \
switch, detection plus switch attempts until one succeeds (each fails with the stated probability; after \
the last failure traffic waits for the repair), drawn as the engine draws it; for the automatic switch, \
its delay. The calls lost are interpolated linearly in w between knots and averaged over {draws} delay \
draws (a scrambled Sobol design shared by all policies: common random numbers). Varying a delay's mean \
keeps its shape (sd = mean).

Uncertainty. Confidence intervals are Monte Carlo intervals at the scenario's parameter values: the \
spread of the per-outage results over the sampled outages (treated as independent; the scrambled design \
makes this conservative). Bands are two-level Monte Carlo: outer draws of the uncertain inputs \
(scrambled Sobol), the conditional estimate at each; they show the 5th–95th percentiles. Sobol indices \
use scipy.stats.sobol_indices on the same estimator. The backup's concurrent calls and the redial \
probability take the replayed levels only (equally likely), because the losses change steeply between \
them (the backup stops losing calls once it covers the peak load) and interpolating would be wrong. The \
rest of the network is simulated in plain years with both platforms failure-free and added for the \
whole-network rate."""

LIMITS_TEXT = """Assumptions and limits: a platform outage is replayed on its own. A second platform \
failure within it is ignored (about 2e-5 chance per outage). Outages of other components that overlap it \
(about 0.1 control-room outage per platform outage) are counted in the rest-of-network part as if the \
platforms were up, so calls both would lose are counted twice: a small overstatement. Losses between \
knots are interpolated linearly in w; the common-cause repair time is the primary's. A single 2023 \
incident underlies the switch parameters and the failure rate, which is why their ranges are wide. The \
engine's capacity model is quasi-stationary (M/M/c/K with a redial fixed point at each hour's load), not \
a queue simulation."""


if __name__ == "__main__":
    sys.exit(run_study(main))
