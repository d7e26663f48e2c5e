"""Scenario subcommands of ``nines``: ``validate``, ``describe``, ``components``, ``schema``, ``whatif``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from model.cli.common import EXIT_OK, UsageError, load_network, positive_int, print_json

__all__ = ["register"]


def cmd_validate(args: argparse.Namespace) -> int:
    net = load_network(args.scenario)
    s = net.scenario
    chain = " <- ".join(reversed(s.files))
    print(f"OK {s.name}: {len(net.components)} components, {len(net.demands)} demands, "
          f"{len(net.common_cause_events)} common-cause events ({chain})")
    for w in s.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return EXIT_OK


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 area``, ``3 areas``."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def cmd_components(args: argparse.Namespace) -> int:
    from model.static.contingency import component_table

    net = load_network(args.scenario)
    rows = component_table(net)
    if args.kind:
        rows = [r for r in rows if args.kind.lower() in r["kind"]]
    if args.json:
        print_json(rows)
        return EXIT_OK
    width = max((len(r["name"]) for r in rows), default=4)
    print(f"{'name':<{width}}  {'kind':<24} {'unavailability':>14}  label")
    for r in rows:
        print(f"{r['name']:<{width}}  {r['kind']:<24} {r['q']:>14.3g}  {r['label']}")
    print(f"{plural(len(rows), 'name')}; use them with 'nines whatif {args.scenario} NAME...'")
    return EXIT_OK


def cmd_describe(args: argparse.Namespace) -> int:
    from model.static.contingency import describe_network

    net = load_network(args.scenario)
    d = describe_network(net)
    if args.json:
        print_json(d)
        return EXIT_OK
    print(f"{d['title'] or d['name']}  [{d['name']}]")
    print(f"  files: {' <- '.join(reversed(d['files']))}")
    print("  nodes:      " + ", ".join(f"{k} {v}" for k, v in d["nodes_by_kind"].items()))
    print("  components: " + ", ".join(f"{k} {v}" for k, v in d["components_by_kind"].items()))
    print("  control rooms by service: " + ", ".join(f"{k} {v}" for k, v in
                                                        d["control_rooms_by_service"].items()))
    print(f"  demands: {d['demands']}; calls a year {d['annual_calls']:,.0f}, "
          f"genuine {d['annual_genuine_calls']:,.0f}")
    print("  genuine calls by service: " + ", ".join(f"{k} {v:,.0f}" for k, v in
                                                       d["genuine_calls_by_service"].items()))
    spof = d["single_points_of_failure"]
    print(f"  single points of failure (an outage alone cuts demand): {len(spof)}")
    for row in spof[: args.top]:
        print(f"    {row['component']:<40} {100 * row['share_cut']:7.3f}% of demand  "
              f"({', '.join(row['services'])}; {row['areas']} areas)")
    if len(spof) > args.top:
        print(f"    ... {len(spof) - args.top} more (use --top or --json)")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from model.scenario.loader import scenario_json_schema

    print_json(scenario_json_schema())
    return EXIT_OK


def cmd_whatif(args: argparse.Namespace) -> int:
    from model.static.contingency import what_if

    net = load_network(args.scenario)
    try:
        r = what_if(net, args.failed)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    if args.json:
        print_json(r.to_dict())
    else:
        print(f"{' + '.join(r.failed)} down: {100 * r.share_cut:.4f}% of genuine call demand cut "
              f"({r.calls_per_year_cut:,.0f} calls/year rate), services {', '.join(r.services) or '-'}, "
              f"{plural(len(r.areas), 'area')}")
        print("  structural check only: which calls have no working path. Capacity, failover delays and "
              "callers are not in it; 'nines simulate' (and incident replays) follow them.")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add the scenario subcommands to ``sub`` (an argparse subparsers object)."""
    v = sub.add_parser("validate", help="check a scenario file (every problem at once)")
    v.add_argument("scenario", help="path to a .toml scenario or a bundled name (e.g. uk999)")
    v.set_defaults(func=cmd_validate)

    d = sub.add_parser("describe", help="counts by kind, demand totals, single points of failure")
    d.add_argument("scenario", help="path to a .toml scenario or a bundled name (e.g. uk999)")
    d.add_argument("--json", action="store_true", help="print one JSON object")
    d.add_argument("--top", type=positive_int, default=15, help="single points of failure to list")
    d.set_defaults(func=cmd_describe)

    c = sub.add_parser("components", help="every component and common-cause name with its label and kind")
    c.add_argument("scenario", help="path to a .toml scenario or a bundled name (e.g. uk999)")
    c.add_argument("--kind", default=None, help="only kinds containing this text (e.g. 'control room')")
    c.add_argument("--json", action="store_true", help="print one JSON list")
    c.set_defaults(func=cmd_components)

    s = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    s.set_defaults(func=cmd_schema)

    w = sub.add_parser("whatif", help="demand cut off when the named components are down")
    w.add_argument("scenario", help="path to a .toml scenario or a bundled name (e.g. uk999)")
    w.add_argument("failed", nargs="+", help="component or common-cause event names (see 'nines components')")
    w.add_argument("--json", action="store_true", help="print one JSON object")
    w.set_defaults(func=cmd_whatif)
