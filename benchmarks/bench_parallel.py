"""Parallel runner: speedup of 2 worker processes over 1, and the overhead of a Dask LocalCluster.

One long crude Monte Carlo run (the UK reference network ``uk999`` when it builds,
else a large random layered network from :mod:`model.network.graphs`) is run

1. serially in this process (the baseline: one worker, what ``crude_monte_carlo`` does),
2. on 2 local worker processes (``backend="processes"``: the pool is created inside the
   timed call; the fork server, started once per Python process, is timed on its own),
3. on a ``dask.distributed.LocalCluster`` with 2 worker processes of one thread each.
   The cluster is started before the timed calls (``--scheduler`` uses an existing
   cluster) and only after the serial and process runs, because its scheduler and
   client threads live in this process and would slow the serial baseline; Dask runs
   alternate with 2-process runs, and the overhead compares those,

each ``--repeats`` times (each repeat starts a new cluster, so all four configurations
alternate in time and meet similar load), and every run must give the identical tally.
The speedup is the **median over the repeats of the serial / 2-process ratio of each
interleaved pair** (best over best is printed only as a second figure).
The same is repeated with fine chunks (``2**16`` trials) to show the per-task overhead.
Memory: peak Python heap (tracemalloc) of a serial run and of the parent of a process
run, for ``N`` and ``4N`` trials.

Then a long uk999 time simulation (:func:`model.sim.engine.simulate`, ``--sim-years`` in chunks of
``--sim-chunk-years``) with ``workers=1`` and ``workers=2``, as the median of interleaved pairs.

The last line is ``speedup_2_workers=<x> dask_overhead=<fraction> speedup_2_workers_simulation=<y>``:
the median of the paired ratios serial / 2 processes of the estimate, of Dask / 2 processes (the runs
alternating with Dask) minus 1, at the large chunk size, and of the simulation's pairs.

Timings are wall times on a shared machine: the load average is printed before and
after; a busy machine lowers the speedup. "chunk CPU" is the CPU time spent inside the
chunk functions summed over workers (thread time, lowest of the repeats): equal to the
serial one when parallel running costs no extra work, whatever the load.

Usage::

    python benchmarks/bench_parallel.py               # ~20 s serial run, chunks of 2**20
    python benchmarks/bench_parallel.py --seconds 60 --repeats 5
    python benchmarks/bench_parallel.py --quick       # a fast smoke run
    python benchmarks/bench_parallel.py --only simulation --sim-years 400 --sim-repeats 3
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time
import tracemalloc

import numpy as np

from model.network.compiled import CompiledNetwork, compile_graph
from model.run.runner import run_chunks
from model.static.montecarlo import run_chunk


def load_network(name: str) -> tuple[str, CompiledNetwork]:
    if name in ("auto", "uk999"):
        try:
            from model.network.callnetwork import build_network

            return "uk999", build_network("uk999").compile()
        except Exception as exc:  # the reference scenario may not be there
            if name == "uk999":
                raise
            print(f"uk999 unavailable ({type(exc).__name__}: {exc}); using a random layered network")
    from model.network.graphs import random_layered

    g, dem = random_layered([300, 60, 14, 20, 144], np.random.default_rng(2024), out_degree=3,
                            q_node=2e-4, q_arc=1e-4, demands_per_source=4, alternatives=1)
    return "layered-538", compile_graph(g, demands=dem)


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def best_of(net: CompiledNetwork, plan: list[int], runs: dict[str, dict], repeats: int, seed: int,
            times: dict[str, list[float]], tallies: list, infos: dict) -> None:
    """Run each configuration ``repeats`` times, interleaved, recording wall times and tallies."""
    for _ in range(repeats):
        for name, kw in runs.items():
            (t, info), s = timed(run_chunks, run_chunk, net, plan, seed, progress=False, **kw)
            times.setdefault(name, []).append(s)
            tallies.append(t)
            infos.setdefault(name, []).append(info)


def compare(net: CompiledNetwork, chunk: int, n_chunks: int, seed: int, repeats: int, label: str):
    """Per repeat: serial and 2 processes with no cluster alive, then 2 processes and Dask on a fresh
    LocalCluster; best time of each configuration over the repeats."""
    from distributed import Client, LocalCluster

    plan = [chunk] * n_chunks
    times: dict[str, list[float]] = {}
    tallies: list = []
    infos: dict = {}
    local = {"serial (1 worker)": {"backend": "serial"},
             "2 processes": {"backend": "processes", "workers": 2}}
    starts = []
    for _ in range(repeats):
        best_of(net, plan, local, 1, seed, times, tallies, infos)
        t0 = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=":0", silence_logs=40) as lc, Client(lc) as client:
            client.wait_for_workers(2)
            starts.append(time.perf_counter() - t0)
            # processes again, alternating with Dask under the same load, for the overhead
            near = {"2 processes (cluster alive)": {"backend": "processes", "workers": 2},
                    "dask LocalCluster 2x1": {"backend": client}}
            best_of(net, plan, near, 1, seed, times, tallies, infos)
    same = all(t == tallies[0] for t in tallies)
    trials = chunk * n_chunks
    print(f"[{label}] {n_chunks} chunks of {chunk:,} trials = {trials:,} trials; {repeats} repeats; "
          f"identical tallies in all {len(tallies)} runs: {same}; LocalCluster started in "
          f"{min(starts):.2f}-{max(starts):.2f} s")
    best = {k: min(v) for k, v in times.items()}
    cpu = {k: min(i.chunk_cpu_seconds for i in v) for k, v in infos.items()}
    for name, v in times.items():
        tasks = infos[name][-1].extra.get("tasks", n_chunks)
        print(f"  {name:28s} best {best[name]:7.2f} s  {trials / best[name] / 1e6:7.2f} M trials/s  "
              f"chunk CPU {cpu[name]:6.2f} s (x{cpu[name] / cpu['serial (1 worker)']:.2f} of serial)  "
              f"(all: {', '.join(f'{x:.2f}' for x in v)}; {tasks} tasks)")
    pairs = [a / b for a, b in zip(times["serial (1 worker)"], times["2 processes"], strict=True)]
    print(f"  serial/2-process ratio of each interleaved pair: {', '.join(f'{x:.2f}' for x in pairs)}")
    speed = statistics.median(pairs)
    near_dask, near_proc = times["dask LocalCluster 2x1"], times["2 processes (cluster alive)"]
    dask_pairs = [a / b - 1 for a, b in zip(near_dask, near_proc, strict=True)]
    overhead = statistics.median(dask_pairs)
    best_speed = best["serial (1 worker)"] / best["2 processes"]
    print(f"  speedup 2 workers {speed:.3f}x (median of {len(pairs)} interleaved pairs, range "
          f"{min(pairs):.2f}-{max(pairs):.2f}; best time over best time {best_speed:.3f}x); dask overhead vs "
          f"processes (median of pairs run alternately) {overhead:+.3f}")
    if not same:
        raise SystemExit("tallies differ between backends: the runner is broken")
    return speed, overhead


def peak_heap(net: CompiledNetwork, chunks: int, backend: str) -> float:
    tracemalloc.start()
    run_chunks(run_chunk, net, [1 << 16] * chunks, 1, backend=backend, workers=2, progress=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def compare_simulation(years: int, chunk_years: int, repeats: int, seed: int = 2025) -> float:
    """A long uk999 time simulation (:func:`model.sim.engine.simulate`): workers=1 against workers=2,
    ``repeats`` interleaved pairs (the order alternates), every run the identical result; returns the
    median of the pairs' ratios. Each run uses a new model, so every run evaluates its states from a
    cold start the same way (the workers evaluate theirs in their own processes)."""
    from model.sim.engine import simulate
    from model.sim.timemodel import build_time_model

    # the fork server starts once per Python process (a CLI run pays it once): not in the pairs
    simulate(build_time_model("uk999"), 4, seed, chunk_years=2, workers=2, backend="processes",
             progress=False, quiet=True)
    times: dict[int, list[float]] = {1: [], 2: []}
    values = []
    for r in range(repeats):
        for w in ((1, 2) if r % 2 == 0 else (2, 1)):
            tm = build_time_model("uk999")
            res, s = timed(simulate, tm, years, seed, chunk_years=chunk_years, workers=w,
                           backend="serial" if w == 1 else "processes", progress=False, quiet=True)
            times[w].append(s)
            values.append(res.tally.column("unreachable").tobytes())
    same = all(v == values[0] for v in values)
    pairs = [a / b for a, b in zip(times[1], times[2], strict=True)]
    speed = statistics.median(pairs)
    print(f"[simulation] uk999, {years:,} years in chunks of {chunk_years} ({years // chunk_years} chunks); "
          f"{repeats} interleaved pairs; identical results in all {len(values)} runs: {same}")
    print(f"  workers=1: {', '.join(f'{x:.1f}' for x in times[1])} s; workers=2: "
          f"{', '.join(f'{x:.1f}' for x in times[2])} s")
    print(f"  workers=1 / workers=2 of each pair: {', '.join(f'{x:.2f}' for x in pairs)}; speedup "
          f"{speed:.3f}x (median, range {min(pairs):.2f}-{max(pairs):.2f})")
    if not same:
        raise SystemExit("simulation results differ between 1 and 2 workers: the runner is broken")
    return speed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--network", default="auto", choices=("auto", "uk999", "layered"))
    ap.add_argument("--seconds", type=float, default=20.0, help="target serial time of the long run")
    ap.add_argument("--chunk-size", type=int, default=1 << 20)
    ap.add_argument("--repeats", type=int, default=5, help="interleaved repeats (the median pair counts)")
    ap.add_argument("--sim-years", type=int, default=400, help="years of the long uk999 simulation")
    ap.add_argument("--sim-chunk-years", type=int, default=25)
    ap.add_argument("--sim-repeats", type=int, default=3, help="interleaved pairs of the simulation part")
    ap.add_argument("--only", choices=("estimate", "simulation"), help="run one part only")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.repeats, args.sim_years, args.sim_repeats = 2.0, 1, 50, 1
    if args.only == "simulation":
        print(f"python {platform.python_version()}, {os.cpu_count()} cores, load average {loadavg()}")
        sim = compare_simulation(args.sim_years, args.sim_chunk_years, args.sim_repeats)
        print(f"load average after: {loadavg()}")
        print(f"speedup_2_workers_simulation={sim:.3f}")
        return

    name, net = load_network(args.network)
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load average {loadavg()}")
    print(f"network {name}: {net.n_components} components, {net.n_nodes} nodes, {net.n_arcs} arcs, "
          f"{net.n_demands} demands")

    # calibrate: serial seconds per chunk of each size
    per_chunk = {}
    for size in (args.chunk_size, 1 << 16):
        run_chunk(net, 0, size, 1)
        _, s = timed(lambda size=size: [run_chunk(net, i, size, 1) for i in range(1, 6)])
        per_chunk[size] = s / 5
        print(f"serial: {per_chunk[size] * 1e3:.1f} ms per chunk of {size:,} trials")

    # the fork server starts once per Python process: time it on its own (a CLI run pays it once)
    plan = [args.chunk_size] * 8
    _, cold = timed(run_chunks, run_chunk, net, plan, 1, backend="processes", workers=2, progress=False)
    _, warm = timed(run_chunks, run_chunk, net, plan, 1, backend="processes", workers=2, progress=False)
    print(f"one-off start of the fork server: {cold - warm:.2f} s "
          f"(8 chunks on a new pool: {cold:.2f} s first, {warm:.2f} s after)")

    results = {}
    for size, seconds in ((args.chunk_size, args.seconds), (1 << 16, args.seconds / 2)):
        n = max(8, 2 * round(seconds / per_chunk[size] / 2))
        results[size] = compare(net, size, n, 2025, args.repeats, f"chunks of {size:,}")

    small, large = 8, 32
    for backend in ("serial", "processes"):
        a, b = peak_heap(net, small, backend), peak_heap(net, large, backend)
        print(f"peak Python heap ({backend}, parent): {a:.1f} MiB for {small * 65536:,} trials, "
              f"{b:.1f} MiB for {large * 65536:,} trials (ratio {b / a:.2f})")
    sim = math.nan
    if args.only != "estimate":
        sim = compare_simulation(args.sim_years, args.sim_chunk_years, args.sim_repeats)
    print(f"load average after: {loadavg()}")
    speed, overhead = results[args.chunk_size]
    print(f"speedup_2_workers={speed:.3f} dask_overhead={overhead:.3f} "
          f"speedup_2_workers_simulation={sim:.3f}")


if __name__ == "__main__":
    main()
