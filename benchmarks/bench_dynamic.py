"""Year-long time simulation: the engine against the textbook event-by-event approach.

The textbook approach (like a SimPy model, in plain Python): each simulated year,
every event's up and down times are drawn one after the other; the start and end
points are walked in time order and **at every state change** the state is
evaluated from scratch — reachability of every demand with networkx
(``nx.descendants`` from each source on the graph of up elements), the routes of
the calls (which platform, centres, room or buddy) for the capacity model, and the
capacity losses — and every call of an affected demand is followed one caller and
one attempt at a time (redial, patience, public advice and fallback lines). It is
the reference simulator the tests use (:mod:`model.sim.reference`) with its state memory
switched off, so it computes the same estimates with the same model.

The engine (:func:`model.sim.engine.simulate`) runs the same scenario. Both estimate
the unreachable-call rate and the failed calls a year. "Same estimates" is checked
twice: the engine re-run on the textbook's own outage intervals
(:func:`model.sim.engine.run_intervals`) gives the same failed calls year by year
within Monte Carlo noise (a paired comparison), and the engine's long run agrees
with the textbook's years within their confidence intervals.

Against the peers (issue 15): on the scenario, the engine against :class:`HeapqCached`
(a heapq event loop over the same outages with a dict of evaluated states and calls
followed per affected segment); on the dodecahedron, against a cached heapq loop and
SimPy. The textbook line is ``years_per_second=<engine> speedup=<engine / textbook>``
(second figure; the engine's rate from a cold start). The last line is
``ratio=<scenario> <dodecahedron>``: engine over the cached heapq loop, medians of
interleaved rounds.

Usage::

    python benchmarks/bench_dynamic.py                       # uk999 (tests/data/tiny.toml if it fails)
    python benchmarks/bench_dynamic.py --baseline-years 3 --engine-years 1000
    python benchmarks/bench_dynamic.py --peers-only --uk-peer-years 10 --peer-years 400
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import itertools
import math
import platform
import random
import statistics
import time
from pathlib import Path

import networkx as nx
import numpy as np

from model.network.graphs import dodecahedron
from model.processes.outages import Outages, sample_outages
from model.run.seeds import chunk_streams
from model.sim.engine import run_chunk, run_intervals, simulate, simulate_graph, with_derived_outages
from model.sim.erlang import mmck_blocking
from model.sim.reference import (
    Reference,
    RefState,
    _one_caller,
    reference_outages,
    reference_year,
    with_redials,
)
from model.sim.timemodel import TimeModel, build_time_model
from model.units import HOURS_PER_YEAR

ROOT = Path(__file__).resolve().parent.parent


class Textbook(Reference):
    """The reference simulator without memory: every state change is evaluated from scratch."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.evaluations = 0

    def evaluate(self, active: frozenset) -> RefState:
        self.states.clear()
        self.evaluations += 1
        return super().evaluate(active)


def load(name: str) -> tuple[TimeModel, str]:
    try:
        return build_time_model(name), name
    except Exception as exc:  # the bundled scenario may be missing or broken in a checkout
        print(f"# {name} did not load ({type(exc).__name__}: {exc}); using tests/data/tiny.toml")
        path = ROOT / "tests" / "data" / "tiny.toml"
        return build_time_model(path), "tiny"


def ratio_ci(num: np.ndarray, den: np.ndarray) -> tuple[float, float, float]:
    r = num.sum() / den.sum()
    if num.size < 2 or num.sum() == 0:
        return r, 0.0, (-math.log(0.05) / den.sum()) if num.sum() == 0 else math.inf
    resid = num - r * den
    se = math.sqrt(resid.var(ddof=1) / num.size) / den.mean()
    return r, max(0.0, r - 1.96 * se), r + 1.96 * se


def as_outages(ivs: list[list[tuple[int, float, float]]], horizon: float) -> Outages:
    yy = np.concatenate([[y] * len(iv) for y, iv in enumerate(ivs)]).astype(np.int64)
    ee = np.concatenate([[e for e, _, _ in iv] for iv in ivs]).astype(np.int64)
    ss = np.concatenate([[a for _, a, _ in iv] for iv in ivs])
    tt = np.concatenate([[b for _, _, b in iv] for iv in ivs])
    o = np.lexsort((ee, ss, yy))
    return Outages(yy[o], ee[o], ss[o], tt[o], len(ivs), horizon)


