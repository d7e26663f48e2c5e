"""Calls in a failed state: where they go, what capacity they meet, and how callers react.

Three layers, each vectorised:

**Routing** (:func:`route_states`) — for a batch of network states and every route
class (demands sharing source and targets), the share of the class's calls that
passes each capacity-limited node, the share delivered past components that drop
calls, and the extra delay. Calls go to the demand's control room or, when it
cannot be reached, to the first reachable buddy (after its ``buddy_delay_s``). At
each node they split over the out-arcs that still lead there, in proportion to the
servers of the next node (equally when it has no capacity) — so traffic
concentrates on whatever survives. While a standby group's primary serves (it is
up and no failover window is open), its standby members carry nothing; the flow
is a sum over paths of products of ``(1 - drop)``. Capacity nodes record the flow
that *arrives*, so calls dropped upstream do not load them.

**Capacity** (:class:`BlockingTable`) — at a call rate multiplier ``m`` (the
arrival profile at that time), node ``q`` is offered ``m × base_q`` Erlangs of fresh
calls; redials add to it through the retrial fixed point
(:func:`model.sim.erlang.redial_fixed_point`), and the loss of an attempt is the
M/M/c/K blocking (:func:`model.sim.erlang.mmck_blocking`) at the total load: servers
``c`` (× an incident's capacity factor), ``c + queue_limit`` places (unlimited queue:
loss only above ``c`` Erlangs). A call through several limited nodes is lost at
each independently (exact for nodes in series; first order for split routes).
Fallback lines are offered their normal load plus the complying share of failing
callers, with the same fixed point. Results are cached per (state, multiplier,
caller-parameter set).

**Callers** (:func:`simulate_calls`) — calls arriving in affected segments are
simulated together, one loop step per *attempt number*, never per call. Each
attempt looks up the network state at its time, succeeds with probability
``P(reachable) × P(not dropped) × P(not blocked)``, else the caller (from the
public-advice time on, once) may turn to a fallback line with probability
``compliance``, or redials with ``redial_probability`` after an exponential delay
of mean ``redial_delay_s``; callers give up after ``max_attempts`` or when the next
attempt would come later than ``patience_s`` after the first. Each caller ends
connected (first try, after redial, via a fallback, with its time to connect) or
unreachable; failed attempts are counted separately.

Examples
--------
>>> import numpy as np
>>> from model.sim.traffic import CallerSet
>>> cs = CallerSet.single(redial_probability=0.85, redial_delay_h=30 / 3600, max_attempts=5,
...                       patience_h=600 / 3600, advice_delay_h=2.0, compliance=np.array([0.5]))
>>> cs.n, cs.max_attempts.tolist()
(1, [5])
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from model.network.reachability import closure as _closure
from model.sim.erlang import mmck_blocking, redial_fixed_point
from model.sim.timemodel import CallerParams, TimeModel

__all__ = [
    "BLOCKING_EPS",
    "PLAN_CACHE_BUDGET",
    "BlockingTable",
    "CallOutcomes",
    "CallerSet",
    "RoutingPlan",
    "StateStack",
    "StateTraffic",
    "TrafficBase",
    "route_states",
    "simulate_calls",
]

#: A capacity node whose attempt loss at the profile's peak is below this is treated as lossless in
#: that state (its calls connect first time): bounds the error at BLOCKING_EPS per call.
BLOCKING_EPS = 1e-9
OUTCOME_UNREACHABLE, OUTCOME_FIRST, OUTCOME_REDIAL, OUTCOME_FALLBACK = 0, 1, 2, 3
#: Default bytes of the routing plans of class subsets a model keeps (:meth:`RoutingPlan.restrict`): a
#: plan is a few hundred KB on uk999, and there is one per distinct set of classes a state touches.
PLAN_CACHE_BUDGET = 32 * 2**20


# ----------------------------------------------------------------------------- routing
def _gather(ptr: np.ndarray, values: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row position, value) of the CSR rows ``rows``, concatenated."""
    starts = ptr[rows]
    counts = ptr[rows + 1] - starts
    pos = np.repeat(np.arange(rows.size), counts)
    offs = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return pos, values[np.repeat(starts, counts) + offs]


