"""Engine subcommands of the ``nines`` CLI: ``estimate``, ``reliability``, ``simulate``, ``replay``.

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

#: Most replications one ``replay`` runs (each replays every caller of the incident).
MAX_REPLICATIONS = 100_000

__all__ = ["register"]

BREAKDOWNS = ("service", "area", "access", "caller_group")
#: ``model.static.montecarlo.DEFAULT_MAX_MEMORY`` in MiB (kept here so the engines load only when used;
#: tests/test_cli_engines.py checks the two agree)
DEFAULT_MAX_MEMORY_MIB = 256
#: ``model.sim.engine.STATE_MEMORY_BUDGET`` in MiB (tests/test_cli_engines.py checks the two agree)
DEFAULT_STATE_MEMORY_MIB = 64


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
    groups = {f"{by}:{k}": idx for by in BREAKDOWNS for k, idx in net.demand_groups(by).items()}
    est, method, reason, res = solve(c, args.method, samples=_samples(args, args.method), seed=args.seed,
                                     groups=groups, max_memory=args.max_memory * 2**20, **_run_options(args))
    out: dict[str, Any] = {
        "scenario": net.scenario.name,
        "unreachable_probability": _estimate_json(est, method, reason),
        "annual_genuine_calls": c.total_weight,
        "expected_unreachable_calls_per_year": est.scaled(c.total_weight).to_dict(),
    }
    if method == "mc":
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
    from model.exchange.openpsa_read import is_open_psa

    if is_open_psa(args.graph):
        from model.cli.exchange import solve_open_psa_file

        return solve_open_psa_file(args)
    if args.terminals or args.all_terminal:
        return _k_terminal(args)
    if args.source is None or args.target is None:
        raise UsageError(f"{args.graph}: a graph needs --source and --target, or --terminals A B ..., or "
                         "--all-terminal")
    g, s, t = _read_graph_for(args)
    if args.method == "simulate":
        from model.sim.engine import simulate_graph

        out = simulate_graph(g, s, t, years=args.years, seed=args.seed)
        if args.json:
            print_json(out.to_dict())
        else:
            u = out.unavailability
            print(f"long-run unavailability {fmt(u.value, '.6g')} [{fmt(u.ci_low, '.6g')}, "
                  f"{fmt(u.ci_high, '.6g')}]; "
                  f"failure frequency {fmt(out.failure_frequency_per_year.value)}/yr; "
                  f"mean down {fmt(out.mean_down_hours)} h ({args.years} years)")
        return EXIT_OK
    from model.network.compiled import compile_graph

    net = compile_graph(g, s, t)
    if net.n_components == 0:
        raise UsageError(f"{args.graph}: no element carries a failure probability 'q'")
    est, method, reason, _ = solve(net, args.method, samples=_samples(args, args.method), seed=args.seed,
                                   max_memory=args.max_memory * 2**20)
    if args.json:
        print_json(_estimate_json(est, method, reason))
    else:
        _print_estimate(f"P({args.source} cannot reach {args.target})", est, method, reason)
    return EXIT_OK


def _k_terminal(args: argparse.Namespace) -> int:
    """K-terminal (``--terminals``) or all-terminal (``--all-terminal``) unreliability of a plain graph."""
    from model.static.kterminal import k_terminal_unreliability

    if args.terminals and args.all_terminal:
        raise UsageError("reliability: give --terminals or --all-terminal, not both")
    if args.source is not None or args.target is not None:
        raise UsageError("reliability: --source/--target are for two terminals; use --terminals A B ... "
                         "instead")
    method = args.method
    if method not in ("auto", "exact", "mc"):
        raise UsageError(f"reliability: --method {method} is not available for K-terminal reliability; "
                         "use auto, exact or mc")
    from model.network.graphs import read_graph

    g = read_graph(args.graph).to_undirected()
    names = {str(n): n for n in g.nodes}
    terms = None
    if args.terminals:
        missing = [x for x in args.terminals if x not in names]
        if missing:
            raise UsageError(f"{args.graph}: --terminals {missing[0]!r} is not a node of the graph")
        terms = [names[x] for x in args.terminals]
    try:
        est = k_terminal_unreliability(g, terms, method=method, samples=_samples(args, "mc"), seed=args.seed)
    except ValueError as exc:
        raise UsageError(f"{args.graph}: {exc}") from None
    what = "all nodes" if terms is None else ", ".join(args.terminals)
    if args.json:
        print_json(_estimate_json(est, est.method, est.details.get("fallback", "")))
    else:
        _print_estimate(f"P(not all of {what} connected)", est, est.method, est.details.get("fallback", ""))
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    from model.sim.engine import simulate

    net = load_network(args.scenario)
    budget = None if args.max_memory is None else args.max_memory * 2**20  # None: the engine's default
    res = simulate(net, args.years, args.seed, max_memory=budget, **_run_options(args))
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


def cmd_replay(args: argparse.Namespace) -> int:
    from model.scenario.loader import load_scenario
    from model.sim.replay import replay

    scenario = load_scenario(args.scenario)
    if args.incident not in scenario.incidents:
        known = ", ".join(sorted(scenario.incidents)) or "none"
        raise UsageError(f"{args.scenario}: incidents: no incident named {args.incident!r}; the scenario "
                         f"has: {known}")
    if args.replications > MAX_REPLICATIONS:
        raise UsageError(f"--replications {args.replications}: at most {MAX_REPLICATIONS:,}")
    callers = None
    if args.callers == "posterior":
        from model.metrics.calibration import posterior_callers
        from model.sim.engine import as_time_model

        callers = posterior_callers(as_time_model(scenario).callers)
    d = replay(scenario, args.incident, args.replications, args.seed, workers=args.workers, callers=callers)
    d["caller_behaviour"] = ("calibrated posterior (model/data/calibration/callers_posterior.toml), one draw "
                             "per replication" if callers else "the scenario's [callers]")
    if not args.per_replication:
        d.pop("per_replication")
    if args.json:
        print_json(d)
    else:
        print(f"{d['label']}: {args.replications} replications (seed {d['seed']}; {d['caller_behaviour']})")
        for key, row in d["outcomes_by_definition"].items():
            a, g = row["all"], row["genuine"]
            band = {k: f"{fmt(r['median'], ',.0f'):>10} [{fmt(r['p05'], ',.0f')}, {fmt(r['p95'], ',.0f')}]"
                    for k, r in (("all", a), ("genuine", g))}
            print(f"  {key:32s} all {band['all']}   genuine {band['genuine']}   ({row['definition']})")
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


def _add_memory_option(p: Any) -> None:
    p.add_argument("--max-memory", type=positive_int, default=DEFAULT_MAX_MEMORY_MIB, metavar="MIB",
                   help="memory budget of one Monte Carlo chunk in MiB (default %(default)s); the chunk "
                        "size follows from it")


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
    _add_memory_option(e)
    _add_run_options(e)
    e.set_defaults(func=cmd_estimate)

    r = sub.add_parser("reliability", help="s-t, K-terminal or all-terminal unreliability of a plain graph "
                       "(GraphML or edge list), or the top event of an Open-PSA fault tree")
    r.add_argument("graph", help="GraphML file or edge list whose edges (and nodes) carry q; or Open-PSA XML")
    r.add_argument("--source", default=None, help="node the calls start from (graphs, two terminals)")
    r.add_argument("--target", default=None, help="node the calls must reach (graphs, two terminals)")
    r.add_argument("--top", default=None, help="the top gate to solve (Open-PSA files with several tops)")
    r.add_argument("--terminals", nargs="+", default=None, metavar="NODE",
                   help="K-terminal: probability that these nodes are not all connected (edge failures)")
    r.add_argument("--all-terminal", action="store_true", help="all-terminal: every node must stay connected")
    r.add_argument("--method", choices=(*METHODS, "simulate"), default="auto",
                   help="as for estimate, or simulate: the time engine with mtbf/mttr")
    r.add_argument("--samples", type=positive_int, default=None,
                   help="trials (mc, default 1,000,000) or replications (rare, default 5,000)")
    r.add_argument("--years", type=positive_int, default=1000, help="simulated years (--method simulate)")
    r.add_argument("--seed", type=seed_arg, default=0, help="entropy of the run's SeedSequence")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    _add_memory_option(r)
    r.set_defaults(func=cmd_reliability)

    s = sub.add_parser("simulate", help="year-long simulation: failed calls a year, unreachable-call rate")
    s.add_argument("scenario", help="path to a .toml scenario or a bundled name (e.g. uk999)")
    s.add_argument("--years", type=positive_int, default=1000, help="simulated years")
    s.add_argument("--seed", type=seed_arg, default=0, help="entropy of the run's SeedSequence")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--max-memory", type=positive_int, default=None, metavar="MIB",
                   help="memory budget in MiB of the evaluated network states each process keeps (default "
                        f"{DEFAULT_STATE_MEMORY_MIB}); states beyond it are evaluated again when met again, "
                        "so memory stays flat in years and the result is the same for any budget")
    _add_run_options(s)
    s.set_defaults(func=cmd_simulate)

    p = sub.add_parser("replay", help="replay an incident: every outcome definition, with 5-95 %% bands")
    p.add_argument("scenario", help="scenario with the incident (path, bundled or incident-library name)")
    p.add_argument("incident", help="incident id in the scenario")
    p.add_argument("--replications", type=positive_int, default=200,
                   help=f"replays of the incident (at most {MAX_REPLICATIONS:,})")
    p.add_argument("--seed", type=seed_arg, default=0, help="entropy of the replay's SeedSequence")
    p.add_argument("--workers", type=positive_int, default=1, help="worker processes (same result for any)")
    p.add_argument("--callers", choices=("posterior", "scenario"), default="posterior",
                   help="caller behaviour: the calibrated posterior (default) or the scenario's [callers]")
    p.add_argument("--per-replication", action="store_true", help="include every replication's counts")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_replay)
