"""``nines check SCENARIO``: the compliance rules a regulator's reviewer applies (figure, limit, verdict).

It is a report: the exit code is 0 whatever the verdicts, 2 for bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from model.cli.common import EXIT_OK, positive_int, print_json, seed_arg

__all__ = ["register"]


def _non_negative(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not v >= 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number >= 0")
    return v


def cmd_check(args: argparse.Namespace) -> int:
    from model.metrics.compliance import check_compliance

    rep = check_compliance(args.scenario, years=args.years, seed=args.seed,
                           tolerated_breaches_per_year=args.tolerance)
    if args.json:
        print_json(rep.to_dict())
    else:
        print(rep.to_text())
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``check`` to ``sub`` (an argparse subparsers object)."""
    c = sub.add_parser("check", help="compliance rules (Ofcom availability and answer time, single points "
                                     "of failure, route diversity, notification): figure, limit, verdict")
    c.add_argument("scenario", help="path to a .toml scenario or a bundled name (e.g. uk999)")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.add_argument("--years", type=positive_int, default=20_000,
                   help="simulated years for the monthly availability rule (default 20000)")
    c.add_argument("--seed", type=seed_arg, default=20230625, help="root seed (default 20230625)")
    c.add_argument("--tolerance", type=_non_negative, default=0.1,
                   help="breaching months a year the availability verdict tolerates on average (default 0.1)")
    c.set_defaults(func=cmd_check)
