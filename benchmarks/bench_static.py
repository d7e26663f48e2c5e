"""Static crude Monte Carlo: the engine against the textbook networkx approach.

The textbook approach, per trial: sample every component's state, remove the
failed nodes and links from a networkx graph, and ask ``nx.has_path`` for every
demand (source to any of its targets, after its prerequisite components). The
engine (:func:`model.static.montecarlo.crude_monte_carlo`) computes the same estimate.
Both run on the same network in one process; the ratio of trials per second is
printed on the last line as ``speedup=<ratio>``. Also measured: engine scaling
with the number of trials and with graph size (random UK-shaped networks up to
10x), and peak Python heap (tracemalloc) against the number of trials.

Usage::

    python benchmarks/bench_static.py                 # uk999 if available, else uk-like
    python benchmarks/bench_static.py --network uk-like --baseline-trials 300
    python benchmarks/bench_static.py --quick         # a fast smoke run
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
import tracemalloc

import networkx as nx
import numpy as np
from machine import cpu_name

from model.network.bits import unpack_bits
from model.network.compiled import CompiledNetwork, csr_from_lists
from model.network.reachability import kernel_for
from model.run.seeds import chunk_rng
from model.static.montecarlo import crude_monte_carlo, mean_failures_per_trial
from model.static.sampling import sample_network_failures

SERVICES = (("ambulance", 0.53), ("police", 0.44), ("fire", 0.03), ("coastguard", 0.005))
ROOMS = {"ambulance": 14, "police": 45, "fire": 50, "coastguard": 35}  # 144 control rooms


def uk_like_network(scale: int = 1, seed: int = 2023) -> CompiledNetwork:
    """A random network shaped like the UK 999 system, ``scale`` times larger.

    Per unit of scale: 100 areas x 3 access types = 300 caller groups (each with an
    access link and an area exchange as prerequisite components), 6 originating
    networks, 2 call-handling platforms, 7 call-handling centres and 144 control
    rooms with a buddy room each; every
    platform to every centre of its unit and every originating network to both
    platforms of its unit; each control room is linked to 4 centres of its unit and
    one more anywhere. Demands are caller group x service -> control room (+ buddy),
    weighted by calls per year; q between 1e-5 and 1e-3, plus common-cause events
    (shared platform software, a power event per centre pair).
    """
    rng = np.random.default_rng(seed)
    names: list[str] = []
    kinds: list[str] = []
    q: list[float] = []

    def comp(name: str, kind: str, qq: float) -> int:
        names.append(name)
        kinds.append(kind)
        q.append(qq)
        return len(names) - 1

    node_names: list[str] = []
    node_comp: list[int] = []

    def node(name: str, c: int) -> int:
        node_names.append(name)
        node_comp.append(c)
        return len(node_names) - 1

    arcs: list[tuple[int, int, int]] = []
    ons = [node(f"on{i}", comp(f"on{i}", "node", 1e-4)) for i in range(6 * scale)]
    plats = [node(f"platform{i}", comp(f"platform{i}", "node", rng.uniform(1e-4, 3e-4)))
             for i in range(2 * scale)]
    centres = [node(f"centre{i}", comp(f"centre{i}", "node", rng.uniform(1e-4, 5e-4)))
               for i in range(7 * scale)]
    rooms: dict[str, list[int]] = {}
    for s, _share in SERVICES:
        rooms[s] = [node(f"{s}{i}", comp(f"{s}{i}", "node", rng.uniform(2e-4, 1e-3)))
                    for i in range(ROOMS[s] * scale)]
    for u in range(scale):
        unit_plats = plats[2 * u : 2 * u + 2]
        unit_centres = centres[7 * u : 7 * u + 7]
        for o in ons[6 * u : 6 * u + 6]:
            for p in unit_plats:
                arcs.append((o, p, comp(f"link-{node_names[o]}-{node_names[p]}", "link", 5e-4)))
        for p in unit_plats:
            for c in unit_centres:
                arcs.append((p, c, comp(f"link-{node_names[p]}-{node_names[c]}", "link", 2e-4)))
    for s, _share in SERVICES:
        for i, r in enumerate(rooms[s]):
            unit = i // ROOMS[s]
            own = rng.choice(centres[7 * unit : 7 * unit + 7], size=4, replace=False)
            other = rng.choice(np.setdiff1d(centres, own), size=1)
            for c in np.r_[own, other]:
                arcs.append((int(c), r, comp(f"link-{node_names[c]}-{node_names[r]}", "link",
                                             rng.uniform(1e-4, 1e-3))))
    # common-cause events: platform software per unit, power per pair of centres
    ccf_names, ccf_q, ccf_members = [], [], []
    for u in range(scale):
        ccf_names.append(f"platform-software{u}")
        ccf_q.append(1e-5)
        ccf_members.append(plats[2 * u : 2 * u + 2])
        for k in range(3):
            ccf_names.append(f"power{u}-{k}")
            ccf_q.append(2e-5)
            ccf_members.append(centres[7 * u + 2 * k : 7 * u + 2 * k + 2])
    ccf_members_c = [[node_comp[n] for n in m] for m in ccf_members]
    # caller groups and demands
    d_names, d_src, d_pre, d_tgt, d_w = [], [], [], [], []
    for a in range(100 * scale):
        unit = a // 100
        exchange = comp(f"exchange{a}", "node", 1e-4)
        home = {s: int(rng.integers(ROOMS[s])) + unit * ROOMS[s] for s, _ in SERVICES}
        calls = rng.lognormal(np.log(2.5e5), 0.5)
        for access, share, on_range in (("fixed", 0.26, (0, 2)), ("mobile", 0.7, (2, 5)),
                                         ("voip", 0.04, (5, 6))):
            access_link = comp(f"access{a}-{access}", "link", rng.uniform(1e-4, 1e-3))
            on = ons[6 * unit + int(rng.integers(*on_range))]
            for s, s_share in SERVICES:
                primary = rooms[s][home[s]]
                buddy = rooms[s][(home[s] + 1) % len(rooms[s])]
                d_names.append(f"area{a}:{access}:{s}")
                d_src.append(on)
                d_pre.append([exchange, access_link])
                d_tgt.append([primary, buddy])
                d_w.append(calls * share * s_share)
    pptr, pind = csr_from_lists(d_pre)
    tptr, tind = csr_from_lists(d_tgt)
    mptr, mind = csr_from_lists(ccf_members_c)
    return CompiledNetwork(
        component_names=tuple(names), q=np.array(q), node_names=tuple(node_names),
        node_component=np.array(node_comp), arc_src=np.array([a for a, _, _ in arcs]),
        arc_dst=np.array([b for _, b, _ in arcs]), arc_component=np.array([c for _, _, c in arcs]),
        demand_names=tuple(d_names), demand_source=np.array(d_src), demand_prereq_ptr=pptr,
        demand_prereq=pind, demand_target_ptr=tptr, demand_targets=tind, demand_weight=np.array(d_w),
        ccf_names=tuple(ccf_names), ccf_q=np.array(ccf_q), ccf_member_ptr=mptr, ccf_members=mind,
        component_kind=tuple(kinds),
    )


def load_network(name: str) -> tuple[CompiledNetwork, str]:
    """``uk999`` (the bundled reference scenario), ``uk-like`` or ``uk-like-xN``."""
    if name in ("auto", "uk999"):
        try:
            from model.network.callnetwork import build_network

            return build_network("uk999").compile(), "uk999"
        except Exception as exc:  # the reference scenario is not there yet: say so, fall back
            if name == "uk999":
                raise
            print(f"# uk999 not available ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
                  "using the uk-like random network")
            name = "uk-like"
    if name.startswith("uk-like"):
        scale = int(name.split("-x")[1]) if "-x" in name else 1
        return uk_like_network(scale), name
    raise SystemExit(f"--network must be auto, uk999, uk-like or uk-like-xN, got {name!r}")


# ------------------------------------------------------------------ baseline
class Textbook:
    """The textbook evaluation of one trial with networkx.

    Remove the failed nodes and links from (a copy of) the graph, then ask
    ``nx.has_path`` for every demand whose prerequisite components are up. The graph
    is only copied when something failed (a courtesy to the baseline).
    """

    def __init__(self, net: CompiledNetwork) -> None:
        self.net = net
        self.g = nx.MultiDiGraph()
        self.g.add_nodes_from(range(net.n_nodes))
        self.comp_nodes: dict[int, list[int]] = {}
        self.comp_arcs: dict[int, list[tuple[int, int, int]]] = {}
        for a, (u, v, c) in enumerate(zip(net.arc_src.tolist(), net.arc_dst.tolist(),
                                          net.arc_component.tolist(), strict=True)):
            self.g.add_edge(u, v, key=a)
            if c >= 0:
                self.comp_arcs.setdefault(c, []).append((u, v, a))
        for n, c in enumerate(net.node_component.tolist()):
            if c >= 0:
                self.comp_nodes.setdefault(c, []).append(n)
        self.members = [net.ccf_member_list(i).tolist() for i in range(net.n_ccf)]
        self.prereq = [set(net.prereq(d).tolist()) for d in range(net.n_demands)]
        self.targets = [net.targets(d).tolist() for d in range(net.n_demands)]
        self.source = net.demand_source.tolist()

    def sample(self, rng: np.random.Generator) -> set[int]:
        net = self.net
        down = set(np.flatnonzero(rng.random(net.n_components) < net.q).tolist())
        for i in np.flatnonzero(rng.random(net.n_ccf) < net.ccf_q).tolist():
            down.update(self.members[i])
        return down

    def unreachable(self, down: set[int]) -> np.ndarray:
        h = self.g
        if down:
            h = self.g.copy()
            for c in down:
                h.remove_edges_from([e for e in self.comp_arcs.get(c, []) if h.has_edge(*e)])
                h.remove_nodes_from([n for n in self.comp_nodes.get(c, []) if n in h])
        out = np.zeros(self.net.n_demands, dtype=bool)
        for d, s in enumerate(self.source):
            ok = not (self.prereq[d] & down) and s in h and any(
                t in h and nx.has_path(h, s, t) for t in self.targets[d])
            out[d] = not ok
        return out


def networkx_baseline(net: CompiledNetwork, trials: int, seed: int, skip_quiet: bool = False) -> tuple[
        float, int]:
    """Textbook crude MC: per trial, sample, remove failed elements, has_path per demand.

    With ``skip_quiet`` a trial in which nothing failed reuses the intact network's
    answer (computed once) instead of asking ``has_path`` again: the one shortcut a
    careful textbook implementation would take. Returns the estimated
    demand-weighted unreachable share and the number of trials with an unreachable
    demand.
    """
    rng = np.random.default_rng(seed)
    tb = Textbook(net)
    intact = tb.unreachable(set())
    w = net.demand_weight / net.total_weight
    share_sum, hit = 0.0, 0
    for _ in range(trials):
        down = tb.sample(rng)
        mask = intact if skip_quiet and not down else tb.unreachable(down)
        share_sum += float(w @ mask)
        hit += bool(mask.any())
    return share_sum / trials, hit


def paired_check(net: CompiledNetwork, seed: int, chunk_size: int, max_trials: int) -> tuple[int, int]:
    """Same estimate, trial by trial: the textbook evaluation of the engine's own sampled
    trials (chunk 0 of the run; trials with a failure first) against the engine's masks.
    Returns (trials checked, trials that differ)."""
    sample = sample_network_failures(net, chunk_size, chunk_rng(seed, 0))
    engine = unpack_bits(kernel_for(net)(sample.packed()), chunk_size).T
    trial, comp = sample.pairs()
    failed = np.unique(trial)
    quiet = np.setdiff1d(np.arange(min(chunk_size, 2 * max_trials)), failed)
    chosen = np.r_[failed[:max_trials], quiet[: max(1, max_trials // 10)]]
    tb = Textbook(net)
    bad = sum(not np.array_equal(tb.unreachable(set(comp[trial == t].tolist())), engine[t]) for t in chosen)
    return int(chosen.size), int(bad)


# ------------------------------------------------------------------ helpers
def machine_info() -> str:
    cpu = cpu_name()
    return (f"{cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
            f"numpy {np.__version__}, networkx {nx.__version__}")


def timed_engine(net: CompiledNetwork, trials: int, seed: int, chunk_size: int) -> tuple[float, object]:
    t = time.perf_counter()
    res = crude_monte_carlo(net, trials, seed, chunk_size=chunk_size)
    return time.perf_counter() - t, res


def peak_memory(net: CompiledNetwork, trials: int, chunk_size: int) -> float:
    """Peak traced Python heap (MiB) of one engine run (numpy buffers included)."""
    tracemalloc.start()
    crude_monte_carlo(net, trials, 1, chunk_size=chunk_size)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--network", default="auto", help="auto | uk999 | uk-like | uk-like-xN")
    ap.add_argument("--baseline-trials", type=int, default=200)
    ap.add_argument("--engine-trials", type=int, default=20_000_000)
    ap.add_argument("--chunk-size", type=int, default=1 << 16)
    ap.add_argument("--seed", type=int, default=2023)
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = ap.parse_args(argv)
    if args.quick:
        args.baseline_trials, args.engine_trials = 20, 200_000

    net, label = load_network(args.network)
    print(f"# machine: {machine_info()}")
    print(f"# network {label}: {net.n_components} components, {net.n_nodes} nodes, {net.n_arcs} arcs, "
          f"{net.n_demands} demands, {len(set(net.demand_source.tolist()))} distinct sources, "
          f"{net.n_ccf} common-cause events, mean failures per trial {mean_failures_per_trial(net):.3f}")
    kernel_for(net)  # build once, outside the timings (the baseline builds its graph outside too)

    t = time.perf_counter()
    base_share, base_hit = networkx_baseline(net, args.baseline_trials, args.seed)
    base_s = time.perf_counter() - t
    base_rate = args.baseline_trials / base_s
    print(f"baseline networkx: {args.baseline_trials} trials in {base_s:.2f} s = {base_rate:,.1f} trials/s "
          f"(estimate {base_share:.4g}, {base_hit} trials with an unreachable demand)")

    t = time.perf_counter()
    skip_trials = 20 * args.baseline_trials
    skip_share, _ = networkx_baseline(net, skip_trials, args.seed, skip_quiet=True)
    skip_rate = skip_trials / (time.perf_counter() - t)
    print(f"baseline networkx, failure-free trials skipped: {skip_trials} trials = {skip_rate:,.1f} trials/s "
          f"(estimate {skip_share:.4g})")

    eng_s, res = timed_engine(net, args.engine_trials, args.seed, args.chunk_size)
    eng_rate = args.engine_trials / eng_s
    o = res.overall
    print(f"engine crude-mc:   {args.engine_trials} trials in {eng_s:.2f} s = {eng_rate:,.0f} trials/s "
          f"(estimate {o.value:.4g} [{o.ci_low:.4g}, {o.ci_high:.4g}], se {o.std_error:.2g}; "
          f"{res.tally.evaluated_sets} reachability evaluations)")
    checked, bad = paired_check(net, args.seed, args.chunk_size, 40 if args.quick else 300)
    print(f"same estimator, trial by trial: textbook evaluation of {checked} of the engine's sampled trials "
          f"(those with failures first): {bad} differ")
    se_base = math.sqrt(max(o.value * (1 - o.value), 1e-300) / args.baseline_trials)
    print(f"baseline estimate vs engine: z = {(base_share - o.value) / se_base:+.2f} "
          f"(baseline standard error ~ {se_base:.2g} from its {args.baseline_trials} trials)")
    print("# engine scaling with trials (same network)")
    sizes = [args.engine_trials // 10, args.engine_trials // 3, args.engine_trials]
    for n in sizes:
        s, _ = timed_engine(net, n, args.seed + 1, args.chunk_size)
        print(f"  trials {n:>11,}: {s:7.2f} s, {n / s:>12,.0f} trials/s")
    print("# engine scaling with graph size (uk-like networks)")
    for scale in ([1, 2] if args.quick else [1, 3, 10]):
        big = uk_like_network(scale)
        kernel_for(big)
        n = max(args.engine_trials // (20 * scale), 1 << 16)
        s, r = timed_engine(big, n, args.seed, args.chunk_size)
        print(f"  uk-like x{scale:<2} ({big.n_components:>6} components, {big.n_demands:>6} demands): "
              f"{n / s:>12,.0f} trials/s, estimate {r.overall.value:.3g}")
    print("# peak traced heap of one engine run (tracemalloc, numpy buffers included), by number of trials")
    for name, m in ((label, net), ("uk-like x1", uk_like_network(1))):
        for n in ([100_000, 400_000] if args.quick else [250_000, 1_000_000, 4_000_000]):
            print(f"  {name:<10} trials {n:>11,}: peak {peak_memory(m, n, args.chunk_size):8.1f} MiB")
    print(f"speedup over the skipping baseline: {eng_rate / skip_rate:,.0f}x")
    print(f"speedup={eng_rate / base_rate:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