# ------------------------------------------------------------------ peers: cached heapq loop and SimPy
class _CutCache:
    """s-t cut or not, per set of down edges, each set evaluated once (networkx ``has_path``)."""

    def __init__(self, g, s, t) -> None:
        self.g, self.s, self.t = g, s, t
        self.edges = list(g.edges())
        self.cache: dict[frozenset, bool] = {}

    def __call__(self, down: set[int]) -> bool:
        key = frozenset(down)
        hit = self.cache.get(key)
        if hit is None:
            h = nx.Graph()
            h.add_nodes_from(self.g.nodes)
            h.add_edges_from(e for i, e in enumerate(self.edges) if i not in key)
            hit = self.cache[key] = not nx.has_path(h, self.s, self.t)
        return hit


def heapq_baseline(g, s, t, years: int, seed: int, horizon: float = HOURS_PER_YEAR) -> tuple[float, float]:
    """A competent event loop: per year, every edge starts in its stationary state, a heap of next
    state changes, the s-t state looked up in a cache of evaluated down sets; returns the mean
    yearly unavailability and its standard error."""
    rng = random.Random(seed)
    cut = _CutCache(g, s, t)
    lam = [1.0 / g.edges[e]["mtbf"] for e in cut.edges]
    mu = [1.0 / g.edges[e]["mttr"] for e in cut.edges]
    per = []
    for _ in range(years):
        down: set[int] = set()
        heap: list[tuple[float, int]] = []
        for i in range(len(lam)):
            if rng.random() < lam[i] / (lam[i] + mu[i]):
                down.add(i)
                heap.append((rng.expovariate(mu[i]), i))
            else:
                heap.append((rng.expovariate(lam[i]), i))
        heapq.heapify(heap)
        st, last, dt = cut(down), 0.0, 0.0
        while heap[0][0] < horizon:
            tt, i = heapq.heappop(heap)
            if st:
                dt += tt - last
            last = tt
            if i in down:
                down.discard(i)
                heapq.heappush(heap, (tt + rng.expovariate(lam[i]), i))
            else:
                down.add(i)
                heapq.heappush(heap, (tt + rng.expovariate(mu[i]), i))
            st = cut(down)
        if st:
            dt += horizon - last
        per.append(dt / horizon)
    return float(np.mean(per)), float(np.std(per, ddof=1) / math.sqrt(years))


def simpy_baseline(g, s, t, years: int, seed: int, horizon: float = HOURS_PER_YEAR) -> tuple[float, float]:
    """The same model in SimPy (the library a modeller would pick): one process per edge."""
    import simpy

    rng = random.Random(seed)
    cut = _CutCache(g, s, t)
    lam = [1.0 / g.edges[e]["mtbf"] for e in cut.edges]
    mu = [1.0 / g.edges[e]["mttr"] for e in cut.edges]
    per = []
    for _ in range(years):
        env = simpy.Environment()
        down = {i for i in range(len(lam)) if rng.random() < lam[i] / (lam[i] + mu[i])}
        acc = {"st": cut(down), "last": 0.0, "dt": 0.0}

        def change(env=env, down=down, acc=acc) -> None:
            if acc["st"]:
                acc["dt"] += env.now - acc["last"]
            acc["last"] = env.now
            acc["st"] = cut(down)

        def element(i: int, env=env, down=down, change=change):
            while True:
                if i in down:
                    yield env.timeout(rng.expovariate(mu[i]))
                    down.discard(i)
                else:
                    yield env.timeout(rng.expovariate(lam[i]))
                    down.add(i)
                change()

        for i in range(len(lam)):
            env.process(element(i))
        env.run(until=horizon)
        if acc["st"]:
            acc["dt"] += horizon - acc["last"]
        per.append(acc["dt"] / horizon)
    return float(np.mean(per)), float(np.std(per, ddof=1) / math.sqrt(years))