@dataclass(frozen=True, eq=False)
class RoutingPlan:
    """Route classes' own parts of the graph, as flat (class, node) and (class, arc) pairs.

    Only nodes and arcs on some path from a class's source to one of its targets
    matter; the pairs are grouped by the topological level of the node (the tail for
    arcs), so :func:`route_states` runs a handful of numpy operations per level,
    whatever the number of classes. :meth:`of` covers every class of a model;
    :meth:`restrict` a subset (the classes a state can change), cached.
    """

    classes: np.ndarray  # (k,) model classes covered, local class i = classes[i]
    pair_class: np.ndarray  # (P,) local class of each (class, node) pair, sorted by level
    pair_node: np.ndarray
    pair_of: np.ndarray  # (k, N) pair index or -1
    full_pair: np.ndarray  # (P,) the same pair in the model's full plan
    arc: np.ndarray  # (R,) (class, arc) pairs sorted by tail level, then tail pair
    arc_tail: np.ndarray  # pair index of the tail
    arc_head: np.ndarray
    level_arcs: tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], ...]
    target_pair: np.ndarray  # (k, T) pair of each target position, -1 padded
    source_pair: np.ndarray  # (k,)
    class_order: np.ndarray  # pairs sorted by class
    class_starts: np.ndarray  # start of each class in class_order

    @property
    def n_classes(self) -> int:
        return int(self.classes.size)

    @staticmethod
    def of(model: TimeModel) -> RoutingPlan:
        cache = model.__dict__.get("_routing_plan")
        if cache is not None:
            return cache
        net = model.net
        if not net.is_dag:
            raise ValueError("traffic routing needs an acyclic call network "
                             "(the scenario's links form a cycle)")
        n, k = net.n_nodes, model.n_classes
        tail, head = np.asarray(net.arc_src), np.asarray(net.arc_dst)
        level = np.zeros(n, dtype=np.int64)
        for u in net.topological_order.tolist():
            nxt = head[tail == u]
            level[nxt] = np.maximum(level[nxt], level[u] + 1)
        rel = np.zeros((k, n), dtype=bool)
        for c in range(k):  # once per class at build time
            st = np.zeros(n, dtype=bool)
            st[model.class_source[c]] = True
            fwd = _closure(st, tail, head)
            st = np.zeros(n, dtype=bool)
            st[model.class_target_list(c)] = True
            rel[c] = fwd & _closure(st, head, tail)
        rel_arc = rel[:, tail] & rel[:, head]
        kc, nc = np.nonzero(rel)
        ka, aa = np.nonzero(rel_arc)
        nptr = np.searchsorted(kc, np.arange(k + 1))
        aptr = np.searchsorted(ka, np.arange(k + 1))
        # inverse maps: node / arc -> classes whose part contains it (what a change there can touch)
        by_node = np.lexsort((kc, nc))
        by_arc = np.lexsort((ka, aa))
        extras = {
            "level": level, "nptr": nptr, "nodes": nc, "aptr": aptr, "arcs": aa,
            "node_cls_ptr": np.searchsorted(nc[by_node], np.arange(n + 1)), "node_cls": kc[by_node],
            "arc_cls_ptr": np.searchsorted(aa[by_arc], np.arange(net.n_arcs + 1)), "arc_cls": ka[by_arc],
            "restricted": {},
        }
        plan = RoutingPlan._assemble(model, np.arange(k), kc, nc, ka, aa, level, None)
        object.__setattr__(plan, "_extras", extras)
        object.__setattr__(model, "_routing_plan", plan)
        return plan

    def touched(self, nodes: np.ndarray, arcs: np.ndarray) -> np.ndarray:
        """Model classes whose part of the graph contains any of these nodes or arcs (full plan only)."""
        ex = self.__dict__["_extras"]
        _, a = _gather(ex["node_cls_ptr"], ex["node_cls"], np.asarray(nodes, dtype=np.int64))
        _, b = _gather(ex["arc_cls_ptr"], ex["arc_cls"], np.asarray(arcs, dtype=np.int64))
        return np.unique(np.concatenate([a, b]))

    def restrict(self, model: TimeModel, classes: np.ndarray) -> RoutingPlan:
        """The plan of a subset of the model's classes (full plan only; cached per subset)."""
        ex = self.__dict__["_extras"]
        key = np.asarray(classes, dtype=np.int64).tobytes()
        cache = ex["restricted"]
        plan = cache.get(key)
        if plan is None:
            classes = np.asarray(classes, dtype=np.int64)
            kc, nc = _gather(ex["nptr"], ex["nodes"], classes)
            ka, aa = _gather(ex["aptr"], ex["arcs"], classes)
            plan = RoutingPlan._assemble(model, classes, kc, nc, ka, aa, ex["level"], self)
            cache[key] = plan
            ex["restricted_bytes"] = ex.get("restricted_bytes", 0) + plan.nbytes
            limit = ex.get("restricted_limit", PLAN_CACHE_BUDGET)
            while ex["restricted_bytes"] > limit and len(cache) > 1:  # least recently used first
                ex["restricted_bytes"] -= cache.pop(next(iter(cache))).nbytes
        else:
            cache[key] = cache.pop(key)  # most recently used last
        return plan

    @property
    def nbytes(self) -> int:
        """Bytes held by the plan's arrays."""
        arrays = [self.classes, self.pair_class, self.pair_node, self.pair_of, self.full_pair, self.arc,
                  self.arc_tail, self.arc_head, self.target_pair, self.source_pair, self.class_order,
                  self.class_starts, *(a for level in self.level_arcs for a in level)]
        return int(sum(a.nbytes for a in arrays))

    def set_cache_budget(self, nbytes: int) -> None:
        """Bound the plans of class subsets kept by :meth:`restrict` (bytes; least recently used go first)."""
        ex = self.__dict__["_extras"]
        ex["restricted_limit"] = int(nbytes)

    @staticmethod
    def _assemble(model: TimeModel, classes: np.ndarray, kc: np.ndarray, nc: np.ndarray, ka: np.ndarray,
                  aa: np.ndarray, level: np.ndarray, full: RoutingPlan | None) -> RoutingPlan:
        net = model.net
        k = classes.size
        tail, head = np.asarray(net.arc_src), np.asarray(net.arc_dst)
        order = np.lexsort((nc, kc, level[nc]))
        kc, nc = kc[order], nc[order]
        pair_of = np.full((k, net.n_nodes), -1, dtype=np.int64)
        pair_of[kc, nc] = np.arange(kc.size)
        at = pair_of[ka, tail[aa]]
        ah = pair_of[ka, head[aa]]
        order = np.lexsort((at, level[tail[aa]]))
        aa, at, ah = aa[order], at[order], ah[order]
        alev = level[tail[aa]]
        level_arcs = []
        for L in np.unique(alev):
            sel = np.flatnonzero(alev == L)
            tails = at[sel]
            t_starts = np.flatnonzero(np.r_[True, tails[1:] != tails[:-1]])
            by_head = sel[np.argsort(ah[sel], kind="stable")]
            heads = ah[by_head]
            h_starts = np.flatnonzero(np.r_[True, heads[1:] != heads[:-1]])
            pos_in_sel = np.searchsorted(sel, by_head)  # by-head order within sel
            level_arcs.append((sel, t_starts, pos_in_sel, h_starts, heads[h_starts]))
        t = int(np.diff(model.class_target_ptr).max(initial=1))
        tp = np.full((k, t), -1, dtype=np.int64)
        tpos, tnode = _gather(model.class_target_ptr, model.class_targets, classes)
        rank = np.arange(tpos.size) - np.searchsorted(tpos, tpos)
        tp[tpos, rank] = pair_of[tpos, tnode]
        sp = pair_of[np.arange(k), model.class_source[classes]]
        corder = np.argsort(kc, kind="stable")
        cstarts = np.searchsorted(kc[corder], np.arange(k))
        full_pair = np.arange(kc.size) if full is None else full.pair_of[classes[kc], nc]
        return RoutingPlan(classes, kc, nc, pair_of, full_pair, aa, at, ah, tuple(level_arcs), tp, sp,
                           corder, cstarts)


@dataclass(frozen=True, eq=False)
class StateRoutes:
    """Routing results of a batch of states (``B`` states, ``K`` classes, ``Q`` capacity nodes)."""

    routed: np.ndarray  # (B, K) bool: some target reachable along the routing rules
    delivered: np.ndarray  # (B, K) share of calls not dropped on the way
    pair_flow: np.ndarray  # (B, P) share of the class's calls arriving at each of its nodes (plan pairs)
    delay_h: np.ndarray  # (B, K) expected extra delay (buddy transfer, incident delays)
    plan: RoutingPlan

    def cap_flow(self, model: TimeModel, i: int, caps: np.ndarray) -> np.ndarray:
        """(K, len(caps)) share of each class's calls arriving at capacity nodes ``caps`` in state ``i``."""
        cp = self.plan.pair_of[:, model.cap_node[caps]]
        return np.where(cp >= 0, self.pair_flow[i][np.maximum(cp, 0)], 0.0)


def _element_keep(comp_drop: np.ndarray, comp_of: np.ndarray) -> np.ndarray:
    """(B, E) share of calls each element (node or arc) keeps; 1 for elements that are no component."""
    keep = np.ones((comp_drop.shape[0], comp_of.size))
    has = comp_of >= 0
    if has.any():
        keep[:, has] = 1 - comp_drop[:, comp_of[has]]
    return keep


