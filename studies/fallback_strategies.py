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
from model.metrics.breakdown import unreachable_by
from model.metrics.calibration import callers_overlay, posterior_median
from model.metrics.compare import compare_strategies, split_by_cause, without_platform_events
from model.metrics.decision import (
    cost_effectiveness_frontier,
    cost_per_call_interval,
    decision_paragraph,
    probability_best,
)
from model.metrics.rank_importance import rank_importance
from model.metrics.sensitivity import assumption_draws, time_engine_refusals
from model.metrics.tail_risk import strategy_tails, tail_table
from model.network.callnetwork import build_network
from model.report import (
    Report,
    cost_effectiveness_figure,
    ecdf,
    format_number,
    format_odds,
    format_percent,
    importance_section,
    ranked_bar,
    return_period_figure,
    uk_hex_map,
)
from model.scenario.calibrated import load_posterior
from model.scenario.loader import load_scenario
from model.scenario.strategies import apply_strategies, bundled_strategies, load_strategy

NAME = "fallback_strategies"

def main(argv: list[str] | None = None) -> int:
    parser = study_parser(NAME, __doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=None, help="simulated years per strategy")
    parser.add_argument("--outer", type=int, default=None, help="parameter draws for the uncertainty band")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    parser.add_argument("--callers", choices=("posterior", "scenario"), default="posterior",
                        help="caller behaviour: calibrated posterior (default) or the scenario's [callers]")
    parser.add_argument("--tail-years", type=int, default=None, help="importance-sampled years per strategy")
    args = parser.parse_args(argv)
    if args.years is not None and args.years < 2:
        raise ValueError(f"--years must be at least 2, got {args.years}")
    study = Study(NAME, args)
    years = args.years or (40 if args.quick else 1000)
    outer = args.outer if args.outer is not None else (2 if args.quick else 64)
    outer_years = 20 if args.quick else max(20, years // 16)
    scenario = load_scenario(args.scenario)
    draws_post = load_posterior().draws if args.callers == "posterior" else ()
    base = (scenario.extend(callers_overlay(posterior_median(draws_post)), "<calibrated callers>")
            if draws_post else scenario)
    names = [n for n in bundled_strategies() if n != "status_quo"]
    sets = [[load_strategy(n)] for n in names]
    sets.append([load_strategy("automatic_failover"), load_strategy("full_capacity_backup")])
    sets.append([load_strategy("faster_detection"), load_strategy("emergency_alert_advice")])

    print(f"simulating {len(sets) + 1} strategies over {years:,} years each (common random numbers)...",
          file=sys.stderr, flush=True)
    comp = compare_strategies(base, sets, years=years, seed=args.seed, workers=args.workers)
    result = comp.to_dict()
    ranking = comp.ranking()
    print("the same years with platform-wide events switched off (routine outages only)...", file=sys.stderr,
          flush=True)
    routine = compare_strategies(without_platform_events(base), sets, years=years, seed=args.seed,
                                 workers=args.workers)
    causes = split_by_cause(comp, routine)

    # two-level Monte Carlo: outer draws of every assumption group (and of the calibrated callers), inner
    # simulated years (common random numbers inside each draw)
    design = assumption_draws(scenario, outer, args.seed % (2 ** 31), draws_post)
    groups, u, input_names = design.groups, design.unit_cube, design.inputs
    names_g = list(groups)
    refused = time_engine_refusals(design.scenarios)  # normal operation overloaded, or too many calls a year
    kept = [k for k in range(outer) if k not in refused]
    if not kept:
        raise ValueError(f"the time engine refuses all {outer} outer draws: "
                         f"{next(iter(refused.values())).splitlines()[-1].strip()}")
    band_rows: dict[str, list[float]] = {o.name: [] for o in [comp.baseline, *ranking]}
    rate_draws: list[float] = []  # status quo unreachable-call rate under each draw
    for k in kept:
        print(f"parameter draw {k + 1} of {outer}: every strategy over {outer_years} years...",
              file=sys.stderr, flush=True)
        ck = compare_strategies(design.scenarios[k], sets, years=outer_years, seed=args.seed + 1 + k,
                                workers=args.workers)
        band_rows[comp.baseline.name].append(float(ck.baseline.failed_calls.mean()))
        rate_draws.append(float(ck.baseline.result.unreachable_call_rate.value))
        by_name = {o.name: o for o in ck.outcomes}
        for o in ranking:
            band_rows[o.name].append(float(by_name[o.name].failed_calls.mean()))
    bands = {name: {"median": float(np.median(v)), "p05": float(np.quantile(v, 0.05)),
                    "p95": float(np.quantile(v, 0.95)), "draws": v} for name, v in band_rows.items()}
    # which assumptions drive the answer, and does the ranking survive the band?
    y_base = np.array(band_rows[comp.baseline.name])
    per_strategy = np.array([band_rows[o.name] for o in ranking])  # (S, outer)
    importance: dict[str, dict] = {}
    u = u[kept]
    if len(kept) > u.shape[1] + 1:
        importance["headline"] = rank_importance(u, y_base, input_names, seed=args.seed)
        importance["headline_rate"] = rank_importance(u, np.array(rate_draws), input_names, seed=args.seed)
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
    fc = base_sum["failed_calls_per_year"]
    labels = [o.label for o in ranking]
    av = [comp.avoided(o) for o in ranking]

    # the decision: cost against calls avoided, how sure (parameter draws), routine vs platform-wide
    base_draws = np.asarray(band_rows[comp.baseline.name])
    p_best = probability_best({o.name: base_draws - np.asarray(band_rows[o.name]) for o in ranking})
    costed = [(o.name, o.annual_cost_gbp, a["mean"]) for o, a in zip(ranking, av, strict=True)
              if o.annual_cost_gbp is not None]
    frontier = cost_effectiveness_frontier(costed)
    cpa = {o.name: cost_per_call_interval(o.annual_cost_gbp, a) for o, a in zip(ranking, av, strict=True)}
    decision_rows = [{"name": o.name, "label": o.label, "avoided": a, "annual_cost_gbp": o.annual_cost_gbp}
                     for o, a in zip(ranking, av, strict=True)]
    platform_share = causes[comp.baseline.name]["platform_share"]
    summary_text = decision_paragraph(decision_rows, fc["mean"], p_best=p_best, frontier=frontier,
                                      platform_share=platform_share)
    value_pick = min((o for o in ranking if cpa[o.name] and np.isfinite(cpa[o.name]["value"])),
                     key=lambda o: cpa[o.name]["value"], default=None)
    net = build_network(apply_strategies(base, []))
    by_area = unreachable_by(net, "area", samples=200_000 if args.quick else 2_000_000, seed=args.seed)
    by_service = unreachable_by(net, "service", samples=200_000 if args.quick else 2_000_000, seed=args.seed)

    def money(x: float) -> str:
        return "unbounded" if not np.isfinite(x) else f"£{x:,.0f}"

    def per_call(c: dict | None) -> str:
        if c is None:
            return "no cost given"
        if not np.isfinite(c["ci_low"]):
            return "none avoided in these years"
        return f"{money(c['value'])} ({money(c['ci_low'])} to {money(c['ci_high'])})"

    rep = Report("Fallback strategies compared — UK 999",
                 subtitle=f"{years:,} simulated years per strategy, common random numbers, seed {args.seed}")
    rep.key_number("best_strategy", f"Most failed calls avoided: {best.label}", best_avoid["mean"],
                   (best_avoid["ci_low"], best_avoid["ci_high"]), unit="calls a year",
                   note=f"of {fc['mean']:,.0f} failed genuine calls a year under the status quo "
                        "(paired 95% CI)")
    if value_pick is not None:
        c = cpa[value_pick.name]
        rep.key_number("best_value", f"Best value: {value_pick.label}", money(c["value"]),
                       f"95% CI {money(c['ci_low'])} to {money(c['ci_high'])}", unit="per call avoided",
                       note=f"annual cost £{value_pick.annual_cost_gbp:,.0f} (a stated assumption)")
    pb = p_best[best.name]
    rep.key_number("how_sure", f"How sure: {best.label} is best", f"{pb['probability']:.0%}",
                   f"95% CI {pb['ci_low']:.0%} to {pb['ci_high']:.0%}",
                   note=f"share of {pb['draws']} draws of the uncertain inputs in which it avoids the most")
    area_label = {r["group"]: r["label"] for r in by_area}
    base_area = comp.baseline.result.failed_calls_by_area
    best_area = comp.avoided_by_area(best)
    worst = max(base_area, key=lambda a: base_area[a].value)
    wa = base_area[worst]
    rep.key_number("where", f"Where: most failed calls in {area_label.get(worst, worst)}", wa.value,
                   (wa.ci_low, wa.ci_high), unit="calls a year",
                   note=f"status quo (time engine); {best.label} avoids {best_area[worst]['mean']:,.0f} "
                        "of them a year; maps below")
    rep.key_number("baseline_failed", "Status quo: failed genuine calls a year", fc["mean"],
                   (fc["ci_low"], fc["ci_high"]),
                   note=f"{format_odds(rate['estimate'])} genuine calls ({format_percent(rate['estimate'])})")

    rep.section("Decision summary", summary_text)
    rep.figure(cost_effectiveness_figure(
        labels, [o.annual_cost_gbp if o.annual_cost_gbp is not None else np.nan for o in ranking],
        [a["mean"] for a in av], [a["ci_low"] for a in av], [a["ci_high"] for a in av], frontier=frontier,
        title="Calls avoided against annual cost (status quo at the origin)"),
        caption="Each point: failed genuine calls avoided a year against the status quo (paired 95% "
                "interval) and the strategy's annual cost (stated assumptions). The dashed line is the "
                "cost-effectiveness frontier; strategies below it cost more for fewer calls avoided.")
    table = [{"strategy": "Status quo", "failed": fc["mean"], "avoided": 0.0, "avoided_ci": "—",
              "cost": 0.0, "per_call": "—", "p_best": "—", "frontier": "origin"}]
    for o, a in zip(ranking, av, strict=True):
        c = cpa[o.name]
        table.append({
            "strategy": o.label, "failed": o.summary()["failed_calls_per_year"]["mean"], "avoided": a["mean"],
            "avoided_ci": f"{a['ci_low']:,.0f} to {a['ci_high']:,.0f}", "cost": o.annual_cost_gbp,
            "per_call": per_call(c),
            "p_best": (f"< {p_best[o.name]['ci_high']:.0%} (never best)"
                       if p_best[o.name]["interval"] == "one-sided-upper"
                       else f"{p_best[o.name]['probability']:.0%}"),
            "frontier": "yes" if o.name in frontier else ""})
    rep.table(table, labels={"failed": "failed calls a year", "avoided": "avoided a year",
                             "avoided_ci": "paired 95% CI", "cost": "annual cost £",
                             "per_call": "£ per call avoided",
                             "p_best": "P(best)", "frontier": "on frontier"},
              formats={"failed": ",.0f", "avoided": ",.0f", "cost": ",.0f"},
              caption="Every strategy against the status quo over the same simulated years. P(best): "
                      "share of the parameter draws in which the strategy avoids the most failed calls.")
    rep.section("Routine outages and platform-wide events",
                "The same years simulated again with the platform-wide events (the call-handling platforms "
                "and their shared causes) switched off: what remains is routine outages of originating "
                "networks and access links; the difference, year by year, is what platform-wide events "
                "cause.")
    rep.table([{"strategy": "Status quo" if n == comp.baseline.name else d["label"],
                "routine": d["routine"]["mean"], "platform": d["platform_wide"]["mean"],
                "platform_ci": f"{d['platform_wide']['ci_low']:,.1f} to {d['platform_wide']['ci_high']:,.1f}",
                "share": d["platform_share"]} for n, d in causes.items()],
              labels={"routine": "routine outages: failed calls a year",
                      "platform": "platform-wide events: failed calls a year", "platform_ci": "95% CI",
                      "share": "platform-wide share"},
              formats={"routine": ",.1f", "platform": ",.1f", "share": ".1%"},
              caption="Platform-wide events are rare (about one in 86 years), so their yearly mean is small "
                      "and uncertain; the replay study (bt_outage_2023) shows one such event in full.")
    rep.section("Where calls are unreachable",
                "Status quo, structural view (static engine: each component down with its steady-state "
                "unavailability; capacity and callers are in the simulation above).")
    detail = {r["group"]: f"{r['expected_unreachable_per_year'].value:,.0f} calls a year; "
                          f"{format_odds(r['unreachable_probability'].value)}" for r in by_area}
    rep.figure(uk_hex_map({r["group"]: r["unreachable_probability"].value for r in by_area},
                          {r["group"]: r["label"] for r in by_area},
                          value_label="share of genuine calls unreachable", value_format=".4%",
                          title="Share of genuine calls unreachable, by area", detail=detail),
               caption="One hexagon per nation or English region (a cartogram, not to scale).")
    rep.figure(uk_hex_map({a: d["mean"] for a, d in best_area.items()}, area_label,
                          value_label=f"failed calls avoided a year by {best.label}", value_format=",.1f",
                          title=f"Failed genuine calls avoided a year by {best.label}, by area",
                          colorscale="Greens",
                          detail={a: f"paired 95% CI {d['ci_low']:,.1f} to {d['ci_high']:,.1f}; status quo "
                                     f"{base_area[a].value:,.1f} failed calls a year"
                                  for a, d in best_area.items()}),
               caption="Time engine, the same simulated years for the status quo and the strategy (paired): "
                       "the callers of each area who never got through under the status quo but did under "
                       "the strategy.")
    rep.table([{"area": area_label.get(a, a), "status_quo": base_area[a], "avoided": d,
                "share": d["mean"] / base_area[a].value if base_area[a].value > 0 else float("nan")}
               for a, d in sorted(best_area.items(), key=lambda kv: -kv[1]["mean"])],
              labels={"status_quo": "status quo failed calls a year [95% CI]",
                      "avoided": f"avoided by {best.label} [paired 95% CI]", "share": "share avoided"},
              formats={"share": ".0%",
                       "avoided": lambda d: f"{d['mean']:,.1f} [{d['ci_low']:,.1f}, {d['ci_high']:,.1f}]"},
              caption="By area, time engine (capacity, failover and callers included), "
                      f"{years:,} simulated years.")
    for rows_by, what in ((by_area, "area"), (by_service, "service")):
        rep.table([{what: r["label"], "calls": r["genuine_calls_per_year"],
                    "p": r["unreachable_probability"],
                    "odds": format_odds(r["unreachable_probability"].value),
                    "expected": r["expected_unreachable_per_year"]} for r in rows_by],
                  labels={"calls": "genuine calls a year", "p": "P(unreachable) [95% CI]", "odds": "in words",
                          "expected": "unreachable calls a year [95% CI]"},
                  formats={"calls": ",.0f"}, caption=f"By {what} (status quo, static engine).")
    rep.section("Ranking", "Failed genuine calls avoided a year against the status quo, with paired 95% "
                "intervals (same failure histories and callers in every strategy).")
    rep.figure(ranked_bar(labels, [a["mean"] for a in av], [a["ci_low"] for a in av],
                          [a["ci_high"] for a in av], title="Failed calls avoided a year (paired 95% CI)",
                          x_title="genuine calls a year"), caption="Paired intervals; the method notes give "
               "the intervals two independent runs would give.")
    rows = []
    for o in ranking:
        s = o.summary()
        rows.append({
            "strategy": o.label,
            "worst_in_10": s["worst_year_in_10"]["value"], "worst_in_100": s["worst_year_in_100"]["value"],
            "band": f"{bands[o.name]['p05']:,.0f} to {bands[o.name]['p95']:,.0f}",
        })
    rep.table(rows, labels={"worst_in_10": "worst year in 10", "worst_in_100": "worst year in 100",
                            "band": "failed calls a year, parameter band 5-95%"},
              formats={"worst_in_10": ",.0f", "worst_in_100": ",.0f"},
              caption=f"Tail and parameter band per strategy. Status quo: {fc['mean']:,.1f} failed genuine "
                      "calls a year.")
    rep.section("Tail risk", "Exceedance: the share of years with more failed calls than x. The worst year "
                "in 10 is where a curve crosses 0.1, in 100 where it crosses 0.01.")
    series = {comp.baseline.label: comp.baseline.failed_calls}
    series.update({o.label: o.failed_calls for o in ranking[:4]})
    rep.figure(ecdf(series, complementary=True, log_y=True, title="Failed genuine calls in a year",
                    x_title="failed calls in a year", y_title="share of years exceeding"))
    # full run: cross-entropy pilots of 2 x 100 years, then biased years until the worst year in 10,000 is
    # known to 10 % (RSE of its probability), at most --tail-years; quick: one 10-year pilot and 20 years
    tail_cap = args.tail_years or (20 if args.quick else 1500)
    tails = strategy_tails(base, sets, years=tail_cap, seed=args.seed, workers=args.workers,
                           target_rse=None if args.quick else 0.10,
                           pilot_years=10 if args.quick else 100, pilot_rounds=1 if args.quick else 2)
    spent = [s["years"] for s in tails["strategies"]]
    secs = sum(s["seconds"] for s in tails["strategies"])
    stop = "stopping once the worst year in 10,000 is known to 10 %, " if tails["target_rse"] else ""
    rep.figure(return_period_figure(tails["strategies"], title="Return period of an incident (95% bands)"),
               caption=f"{min(spent):,} to {max(spent):,} importance-sampled years per strategy "
                       f"({stop}at most {tail_cap:,}; after {tails['strategies'][0]['pilot_years']:,} pilot "
                       f"years; {secs:,.0f} s in all): {tails['method']}.")
    rep.table(tail_table(tails), caption="The worst year in 100, 1,000 and 10,000 (unreachable calls), "
              "with intervals, from the same importance-sampled years; effective years = (sum w)^2 / "
              "sum w^2.")
    result["tail_risk"] = tails
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
    importance_section(rep, importance, [
        ("headline", "status quo failed genuine calls a year"),
        ("headline_rate", "status quo unreachable-call rate"),
        ("best_strategy_avoided", f"calls avoided by {best.label}"),
        ("ranking_margin", "margin between the two best strategies")], draws=len(kept))
    if refused:
        rep.paragraph(f"{len(refused)} of {outer} outer draws are left out: the time engine refuses them "
                      "before any work (with nothing failed a capacity already loses calls, or a simulated "
                      "year would follow more calls one by one than it allows); bands, P(best) and shares "
                      "are over the other draws, conditional on a network that carries its normal load.",
                      note=True)
    rep.section("The network")
    rep.figure(network_diagram(net), height=720)
    rep.section("Method notes", f"Common random numbers: every strategy sees the same failure histories and "
                f"callers, so paired intervals are narrower than those of two independent runs (median "
                f"variance reduction {float(np.median(vr)):,.1f}x). The intervals two independent runs would "
                "give are below for comparison; their lower ends can fall below zero, the paired ones are "
                "the ones to quote.")
    rep.table([{"strategy": o.label, "paired": f"{a['ci_low']:,.1f} to {a['ci_high']:,.1f}",
                "independent": f"{a['independent_ci_low']:,.1f} to {a['independent_ci_high']:,.1f}",
                "gain": a["variance_reduction"]} for o, a in zip(ranking, av, strict=True)],
              labels={"paired": "paired 95% CI", "independent": "independent 95% CI",
                      "gain": "variance reduction"},
              formats={"gain": ",.1f"}, caption="Calls avoided a year: paired against independent intervals.")
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
    result["outer_draws_kept"] = kept
    result["outer_draws_refused"] = {str(k): v for k, v in refused.items()}
    result["caller_behaviour"] = ("calibrated posterior: median for the headline, one draw per outer draw"
                                  if draws_post else "the scenario's [callers]")
    result["assumption_importance"] = importance
    result["outer_design"] = {"inputs": input_names, "unit_cube": u.tolist(),
                              "status_quo_unreachable_call_rate": rate_draws,
                              "method": design.method}
    result["decision"] = {"summary": summary_text, "frontier": frontier, "probability_best": p_best,
                          "cost_per_call_avoided": cpa,
                          "best_value": value_pick.name if value_pick is not None else None}
    result["by_cause"] = causes
    for key, rows_by in (("by_area", by_area), ("by_service", by_service)):
        result[key] = [{k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in r.items()}
                       for r in rows_by]
    result["provenance"] = prov
    result["compliance"] = study.compliance(rep, base, strategies=sets)
    result["recovery"] = study.recovery(rep, base, sets)
    html_path, json_path = study.write(rep, result)
    print(f"wrote {html_path} and {json_path}")
    print(f"status quo: {format_number(fc['mean'])} failed genuine calls a year "
          f"(unreachable share {format_percent(rate['estimate'])}); best: {best.label} avoids "
          f"{best_avoid['mean']:,.1f} [{best_avoid['ci_low']:,.1f}, {best_avoid['ci_high']:,.1f}] a year")
    return 0


if __name__ == "__main__":
    sys.exit(run_study(main))