def peers(years: int, rounds: int, seed: int) -> float:
    """The time engine against the cached heapq loop and SimPy on the dodecahedron (every edge
    MTBF 1,000 h, MTTR 10 h), interleaved rounds; returns the median ratio over the heapq loop."""
    g, s, t = dodecahedron(0.01)
    for u, v in g.edges:
        g.edges[u, v]["mtbf"], g.edges[u, v]["mttr"] = 1000.0, 10.0
    simulate_graph(g, s, t, years=20, seed=seed)  # warm
    ratios, sp_ratios = [], []
    print(f"# peers: dodecahedron, MTBF 1,000 h, MTTR 10 h, {years} years a round, {rounds} rounds")
    for r in range(rounds):
        t0 = time.perf_counter()
        hb, hse = heapq_baseline(g, s, t, years, seed + r)
        t1 = time.perf_counter()
        out = simulate_graph(g, s, t, years=years, seed=seed + r).to_dict()
        t2 = time.perf_counter()
        sb, sse = simpy_baseline(g, s, t, years, seed + r)
        t3 = time.perf_counter()
        ratios.append((t1 - t0) / (t2 - t1))
        sp_ratios.append((t3 - t2) / (t2 - t1))
        z = (out["estimate"] - hb) / math.hypot(out["std_error"], hse)
        print(f"round {r}: heapq+cache {years / (t1 - t0):,.0f} years/s (U {hb:.3g} ± {hse:.1g}); "
              f"engine {years / (t2 - t1):,.0f} years/s (U {out['estimate']:.3g} ± {out['std_error']:.1g}, "
              f"z vs heapq {z:+.2f}); SimPy {years / (t3 - t2):,.0f} years/s (U {sb:.3g} ± {sse:.1g}); "
              f"engine/heapq {ratios[-1]:.2f}, engine/SimPy {sp_ratios[-1]:.2f}")
        if abs(z) >= 4:
            raise SystemExit("the engine and the heapq loop disagree")
    print(f"engine / SimPy: {statistics.median(sp_ratios):.2f} (median)")
    return statistics.median(ratios)


# ------------------------------------------------------------------ peers on uk999: event by event
def engine_outages(tm: TimeModel, years: int, seed: int) -> Outages:
    """The outages :func:`model.sim.engine.run_chunk` draws for chunk 0 of ``seed`` (failover and latent
    windows included): the uk999 baseline walks the very same intervals, so the two are paired."""
    out = sample_outages(tm.process, years, tm.horizon,
                         chunk_streams(seed, 0, tm.process.names, "outages"), start="stationary")
    return with_derived_outages(tm, out, seed, 0)


