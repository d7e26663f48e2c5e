"""Which assumptions drive the flagship's headline? Share of variance by assumption group.

The flagship's outer loop (``studies/fallback_strategies.py``) restricted to the status
quo: every assumption group of the scenario's ``[uncertainty]`` table and the calibrated
caller behaviour (one posterior draw per outer draw) varied together over scrambled-Sobol
draws, each draw simulated over the same seed as the flagship's draw of the same index,
and the share of variance of the two headline figures (failed genuine calls a year and
the unreachable-call rate) that each group explains (squared standardised rank
regression coefficients with bootstrap intervals, and the direction). It exists because
some draws (low control-room capacity with a high genuine share) leave most of a year
affected and cost about a minute per simulated year per strategy, which puts the full
flagship (64 draws x every strategy) out of reach on a small machine; the status quo
alone is about a tenth of that.

Writes ``headline_sensitivity.html`` and ``headline_sensitivity.json``.

Run: ``python studies/headline_sensitivity.py [--outer N] [--years N] [--workers N] [--out DIR] [--quick]``
"""

from __future__ import annotations

import sys
import time

import numpy as np

from model.cli.study import Study, run_study, study_parser
from model.metrics.calibration import callers_overlay, posterior_median
from model.metrics.compare import compare_strategies
from model.metrics.rank_importance import rank_importance
from model.metrics.replications import spread
from model.metrics.sensitivity import assumption_draws, time_engine_refusals
from model.report import Report, importance_section
from model.scenario.calibrated import load_posterior
from model.scenario.loader import load_scenario

NAME = "headline_sensitivity"
OUTPUTS = (("headline", "status quo failed genuine calls a year"),
           ("headline_rate", "status quo unreachable-call rate"))


def main(argv: list[str] | None = None) -> int:
    parser = study_parser(NAME, __doc__.splitlines()[0])
    parser.add_argument("--outer", type=int, default=None, help="outer draws, a power of 2 (default 64)")
    parser.add_argument("--years", type=int, default=None, help="simulated years per draw (default 4)")
    parser.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    parser.add_argument("--callers", choices=("posterior", "scenario"), default="posterior",
                        help="caller behaviour: calibrated posterior (default) or the scenario's [callers]")
    args = parser.parse_args(argv)
    study = Study(NAME, args)
    outer = args.outer if args.outer is not None else (32 if args.quick else 64)
    years = args.years if args.years is not None else (1 if args.quick else 4)
    if years < 1:
        raise ValueError(f"--years must be at least 1, got {years}")
    scenario = load_scenario(args.scenario)
    post = load_posterior().draws if args.callers == "posterior" else ()
    design = assumption_draws(scenario, outer, args.seed % (2 ** 31), post)
    refused = time_engine_refusals(design.scenarios)
    kept = [k for k in range(outer) if k not in refused]
    failed, rate, seconds = [], [], []
    for k in kept:  # one step per outer draw the engine accepts
        scen = design.scenarios[k]
        t0 = time.perf_counter()
        ck = compare_strategies(scen, [], years=years, seed=args.seed + 1 + k, workers=args.workers)
        failed.append(float(ck.baseline.failed_calls.mean()))
        rate.append(float(ck.baseline.result.unreachable_call_rate.value))
        seconds.append(time.perf_counter() - t0)
        print(f"draw {k + 1} of {outer}: {failed[-1]:,.0f} failed genuine calls a year, "
              f"{seconds[-1]:.1f} s", file=sys.stderr, flush=True)
    importance = {}
    u = design.unit_cube[kept]
    if len(kept) > u.shape[1] + 1:
        importance = {"headline": rank_importance(u, np.array(failed), design.inputs, seed=args.seed),
                      "headline_rate": rank_importance(u, np.array(rate), design.inputs, seed=args.seed)}
    base = (scenario.extend(callers_overlay(posterior_median(post)), "<calibrated callers>") if post
            else scenario)
    rep = Report("Which assumptions drive the headline — UK 999 status quo",
                 subtitle=f"{outer} draws of every assumption group, {years} simulated years each, "
                          f"seed {args.seed}")
    band = spread(failed)
    rep.key_number("band", "Status quo failed genuine calls a year: 5-95% band over the draws",
                   band["median"], (band["p05"], band["p95"]),
                   note=f"median over {len(kept)} of {outer} draws of every assumption")
    if importance:
        top = importance["headline"]["inputs"][0]
        rep.key_number("top_group", f"Largest share: {top['input']}", f"{top['share']:.0%}",
                       f"90% interval {top['share_p05']:.0%} to {top['share_p95']:.0%}",
                       note="of the variance of the ranks of failed genuine calls a year")
    importance_section(rep, importance, OUTPUTS, draws=len(kept))
    if refused:
        rep.paragraph(f"{len(refused)} of {outer} draws are left out: the time engine refuses them before "
                      "any work, because with nothing failed a capacity already loses calls (normal "
                      "operation "
                      "overloaded) or because a simulated year would follow more calls one by one than it "
                      "allows. The band and the shares are over the other draws, so they are conditional on "
                      "a network that carries its normal load. First refusal: "
                      f"{next(iter(refused.values())).splitlines()[-1].strip()}", note=True)
    rep.table([{"group": g.label, "low": g.low, "high": g.high, "scale": g.distribution, "mode": g.mode,
                "why": g.why} for g in design.groups.values()],
              caption=f"Assumption groups varied ({design.method}).")
    slow = int(np.argmax(seconds)) if seconds else 0
    rep.paragraph(f"Each draw: the status quo simulated over {years} years with the flagship's seed for that "
                  f"draw (so with --years equal to the flagship's outer years, the values are the flagship's "
                  f"status-quo draws). Slowest draw {kept[slow] + 1 if kept else 0}: "
                  f"{max(seconds, default=0.0):,.0f} s; total {sum(seconds):,.0f} s of simulation.",
                  note=True)
    prov = study.provenance(base, outer_draws=outer, years_per_draw=years)
    rep.provenance(prov)
    result = {"assumption_importance": importance, "outer_draws": outer, "years_per_draw": years,
              "draws_kept": kept, "draws_refused": {str(k): v for k, v in refused.items()},
              "status_quo_failed_calls_per_year": {"draws": failed, **band},
              "status_quo_unreachable_call_rate": {"draws": rate, **spread(rate)},
              "seconds_per_draw": seconds,
              "outer_design": {"inputs": design.inputs, "unit_cube": design.unit_cube.tolist(),
                               "method": design.method},
              "uncertain_groups": [g.to_dict() for g in design.groups.values()],
              "caller_behaviour": "calibrated posterior, one draw per outer draw" if post
              else "the scenario's [callers]",
              "provenance": prov}
    html_path, json_path = study.write(rep, result)
    print(f"wrote {html_path} and {json_path}")
    if importance:
        for key, what in OUTPUTS:
            print(f"{what}: " + "; ".join(f"{r['input']} {r['share']:.0%} [{r['share_p05']:.0%}, "
                                          f"{r['share_p95']:.0%}]" for r in importance[key]["inputs"][:4]))
    return 0


if __name__ == "__main__":
    sys.exit(run_study(main))
