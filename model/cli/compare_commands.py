"""``nines compare``: a user's overlays against the base scenario, paired over the same simulated years."""

from __future__ import annotations

import argparse
import math
from typing import Any

from model.cli.common import EXIT_OK, positive_int, print_json, seed_arg

__all__ = ["register"]


def _fmt_ci(d: dict[str, float], key: str = "mean") -> str:
    return f"{d[key]:,.1f} [{d['ci_low']:,.1f}, {d['ci_high']:,.1f}]"


def _cost(c: dict[str, float] | None) -> str:
    if c is None:
        return "no cost given"

    def f(x: float) -> str:
        return "unbounded (no calls avoided)" if math.isinf(x) else f"£{x:,.0f}"

    if math.isinf(c["ci_low"]):
        return "no failed call avoided in these years, so no finite cost per call avoided"
    return f"{f(c['value'])} per failed call avoided [{f(c['ci_low'])}, {f(c['ci_high'])}]"


def cmd_compare(args: argparse.Namespace) -> int:
    from model.metrics.compare import compare_strategies
    from model.scenario.loader import load_scenario
    from model.scenario.strategies import load_overlay

    base = load_scenario(args.scenario)
    overlays = [load_overlay(o) for o in args.overlays]
    cmp = compare_strategies(base, [[o] for o in overlays], args.years, args.seed,
                             chunk_years=min(args.years, 50), workers=args.workers)
    d = cmp.to_dict()
    if args.json:
        print_json(d)
        return EXIT_OK
    b = d["baseline"]
    print(f"{base.label}: {_fmt_ci(b['failed_calls_per_year'])} failed genuine calls a year "
          f"({args.years:,} simulated years, seed {args.seed}; the same years for every overlay)")
    for row in d["strategies"]:
        a = row["failed_calls_avoided_per_year"]
        print(f"  {row['label']}: {_fmt_ci(row['failed_calls_per_year'])} a year; avoids {_fmt_ci(a)} "
              f"(paired 95% CI; two independent runs would give [{a['independent_ci_low']:,.1f}, "
              f"{a['independent_ci_high']:,.1f}]); {_cost(row['cost_per_failed_call_avoided_gbp'])}")
    if not d["strategies"]:
        print("  every overlay changes nothing that the simulation sees (status quo)")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``compare`` to ``sub`` (an argparse subparsers object)."""
    c = sub.add_parser("compare", help="paired comparison of overlays (strategies, what-ifs) with the base")
    c.add_argument("scenario", help="the base: path to a .toml scenario or a bundled name (e.g. uk999)")
    c.add_argument("overlays", nargs="+",
                   help="overlay files (with or without a [strategy] table) or bundled strategy names")
    c.add_argument("--years", type=positive_int, default=200, help="simulated years, the same for all")
    c.add_argument("--seed", type=seed_arg, default=0, help="entropy of the run's SeedSequence")
    c.add_argument("--workers", type=positive_int, default=1, help="scenarios simulated in parallel")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(func=cmd_compare)