def route_states(model: TimeModel, down: np.ndarray, comp_drop: np.ndarray, node_drop: np.ndarray,
                 node_delay_h: np.ndarray, window_active: np.ndarray, *, standby: bool = True,
                 classes: np.ndarray | None = None) -> StateRoutes:
    """Where calls go in each of a batch of states (see the module notes).

    Parameters
    ----------
    down : bool (B, C)
        Components down (structurally).
    comp_drop : float (B, C)
        Share of calls each (structurally up) component drops.
    node_drop, node_delay_h : float (B, N)
        Extra drop share and delay (hours) at nodes (effects on never-failing nodes).
    window_active : bool (B, G)
        Failover window of each standby group open.
    standby : bool
        Apply the standby rule (standby members idle while the primary serves).
    classes : int array, optional
        Route only these classes (results are then over them, in this order).

    Examples
    --------
    >>> import numpy as np
    >>> from model.sim.timemodel import build_time_model
    >>> tm = build_time_model("uk999")
    >>> c, n = tm.net.n_components, tm.net.n_nodes
    >>> down = np.zeros((2, c), dtype=bool)
    >>> down[1, list(tm.net.component_names).index("bt_primary")] = True  # the DR takes the calls
    >>> r = route_states(tm, down, np.zeros((2, c)), np.zeros((2, n)), np.zeros((2, n)),
    ...                  np.zeros((2, 1), dtype=bool))
    >>> dr = list(tm.cap_node).index(list(tm.net.node_names).index("bt_dr"))
    >>> r.cap_flow(tm, 0, np.array([dr])).max(), r.cap_flow(tm, 1, np.array([dr])).min()
    (np.float64(0.0), np.float64(1.0))
    """
    net = model.net
    plan = RoutingPlan.of(model)
    if classes is not None:
        plan = plan.restrict(model, classes)
    b = down.shape[0]
    k = plan.n_classes
    nc = net.node_component
    ac = net.arc_component
    has = nc >= 0
    has_a = ac >= 0
    node_up = np.ones((b, net.n_nodes), dtype=bool)
    node_up[:, has] = ~down[:, nc[has]]
    arc_up = np.ones((b, net.n_arcs), dtype=bool)
    arc_up[:, has_a] = ~down[:, ac[has_a]]
    if standby:
        for g in range(model.standby_primary.size):
            p = model.standby_primary[g]
            serving = ~down[:, p] if p >= 0 else np.ones(b, dtype=bool)
            if model.standby_window[g] >= 0:
                serving &= ~window_active[:, g]
            nodes = model.standby_nodes[model.standby_nodes_ptr[g]: model.standby_nodes_ptr[g + 1]]
            arcs = model.standby_arcs[model.standby_arcs_ptr[g]: model.standby_arcs_ptr[g + 1]]
            if nodes.size:
                node_up[np.ix_(serving, nodes)] = False
            if arcs.size:
                arc_up[np.ix_(serving, arcs)] = False
    keep_node = (1 - node_drop) * _element_keep(comp_drop, nc)
    keep_arc = _element_keep(comp_drop, ac)
    pn, pc = plan.pair_node, plan.pair_class
    p_up = node_up[:, pn]  # (B, P)
    a_up = arc_up[:, plan.arc]  # (B, R)
    # reverse pass per target position; calls go to the first reachable target
    n_pos = plan.target_pair.shape[1]
    reach = np.zeros((n_pos, b, pn.size), dtype=bool)
    for j in range(n_pos):
        tp = plan.target_pair[:, j]
        tp = tp[tp >= 0]
        r = reach[j]
        r[:, tp] = p_up[:, tp]
        for sel, t_starts, _pos, _hs, _heads in plan.level_arcs[::-1]:
            via = np.logical_or.reduceat(a_up[:, sel] & r[:, plan.arc_head[sel]], t_starts, axis=1)
            tails = plan.arc_tail[sel][t_starts]
            r[:, tails] |= via & p_up[:, tails]
    src_reach = reach[:, :, plan.source_pair]  # (T, B, K)
    chosen = np.full((b, k), -1, dtype=np.int64)
    for j in range(n_pos - 1, -1, -1):
        chosen = np.where(src_reach[j], j, chosen)
    routed = chosen >= 0
    ch_pair = np.maximum(chosen, 0)[:, pc]  # (B, P) chosen position of each pair's class
    reach_sel = np.take_along_axis(reach.transpose(1, 2, 0), ch_pair[:, :, None], axis=2)[:, :, 0]
    reach_sel &= routed[:, pc]
    tgt_pair = np.where(routed, plan.target_pair[np.arange(k)[None, :], np.maximum(chosen, 0)], -1)
    is_target = np.zeros((b, pn.size), dtype=bool)
    bb, kk = np.nonzero(routed)
    is_target[bb, tgt_pair[bb, kk]] = True
    flow = np.zeros((b, pn.size))
    flow[:, plan.source_pair] = routed
    w_arc = model.split_weight[plan.arc]
    for sel, t_starts, pos, h_starts, heads in plan.level_arcs:
        tails_all = plan.arc_tail[sel]
        out = flow[:, tails_all] * keep_node[:, pn[tails_all]] * ~is_target[:, tails_all]
        valid = a_up[:, sel] & reach_sel[:, plan.arc_head[sel]]
        w = valid * w_arc[sel]
        tot = np.add.reduceat(w, t_starts, axis=1)
        cnt = np.diff(np.r_[t_starts, sel.size])
        tot_arc = np.repeat(tot, cnt, axis=1)
        share = np.divide(w, tot_arc, out=np.zeros_like(w), where=tot_arc > 0)
        moved = out * share * keep_arc[:, plan.arc[sel]]
        flow[:, heads] += np.add.reduceat(moved[:, pos], h_starts, axis=1)
    safe = np.maximum(tgt_pair, 0)
    at_target = np.take_along_axis(flow, safe, axis=1)
    delivered = np.where(routed, at_target * np.take_along_axis(keep_node[:, pn], safe, axis=1), 0.0)
    dl = (flow * node_delay_h[:, pn])[:, plan.class_order]
    delay = np.add.reduceat(dl, plan.class_starts, axis=1) if dl.shape[1] else np.zeros((b, k))
    primary_room = model.class_targets[model.class_target_ptr[plan.classes]]
    delay = delay + np.where(chosen > 0, model.buddy_delay_h[primary_room][None, :], 0.0)
    return StateRoutes(routed, delivered, flow, delay, plan)


# ----------------------------------------------------------------------------- per-state traffic
@dataclass(frozen=True, eq=False)
class TrafficBase:
    """What every state of a table shares: the normal state's per-class delivered share and delay.

    A :class:`StateTraffic` stores only where it differs from these (a failure changes a few
    classes of a thousand), so a state costs about 1 KB instead of 20 KB on uk999.
    """

    delivered: np.ndarray  # (K,)
    delay_h: np.ndarray  # (K,)
    n_demands: int


