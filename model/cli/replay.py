"""The ``replay`` subcommand of ``nines``: replay a scenario's prescribed incident many times.

Each replication draws the callers' behaviour; the output gives the distribution of failed callers,
failed attempts and calls connected via fallback lines or after redial over the replications.
"""

from __future__ import annotations

import argparse
from typing import Any

from model.cli.common import EXIT_OK, UsageError, fmt, load_network, positive_int, print_json, seed_arg

__all__ = ["register"]

#: Most replications one command runs (each replays every caller of the incident).
MAX_REPLICATIONS = 100_000


def cmd_replay(args: argparse.Namespace) -> int:
    from model.sim.engine import as_time_model, replay_incident

    net = load_network(args.scenario)
    if args.incident not in net.scenario.incidents:
        known = ", ".join(sorted(net.scenario.incidents)) or "none"
        raise UsageError(f"{net.scenario.files[-1]}: incidents: no incident named {args.incident!r} "
                         f"(the scenario has: {known})")
    if args.replications > MAX_REPLICATIONS:
        raise UsageError(f"--replications {args.replications}: at most {MAX_REPLICATIONS:,}")
    out = replay_incident(as_time_model(net), args.incident, args.replications, args.seed)
    if args.json:
        print_json({k: v for k, v in out.items() if k != "per_replication"})
        return EXIT_OK
    print(f"{out['label']} [{out['incident']}]: {out['replications']} replications over "
          f"{fmt(out['hours'])} h (seed {out['seed']})")
    for key, label in (("failed_callers", "failed callers"), ("failed_attempts", "failed attempts"),
                       ("connected_via_fallback", "connected via fallback lines"),
                       ("connected_after_redial", "connected after redial")):
        f = out[key]
        print(f"  {label}: median {fmt(f['median'], ',.0f')} (90% of replications in "
              f"[{fmt(f['p05'], ',.0f')}, {fmt(f['p95'], ',.0f')}])")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add the ``replay`` subcommand to ``sub`` (an argparse subparsers object)."""
    r = sub.add_parser("replay", help="replay a prescribed incident of the scenario many times")
    r.add_argument("scenario", help="path to a .toml scenario or a bundled name (e.g. uk999)")
    r.add_argument("incident", help="id of an entry of [incidents]")
    r.add_argument("--replications", type=positive_int, default=200,
                   help=f"replays, each with its own caller behaviour (at most {MAX_REPLICATIONS:,})")
    r.add_argument("--seed", type=seed_arg, default=0, help="root seed of the replays")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.set_defaults(func=cmd_replay)
