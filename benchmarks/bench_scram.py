"""The same Open-PSA exports solved by SCRAM (Debian's ``scram``) and by nines, in one run, interleaved.

For each model (uk999 with all 931 demands, the 4x4 grid, a series/parallel composition) the
network is exported once with :func:`model.exchange.write_open_psa`; then, per repeat and in
alternation:

* **SCRAM BDD exact**: ``scram FILE --probability 1`` (reads the file, builds its BDD, computes
  every top; wall time of the process, and the probability time SCRAM reports itself);
* **nines exact from the file**: :func:`model.exchange.read_open_psa` + the gate BDD of
  :mod:`model.static.gatebdd` (reads the file and builds a BDD, like SCRAM);
* **nines exact on the network**: the frontier BDD of :mod:`model.static.exact` on the compiled
  network (what nines uses when it has the network rather than a fault tree);
* **nines crude MC** on the network to a relative standard error of ``--rse`` (default 10 %).

SCRAM 0.16.2 has no Monte Carlo of the top event itself (its ``--uncertainty`` samples parameter
distributions; with point probabilities there is nothing to sample), so the MC column has no
SCRAM counterpart. Every probability is checked: SCRAM's 6-digit figures must match nines' exact
values (see ``tests/scram.py``) before any time is printed. The last line holds the ratios
``scram_over_nines_<model>`` (SCRAM wall time / nines exact-from-file time; > 1 means nines is
faster) and ``scram_over_frontier_<model>``.

Usage::

    python benchmarks/bench_scram.py                # 3 repeats
    python benchmarks/bench_scram.py --repeats 1 --quick
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from machine import cpu_name

from model.exchange import read_open_psa, write_open_psa
from model.network.callnetwork import build_network
from model.network.compiled import CompiledNetwork, compile_graph
from model.network.graphs import complete, grid, parallel, series
from model.static.exact import exact_unreachability
from model.static.gatebdd import fault_tree_probability
from model.static.montecarlo import crude_monte_carlo

SCRAM = os.environ.get("NINES_SCRAM", "/usr/bin/scram")


def models(quick: bool) -> dict[str, CompiledNetwork]:
    out = {
        "grid4": compile_graph(*grid(4, 1e-3)),
        "series-parallel": compile_graph(*series([parallel([grid(3, 0.05), grid(3, 0.1)]),
                                                  complete(4, 0.02)])),
    }
    if not quick:
        out["uk999"] = build_network("uk999").compiled
    return out


def scram_run(path: Path) -> tuple[float, dict[str, float], float]:
    """(wall seconds, top -> probability, SCRAM's own probability seconds)."""
    rep = path.with_suffix(".report.xml")
    t0 = time.perf_counter()
    r = subprocess.run([SCRAM, str(path), "--probability", "1", "--limit-order", "8", "-o", str(rep)],
                       capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"scram failed: {r.stderr[-2000:]}")
    root = ET.parse(rep).getroot()
    probs = {s.get("name", ""): float(s.get("probability", "nan")) for s in root.iter("sum-of-products")}
    own = sum(float(x.text or 0) for x in root.iter("probability") if x.text)
    return wall, probs, own


def close(nines: float, scram: float) -> bool:
    if scram == 0:
        return nines < 1e-300
    unit = 10 ** (math.floor(math.log10(abs(scram))) - 5)
    return abs(nines - scram) <= unit * (1 + 1e-9)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rse", type=float, default=0.10, help="relative standard error of nines' crude MC")
    ap.add_argument("--quick", action="store_true", help="skip uk999")
    args = ap.parse_args()
    if not Path(SCRAM).exists():
        sys.exit(f"{SCRAM} is missing: bash .ci/install-browser.sh installs it")
    ver = subprocess.run([SCRAM, "--version"], capture_output=True, text=True, check=False).stdout
    ver = ver.split("\n")[0]
    print(f"machine: {cpu_name()}, {os.cpu_count()} logical CPUs shared with other engineers "
          f"(load average {os.getloadavg()[0]:.1f}); Python {platform.python_version()}; {ver}")
    ratios = []
    with tempfile.TemporaryDirectory() as d:
        for name, net in models(args.quick).items():
            path = write_open_psa(net, Path(d) / f"{name}.xml")
            best = {"scram": math.inf, "scram_own": math.inf, "file": math.inf, "frontier": math.inf}
            for _ in range(args.repeats):
                wall, probs, own = scram_run(path)
                best["scram"], best["scram_own"] = min(best["scram"], wall), min(best["scram_own"], own)
                t0 = time.perf_counter()
                tree = read_open_psa(path)
                ft = fault_tree_probability(tree)
                best["file"] = min(best["file"], time.perf_counter() - t0)
                t0 = time.perf_counter()
                ex = exact_unreachability(net)
                best["frontier"] = min(best["frontier"], time.perf_counter() - t0)
                per = dict(zip(tree.top_names, ft.details["per_top"], strict=True))
                bad = [n for n, p in probs.items() if not close(per[n], p)]
                if bad or abs(ft.value / ex.value - 1) > 1e-12:
                    sys.exit(f"{name}: nines and SCRAM disagree on {bad[:5]} (or the two nines BDDs differ)")
            # crude MC to the target relative error: n ≈ (1 - U) / (U rse²)
            n = int(min(2e8, math.ceil((1 - ex.value) / (ex.value * args.rse**2))))
            t0 = time.perf_counter()
            mc = crude_monte_carlo(net, n, 1).overall
            mc_s = time.perf_counter() - t0
            print(f"{name}: U = {ex.value:.6g} (SCRAM {len(probs)} tops, all agree to its 6 digits); "
                  f"SCRAM BDD {best['scram']:.3f} s wall ({best['scram_own']:.2g} s by its timer); "
                  f"nines gate BDD from the file {best['file']:.3f} s "
                  f"({ft.details['diagram_nodes']:,} nodes); "
                  f"nines frontier BDD {best['frontier']:.3f} s; nines crude MC {mc.value:.4g} ± "
                  f"{mc.std_error:.2g} (RSE {mc.relative_error:.3f}, {n:,} trials) {mc_s:.2f} s; "
                  f"SCRAM MC: none (0.16.2 samples parameters only)")
            ratios.append(f"scram_over_nines_{name}={best['scram'] / best['file']:.3g} "
                          f"scram_over_frontier_{name}={best['scram'] / best['frontier']:.3g}")
    print(" ".join(ratios))


if __name__ == "__main__":
    main()
