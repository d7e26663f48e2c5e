"""Exact two-terminal unreachability: nines against graphillion, interleaved.

The strongest peer a competent user would install is graphillion (frontier-based
decision diagrams in C++, the TdZdd family): ``GraphSet.set_universe(edges,
traversal="bfs", source=s)`` then ``GraphSet.reliability(p, [s, t])``, the
library's dedicated K-terminal reliability routine. Its other route, the set of
connected subgraphs as a ZDD (``GraphSet({}).supergraphs(GraphSet.paths(s, t))``
and ``.probability``), is far slower and is measured only on the small cases as
a second figure.

Each case (the dodecahedron and square grids, every edge failing with
``q``) is timed in interleaved rounds, each side end to end (nines:
``compile_graph`` + :func:`model.static.exact.exact_unreachability` with its
default ``auto`` method and arithmetic; graphillion: universe + reliability), and
the median of the rounds is reported. A round times a batch of calls on each side
(as many as take about ``--min-time`` seconds, one for the large cases), so that
cases of a few milliseconds are not timer and scheduler noise; the side that goes
first alternates. Both must give the same unreachability
(graphillion computes ``1 - R`` in double precision, so agreement is checked to an
absolute ``1e-13``). The last line is the smallest ratio over the cases
(graphillion time / nines time): above 1 means nines is faster on every case.

Usage::

    python benchmarks/bench_exact.py                 # dodecahedron, grids 5..10, 5 rounds
    python benchmarks/bench_exact.py --max-grid 8 --rounds 1   # a quick run
    python benchmarks/bench_exact.py --big 12        # also the 12x12 grid, nines only
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

# graphillion parallelises with OpenMP; on a shared 2-core machine its threads spin against the other
# jobs and it runs 10-100x slower, so the baseline gets one thread (set before it is imported)
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from graphillion import GraphSet
from machine import cpu_name

from model.network.compiled import compile_graph
from model.network.graphs import dodecahedron, grid
from model.static.exact import exact_unreachability


def run_nines(g, s, t, n: int = 1):
    t0 = time.perf_counter()
    for _ in range(n):
        e = exact_unreachability(compile_graph(g, s, t))
    return (time.perf_counter() - t0) / n, e


def run_graphillion(g, s, t, q: float, n: int = 1) -> tuple[float, float]:
    t0 = time.perf_counter()
    for _ in range(n):
        GraphSet.set_universe(list(g.edges()), traversal="bfs", source=s)
        r = GraphSet.reliability({e: 1.0 - q for e in GraphSet.universe()}, [s, t])
    return (time.perf_counter() - t0) / n, 1.0 - r


def run_graphillion_zdd(g, s, t, q: float) -> tuple[float, float]:
    t0 = time.perf_counter()
    GraphSet.set_universe(list(g.edges()), traversal="bfs", source=s)
    conn = GraphSet({}).supergraphs(GraphSet.paths(s, t))
    r = conn.probability({e: 1.0 - q for e in GraphSet.universe()})
    return time.perf_counter() - t0, 1.0 - r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--q", type=float, default=0.01)
    ap.add_argument("--max-grid", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.2,
                    help="seconds a timed batch should take (default 0.2)")
    ap.add_argument("--big", type=int, default=0, help="also this k x k grid, nines only (e.g. 12)")
    args = ap.parse_args(argv)
    print(f"# machine: {cpu_name()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
          f"numpy {np.__version__}; load average {os.getloadavg()[0]:.1f} (shared with other jobs); "
          f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    cases = [("dodecahedron", *dodecahedron(args.q))]
    cases += [(f"grid {k}x{k}", *grid(k, args.q)) for k in range(5, args.max_grid + 1)]
    ratios: list[float] = []
    for name, g, s, t in cases:
        tn: list[float] = []
        tg: list[float] = []
        # a round times a batch of calls on each side, as many as take about --min-time on the
        # slower side (one call for the large cases), so that millisecond cases are not noise
        a, _ = run_nines(g, s, t)
        b, _ = run_graphillion(g, s, t, args.q)
        n = max(1, min(200, int(args.min_time / max(a, b))))
        for r in range(args.rounds):
            # interleaved, alternating which side goes first
            if r % 2 == 0:
                a, e = run_nines(g, s, t, n)
                b, ug = run_graphillion(g, s, t, args.q, n)
            else:
                b, ug = run_graphillion(g, s, t, args.q, n)
                a, e = run_nines(g, s, t, n)
            tn.append(a)
            tg.append(b)
        mn, mg = statistics.median(tn), statistics.median(tg)
        if abs(e.value - ug) > 1e-13:
            raise SystemExit(f"{name}: nines {e.value!r} and graphillion {ug!r} disagree")
        ratios.append(mg / mn)
        print(f"{name:<13} {g.number_of_edges():>4} edges: nines {mn * 1e3:9.2f} ms  "
              f"graphillion {mg * 1e3:9.2f} ms  "
              f"ratio {mg / mn:6.2f}  U={e.value:.12e} ({e.details['arithmetic']}, "
              f"{e.details['diagram_nodes']:,} nodes, frontier {e.details['max_frontier']}); "
              f"graphillion U={ug:.12e}; |diff|={abs(e.value - ug):.1e}; {n} calls a round")
    print("# graphillion's ZDD route (connected subgraphs as a GraphSet, .probability), small cases only")
    for name, g, s, t in cases[:2]:
        b, ug = run_graphillion_zdd(g, s, t, args.q)
        a, e = run_nines(g, s, t)
        print(f"{name:<13} nines {a:.3f} s  graphillion GraphSet {b:.3f} s  ratio {b / a:.1f}  "
              f"U={ug:.12e}")
    print("# precision at q = 1e-6 (dodecahedron; the answer is 2 q^3 + ...)")
    g, s, t = dodecahedron(1e-6)
    _, e = run_nines(g, s, t)
    _, ug = run_graphillion(g, s, t, 1e-6)
    print(f"nines {e.value:.10e} ({e.details['arithmetic']}, fraction with "
          f"{len(e.details['fraction'] or '')} digits)  graphillion {ug:.10e}")
    if args.big:
        g, s, t = grid(args.big, args.q)
        a, e = run_nines(g, s, t)
        bound = e.details.get("relative_rounding_bound", 0.0)
        print(f"grid {args.big}x{args.big} (nines only): {a:.1f} s, U={e.value:.12e} "
              f"({e.details['arithmetic']}, bound {bound:.1e}, {e.details['diagram_nodes']:,} nodes)")
    print(f"ratios (graphillion / nines, median of {args.rounds} interleaved rounds; load average "
          f"{os.getloadavg()[0]:.1f} at the end): "
          + " ".join(f"{r:.2f}" for r in ratios))
    print(f"ratio={min(ratios):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
