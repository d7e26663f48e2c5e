"""Engine subcommands of the ``nines`` CLI: ``estimate``, ``reliability``, ``simulate``.

Registered by :mod:`model.cli.main`; engines are imported only when a command runs.
"""

from __future__ import annotations

import argparse
from typing import Any

from model.cli.common import (
    EXIT_OK,
    UsageError,
    fmt,
    load_network,
    positive_float,
    positive_int,
    print_json,
    seed_arg,
)
from model.static.solve import METHODS, solve

__all__ = ["register"]

BREAKDOWNS = ("service", "area", "access", "caller_group")


def _estimate_json(est, method: str, reason: str) -> dict[str, Any]:
    d = est.to_dict()
    d["method_chosen"] = method
    d["method_reason"] = reason
    return d


def _print_estimate(label: str, est, method: str, reason: str) -> None:
    print(f"{label}: {est.value:.6g}  95% CI [{est.ci_low:.6g}, {est.ci_high:.6g}]  "
          f"(std error {est.std_error:.3g}; {est.method}, {est.samples:,} samples, {est.seconds:.2f} s)")
    if reason and "requested" not in reason:
        print(f"  method {method}: {reason}")


def cmd_estimate(args: argparse.Namespace) -> int:
    net = load_network(args.scenario)
    c = net.compiled
    res = None
    if args.method == "mc":
        from model.static.montecarlo import estimate_parallel

        groups = {f"{by}:{k}": idx for by in BREAKDOWNS for k, idx in net.demand_groups(by).items()}
        res = estimate_parallel(c, _samples(args, "mc"), args.seed, groups=groups, **_run_options(args))
        est, method, reason = res.overall, "mc", "method mc requested"
    else:
        est, method, reason = solve(c, args.method, samples=_samples(args, args.method), seed=args.seed)
    out: dict[str, Any] = {
        "scenario": net.scenario.name,
        "unreachable_probability": _estimate_json(est, method, reason),
        "annual_genuine_calls": c.total_weight,
        "expected_unreachable_calls_per_year": est.scaled(c.total_weight).to_dict(),
    }
    if res is not None:
        out["provenance"] = res.provenance
        per_group = res.by_group()
        for by in BREAKDOWNS:
            out[f"by_{by}"] = {name.split(":", 1)[1]: e.to_dict() for name, e in per_group.items()
                               if name.startswith(f"{by}:")}
    if args.json:
        print_json(out)
    else:
        _print_estimate("P(a genuine call is unreachable)", est, method, reason)
        e = est.scaled(c.total_weight)
        print(f"expected unreachable genuine calls a year: {e.value:,.1f} [{e.ci_low:,.1f}, {e.ci_high:,.1f}]"
              f" of {c.total_weight:,.0f}")
    return EXIT_OK


def _read_graph_for(args: argparse.Namespace):
    from model.network.graphs import read_graph

    g = read_graph(args.graph)
    nodes = {str(n): n for n in g.nodes}
    for opt in ("source", "target"):
        name = getattr(args, opt)
        if name not in nodes:
            sample = ", ".join(sorted(nodes)[:10])
            raise UsageError(f"{args.graph}: --{opt} {name!r} is not a node of the graph (nodes: {sample}"
                             f"{' ...' if len(nodes) > 10 else ''})")
    if args.source == args.target:
        raise UsageError(f"{args.graph}: --source and --target are the same node {args.source!r}; a node "
                         "always reaches itself (unreliability 0): give two different nodes")
    return g, nodes[args.source], nodes[args.target]


def cmd_reliability(args: argparse.Namespace) -> int:
    try:
        return _reliability(args)
    except ValueError as exc:  # a graph an engine cannot take: name the file
        text = str(exc)
        raise UsageError(text if text.startswith(str(args.graph)) else f"{args.graph}: {text}") from None


def _reliability(args: argparse.Namespace) -> int:
    g, s, t = _read_graph_for(args)
    if args.method == "simulate":
        from model.sim.engine import simulate_graph

        out = simulate_graph(g, s, t, years=args.years, seed=args.seed)
        if args.json:
            print_json(out)
        else:
            print(f"long-run unavailability {fmt(out['estimate'], '.6g')} "
                  f"[{fmt(out['ci_low'], '.6g')}, {fmt(out['ci_high'], '.6g')}]; "
                  f"failure frequency {fmt(out['failure_frequency_per_year'])}/yr; "
                  f"mean down {fmt(out['mean_down_hours'])} h ({args.years} years)")
        return EXIT_OK
    from model.network.compiled import compile_graph

    net = compile_graph(g, s, t)
    if net.n_components == 0:
        raise UsageError(f"{args.graph}: no element carries a failure probability 'q'")
    est, method, reason = solve(net, args.method, samples=_samples(args, args.method), seed=args.seed)
    if args.json:
        print_json(_estimate_json(est, method, reason))
    else:
        _print_estimate(f"P({args.source} cannot reach {args.target})", est, method, reason)
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    from model.sim.engine import simulate_parallel

    net = load_network(args.scenario)
    res = simulate_parallel(net, args.years, args.seed, **_run_options(args))
    d = res.to_dict()
    if args.json:
        print_json(d)
    else:
        r = d["unreachable_call_rate"]
        f = d["failed_calls_per_year"]
        interval = (f"[{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]" if not isinstance(r["ci_high"], str)
                    else f"(interval {r['ci_high']})")
        print(f"unreachable-call rate {fmt(r['estimate'])} {interval} over "
              f"{args.years} simulated years (seed {args.seed})")
        print(f"failed genuine calls a year: mean {fmt(f['mean'], ',.1f')}, median {fmt(f['p50'], ',.0f')}, "
              f"p95 {fmt(f['p95'], ',.0f')}, p99 {fmt(f['p99'], ',.0f')}")
        _print_simulation_details(d)
    return EXIT_OK


