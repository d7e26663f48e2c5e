"""Fallback strategies compared: which buys the most resilience for UK 999 calls?

The flagship study. Every bundled strategy (and the combination automatic failover
+ full-capacity backup) is simulated over the same simulated years as the status
quo, with common random numbers, so year-by-year differences give paired
confidence intervals. Reports the annual unreachable-call rate and failed genuine
calls a year under each strategy, failed calls avoided (paired CI, beside the CI
two independent runs would give), tail risk (the worst year in 10 and in 100), cost
per failed call avoided, and a band from parameter uncertainty (two-level Monte
Carlo over the least certain inputs). Writes ``fallback_strategies.html`` and
``fallback_strategies.json``.

Run: ``python studies/fallback_strategies.py [--out DIR] [--quick] [--years N]``
"""

from __future__ import annotations

import sys

import numpy as np

from model.cli.study import (
    Study,
    assumption_rows,
    network_diagram,
    run_study,
    running_mean_figure,
    study_parser,
)
from model.metrics.compare import compare_strategies
from model.metrics.sensitivity import UncertainParameter, apply_parameters
from model.network.callnetwork import build_network
from model.report import Report, ecdf, format_number, format_percent, ranked_bar
from model.scenario.loader import load_scenario
from model.scenario.strategies import apply_strategies, bundled_strategies, load_strategy

NAME = "fallback_strategies"

#: The least certain inputs, varied in the outer loop of the two-level Monte Carlo.
UNCERTAIN = [
    UncertainParameter(
        "platform failures a year", "call_handling_platforms.bt_primary.failure.failures_per_year",
        0.0006, 0.055, "loguniform",
        source="one platform-wide event in ~86 years: 90% interval of a Poisson rate from one event "
               "(uk999 comments)"),
    UncertainParameter(
        "switch failure probability", "redundancy_groups.bt_platforms.switch_failure_probability",
        0.1, 0.7, source="one failed attempt out of two in 2023 (L); wide range"),
    UncertainParameter(
        "redial probability", "callers.redial_probability", 0.5, 0.95,
        source="no published 999 redial data; 0.85 is an uncalibrated example (traffic-and-capacity.md)"),
    UncertainParameter(
        "common-cause beta", "common_cause_groups.bt_platform_software.beta", 0.02, 0.10,
        source="beta factor 2-10 % typical (traffic-and-capacity.md, section 4)"),
]


def parameter_draws(n: int, seed: int) -> np.ndarray:
    """Outer-loop draws (n, d) in the parameter ranges: a Latin hypercube design."""
    from scipy.stats import qmc

    u = qmc.LatinHypercube(d=len(UNCERTAIN), seed=np.random.default_rng(seed)).random(n)
    return np.column_stack([p.ppf(u[:, j]) for j, p in enumerate(UNCERTAIN)])


