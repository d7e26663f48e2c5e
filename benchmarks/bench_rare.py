"""Rare-event estimator (permutation Monte Carlo with the turnip) against crude Monte Carlo.

For each benchmark graph and each q in 1e-2 ... 1e-6 the turnip runs a fixed
number of replications; crude Monte Carlo (:func:`model.static.montecarlo.crude_monte_carlo`,
the project's vectorised bit-packed engine) then gets the same CPU time. Reported
for each: estimate, relative error (RE = standard error / estimate) and
work-normalised relative variance (WNRV = variance of one run x CPU seconds per
run / estimate**2), next to the exact value from :mod:`model.static.exact` and the
z-score of each estimate against it. When crude Monte Carlo sees no unreachable
trial its own RE is undefined; its WNRV is then the theoretical one,
``(1 - U) / U`` x CPU seconds per trial with the exact ``U`` (marked ``theory``).

The process pins itself to one core and one BLAS thread. The last line is
``wnrv_gain=<crude WNRV / turnip WNRV on the dodecahedron at q=1e-3>``.

Usage::

    python benchmarks/bench_rare.py                  # all graphs, q = 1e-2 .. 1e-6
    python benchmarks/bench_rare.py --quick          # dodecahedron only, fewer replications
    python benchmarks/bench_rare.py --decomposition  # issue 14 targets (see decomposition_targets)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import math
import platform
import sys
import time

import numpy as np
from machine import cpu_name

from model.network.compiled import compile_graph
from model.network.graphs import dodecahedron, grid, parallel, series
from model.static.decompose import decomposition_unreachability
from model.static.exact import exact_unreachability
from model.static.montecarlo import crude_monte_carlo
from model.static.rare import generalized_splitting, rare_unreachability

QS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
GRAPHS = {
    "dodecahedron": lambda q: dodecahedron(q),
    "grid6x6": lambda q: grid(6, q),
    "series3-dodecahedra": lambda q: series([dodecahedron(q)] * 3),
    "parallel3-dodecahedra": lambda q: parallel([dodecahedron(q)] * 3),
}
REPLICATIONS = {"dodecahedron": 10_000, "grid6x6": 4_000, "series3-dodecahedra": 4_000,
                "parallel3-dodecahedra": 4_000}


def machine_info() -> str:
    cpu = cpu_name()
    return (f"{cpu}, {os.cpu_count()} logical CPUs (pinned to one), Python {platform.python_version()}, "
            f"numpy {np.__version__}")


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[0]})


def crude_at_equal_cpu(net, cpu_budget: float, seed: int) -> tuple[object, float, int]:
    """Crude MC given ``cpu_budget`` CPU seconds (trial rate measured by a pilot)."""
    pilot = 1 << 16
    t0 = time.process_time()
    crude_monte_carlo(net, pilot, seed=seed + 1)
    rate = pilot / max(time.process_time() - t0, 1e-9)
    n = max(pilot, int(rate * cpu_budget) // 64 * 64)
    t0 = time.process_time()
    res = crude_monte_carlo(net, n, seed=seed)
    return res.overall, time.process_time() - t0, n


def run(graphs: list[str], qs: tuple[float, ...], scale: float, seed: int) -> dict:
    rows = []
    print(f"{'graph':<22} {'q':>7} {'exact U':>11} | {'turnip U':>11} {'RE':>7} {'WNRV':>9} {'cpu s':>6} "
          f"{'z':>6} | {'crude U':>11} {'trials':>10} {'RE':>7} {'WNRV':>11} | {'gain':>9}")
    for name in graphs:
        for q in qs:
            g, s, t = GRAPHS[name](q)
            net = compile_graph(g, s, t)
            exact = exact_unreachability(net).value
            n = max(200, int(REPLICATIONS[name] * scale))
            t0 = time.process_time()
            rare = rare_unreachability(net, n, seed, trace=False, method="turnip")
            cpu_rare = time.process_time() - t0
            crude, cpu_crude, trials = crude_at_equal_cpu(net, cpu_rare, seed)
            z = (rare.value - exact) / rare.std_error if rare.std_error > 0 else 0.0
            wnrv_rare = rare.details["wnrv"]
            if crude.value > 0:
                re_crude = crude.std_error / crude.value
                wnrv_crude = crude.std_error**2 * trials * (cpu_crude / trials) / crude.value**2
                how = "measured"
            else:
                re_crude = math.inf
                wnrv_crude = (1 - exact) / exact * (cpu_crude / trials)
                how = "theory"
            gain = wnrv_crude / wnrv_rare
            rows.append(dict(graph=name, q=q, exact=exact, rare=rare.value, rare_re=rare.relative_error,
                             rare_wnrv=wnrv_rare, rare_cpu=cpu_rare, rare_n=n, z=z, crude=crude.value,
                             crude_trials=trials, crude_re=re_crude, crude_wnrv=wnrv_crude, how=how,
                             crude_cpu=cpu_crude, gain=gain))
            print(f"{name:<22} {q:>7.0e} {exact:>11.4e} | {rare.value:>11.4e} {rare.relative_error:>7.4f} "
                  f"{wnrv_rare:>9.2e} {cpu_rare:>6.2f} {z:>6.2f} | {crude.value:>11.4e} {trials:>10d} "
                  f"{re_crude:>7.3g} {wnrv_crude:>9.2e}{'*' if how == 'theory' else ' '} | {gain:>9.3g}",
                  flush=True)
    print("(* crude MC saw no unreachable trial: theoretical WNRV (1-U)/U x CPU s per trial, exact U)")
    return {"rows": rows}


def splitting_rows(qs: tuple[float, ...], runs: int, seed: int) -> None:
    """Generalized splitting where the turnip fails: three dodecahedra in parallel."""
    print(f"generalized splitting (finished by the turnip), parallel3-dodecahedra, {runs} runs each:")
    print(f"{'q':>7} {'exact U':>11} | {'GS U':>11} {'RE':>7} {'WNRV':>9} {'cpu s':>7} {'z':>6} "
          f"{'levels':>7}")
    for q in qs:
        g, s, t = GRAPHS["parallel3-dodecahedra"](q)
        net = compile_graph(g, s, t)
        exact = exact_unreachability(net).value
        t0 = time.process_time()
        est = generalized_splitting(net, runs, seed, trace=False)
        cpu = time.process_time() - t0
        z = (est.value - exact) / est.std_error if est.std_error > 0 else 0.0
        print(f"{q:>7.0e} {exact:>11.4e} | {est.value:>11.4e} {est.relative_error:>7.3f} "
              f"{est.details['wnrv']:>9.2e} {cpu:>7.1f} {z:>6.2f} "
              f"{est.details['split_levels']:>3d}/{len(est.details['levels'])}", flush=True)


def target_check(seed: int) -> list[str]:
    """The issue's targets on the dodecahedron: RE <= 5% at 1e-3, <= 10% at 1e-6, < 10 s, unbiased."""
    lines = []
    for q, goal, n in ((1e-3, 0.05, 9_000), (1e-6, 0.10, 2_500)):
        g, s, t = dodecahedron(q)
        net = compile_graph(g, s, t)
        exact = exact_unreachability(net).value
        t0, c0 = time.perf_counter(), time.process_time()
        est = rare_unreachability(net, n, seed + 100, trace=False, method="turnip")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        z = (est.value - exact) / est.std_error
        ok = est.relative_error <= goal and wall < 10 and abs(z) < 4
        lines.append(f"target q={q:.0e}: {n} replications, U={est.value:.4e} "
                     f"(exact {exact:.4e}, z={z:+.2f}), "
                     f"RE={est.relative_error:.4f} (goal <= {goal}), wall {wall:.2f} s, cpu {cpu:.2f} s "
                     f"(goal < 10 s): {'met' if ok else 'NOT met'}")
    # unbiasedness: 40 independent small runs at q=1e-3, mean against exact
    g, s, t = dodecahedron(1e-3)
    net = compile_graph(g, s, t)
    exact = exact_unreachability(net).value
    vals = np.array([rare_unreachability(net, 500, seed + 1000 + i, trace=False, method="turnip").value
                     for i in range(40)])
    se = vals.std(ddof=1) / math.sqrt(vals.size)
    lines.append(f"bias check q=1e-03: mean of 40 independent 500-replication runs = {vals.mean():.4e} "
                 f"+- {se:.2e} (exact {exact:.4e}, z={(vals.mean() - exact) / se:+.2f})")
    return lines