def _num(x: Any, spec: str, none: str = "none observed") -> str:
    return none if x is None else fmt(x, spec)


def _print_simulation_details(d: dict[str, Any]) -> None:
    """The rest of what ``simulate`` promises: callers, attempts, time to connect, largest incidents."""
    c, a = d.get("failed_callers_per_year"), d.get("failed_attempts_per_year")
    if c and a:
        print(f"callers never connected a year: mean {fmt(c['mean'], ',.1f')}; failed attempts a year: "
              f"mean {fmt(a['mean'], ',.1f')}")
    o = d.get("outcomes_per_year") or {}
    if o:
        print("outcomes a year: " + ", ".join(f"{k.replace('_', ' ')} {fmt(v, ',.0f')}"
                                              for k, v in o.items()))
    t = d.get("time_to_connect_s") or {}
    dl = t.get("delayed") or {}
    if t and isinstance(dl.get("p50"), int | float):
        print(f"time to connect: {t.get('delayed_connections_per_year', 0):,.1f} delayed connections a year; "
              f"delay median {_num(dl.get('p50'), ',.0f')} s, p95 {_num(dl.get('p95'), ',.0f')} s, "
              f"p99 {_num(dl.get('p99'), ',.0f')} s")
    elif t:
        print("time to connect: no connection was delayed in the simulated years")
    top = d.get("largest_incidents") or []
    if top:
        print("largest incidents (calls lost):")
        for inc in top[:5]:
            print(f"  year {inc['year']}, hour {inc['start_hour']:,.0f}: {inc['calls_lost']:,} calls lost "
                  f"over {inc['duration_hours']:.1f} h ({', '.join(inc['events'])})")


def _samples(args: argparse.Namespace, method: str) -> int:
    """The sample count: as given, else a default that suits the method."""
    if args.samples is not None:
        return args.samples
    return 5_000 if method in ("rare", "decomposition") else 1_000_000


def _run_options(args: argparse.Namespace) -> dict[str, Any]:
    """Backend, workers, checkpoint, stop-on-precision and progress options of a long run."""
    if args.scheduler:
        backend: Any = args.scheduler
    elif args.workers == 1:
        backend = "serial"
    elif args.workers:
        backend = "processes"
    else:
        backend = "auto"
    return {"backend": backend, "workers": args.workers, "checkpoint": args.checkpoint,
            "target_rse": args.target_rse, "quiet": args.quiet, "progress": None if not args.quiet else False}


def _add_run_options(p: Any) -> None:
    g = p.add_argument_group("running")
    g.add_argument("--workers", type=positive_int, default=None,
                   help="worker processes (default: all cores when the run is long enough; 1 = serial)")
    g.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="run on an existing Dask cluster (needs the 'dask' extra)")
    g.add_argument("--checkpoint", default=None, metavar="FILE",
                   help="resume from / save progress to FILE (same command resumes a killed run)")
    g.add_argument("--target-rse", type=positive_float, default=None, metavar="X",
                   help="stop when the relative standard error reaches X")
    g.add_argument("--quiet", action="store_true", help="no progress bar")


def register(sub: Any) -> None:
    """Add the engine subcommands to ``sub`` (an argparse subparsers object)."""
    e = sub.add_parser("estimate", help="probability that a genuine call is unreachable (with CI)")
    e.add_argument("scenario", help="path to a .toml scenario or a bundled name (e.g. uk999)")
    e.add_argument("--method", choices=METHODS, default="mc",
                   help="mc: crude Monte Carlo; exact: BDD; rare: rare-event; auto: chosen from a pilot")
    e.add_argument("--samples", type=positive_int, default=None,
                   help="trials (mc, default 1,000,000) or replications (rare, default 5,000)")
    e.add_argument("--seed", type=seed_arg, default=0, help="entropy of the run's SeedSequence")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    _add_run_options(e)
    e.set_defaults(func=cmd_estimate)

    r = sub.add_parser("reliability", help="s-t unreliability of a plain graph (GraphML or edge list)")
    r.add_argument("graph", help="GraphML file or edge list whose edges (and nodes) carry q")
    r.add_argument("--source", required=True, help="node the calls start from")
    r.add_argument("--target", required=True, help="node the calls must reach")
    r.add_argument("--method", choices=(*METHODS, "simulate"), default="auto",
                   help="as for estimate, or simulate: the time engine with mtbf/mttr")
    r.add_argument("--samples", type=positive_int, default=None,
                   help="trials (mc, default 1,000,000) or replications (rare, default 5,000)")
    r.add_argument("--years", type=positive_int, default=1000, help="simulated years (--method simulate)")
    r.add_argument("--seed", type=seed_arg, default=0, help="entropy of the run's SeedSequence")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.set_defaults(func=cmd_reliability)

    s = sub.add_parser("simulate", help="year-long simulation: failed calls a year, unreachable-call rate")
    s.add_argument("scenario", help="path to a .toml scenario or a bundled name (e.g. uk999)")
    s.add_argument("--years", type=positive_int, default=1000, help="simulated years")
    s.add_argument("--seed", type=seed_arg, default=0, help="entropy of the run's SeedSequence")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    _add_run_options(s)
    s.set_defaults(func=cmd_simulate)
