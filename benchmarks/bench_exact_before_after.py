"""The exact engine of an earlier commit against the current one and graphillion, interleaved.

Loads ``model/static/exact.py`` as it was at ``--rev`` (``git show``) beside the current module
and times both, end to end from the networkx graph like ``bench_exact.py`` (same batches of
calls per round, 5 rounds, the order of the three sides alternating), on the dodecahedron and
grids 5x5 up to ``--max-grid`` at q = 0.01. Both engines must give the identical float and agree
with graphillion to 1e-13. The last line is the smallest speed-up (old time / new time).

Usage::

    python benchmarks/bench_exact_before_after.py --rev cd18f07 --max-grid 9
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # as in bench_exact.py

from graphillion import GraphSet

from model.network.compiled import compile_graph
from model.network.graphs import dodecahedron, grid
from model.static.exact import exact_unreachability


def load_old(rev: str):
    src = subprocess.run(["git", "show", f"{rev}:model/static/exact.py"], check=True,
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parent).stdout
    path = Path(tempfile.mkdtemp()) / "exact_old.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("exact_old", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["exact_old"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def run(f, g, s, t, n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    for _ in range(n):
        e = f(compile_graph(g, s, t))
    return (time.perf_counter() - t0) / n, e.value


def run_graphillion(g, s, t, q: float, n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    for _ in range(n):
        GraphSet.set_universe(list(g.edges()), traversal="bfs", source=s)
        r = GraphSet.reliability({e: 1.0 - q for e in GraphSet.universe()}, [s, t])
    return (time.perf_counter() - t0) / n, 1.0 - r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rev", default="cd18f07", help="git revision of the old engine")
    ap.add_argument("--max-grid", type=int, default=9)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--q", type=float, default=0.01)
    args = ap.parse_args(argv)
    old = load_old(args.rev)
    print(f"# old engine: {args.rev}; load average {os.getloadavg()[0]:.1f}")
    cases = [("dodecahedron", *dodecahedron(args.q))]
    cases += [(f"grid {k}x{k}", *grid(k, args.q)) for k in range(5, args.max_grid + 1)]
    ups = []
    for name, g, s, t in cases:
        a, _ = run(old.exact_unreachability, g, s, t, 1)
        b, _ = run_graphillion(g, s, t, args.q, 1)
        n = max(1, min(200, int(0.2 / max(a, b))))
        times: list[list[float]] = [[], [], []]
        vals = [0.0, 0.0, 0.0]
        for r in range(args.rounds):
            for side in ((0, 1, 2), (2, 1, 0))[r % 2]:
                if side == 0:
                    x, vals[0] = run(old.exact_unreachability, g, s, t, n)
                elif side == 1:
                    x, vals[1] = run(exact_unreachability, g, s, t, n)
                else:
                    x, vals[2] = run_graphillion(g, s, t, args.q, n)
                times[side].append(x)
        mo, mn, mg = (statistics.median(x) for x in times)
        if vals[0] != vals[1] or abs(vals[1] - vals[2]) > 1e-13:
            raise SystemExit(f"{name}: old {vals[0]!r}, new {vals[1]!r}, graphillion {vals[2]!r} disagree")
        ups.append(mo / mn)
        print(f"{name:<13} before {mo * 1e3:9.2f} ms  after {mn * 1e3:9.2f} ms  "
              f"graphillion {mg * 1e3:9.2f} ms  "
              f"ratio before {mg / mo:6.2f}  after {mg / mn:6.2f}  speed-up {mo / mn:5.2f}", flush=True)
    print(f"# load average {os.getloadavg()[0]:.1f} at the end")
    print(f"speed-up={min(ups):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