def _bits_differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Positions where two float arrays differ in any bit (NaN, -0.0 and +0.0 told apart)."""
    return np.asarray(a, np.float64).view(np.int64) != np.asarray(b, np.float64).view(np.int64)


def _positions(mask: np.ndarray) -> np.ndarray:
    return np.flatnonzero(mask).astype(np.int32)


#: Bytes an ndarray object costs beyond its data (numpy's header), for the state table's accounting.
ARRAY_OVERHEAD = 112


@dataclass(frozen=True, eq=False)
class StateTraffic:
    """What calls meet in one network state (built by the engine's state table), stored compactly.

    Per-demand flags are kept as the positions that are set, per-class values as the classes where
    they differ from the table's :class:`TrafficBase` and the capacity shares as the classes that
    send calls to a lossy capacity node; the dense views are properties, bit for bit what was built.

    Attributes
    ----------
    unreachable : bool (D,)
    delivered : float (K,)
    delay_h : float (K,)
    cap : int (Qs,) capacity nodes that can lose calls in this state (indices into the model's)
    usage : float (K, Qs) share of each class's calls arriving at them
    base_erlang : float (Qs,) fresh offered load at multiplier 1 (all calls, Erlangs)
    servers, places : float (Qs,) servers and total places (servers + queue) in this state
    affected : bool (D,) demands whose calls may fail or be delayed in this state
    clean : bool  nothing can fail or be delayed: every call connects first time
    affected_rate : float  mean genuine calls per hour of the affected demands
    roaming : bool (D,) or None: the demand's home network or access link is down and its masts stop
        radiating, so its handsets look for another network (emergency roaming); None when no demand
        can roam

    Examples
    --------
    >>> import numpy as np
    >>> base = TrafficBase(np.ones(3), np.zeros(3), 4)
    >>> st = StateTraffic.of_dense(base, np.array([False, True, False, False]), np.array([1.0, 0.5, 1.0]),
    ...                            np.zeros(3), np.zeros(0, dtype=np.int64), np.zeros((3, 0)), np.zeros(0),
    ...                            np.zeros(0), np.zeros(0), np.array([False, True, True, False]), False, 2.0)
    >>> st.unreachable_at.tolist(), st.class_at.tolist(), st.delivered.tolist(), st.affected.tolist()
    ([1], [1], [1.0, 0.5, 1.0], [False, True, True, False])
    """

    base: TrafficBase
    unreachable_at: np.ndarray  # int32 demands cut off
    affected_at: np.ndarray  # int32 demands affected, sorted
    class_at: np.ndarray  # int32 classes whose delivered share or delay differ from the base
    delivered_at: np.ndarray
    delay_at: np.ndarray
    cap: np.ndarray
    usage_at: np.ndarray  # int32 classes with some share at a lossy capacity node
    usage_rows: np.ndarray  # (len(usage_at), Qs)
    base_erlang: np.ndarray
    servers: np.ndarray
    places: np.ndarray
    clean: bool
    affected_rate: float = 0.0  # genuine calls per hour (mean) of the affected demands
    roaming_at: np.ndarray | None = None  # int32 demands whose handsets roam; None: none can

    @staticmethod
    def of_dense(base: TrafficBase, unreachable: np.ndarray, delivered: np.ndarray, delay_h: np.ndarray,
                 cap: np.ndarray, usage: np.ndarray, base_erlang: np.ndarray, servers: np.ndarray,
                 places: np.ndarray, affected: np.ndarray, clean: bool, affected_rate: float,
                 roaming: np.ndarray | None = None) -> StateTraffic:
        """The compact form of a state given densely (exactly: the properties give back these bits)."""
        cls = _positions(_bits_differ(delivered, base.delivered) | _bits_differ(delay_h, base.delay_h))
        usage = np.asarray(usage, np.float64)
        rows = (_positions((usage.view(np.int64) != 0).any(axis=1)) if usage.shape[1]
                else np.zeros(0, np.int32))
        return StateTraffic(base, _positions(unreachable), _positions(affected), cls,
                            np.asarray(delivered, np.float64)[cls], np.asarray(delay_h, np.float64)[cls],
                            np.asarray(cap, np.int64), rows, usage[rows], np.asarray(base_erlang, np.float64),
                            np.asarray(servers, np.float64), np.asarray(places, np.float64), bool(clean),
                            float(affected_rate), None if roaming is None else _positions(roaming))

    def _flags(self, at: np.ndarray) -> np.ndarray:
        out = np.zeros(self.base.n_demands, dtype=bool)
        out[at] = True
        return out

    @property
    def unreachable(self) -> np.ndarray:
        return self._flags(self.unreachable_at)

    @property
    def affected(self) -> np.ndarray:
        return self._flags(self.affected_at)

    @property
    def roaming(self) -> np.ndarray | None:
        return None if self.roaming_at is None else self._flags(self.roaming_at)

    @property
    def delivered(self) -> np.ndarray:
        out = self.base.delivered.copy()
        out[self.class_at] = self.delivered_at
        return out

    @property
    def delay_h(self) -> np.ndarray:
        out = self.base.delay_h.copy()
        out[self.class_at] = self.delay_at
        return out

    @property
    def usage(self) -> np.ndarray:
        out = np.zeros((self.base.delivered.size, self.cap.size))
        out[self.usage_at] = self.usage_rows
        return out

    def digest(self) -> int:
        """A 64-bit digest of every bit this state holds (the shared base not included)."""
        h = hashlib.blake2b(digest_size=8)
        for a in (self.unreachable_at, self.affected_at, self.class_at, self.delivered_at, self.delay_at,
                  self.cap, self.usage_at, self.usage_rows, self.base_erlang, self.servers, self.places,
                  self.roaming_at if self.roaming_at is not None else np.zeros(0, np.int8)):
            h.update(str(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(np.array([self.affected_rate, float(self.clean)]).tobytes())
        return int.from_bytes(h.digest(), "little")

    @property
    def nbytes(self) -> int:
        """Bytes this state holds (its arrays and their headers; the shared base not counted)."""
        arrays = [self.unreachable_at, self.affected_at, self.class_at, self.delivered_at, self.delay_at,
                  self.cap, self.usage_at, self.usage_rows, self.base_erlang, self.servers, self.places]
        if self.roaming_at is not None:
            arrays.append(self.roaming_at)
        return int(sum(a.nbytes for a in arrays)) + ARRAY_OVERHEAD * (len(arrays) + 1)

    @staticmethod
    def build(model: TimeModel, unreachable: np.ndarray, routes: StateRoutes | None, i: int,
              cap_factor: np.ndarray, cap_queue: np.ndarray, peak: float,
              down: np.ndarray | None = None, base: TrafficBase | None = None) -> StateTraffic:
        """State ``i`` of a routed batch (``routes`` None: no traffic model); ``down``: down components.

        ``base``: the table's shared normal-state values (None: this state's own, for the first state).
        """
        roaming = None
        if model.can_roam and down is not None:
            pad = np.r_[np.asarray(down, dtype=bool), False]  # index -1 reads False
            roaming = (model.roam_home >= 0) & (pad[model.roam_home] | pad[model.roam_link])
            roaming = roaming if roaming.any() else None
        k = model.n_classes
        if routes is None or not model.has_traffic:
            aff = unreachable.copy()
            delivered, delay = np.ones(k), np.zeros(k)
            base = base or TrafficBase(delivered.copy(), delay.copy(), int(unreachable.size))
            return StateTraffic.of_dense(base, unreachable, delivered, delay, np.zeros(0, dtype=np.int64),
                                         np.zeros((k, 0)), np.zeros(0), np.zeros(0), np.zeros(0), aff,
                                         not bool(aff.any()), float(model.demand_rate[aff].sum()), roaming)
        cls = model.demand_class
        delivered = routes.delivered[i]
        delay = routes.delay_h[i]
        base = base or TrafficBase(delivered.copy(), delay.copy(), int(unreachable.size))
        plan = RoutingPlan.of(model)
        rate_cls = np.bincount(cls, weights=model.demand_rate * ~unreachable, minlength=model.n_classes)
        # fresh load of every capacity node at m = 1: class rates times the share arriving there
        node_rate = np.bincount(plan.pair_node, weights=rate_cls[plan.pair_class] * routes.pair_flow[i],
                                minlength=model.net.n_nodes)
        base_load = node_rate[model.cap_node] * model.cap_scale * model.cap_aht_h  # Erlangs at m = 1
        servers = model.cap_servers * cap_factor
        places = servers + np.where(np.isnan(cap_queue), model.cap_queue, cap_queue)
        loss_peak = (np.asarray(mmck_blocking(servers, places, peak * base_load), float) if base_load.size
                     else base_load)
        cap = np.flatnonzero(loss_peak > BLOCKING_EPS)
        usage = routes.cap_flow(model, i, cap)
        lossy_cls = (delivered < 1 - 1e-12) | (delay > 0) | (usage > 0).any(axis=1)
        affected = unreachable | (lossy_cls[cls] & (model.demand_rate > 0))
        affected &= model.demand_rate > 0
        return StateTraffic.of_dense(base, unreachable, delivered, delay, cap, usage, base_load[cap],
                                     servers[cap], places[cap], affected, not bool(affected.any()),
                                     float(model.demand_rate[affected].sum()), roaming)


# ----------------------------------------------------------------------------- callers
@dataclass(frozen=True, eq=False)
class CallerSet:
    """Caller behaviour for ``n`` parameter sets (one per replication in a replay; one in a run).

    Times in hours; ``compliance`` is (n, L) for the fallback lines.
    """

    redial_probability: np.ndarray
    redial_delay_h: np.ndarray
    max_attempts: np.ndarray
    patience_h: np.ndarray
    advice_delay_h: np.ndarray
    compliance: np.ndarray
    #: (n, J) chance of another attempt after the 1st, 2nd, ... failed attempt (last column repeats);
    #: None: ``redial_probability`` after every failed attempt
    redial_curve: np.ndarray | None = None
    redial_delay_law: str = "exponential"
    redial_delay_cv: np.ndarray | None = None  # (n,), lognormal law
    patience_law: str = "fixed"
    patience_cv: np.ndarray | None = None  # (n,), lognormal law
    #: (n,) redial chance of non-genuine callers; None: non-genuine calls are not simulated
    non_genuine_redial: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.redial_probability.size)

    @property
    def non_genuine(self) -> bool:
        return self.non_genuine_redial is not None

    def redial_p(self, ps: np.ndarray, k: int) -> np.ndarray:
        """Chance that genuine callers of parameter sets ``ps`` try again after failed attempt ``k + 1``."""
        if self.redial_curve is None:
            return self.redial_probability[ps]
        return self.redial_curve[ps, min(k, self.redial_curve.shape[1] - 1)]

    def effective_redial(self) -> np.ndarray:
        """(n,) constant redial chance with the same expected attempts as the curve when every attempt fails.

        The capacity fixed point (:func:`model.sim.erlang.redial_fixed_point`) takes one redial chance;
        for a curve ``c_j`` it gets the ``p`` with ``sum_{k<K} p^k = sum_{k<K} prod_{j<k} c_j``.
        """
        if self.redial_curve is None:
            return self.redial_probability
        k_max = int(self.max_attempts.max(initial=1))
        j = np.minimum(np.arange(max(k_max - 1, 0)), self.redial_curve.shape[1] - 1)
        steps = self.redial_curve[:, j]  # (n, K-1)
        alive = np.arange(k_max - 1)[None, :] < (self.max_attempts[:, None] - 1)
        target = 1 + np.cumprod(np.where(alive, steps, 0.0), axis=1).sum(axis=1)
        lo, hi = np.zeros(self.n), np.ones(self.n)
        kk = np.arange(k_max)[None, :]
        live = kk < self.max_attempts[:, None]
        for _ in range(60):  # bisection, vectorised over parameter sets
            mid = (lo + hi) / 2
            val = np.where(live, mid[:, None] ** kk, 0.0).sum(axis=1)
            lo = np.where(val < target, mid, lo)
            hi = np.where(val < target, hi, mid)
        return (lo + hi) / 2

    @staticmethod
    def single(*, redial_probability: float, redial_delay_h: float, max_attempts: int, patience_h: float,
               advice_delay_h: float, compliance: np.ndarray) -> CallerSet:
        return CallerSet(np.array([redial_probability], float), np.array([redial_delay_h], float),
                         np.array([max_attempts], np.int64), np.array([patience_h], float),
                         np.array([advice_delay_h], float), np.asarray(compliance, float).reshape(1, -1))

    @staticmethod
    def of_model(model: TimeModel, callers: CallerParams | None = None) -> CallerSet:
        c = callers or model.callers
        comp = model.fallback_compliance if c.compliance is None else np.full_like(model.fallback_compliance,
                                                                                   c.compliance)
        return CallerSet.stack([c], comp[None, :])

    @staticmethod
    def stack(params: list[CallerParams], compliance: np.ndarray) -> CallerSet:
        """One parameter set per element of ``params`` (laws must agree); ``compliance`` is (n, L)."""
        if not params:
            raise ValueError("need at least one caller parameter set")
        laws = {(c.redial_delay_law, c.patience_law, c.non_genuine_redial_probability is None)
                for c in params}
        if len(laws) > 1:
            raise ValueError("caller parameter sets of one run must share their laws and non-genuine setting")
        c0 = params[0]
        curve = None
        if any(c.redial_by_attempt for c in params):
            width = max(len(c.redial_by_attempt) for c in params)
            rows = [c.redial_by_attempt or (c.redial_probability,) for c in params]
            curve = np.array([[v[min(j, len(v) - 1)] for j in range(width)] for v in rows], float)
        ng = (None if c0.non_genuine_redial_probability is None
              else np.array([float(c.non_genuine_redial_probability or 0.0) for c in params]))
        return CallerSet(
            np.array([c.redial_probability for c in params], float),
            np.array([c.redial_delay_h for c in params], float),
            np.array([c.max_attempts for c in params], np.int64),
            np.array([c.patience_h for c in params], float),
            np.array([c.advice_delay_h for c in params], float),
            np.asarray(compliance, float).reshape(len(params), -1),
            redial_curve=curve,
            redial_delay_law=c0.redial_delay_law,
            redial_delay_cv=np.array([c.redial_delay_cv for c in params], float),
            patience_law=c0.patience_law,
            patience_cv=np.array([c.patience_cv for c in params], float),
            non_genuine_redial=ng,
        )


@dataclass
class BlockingTable:
    """Attempt losses per (state row, multiplier, caller set), computed on demand and cached."""

    model: TimeModel
    callers: CallerSet
    states: Sequence[StateTraffic]  # by row
    #: bytes of cached losses kept (least recently computed go first; an entry is recomputed, to the
    #: same bits, when needed again: each entry's fixed point is solved on its own values only)
    max_bytes: int = 16 * 2**20
    _cache: dict[tuple[int, float, int], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    _bytes: int = 0

    def values(self, rows: np.ndarray, mult: np.ndarray, pset: np.ndarray, qmax: int
               ) -> tuple[np.ndarray, np.ndarray]:
        """Attempt losses at capacity nodes (n, qmax) and fallback lines (n, L) for ``n`` distinct keys."""
        keys = list(zip(rows.tolist(), mult.tolist(), pset.tolist(), strict=True))
        todo = [i for i, k in enumerate(keys) if k not in self._cache]
        if todo:
            self._compute(np.stack([rows[todo].astype(float), mult[todo], pset[todo].astype(float)], axis=1))
        cap = np.zeros((len(keys), qmax))
        fb = np.zeros((len(keys), self.model.fallback_agents.size))
        for i, k in enumerate(keys):  # one step per distinct (state, multiplier, caller set)
            c, f = self._cache[k]
            cap[i, : c.size] = c
            fb[i] = f
        while self._bytes > self.max_bytes and self._cache:  # oldest first, after this call's reads
            c, f = self._cache.pop(next(iter(self._cache)))
            self._bytes -= _entry_bytes(c, f)
        return cap, fb

    def _compute(self, keys: np.ndarray) -> None:
        m = self.model
        cs = self.callers
        rows = keys[:, 0].astype(np.int64)
        mult = keys[:, 1]
        ps = keys[:, 2].astype(np.int64)
        qmax = max((self.states[r].cap.size for r in rows), default=0)
        n = rows.size
        load = np.zeros((n, max(qmax, 1)))
        servers = np.ones((n, max(qmax, 1)))
        places = np.ones((n, max(qmax, 1)))
        for i, r in enumerate(rows):
            st = self.states[r]
            q = st.cap.size
            load[i, :q] = mult[i] * st.base_erlang
            servers[i, :q] = st.servers
            places[i, :q] = st.places
        p = cs.effective_redial()[ps][:, None]
        ka = cs.max_attempts[ps][:, None].astype(float)
        p_nodes = np.broadcast_to(p, load.shape)
        if cs.non_genuine:
            # nodes carrying non-genuine calls (scale = all / genuine > 1): their redials at their own chance
            scale = np.ones((n, max(qmax, 1)))
            for i, r in enumerate(rows):
                st = self.states[r]
                scale[i, : st.cap.size] = m.cap_scale[st.cap]
            p_ng = cs.non_genuine_redial[ps][:, None]
            p_nodes = (p + (scale - 1) * p_ng) / scale
        sol = redial_fixed_point(load, lambda a: mmck_blocking(servers, places, a),
                                 p_nodes, max_attempts=np.broadcast_to(ka, load.shape))
        cap_loss = np.asarray(sol.blocking)
        nl = m.fallback_agents.size
        fb_loss = np.zeros((n, nl))
        if nl:
            # failing first attempts per service, at this multiplier: P(fail) of each demand
            cls = m.demand_class
            fail = np.zeros((n, len(m.services)))
            for i, r in enumerate(rows):
                st = self.states[r]
                ok = (~st.unreachable) * st.delivered[cls]
                if st.cap.size:
                    ok = ok * np.prod(1 - st.usage[cls] * cap_loss[i, : st.cap.size][None, :], axis=1)
                # (rounding can leave ok a hair above 1: a failure chance is never negative)
                p_fail = np.maximum(1 - ok, 0.0)
                fail[i] = np.bincount(m.demand_service, weights=m.demand_rate * mult[i] * p_fail,
                                      minlength=len(m.services))
            n_lines = m.fallback_services.sum(axis=0)  # lines per service
            per_line = np.where(n_lines > 0, 1.0 / np.maximum(n_lines, 1), 0.0)
            diverted = (fail * per_line[None, :]) @ m.fallback_services.T.astype(float)  # (n, L)
            diverted = diverted * cs.compliance[ps]
            fresh = (diverted + mult[:, None] * m.fallback_normal_per_h[None, :]) * m.fallback_aht_h[None, :]
            agents = np.broadcast_to(m.fallback_agents, fresh.shape)
            placesf = agents + np.broadcast_to(m.fallback_queue, fresh.shape)
            solf = redial_fixed_point(fresh, lambda a: mmck_blocking(agents, placesf, a),
                                      np.broadcast_to(p, fresh.shape),
                                      max_attempts=np.broadcast_to(ka, fresh.shape))
            fb_loss = np.asarray(solf.blocking)
        for i in range(n):
            r = int(rows[i])
            entry = (cap_loss[i, : self.states[r].cap.size].copy(), fb_loss[i].copy())
            self._cache[(r, float(mult[i]), int(ps[i]))] = entry
            self._bytes += _entry_bytes(*entry)


def _entry_bytes(cap: np.ndarray, fb: np.ndarray) -> int:
    """Bytes of one cached loss entry: its two arrays, their headers, the key and the dictionary slot."""
    return int(cap.nbytes + fb.nbytes) + 2 * ARRAY_OVERHEAD + 200


@dataclass(frozen=True, eq=False)
class CallOutcomes:
    """What happened to each simulated caller (arrays over callers)."""

    year: np.ndarray
    segment: np.ndarray  # arrival segment (boundary index)
    demand: np.ndarray
    outcome: np.ndarray  # 0 unreachable, 1 first try, 2 after redial, 3 via a fallback line
    connect_s: np.ndarray  # time to connect in seconds (NaN when unreachable)
    failed_attempts: np.ndarray
    attempts: np.ndarray
    genuine: np.ndarray | None = None  # bool; None: every call is genuine
    rang_fallback: np.ndarray | None = None  # bool: the caller turned to a fallback line (any outcome)
    roamed: np.ndarray | None = None  # bool: some attempt went through another network's masts

    def is_genuine(self) -> np.ndarray:
        return np.ones(self.n, dtype=bool) if self.genuine is None else self.genuine

    @property
    def n(self) -> int:
        return int(self.year.size)


def _profile_pieces(prof) -> tuple[int, Callable[[np.ndarray], np.ndarray]]:
    """(number of pieces, time -> piece index) of a profile that is constant within whole hours."""
    period = prof.period_hours
    bounds = [s_.start_hour for s_ in prof.surges] + [s_.end_hour for s_ in prof.surges]
    if float(period) != int(period) or any(float(b) != int(b) for b in bounds):
        raise ValueError("the time engine needs an arrival profile that changes only on whole hours")
    n = int(period)
    return n, lambda t: np.floor(np.mod(t, period)).astype(np.int64) % n


@dataclass(frozen=True, eq=False)
class StateStack:
    """Per-state arrays of the state rows a batch of years uses, stacked for vectorised lookups.

    Built once per batch (:meth:`of`) and passed to every block of calls of that batch
    (:func:`simulate_calls`), so cutting a heavy batch into many blocks does not rebuild it.
    """

    rows: np.ndarray  # global row ids, sorted
    unreachable: np.ndarray  # (R, D)
    delivered: np.ndarray  # (R, K)
    delay_h: np.ndarray  # (R, K)
    usage: np.ndarray  # (R, K, Qmax)
    affected_rate: np.ndarray  # (R,)
    cat_demand: np.ndarray  # affected demands of every row, concatenated
    cat_cum: np.ndarray  # running cumulative rate over cat_demand
    cat_lo: np.ndarray  # (R,) first position of each row in cat_*
    cat_hi: np.ndarray  # (R,) last position
    cat_base: np.ndarray  # (R,) cumulative rate before the row
    roaming: np.ndarray | None = None  # (R, D) demand's handsets look for another network

    @staticmethod
    def of(model: TimeModel, states: Sequence[StateTraffic], rows: np.ndarray) -> StateStack:
        rows = np.unique(rows)
        k = model.n_classes
        qmax = max((states[r].cap.size for r in rows.tolist()), default=0)
        unre = np.zeros((rows.size, model.n_demands), dtype=bool)
        deliv = np.ones((rows.size, k))
        delay = np.zeros((rows.size, k))
        usage = np.zeros((rows.size, k, qmax))
        dem_parts, cum_parts = [], []
        lo = np.zeros(rows.size, dtype=np.int64)
        hi = np.zeros(rows.size, dtype=np.int64)
        base = np.zeros(rows.size)
        rate = np.zeros(rows.size)
        pos, acc = 0, 0.0
        for i, r in enumerate(rows.tolist()):  # one step per distinct state
            st = states[r]
            unre[i, st.unreachable_at] = True
            deliv[i] = st.base.delivered
            deliv[i, st.class_at] = st.delivered_at
            delay[i] = st.base.delay_h
            delay[i, st.class_at] = st.delay_at
            usage[i, st.usage_at, : st.cap.size] = st.usage_rows
            dem = st.affected_at.astype(np.int64)
            w = model.demand_rate[dem]
            dem_parts.append(dem)
            cum_parts.append(acc + np.cumsum(w))
            lo[i], hi[i], base[i], rate[i] = pos, pos + max(dem.size - 1, 0), acc, w.sum()
            pos += dem.size
            acc += float(w.sum())
        cat_d = np.concatenate(dem_parts) if dem_parts else np.zeros(0, dtype=np.int64)
        cat_c = np.concatenate(cum_parts) if cum_parts else np.zeros(0)
        roaming = None
        if any(states[r].roaming_at is not None for r in rows.tolist()):
            roaming = np.zeros((rows.size, model.n_demands), dtype=bool)
            for i, r in enumerate(rows.tolist()):  # one step per distinct state
                if states[r].roaming_at is not None:
                    roaming[i, states[r].roaming_at] = True
        return StateStack(rows, unre, deliv, delay, usage, rate, cat_d, cat_c, lo, hi, base, roaming)

    def local(self, r: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.rows, r)


def simulate_calls(
    model: TimeModel,
    rng: np.random.Generator,
    *,
    seg_start: np.ndarray,
    seg_end: np.ndarray,
    seg_row: np.ndarray,
    seg_year: np.ndarray,
    seg_advice: np.ndarray,
    year_origin: np.ndarray,
    profile_offset: np.ndarray,
    boundary_time: np.ndarray,
    boundary_row: np.ndarray,
    year_end: np.ndarray,
    stack: StateStack,
    table: BlockingTable,
    pset_of_year: np.ndarray,
    seg_index: np.ndarray,
    genuine_only: bool = False,
) -> CallOutcomes:
    """Simulate every call of the affected demands arriving in the given segments.

    Genuine calls always; non-genuine calls (silent, accidental, hoax) too when the
    caller set has a non-genuine redial chance: they arrive at ``non_genuine_ratio``
    times the genuine rate, meet the same network, redial with their own chance and
    never turn to a fallback line (``genuine_only``: they are not followed). Each
    caller's patience is drawn from the caller set's law; the time between attempts
    too; the chance of another attempt may depend on the attempt number. A mobile
    demand whose network's masts stop radiating while its core or access link is down
    tries another network's masts (emergency roaming: a sibling demand drawn by network
    share, after the roaming delay).

    Segments are given in global engine time (``year_origin[year] + local hours``);
    ``seg_row`` is the state row of each segment (into ``stack``), ``seg_advice`` the
    global time public advice starts for calls arriving in it (``inf``: never).
    ``boundary_time``/``boundary_row`` describe the whole timeline (state row after
    each change point, ``-1`` = a clean state), used to look up the state at each
    redial. ``profile_offset[year]`` is the arrival-profile time of the year's hour 0.
    ``stack``: the :class:`StateStack` of every row of ``seg_row`` and ``boundary_row`` (one per
    batch of years, shared by its blocks of calls).
    """
    cs = table.callers
    prof = model.profile
    st = stack
    seg_local = st.local(seg_row)
    # calls per segment: NHPP of the affected demands' total rate
    local_a = seg_start - year_origin[seg_year] + profile_offset[seg_year]
    local_b = seg_end - year_origin[seg_year] + profile_offset[seg_year]
    # inversion of the cumulative intensity (arrival order within a segment does not matter here)
    width = np.asarray(prof.integrate(local_a, local_b), float).reshape(-1)
    lam = st.affected_rate[seg_local] * width
    counts = rng.poisson(lam)
    owner = np.repeat(np.arange(seg_start.size), counts)
    genuine = None
    if cs.non_genuine and model.non_genuine_ratio > 0 and not genuine_only:
        counts_ng = rng.poisson(lam * model.non_genuine_ratio)
        n_g = owner.size
        owner = np.concatenate([owner, np.repeat(np.arange(seg_start.size), counts_ng)])
        genuine = np.arange(owner.size) < n_g
    y0 = np.asarray(prof.cumulative(local_a), float).reshape(-1)
    times = np.asarray(prof.inverse_cumulative(y0[owner] + rng.random(owner.size) * width[owner]), float)
    times = np.clip(times.reshape(-1), local_a[owner], local_b[owner])
    n = owner.size
    year = seg_year[owner]
    t0 = times - profile_offset[year] + year_origin[year]
    lrow0 = seg_local[owner]
    # demand of each call: categorical over the state's affected demands, weights = rates
    demand = np.zeros(n, dtype=np.int64)
    if n:
        u = st.cat_base[lrow0] + rng.random(n) * st.affected_rate[lrow0]
        idx = np.searchsorted(st.cat_cum, u, side="right")
        demand = st.cat_demand[np.clip(idx, st.cat_lo[lrow0], st.cat_hi[lrow0])]
    cls = model.demand_class[demand]
    svc = model.demand_service[demand]
    pset = pset_of_year[year]
    advice = seg_advice[owner]
    is_g = np.ones(n, dtype=bool) if genuine is None else genuine
    patience = _draw_law(rng, cs.patience_law, cs.patience_h[pset],
                         None if cs.patience_cv is None else cs.patience_cv[pset])
    roam_on = st.roaming is not None
    roamed = np.zeros(n, dtype=bool)
    # fallback lines by service (padded table)
    nl = model.fallback_agents.size
    n_lines = model.fallback_services.sum(axis=0).astype(np.int64)
    lines_pad = np.zeros((len(model.services), max(int(n_lines.max(initial=0)), 1)), dtype=np.int64)
    for sv in range(len(model.services)):
        ls = np.flatnonzero(model.fallback_services[:, sv])
        lines_pad[sv, : ls.size] = ls
    outcome = np.zeros(n, dtype=np.int8)
    connect = np.full(n, np.nan)
    failed = np.zeros(n, dtype=np.int64)
    attempts = np.zeros(n, dtype=np.int64)
    line = np.full(n, -1, dtype=np.int64)
    decided = np.zeros(n, dtype=bool)
    t = t0.copy()
    live = np.arange(n)
    max_k = int(cs.max_attempts.max(initial=1))
    # attempt losses by (state, profile piece, caller set), filled in as keys appear
    pieces, piece_of = _profile_pieces(prof)
    n_ps = cs.n
    qmax = int(st.usage.shape[2])
    dense = st.rows.size * pieces * n_ps <= 1 << 24
    slot = np.full(st.rows.size * pieces * n_ps if dense else 0, -1, dtype=np.int64)
    slot_of: dict[int, int] = {}
    # per slot: the losses at each capacity node and at each fallback line (a class's chance of getting
    # through the nodes is formed per attempt: a (slots, classes) table would cost 8 bytes a class a slot)
    res = {"cap": np.zeros((0, qmax)), "fb": np.zeros((0, nl))}

    def fill(uc: np.ndarray) -> np.ndarray:
        """Compute the losses of new codes; return their slots."""
        u_piece = uc % pieces
        u_ps = (uc // pieces) % n_ps
        u_local = uc // pieces // n_ps
        u_row = st.rows[u_local]
        mult = np.asarray(prof.rate_at(u_piece + 0.5), float).reshape(-1)
        c_new, f_new = table.values(u_row, mult, u_ps, qmax)
        first = res["cap"].shape[0]
        res["cap"] = np.concatenate([res["cap"], c_new])
        res["fb"] = np.concatenate([res["fb"], f_new])
        return first + np.arange(uc.size)

    for k in range(max_k):  # one step per attempt number, all callers at once
        if not live.size:
            break
        yl = year[live]
        tl = np.minimum(t[live], year_end[yl] - 1e-9)
        # most attempts fall in their caller's own segment (its state is known): the timeline is searched
        # only for the others (the same boundary the search would find: segments have positive length)
        so = owner[live]
        away = np.flatnonzero((tl < seg_start[so]) | (tl >= seg_end[so]))
        r = seg_row[so]
        lr = seg_local[so]
        if away.size:
            r_away = boundary_row[np.searchsorted(boundary_time, tl[away], side="right") - 1]
            r[away] = r_away
            lr[away] = st.local(np.where(r_away >= 0, r_away, st.rows[0] if st.rows.size else 0))
        p_ok = np.ones(live.size)
        dirty = r >= 0
        if dirty.any():
            ii = np.flatnonzero(dirty)
            piece = piece_of(tl[ii] - year_origin[yl[ii]] + profile_offset[yl[ii]])
            code = (lr[ii] * n_ps + pset[live[ii]]) * pieces + piece
            if dense:
                new = slot[code] < 0
                if new.any():
                    uc = np.unique(code[new])
                    slot[uc] = fill(uc)
                sl = slot[code]
            else:  # long profile periods: a dictionary over this round's distinct codes
                uc, inv = np.unique(code, return_inverse=True)
                got = np.array([slot_of.get(c, -1) for c in uc.tolist()], dtype=np.int64)
                miss = got < 0
                if miss.any():
                    got[miss] = fill(uc[miss])
                    slot_of.update(zip(uc[miss].tolist(), got[miss].tolist(), strict=True))
                sl = got[inv.reshape(-1)]
            fb_res = res["fb"]
            li, ci, di = lr[ii], cls[live[ii]], demand[live[ii]]
            if roam_on:  # handsets of a network whose masts went quiet camp on another network's masts
                rm = np.flatnonzero(st.roaming[li, di])
                if rm.size:
                    d_r = di[rm]
                    u = rng.random(rm.size)
                    lo_, hi_ = model.roam_ptr[d_r], model.roam_ptr[d_r + 1]
                    pos_ = _segment_search(model.roam_cum, lo_, hi_, u)
                    di = di.copy()
                    ci = ci.copy()
                    di[rm] = model.roam_to[np.minimum(pos_, hi_ - 1)]
                    ci[rm] = model.demand_class[di[rm]]
                    roamed[live[ii[rm]]] = True
            okp = (~st.unreachable[li, di]) * st.delivered[li, ci]
            if qmax:
                okp = okp * np.prod(1 - st.usage[li, ci] * res["cap"][sl], axis=1)
            if nl:
                on_fb = line[live[ii]] >= 0
                fbl = fb_res[sl, np.maximum(line[live[ii]], 0)]
                okp = np.where(on_fb, 1 - fbl, okp)
            p_ok[ii] = okp
        succ = rng.random(live.size) < p_ok
        attempts[live] += 1
        s_idx = live[succ]
        if s_idx.size:
            via_fb = line[s_idx] >= 0
            extra = np.where(dirty[succ] & ~via_fb, st.delay_h[lr[succ], cls[s_idx]], 0.0)
            if roam_on:
                extra = extra + np.where(roamed[s_idx] & ~via_fb, model.roam_delay_h[demand[s_idx]], 0.0)
            connect[s_idx] = (t[s_idx] - t0[s_idx] + extra) * 3600.0
            outcome[s_idx] = np.where(via_fb, OUTCOME_FALLBACK, OUTCOME_FIRST if k == 0 else OUTCOME_REDIAL)
        f_idx = live[~succ]
        failed[f_idx] += 1
        if not f_idx.size:
            live = f_idx
            break
        ps = pset[f_idx]
        # public advice: once per caller, from the advice time, a share turns to a fallback line
        just = np.zeros(f_idx.size, dtype=bool)
        if nl:
            can = (~decided[f_idx]) & (t[f_idx] >= advice[f_idx]) & (n_lines[svc[f_idx]] > 0) & is_g[f_idx]
            if can.any():
                ci = np.flatnonzero(can)
                decided[f_idx[ci]] = True
                sv = svc[f_idx[ci]]
                pick = np.floor(rng.random(ci.size) * n_lines[sv]).astype(np.int64)
                pick = np.minimum(pick, n_lines[sv] - 1)
                chosen = lines_pad[sv, pick]
                go = rng.random(ci.size) < cs.compliance[ps[ci], chosen]
                line[f_idx[ci[go]]] = chosen[go]
                just[ci[go]] = True
        p_again = cs.redial_p(ps, k)
        if genuine is not None:
            p_again = np.where(is_g[f_idx], p_again, cs.non_genuine_redial[ps])
        again = just | (rng.random(f_idx.size) < p_again)
        t_next = t[f_idx] + _draw_law(rng, cs.redial_delay_law, cs.redial_delay_h[ps],
                                      None if cs.redial_delay_cv is None else cs.redial_delay_cv[ps])
        again &= (attempts[f_idx] < cs.max_attempts[ps]) & (t_next - t0[f_idx] <= patience[f_idx])
        t[f_idx] = t_next
        live = f_idx[again]
    return CallOutcomes(year, seg_index[owner], demand, outcome, connect, failed, attempts, genuine,
                        line >= 0, roamed)


def _segment_search(cum: np.ndarray, lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Position of ``u`` in the cumulative weights ``cum[lo:hi]`` of each row (vectorised bisection)."""
    a, b = lo.copy(), hi.copy() - 1
    while True:
        act = a < b
        if not act.any():
            return a
        mid = (a + b) // 2
        go_right = act & (cum[mid] < u)
        a = np.where(go_right, mid + 1, a)
        b = np.where(act & ~go_right, mid, b)


def _draw_law(rng: np.random.Generator, law: str, mean: np.ndarray, cv: np.ndarray | None) -> np.ndarray:
    """Draws with the given means: ``fixed`` (the mean), ``exponential``, or ``lognormal`` with ``cv``."""
    mean = np.asarray(mean, float)
    if law == "fixed":
        return mean.copy()
    if law == "exponential":
        return rng.exponential(1.0, mean.size) * mean
    sigma2 = np.log1p(np.asarray(cv, float) ** 2)
    mu = np.log(np.maximum(mean, 1e-300)) - sigma2 / 2
    return np.exp(mu + np.sqrt(sigma2) * rng.standard_normal(mean.size))
