"""The time engine: simulated years of outages, repairs, failover, capacity and callers.

Data flow of one chunk of simulated years (DESIGN ideas 1–5):

1. **Outages** (:mod:`model.processes.outages`): down intervals of every basic event for all
   the chunk's years at once; failover windows derived from primary outages;
   maintenance windows.
2. **Change points** (:func:`build_timeline`): every interval contributes ``+h`` at
   its start and ``-h`` at its end, where ``h`` is the event's fixed random 64-bit
   hash; after sorting, a cumulative sum (wrapping modulo 2^64) gives the *key* of
   the set of active events in every segment, and a second one its size. No time
   step: the work grows with the number of outages.
3. **Distinct states** (:class:`StateTable`): each key seen for the first time is
   turned back into its event set, and evaluated once — unreachable demands
   through the bit-parallel reachability kernel (many new sets at once), routes,
   drops and capacity through :mod:`model.sim.traffic`. The table lives as long as the
   process, so later chunks mostly look keys up; it keeps a small summary of every state
   and their traffic within a memory budget, evaluating an evicted state again (to the
   same bits) when it is met again.
4. **Traffic** (:func:`model.sim.traffic.simulate_calls`): a segment whose state lets
   every call through is *clean*: its calls connect first time and are counted
   analytically (the exact profile integral). Only calls of affected demands in
   non-clean segments are drawn and followed attempt by attempt.
5. **Tallies** (:class:`TimeTally`): per simulated year, kept in chunk order, so
   any split of the chunks over workers gives bit-identical results; chunk ``i``
   always draws from ``SeedSequence(entropy=seed, spawn_key=(i,))``.

Estimates come from the between-year variation: the unreachable-call rate is the
ratio of the yearly sums with a delta-method interval; a rate with nothing
observed gets the one-sided bound ``-ln(0.05) / calls``.

Examples
--------
>>> import networkx as nx
>>> from model.sim.engine import simulate_graph
>>> g = nx.Graph()
>>> g.add_edge("s", "t", mtbf=990.0, mttr=10.0)
>>> u = simulate_graph(g, "s", "t", years=200, seed=1).unavailability
>>> abs(u.value - 0.01) < 4 * u.std_error
True
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
import weakref
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from model.network.callnetwork import CallNetwork
from model.network.reachability import unreachable_sets
from model.processes.crews import crew_outages
from model.processes.outages import (
    Outages,
    failover_windows,
    latent_windows,
    maintenance_windows,
    sample_outages,
)
from model.results.estimate import (
    Estimate,
    binomial_estimate,
    provenance,
    ratio_estimate,
    sample_mean_estimate,
    summary_dict,
)
from model.run.checkpoint import register_tally
from model.run.runner import run_chunks
from model.run.seeds import chunk_plan, chunk_rng, chunk_streams, named_rng
from model.scenario.loader import Scenario
from model.sim.outcomes import OUTCOMES, tally_outcomes
from model.sim.timemodel import (
    CallerParams,
    TimeModel,
    build_time_model,
    scenario_key,
    time_model_from_graph,
)
from model.sim.traffic import (
    OUTCOME_FALLBACK,
    OUTCOME_FIRST,
    OUTCOME_REDIAL,
    OUTCOME_UNREACHABLE,
    BlockingTable,
    CallerSet,
    CallOutcomes,
    RoutingPlan,
    StateRoutes,
    StateStack,
    StateTraffic,
    TrafficBase,
    route_states,
    simulate_calls,
)
from model.units import HOURS_PER_YEAR

__all__ = [
    "BYTES_PER_CALL",
    "CALL_MEMORY_BUDGET",
    "DEFAULT_CHUNK_YEARS",
    "HIST_EDGES_S",
    "MAX_NORMAL_CALLS_PER_YEAR",
    "MAX_SIMULATED_CALLS_PER_YEAR",
    "METHOD",
    "STATE_EVAL_BUDGET",
    "STATE_MEMORY_BUDGET",
    "STATE_SUMMARY_BYTES",
    "GraphSimulationResult",
    "SimulationResult",
    "StateTable",
    "TimeTally",
    "Timeline",
    "YearRecord",
    "as_time_model",
    "build_timeline",
    "check_call_budget",
    "check_normal_operation",
    "expected_simulated_calls",
    "replay_incident",
    "run_chunk",
    "run_intervals",
    "share_states",
    "simulate",
    "simulate_graph",
    "state_table_for",
    "unreachable_call_rate",
    "with_derived_outages",
    "years_per_batch",
]

DEFAULT_CHUNK_YEARS = 1000
#: Edges (seconds) of the time-to-connect histogram of delayed connections: [0, 1) then 20 bins a decade.
HIST_EDGES_S = np.concatenate([[0.0], np.logspace(0, 6, 121), [np.inf]])
TOP_INCIDENTS = 10
#: expected calls simulated at once (a block of segments, a segment longer than a quarter of it cut into
#: pieces of equal expected calls); bounds memory, not the result's law
CALL_BLOCK = 1 << 17
#: ``Estimate.method`` of every time-engine figure.
METHOD = "time-simulation"


# ----------------------------------------------------------------------------- timeline
@dataclass(frozen=True, eq=False)
class Timeline:
    """Change points of the network state in ``n_years`` windows (engine time: ``year × stride + hour``).

    Boundary ``j`` at ``time[j]`` starts a segment ending at ``end[j]`` in which the
    set of active events has hash ``key[j]`` and ``count[j]`` members. Each year
    opens with a boundary at its hour 0.
    """

    n_years: int
    horizon: float
    stride: float
    time: np.ndarray
    year: np.ndarray
    key: np.ndarray
    count: np.ndarray
    end: np.ndarray
    out_year: np.ndarray  # the intervals, clipped, in engine time (sorted by year)
    out_event: np.ndarray
    out_start: np.ndarray
    out_end: np.ndarray

    @property
    def length(self) -> np.ndarray:
        return self.end - self.time

    def active(self, j: int) -> np.ndarray:
        """Sorted events active in segment ``j`` (a segment of positive length)."""
        y = self.year[j]
        lo, hi = np.searchsorted(self.out_year, [y, y + 1])
        t = self.time[j]
        sel = (self.out_start[lo:hi] <= t) & (self.out_end[lo:hi] > t)
        return np.unique(self.out_event[lo:hi][sel])


def build_timeline(outages: Outages, hashes: np.ndarray) -> Timeline:
    """Segments of constant state from down intervals (see the module notes).

    Examples
    --------
    >>> from model.processes.outages import Outages
    >>> out = Outages(np.array([0, 0]), np.array([0, 1]), np.array([1.0, 2.0]), np.array([3.0, 4.0]), 1, 10.0)
    >>> tl = build_timeline(out, np.array([5, 7], dtype=np.uint64))
    >>> tl.time.tolist(), tl.key.tolist(), tl.count.tolist()
    ([0.0, 1.0, 2.0, 3.0, 4.0], [0, 5, 12, 7, 0], [0, 1, 2, 1, 0])
    """
    h_total = float(outages.horizon)
    n_years = int(outages.n_years)
    stride = h_total + 1.0
    s = np.clip(outages.start, 0.0, h_total)
    e = np.clip(outages.end, 0.0, h_total)
    keep = e > s
    y = outages.year[keep]
    ev = outages.event[keep]
    gs = y * stride + s[keep]
    ge = y * stride + e[keep]
    h = np.asarray(hashes, dtype=np.uint64)[ev]
    times = np.concatenate([np.arange(n_years) * stride, gs, ge])
    dh = np.concatenate([np.zeros(n_years, dtype=np.uint64), h, (~h) + np.uint64(1)])
    one = np.ones(y.size, np.int64)
    dc = np.concatenate([np.zeros(n_years, dtype=np.int64), one, -one])
    order = np.argsort(times, kind="stable")
    times = times[order]
    key = np.cumsum(dh[order], dtype=np.uint64)
    count = np.cumsum(dc[order])
    # the year of each point is known exactly; floor(times / stride) can round y * stride / stride to y - 1
    year = np.concatenate([np.arange(n_years, dtype=np.int64), y, y])[order]
    year_end = year * stride + h_total
    end = np.minimum(np.r_[times[1:], np.inf], year_end)
    return Timeline(n_years, h_total, stride, times, year, key, count, end, y, ev, gs, ge)


# ----------------------------------------------------------------------------- states
#: Working memory of the states evaluated together (bytes): new states are evaluated in groups this fits.
STATE_EVAL_BUDGET = 16 * 2**20
#: Default memory budget of a state table (bytes): half for the states' traffic, a quarter each for the
#: routing plans of class subsets and the cached attempt losses. Evicted entries are evaluated again,
#: to the same bits, when met again, so the budget changes speed and memory, never a result.
STATE_MEMORY_BUDGET = 24 * 2**20
#: Bytes a state keeps for the life of the table whatever the budget (key, id, share, flags, events and a
#: digest of its traffic), about: 20,000 states a simulated-years-long uk999 run meets hold 4 MiB.
STATE_SUMMARY_BYTES = 200


def _bits(x: float) -> int:
    return int(np.float64(x).view(np.int64))


class _Column:
    """A growable 1-d array (amortised doubling)."""

    def __init__(self, dtype: Any) -> None:
        self._a = np.zeros(16, dtype=dtype)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        need = self.size + values.size
        if need > self._a.size:
            grown = np.zeros(max(need, 2 * self._a.size), dtype=self._a.dtype)
            grown[: self.size] = self._a[: self.size]
            self._a = grown
        self._a[self.size: need] = values
        self.size = need

    @property
    def values(self) -> np.ndarray:
        v = self._a[: self.size]
        v.flags.writeable = False
        return v


class _EventSets(Sequence[np.ndarray]):
    """The active events of every state, by id (one flat array and offsets)."""

    def __init__(self) -> None:
        self._flat = _Column(np.int32)
        self._ptr = _Column(np.int64)
        self._ptr.extend(np.zeros(1, dtype=np.int64))

    def extend(self, sets: Sequence[np.ndarray]) -> None:
        sizes = np.array([s.size for s in sets], dtype=np.int64)
        self._flat.extend(np.concatenate([np.asarray(s, np.int32) for s in sets]) if sets else
                          np.zeros(0, np.int32))
        self._ptr.extend(self._ptr.values[-1] + np.cumsum(sizes))

    def __len__(self) -> int:
        return self._ptr.size - 1

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        p = self._ptr.values
        return self._flat.values[p[i]: p[i + 1]].astype(np.int64)


class _TrafficRows(Sequence[StateTraffic]):
    """The :class:`~model.sim.traffic.StateTraffic` of every state, by id; an evicted one is evaluated
    again on access (:meth:`StateTable.require` does it for many at once)."""

    def __init__(self, table: StateTable) -> None:
        self._table = weakref.ref(table)

    def __len__(self) -> int:
        t = self._table()
        return 0 if t is None else t.n

    def __getitem__(self, i):  # type: ignore[override]
        t = self._table()
        if t is None:
            raise RuntimeError("the state table is gone")  # pragma: no cover
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(t.n))]
        i = int(i)
        if not 0 <= i < t.n:
            raise IndexError(i)
        got = t._resident.get(i)
        if got is None:
            t.require(np.array([i]))
            got = t._resident[i]
        return got


class StateTable:
    """Every distinct state met so far (key → id), evaluated once, within a memory budget.

    Per state, for the life of the table (:data:`STATE_SUMMARY_BYTES`): its key and id, its active
    events, the demand-weighted share of calls cut off, whether any demand is cut off, whether it is
    clean, its affected call rate and a digest of its traffic. Its
    :class:`~model.sim.traffic.StateTraffic` (compact: about 2 KB on uk999) is kept while the budget
    allows, least recently used evicted first, and evaluated again when it is needed: the evaluation
    of a state reads only its event set and the model, row by row, so it gives the same bits in any
    group (checked against the digest on every re-evaluation). State 0 is the empty set (key 0),
    always kept.

    Parameters
    ----------
    model : TimeModel
    max_bytes : int, optional
        Memory budget (default :data:`STATE_MEMORY_BUDGET`): half for the states' traffic, a quarter
        each for the routing plans of class subsets and the cached attempt losses
        (:class:`~model.sim.traffic.BlockingTable`).

    Examples
    --------
    >>> from model.sim.timemodel import build_time_model
    >>> tm = build_time_model("uk999")
    >>> small = StateTable(tm, max_bytes=2**16)  # room for a few dozen states' traffic
    >>> tl = build_timeline(sample_outages(tm.process, 20, tm.horizon, np.random.default_rng(1)),
    ...                     tm.events.hash)
    >>> sid = small.resolve(tl)  # the last group evaluated stays until the next request
    >>> small.require(sid[sid > 0][:3])  # these three resident, the least recently used others evicted
    >>> small.n > 1, small.resident_bytes <= small.traffic_budget, small.evaluations == small.n
    (True, True, True)
    """

    def __init__(self, model: TimeModel, max_bytes: int | None = None) -> None:
        self.model = model
        self.ids: dict[int, int] = {}
        self.event_sets = _EventSets()
        self._share = _Column(np.float64)
        self._any_down = _Column(bool)
        self._clean = _Column(bool)
        self._rate = _Column(np.float64)
        self._digest = _Column(np.uint64)  # of each state's traffic: an evaluation again must give these bits
        self._resident: dict[int, StateTraffic] = {}  # id -> traffic, least recently used first
        self.resident_bytes = 0
        self.traffic = _TrafficRows(self)
        self._peak = model.peak_multiplier() if model.has_traffic else 1.0
        self._window_group = {int(w): g for g, w in enumerate(model.standby_window) if w >= 0}
        self._cap_pos = {int(n): q for q, n in enumerate(model.cap_node)}
        self.evaluations = 0  # states evaluated for the first time
        self.reevaluations = 0  # evicted states evaluated again
        self._normal: StateRoutes | None = None
        self._base: TrafficBase | None = None
        if model.has_traffic:
            plan = RoutingPlan.of(model)
            per_state = (plan.pair_class.size * 6 + plan.arc.size * 6) * 8
            self._batch = max(1, int(6e7 // max(per_state, 1)))
        self.set_budget(STATE_MEMORY_BUDGET if max_bytes is None else max_bytes)
        self._add([0], [np.zeros(0, dtype=np.int64)])

    def set_budget(self, max_bytes: int) -> None:
        """Change the memory budget (bytes); evicts at once what no longer fits."""
        if max_bytes < 1:
            raise ValueError(f"a state table's memory budget must be positive, got {max_bytes}")
        self.max_bytes = int(max_bytes)
        if self.model.has_traffic:
            RoutingPlan.of(self.model).set_cache_budget(self.max_bytes // 4)
        for bt in _blocking_tables_of(self):
            bt.max_bytes = self.blocking_budget
        self._evict(keep=np.zeros(0, dtype=np.int64))

    @property
    def traffic_budget(self) -> int:
        """Bytes of states' traffic kept (half the budget)."""
        return self.max_bytes // 2

    @property
    def blocking_budget(self) -> int:
        """Bytes of cached attempt losses each caller set keeps (a quarter of the budget)."""
        return self.max_bytes // 4

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def batch(self) -> int:
        """States routed together (bounded by memory)."""
        return getattr(self, "_batch", 256)

    @property
    def share(self) -> np.ndarray:
        """(n,) demand-weighted share of calls cut off in each state."""
        return self._share.values

    @property
    def any_down(self) -> np.ndarray:
        """(n,) some demand (of positive weight) is cut off."""
        return self._any_down.values

    @property
    def affected_rate(self) -> np.ndarray:
        """(n,) mean genuine calls per hour of the demands each state affects."""
        return self._rate.values

    def clean(self) -> np.ndarray:
        """(n,) states in which every call connects first time."""
        return self._clean.values

    def add_states(self, keys: Sequence[int], sets: Sequence[np.ndarray]) -> None:
        """Evaluate the states with these keys and active event sets (not yet in the table)."""
        self._add(keys, sets)

    def resolve(self, tl: Timeline) -> np.ndarray:
        """State id of every boundary of ``tl`` (-1 for segments of zero length)."""
        sid = np.full(tl.time.size, -1, dtype=np.int64)
        pos = np.flatnonzero(tl.length > 0)
        if not pos.size:
            return sid
        uk, first, inv = np.unique(tl.key[pos], return_index=True, return_inverse=True)
        ids = np.empty(uk.size, dtype=np.int64)
        new_keys, new_sets = [], []
        for i, k in enumerate(uk.tolist()):  # one step per distinct state of the chunk
            got = self.ids.get(k)
            if got is None:
                j = int(pos[first[i]])
                evs = tl.active(j)
                if evs.size != tl.count[j]:
                    raise RuntimeError("state key collision or inconsistent timeline")  # pragma: no cover
                new_keys.append(k)
                new_sets.append(evs)
                ids[i] = -1
            else:
                ids[i] = got
        if new_keys:
            start = self.n
            self._add(new_keys, new_sets)
            ids[ids < 0] = np.arange(start, start + len(new_keys))
        sid[pos] = ids[inv.reshape(-1)]
        return sid

    def require(self, rows: np.ndarray) -> None:
        """Make the traffic of states ``rows`` resident (evaluating evicted ones again, in groups) and
        mark them most recently used; then evict other states down to the budget."""
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        missing = [r for r in rows.tolist() if r not in self._resident]
        step = self.eval_batch
        for lo in range(0, len(missing), step):  # one step per group of evicted states met again
            part = missing[lo: lo + step]
            share, any_down, traffic = self._evaluate([self.event_sets[r] for r in part])
            for i, r in enumerate(part):
                st = traffic[i]
                same = (_bits(share[i]) == _bits(self._share.values[r])
                        and st.digest() == int(self._digest.values[r])
                        and bool(any_down[i]) == bool(self._any_down.values[r]))
                if not same:
                    raise RuntimeError(f"state {r} evaluated again differs from its first evaluation")
                self._keep(r, st)
            self.reevaluations += len(part)
        for r in rows.tolist():  # most recently used last
            if r:
                self._resident[r] = self._resident.pop(r)
        self._evict(keep=rows)

    def _keep(self, r: int, st: StateTraffic) -> None:
        self._resident[r] = st
        self.resident_bytes += st.nbytes

    def _evict(self, keep: np.ndarray) -> None:
        """Drop least recently used traffic until within the budget (never state 0 nor ``keep``)."""
        if self.resident_bytes <= self.traffic_budget:
            return
        protect = set(keep.tolist()) | {0}
        for r in list(self._resident):  # oldest first
            if self.resident_bytes <= self.traffic_budget:
                break
            if r not in protect:
                self.resident_bytes -= self._resident.pop(r).nbytes

    def _add(self, keys: Sequence[int], sets: Sequence[np.ndarray]) -> None:
        step = self.eval_batch
        for lo in range(0, len(sets), step):  # one step per group of new states: bounded working memory
            part_keys, part_sets = keys[lo: lo + step], sets[lo: lo + step]
            share, any_down, traffic = self._evaluate(part_sets)
            start = self.n
            for i, k in enumerate(part_keys):
                self.ids[int(k)] = start + i
                self._keep(start + i, traffic[i])
            self.event_sets.extend(part_sets)
            self._share.extend(share)
            self._any_down.extend(any_down)
            self._clean.extend(np.array([t.clean for t in traffic], dtype=bool))
            self._rate.extend(np.array([t.affected_rate for t in traffic], dtype=np.float64))
            self._digest.extend(np.array([t.digest() for t in traffic], dtype=np.uint64))
            self.evaluations += len(part_sets)
            self._evict(keep=np.arange(start, self.n))

    @property
    def eval_batch(self) -> int:
        """New states evaluated at once: their working arrays (a route share per plan pair, a few per
        component and node) stay within :data:`STATE_EVAL_BUDGET` bytes."""
        m = self.model
        net = m.net
        pairs = RoutingPlan.of(m).pair_class.size if m.has_traffic else 0
        per_state = 8 * (pairs + 4 * m.n_classes + 3 * net.n_components + 3 * net.n_nodes) + net.n_demands
        return max(1, int(STATE_EVAL_BUDGET // max(per_state, 1)))

    def _evaluate(self, sets: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, list[StateTraffic]]:
        """Share cut off, any demand cut off and traffic of states with these event sets (row by row)."""
        m = self.model
        net = m.net
        ev = m.events
        b = len(sets)
        c, n, q = net.n_components, net.n_nodes, m.cap_node.size
        down = np.zeros((b, c), dtype=bool)
        comp_keep = np.ones((b, c))
        node_keep = np.ones((b, n))
        node_delay = np.zeros((b, n))
        cap_factor = np.ones((b, q))
        cap_queue = np.full((b, q), np.nan)
        window = np.zeros((b, max(m.standby_primary.size, 1)), dtype=bool)
        no_comp = net.node_component < 0
        for i, evs in enumerate(sets):  # one step per new state, then per event in it (a few)
            for e in evs.tolist():
                mem = ev.member_list(e)
                nodes = ev.node_list(e)
                if ev.structural[e]:
                    down[i, mem] = True
                elif ev.drop[e] > 0:
                    comp_keep[i, mem] *= 1 - ev.drop[e]
                    nn = nodes[no_comp[nodes]] if nodes.size else nodes
                    node_keep[i, nn] *= 1 - ev.drop[e]
                if ev.delay_h[e] > 0 and nodes.size:
                    node_delay[i, nodes] += ev.delay_h[e]
                for nd in nodes.tolist():
                    qq = self._cap_pos.get(nd)
                    if qq is not None:
                        cap_factor[i, qq] *= ev.cap_factor[e]
                        if not math.isnan(ev.queue[e]):
                            old = cap_queue[i, qq]
                            cap_queue[i, qq] = ev.queue[e] if math.isnan(old) else min(old, ev.queue[e])
                g = self._window_group.get(e)
                if g is not None:
                    window[i, g] = True
        ptr = np.zeros(b + 1, dtype=np.int64)
        rows, cols = np.nonzero(down)
        ptr[1:] = np.cumsum(np.bincount(rows, minlength=b))
        unre = unreachable_sets(net, (ptr, cols)) if net.n_demands else np.zeros((b, 0), dtype=bool)
        w = net.demand_weight
        tw = net.total_weight
        # the correctly rounded sum of each state's weights (a matrix product or a row sum may round
        # differently with the batch's size and layout): a state's share is the same bits whichever
        # states it is evaluated with
        share = (np.array([math.fsum(w[u].tolist()) for u in unre], dtype=np.float64) / tw if tw > 0
                 else unre.any(axis=1).astype(float))
        any_down = (unre & (w > 0)).any(axis=1) if tw > 0 else unre.any(axis=1)
        routes = None
        if m.has_traffic:
            routes = self._route(down, 1 - comp_keep, 1 - node_keep, node_delay, window, unre)
        traffic = []
        for i in range(b):  # one step per new state
            st = StateTraffic.build(m, unre[i], routes, i, cap_factor[i], cap_queue[i], self._peak, down[i],
                                    base=self._base)
            self._base = st.base
            traffic.append(st)
        return share, any_down, traffic

    def _route(self, down, comp_drop, node_drop, node_delay, window, unre, *, every_class: bool = False
               ) -> StateRoutes:
        """Routes of new states in the full plan: the normal state's, re-routed where the state changes them.

        Only the classes whose part of the graph holds a changed element are routed again
        (a control room's failure touches a dozen classes, not all); states that touch
        the same classes are routed together. ``every_class`` re-routes all classes (a check).
        """
        m = self.model
        full = RoutingPlan.of(m)
        b = down.shape[0]
        if self._normal is None:  # the empty state, routed in full once
            self._normal = route_states(m, down[:1], comp_drop[:1], node_drop[:1], node_delay[:1], window[:1])
        nrm = self._normal
        routed = np.repeat(nrm.routed, b, axis=0)
        delivered = np.repeat(nrm.delivered, b, axis=0)
        delay = np.repeat(nrm.delay_h, b, axis=0)
        flow = np.repeat(nrm.pair_flow, b, axis=0)
        net = m.net
        changed_comp = down | (comp_drop > 0)
        nc, ac = net.node_component, net.arc_component
        groups: dict[bytes, list[int]] = {}
        for i in range(b):  # one step per new state
            cc = changed_comp[i]
            cc_pad = np.r_[cc, False]  # index -1 (no component) reads the pad: never changed
            hit = cc_pad[nc] | (node_drop[i] > 0) | (node_delay[i] > 0)
            nodes = np.flatnonzero(hit)
            arcs = np.flatnonzero(cc_pad[ac])
            for g in range(m.standby_primary.size):
                p = m.standby_primary[g]
                if (p >= 0 and down[i, p]) or window[i, g]:
                    nodes = np.r_[nodes, m.standby_nodes[m.standby_nodes_ptr[g]: m.standby_nodes_ptr[g + 1]]]
                    arcs = np.r_[arcs, m.standby_arcs[m.standby_arcs_ptr[g]: m.standby_arcs_ptr[g + 1]]]
            cls = np.arange(m.n_classes) if every_class else full.touched(nodes, arcs)
            if cls.size:
                groups.setdefault(cls.tobytes(), []).append(i)
        cls_of_demand = m.demand_class
        for key, members in groups.items():  # one step per distinct set of touched classes
            cls = np.frombuffer(key, dtype=np.int64)
            st = np.array(members)
            use = None if cls.size > 0.6 * m.n_classes else cls
            cls_idx = np.arange(m.n_classes) if use is None else cls
            for lo in range(0, st.size, self._batch):
                sb = st[lo: lo + self._batch]
                r = route_states(m, down[sb], comp_drop[sb], node_drop[sb], node_delay[sb], window[sb],
                                 classes=use)
                # a class the standby rule leaves without a route, but reachable: route it without the rule
                ok = np.zeros((sb.size, m.n_classes), dtype=np.int64)
                np.add.at(ok, (slice(None), cls_of_demand), (~unre[sb]).astype(np.int64))
                need = (~r.routed) & (ok[:, cls_idx] > 0)
                if need.any() and m.standby_primary.size:
                    r2 = route_states(m, down[sb], comp_drop[sb], node_drop[sb], node_delay[sb], window[sb],
                                      classes=use, standby=False)
                    pair_need = need[:, r.plan.pair_class]
                    r.routed[need] = r2.routed[need]
                    r.delivered[need] = r2.delivered[need]
                    r.delay_h[need] = r2.delay_h[need]
                    r.pair_flow[pair_need] = r2.pair_flow[pair_need]
                routed[np.ix_(sb, cls_idx)] = r.routed
                delivered[np.ix_(sb, cls_idx)] = r.delivered
                delay[np.ix_(sb, cls_idx)] = r.delay_h
                flow[np.ix_(sb, r.plan.full_pair)] = r.pair_flow
        return StateRoutes(routed, delivered, flow, delay, full)


_TABLES: weakref.WeakKeyDictionary[TimeModel, StateTable] = weakref.WeakKeyDictionary()


def state_table_for(model: TimeModel, max_bytes: int | None = None) -> StateTable:
    """The process-wide :class:`StateTable` of ``model`` (states evaluated once per process, within its
    memory budget); ``max_bytes`` sets that budget (default: as it is, :data:`STATE_MEMORY_BUDGET` for a
    new table)."""
    t = _TABLES.get(model)
    if t is None:
        t = StateTable(model, max_bytes)
        _TABLES[model] = t
    elif max_bytes is not None and max_bytes != t.max_bytes:
        t.set_budget(max_bytes)
    return t


def share_states(model: TimeModel, like: TimeModel) -> None:
    """Let ``model`` use the state table and caller sets of ``like`` (same network, events and callers).

    For variants that change only the outage processes or the switch policies (the rates and repairs
    of importance sampling, :mod:`model.sim.tails`): the states, their traffic and the attempt losses
    depend on neither, so each is evaluated once for all the variants instead of once per variant.

    Examples
    --------
    >>> import dataclasses
    >>> from model.sim.timemodel import build_time_model
    >>> tm = build_time_model("uk999")
    >>> other = dataclasses.replace(tm, process=dataclasses.replace(tm.process, rate=tm.process.rate * 2))
    >>> share_states(other, tm)
    >>> state_table_for(other) is state_table_for(tm)
    True
    """
    differ = [f.name for f in dataclasses.fields(model) if f.name not in ("process", "switch_policies")
              and getattr(model, f.name) is not getattr(like, f.name)]
    if differ:
        raise ValueError(f"share_states: the models differ in more than their outage processes ({differ[0]})")
    _TABLES[model] = state_table_for(like)
    _CALLER_SETS[model] = _CALLER_SETS.setdefault(like, {})


#: Most calls a simulated year may need to follow one by one in normal operation (nothing failed).
MAX_NORMAL_CALLS_PER_YEAR = 200_000


def check_normal_operation(model: TimeModel, scenario: Scenario | None = None) -> None:
    """Refuse, before any work, a model whose normal operation loses calls at a capacity.

    The time engine follows calls one by one only where something is wrong; when nothing has
    failed and a capacity still loses calls at the peak, every call of every year would be
    followed (hours of work a year for national volumes). Raises ScenarioError naming the
    capacity (``ValueError`` without a scenario) when that is more than
    :data:`MAX_NORMAL_CALLS_PER_YEAR` calls a year.
    """
    if not model.has_traffic:
        return
    normal = state_table_for(model).traffic[0]
    calls = normal.affected_rate * model.horizon
    if normal.clean or calls <= MAX_NORMAL_CALLS_PER_YEAR:
        return
    node = model.net.node_names[int(model.cap_node[normal.cap[0]])] if normal.cap.size else None
    msg = (f"in normal operation (nothing failed) calls are lost at {'this' if node else 'a'} capacity at "
           f"the peak hour, so the time engine would follow every one of about {calls:,.0f} calls a year one "
           f"by one (its limit is {MAX_NORMAL_CALLS_PER_YEAR:,}); give it enough concurrent_calls for the "
           "normal load, or use a static method")
    if scenario is None:
        raise ValueError(f"{model.name}: {node or ''} capacity: {msg}")
    sections = ("originating_networks", "call_handling_platforms", "call_handling_centres", "control_rooms")
    section = next((sec for sec in sections if node in getattr(scenario.spec, sec)), None)
    raise scenario.error((section, str(node), "capacity") if section else (), None, msg)


#: Most calls the time engine may expect to follow one by one in a simulated year (beyond this a year
#: takes minutes and its call records hundreds of MB). uk999 needs about 10^4.
MAX_SIMULATED_CALLS_PER_YEAR = 2_000_000


def expected_simulated_calls(model: TimeModel) -> tuple[float, int]:
    """Calls a simulated year follows one by one, expected (outages taken one at a time), and the event
    contributing most (index into ``model.events``; -1 when none).

    Each random event and maintenance plan is evaluated alone (cached in the process's state table):
    its long-run hours down a year times the genuine calls per hour of the demands it affects.
    """
    if not model.has_traffic:
        return 0.0, -1
    table = state_table_for(model)
    proc = model.process
    ups = proc.up if proc.up is not None else (None,) * len(proc.names)
    down_share = np.zeros(model.n_events)
    for e, (rate, rep, up) in enumerate(zip(proc.rate.tolist(), proc.repair, ups, strict=True)):
        mean_rep = max(float(getattr(rep, "mean", 0.0)), 0.0)
        if up is None:
            down_share[e] = rate * mean_rep / (1 + rate * mean_rep)
        else:
            down_share[e] = mean_rep / max(float(up.mean) + mean_rep, 1e-300)
    for plan in model.maintenance:
        down_share[plan.event] = plan.duration_hours / plan.period_hours
    events = np.flatnonzero(down_share > 0)
    hashes = model.events.hash
    new = [int(e) for e in events.tolist() if int(hashes[e]) not in table.ids]
    for i in range(0, len(new), table.batch):
        part = new[i: i + table.batch]
        table.add_states([int(hashes[e]) for e in part], [np.array([e], dtype=np.int64) for e in part])
    rate = table.affected_rate[np.array([table.ids[int(hashes[e])] for e in events.tolist()], dtype=np.int64)]
    per_event = down_share[events] * model.horizon * rate
    normal = table.traffic[0]
    total = float(per_event.sum()) + (0.0 if normal.clean else normal.affected_rate * model.horizon)
    return total, int(events[int(np.argmax(per_event))]) if per_event.size else -1


def check_call_budget(model: TimeModel, scenario: Scenario | None = None) -> float:
    """Refuse, before any work, a model that would follow more than :data:`MAX_SIMULATED_CALLS_PER_YEAR`
    calls a simulated year one by one; returns the expected number."""
    calls, worst = expected_simulated_calls(model)
    if calls <= MAX_SIMULATED_CALLS_PER_YEAR:
        return calls
    name = model.events.names[worst] if worst >= 0 else ""
    msg = (f"the time engine would follow about {calls:,.0f} calls a simulated year one by one (its limit is "
           f"{MAX_SIMULATED_CALLS_PER_YEAR:,}); the largest share comes from {name or 'normal operation'}: "
           "fewer or shorter outages, or fewer calls, or a static method")
    if scenario is None:
        raise ValueError(f"{model.name}: {msg}")
    raise scenario.error(scenario_key(CallNetwork(scenario), name) if name else (), None, msg)


# ----------------------------------------------------------------------------- tallies
_BASE_FIELDS = ("genuine", "unreachable", "failed_attempts", "first_try", "after_redial", "via_fallback",
                "simulated", "unavailability", "down_hours", "affected_hours", "failures", "outages",
                "worst_incident", "longest_down_h")
_OUTCOME_FIELDS = tuple(f for o in OUTCOMES for f in o.fields())
_YEAR_FIELDS = _BASE_FIELDS + _OUTCOME_FIELDS


@dataclass(frozen=True, eq=False)
class YearRecord:
    """Per-year results of one chunk (arrays of the chunk's years).

    ``genuine`` and ``first_try`` are expected counts in clean segments plus the
    simulated counts elsewhere; ``unreachable``, ``failed_attempts``,
    ``after_redial``, ``via_fallback`` and ``simulated`` count simulated callers;
    ``unavailability`` is the time-average demand-weighted share of calls cut off;
    ``down_hours`` the hours with some demand cut off and ``failures`` the number of
    such periods that began in the year; ``affected_hours`` the hours in non-clean
    states; ``outages`` the number of outage intervals (of all events) starting in
    the year; ``worst_incident`` the most unreachable calls in one incident (a
    maximal run of non-clean segments) of the year and ``longest_down_h`` the
    longest unbroken period with some demand cut off. ``by_area`` holds, per year
    and area of the model (:attr:`TimeModel.areas`), the genuine callers never
    connected: its rows add up to ``unreachable``.
    """

    genuine: np.ndarray
    unreachable: np.ndarray
    failed_attempts: np.ndarray
    first_try: np.ndarray
    after_redial: np.ndarray
    via_fallback: np.ndarray
    simulated: np.ndarray
    unavailability: np.ndarray
    down_hours: np.ndarray
    affected_hours: np.ndarray
    failures: np.ndarray
    outages: np.ndarray
    probes: np.ndarray  # (n_years, P) bool: some demand cut off at each probe hour
    worst_incident: np.ndarray = field(default_factory=lambda: np.zeros(0))
    longest_down_h: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: per-year counts of every published outcome definition (:mod:`model.sim.outcomes`), genuine and
    #: non-genuine: ``<outcome>_genuine`` / ``<outcome>_non_genuine``
    outcomes: dict[str, np.ndarray] = field(default_factory=dict)
    by_area: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (n_years, A)

    def outcome(self, name: str) -> np.ndarray:
        """Per-year counts of an outcome field (zeros when nothing was simulated)."""
        got = self.outcomes.get(name)
        return np.zeros(self.genuine.size) if got is None else got

    def to_dict(self) -> dict[str, Any]:
        d = {f: getattr(self, f).tolist() for f in _BASE_FIELDS}
        d.update({f: self.outcome(f).tolist() for f in _OUTCOME_FIELDS})
        d["probes"] = self.probes.astype(int).tolist()
        d["by_area"] = self.by_area.tolist()
        return d

    @staticmethod
    def concat(parts: Sequence[YearRecord]) -> YearRecord:
        """The records of consecutive batches of years as one record (years in order)."""
        kw = {f: np.concatenate([getattr(r, f) for r in parts]) for f in _BASE_FIELDS}
        keys = sorted({k for r in parts for k in r.outcomes})
        outs = {k: np.concatenate([r.outcome(k) for r in parts]) for k in keys}
        return YearRecord(**kw, probes=np.concatenate([r.probes for r in parts], axis=0), outcomes=outs,
                          by_area=np.concatenate([r.by_area for r in parts], axis=0))

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> YearRecord:
        kw = {f: np.asarray(d[f], dtype=float) for f in _BASE_FIELDS if f in d}
        n = len(kw["genuine"])
        outs = {f: np.asarray(d.get(f, np.zeros(n)), dtype=float) for f in _OUTCOME_FIELDS}
        by_area = np.asarray(d.get("by_area", np.zeros((n, 0))), dtype=float).reshape(n, -1)
        return YearRecord(**kw, probes=np.asarray(d["probes"], dtype=bool).reshape(n, -1), outcomes=outs,
                          by_area=by_area)


@dataclass(frozen=True, eq=False)
class TimeTally:
    """The results of some chunks; ``a + b`` merges them exactly (any grouping, same bits).

    Attributes
    ----------
    records : dict chunk index -> YearRecord
    hist : int64 array
        Delayed connections (connected after a failed attempt or with an extra delay)
        per bin of :data:`HIST_EDGES_S`.
    incidents : tuple of dict
        The largest incidents (by calls lost) of these chunks.
    evaluations : int
        New states evaluated (a diagnostic; depends on the process's cache).
    """

    records: dict[int, YearRecord] = field(default_factory=dict)
    hist: np.ndarray = field(default_factory=lambda: np.zeros(HIST_EDGES_S.size - 1, dtype=np.int64))
    incidents: tuple[dict[str, Any], ...] = ()
    evaluations: int = 0

    def __add__(self, other: TimeTally) -> TimeTally:
        if not isinstance(other, TimeTally):
            return NotImplemented
        if set(self.records) & set(other.records):
            raise ValueError("cannot add tallies that share chunks")
        recs = dict(sorted({**self.records, **other.records}.items()))
        return TimeTally(recs, self.hist + other.hist, _top(self.incidents + other.incidents),
                         self.evaluations + other.evaluations)

    @property
    def years(self) -> int:
        return sum(r.genuine.size for r in self.records.values())

    def column(self, name: str) -> np.ndarray:
        """One per-year field (or outcome field) over all chunks, in chunk order."""
        if not self.records:
            return np.zeros(0)
        if name in _OUTCOME_FIELDS:
            return np.concatenate([self.records[k].outcome(name) for k in sorted(self.records)])
        return np.concatenate([getattr(self.records[k], name) for k in sorted(self.records)])

    def area_columns(self) -> np.ndarray:
        """Genuine callers never connected per year and area, ``(years, A)``, in chunk order
        (``A`` = 0 for a model without areas)."""
        if not self.records:
            return np.zeros((0, 0))
        return np.concatenate([self.records[k].by_area for k in sorted(self.records)], axis=0)

    def to_dict(self) -> dict[str, Any]:
        return {"records": {str(k): v.to_dict() for k, v in self.records.items()},
                "hist": self.hist.tolist(), "incidents": list(self.incidents),
                "evaluations": self.evaluations}

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> TimeTally:
        return TimeTally({int(k): YearRecord.from_dict(v) for k, v in d["records"].items()},
                         np.asarray(d["hist"], dtype=np.int64), tuple(d["incidents"]), int(d["evaluations"]))


def _tally_matches(t: TimeTally, chunks_done: int, units_done: int) -> str | None:
    """What makes a checkpointed tally inconsistent with its chunks (None: nothing)."""
    if sorted(t.records) != list(range(chunks_done)):
        return f"its records are of chunks {sorted(t.records)[:5]}..., not 0..{chunks_done - 1}"
    if t.years != units_done:
        return f"it holds {t.years} simulated years, the chunks {units_done}"
    for name in _YEAR_FIELDS:
        col = t.column(name)
        if not np.all(np.isfinite(col)) or np.any(col < 0):
            return f"{name} has a negative or non-finite value"
    if np.any(t.hist < 0):
        return "a histogram count is negative"
    areas = t.area_columns()
    if areas.size and (not np.all(np.isfinite(areas)) or np.any(areas < 0)
                       or not np.allclose(areas.sum(axis=1), t.column("unreachable"))):
        return "its per-area counts are negative, non-finite or do not add up to the unreachable callers"
    return None


def _top(incidents: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    key = sorted(incidents,
                 key=lambda r: (-r["calls_lost"], -r["duration_hours"], r["year"], r["start_hour"]))
    return tuple(key[:TOP_INCIDENTS])


register_tally(TimeTally, _tally_matches)


def _pieces(model: TimeModel, load: np.ndarray, start: np.ndarray, end: np.ndarray, shift: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Segments with more than ``CALL_BLOCK / 4`` expected calls cut into pieces of equal expected calls.

    ``load`` is each segment's expected calls, ``start``/``end`` its engine times and ``shift``
    engine time minus arrival-profile time. Returns the segment of each piece, its start and
    end, and its expected calls: a Poisson process on the pieces is the process on the segment.
    """
    n = np.maximum(1, np.ceil(load / (CALL_BLOCK / 4))).astype(np.int64)
    of = np.repeat(np.arange(load.size), n)
    if of.size == load.size:
        return of, start, end, load
    j = np.arange(of.size) - np.repeat(np.cumsum(n) - n, n)  # piece number within its segment
    prof = model.profile
    ya = np.asarray(prof.cumulative(start - shift), float).reshape(-1)[of]
    yb = np.asarray(prof.cumulative(end - shift), float).reshape(-1)[of]

    def cut(k: np.ndarray) -> np.ndarray:  # engine time of the k-th of n equal shares of expected calls
        t = np.asarray(prof.inverse_cumulative(ya + (yb - ya) * (k / n[of])), float).reshape(-1) + shift[of]
        return np.clip(t, start[of], end[of])

    p_start = np.where(j == 0, start[of], cut(j))
    p_end = np.where(j == n[of] - 1, end[of], cut(j + 1))
    return of, p_start, p_end, load[of] / n[of]


class _CallTally:
    """Per-year and per-episode sums of simulated callers, block by block.

    Each block's callers are reduced to these sums before the next block is drawn, so no
    more than one block of callers is held at once; the sums are counts, so the order of
    the blocks does not change them.
    """

    def __init__(self, model: TimeModel, n_years: int, n_episodes: int) -> None:
        self.n_years, self.n_episodes, self.n_areas = n_years, n_episodes, len(model.areas)
        self.demand_area = model.demand_area
        z = np.zeros(n_years)
        self.genuine, self.unreachable, self.failed_attempts = z.copy(), z.copy(), z.copy()
        self.first_try, self.after_redial, self.via_fallback = z.copy(), z.copy(), z.copy()
        self.by_area = np.zeros((n_years, self.n_areas))
        self.outcomes: dict[str, np.ndarray] = {}
        self.hist = np.zeros(HIST_EDGES_S.size - 1, dtype=np.int64)
        self.ep_lost, self.ep_fail, self.ep_calls = (np.zeros(n_episodes) for _ in range(3))
        self.n_calls = 0

    def add(self, o: CallOutcomes, ep_of: np.ndarray) -> None:
        """Add one block's callers (``ep_of``: the episode of each segment, by boundary index)."""
        ny, ne = self.n_years, self.n_episodes
        g = o.is_genuine()  # the long-standing fields count genuine callers; outcomes split both
        lost = g & (o.outcome == OUTCOME_UNREACHABLE)
        fails = o.failed_attempts * g
        self.n_calls += int(o.n)
        self.genuine += np.bincount(o.year, weights=g, minlength=ny)
        self.unreachable += np.bincount(o.year, weights=lost, minlength=ny)
        self.failed_attempts += np.bincount(o.year, weights=fails, minlength=ny)
        self.first_try += np.bincount(o.year, weights=g & (o.outcome == OUTCOME_FIRST), minlength=ny)
        self.after_redial += np.bincount(o.year, weights=g & (o.outcome == OUTCOME_REDIAL), minlength=ny)
        self.via_fallback += np.bincount(o.year, weights=g & (o.outcome == OUTCOME_FALLBACK), minlength=ny)
        for k, v in tally_outcomes(o, ny).items():
            self.outcomes[k] = self.outcomes[k] + v if k in self.outcomes else v
        if self.n_areas:
            cell = o.year * self.n_areas + self.demand_area[o.demand]
            per = np.bincount(cell, weights=lost, minlength=ny * self.n_areas)
            self.by_area += per.reshape(ny, self.n_areas)
        delayed = g & (o.outcome != OUTCOME_UNREACHABLE) & (o.connect_s > 0)
        self.hist += np.histogram(o.connect_s[delayed], bins=HIST_EDGES_S)[0].astype(np.int64)
        ep_call = ep_of[o.segment]
        self.ep_lost += np.bincount(ep_call, weights=lost, minlength=ne)
        self.ep_fail += np.bincount(ep_call, weights=fails, minlength=ne)
        self.ep_calls += np.bincount(ep_call, weights=g, minlength=ne)


# ----------------------------------------------------------------------------- one batch of years
def _run_years(
    model: TimeModel,
    outages: Outages,
    rng: np.random.Generator,
    callers: CallerSet,
    *,
    pset_of_year: np.ndarray,
    profile_offset: np.ndarray,
    first_year: int,
    advice_local: np.ndarray | None = None,
    probe_hours: Sequence[float] = (),
    genuine_only: bool = False,
) -> tuple[YearRecord, np.ndarray, list[dict[str, Any]], int]:
    """Timeline, states and calls of the given outages; per-year results and the calls simulated.

    Public advice starts ``advice_delay_h`` after each episode's start, or at hour
    ``advice_local[year]`` of the year when given (a replayed incident). ``genuine_only``:
    non-genuine calls are not followed (see :func:`run_chunk`).
    """
    table = state_table_for(model)
    tl = build_timeline(outages, model.events.hash)
    sid = table.resolve(tl)
    ny = tl.n_years
    h_total = tl.horizon
    pos = np.flatnonzero(sid >= 0)
    ps = sid[pos]
    py = tl.year[pos]
    dur = tl.length[pos]
    share = table.share[ps]
    down = table.any_down[ps]
    clean = table.clean()[ps]
    unavail = np.bincount(py, weights=dur * share, minlength=ny) / h_total
    down_h = np.bincount(py, weights=dur * down, minlength=ny)
    aff_h = np.bincount(py, weights=dur * ~clean, minlength=ny)
    new_year = np.r_[True, py[1:] != py[:-1]]
    prev_down = np.r_[False, down[:-1]] & ~new_year
    starts_down = down & ~prev_down & ~((tl.time[pos] - py * tl.stride) <= 0)  # not in progress at hour 0
    failures = np.bincount(py, weights=starts_down, minlength=ny)
    run_of = np.cumsum(down & ~prev_down) - 1  # unbroken periods with some demand cut off
    longest = np.zeros(ny)
    if down.any():
        run_len = np.bincount(run_of[down], weights=dur[down])
        np.maximum.at(longest, py[down], run_len[run_of[down]])
    n_out = np.bincount(outages.year[(outages.start >= 0) & (outages.start < h_total)], minlength=ny)
    probes = np.zeros((ny, len(probe_hours)), dtype=bool)
    if len(probe_hours):
        any_all = np.asarray(table.any_down)
        for i, t in enumerate(probe_hours):  # one step per probe time, vectorised over years
            j = np.searchsorted(tl.time, np.arange(ny) * tl.stride + float(t), side="right") - 1
            probes[:, i] = any_all[np.maximum(sid[j], 0)] & (sid[j] >= 0)
    # episodes: maximal runs of non-clean segments within a year
    dirty = ~clean
    new_ep = dirty & (np.r_[True, ~dirty[:-1]] | new_year)
    ep_of = np.cumsum(new_ep) - 1
    ep_of = np.where(dirty, ep_of, -1)
    n_ep = int(new_ep.sum())
    ep_first = np.flatnonzero(new_ep)
    ep_start = tl.time[pos][ep_first] if n_ep else np.zeros(0)
    ep_year = py[ep_first] if n_ep else np.zeros(0, dtype=np.int64)
    ep_end = np.zeros(n_ep)
    if n_ep:
        np.maximum.at(ep_end, ep_of[dirty], tl.end[pos][dirty])
    genuine_total = float(model.demand_rate.sum())
    year_origin = np.arange(ny) * tl.stride
    exp_total = genuine_total * np.asarray(model.profile.integrate(profile_offset, profile_offset + h_total),
                                           float).reshape(-1) * np.ones(ny)
    rec_kw: dict[str, np.ndarray] = {}
    hist = np.zeros(HIST_EDGES_S.size - 1, dtype=np.int64)
    ep_lost = np.zeros(n_ep)
    ep_fail = np.zeros(n_ep)
    ep_calls = np.zeros(n_ep)
    z = np.zeros(ny)
    n_calls = 0
    if model.has_traffic and dirty.any():
        seg = pos[dirty]
        rows = sid[seg]
        seg_year = tl.year[seg]
        if advice_local is not None:
            adv = year_origin[seg_year] + advice_local[seg_year]
        else:
            adv = ep_start[ep_of[dirty]] + callers.advice_delay_h[pset_of_year[seg_year]]
        if not model.fallback_agents.size:
            adv = np.full(seg.size, np.inf)
        brow = np.where(sid >= 0, sid, -1)
        brow = np.where((brow >= 0) & ~table.clean()[np.maximum(brow, 0)], brow, -1)
        blocking = _blocking_table(model, callers, table)
        table.require(np.concatenate([rows, brow[brow >= 0]]))  # this batch's states: resident until done
        # expected calls of the affected demands in the non-clean segments (replaced by the simulated ones)
        rate_of = table.affected_rate
        la = tl.time[seg] - year_origin[seg_year] + profile_offset[seg_year]
        lb = tl.end[seg] - year_origin[seg_year] + profile_offset[seg_year]
        exp_seg = rate_of[rows] * np.asarray(model.profile.integrate(la, lb), float).reshape(-1)
        exp_aff = np.bincount(seg_year, weights=exp_seg, minlength=ny)
        seg_index = np.searchsorted(pos, seg)
        # callers are independent given the states, so segments are simulated in blocks of about
        # CALL_BLOCK expected calls, each reduced to its sums before the next is drawn: memory stays
        # bounded however much of a year is affected (a long national outage is cut into pieces)
        load = exp_seg * (1.0 + model.non_genuine_ratio)
        of, p_start, p_end, p_load = _pieces(model, load, tl.time[seg], tl.end[seg],
                                             year_origin[seg_year] - profile_offset[seg_year])
        block = (np.cumsum(p_load) // CALL_BLOCK).astype(np.int64)
        cuts = np.flatnonzero(np.diff(block)) + 1
        calls = _CallTally(model, ny, n_ep)
        stack = StateStack.of(model, table.traffic, np.concatenate([rows, brow[brow >= 0]]))  # once a batch
        for lo, hi in zip(np.r_[0, cuts].tolist(), np.r_[cuts, of.size].tolist(), strict=True):
            b = of[lo:hi]  # one step per block of calls (one block unless a year is heavily affected)
            calls.add(simulate_calls(
                model, rng, seg_start=p_start[lo:hi], seg_end=p_end[lo:hi], seg_row=rows[b],
                seg_year=seg_year[b], seg_advice=adv[b], year_origin=year_origin,
                profile_offset=profile_offset, boundary_time=tl.time, boundary_row=brow,
                year_end=year_origin + h_total, stack=stack, table=blocking,
                pset_of_year=pset_of_year, seg_index=seg_index[b], genuine_only=genuine_only,
            ), ep_of)
        n_calls = calls.n_calls
        sim = calls.genuine
        rec_kw["genuine"] = exp_total - exp_aff + sim
        rec_kw["unreachable"] = calls.unreachable
        rec_kw["failed_attempts"] = calls.failed_attempts
        rec_kw["first_try"] = exp_total - exp_aff + calls.first_try
        rec_kw["after_redial"] = calls.after_redial
        rec_kw["via_fallback"] = calls.via_fallback
        rec_kw["simulated"] = sim
        rec_kw["outcomes"] = calls.outcomes
        rec_kw["by_area"] = calls.by_area
        hist, ep_lost, ep_fail, ep_calls = calls.hist, calls.ep_lost, calls.ep_fail, calls.ep_calls
    else:
        rec_kw.update(genuine=exp_total, unreachable=z, failed_attempts=z, first_try=exp_total,
                      after_redial=z, via_fallback=z, simulated=z)
    rec_kw.setdefault("by_area", np.zeros((ny, len(model.areas))))
    worst = np.zeros(ny)
    if n_ep:
        np.maximum.at(worst, ep_year, ep_lost)
    rec = YearRecord(**rec_kw, unavailability=unavail, down_hours=down_h, affected_hours=aff_h,
                     failures=failures.astype(float), outages=n_out.astype(float), probes=probes,
                     worst_incident=worst, longest_down_h=longest)
    # the largest incidents of this batch
    incidents: list[dict[str, Any]] = []
    if n_ep:
        score = ep_lost if model.has_traffic else (ep_end - ep_start)
        top = np.lexsort((ep_start, -(ep_end - ep_start), -score))[:TOP_INCIDENTS]
        in_top = np.flatnonzero(dirty & np.isin(ep_of, top))  # segments of the top incidents only
        pairs = np.unique(np.stack([ep_of[in_top], ps[in_top]], axis=1), axis=0)
        names = model.events.names
        for e_i in top.tolist():  # at most TOP_INCIDENTS
            states_i = pairs[pairs[:, 0] == e_i, 1].tolist()
            evs = sorted({names[x] for s_ in states_i for x in table.event_sets[s_].tolist()})
            incidents.append({
                "year": int(first_year + ep_year[e_i]),
                "start_hour": float(ep_start[e_i] - ep_year[e_i] * tl.stride),
                "duration_hours": float(ep_end[e_i] - ep_start[e_i]),
                "calls_lost": int(ep_lost[e_i]),
                "failed_attempts": int(ep_fail[e_i]),
                "calls_affected": int(ep_calls[e_i]),
                "events": evs[:20],
            })
    return rec, hist, incidents, n_calls


_BLOCKING: weakref.WeakKeyDictionary[CallerSet, BlockingTable] = weakref.WeakKeyDictionary()
_CALLER_SETS: weakref.WeakKeyDictionary[TimeModel, dict[CallerParams, CallerSet]] = (
    weakref.WeakKeyDictionary())


def _blocking_table(model: TimeModel, callers: CallerSet, table: StateTable) -> BlockingTable:
    """The (cached) attempt-loss table of a caller set (within the state table's budget)."""
    bt = _BLOCKING.get(callers)
    if bt is None or bt.states is not table.traffic:
        bt = BlockingTable(model, callers, table.traffic, max_bytes=table.blocking_budget)
        _BLOCKING[callers] = bt
    return bt


def _blocking_tables_of(table: StateTable) -> list[BlockingTable]:
    return [bt for bt in list(_BLOCKING.values()) if bt.states is table.traffic]


def _caller_set(model: TimeModel, callers: CallerParams | None) -> CallerSet:
    c = callers or model.callers
    per = _CALLER_SETS.setdefault(model, {})
    cs = per.get(c)
    if cs is None:
        cs = per[c] = CallerSet.of_model(model, c)
    return cs


def run_chunk(
    model: TimeModel,
    chunk_index: int,
    n_years: int,
    seed: int,
    *,
    start: str = "stationary",
    warmup_hours: float = 0.0,
    chunk_years: int | None = None,
    callers: CallerParams | None = None,
    probe_hours: Sequence[float] = (),
    genuine_only: bool = False,
    state_memory: int | None = None,
) -> TimeTally:
    """Simulate ``n_years`` years: chunk ``chunk_index`` of a run (the unit of parallel work).

    ``genuine_only``: non-genuine calls are not followed (they still load the capacities, whose
    losses come from the rates; no genuine caller's outcome depends on them, only the random draws
    differ): for tail statistics, which count genuine callers, at half the callers to follow in a
    national outage. The non-genuine outcome fields are then zero. ``state_memory`` sets the memory
    budget of the process's state table (bytes, see :class:`StateTable`; default: as it is); the
    result does not depend on it.

    Draws only from ``SeedSequence(entropy=seed, spawn_key=(chunk_index, ...))``: the
    callers from child ``(chunk_index,)``, each basic event's outages and each standby
    group's switch delays from their own streams keyed by name (so a strategy that
    changes some events leaves the others' histories exactly as they were). The
    result does not depend on which process runs it or on what it ran before.

    Examples
    --------
    >>> from model.sim.timemodel import build_time_model
    >>> tm = build_time_model("uk999")
    >>> a = run_chunk(tm, 0, 20, seed=5) + run_chunk(tm, 1, 20, seed=5)
    >>> b = run_chunk(tm, 1, 20, seed=5) + run_chunk(tm, 0, 20, seed=5)
    >>> a.years, bool(np.array_equal(a.column("unreachable"), b.column("unreachable")))
    (40, True)
    """
    # Separate streams (common random numbers across scenario variants): one per basic event,
    # keyed by its name; one per standby group, keyed by its window event's name; one for callers.
    rng = chunk_rng(seed, chunk_index)
    out = sample_outages(model.process, n_years, model.horizon,
                         chunk_streams(seed, chunk_index, model.process.names, "outages"), start=start,
                         warmup_hours=warmup_hours)
    out = with_derived_outages(model, out, seed, chunk_index)
    table = state_table_for(model, state_memory)
    before = table.evaluations
    first_year = chunk_index * (chunk_years or n_years)
    caller_set = _caller_set(model, callers)
    recs: list[YearRecord] = []
    hist = np.zeros(HIST_EDGES_S.size - 1, dtype=np.int64)
    incidents: list[dict[str, Any]] = []
    step = years_per_batch(model)
    for lo in range(0, n_years, step):  # one step per batch of years: memory bounded by the call budget
        n = min(step, n_years - lo)
        part = out.years_slice(lo, lo + n) if n < n_years else out
        rec, h, inc, _ = _run_years(model, part, rng, caller_set, pset_of_year=np.zeros(n, dtype=np.int64),
                                    profile_offset=np.zeros(n), first_year=first_year + lo,
                                    probe_hours=probe_hours, genuine_only=genuine_only)
        recs.append(rec)
        hist += h
        incidents = list(_top([*incidents, *inc]))
    rec = recs[0] if len(recs) == 1 else YearRecord.concat(recs)
    return TimeTally({int(chunk_index): rec}, hist, _top(incidents), table.evaluations - before)


#: Memory budget of the call records of one batch of simulated years (bytes): with the state table's
#: budget it keeps a uk999 run within 300 MiB peak RSS whatever the years (benchmarks/RESULTS.md).
CALL_MEMORY_BUDGET = 96 * 2**20
#: Bytes the time engine holds per simulated call while a batch runs (measured on uk999: about 250).
BYTES_PER_CALL = 400


_EXPECTED_CALLS: weakref.WeakKeyDictionary[TimeModel, float] = weakref.WeakKeyDictionary()


def years_per_batch(model: TimeModel, budget: int | None = None) -> int:
    """Simulated years :func:`run_chunk` runs at once: as many as keep the calls it follows one by one
    (:func:`expected_simulated_calls`, times a margin of 3 for busy years) within ``budget`` bytes
    (default :data:`CALL_MEMORY_BUDGET`). The batches draw from the chunk's streams in turn, so a
    chunk's result depends on the budget (and on nothing else).

    Examples
    --------
    >>> from model.sim.timemodel import build_time_model
    >>> 1 <= years_per_batch(build_time_model("uk999")) < 1000
    True
    """
    calls = _EXPECTED_CALLS.get(model)
    if calls is None:  # a model's own constant: evaluated once per process, not once per chunk
        calls = _EXPECTED_CALLS[model] = expected_simulated_calls(model)[0]
    budget = CALL_MEMORY_BUDGET if budget is None else budget
    per_year = 3 * max(calls, 1.0) * BYTES_PER_CALL
    return int(max(1, min(10**6, budget // per_year)))


def with_derived_outages(model: TimeModel, out: Outages, seed: int, chunk_index: int, *,
                         attempts: list[tuple[int, ...]] | None = None
                         ) -> Outages:
    """``out`` (the free random outages of a chunk) with everything derived from them added.

    Crew-repaired failures (:mod:`model.processes.crews`, named chunk streams ``crew-repairs``), then
    failover windows of standby groups (``switch-delays``), latent failures found by tests
    (``latent-tests``) and planned windows; each stream keyed by name, so variants keep each other's
    histories (:func:`model.run.seeds.chunk_streams`). ``attempts`` collects the switch attempts of
    every primary outage (:func:`model.processes.outages.failover_windows`).
    """
    n_years = out.n_years
    if model.crew_groups:
        crews = chunk_streams(seed, chunk_index, model.crew_stream_names(), "crew-repairs")
        out = out.concat(crew_outages(model.crew_groups, n_years, model.horizon, crews))
    switch_streams = chunk_streams(seed, chunk_index,
                                   [model.events.names[p.window_event] for p in model.switch_policies],
                                   "switch-delays")
    parts = [failover_windows(out, model.switch_policies, switch_streams, attempts=attempts)]
    if model.tests:
        tests = chunk_streams(seed, chunk_index, model.test_stream_names(), "latent-tests")
        parts.append(latent_windows(out, model.tests, tests))
    if model.maintenance:
        parts.append(maintenance_windows(model.maintenance, n_years, model.horizon))
    return out.concat(*parts)


def run_intervals(model: TimeModel, outages: Outages, seed: int, *, callers: CallerParams | None = None,
                  profile_offset: float = 0.0) -> TimeTally:
    """Calls and tallies for *given* outage intervals (what-ifs, replays, paired tests).

    ``outages`` are the down intervals of the model's events (all derived windows
    included) for ``outages.n_years`` windows of ``outages.horizon`` hours.

    Examples
    --------
    >>> from model.sim.timemodel import build_time_model
    >>> from model.processes.outages import Outages
    >>> tm = build_time_model("uk999")
    >>> e = tm.events.index("ccf:bt_platform_software")   # both platforms down for 4 hours
    >>> out = Outages(np.array([0]), np.array([e]), np.array([100.0]), np.array([104.0]), 1, 8766.0)
    >>> t = run_intervals(tm, out, seed=1)
    >>> int(t.column("unreachable")[0]) > 0, float(t.column("down_hours")[0])
    (True, 4.0)
    """
    rng = named_rng(seed, "intervals-callers")
    n = outages.n_years
    rec, hist, incidents, _ = _run_years(model, outages, rng, _caller_set(model, callers),
                                         pset_of_year=np.zeros(n, dtype=np.int64),
                                         profile_offset=np.full(n, float(profile_offset)), first_year=0)
    return TimeTally({0: rec}, hist, _top(incidents), 0)


# ----------------------------------------------------------------------------- results
def _quantile_from_hist(hist: np.ndarray, q: float) -> float:
    total = hist.sum()
    if total == 0:
        return math.nan
    cum = np.cumsum(hist)
    target = q * total
    i = int(np.searchsorted(cum, target, side="left"))
    lo, hi = HIST_EDGES_S[i], HIST_EDGES_S[i + 1]
    if not np.isfinite(hi):
        return float(lo)
    prev = cum[i - 1] if i > 0 else 0
    frac = (target - prev) / hist[i] if hist[i] else 0.0
    if lo <= 0:
        return float(hi * frac)
    return float(lo * (hi / lo) ** frac)


def unreachable_call_rate(tally: TimeTally, *, seed: int | None = None, confidence: float = 0.95) -> Estimate:
    """Share of genuine calls unreachable: ratio of the yearly sums, delta-method interval, the Poisson
    one-sided bound when no call was lost (the time engine's estimate for progress and ``target_rse``).

    Examples
    --------
    >>> from model.sim.timemodel import build_time_model
    >>> r = unreachable_call_rate(run_chunk(build_time_model("uk999"), 0, 10, seed=1))
    >>> r.method, r.samples, r.interval in ("delta-normal", "one-sided-upper")
    ('time-simulation', 10, True)
    """
    return ratio_estimate(tally.column("unreachable"), tally.column("genuine"), method=METHOD, seed=seed,
                          sample="simulated year", denominator="genuine calls",
                          confidence=confidence, details={"unit": "share of genuine calls"})


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Result of :func:`simulate`: the merged tally and how it was made."""

    tally: TimeTally
    years: int
    seed: int
    seconds: float
    chunk_years: int
    start: str
    warmup_hours: float
    model_name: str
    assumptions: tuple[str, ...]
    states: int
    prov: dict[str, Any] = field(default_factory=dict)
    areas: tuple[str, ...] = ()  # the model's areas: the columns of ``tally.area_columns()``

    @property
    def unreachable_call_rate(self) -> Estimate:
        """Share of genuine calls that never reach their control room (:func:`unreachable_call_rate`)."""
        return dataclasses.replace(unreachable_call_rate(self.tally, seed=self.seed), provenance=self.prov)

    def _per_year(self, column: str, per_sample: float | None) -> Estimate:
        return sample_mean_estimate(self.tally.column(column), method=METHOD, seed=self.seed,
                                    sample="simulated year", per_sample=per_sample, quantiles=(50, 95, 99),
                                    details={"unit": f"{column.replace('_', ' ')} per simulated year"})

    def _yearly_summary(self, x: np.ndarray) -> dict[str, Any]:
        return summary_dict(sample_mean_estimate(x, method=METHOD, seed=self.seed, quantiles=(50, 95, 99),
                                                sample="simulated year"))

    @property
    def failed_calls_per_year(self) -> Estimate:
        """Genuine callers who never get through, per simulated year (quantiles in ``details``)."""
        return self._per_year("unreachable", None)

    @property
    def failed_calls_by_area(self) -> dict[str, Estimate]:
        """Genuine callers never connected per simulated year in each area of the model
        (:attr:`TimeModel.areas`; empty for a model without areas), quantiles in ``details``.

        Examples
        --------
        >>> r = simulate("uk999", years=20, seed=3, chunk_years=10)
        >>> by = r.failed_calls_by_area
        >>> abs(sum(e.value for e in by.values()) - r.failed_calls_per_year.value) < 1e-6
        True
        """
        cols = self.tally.area_columns()
        if cols.shape[1] != len(self.areas):
            raise ValueError(f"the tally has {cols.shape[1]} area columns; the result names "
                             f"{len(self.areas)} areas")
        return {a: sample_mean_estimate(cols[:, i], method=METHOD, seed=self.seed, sample="simulated year",
                                        quantiles=(50, 95, 99),
                                        details={"unit": f"genuine callers never connected a year in {a}"})
                for i, a in enumerate(self.areas)}

    @property
    def failed_attempts_per_year(self) -> Estimate:
        """Failed call attempts (redials included) per simulated year."""
        return self._per_year("failed_attempts", None)

    @property
    def down_hours_per_year(self) -> Estimate:
        """Hours a year with some demand cut off (at most the horizon of a year)."""
        return self._per_year("down_hours", HOURS_PER_YEAR)

    @property
    def unavailability(self) -> Estimate:
        """Time-average demand-weighted share of calls cut off."""
        return sample_mean_estimate(self.tally.column("unavailability"), method=METHOD, seed=self.seed,
                                    sample="simulated year", per_sample=1.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the CLI prints it with ``--json``); non-finite numbers become None."""
        return _json_safe(self._summary())

    def _summary(self) -> dict[str, Any]:
        t = self.tally
        g = t.column("genuine")
        un = t.column("unreachable")
        fa = t.column("failed_attempts")
        first = t.column("first_try")
        redial = t.column("after_redial")
        fb = t.column("via_fallback")
        connected = float(first.sum() + redial.sum() + fb.sum())
        delayed = int(t.hist.sum())
        zero_share = 1 - delayed / connected if connected > 0 else 1.0

        def overall(q: float) -> float:
            if q <= zero_share:
                return 0.0
            return _quantile_from_hist(t.hist, (q - zero_share) / (1 - zero_share))

        failed = summary_dict(self.failed_calls_per_year)
        return {
            "method": "event-driven simulation (time engine): outage intervals, distinct failed sets, "
                      "per-attempt callers in affected segments",
            "scenario": self.model_name,
            "years": self.years,
            "seed": self.seed,
            "seconds": self.seconds,
            "chunk_years": self.chunk_years,
            "start": self.start,
            "warmup_hours": self.warmup_hours,
            "unreachable_call_rate": self.unreachable_call_rate.to_dict(with_provenance=False),
            "failed_calls_per_year": failed,
            "failed_callers_per_year": failed,
            "failed_attempts_per_year": summary_dict(self.failed_attempts_per_year),
            "attempts_per_failed_caller": float(fa.sum() / un.sum()) if un.sum() else math.nan,
            "genuine_calls_per_year": float(g.mean()),
            "outcomes_per_year": {
                "connected_first_try": float(first.mean()),
                "connected_after_redial": float(redial.mean()),
                "connected_via_fallback": float(fb.mean()),
                "unreachable": float(un.mean()),
            },
            "time_to_connect_s": {
                "delayed_connections_per_year": delayed / self.years,
                "delayed": {f"p{p}": _quantile_from_hist(t.hist, p / 100) if delayed else "undefined: no "
                            "delayed connections" for p in (50, 95, 99)},
                "all_connected": {"p99": overall(0.99), "p99_9": overall(0.999), "p99_99": overall(0.9999),
                                  "p99_999": overall(0.99999)},
            },
            "unavailability": self.unavailability.to_dict(with_provenance=False),
            "down_hours_per_year": summary_dict(self.down_hours_per_year),
            "affected_hours_per_year": float(t.column("affected_hours").mean()),
            "simulated_calls_per_year": float(t.column("simulated").mean()),
            "outcomes_by_definition": outcome_summaries(t.column, self._yearly_summary),
            "failed_calls_by_area": {a: summary_dict(e) for a, e in self.failed_calls_by_area.items()},
            "largest_incidents": list(t.incidents),
            "states_evaluated": self.states,
            "assumptions": list(self.assumptions),
            "provenance": self.prov,
        }


def outcome_summaries(column: Callable[[str], np.ndarray], summarise: Callable[[np.ndarray], dict[str, float]]
                      ) -> dict[str, Any]:
    """Every published outcome definition (:data:`model.sim.outcomes.OUTCOMES`) with its genuine,
    non-genuine and combined counts summarised by ``summarise`` and the published counts it matches."""
    out: dict[str, Any] = {}
    for o in OUTCOMES:
        fg, fn = o.fields()
        g, ng = column(fg), column(fn)
        out[o.key] = {"definition": o.definition, "matches_published": list(o.matches),
                      "genuine": summarise(g), "non_genuine": summarise(ng), "all": summarise(g + ng)}
    return out


def _json_safe(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_json_safe(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    return x


def _scenario_of(x: Any) -> Scenario | None:
    if isinstance(x, Scenario):
        return x
    if isinstance(x, CallNetwork):
        return x.scenario
    return None


def as_time_model(net_or_scenario: TimeModel | CallNetwork | Scenario | str | Path) -> TimeModel:
    """The time model of anything that names a scenario (cached, so its states are evaluated once)."""
    if isinstance(net_or_scenario, TimeModel):
        return net_or_scenario
    if isinstance(net_or_scenario, CallNetwork):
        tm = _MODELS.get(net_or_scenario)
        if tm is None:
            tm = _MODELS[net_or_scenario] = build_time_model(net_or_scenario)
        return tm
    from model.scenario.loader import load_scenario

    scenario = net_or_scenario if isinstance(net_or_scenario, Scenario) else load_scenario(net_or_scenario)
    key = scenario.digest
    tm = _BY_DIGEST.get(key)
    if tm is None:
        if len(_BY_DIGEST) >= 8:
            _BY_DIGEST.pop(next(iter(_BY_DIGEST)))
        tm = _BY_DIGEST[key] = build_time_model(scenario)
    return tm


_MODELS: weakref.WeakKeyDictionary[CallNetwork, TimeModel] = weakref.WeakKeyDictionary()
_BY_DIGEST: dict[str, TimeModel] = {}


def simulate(
    net_or_scenario: TimeModel | CallNetwork | Scenario | str | Path,
    years: int,
    seed: int | None = None,
    *,
    chunk_years: int | None = None,
    warmup_hours: float = 0.0,
    start: str = "stationary",
    callers: CallerParams | None = None,
    backend: Any = None,
    workers: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float = 1.0,
    target_rse: float | None = None,
    progress: bool | None = None,
    quiet: bool = False,
    max_memory: int | None = None,
) -> SimulationResult:
    """Simulate ``years`` years of a scenario: failed calls a year and the unreachable-call rate.

    The chunk function is :func:`run_chunk`, the finish step :func:`make_result`; the runner adds
    the tallies in chunk order, so the same ``(years, chunk_years, seed)`` gives the same bits on
    one core, worker processes or a Dask cluster.

    Parameters
    ----------
    net_or_scenario : TimeModel, CallNetwork, Scenario, bundled name or path
    years : int
        Simulated years in the plan (fewer when ``target_rse`` stops the run).
    seed : int, optional
        Entropy of the root ``SeedSequence`` (fresh and recorded when None).
    chunk_years : int, optional
        Years per chunk (default :data:`DEFAULT_CHUNK_YEARS`).
    warmup_hours : float
        Start the outage processes this much earlier (with ``start``).
    start : {"stationary", "up"}
        State of every outage process when it starts (see :mod:`model.processes.outages`).
    callers : CallerParams, optional
        Caller behaviour instead of the scenario's.
    backend : "serial", "auto", "processes", dask Client or "tcp://host:port", optional
        Default ``"serial"``, or ``"auto"`` when ``workers`` is given.
    workers, checkpoint, checkpoint_interval, target_rse, progress, quiet
        See :func:`model.run.runner.run_chunks`; ``target_rse`` applies to the unreachable-call
        rate.
    max_memory : int, optional
        Memory budget (bytes) of the state table in each process (default
        :data:`STATE_MEMORY_BUDGET`): states, routing plans and attempt losses beyond it are evicted
        and evaluated again when met again. Bounds memory whatever the years; the result is the same
        bits for any budget.

    Returns
    -------
    SimulationResult
        With ``prov["run"]`` = :meth:`~model.run.runner.RunInfo.to_dict`. ``states`` is the number
        of states evaluated (with workers: by the workers, a diagnostic that depends on their caches).

    Raises
    ------
    ValueError
        ``years < 1``, bad options, or a checkpoint of another run.
    RuntimeError
        A chunk failed in a worker.

    Examples
    --------
    >>> res = simulate("uk999", years=50, seed=3, chunk_years=25)
    >>> d = res.to_dict()
    >>> d["years"], sorted(d["unreachable_call_rate"])[:3]
    (50, ['ci_high', 'ci_low', 'confidence'])
    >>> res.unreachable_call_rate.method
    'time-simulation'
    """
    if years < 1:
        raise ValueError(f"years must be >= 1, got {years}")
    cy = DEFAULT_CHUNK_YEARS if chunk_years is None else int(chunk_years)
    if backend is None:
        backend = "serial" if workers is None else "auto"
    model = as_time_model(net_or_scenario)
    check_normal_operation(model, _scenario_of(net_or_scenario))
    check_call_budget(model, _scenario_of(net_or_scenario))
    kwargs: dict[str, Any] = {"start": start, "warmup_hours": float(warmup_hours), "chunk_years": cy,
                              "callers": callers}
    if max_memory is not None:
        if max_memory < 1:
            raise ValueError(f"max_memory must be a positive number of bytes, got {max_memory}")
        kwargs["state_memory"] = int(max_memory)
    tally, info = run_chunks(
        run_chunk, model, chunk_plan(years, cy), seed, backend=backend, workers=workers,
        checkpoint=checkpoint, checkpoint_interval=checkpoint_interval, target_rse=target_rse,
        estimate_fn=unreachable_call_rate, progress=progress, quiet=quiet, chunk_kwargs=kwargs,
        unit="years", desc="simulate")
    res = make_result(model, tally, seed=info.seed_entropy, seconds=info.seconds, chunk_years=cy,
                      start=start, warmup_hours=warmup_hours)
    states = res.states if info.backend == "serial" else tally.evaluations
    return dataclasses.replace(res, states=states, prov={**res.prov, "run": info.to_dict()})


def make_result(model: TimeModel, tally: TimeTally, *, seed: int, seconds: float, chunk_years: int,
                start: str = "stationary", warmup_hours: float = 0.0) -> SimulationResult:
    """The finish step: a :class:`SimulationResult` from a merged tally."""
    prov = provenance(method="time-simulation", seed_entropy=seed, years=tally.years, chunk_years=chunk_years,
                      scenario=model.name)
    return SimulationResult(tally, tally.years, int(seed), seconds, chunk_years, start, warmup_hours,
                            model.name, model.assumptions, state_table_for(model).n, prov, tuple(model.areas))


# ----------------------------------------------------------------------------- plain graphs
@dataclass(frozen=True)
class GraphSimulationResult:
    """Result of :func:`simulate_graph`: s–t unavailability and its companions, each an :class:`Estimate`.

    Attributes
    ----------
    unavailability : Estimate
        Long-run share of time ``source`` cannot reach ``target`` (between-year interval; the
        one-sided bound when no year had any down time).
    failure_frequency_per_year : Estimate
        Periods of s–t disconnection that begin per year (the Poisson bound when none began).
    mean_down_hours : float
        Down time per such period (``nan`` when none began).
    point_unavailability : tuple of Estimate
        At each probe hour: the share of years in which ``source`` cannot reach ``target``
        (Wilson interval; the one-sided bound when no year was down), ``details["hour"]``.
    """

    unavailability: Estimate
    failure_frequency_per_year: Estimate
    mean_down_hours: float
    point_unavailability: tuple[Estimate, ...]
    years: int
    horizon_hours: float
    seed: int
    start: str
    seconds: float
    states_evaluated: int
    assumptions: tuple[str, ...]
    provenance: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``estimate``, ``ci_low``, ... of the unavailability at the top level)."""
        u = self.unavailability
        f = self.failure_frequency_per_year
        out: dict[str, Any] = {
            "method": "event-driven simulation (time engine)",
            "estimate": u.value, "std_error": u.std_error, "ci_low": u.ci_low, "ci_high": u.ci_high,
            "interval": u.interval, "confidence": u.confidence,
            "failure_frequency_per_year": f.value, "failure_frequency_std_error": f.std_error,
            "failure_frequency": f.to_dict(),
            "mean_down_hours": self.mean_down_hours, "years": self.years, "horizon_hours": self.horizon_hours,
            "seed": self.seed, "start": self.start, "seconds": self.seconds,
            "states_evaluated": self.states_evaluated, "assumptions": list(self.assumptions),
            "provenance": self.provenance,
        }
        if self.point_unavailability:
            out["point_unavailability"] = [
                {"hour": e.details["hour"], "estimate": e.value, "std_error": e.std_error, "ci_low": e.ci_low,
                 "ci_high": e.ci_high, "interval": e.interval, "down_years": e.details["events"]}
                for e in self.point_unavailability]
        return _json_safe(out)


def simulate_graph(
    graph: nx.Graph,
    source: Hashable,
    target: Hashable | Sequence[Hashable],
    years: int,
    seed: int | None = None,
    *,
    chunk_years: int = DEFAULT_CHUNK_YEARS,
    start: str = "stationary",
    warmup_hours: float = 0.0,
    repair: str = "exponential",
    up: str = "exponential",
    shared_clock: bool = False,
    horizon: float = HOURS_PER_YEAR,
    probe_hours: Sequence[float] = (),
    backend: Any = None,
    workers: int | None = None,
) -> GraphSimulationResult:
    """Long-run s–t unavailability of a graph whose elements carry ``mtbf``/``mttr`` (hours).

    Parameters
    ----------
    graph : networkx.Graph or DiGraph
        Edges (and nodes) with ``mtbf`` and ``mttr`` in hours fail; the others never do.
    source, target : node, or nodes for ``target`` (any of them will do)
    years : int
        Simulated windows of ``horizon`` hours.
    seed : int, optional
        Entropy of the root ``SeedSequence``.
    chunk_years, start, warmup_hours, repair, up, shared_clock, horizon
        Chunking and the outage processes (see :func:`model.sim.timemodel.time_model_from_graph`).
    probe_hours : sequence of float
        Hours of every window at which to estimate the point unavailability.
    backend, workers
        As for :func:`simulate`; the result is the same bits on every backend.

    Returns
    -------
    GraphSimulationResult

    Raises
    ------
    ValueError
        ``years < 1`` or a graph element with bad failure data.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.Graph()
    >>> g.add_edge("s", "a", mtbf=1000.0, mttr=10.0); g.add_edge("a", "t", mtbf=1000.0, mttr=10.0)
    >>> out = simulate_graph(g, "s", "t", years=100, seed=2)
    >>> exact = 1 - (1000 / 1010) ** 2   # two independent items in series
    >>> u = out.unavailability
    >>> bool(abs(u.value - exact) < 4 * u.std_error), bool(abs(out.mean_down_hours - 10) < 2)
    (True, True)
    """
    if years < 1:
        raise ValueError(f"years must be >= 1, got {years}")
    model = time_model_from_graph(graph, source, target, repair=repair, up=up, shared_clock=shared_clock,
                                  horizon=horizon)
    if backend is None:
        backend = "serial" if workers is None else "auto"
    kwargs = {"start": start, "warmup_hours": float(warmup_hours), "chunk_years": int(chunk_years),
              "probe_hours": tuple(float(t) for t in probe_hours)}
    total, info = run_chunks(run_chunk, model, chunk_plan(years, chunk_years), seed, backend=backend,
                             workers=workers, chunk_kwargs=kwargs, progress=False, unit="years",
                             desc="simulate")
    seed = info.seed_entropy
    n = total.years
    down = total.column("down_hours")
    fails = total.column("failures")
    prov = provenance(method=METHOD, seed_entropy=seed, years=n, chunk_years=int(chunk_years),
                      run=info.to_dict())
    unav = dataclasses.replace(sample_mean_estimate(
        down / horizon, method=METHOD, seed=seed, per_sample=1.0,
        details={"unit": "share of time source cannot reach target"}), provenance=prov)
    freq = sample_mean_estimate(fails * (HOURS_PER_YEAR / horizon), method=METHOD, seed=seed,
                                details={"unit": "disconnections beginning per year"})
    pts: list[Estimate] = []
    if len(probe_hours):
        pr = np.concatenate([total.records[k].probes for k in sorted(total.records)])
        for i, t in enumerate(probe_hours):
            pts.append(binomial_estimate(int(pr[:, i].sum()), n, method=METHOD, seed=seed,
                                         details={"hour": float(t)}))
    states = state_table_for(model).n if info.backend == "serial" else total.evaluations
    return GraphSimulationResult(unav, freq, float(down.sum() / fails.sum()) if fails.sum() else math.nan,
                                 tuple(pts), int(years), float(horizon), int(seed), start, info.seconds,
                                 states, tuple(model.assumptions), prov)


# ----------------------------------------------------------------------------- incidents
def _sampled(value: Any, rng: np.random.Generator, n: int, name: str) -> np.ndarray:
    if isinstance(value, tuple) and len(value) == 2:
        lo, hi = float(value[0]), float(value[1])
        if hi < lo:
            raise ValueError(f"overrides[{name!r}]: range ({lo}, {hi}) has high < low")
        return lo + (hi - lo) * rng.random(n)
    if isinstance(value, list):
        return np.asarray(value, float)[rng.integers(0, len(value), n)]
    return np.full(n, float(value))


_OVERRIDE_KEYS = ("redial_probability", "redial_delay_s", "max_attempts", "patience_s", "compliance",
                  "advice_hour", "non_genuine_redial_probability")


def replay_incident(
    net: TimeModel | CallNetwork | Scenario | str | Path,
    incident_name: str,
    replications: int = 200,
    seed: int | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    random_outages: bool = False,
    tail_hours: float | None = None,
    callers: Sequence[CallerParams] | None = None,
    stream: int = 0,
) -> dict[str, Any]:
    """Replay a prescribed incident many times under uncertain caller behaviour.

    ``callers`` gives the caller behaviour of each replication (replication ``i``
    uses ``callers[i % len(callers)]``, e.g. a posterior sample from
    :mod:`model.metrics.calibration`); ``overrides`` then apply on top of it.
    Draws come from the named stream ``replay-callers`` with index ``stream`` (chunks of a
    parallel replay use their own index; :func:`model.run.seeds.named_rng`).

    Each replication replays the incident's phases (from its start clock and
    weekday, so the arrival profile is that of the day) with caller parameters
    drawn from ``overrides``: a number (fixed), a ``(low, high)`` tuple (uniform) or
    a list (one of them), for ``redial_probability``, ``redial_delay_s``,
    ``max_attempts``, ``patience_s``, ``compliance`` (every fallback line, or a
    mapping line name -> value for each line) and ``advice_hour``. The scenario's
    values are used for the rest. With ``random_outages`` the network's random
    outages run beside the incident.

    Parameters
    ----------
    net : TimeModel, CallNetwork, Scenario, bundled name or path
    incident_name : str
        An incident of the scenario (``[incidents.<name>]``).
    replications : int
        Replays, each with its own caller parameters and calls.
    seed : int, optional
        Entropy of the root ``SeedSequence``; the caller parameters come from its named stream
        ``replay-callers`` (:mod:`model.run.seeds`).
    overrides : mapping, optional
        Caller parameters to vary (see above).
    random_outages : bool
        Let the network's random outages run beside the incident.
    tail_hours : float, optional
        Hours simulated after the incident's last phase ends (default: twice the callers'
        patience, at least one hour).

    Returns
    -------
    dict
        Distributions over the replications (median, p05, p95, mean) of failed attempts,
        failed callers (unreachable), calls connected via fallback lines and after redial,
        the parameters drawn, and every count and parameter per replication
        (``per_replication``).

    Raises
    ------
    KeyError
        No incident of that name (the message lists those the scenario has).
    ValueError
        ``replications < 1`` or an unknown or malformed override.

    Examples
    --------
    >>> out = replay_incident("uk999", "bt_2023_06_25", replications=4, seed=1)
    >>> sorted(out["failed_callers"])
    ['mean', 'median', 'p05', 'p95']
    """
    model = as_time_model(net)
    if incident_name not in model.incidents:
        known = ", ".join(sorted(model.incidents)) or "none"
        raise KeyError(f"no incident named {incident_name!r} (scenario has: {known})")
    if replications < 1:
        raise ValueError("replications must be >= 1")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    overrides = dict(overrides or {})
    bad = set(overrides) - set(_OVERRIDE_KEYS)
    if bad:
        raise ValueError(f"unknown overrides {sorted(bad)}; allowed: {', '.join(_OVERRIDE_KEYS)}")
    t0 = time.perf_counter()
    inc = model.incidents[incident_name]
    rows = model.incident_events[incident_name]
    end = max((r[2] for r in rows), default=0.0)
    n = replications
    base = [model.callers] if not callers else list(callers)
    base = [base[i % len(base)] for i in range(n)]
    c = model.callers
    tail = tail_hours if tail_hours is not None else max(1.0, 2 * max(b.patience_h for b in base))
    horizon = end + tail
    rng = named_rng(seed, "replay-callers", int(stream))

    def col(key: str, of: Callable[[CallerParams], float]) -> np.ndarray:
        own = np.array([of(b) for b in base], float)
        if key not in overrides:
            return own
        return _sampled(overrides[key], rng, n, key)

    par = {
        "redial_probability": col("redial_probability", lambda b: b.redial_probability),
        "redial_delay_s": col("redial_delay_s", lambda b: b.redial_delay_h * 3600),
        "max_attempts": np.round(col("max_attempts", lambda b: b.max_attempts)),
        "patience_s": col("patience_s", lambda b: b.patience_h * 3600),
    }
    if "non_genuine_redial_probability" in overrides or c.non_genuine_redial_probability is not None:
        par["non_genuine_redial_probability"] = col("non_genuine_redial_probability",
                                                    lambda b: b.non_genuine_redial_probability or 0.0)
    comp = overrides.get("compliance")
    compliance = np.broadcast_to(model.fallback_compliance, (n, model.fallback_compliance.size)).copy()
    for i, b in enumerate(base):
        if b.compliance is not None:
            compliance[i] = b.compliance
    if isinstance(comp, Mapping):  # per fallback line
        unknown = set(comp) - set(model.fallback_names)
        if unknown:
            raise ValueError(f"overrides['compliance']: unknown fallback lines {sorted(unknown)}; "
                             f"the scenario has: {', '.join(model.fallback_names) or 'none'}")
        for line, value in comp.items():
            li = model.fallback_names.index(line)
            compliance[:, li] = _sampled(value, rng, n, f"compliance[{line}]")
            par[f"compliance[{line}]"] = compliance[:, li]
    elif comp is not None:
        compliance[:] = _sampled(comp, rng, n, "compliance")[:, None]
        par["compliance"] = compliance[:, 0] if compliance.size else np.zeros(n)
    advice = inc.advice_hour if inc.advice_hour is not None else c.advice_delay_h
    adv = overrides.get("advice_hour", advice)
    adv_h = _sampled(adv, rng, n, "advice_hour")
    par["advice_hour"] = adv_h
    ng = par.get("non_genuine_redial_probability")
    per = [dataclasses.replace(
        b, redial_probability=float(par["redial_probability"][i]),
        redial_delay_h=float(par["redial_delay_s"][i]) / 3600,
        max_attempts=max(int(par["max_attempts"][i]), 1), patience_h=float(par["patience_s"][i]) / 3600,
        advice_delay_h=float(adv_h[i]),
        redial_by_attempt=() if "redial_probability" in overrides else b.redial_by_attempt,
        non_genuine_redial_probability=None if ng is None else float(ng[i]))
        for i, b in enumerate(base)]
    cs = CallerSet.stack(per, compliance)
    # the prescribed intervals, in every replication
    ev = np.array([r[0] for r in rows], dtype=np.int64)
    st = np.array([r[1] for r in rows])
    en = np.array([r[2] for r in rows])
    out = Outages(np.repeat(np.arange(n), ev.size), np.tile(ev, n), np.tile(st, n), np.tile(en, n), n,
                  horizon)
    if random_outages:
        rnd = sample_outages(model.process, n, horizon, rng, start="stationary")
        out = out.concat(rnd, failover_windows(rnd, model.switch_policies, rng))
    hh, mm = (int(x) for x in inc.start_clock.split(":"))
    offset = inc.weekday * 24.0 + hh + mm / 60.0
    rec, _hist, _inc, n_calls = _run_years(model, out, rng, cs, pset_of_year=np.arange(n),
                                            profile_offset=np.full(n, offset), first_year=0,
                                            advice_local=adv_h)

    def dist(x: np.ndarray) -> dict[str, float]:
        return {"median": float(np.median(x)), "p05": float(np.percentile(x, 5)),
                "p95": float(np.percentile(x, 95)), "mean": float(x.mean())}

    return {
        "incident": incident_name,
        "label": inc.label,
        "replications": n,
        "seed": int(seed),
        "hours": horizon,
        "failed_attempts": dist(rec.failed_attempts),
        "failed_callers": dist(rec.unreachable),
        "connected_via_fallback": dist(rec.via_fallback),
        "connected_after_redial": dist(rec.after_redial),
        "genuine_calls": dist(rec.genuine),
        "simulated_calls": dist(rec.simulated),
        "outcomes_by_definition": outcome_summaries(rec.outcome, dist),
        "parameters": {k: dist(np.asarray(v, float)) for k, v in par.items()},
        "per_replication": {"failed_attempts": rec.failed_attempts.tolist(),
                            "outcomes": {f: rec.outcome(f).tolist() for f in _OUTCOME_FIELDS},
                            "failed_callers": rec.unreachable.tolist(),
                            "connected_via_fallback": rec.via_fallback.tolist(),
                            "connected_after_redial": rec.after_redial.tolist(),
                            "genuine_calls": rec.genuine.tolist(),
                            "simulated_calls": rec.simulated.tolist(),
                            "parameters": {k: np.asarray(v, float).tolist() for k, v in par.items()}},
        "seconds": time.perf_counter() - t0,
        "calls_simulated": int(n_calls),
    }


