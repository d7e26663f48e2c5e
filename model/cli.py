"""The ``nines`` command line.

Subcommands: ``validate``, ``describe``, ``schema``, ``whatif``, ``estimate``,
``reliability`` (and ``simulate`` when the time engine is installed). SCENARIO is a
path or a bundled name. Bad input gets one clear message on stderr and exit code 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from model import __version__

__all__ = ["UsageError", "main"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: printed without a traceback, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 already; keep its message short
        self.print_usage(sys.stderr)
        raise UsageError(f"{self.prog}: {message}")


def _print_json(obj: Any) -> None:
    from model.estimate import _jsonable

    print(json.dumps(_jsonable(obj), indent=2))


def _load(ref: str):
    from model.network import build_network
    from model.scenario import load_scenario

    return build_network(load_scenario(ref))


# ----------------------------------------------------------------------------- commands


def cmd_validate(args: argparse.Namespace) -> int:
    net = _load(args.scenario)
    s = net.scenario
    chain = " <- ".join(reversed(s.files))
    print(f"OK {s.name}: {len(net.components)} components, {len(net.demands)} demands, "
          f"{len(net.common_cause_events)} common-cause events ({chain})")
    return EXIT_OK


def cmd_describe(args: argparse.Namespace) -> int:
    net = _load(args.scenario)
    d = net.describe()
    if args.json:
        _print_json(d)
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
    from model.scenario import scenario_json_schema

    _print_json(scenario_json_schema())
    return EXIT_OK


def cmd_whatif(args: argparse.Namespace) -> int:
    from model.contingency import what_if

    net = _load(args.scenario)
    try:
        r = what_if(net, args.failed)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    if args.json:
        _print_json(r.to_dict())
    else:
        print(f"{' + '.join(r.failed)} down: {100 * r.share_cut:.4f}% of genuine call demand cut "
              f"({r.calls_per_year_cut:,.0f} calls/year rate), services {', '.join(r.services) or '-'}, "
              f"{len(r.areas)} areas")
    return EXIT_OK


def _positive_int(text: str) -> int:
    try:
        v = int(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if v <= 0 or v != float(text):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive whole number")
    return v


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return v


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="nines", description="Probabilistic resilience modelling of emergency call networks.")
    p.add_argument("--version", action="version", version=f"nines {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    v = sub.add_parser("validate", help="check a scenario file (every problem at once)")
    v.add_argument("scenario", help="path to a .toml scenario or a bundled name (e.g. uk999)")
    v.set_defaults(func=cmd_validate)

    d = sub.add_parser("describe", help="counts by kind, demand totals, single points of failure")
    d.add_argument("scenario")
    d.add_argument("--json", action="store_true", help="print one JSON object")
    d.add_argument("--top", type=_positive_int, default=15, help="single points of failure to list")
    d.set_defaults(func=cmd_describe)

    s = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    s.set_defaults(func=cmd_schema)

    w = sub.add_parser("whatif", help="demand cut off when the named components are down")
    w.add_argument("scenario")
    w.add_argument("failed", nargs="+", help="component or common-cause event names")
    w.add_argument("--json", action="store_true")
    w.set_defaults(func=cmd_whatif)

    for register in _EXTENSIONS:
        register(sub)
    return p


_EXTENSIONS: list[Callable[[Any], None]] = []


def extension(fn: Callable[[Any], None]) -> Callable[[Any], None]:
    """Register a function that adds subcommands (engines add theirs)."""
    _EXTENSIONS.append(fn)
    return fn


def _load_extensions() -> None:
    import importlib

    for mod in ("model.cli_engines",):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 failure, 2 bad input)."""
    from model.schema import ScenarioError

    _load_extensions()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.func(args))
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except (ValueError, OSError) as exc:  # bad files, graphs, sizes, unreachable schedulers
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ImportError as exc:  # an optional extra (dask) that is not installed
        print(f"error: {exc}; install it with pip install 'nines[dask]'", file=sys.stderr)
        return EXIT_USAGE
    except RuntimeError as exc:  # a failed worker or chunk: the run did not complete
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # argparse --help / --version
        return int(exc.code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
