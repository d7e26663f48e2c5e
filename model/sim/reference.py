"""A slow, obviously correct reference for the time engine: plain Python, event by event, call by call.

It takes the model's *parameters* from a :class:`~model.sim.timemodel.TimeModel`
(rates, repair laws, switch policies, capacities, caller behaviour) and
re-implements every *mechanism* the simplest way:

* outages: each event alternates up/down with one draw at a time (heap-free: a
  while loop per event), failover windows by drawing each switch attempt in turn;
* states: the set of active events is kept while walking the sorted start/end
  points; reachability with ``networkx.has_path`` on the graph of up elements;
  routing by pushing each class's calls node by node in topological order;
* capacity: M/M/c/K loss from the birth-death probabilities (``math.lgamma``) and
  the redial load by plain fixed-point iteration;
* calls: Poisson arrivals by thinning, one caller at a time, one attempt at a time.

It is meant to be read, not to be fast (use a few hundred simulated years of a
small scenario). The tests cross-check the engine against it and
``benchmarks/bench_dynamic.py`` uses it (without its state memory) as the textbook
baseline; it lives in the package so that both use the one reference.

Examples
--------
>>> round(mmck_loss(2, 2, 1.0), 4)          # Erlang B with 2 servers at 1 erlang: 0.5 / 2.5
0.2
>>> round(with_redials(1.0, lambda a: mmck_loss(2, 2, a), 0.0, 3), 4)   # no redials: the same
0.2
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from model.sim.timemodel import TimeModel
from model.sim.traffic import BLOCKING_EPS

__all__ = ["RefState", "Reference", "mmck_loss", "reference_outages", "reference_run", "reference_year",
           "with_redials"]


# ----------------------------------------------------------------------------- outages
def reference_outages(model: TimeModel, rng: np.random.Generator, horizon: float, warmup: float
                      ) -> list[tuple[int, float, float]]:
    """(event, start, end) of one simulated year, every process starting up at ``-warmup``."""
    proc = model.process
    out = []
    for e in range(proc.n_events):
        up_law = proc.up[e]
        if up_law is None and proc.rate[e] <= 0:
            continue
        t = -warmup
        while True:
            if up_law is not None:
                up = float(up_law.sample(rng, 1)[0])
            else:
                up = float(rng.exponential(1 / proc.rate[e]))
            t += up
            if t >= horizon:
                break
            d = float(proc.repair[e].sample(rng, 1)[0])
            if t + d > 0:
                out.append((e, t, t + d))
            t += d
    # failover windows: from each primary outage (union of the events taking it down) until the switch
    for pol in model.switch_policies:
        spans = sorted((s, t) for e, s, t in out if e in pol.primary_events)
        merged: list[list[float]] = []
        for s, t in spans:
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], t)
            else:
                merged.append([s, t])
        for s, t in merged:
            if pol.policy == "automatic":
                delay = float(pol.delay.sample(rng, 1)[0])
            else:
                delay = float(pol.detection.sample(rng, 1)[0])
                switched = False
                for _attempt in range(pol.max_attempts):
                    delay += float(pol.switch_time.sample(rng, 1)[0])
                    if rng.random() >= pol.p_fail:
                        switched = True
                        break
                if not switched:
                    delay = math.inf
            end = s + min(delay, t - s)
            if end > 0:
                out.append((pol.window_event, s, end))
    return out


# ----------------------------------------------------------------------------- capacity
def mmck_loss(c: float, places: float, a: float) -> float:
    """P(all places taken) in M/M/c/K with ``c`` servers and ``places`` = K (inf: unlimited queue)."""
    if c <= 0:
        return 1.0
    if a <= 0:
        return 0.0
    if math.isinf(places):
        return max(0.0, 1 - c / a)
    c_i, k_i = round(c), round(places)
    assert abs(c - c_i) < 1e-9 and abs(places - k_i) < 1e-9, "the reference needs whole servers and places"
    logs = []
    for n in range(k_i + 1):
        if n <= c_i:
            logs.append(n * math.log(a) - math.lgamma(n + 1))
        else:
            logs.append(c_i * math.log(a) - math.lgamma(c_i + 1) + (n - c_i) * math.log(a / c_i))
    top = max(logs)
    total = sum(math.exp(x - top) for x in logs)
    return math.exp(logs[-1] - top) / total


def with_redials(a0: float, loss, p: float, max_attempts: int) -> float:
    """Loss at the total load A = a0 Σ_{i<K} (p B(A))^i (fixed point by bisection on A)."""
    if a0 <= 0:
        return loss(0.0)
    lo, hi = a0, a0 * sum(p**i for i in range(max_attempts))
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        b = loss(mid)
        g = a0 * sum((p * b) ** i for i in range(max_attempts)) - mid
        if g > 0:
            lo = mid
        else:
            hi = mid
    return loss(0.5 * (lo + hi))


# ----------------------------------------------------------------------------- states
@dataclass
class RefState:
    unreachable: list[bool]
    delivered: list[float]  # per class
    delay_h: list[float]  # per class
    flows: list[dict[int, float]]  # per class: capacity index -> share arriving
    servers: list[float]
    places: list[float]
    base: list[float]  # fresh Erlangs per capacity node at multiplier 1
    lossy: set[int] = field(default_factory=set)  # capacity nodes that can lose calls
    cache: dict = field(default_factory=dict)


class Reference:
    """Evaluates states and simulates callers for one model, one caller-parameter set."""

    def __init__(self, model: TimeModel, *, redial_probability: float, redial_delay_h: float,
                 max_attempts: int, patience_h: float, advice_delay_h: float, compliance: list[float]):
        self.m = model
        self.p = redial_probability
        self.delay = redial_delay_h
        self.kmax = max_attempts
        self.patience = patience_h
        self.advice_delay = advice_delay_h
        self.compliance = list(compliance)
        net = model.net
        self.order = [int(u) for u in net.topological_order]
        self.out = {u: [] for u in range(net.n_nodes)}
        for a in range(net.n_arcs):
            self.out[int(net.arc_src[a])].append(a)
        # each class only ever uses the nodes on some path from its source to one of its targets
        full = nx.DiGraph()
        full.add_nodes_from(range(net.n_nodes))
        full.add_edges_from(zip(net.arc_src.tolist(), net.arc_dst.tolist(), strict=True))
        rank = {u: i for i, u in enumerate(self.order)}
        self.rel: list[list[int]] = []
        for k in range(model.n_classes):
            src = int(model.class_source[k])
            fwd = nx.descendants(full, src) | {src}
            back = set()
            for t in model.class_target_list(k).tolist():
                back |= nx.ancestors(full, t) | {t}
            self.rel.append(sorted(fwd & back, key=rank.__getitem__))
        self.rel_out = [{u: [a for a in self.out[u] if int(net.arc_dst[a]) in set(nodes)] for u in nodes}
                        for nodes in self.rel]
        self.demands_of = [[] for _ in range(model.n_classes)]
        for d in range(net.n_demands):
            self.demands_of[int(model.demand_class[d])].append(d)
        self.states: dict[frozenset, RefState] = {}
        assert not model.profile.surges and model.profile.period_hours == 168, "weekly profiles only"
        self.week = [float(x) for x in model.profile.rate_at(np.arange(168) + 0.5)]
        self.peak = max(self.week)

    def mult(self, t: float) -> float:
        """Arrival-rate multiplier at profile time ``t`` (the hour of the week's value)."""
        return self.week[math.floor(t) % 168]

    # -- structure
    def evaluate(self, active: frozenset) -> RefState:
        if active in self.states:
            return self.states[active]
        m, net, ev = self.m, self.m.net, self.m.events
        down, comp_keep, node_keep, node_delay = set(), {}, {}, {}
        cap_factor, cap_queue, windows = {}, {}, set()
        for e in active:
            mem = [int(x) for x in ev.member_list(e)]
            nodes = [int(x) for x in ev.node_list(e)]
            if ev.structural[e]:
                down.update(mem)
            elif ev.drop[e] > 0:
                for c in mem:
                    comp_keep[c] = comp_keep.get(c, 1.0) * (1 - ev.drop[e])
                for n in nodes:
                    if net.node_component[n] < 0:
                        node_keep[n] = node_keep.get(n, 1.0) * (1 - ev.drop[e])
            for n in nodes:
                if ev.delay_h[e] > 0:
                    node_delay[n] = node_delay.get(n, 0.0) + ev.delay_h[e]
                cap_factor[n] = cap_factor.get(n, 1.0) * ev.cap_factor[e]
                if not math.isnan(ev.queue[e]):
                    cap_queue[n] = min(cap_queue.get(n, math.inf), ev.queue[e])
            if e in set(m.standby_window.tolist()):
                windows.add(int(list(m.standby_window).index(e)))

        def node_up(u):
            c = int(net.node_component[u])
            return c < 0 or c not in down

        def arc_up(a):
            c = int(net.arc_component[a])
            return c < 0 or c not in down

        # reachability with networkx on the graph of up elements
        g = nx.DiGraph()
        g.add_nodes_from(u for u in range(net.n_nodes) if node_up(u))
        g.add_edges_from((int(net.arc_src[a]), int(net.arc_dst[a])) for a in range(net.n_arcs)
                         if arc_up(a) and node_up(int(net.arc_src[a])) and node_up(int(net.arc_dst[a])))
        reach_from: dict[int, set[int]] = {}
        unreachable = []
        for d in range(net.n_demands):
            if any(int(c) in down for c in net.prereq(d)):
                unreachable.append(True)
                continue
            s = int(net.demand_source[d])
            if s not in reach_from:
                reach_from[s] = (nx.descendants(g, s) | {s}) if s in g else set()
            unreachable.append(not any(int(t) in reach_from[s] for t in net.targets(d)))
        # routing: standby members idle while their primary serves
        idle_nodes, idle_arcs = set(), set()
        for gi in range(m.standby_primary.size):
            p = int(m.standby_primary[gi])
            serving = (p < 0 or p not in down) and gi not in windows
            if serving:
                lo, hi = m.standby_nodes_ptr[gi], m.standby_nodes_ptr[gi + 1]
                idle_nodes.update(int(x) for x in m.standby_nodes[lo:hi])
                lo, hi = m.standby_arcs_ptr[gi], m.standby_arcs_ptr[gi + 1]
                idle_arcs.update(int(x) for x in m.standby_arcs[lo:hi])
        cap_index = {int(n): q for q, n in enumerate(m.cap_node)}
        delivered, delays, flows = [], [], []
        for k in range(m.n_classes):
            effects = (comp_keep, node_keep, node_delay, cap_index)
            res = self._route(k, node_up, arc_up, idle_nodes, idle_arcs, *effects)
            if res[0] == 0.0 and not res[3] and any(not unreachable[d] for d in self.demands_of[k]):
                res = self._route(k, node_up, arc_up, set(), set(), *effects)
            delivered.append(res[0])
            delays.append(res[1])
            flows.append(res[2])
        servers = [float(m.cap_servers[q]) * cap_factor.get(int(m.cap_node[q]), 1.0)
                   for q in range(m.cap_node.size)]
        places = [servers[q] + cap_queue.get(int(m.cap_node[q]), float(m.cap_queue[q]))
                  for q in range(m.cap_node.size)]
        base = [0.0] * m.cap_node.size
        for d in range(net.n_demands):
            if unreachable[d]:
                continue
            for q, f in flows[int(m.demand_class[d])].items():
                base[q] += float(m.demand_rate[d]) * f * float(m.cap_scale[q]) * float(m.cap_aht_h[q])
        st = RefState(unreachable, delivered, delays, flows, servers, places, base)
        st.lossy = {q for q in range(m.cap_node.size) if mmck_loss(servers[q], places[q], self.peak * base[q])
                    > BLOCKING_EPS}
        self.states[active] = st
        return st

    def _route(self, k, node_up, arc_up, idle_nodes, idle_arcs, comp_keep, node_keep, node_delay, cap_index):
        m, net = self.m, self.m.net
        src = int(m.class_source[k])
        targets = [int(t) for t in m.class_target_list(k)]

        def r_node(u):
            return node_up(u) and u not in idle_nodes

        def r_arc(a):
            return arc_up(a) and a not in idle_arcs

        chosen, reach = None, None
        nodes = self.rel[k]
        out = self.rel_out[k]
        for j, tgt in enumerate(targets):
            can = {tgt} if r_node(tgt) else set()
            for u in reversed(nodes):
                if u in can or not r_node(u):
                    continue
                if any(r_arc(a) and int(net.arc_dst[a]) in can for a in out[u]):
                    can.add(u)
            if src in can:
                chosen, reach = j, can
                break
        if chosen is None:
            return 0.0, 0.0, {}, False
        target = targets[chosen]
        flow = {src: 1.0}
        for u in nodes:
            f = flow.get(u, 0.0)
            if f == 0.0 or u == target:
                continue
            c = int(net.node_component[u])
            f_out = f * node_keep.get(u, 1.0) * (comp_keep.get(c, 1.0) if c >= 0 else 1.0)
            valid = [a for a in out[u] if r_arc(a) and int(net.arc_dst[a]) in reach]
            total = sum(float(m.split_weight[a]) for a in valid)
            for a in valid:
                ca = int(net.arc_component[a])
                keep = comp_keep.get(ca, 1.0) if ca >= 0 else 1.0
                v = int(net.arc_dst[a])
                flow[v] = flow.get(v, 0.0) + f_out * float(m.split_weight[a]) / total * keep
        c = int(net.node_component[target])
        keep_target = node_keep.get(target, 1.0) * (comp_keep.get(c, 1.0) if c >= 0 else 1.0)
        delivered = flow.get(target, 0.0) * keep_target
        delay = sum(f * node_delay.get(u, 0.0) for u, f in flow.items())
        if chosen > 0:
            delay += float(m.buddy_delay_h[targets[0]])
        caps = {cap_index[u]: f for u, f in flow.items() if u in cap_index}
        return delivered, delay, caps, True

    # -- traffic
    def redialled_loss(self, servers: float, places: float, a0: float) -> float:
        """Loss of an M/M/c/K capacity with ``servers`` and ``places`` at fresh load ``a0`` (Erlangs), with
        the redial fixed point."""
        return with_redials(a0, lambda a: mmck_loss(servers, places, a), self.p, self.kmax)

    def losses(self, st: RefState, mult: float) -> tuple[dict[int, float], list[float]]:
        key = mult
        if key in st.cache:
            return st.cache[key]
        m = self.m
        cap = {q: self.redialled_loss(st.servers[q], st.places[q], mult * st.base[q]) for q in st.lossy}
        fb = []
        if m.fallback_agents.size:
            fail = [0.0] * len(m.services)
            for d in range(m.n_demands):
                p_fail = 1 - self.p_first(st, d, cap)
                fail[int(m.demand_service[d])] += float(m.demand_rate[d]) * mult * p_fail
            for li in range(m.fallback_agents.size):
                div = 0.0
                for sv in range(len(m.services)):
                    lines = [x for x in range(m.fallback_agents.size) if m.fallback_services[x, sv]]
                    if li in lines:
                        div += fail[sv] / len(lines) * self.compliance[li]
                a0 = (div + mult * float(m.fallback_normal_per_h[li])) * float(m.fallback_aht_h[li])
                ag = float(m.fallback_agents[li])
                fb.append(self.redialled_loss(ag, ag + float(m.fallback_queue[li]), a0))
        st.cache[key] = (cap, fb)
        return cap, fb

    def p_first(self, st: RefState, d: int, cap: dict[int, float]) -> float:
        if st.unreachable[d]:
            return 0.0
        k = int(self.m.demand_class[d])
        p = st.delivered[k]
        for q, f in st.flows[k].items():
            if q in cap:
                p *= 1 - f * cap[q]
        return p

    def affected(self, st: RefState, d: int) -> bool:
        if self.m.demand_rate[d] <= 0:
            return False
        if st.unreachable[d]:
            return True
        k = int(self.m.demand_class[d])
        return (st.delivered[k] < 1 - 1e-12 or st.delay_h[k] > 0
                or any(q in st.lossy and f > 0 for q, f in st.flows[k].items()))


def reference_year(ref: Reference, intervals: list[tuple[int, float, float]], horizon: float,
                   rng: np.random.Generator, *, profile_offset: float = 0.0,
                   advice_local: float | None = None) -> dict[str, float]:
    """Simulate one year (or one replication) event by event and call by call."""
    m = ref.m
    points = []
    for e, s, t in intervals:
        s, t = max(s, 0.0), min(t, horizon)
        if t > s:
            points.append((s, 1, e))
            points.append((t, -1, e))
    points.sort(key=lambda x: x[0])
    # walk the change points: segments of constant active set
    times, states = [0.0], [frozenset()]
    active: dict[int, int] = {}
    i = 0
    while i < len(points):
        t = points[i][0]
        while i < len(points) and points[i][0] == t:
            _, sign, e = points[i]
            active[e] = active.get(e, 0) + sign
            if active[e] == 0:
                del active[e]
            i += 1
        if t == times[-1]:
            states[-1] = frozenset(active)
        else:
            times.append(t)
            states.append(frozenset(active))
    seg_end = [*times[1:], horizon]
    evals = [ref.evaluate(s) for s in states]

    def state_at(t: float) -> RefState:
        return evals[bisect.bisect_right(times, min(t, horizon - 1e-9)) - 1]

    tot_w = float(m.net.demand_weight.sum())
    res = dict(unreachable=0.0, failed_attempts=0.0, first_try_sim=0.0, after_redial=0.0, via_fallback=0.0,
               simulated=0.0, unavailability=0.0)
    episode_start = None
    for j, st in enumerate(evals):
        a, b = times[j], seg_end[j]
        if b <= a:
            continue
        res["unavailability"] += (b - a) * sum(float(m.net.demand_weight[d]) for d in range(m.n_demands)
                                                if st.unreachable[d]) / tot_w / horizon
        dirty = [d for d in range(m.n_demands) if ref.affected(st, d)]
        if not dirty:
            episode_start = None
            continue
        if episode_start is None:
            episode_start = a
        advice = (advice_local if advice_local is not None else episode_start + ref.advice_delay)
        if not m.fallback_agents.size:
            advice = math.inf
        for d in dirty:
            lam = float(m.demand_rate[d])
            lam_max = lam * ref.peak
            t = a
            while True:  # Poisson arrivals by thinning
                t += rng.exponential(1 / lam_max)
                if t >= b:
                    break
                if rng.random() * lam_max > lam * ref.mult(t + profile_offset):
                    continue
                _one_caller(ref, d, t, advice, state_at, horizon, profile_offset, rng, res)
    return res


def _one_caller(ref: Reference, d: int, t0: float, advice: float, state_at, horizon: float,
                profile_offset: float, rng: np.random.Generator, res: dict[str, float]) -> None:
    m = ref.m
    res["simulated"] += 1
    sv = int(m.demand_service[d])
    lines = [x for x in range(m.fallback_agents.size) if m.fallback_services[x, sv]]
    t, attempts, line, decided = t0, 0, -1, False
    while True:
        attempts += 1
        st = state_at(t)
        mult = ref.mult(min(t, horizon - 1e-9) + profile_offset)
        cap, fb = ref.losses(st, mult)
        if line >= 0:
            p_ok = 1 - fb[line]
        else:
            p_ok = ref.p_first(st, d, cap)
        if rng.random() < p_ok:
            if line >= 0:
                res["via_fallback"] += 1
            elif attempts == 1:
                res["first_try_sim"] += 1
            else:
                res["after_redial"] += 1
            return
        res["failed_attempts"] += 1
        go = False
        if not decided and t >= advice and lines:
            decided = True
            pick = lines[min(int(rng.random() * len(lines)), len(lines) - 1)]
            if rng.random() < ref.compliance[pick]:
                line, go = pick, True
        go = go or rng.random() < ref.p
        t_next = t + rng.exponential(1.0) * ref.delay
        if not go or attempts >= ref.kmax or t_next - t0 > ref.patience:
            res["unreachable"] += 1
            return
        t = t_next


def reference_run(model: TimeModel, years: int, seed: int, *, warmup: float = 500.0) -> dict[str, np.ndarray]:
    """Per-year results of ``years`` independent years (processes start up at ``-warmup``)."""
    c = model.callers
    ref = Reference(model, redial_probability=c.redial_probability, redial_delay_h=c.redial_delay_h,
                    max_attempts=c.max_attempts, patience_h=c.patience_h, advice_delay_h=c.advice_delay_h,
                    compliance=model.fallback_compliance.tolist())
    rng = np.random.default_rng(seed)
    rows = []
    for _y in range(years):
        iv = reference_outages(model, rng, model.horizon, warmup)
        rows.append(reference_year(ref, iv, model.horizon, rng))
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}
