"""Fallback strategies compared: which buys the most resilience for UK 999 calls?

The flagship study. Every bundled strategy (and the combination automatic failover
+ full-capacity backup) is simulated over the same simulated years as the status
quo, with common random numbers, so year-by-year differences give paired
confidence intervals. Reports the annual unreachable-call rate and failed genuine
calls a year under each strategy, failed calls avoided (paired CI, beside the CI
two independent runs would give), tail risk (the worst year in 10 and in 100), cost
per failed call avoided, and a band from parameter uncertainty: a two-level Monte
Carlo over *every* assumption of the scenario (its ``[uncertainty]`` groups,
scrambled-Sobol outer draws, 64 in the full run) and over the calibrated caller
behaviour (one posterior draw per outer draw; the headline uses the posterior
median), with the rank-regression share of variance of each assumption group for
the headline and for the ranking, and the probability that each strategy is the
best across the band. Writes ``fallback_strategies.html`` and
``fallback_strategies.json``.

Run: ``python studies/fallback_strategies.py [--out DIR] [--quick] [--years N] [--outer N]``
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
from model.metrics.calibration import callers_overlay, posterior_median
from model.metrics.compare import compare_strategies
from model.metrics.rank_importance import rank_importance
from model.network.callnetwork import build_network
from model.report import Report, ecdf, format_number, format_percent, ranked_bar
from model.scenario.calibrated import load_posterior
from model.scenario.loader import load_scenario
from model.scenario.strategies import apply_strategies, bundled_strategies, load_strategy
from model.scenario.uncertainty import apply_uncertainty, uncertainty_groups

NAME = "fallback_strategies"

#: uk999 assumption groups that the calibrated posterior supersedes (each outer draw takes a posterior draw).
CALIBRATED_GROUPS = ("callers", "callers_timing", "non_genuine")


def outer_design(n: int, d: int, seed: int) -> np.ndarray:
    """Outer-loop draws (n, d) on the unit cube: scrambled Sobol points (n a power of 2)."""
    from scipy.stats import qmc

    if n < 2 or n & (n - 1):
        raise ValueError(f"--outer must be a power of 2 (Sobol balance), got {n}")
    return qmc.Sobol(d, scramble=True, seed=seed).random(n)


def main(argv: list[str] | None = None) -> int:
    parser = study_parser(NAME, __doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=None, help="simulated years per strategy")
    parser.add_argument("--outer", type=int, default=None, help="parameter draws for the uncertainty band")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    parser.add_argument("--callers", choices=("posterior", "scenario"), default="posterior",
                        help="caller behaviour: calibrated posterior (default) or the scenario's [callers]")
    args = parser.parse_args(argv)
    if args.years is not None and args.years < 2:
        raise ValueError(f"--years must be at least 2, got {args.years}")
    study = Study(NAME, args)
    years = args.years or (40 if args.quick else 1000)
    outer = args.outer if args.outer is not None else (2 if args.quick else 64)
    outer_years = 20 if args.quick else max(20, years // 16)
    scenario = load_scenario(args.scenario)
    groups = uncertainty_groups(scenario)
    draws_post = load_posterior().draws if args.callers == "posterior" else ()
    if draws_post:
        groups = {k: g for k, g in groups.items() if k not in CALIBRATED_GROUPS}
        base = scenario.extend(callers_overlay(posterior_median(draws_post)), "<calibrated callers>")
    else:
        base = scenario
    names = [n for n in bundled_strategies() if n != "status_quo"]
    sets = [[load_strategy(n)] for n in names]
    sets.append([load_strategy("automatic_failover"), load_strategy("full_capacity_backup")])

    comp = compare_strategies(base, sets, years=years, seed=args.seed, workers=args.workers)
    result = comp.to_dict()
    ranking = comp.ranking()

    # two-level Monte Carlo: outer draws of every assumption group (and of the calibrated callers), inner
    # simulated years (common random numbers inside each draw)
    names_g = list(groups)
    u = outer_design(outer, len(names_g) + (1 if draws_post else 0), args.seed % (2 ** 31))
    band_rows: dict[str, list[float]] = {o.name: [] for o in [comp.baseline, *ranking]}
    for k in range(outer):
        scen_k = scenario
        if draws_post:
            pick = min(int(u[k, -1] * len(draws_post)), len(draws_post) - 1)
            scen_k = scenario.extend(callers_overlay(draws_post[pick]), "<calibrated callers draw>")
        varied = apply_uncertainty(scen_k, {g: float(groups[g].ppf(u[k, j])) for j, g in enumerate(names_g)},
                                   groups)
        ck = compare_strategies(varied, sets, years=outer_years, seed=args.seed + 1 + k, workers=args.workers)
        band_rows[comp.baseline.name].append(float(ck.baseline.failed_calls.mean()))
        by_name = {o.name: o for o in ck.outcomes}
        for o in ranking:
            band_rows[o.name].append(float(by_name[o.name].failed_calls.mean()))
    bands = {name: {"median": float(np.median(v)), "p05": float(np.quantile(v, 0.05)),
                    "p95": float(np.quantile(v, 0.95)), "draws": v} for name, v in band_rows.items()}
    # which assumptions drive the answer, and does the ranking survive the band?
    input_names = [groups[g].label for g in names_g] + (["Caller behaviour (calibrated posterior)"]
                                                          if draws_post else [])
    y_base = np.array(band_rows[comp.baseline.name])
    per_strategy = np.array([band_rows[o.name] for o in ranking])  # (S, outer)
    best_idx = np.argmin(per_strategy, axis=0)
    prob_best = {o.name: float(np.mean(best_idx == i)) for i, o in enumerate(ranking)}
    importance: dict[str, dict] = {}
    if outer > u.shape[1] + 1:
        importance["headline"] = rank_importance(u, y_base, input_names, seed=args.seed)
        importance["best_strategy_avoided"] = rank_importance(u, y_base - per_strategy[0], input_names,
                                                              seed=args.seed)
        if len(ranking) > 1:
            importance["ranking_margin"] = rank_importance(u, per_strategy[1] - per_strategy[0], input_names,
                                                           seed=args.seed)

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
    rep.section("Parameter uncertainty", f"Two-level Monte Carlo: {outer} draws of every assumption "
                f"group of the scenario ({len(names_g)} groups, scrambled Sobol design"
                f"{', and one draw of the calibrated caller behaviour each' if draws_post else ''}), "
                f"{outer_years} simulated years each, every strategy under each draw.")
    order = [comp.baseline.name] + [o.name for o in ranking]
    names_shown = ["Status quo", *labels]
    rep.figure(ranked_bar(names_shown, [bands[n]["median"] for n in order], [bands[n]["p05"] for n in order],
                          [bands[n]["p95"] for n in order], sort=False,
                          title="Failed genuine calls a year: median and 5-95% band over parameter draws",
                          x_title="genuine calls a year"))
    rep.table([{"group": g.label, "mode": g.mode, "low": g.low, "high": g.high, "scale": g.distribution,
                "values moved": len(g.targets), "assumption": g.assumption, "why": g.why}
               for g in groups.values()], caption="Assumption groups varied in the outer loop.")
    rep.section("Does the ranking survive the uncertainty?",
                "Share of outer draws in which each strategy has the fewest failed genuine calls a year.")
    rep.table([{"strategy": o.label, "probability best": prob_best[o.name]} for o in ranking],
              formats={"probability best": ".0%"}, caption=f"Over {outer} outer draws.")
    if importance:
        rep.section("Which assumptions drive the answer",
                    "Share of the variance (of ranks) across the outer draws that each assumption group "
                    "explains: standardised rank regression, 90 % bootstrap intervals. "
                    f"Headline: R² {importance['headline']['r2']:.2f} (status quo failed calls a year).")
        top = importance["headline"]["inputs"]
        rep.figure(ranked_bar([r["input"] for r in top], [r["share"] for r in top],
                              [r["share_p05"] for r in top], [r["share_p95"] for r in top],
                              title="Status quo failed calls a year: share of variance by assumption group",
                              value_format=".0%"))
        for key, what in (("headline", "status quo failed calls a year"),
                          ("best_strategy_avoided", f"calls avoided by {best.label}"),
                          ("ranking_margin", "margin between the two best strategies")):
            if key in importance:
                imp = importance[key]
                rep.table([{"assumption group": r["input"], "share": r["share"], "p05": r["share_p05"],
                            "p95": r["share_p95"], "spearman": r["spearman"]} for r in imp["inputs"][:10]],
                          formats={"share": ".0%", "p05": ".0%", "p95": ".0%", "spearman": ".2f"},
                          caption=f"{what}: largest groups (R² {imp['r2']:.2f}; {imp['method']}).")
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
    result["uncertain_groups"] = [g.to_dict() for g in groups.values()]
    result["outer_draws"] = outer
    result["caller_behaviour"] = ("calibrated posterior: median for the headline, one draw per outer draw"
                                  if draws_post else "the scenario's [callers]")
    result["probability_best"] = prob_best
    result["assumption_importance"] = importance
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
