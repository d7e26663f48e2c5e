"""Peak memory of ``nines simulate`` against the simulated years (issue 15 item 4, issue 16 item 5).

Runs ``python -m model simulate SCENARIO --years N --workers W --quiet --json`` in a subprocess for
each N, and polls the peak resident set (``VmHWM`` in ``/proc``, Linux) of the command and of every
process it starts (the worker processes); prints per run the command's peak, the largest worker's
peak, the wall time and years per second. With ``--before DIR`` (a checkout of older code) the
same commands run on that code too, interleaved with this tree's, and the estimates of the two are
checked to agree (their 95 % intervals overlap: the two codes draw the calls in different batches).
The last line is the ratio of the peaks (before / this tree) at the largest N, or the growth of
this tree's peak from the smallest N to the largest (flat: close to 1).

Example: ``python benchmarks/bench_sim_memory.py --years 1000 5000 20000 --before ../old``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:  # the thread ended between the listing and the read: it has no children to count
            continue
    return out


def _hwm_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def run(tree: Path, scenario: str, years: int, workers: int, seed: int, extra: list[str]) -> dict:
    """One ``simulate`` command on the code in ``tree``; peaks in MiB."""
    cmd = [sys.executable, "-m", "model", "simulate", scenario, "--years", str(years), "--workers",
           str(workers), "--seed", str(seed), "--quiet", "--json", *extra]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peaks: dict[int, int] = {}
    while p.poll() is None:  # poll the process tree (workers are grandchildren via the forkserver)
        todo, seen = [p.pid], set()
        while todo:
            q = todo.pop()
            if q in seen:
                continue
            seen.add(q)
            h = _hwm_kib(q)
            if h is not None:
                peaks[q] = max(peaks.get(q, 0), h)
            todo += _children(q)
        time.sleep(0.05)
    out, err = p.communicate()
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}): {err[-2000:]}")
    d = json.loads(out)
    main = peaks.get(p.pid, 0)
    others = sorted((v for k, v in peaks.items() if k != p.pid), reverse=True)
    r = d["unreachable_call_rate"]
    return {"years": years, "workers": workers, "main_mib": main / 1024,
            "worker_mib": (others[0] / 1024) if others and workers > 1 else None,
            "seconds": secs, "years_per_s": years / secs, "rate": r["estimate"],
            "ci": (r["ci_low"], r["ci_high"]),
            "command": " ".join(cmd[1:])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="uk999")
    ap.add_argument("--years", type=int, nargs="+", default=[1000, 5000, 20000])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--before", type=Path, default=None, help="checkout of the code to compare with")
    ap.add_argument("--before-years", type=int, nargs="*", default=None,
                    help="years to run on the older code (default: all of --years)")
    ap.add_argument("--max-memory", type=int, default=None, help="this tree's --max-memory (MiB)")
    a = ap.parse_args(argv)
    extra = [] if a.max_memory is None else ["--max-memory", str(a.max_memory)]
    print(f"# load {os.getloadavg()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| code | years | workers | peak MiB (command) | peak MiB (largest worker) | seconds | years/s | "
          "unreachable-call rate [95 % CI] |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    after: dict[int, dict] = {}
    before: dict[int, dict] = {}
    before_years = a.years if a.before_years is None else a.before_years
    for n in a.years:  # interleaved: older code, then this tree, for each length
        runs = []
        if a.before is not None and n in before_years:
            before[n] = run(a.before, a.scenario, n, a.workers, a.seed, [])
            runs.append(("before", before[n]))
        after[n] = run(HERE, a.scenario, n, a.workers, a.seed, extra)
        runs.append(("this", after[n]))
        for name, r in runs:
            w = "" if r["worker_mib"] is None else f"{r['worker_mib']:.0f}"
            print(f"| {name} | {n:,} | {r['workers']} | {r['main_mib']:.0f} | {w} | {r['seconds']:.1f} | "
                  f"{r['years_per_s']:.1f} | {r['rate']:.4g} [{r['ci'][0]:.4g}, {r['ci'][1]:.4g}] |",
                  flush=True)
        if n in before:
            b, t = before[n], after[n]
            overlap = b["ci"][0] <= t["ci"][1] and t["ci"][0] <= b["ci"][1]
            print(f"#   {n:,} years: intervals overlap: {overlap}; speed this/before "
                  f"{t['years_per_s'] / b['years_per_s']:.2f}", flush=True)
    print(f"# command: {after[a.years[-1]]['command']}")
    big, small = a.years[-1], a.years[0]

    def peak(r: dict) -> float:
        return max(r["main_mib"], r["worker_mib"] or 0.0)

    growth = peak(after[big]) / peak(after[small])
    print(f"growth_{small}_to_{big}={growth:.2f} peak_{big}={peak(after[big]):.0f}MiB")
    common = [n for n in a.years if n in before]
    if common:
        n = common[-1]
        print(f"ratio={peak(before[n]) / peak(after[n]):.2f} (peak before / this tree at {n:,} years)")
    else:
        print(f"ratio={growth:.2f} (peak at {big:,} years / at {small:,})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
