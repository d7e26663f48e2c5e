"""Static crude Monte Carlo against the strongest baselines a competent user would write.

1. **uk999** (the bundled reference scenario), against a competent Python baseline
   (:class:`IgraphBaseline`): failures sampled sparsely (a Binomial count per component
   and chunk, then that many distinct trials), trials grouped by failed set, each
   distinct failed set evaluated once for the whole run (python-igraph: delete the
   failed arcs, ``subcomponent`` from each of the distinct sources), the demand-weighted
   unreachable share averaged. Interleaved rounds of the same number of trials; the
   ratio is the median of the rounds' trials-per-second ratios; the two estimates must
   agree within their standard errors (|z| < 4).
2. **A random graph** (2,000 nodes, 6,000 edges, every edge failing with q = 0.05, one
   demand between two fixed nodes), against a plain numpy bit-parallel BFS
   (:func:`bfs_baseline`: 64 trials a word, frontier sweeps over arcs sorted by head,
   one ``bitwise_or.reduceat`` a sweep), interleaved the same way, with the peak
   traced heap of each.
3. **Memory**: peak traced heap (tracemalloc, numpy buffers included) and chunk size of
   the engine under its default budget (256 MiB) on sparse random graphs with
   10^5 and 10^6 edges at q = 0.01.

The textbook networkx loop (copy the graph per trial, ``has_path`` per demand) is
kept only as a second figure. The last line is ``ratio=<uk999 ratio> dense_ratio=<random-graph
ratio>``.

Usage::

    python benchmarks/bench_static.py                 # all three parts
    python benchmarks/bench_static.py --quick         # a fast smoke run
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time
import tracemalloc
from collections import Counter

import networkx as nx
import numpy as np
from machine import cpu_name

from model.network.bits import unpack_bits
from model.network.compiled import CompiledNetwork, csr_from_lists
from model.network.reachability import kernel_for
from model.run.seeds import chunk_rng
from model.static.montecarlo import chunk_size_for, crude_monte_carlo, mean_failures_per_trial
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


# ------------------------------------------------------------------ competent baselines
class IgraphBaseline:
    """Sparse sampling, each distinct failed set evaluated once, python-igraph search.

    What a competent user writes in about a hundred lines: per chunk, a Binomial
    count of failures per component and common-cause event, that many distinct trials
    (``rng.choice`` without replacement), the trials grouped by failed set
    (``Counter`` of tuples), and for every set not seen before in the run: a copy of
    the igraph graph without the failed arcs and the arcs of failed nodes,
    ``subcomponent(source, mode="out")`` from each distinct source, the demands
    whose prerequisites are up and whose targets are reached.
    """

    def __init__(self, net: CompiledNetwork) -> None:
        import igraph as ig

        self.net = net
        self.g = ig.Graph(n=net.n_nodes, edges=list(zip(net.arc_src.tolist(), net.arc_dst.tolist(),
                                                        strict=True)), directed=True)
        self.arcs_of: dict[int, list[int]] = {}
        for a, c in enumerate(net.arc_component.tolist()):
            if c >= 0:
                self.arcs_of.setdefault(c, []).append(a)
        self.node_of: dict[int, int] = {}
        for v, c in enumerate(net.node_component.tolist()):
            if c >= 0:
                self.node_of[c] = v
                self.arcs_of.setdefault(c, []).extend(self.g.incident(v, mode="all"))
        self.members = [net.ccf_member_list(i).tolist() for i in range(net.n_ccf)]
        self.sources = sorted(set(net.demand_source.tolist()))
        self.demands = [(int(net.demand_source[d]), net.targets(d).tolist(), set(net.prereq(d).tolist()),
                         float(net.demand_weight[d]) / net.total_weight) for d in range(net.n_demands)]
        self.cache: dict[tuple[int, ...], float] = {}

    def share(self, failed: tuple[int, ...]) -> float:
        hit = self.cache.get(failed)
        if hit is not None:
            return hit
        fs = set(failed)
        h = self.g.copy()
        h.delete_edges(sorted({a for c in failed for a in self.arcs_of.get(c, ())}))
        down = {self.node_of[c] for c in failed if c in self.node_of}
        reach = {s: set() if s in down else set(h.subcomponent(s, mode="out")) for s in self.sources}
        out = 0.0
        for s, targets, pre, w in self.demands:
            if pre & fs or not any(t in reach[s] and t not in down for t in targets):
                out += w
        self.cache[failed] = out
        return out

    def run(self, trials: int, seed: int, chunk: int = 1 << 20) -> float:
        rng = np.random.default_rng(seed)
        net = self.net
        total = 0.0
        for lo in range(0, trials, chunk):
            n = min(chunk, trials - lo)
            t_parts, c_parts = [], []
            for qs, owners in ((net.q, [[c] for c in range(net.n_components)]), (net.ccf_q, self.members)):
                k = rng.binomial(n, qs)
                for i in np.flatnonzero(k).tolist():
                    pos = rng.choice(n, int(k[i]), replace=False)
                    for c in owners[i]:
                        t_parts.append(pos)
                        c_parts.append(np.full(pos.size, c))
            if not t_parts:
                continue
            tr, co = np.concatenate(t_parts), np.concatenate(c_parts)
            order = np.lexsort((co, tr))
            tr, co = tr[order], co[order]
            cut = np.flatnonzero(np.diff(tr)) + 1
            groups = Counter(tuple(sorted(set(x.tolist()))) for x in np.split(co, cut))
            total += sum(m * self.share(f) for f, m in groups.items())
        return total / trials


def bfs_baseline(net: CompiledNetwork, trials: int, seed: int, block: int = 128) -> float:
    """Plain numpy bit-parallel BFS: the unreachable share of a single-demand network.

    Per block of ``64 * block`` trials: every component's state from ``rng.random``, packed
    64 trials a word; the reach bits start at the source; each sweep gathers the
    frontier's words along the arcs (sorted by head), ANDs the arcs' up bits, ORs them per
    head with one ``bitwise_or.reduceat`` and keeps the new bits, until nothing changes.
    """
    rng = np.random.default_rng(seed)
    o = np.argsort(net.arc_dst, kind="stable")
    tail, head, comp = net.arc_src[o], net.arc_dst[o], net.arc_component[o]
    starts = np.flatnonzero(np.r_[True, head[1:] != head[:-1]])
    heads = head[starts]
    s, t = int(net.demand_source[0]), int(net.targets(0)[0])
    cut = 0
    for lo in range(0, trials, 64 * block):
        n = min(64 * block, trials - lo)
        w = -(-n // 64)
        down = rng.random((net.n_components, 64 * w)) < net.q[:, None]
        up = ~np.packbits(down, axis=1, bitorder="little").view(np.uint64)
        reach = np.zeros((net.n_nodes, w), np.uint64)
        reach[s] = ~np.uint64(0)
        front = reach.copy()
        while True:
            new = np.bitwise_or.reduceat(front[tail] & up[comp], starts, axis=0) & ~reach[heads]
            if not new.any():
                break
            reach[heads] |= new
            front = np.zeros_like(reach)
            front[heads] = new
        cut += int(unpack_bits(~reach[t], n).sum())
    return cut / trials


def random_network(n_edges: int, q: float, seed: int = 1, n_nodes: int | None = None) -> CompiledNetwork:
    """A random undirected graph (``n_nodes`` default ``n_edges / 3``) plus a Hamiltonian path that
    keeps it connected; every edge fails with ``q``; one demand from the path's first node to its last."""
    rng = np.random.default_rng(seed)
    n = n_nodes or max(2, n_edges // 3)
    perm = rng.permutation(n)
    u, v = rng.integers(0, n, n_edges - (n - 1)), rng.integers(0, n, n_edges - (n - 1))
    keep = u != v
    u, v = np.r_[u[keep], perm[:-1]], np.r_[v[keep], perm[1:]]
    comp = np.arange(u.size)
    return CompiledNetwork(
        component_names=tuple(f"e{i}" for i in range(u.size)), q=np.full(u.size, q),
        node_names=tuple(f"n{i}" for i in range(n)), node_component=np.full(n, -1),
        arc_src=np.r_[u, v], arc_dst=np.r_[v, u], arc_component=np.r_[comp, comp],
        demand_names=("s-t",), demand_source=np.array([perm[0]]), demand_prereq_ptr=np.array([0, 0]),
        demand_prereq=np.zeros(0, np.int64), demand_target_ptr=np.array([0, 1]),
        demand_targets=np.array([perm[-1]]), demand_weight=np.array([1.0]))


def traced(fn, *args, **kwargs):
    """(result, seconds, peak traced MiB) of one call."""
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    sec = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, sec, peak


def z_score(a: float, b: float, se: float) -> float:
    return (a - b) / se if se > 0 else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--network", default="auto", help="auto | uk999 | uk-like | uk-like-xN")
    ap.add_argument("--trials", type=int, default=8_000_000, help="trials per round on uk999")
    ap.add_argument("--dense-trials", type=int, default=1 << 16, help="trials per round on the random graph")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--textbook-trials", type=int, default=100)
    ap.add_argument("--seed", type=int, default=2023)
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = ap.parse_args(argv)
    if args.quick:
        args.trials, args.dense_trials, args.rounds, args.textbook_trials = 500_000, 1 << 13, 1, 10
    print(f"# machine: {machine_info()}; load average {os.getloadavg()[0]:.1f} (shared with other "
          "engineers' jobs: rounds are interleaved and medians reported)")

    # 1. uk999 against the competent igraph baseline
    net, label = load_network(args.network)
    print(f"# [1] network {label}: {net.n_components} components, {net.n_nodes} nodes, {net.n_arcs} arcs, "
          f"{net.n_demands} demands, {len(set(net.demand_source.tolist()))} distinct sources, "
          f"{net.n_ccf} common-cause events, mean failures per trial {mean_failures_per_trial(net):.3f}")
    kernel_for(net)
    base = IgraphBaseline(net)
    ratios, est_b, est_e = [], [], []
    for r in range(args.rounds):
        seed = args.seed + r
        if r % 2 == 0:
            b, sb, _ = traced(base.run, args.trials, seed)
            res, se_, _ = traced(crude_monte_carlo, net, args.trials, seed)
        else:
            res, se_, _ = traced(crude_monte_carlo, net, args.trials, seed)
            b, sb, _ = traced(base.run, args.trials, seed)
        o = res.overall
        ratios.append(sb / se_)
        est_b.append(b)
        est_e.append(o.value)
        print(f"round {r}: igraph baseline {args.trials / sb:,.0f} trials/s (estimate {b:.4g}, "
              f"{len(base.cache)} distinct sets cached so far); engine {args.trials / se_:,.0f} trials/s "
              f"(estimate {o.value:.4g} ± {o.std_error:.2g}); ratio {sb / se_:.2f}")
    se = res.overall.std_error * math.sqrt(2)
    z = z_score(statistics.mean(est_b), statistics.mean(est_e), se / math.sqrt(args.rounds))
    print(f"same estimate: baseline mean {statistics.mean(est_b):.4g}, engine mean "
          f"{statistics.mean(est_e):.4g}, z = {z:+.2f}")
    if abs(z) >= 4:
        raise SystemExit("the baseline and the engine disagree")
    uk_ratio = statistics.median(ratios)
    print(f"uk999: engine / competent igraph baseline = {uk_ratio:.2f} (median of {args.rounds} rounds)")
    # the textbook figure, second
    t0 = time.perf_counter()
    networkx_baseline(net, args.textbook_trials, args.seed)
    tb_rate = args.textbook_trials / (time.perf_counter() - t0)
    print(f"second figure: textbook networkx loop {tb_rate:,.1f} trials/s; engine / textbook = "
          f"{args.trials / se_ / tb_rate:,.0f}")
    checked, bad = paired_check(net, args.seed, 1 << 16, 40 if args.quick else 200)
    print(f"same estimator, trial by trial: textbook evaluation of {checked} of the engine's sampled trials: "
          f"{bad} differ")

    # 2. dense failures on a random graph against a plain bit-parallel BFS
    import networkx as nx_

    g = nx_.gnm_random_graph(2000, 6000, seed=1)
    nx_.set_edge_attributes(g, 0.05, "q")
    from model.network.compiled import compile_graph

    dn = compile_graph(g, 0, 1)
    kernel_for(dn)
    print(f"# [2] random graph: {dn.n_nodes} nodes, {dn.n_components} edges, q = 0.05, demand 0 -> 1; "
          f"engine chunk size {chunk_size_for(dn)}")
    d_ratios, pk_b, pk_e, eb, ee = [], [], [], [], []
    for r in range(args.rounds):
        seed = args.seed + r
        if r % 2 == 0:
            b, sb, mb = traced(bfs_baseline, dn, args.dense_trials, seed)
            res, se_, me = traced(crude_monte_carlo, dn, args.dense_trials, seed)
        else:
            res, se_, me = traced(crude_monte_carlo, dn, args.dense_trials, seed)
            b, sb, mb = traced(bfs_baseline, dn, args.dense_trials, seed)
        d_ratios.append(sb / se_)
        pk_b.append(mb)
        pk_e.append(me)
        eb.append(b)
        ee.append(res.overall.value)
        print(f"round {r}: numpy BFS {args.dense_trials / sb:,.0f} trials/s (estimate {b:.4g}, "
              f"peak {mb:.0f} MiB); engine {args.dense_trials / se_:,.0f} trials/s "
              f"(estimate {res.overall.value:.4g} ± {res.overall.std_error:.2g}, peak {me:.0f} MiB); "
              f"ratio {sb / se_:.2f}")
    z = z_score(statistics.mean(eb), statistics.mean(ee),
                res.overall.std_error * math.sqrt(2) / math.sqrt(args.rounds))
    print(f"same estimate: z = {z:+.2f}")
    if abs(z) >= 4:
        raise SystemExit("the BFS baseline and the engine disagree")
    dense_ratio = statistics.median(d_ratios)
    print(f"random graph q=0.05: engine / numpy bit-parallel BFS = {dense_ratio:.2f} "
          f"(median of {args.rounds} rounds); peak heap engine {max(pk_e):.0f} MiB, BFS {max(pk_b):.0f} MiB")

    # 3. memory on large sparse graphs
    print("# [3] sparse random graphs, q = 0.01, default memory budget 256 MiB")
    for e in ([10**4, 10**5] if args.quick else [10**5, 10**6]):
        big = random_network(e, 0.01)
        n = 2048 if e <= 10**5 else 256
        res, sec, peak = traced(crude_monte_carlo, big, n, args.seed)
        print(f"  {big.n_components:>9,} edges, {big.n_nodes:>8,} nodes: {n} trials in {sec:.1f} s, chunk "
              f"{res.chunk_size}, peak traced heap {peak:.0f} MiB (kernel built inside), estimate "
              f"{res.overall.value:.3g} [{res.overall.ci_low:.3g}, {res.overall.ci_high:.3g}]")
    print(f"ratio={uk_ratio:.2f} dense_ratio={dense_ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