def main(argv: list[str] | None = None) -> int:
    parser = study_parser(NAME, __doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=None, help="simulated years per strategy")
    parser.add_argument("--outer", type=int, default=None, help="parameter draws for the uncertainty band")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    args = parser.parse_args(argv)
    if args.years is not None and args.years < 2:
        raise ValueError(f"--years must be at least 2, got {args.years}")
    study = Study(NAME, args)
    years = args.years or (40 if args.quick else 1000)
    outer = args.outer if args.outer is not None else (2 if args.quick else 6)
    outer_years = 20 if args.quick else max(20, years // 16)
    base = load_scenario(args.scenario)
    names = [n for n in bundled_strategies() if n != "status_quo"]
    sets = [[load_strategy(n)] for n in names]
    sets.append([load_strategy("automatic_failover"), load_strategy("full_capacity_backup")])

    comp = compare_strategies(base, sets, years=years, seed=args.seed, workers=args.workers)
    result = comp.to_dict()
    ranking = comp.ranking()

    # two-level Monte Carlo: outer parameter draws, inner simulated years (common random numbers inside)
    draws = parameter_draws(outer, args.seed)
    band_rows: dict[str, list[float]] = {o.name: [] for o in [comp.baseline, *ranking]}
    for k in range(outer):
        varied = apply_parameters(base, UNCERTAIN, draws[k])
        ck = compare_strategies(varied, sets, years=outer_years, seed=args.seed + 1 + k, workers=args.workers)
        band_rows[comp.baseline.name].append(float(ck.baseline.failed_calls.mean()))
        by_name = {o.name: o for o in ck.outcomes}
        for o in ranking:
            band_rows[o.name].append(float(by_name[o.name].failed_calls.mean()))
    bands = {name: {"median": float(np.median(v)), "p05": float(np.quantile(v, 0.05)),
                    "p95": float(np.quantile(v, 0.95)), "draws": v} for name, v in band_rows.items()}

    base_sum = comp.baseline.summary()
    best = ranking[0]
    best_avoid = comp.avoided(best)
    vr = [comp.avoided(o)["variance_reduction"] for o in ranking]
    rate = base_sum["unreachable_call_rate"]

    rep = Report("Fallback strategies compared — UK 999",
                 subtitle=f"{years:,} simulated years per strategy, common random numbers, seed {args.seed}")
    rep.key_number("baseline_rate", "Status quo: share of genuine calls unreachable", rate["estimate"],
                   (rate["ci_low"], rate["ci_high"]), fmt=format_percent)
    fc = base_sum["failed_calls_per_year"]
    rep.key_number("baseline_failed", "Status quo: failed genuine calls a year", fc["mean"],
                   (fc["ci_low"], fc["ci_high"]))
    rep.key_number("best_strategy", f"Most failed calls avoided: {best.label}", best_avoid["mean"],
                   (best_avoid["ci_low"], best_avoid["ci_high"]), unit="calls/yr")
    rep.key_number("crn_gain", "Variance reduction from common random numbers (median)",
                   float(np.median(vr)), note="paired vs independent runs of the same length")
    rep.section("Ranking", "Failed genuine calls avoided a year against the status quo, with paired 95% "
                "intervals (same failure histories and callers in every strategy).")
    labels = [o.label for o in ranking]
    av = [comp.avoided(o) for o in ranking]
    rep.figure(ranked_bar(labels, [a["mean"] for a in av], [a["ci_low"] for a in av],
                          [a["ci_high"] for a in av], title="Failed calls avoided a year (paired 95% CI)",
                          x_title="genuine calls a year"), caption="Paired intervals; see the table for the "
               "intervals two independent runs would give.")
    rows = []
    for o, a in zip(ranking, av, strict=True):
        s = o.summary()
        cpa = comp.cost_per_call_avoided(o)
        rows.append({
            "strategy": o.label,
            "failed_calls_per_year": s["failed_calls_per_year"]["mean"],
            "avoided": a["mean"], "paired_ci": f"[{a['ci_low']:,.1f}, {a['ci_high']:,.1f}]",
            "independent_ci": f"[{a['independent_ci_low']:,.1f}, {a['independent_ci_high']:,.1f}]",
            "worst_in_10": s["worst_year_in_10"]["value"], "worst_in_100": s["worst_year_in_100"]["value"],
            "annual_cost_gbp": o.annual_cost_gbp,
            "cost_per_call_avoided": cpa["value"] if cpa and np.isfinite(cpa["value"]) else None,
            "band": f"[{bands[o.name]['p05']:,.0f}, {bands[o.name]['p95']:,.0f}]",
        })
    rep.table(rows, labels={"failed_calls_per_year": "failed calls/yr", "avoided": "avoided/yr",
                            "paired_ci": "paired 95% CI", "independent_ci": "independent 95% CI",
                            "worst_in_10": "worst year in 10", "worst_in_100": "worst year in 100",
                            "annual_cost_gbp": "annual cost £ (assumption)",
                            "cost_per_call_avoided": "£ per failed call avoided",
                            "band": "failed calls/yr, parameter band 5-95%"},
              formats={"failed_calls_per_year": ",.1f", "avoided": ",.1f", "worst_in_10": ",.0f",
                       "worst_in_100": ",.0f", "annual_cost_gbp": ",.0f", "cost_per_call_avoided": ",.0f"},
              caption=f"Status quo: {fc['mean']:,.1f} failed genuine calls a year. Costs are stated "
                      "assumptions in the strategy files.")
    rep.section("Tail risk", "Exceedance: the share of years with more failed calls than x. The worst year "
                "in 10 is where a curve crosses 0.1, in 100 where it crosses 0.01.")
    series = {comp.baseline.label: comp.baseline.failed_calls}
    series.update({o.label: o.failed_calls for o in ranking[:4]})
    rep.figure(ecdf(series, complementary=True, log_y=True, title="Failed genuine calls in a year",
                    x_title="failed calls in a year", y_title="share of years exceeding"))
    rep.section("Parameter uncertainty", f"Two-level Monte Carlo: {outer} draws of the least certain "
                f"inputs (Latin hypercube design), {outer_years} simulated years each, every strategy "
                "under each draw.")
    order = [comp.baseline.name] + [o.name for o in ranking]
    names_shown = ["Status quo", *labels]
    rep.figure(ranked_bar(names_shown, [bands[n]["median"] for n in order], [bands[n]["p05"] for n in order],
                          [bands[n]["p95"] for n in order], sort=False,
                          title="Failed genuine calls a year: median and 5-95% band over parameter draws",
                          x_title="genuine calls a year"))
    rep.table([{"parameter": p.name, "path": p.paths[0], "low": p.low, "high": p.high,
                "scale": p.distribution, "why": p.source} for p in UNCERTAIN],
              caption="Uncertain inputs of the outer loop.")
    rep.section("The network")
    net = build_network(apply_strategies(base, []))
    rep.figure(network_diagram(net), height=720)
    rep.convergence(running_mean_figure(comp.baseline.failed_calls, x_title="simulated years",
                                        y_title="failed calls a year (status quo)"),
                    caption="Running mean with a 95% interval.")
    rep.paragraph(
        "How to read this: a strategy is an overlay of the reference scenario (files in "
        "model/data/strategies). Failed calls are genuine calls that never reach a control room within the "
        "caller's patience, after redials and fallback lines. Costs are order-of-magnitude assumptions, "
        "not quotes. Limits: one reference network with stated assumptions; platform-wide outages are rare "
        "(about one in 86 years), so their contribution is uncertain, which the parameter band shows.",
        note=True)
    rep.assumptions(assumption_rows(net))
    prov = study.provenance(base, years=years, outer_draws=outer, outer_years=outer_years,
                            strategies=[o.name for o in ranking])
    rep.provenance(prov)
    result["parameter_bands"] = bands
    result["uncertain_parameters"] = [p.to_dict() for p in UNCERTAIN]
    result["provenance"] = prov
    result["compliance"] = study.compliance(rep, base)
    html_path, json_path = study.write(rep, result)
    print(f"wrote {html_path} and {json_path}")
    print(f"status quo: {format_number(fc['mean'])} failed genuine calls a year "
          f"(unreachable share {format_percent(rate['estimate'])}); best: {best.label} avoids "
          f"{best_avoid['mean']:,.1f} [{best_avoid['ci_low']:,.1f}, {best_avoid['ci_high']:,.1f}] a year")
    return 0


if __name__ == "__main__":
    sys.exit(run_study(main))
