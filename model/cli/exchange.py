"""Model-exchange subcommands of the ``nines`` CLI: ``export``, and ``reliability`` of an Open-PSA file.

``nines export SCENARIO --format open-psa -o FILE.xml`` writes a scenario's static model (or, with
``--source``/``--target``, a plain graph file) as Open-PSA MEF; ``nines reliability FILE.xml``
solves a MEF fault tree (see :mod:`model.exchange`) with ``--method exact|mc|rare|auto``.
"""

from __future__ import annotations

import argparse
from typing import Any

from model.cli.common import EXIT_OK, UsageError, load_network, print_json

__all__ = ["FORMATS", "cmd_export", "register", "solve_open_psa_file"]

FORMATS = ("open-psa",)


def cmd_export(args: argparse.Namespace) -> int:
    from model.exchange import write_open_psa

    if (args.source is None) != (args.target is None):
        raise UsageError("export: give both --source and --target (for a graph file) or neither (a scenario)")
    if args.source is not None:
        from model.network.compiled import compile_graph
        from model.network.graphs import read_graph

        g = read_graph(args.input)
        nodes = {str(n): n for n in g.nodes}
        for opt in ("source", "target"):
            if getattr(args, opt) not in nodes:
                raise UsageError(f"{args.input}: --{opt} {getattr(args, opt)!r} is not a node of the graph")
        net = compile_graph(g, nodes[args.source], nodes[args.target])
        name = str(args.input)
    else:
        cn = load_network(args.input)
        net, name = cn.compiled, cn.scenario.name
    path = write_open_psa(net, args.output, name=name)
    print(f"wrote {path} (Open-PSA MEF: {net.n_components} basic events, {net.n_ccf} common-cause events, "
          f"{net.n_demands} demands)")
    return EXIT_OK


def solve_open_psa_file(args: argparse.Namespace) -> int:
    """``nines reliability FILE.xml``: the weighted top probability of an Open-PSA fault tree."""
    from model.exchange import read_open_psa
    from model.static.gatebdd import solve_fault_tree

    if args.method == "simulate":
        raise UsageError(f"{args.graph}: --method simulate needs a graph with repair times; "
                         "an Open-PSA fault tree is solved with --method exact, mc, rare or auto")
    tree = read_open_psa(args.graph, top=args.top)
    samples = args.samples if args.samples is not None else (5_000 if args.method == "rare" else 1_000_000)
    est, method, reason = solve_fault_tree(tree, args.method, samples=samples, seed=args.seed)
    out: dict[str, Any] = est.to_dict()
    out.update(method_chosen=method, method_reason=reason, top_events=list(tree.top_names))
    if args.json:
        print_json(out)
        return EXIT_OK
    what = (f"P({tree.top_names[0]})" if len(tree.tops) == 1
            else f"weighted P(top) over {len(tree.tops)} top events")
    print(f"{what}: {est.value:.6g}  95% CI [{est.ci_low:.6g}, {est.ci_high:.6g}]  "
          f"({est.method}, {est.samples:,} samples, {est.seconds:.2f} s)")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``export`` to ``sub`` (an argparse subparsers object)."""
    x = sub.add_parser("export", help="write a scenario or graph in another tool's format (Open-PSA MEF)")
    x.add_argument("input", help="scenario (path or bundled name), or a graph file with --source/--target")
    x.add_argument("--format", choices=FORMATS, default="open-psa",
                   help="file format: open-psa, the Open-PSA Model Exchange Format (default: open-psa)")
    x.add_argument("-o", "--output", required=True, metavar="FILE.xml", help="file to write (replaced whole)")
    x.add_argument("--source", default=None, help="source node (graph files only)")
    x.add_argument("--target", default=None, help="target node (graph files only)")
    x.set_defaults(func=cmd_export)