class _CachedLosses(Reference):
    """The reference's state evaluation with what a competent user adds: the capacity losses (M/M/c/K
    with the redial fixed point) computed with the engine's closed-form log-space M/M/c/K and memoised
    per (servers, places, fresh load), so a capacity node that a state leaves as it was is never
    solved again."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._loss: dict[tuple[float, float, float], float] = {}

    def redialled_loss(self, servers: float, places: float, a0: float) -> float:
        key = (servers, places, a0)
        hit = self._loss.get(key)
        if hit is None:
            hit = with_redials(a0, lambda a: float(mmck_blocking(servers, places, a)), self.p, self.kmax)
            self._loss[key] = hit
        return hit


class HeapqCached:
    """A competent event loop on the uk999 time model, the same model without vectorisation.

    Per year a heap holds the next state change of every event (its next down interval's
    start or its current one's end); the walk keeps the set of active events and looks each
    segment's state up in a dict of evaluated states (the reference simulator's evaluation,
    :class:`model.sim.reference.Reference`, with its state memory on; per state also the
    demands it affects and the share of demand it cuts off, computed once); the calls of the
    affected demands of each affected segment are followed one caller and one attempt at a time
    (Poisson arrivals by thinning, redials, patience, advice, fallback lines), as the reference
    does; capacity losses are memoised (:class:`_CachedLosses`). The outages come from the engine's
    own sampling (``engine_outages``), which only makes this baseline faster than drawing them one at
    a time.
    """

    def __init__(self, tm: TimeModel) -> None:
        c = tm.callers
        self.tm = tm
        self.ref = _CachedLosses(tm, redial_probability=c.redial_probability, redial_delay_h=c.redial_delay_h,
                             max_attempts=c.max_attempts, patience_h=c.patience_h,
                             advice_delay_h=c.advice_delay_h, compliance=tm.fallback_compliance.tolist())
        self.w = [float(x) for x in tm.net.demand_weight]
        self.tot_w = sum(self.w)
        self.rate = [float(x) for x in tm.demand_rate]
        self.info: dict[frozenset, tuple[RefState, float, list[int]]] = {}
        self.eval_seconds = 0.0  # spent evaluating new states (the rest: the walk and the calls)

    def state(self, active: frozenset) -> tuple[RefState, float, list[int]]:
        hit = self.info.get(active)
        if hit is None:
            t0 = time.perf_counter()
            ref, st = self.ref, self.ref.evaluate(active)
            share = sum(w for w, u in zip(self.w, st.unreachable, strict=True) if u) / self.tot_w
            dirty = [d for d in range(self.tm.n_demands) if ref.affected(st, d)]
            hit = self.info[active] = (st, share, dirty)
            self.eval_seconds += time.perf_counter() - t0
        return hit

    def year(self, intervals: list[tuple[int, float, float]], rng: np.random.Generator) -> dict[str, float]:
        ref, m, horizon = self.ref, self.tm, self.tm.horizon
        per_event: dict[int, list[tuple[float, float]]] = {}
        for e, s, t in intervals:
            s, t = max(s, 0.0), min(t, horizon)
            if t > s:
                per_event.setdefault(e, []).append((s, t))
        heap = [(iv[0][0], 1, e, 0) for e, iv in per_event.items()]
        heapq.heapify(heap)
        active: dict[int, int] = {}
        times, states = [0.0], [self.state(frozenset())]
        while heap:
            t = heap[0][0]
            while heap and heap[0][0] == t:  # every change at this instant
                _, sign, e, i = heapq.heappop(heap)
                active[e] = active.get(e, 0) + sign
                if active[e] == 0:
                    del active[e]
                iv = per_event[e]
                if sign > 0:
                    heapq.heappush(heap, (iv[i][1], -1, e, i))
                elif i + 1 < len(iv):
                    heapq.heappush(heap, (iv[i + 1][0], 1, e, i + 1))
            st = self.state(frozenset(active))
            if t == times[-1]:
                states[-1] = st
            else:
                times.append(t)
                states.append(st)
        ends = [*times[1:], horizon]
        evals = [s[0] for s in states]

        def state_at(t: float) -> RefState:
            return evals[bisect.bisect_right(times, min(t, horizon - 1e-9)) - 1]

        res = dict(unreachable=0.0, failed_attempts=0.0, first_try_sim=0.0, after_redial=0.0,
                   via_fallback=0.0, simulated=0.0, unavailability=0.0)
        episode = None
        for (_, share, dirty), a, b in zip(states, times, ends, strict=True):
            res["unavailability"] += (b - a) * share / horizon
            if not dirty:
                episode = None
                continue
            episode = a if episode is None else episode
            advice = episode + ref.advice_delay if m.fallback_agents.size else math.inf
            for d in dirty:  # the calls of each affected demand in this segment
                lam = self.rate[d]
                lam_max = lam * ref.peak
                t = a
                while True:  # Poisson arrivals by thinning
                    t += rng.exponential(1 / lam_max)
                    if t >= b:
                        break
                    if rng.random() * lam_max <= lam * ref.mult(t):
                        _one_caller(ref, d, t, advice, state_at, horizon, 0.0, rng, res)
        return res

    def run(self, out: Outages, seed: int) -> list[dict[str, float]]:
        rng = np.random.default_rng(seed)
        lo = np.searchsorted(out.year, np.arange(out.n_years + 1))
        return [self.year(list(zip(out.event[a:b].tolist(), out.start[a:b].tolist(), out.end[a:b].tolist(),
                                   strict=True)), rng) for a, b in itertools.pairwise(lo)]


def peers_uk999(years: int, rounds: int, seed: int, scenario: str = "uk999") -> float:
    """The engine (``run_chunk``) against :class:`HeapqCached` on uk999, interleaved rounds of ``years``
    years each, both keeping their evaluated states across rounds (round 0 is the cold start of both).
    Same estimates: per round the two walk the same outages (the engine's streams), so the
    unavailability must be identical year by year and the unreachable callers agree within noise
    (paired z); over all rounds the unreachable-call rates' intervals must overlap. Returns the median
    engine / baseline ratio of years/s over the warm rounds (round 0 when there is only one)."""
    tm, name = load(scenario)
    base = HeapqCached(tm)
    genuine = float(tm.demand_rate.sum()) * float(tm.profile.integrate(0.0, tm.horizon))
    print(f"# peers on {name}: {years} years a round, {rounds} rounds, interleaved (engine, then the cached "
          "heapq loop on the same outages)")
    ratios, eu, bu = [], [], []
    for r in range(rounds):
        s = seed + 101 * r
        t0 = time.perf_counter()
        tally = run_chunk(tm, 0, years, s)
        t1 = time.perf_counter()
        ev0 = base.eval_seconds
        rows = base.run(engine_outages(tm, years, s), seed=s)
        t2 = time.perf_counter()
        ev = base.eval_seconds - ev0
        e_un, b_un = tally.column("unreachable"), np.array([x["unreachable"] for x in rows])
        same_u = bool(np.allclose(tally.column("unavailability"), [x["unavailability"] for x in rows],
                                  rtol=1e-9, atol=1e-15))
        d = e_un - b_un
        z = d.mean() / (d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 and d.std() > 0 else 0.0
        eu.append(e_un)
        bu.append(b_un)
        ratios.append((t2 - t1) / (t1 - t0))
        print(f"round {r}{' (cold)' if r == 0 else ''}: engine {years / (t1 - t0):,.3g} years/s, "
              f"heapq+cache {years / (t2 - t1):,.3g} years/s ({len(base.info)} states cached, "
              f"{ev:.1f} of its {t2 - t1:.1f} s evaluating new ones); "
              f"unreachable callers a year "
              f"{e_un.mean():,.1f} vs {b_un.mean():,.1f} (paired z {z:+.2f}); unavailability identical: "
              f"{same_u}; engine/heapq {ratios[-1]:.2f}")
        if not same_u or abs(z) >= 4:
            raise SystemExit("the engine and the cached heapq loop disagree on uk999")
    d = np.concatenate(eu) - np.concatenate(bu)
    z = d.mean() / (d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 and d.std() > 0 else 0.0
    print(f"all rounds, paired: unreachable callers a year engine - heapq+cache {d.mean():+.1f} (z {z:+.2f})")
    er = ratio_ci(np.concatenate(eu), np.full(years * rounds, genuine))
    br = ratio_ci(np.concatenate(bu), np.full(years * rounds, genuine))
    overlap = er[1] <= br[2] and br[1] <= er[2]
    print(f"unreachable-call rate over {years * rounds} years: engine {er[0]:.3e} "
          f"[{er[1]:.2e}, {er[2]:.2e}], "
          f"heapq+cache {br[0]:.3e} [{br[1]:.2e}, {br[2]:.2e}]; intervals overlap: {overlap}")
    warm = ratios[1:] or ratios
    print(f"engine / heapq+cache on {name}: cold round {ratios[0]:.2f}, warm rounds median "
          f"{statistics.median(warm):.2f}")
    return statistics.median(warm)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="uk999")
    ap.add_argument("--baseline-years", type=int, default=4)
    ap.add_argument("--engine-years", type=int, default=2000)
    ap.add_argument("--chunk-years", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=2023)
    ap.add_argument("--warmup-hours", type=float, default=200.0,
                    help="textbook: processes start up this long before each year")
    ap.add_argument("--peer-years", type=int, default=400, help="years a round against the peers")
    ap.add_argument("--peer-rounds", type=int, default=3)
    ap.add_argument("--uk-peer-years", type=int, default=10,
                    help="years a round against the cached heapq loop on the scenario")
    ap.add_argument("--uk-peer-rounds", type=int, default=3, help="(round 0 is the cold start of both)")
    ap.add_argument("--peers-only", action="store_true", help="skip the textbook part")
    args = ap.parse_args(argv)
    if args.peers_only:
        uk = peers_uk999(args.uk_peer_years, args.uk_peer_rounds, args.seed, args.scenario)
        peer = peers(args.peer_years, args.peer_rounds, args.seed)
        print(f"ratio={uk:.2f} {peer:.2f} (engine over the cached heapq event loop: {args.scenario} warm "
              f"rounds, dodecahedron; medians of interleaved rounds)")
        return 0

    tm, name = load(args.scenario)
    c = tm.callers
    print(f"# machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"numpy {np.__version__}")
    print(f"# scenario {name}: {tm.net.n_components} components, {tm.n_demands} demands, "
          f"{tm.n_events} events, {tm.process.rate.sum() * 8766:.1f} outages a year on average")

    # ---- textbook: event by event, networkx at every state change, call by call
    tb = Textbook(tm, redial_probability=c.redial_probability, redial_delay_h=c.redial_delay_h,
                  max_attempts=c.max_attempts, patience_h=c.patience_h, advice_delay_h=c.advice_delay_h,
                  compliance=tm.fallback_compliance.tolist())
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    ivs, rows = [], []
    for _ in range(args.baseline_years):
        iv = reference_outages(tm, rng, tm.horizon, args.warmup_hours)
        ivs.append(iv)
        rows.append(reference_year(tb, iv, tm.horizon, rng))
    t_tb = time.perf_counter() - t0
    tb_unre = np.array([r["unreachable"] for r in rows])
    genuine = float(tm.demand_rate.sum()) * float(tm.profile.integrate(0.0, tm.horizon))
    tb_rate = ratio_ci(tb_unre, np.full(tb_unre.size, genuine))
    tb_yps = args.baseline_years / t_tb
    print(f"textbook: {args.baseline_years} years in {t_tb:.1f} s = {tb_yps:.4g} years/s "
          f"({tb.evaluations} state evaluations, {sum(r['simulated'] for r in rows):.0f} calls followed)")

    # ---- same estimates, paired: the engine on the textbook's own outages
    pair = run_intervals(tm, as_outages(ivs, tm.horizon), seed=args.seed + 1)
    d = pair.column("unreachable") - tb_unre
    se = d.std(ddof=1) / math.sqrt(d.size) if d.size > 1 else math.inf
    z = d.mean() / se if se > 0 else 0.0
    same_u = bool(np.allclose(pair.column("unavailability"), [r["unavailability"] for r in rows]))
    print(f"same outages, failed callers a year: textbook {tb_unre.mean():.1f}, engine "
          f"{pair.column('unreachable').mean():.1f} (paired difference z = {z:.2f}); failed attempts "
          f"{np.mean([r['failed_attempts'] for r in rows]):.1f} vs "
          f"{pair.column('failed_attempts').mean():.1f}; unavailability identical: {same_u}")

    # ---- engine: cold start, long run
    tm_cold, _ = load(args.scenario)  # a new model: its states are evaluated from scratch
    t0 = time.perf_counter()
    res = simulate(tm_cold, years=args.engine_years, seed=args.seed, chunk_years=args.chunk_years)
    t_en = time.perf_counter() - t0
    dd = res.to_dict()
    en_yps = args.engine_years / t_en
    t0 = time.perf_counter()
    warm = simulate(tm_cold, years=args.engine_years, seed=args.seed + 7, chunk_years=args.chunk_years)
    t_warm = time.perf_counter() - t0
    print(f"engine: {args.engine_years} years in {t_en:.1f} s = {en_yps:.4g} years/s from a cold start "
          f"({dd['states_evaluated']} distinct states); {args.engine_years / t_warm:.4g} years/s with the "
          f"states already evaluated")
    r = dd["unreachable_call_rate"]
    f = dd["failed_calls_per_year"]
    print(f"{'method':10s} {'years':>7s} {'unreachable-call rate [95% CI]':>36s} {'failed calls/yr':>16s}")
    w = warm.to_dict()["unreachable_call_rate"]
    for label, n, (est, lo, hi), per_year in (
        ("textbook", args.baseline_years, tb_rate, f"{tb_unre.mean():16.1f}"),
        ("engine", args.engine_years, (r["estimate"], r["ci_low"], r["ci_high"]), f"{f['mean']:16.1f}"),
        ("engine #2", args.engine_years, (w["estimate"], w["ci_low"], w["ci_high"]), ""),
    ):
        print(f"{label:10s} {n:7d} {est:12.3e} [{lo:.2e}, {hi:.2e}] {per_year}")
    overlap = tb_rate[1] <= r["ci_high"] and r["ci_low"] <= tb_rate[2]
    print(f"confidence intervals overlap: {overlap}")
    print(f"years_per_second={en_yps:.4g} speedup={en_yps / tb_yps:.4g} (over the textbook, second figure)")
    uk = peers_uk999(args.uk_peer_years, args.uk_peer_rounds, args.seed, args.scenario)
    peer = peers(args.peer_years, args.peer_rounds, args.seed)
    print(f"ratio={uk:.2f} {peer:.2f} (engine over the cached heapq event loop: {args.scenario} warm rounds, "
          f"dodecahedron; medians of interleaved rounds)")
    return 0


# ============================================================================ tail risk (issue 14)
# A separate section, run with ``python benchmarks/bench_dynamic.py --tails [options]``: importance
# sampling of the outage processes (model.sim.tails) against crude simulation of the same model.


def _pin_one_core() -> None:
    import os

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def tails_main(argv: list[str] | None = None) -> int:
    """RSE of the worst year in 10,000 for the status quo and a strategy, in CPU seconds, against crude.

    For each model: the bias of :func:`model.sim.tails.cross_entropy_bias` (pilot runs on their own
    streams, counted in the CPU time), then a biased run (:func:`model.sim.tails.simulate_tails`) that
    stops once the relative standard error of P(year >= its 1-in-10,000 level) is at most 10 % (or at
    the year cap); then a crude run with the same seed (paired: the unbiased events' histories
    coincide) for the 1-in-100 check and the crude CPU seconds per year. Crude years for the RSE
    reached at p: ``(1 - p) / (p * rse**2)``; both follow genuine callers only (the tail statistics
    count them). The last line: ``crude_over_is_cpu=<status quo> <strategy> crude_years=<status quo>
    <strategy>`` (crude CPU to the same RSE / importance-sampling CPU, pilots included; the crude years
    that RSE takes); with ``--seeds``, one figure per seed and model in that order, after a table of
    years, CPU and RSEs per seed.
    """
    import sys

    from model.scenario.loader import load_scenario
    from model.scenario.strategies import apply_strategies, load_strategy
    from model.sim.tails import FailureBias, cross_entropy_bias, simulate_tails

    ap = argparse.ArgumentParser(description="tail risk by importance sampling (issue 14)")
    ap.add_argument("--tails", action="store_true")
    ap.add_argument("--strategy", default="public_diversion",
                    help="strategy set, '+'-joined (default: the flagship's top-ranked in its quick run)")
    ap.add_argument("--max-years", type=int, default=3000)
    ap.add_argument("--crude-years", type=int, default=1000)
    ap.add_argument("--chunk-years", type=int, default=50)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--seeds", default=None,
                    help="comma-separated seeds to run each model with (robustness; default: --seed alone)")
    ap.add_argument("--pilot-years", type=int, default=100, help="years of each cross-entropy pilot round")
    ap.add_argument("--pilot-rounds", type=int, default=2)
    ap.add_argument("--events-per-year", type=float, default=0.4,
                    help="cap on the biased events' failures a year (outage years cost the most CPU)")
    ap.add_argument("--level-weight", type=float, default=None,
                    help="weight of the 1-in-100 and 1-in-1,000 elites in the long-repair bias "
                         "(default: cross_entropy_bias's)")
    ap.add_argument("--repair-quantile", type=float, default=None,
                    help="quantile of the elite's long repairs that sets each threshold (default: "
                         "cross_entropy_bias's)")
    ap.add_argument("--budget", type=float, default=60.0, help="CPU seconds of the target")
    args = ap.parse_args(argv)
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else [args.seed]
    _pin_one_core()
    print(f"machine: {platform.processor() or platform.machine()}, pinned to one core (2 cores shared with "
          "other engineers' jobs: wall times are longer than CPU times)")
    cmd = " ".join(argv if argv is not None else sys.argv[1:])
    print(f"command: python benchmarks/bench_dynamic.py {cmd}")
    base = load_scenario("uk999")
    models = {"status quo": build_time_model(apply_strategies(base, [])),
              args.strategy: build_time_model(apply_strategies(
                  base, [load_strategy(n) for n in args.strategy.split("+")]))}
    ce_kw: dict[str, float] = {}
    if args.level_weight is not None:
        ce_kw["level_weight"] = args.level_weight
    if args.repair_quantile is not None:
        ce_kw["repair_quantile"] = args.repair_quantile
    ratios, crude_needed, rows = [], [], []
    for seed in seeds:
        for label, tm in models.items():
            c0, w0 = time.process_time(), time.perf_counter()
            bias = cross_entropy_bias(tm, seed, years=args.pilot_years, rounds=args.pilot_rounds,
                                      chunk_years=args.chunk_years, events_per_year=args.events_per_year,
                                      **ce_kw)
            pilot_cpu = time.process_time() - c0
            run = simulate_tails(tm, args.max_years, seed=seed, bias=bias, chunk_years=args.chunk_years,
                                 backend="serial", target_rse=0.10, period=10_000)
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            c0 = time.process_time()
            crude = simulate_tails(tm, args.crude_years, seed=seed, bias=FailureBias(),
                                   chunk_years=args.chunk_years, backend="serial")
            crude_cpu_per_year = (time.process_time() - c0) / crude.years
            factors = {n: round(f, 1) for n, f in zip(bias.events, bias.factors, strict=True) if f != 1.0}
            long = {n: " ".join(f">= {a:.1f} h x{s:.2f}" for a, s in zip(*lr, strict=True))
                    for n in bias.events if (lr := bias.long_repair_of(n)) is not None}
            sw = {n: round(p, 3) for n, p in zip(bias.switches, bias.switch_fail, strict=True)}
            print(f"\n== {label}, seed {seed}: rates x {factors}; long repairs {long}; switch failure {sw}")
            print(f"   pilots {args.pilot_rounds} x {args.pilot_years} years {pilot_cpu:.1f} s CPU, then "
                  f"{run.years} biased years: {cpu:.1f} s CPU in all ({wall:.1f} s wall); crude "
                  f"{crude_cpu_per_year * 1e3:.1f} ms CPU a year")
            rses = {}
            for t in (100, 1000, 10_000):
                r = run.return_level("unreachable", t)
                rses[t] = r["tail_rse"]
                print(f"   worst year in {t:>6,}: {r['value']:>9,.0f} unreachable calls [{r['ci_low']:,.0f}, "
                      f"{r['ci_high']:,.0f}]  RSE of P(year >= it) {r['tail_rse']:.3f} "
                      f"({r['years_at_or_above']} years at or above; heaviest year "
                      f"{r['max_year_share']:.0%} of it)")
            for n in (1_000, 10_000, 30_000, 100_000):
                rp = run.return_period("worst_incident", n)
                print(f"   incident with >= {n:>7,} unreachable calls: once in {rp['years']:>10,.0f} years "
                      f"[{rp['ci_low']:,.0f}, {rp['ci_high']:,.0f}] (RSE {rp['rse']:.3f})")
            for x in (6.0, 12.0, 24.0, 48.0):
                e = run.exceedance("longest_down_h", x)
                print(f"   P(a year holds an outage longer than {x:>4.0f} h) = {e.value:.3e} "
                      f"[{e.ci_low:.2e}, {e.ci_high:.2e}]")
            # paired check at 1-in-100: the same years' streams, crude and biased
            lvl = crude.return_level("unreachable", 100)["value"]
            n = min(run.years, crude.years)
            a = run.weights[:n] * (run.values("unreachable")[:n] >= lvl)
            b = (crude.values("unreachable")[:n] >= lvl).astype(float)
            d = a - b
            z = d.mean() / (d.std(ddof=1) / math.sqrt(n)) if d.std() > 0 else 0.0
            print(f"   1-in-100 check (paired, {n} years each): P(year >= {lvl:,.0f}) IS {a.mean():.4f}, "
                  f"crude {b.mean():.4f}, paired z = {z:+.2f}")
            r = run.return_level("unreachable", 10_000)
            p, rse = r["tail_probability"], r["tail_rse"]
            crude_years = (1 - p) / (p * rse**2) if p > 0 and rse > 0 else math.inf
            ratio = crude_years * crude_cpu_per_year / cpu
            ratios.append(ratio)
            crude_needed.append(crude_years)
            met = rse <= 0.10 and cpu <= args.budget
            rows.append((label, seed, run.years, cpu, rses[100], rses[1000], rses[10_000], z, met))
            print(f"   crude years for the same RSE ({rse:.3f}) at 1-in-10,000: {crude_years:,.0f} "
                  f"({crude_years * crude_cpu_per_year:,.0f} s CPU) -> "
                  f"{crude_years / run.years:,.0f} x the years, "
                  f"{ratio:,.1f} x the CPU; target RSE <= 0.10 in <= {args.budget:.0f} s CPU: "
                  f"{'met' if met else 'NOT met'}")
    print(f"\n{'model':<20} {'seed':>5} {'years':>6} {'CPU s':>7} {'RSE 1e2':>8} {'RSE 1e3':>8} "
          f"{'RSE 1e4':>8} {'z 1e2':>6}  target")
    for label, seed, yrs, cpu, r2, r3, r4, z, met in rows:
        print(f"{label:<20} {seed:>5} {yrs:>6} {cpu:>7.1f} {r2:>8.3f} {r3:>8.3f} {r4:>8.3f} {z:>+6.2f}  "
              f"{'met' if met else 'NOT met'}")
    print(f"crude_over_is_cpu={' '.join(f'{x:.4g}' for x in ratios)} "
          f"crude_years={' '.join(f'{x:.0f}' for x in crude_needed)}")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(tails_main(sys.argv[1:]) if "--tails" in sys.argv[1:] else main())