def sparse_random(n: int = 2000, m: int = 2300, q: float = 1e-3, seed: int = 5):
    """Giant component of G(n, m), terminals a core node and the node farthest from it; edges fail with q."""
    import networkx as nx

    g = nx.gnm_random_graph(n, m, seed=seed)
    g = nx.Graph(g.subgraph(max(nx.connected_components(g), key=len)))
    s = min(nx.k_core(g, 2).nodes)
    dist = nx.single_source_shortest_path_length(g, s)
    t = max(sorted(dist), key=dist.__getitem__)
    nx.set_edge_attributes(g, q, "q")
    return g, s, t


def _timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def decomposition_targets(seed: int) -> None:
    """Issue 14: the decomposition estimator with every block sampled (no exact blocks) on each family.

    Per row: exact value (exact engine; grids with a 30M-node diagram limit), the decomposition
    estimate with its relative standard error (RSE), z against exact, wall and CPU seconds, and the
    target (RSE <= 10 % in <= 30 s; <= 5 % in <= 5 s on the dodecahedron at 1e-6; seconds are CPU
    seconds of this process, pinned to one core: on a machine loaded by other engineers the wall time
    is longer and is printed too). Baselines in the
    same run, interleaved: the turnip on the whole network at the same CPU time (its RSE and z: on
    parallel blocks it is far too low with a narrow interval), and on the parallel family generalized
    splitting, the robust method before this one, with its CPU time to 10 % extrapolated from 256 runs.
    The random sparse graph has no exact value (the exact engine refuses 2,000+ components): it is
    checked against a long crude run (2^23 trials) at a q where crude MC sees thousands of failures.
    """
    families = [(f"dodecahedron q={q:.0e}", dodecahedron(q), 10_000, 0.05 if q == 1e-6 else 0.10,
                 5.0 if q == 1e-6 else 30.0) for q in (1e-3, 1e-4, 1e-5, 1e-6)]
    for q in (0.1, 1e-3):
        families.append((f"parallel3-dodecahedra q={q:.0e}", parallel([dodecahedron(q)] * 3), 8000, 0.10,
                         30.0))
        families.append((f"series3-dodecahedra q={q:.0e}", series([dodecahedron(q)] * 3), 3000, 0.10, 30.0))
    for k in (4, 6, 8, 10):
        families.append((f"grid{k}x{k} q=1e-04", grid(k, 1e-4), 4000 if k < 10 else 2500, 0.10, 30.0))
    families.append(("sparse-random-2000 q=1e-03", sparse_random(), 16, 0.10, 30.0))
    print("decomposition estimator, every block sampled by the turnip (exact_limit=0):")
    print(f"{'family':<30} {'exact U':>11} | {'U':>11} {'RSE':>7} {'z':>6} {'wall s':>7} {'cpu s':>6} "
          f"{'target':>14} | {'turnip U':>11} {'RSE':>7} {'z':>7}")
    gs_ratio = None
    for row, (name, (g, s, t), reps, goal, limit) in enumerate(families):
        net = compile_graph(g, s, t)
        rseed = seed + 10 * row  # a seed per family: the repair orders do not depend on q
        if name.startswith("sparse"):
            crude, _, ccpu = _timed(lambda net=net, r=rseed: crude_monte_carlo(net, 1 << 23, r + 7).overall)
            exact, ref_se, ref = crude.value, crude.std_error, f"crude 2^23 ({ccpu:.0f} s cpu)"
        else:
            lim = {"max_nodes": 30_000_000} if name.startswith("grid") else {}
            exact, ref_se, ref = exact_unreachability(net, **lim).value, 0.0, "exact"
        est, wall, cpu = _timed(lambda net=net, reps=reps, r=rseed: decomposition_unreachability(
            net, reps, r, exact_limit=0))
        z = (est.value - exact) / math.hypot(est.std_error, ref_se)
        ok = est.relative_error <= goal and cpu <= limit and abs(z) < 4  # one core: CPU seconds
        turnip_n = max(64, int(est.samples * 1.0))
        tur, _, tcpu = _timed(lambda net=net, n=turnip_n, r=rseed: rare_unreachability(
            net, n, r + 1, trace=False, method="turnip"))
        tz = (tur.value - exact) / math.hypot(tur.std_error, ref_se) if tur.std_error > 0 else math.inf
        print(f"{name:<30} {exact:>11.4e} | {est.value:>11.4e} {est.relative_error:>7.4f} {z:>6.2f} "
              f"{wall:>7.2f} {cpu:>6.2f} {('met' if ok else 'NOT met') + f' ({goal:.0%})':>14} | "
              f"{tur.value:>11.4e} {tur.relative_error:>7.4f} {tz:>7.2f}   [{ref}; turnip {tcpu:.1f} s cpu]",
              flush=True)
        if name == "parallel3-dodecahedra q=1e-03":
            gs, _, gcpu = _timed(lambda net=net: generalized_splitting(net, 256, seed + 2, trace=False))
            gs_need = gcpu * (gs.relative_error / 0.10) ** 2
            dec_need = cpu * (est.relative_error / 0.10) ** 2
            gs_ratio = gs_need / dec_need
            print(f"  generalized splitting, 256 runs: U={gs.value:.4e} RSE={gs.relative_error:.3f} "
                  f"z={(gs.value - exact) / gs.std_error:+.2f}, {gcpu:.1f} s cpu -> about {gs_need:.0f} s "
                  f"cpu to 10 %; decomposition about {dec_need:.2f} s cpu to 10 %", flush=True)
    print(f"gs_over_decomposition_cpu_to_10pct_parallel3_q1e-3={gs_ratio:.4g}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="dodecahedron only, a quarter of the replications")
    ap.add_argument("--graphs", nargs="*", choices=sorted(GRAPHS), default=None)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--decomposition", action="store_true",
                    help="issue 14: the decomposition estimator on every benchmark family, with targets")
    args = ap.parse_args(argv)
    pin_one_core()
    if args.decomposition:
        print(f"machine: {machine_info()}")
        cmd = " ".join(argv if argv is not None else sys.argv[1:])
        print(f"command: python benchmarks/bench_rare.py {cmd}")
        decomposition_targets(args.seed)
        return 0
    graphs = args.graphs or (["dodecahedron"] if args.quick else list(GRAPHS))
    scale = 0.25 if args.quick else 1.0
    print(f"machine: {machine_info()}")
    print(f"command: python benchmarks/bench_rare.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    out = run(graphs, QS, scale, args.seed)
    if "parallel3-dodecahedra" in graphs:
        splitting_rows(QS, max(32, int(256 * scale)), args.seed)
    for line in target_check(args.seed):
        print(line)
    ref = [r for r in out["rows"] if r["graph"] == "dodecahedron" and r["q"] == 1e-3]
    if not ref:
        ref = run(["dodecahedron"], (1e-3,), scale, args.seed)["rows"]
    print(f"wnrv_gain={ref[0]['gain']:.4g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
