"""Rare-event unreachability: the turnip, and generalized splitting where it fails.

Crude Monte Carlo needs about ``100 / U`` trials for 10% relative error, hopeless
when the unreachability ``U`` is 1e-9. This module estimates ``U`` with bounded
relative error by *permutation Monte Carlo* (Elperin, Gertsbakh and Lomonosov's
graph evolution) with the *turnip* (Gertsbakh and Shpungin).

Method
------
The *basic events* are the ``C`` independent component failures and the ``G``
common-cause events of a :class:`~model.network.compiled.CompiledNetwork`. Event ``i``
fails with probability ``p_i``; think of every event as failed at time 0 and
repaired at an exponential time with rate ``lambda_i = -ln p_i``, so that it is
still failed at time 1 with probability exactly ``p_i``. A component is up once
its own event and every common-cause event that contains it are repaired.
Events with ``p = 0`` are repaired from the start and events with ``p = 1`` never
are: both are handled exactly, not sampled.

One replication samples the *order* of repairs and then computes exactly, given
that order, the probability that each demand is still unserved at time 1. Given
the order, the times between successive repairs are independent exponentials, so
the time at which demand ``d`` becomes served is a hypoexponential sum
``S_{K_d}`` and ``P(d unserved at 1 | order) = P(S_{K_d} > 1)``.

*Turnip.* An unrepaired event is *irrelevant* when its repair can no longer
change whether any demand is served, in the current state or any later one. Its
clock is then dropped: the holding-time rates are the sums over *relevant*
unrepaired events only, which shrinks the number of steps and the variance. The
rules used (valid for directed and undirected graphs, node and link failures,
alternative targets and prerequisites) are, with ``R`` the nodes reached from
the source of every unserved demand and ``T`` the nodes that reach a target of
every unserved demand:

* an arc ``u -> v`` is irrelevant when ``v`` is in ``R`` or ``u`` is in ``T``;
* a node that is neither source nor target of an unserved demand is irrelevant
  when all its incoming arcs, or all its outgoing arcs, are irrelevant;
* a component is relevant when one of its arcs or nodes is relevant or it is a
  prerequisite of an unserved demand; an event is relevant when one of the
  components it holds down is.

With more than 16 distinct target sets (and more of them than sources) the
backward sets ``T`` are not kept, to save work: fewer events are dropped, which
costs variance, never exactness.

Both sets only grow as repairs accumulate, so an irrelevant event stays
irrelevant, which is what makes dropping its clock exact. Sampling the order
from one set of exponential clocks per replication and skipping irrelevant
events gives the turnip's sequence of relevant repairs with the right law.

*Demand-weighted unreachability.* One replication follows one repair order for
all demands and returns ``Y = sum_d w_d P(S_{K_d} > 1) / sum_d w_d``: a single
unbiased estimator of the weighted share, whose variance is estimated from the
replications (the per-demand terms are positively correlated because they share
the order; the normal interval accounts for that since it uses the variance of
``Y`` itself). Per-demand estimates come for free in ``details["per_demand"]``.

*Numerics.* The state probabilities ``p_j(1)`` of the pure-birth chain with
decreasing rates ``Lambda_1 > Lambda_2 > ...`` are computed in log space from the
divided-difference closed form, and the exact condition number of each sum is
measured; where it exceeds ``1e6`` the replication is recomputed by
uniformisation, which sums only non-negative terms and so keeps full relative
accuracy however small the probability is (no cancelling ``1 - F``).

Relative error is bounded as ``q -> 0``: with all ``q`` equal the repair order
does not depend on ``q`` and each replication is ``c(order) q^r(order)`` up to
lower-order terms, where ``r >= `` the size of a minimum cut, with probability
bounded away from 0 of equality.

Limitation: that probability can be astronomically small. When the demand is cut
only by the *joint* failure of several parallel blocks (three dodecahedra in
parallel: 9-edge cuts), the repair order almost never leaves such a cut for last,
the replication values are extremely heavy-tailed and practical sample sizes give
estimates that are far too low with a misleadingly small interval. The result
then says so in ``details["warning"]`` (one replication carries a large share of
the sum), and :func:`rare_unreachability` with ``method="auto"`` (the default)
switches to :func:`generalized_splitting` (Botev, L'Ecuyer, Rubino, Simard and
Tuffin 2013): a Gibbs sampler on the same repair times, levels placed by an
adaptive pilot, states finished by the turnip. It is unbiased there with a
relative error that does not grow as ``q -> 0``, at a much higher cost per run.

:func:`model.static.choice.choose_method` picks exact, crude Monte Carlo, this
module or :mod:`model.static.decompose` for ``--method auto``; where the network
splits into series or parallel parts between the terminals the decomposition
estimator never samples the joint cut at all, which removes the heavy tails.

Examples
--------
>>> from model.network.compiled import compile_graph
>>> import networkx as nx
>>> g = nx.Graph([("s", "a"), ("a", "t"), ("s", "t")])
>>> nx.set_edge_attributes(g, 1e-6, "q")
>>> net = compile_graph(g, "s", "t")
>>> est = rare_unreachability(net, 2000, seed=1)
>>> exact = 1e-6 * (1 - (1 - 1e-6) ** 2)
>>> abs(est.value - exact) < 4 * est.std_error, est.method
(True, 'pmc-turnip')
>>> est.relative_error < 0.05
True
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from model.network.compiled import CompiledNetwork
from model.results.estimate import Estimate, nothing_observed, provenance
from model.run.seeds import chunk_rng, named_rng

__all__ = [
    "RARE_MEMORY_BUDGET",
    "better_methods",
    "birth_chain_state_probabilities",
    "generalized_splitting",
    "rare_fits",
    "rare_replications",
    "rare_unreachability",
]

METHOD = "pmc-turnip"
GS_METHOD = "generalized-splitting"
_GS_CHUNK = 128  # splitting runs per random stream
_GS_AUTO_MAX_EVENTS = 300  # auto switches to splitting only up to this many uncertain events
_CHUNK = 2048  # replications per random stream: fixed, so results do not depend on batching
_ROW_BUDGET = 4_000_000  # array cells per processing batch (bounds memory on large networks)
_MAX_BACKWARD = 16  # keep backward reach sets when there are at most this many target sets
_HEAVY_TAIL_SHARE = 0.2  # warn when one replication carries more than this share of the sum
_COND_LIMIT = 1e6  # closed-form condition number above which uniformisation is used


# ----------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class _Plan:
    """Index arrays and item groups (see :class:`_Groups`) for the construction process."""

    rates: np.ndarray  # (E,) repair rates of the sampled events
    ev_comp: np.ndarray  # (E, C) int: components each event holds down
    ev_groups: _Groups  # event -> components it holds down
    pend0: np.ndarray  # (C,) events still pending at time 0 (incl. p = 1 ones)
    n_comp: int
    node_comp: np.ndarray  # (N,) component or C (= never fails)
    arc_src: np.ndarray
    arc_dst: np.ndarray
    arc_comp: np.ndarray  # (A,) component or C
    node_in: _Groups  # node -> incoming arcs
    node_out: _Groups  # node -> outgoing arcs
    comp_uses: _Groups  # component -> its arcs, A + its nodes, A + N + demands it is a prerequisite of
    dem_prereq: _Groups  # demand -> prerequisite components
    src_dems: _Groups  # distinct source -> demands
    tset_dems: _Groups  # distinct target set -> demands
    node_dems: _Groups  # node -> demands it is source or target of
    sources: np.ndarray  # (S,) distinct source nodes
    tmask: np.ndarray  # (T, N) bool distinct target sets
    back: np.ndarray  # (T', N) target sets whose backward reach is kept (T' = T or 0)
    dem_hit: _Groups  # demand -> flat (source, target node) cells of the forward reach
    dem_src: np.ndarray  # (D,) index into sources
    dem_tset: np.ndarray  # (D,) index into target sets
    weights: np.ndarray  # (D,) normalised to sum 1
    demand_index: np.ndarray  # (D,) index of the demand in the network


@dataclass(frozen=True)
class _Groups:
    """Groups of item indices for a vectorised "any item of the group" reduction.

    Groups are bucketed by size (powers of two) and each bucket is a padded
    index array, so the work is at most about twice the number of memberships
    even when a few groups are huge (a platform linked to every centre).
    """

    n_items: int
    buckets: tuple[np.ndarray, ...]  # (g_k, w_k) padded with n_items
    inverse: np.ndarray | None  # position of each group in the bucket concatenation

    def buckets_of(self, g: int) -> np.ndarray:
        """The item indices of group ``g``."""
        pos = int(g if self.inverse is None else self.inverse[g])
        for b in self.buckets:
            if pos < b.shape[0]:
                row = b[pos]
                return row[row < self.n_items]
            pos -= b.shape[0]
        raise IndexError(g)

    def any(self, x: np.ndarray) -> np.ndarray:
        """``out[..., g] = any(x[..., i] for i in group g)`` for boolean ``x`` (..., n_items)."""
        xp = np.concatenate([x, np.zeros((*x.shape[:-1], 1), dtype=bool)], axis=-1)
        parts = [xp[..., b].any(axis=-1) for b in self.buckets]
        out = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)
        return out if self.inverse is None else out[..., self.inverse]


def _groups(lists: list[list[int]] | list[np.ndarray], n_items: int) -> _Groups:
    sizes = np.array([len(x) for x in lists], dtype=np.int64)
    key = np.ceil(np.log2(np.maximum(sizes, 1))).astype(np.int64)
    buckets, placed = [], []
    for k in np.unique(key):
        members = np.flatnonzero(key == k)
        width = max(int(sizes[members].max()), 1)
        idx = np.full((members.size, width), n_items, dtype=np.intp)
        for r, g in enumerate(members.tolist()):
            idx[r, : sizes[g]] = lists[g]
        buckets.append(idx)
        placed.append(members)
    if not buckets:
        buckets, placed = [np.zeros((0, 1), dtype=np.intp)], [np.zeros(0, dtype=np.int64)]
    perm = np.concatenate(placed)
    inverse = None if np.array_equal(perm, np.arange(perm.size)) else np.argsort(perm)
    return _Groups(n_items, tuple(buckets), inverse)


#: Largest event-by-component table the rare-event engine builds (bytes): bounds its memory.
RARE_MEMORY_BUDGET = 2**30


def rare_fits(net: CompiledNetwork) -> str | None:
    """Why the rare-event engine cannot take ``net`` within :data:`RARE_MEMORY_BUDGET` (None: it can).

    >>> from model.network.graphs import dodecahedron
    >>> from model.network.compiled import compile_graph
    >>> rare_fits(compile_graph(*dodecahedron(0.1))) is None
    True
    """
    need = (net.n_components + net.n_ccf) * net.n_components * 8
    if need <= RARE_MEMORY_BUDGET:
        return None
    return (f"the rare-event engine would need {need / 2**30:.3g} GiB for {net.n_components:,} components "
            f"(its limit is {RARE_MEMORY_BUDGET / 2**30:g} GiB); use method mc")


def _plan(net: CompiledNetwork) -> _Plan:
    too_big = rare_fits(net)
    if too_big:
        raise ValueError(too_big)
    C, N, G, A = net.n_components, net.n_nodes, net.n_ccf, net.n_arcs
    w = np.asarray(net.demand_weight, dtype=np.float64)
    if net.n_demands == 0 or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError("rare_unreachability needs at least one demand with positive weight")
    keep = np.flatnonzero(w > 0)
    D = keep.size
    p_all = np.concatenate([net.q, net.ccf_q])
    members = [np.array([c]) for c in range(C)] + [net.ccf_member_list(g) for g in range(G)]
    affects = np.zeros((C + G, C), dtype=np.int64)
    for i, m in enumerate(members):
        affects[i, m] = 1
    # events with p = 0 are repaired at time 0; p = 1 never repaired but keep the component down
    pend0 = affects[p_all > 0].sum(axis=0)
    sampled = np.flatnonzero((p_all > 0) & (p_all < 1))
    rates = -np.log(p_all[sampled])
    ev_comp = affects[sampled]

    src_list, dst_list = net.arc_src.tolist(), net.arc_dst.tolist()
    node_in: list[list[int]] = [[] for _ in range(N)]
    node_out: list[list[int]] = [[] for _ in range(N)]
    for a in range(A):
        node_in[dst_list[a]].append(a)
        node_out[src_list[a]].append(a)
    uses: list[list[int]] = [[] for _ in range(C)]
    for a, c in enumerate(net.arc_component.tolist()):
        if c >= 0:
            uses[c].append(a)
    for n, c in enumerate(net.node_component.tolist()):
        if c >= 0:
            uses[c].append(A + n)
    dem_prereq = [net.prereq(int(d)).tolist() for d in keep]
    for k, pre in enumerate(dem_prereq):
        for c in pre:
            uses[c].append(A + N + k)

    src = net.demand_source[keep]
    sources, dem_src = np.unique(src, return_inverse=True)
    tsets: dict[tuple[int, ...], int] = {}
    dem_tset = np.zeros(D, dtype=np.int64)
    for k, d in enumerate(keep):
        key = tuple(sorted(set(net.targets(int(d)).tolist())))
        dem_tset[k] = tsets.setdefault(key, len(tsets))
    tmask = np.zeros((len(tsets), N), dtype=bool)
    for key, k in tsets.items():
        tmask[k, list(key)] = True
    node_dems: list[list[int]] = [[] for _ in range(N)]
    for k in range(D):
        for n in {int(src[k]), *np.flatnonzero(tmask[dem_tset[k]]).tolist()}:
            node_dems[n].append(k)
    return _Plan(
        rates=rates, ev_comp=ev_comp, ev_groups=_groups([np.flatnonzero(r) for r in ev_comp], C),
        pend0=pend0, n_comp=C,
        node_comp=np.where(net.node_component >= 0, net.node_component, C),
        arc_src=np.asarray(net.arc_src), arc_dst=np.asarray(net.arc_dst),
        arc_comp=np.where(net.arc_component >= 0, net.arc_component, C),
        node_in=_groups(node_in, A), node_out=_groups(node_out, A),
        comp_uses=_groups(uses, A + N + D), dem_prereq=_groups(dem_prereq, C),
        src_dems=_groups([np.flatnonzero(dem_src == i) for i in range(sources.size)], D),
        tset_dems=_groups([np.flatnonzero(dem_tset == i) for i in range(len(tsets))], D),
        node_dems=_groups(node_dems, D),
        sources=sources, tmask=tmask, dem_src=dem_src, dem_tset=dem_tset,
        back=tmask if len(tsets) <= max(_MAX_BACKWARD, sources.size) else tmask[:0],
        dem_hit=_groups([dem_src[k] * N + np.flatnonzero(tmask[dem_tset[k]]) for k in range(D)],
                        sources.size * N),
        weights=w[keep] / w[keep].sum(), demand_index=keep,
    )


# ------------------------------------------------------------------- state update
def _spread(reach: np.ndarray, passable: np.ndarray, frm: np.ndarray, into: _Groups) -> None:
    """Close ``reach`` (B, S, N) in place under the passable arcs (B, A).

    ``frm[a]`` is the node an arc is entered from and ``into[n]`` the group of
    arcs that lead into node ``n`` (forward or backward reachability).
    """
    rows = np.arange(reach.shape[0])
    while rows.size:
        r = reach[rows]
        new = into.any(r[:, :, frm] & passable[rows][:, None, :]) & ~r
        changed = new.reshape(rows.size, -1).any(axis=1)
        if not changed.any():
            return
        rows = rows[changed]
        reach[rows] |= new[changed]


@dataclass
class _State:
    pend: np.ndarray  # (B, C)
    reach: np.ndarray  # (B, S, N)
    co: np.ndarray  # (B, T, N)
    served: np.ndarray  # (B, D)
    relevant: np.ndarray  # (B, E) relevant and not yet repaired
    lam: np.ndarray  # (B,)


def _evaluate(plan: _Plan, pend: np.ndarray, reach: np.ndarray | None, co: np.ndarray | None,
              repaired: np.ndarray, rates: np.ndarray) -> _State:
    """Connectivity, served demands, relevant events and their rate sum for a batch."""
    B = pend.shape[0]
    up = np.ones((B, plan.n_comp + 1), dtype=bool)
    up[:, : plan.n_comp] = pend == 0
    node_up = up[:, plan.node_comp]
    passable = up[:, plan.arc_comp] & node_up[:, plan.arc_src] & node_up[:, plan.arc_dst]
    # a source (target) reaches (is reached from) itself once its node is up
    if reach is None:
        reach = np.zeros((B, plan.sources.size, node_up.shape[1]), dtype=bool)
    reach[:, np.arange(plan.sources.size), plan.sources] |= node_up[:, plan.sources]
    if co is None:
        co = np.zeros((B, *plan.back.shape), dtype=bool)
    co |= plan.back[None, :, :] & node_up[:, None, :]
    _spread(reach, passable, plan.arc_src, plan.node_in)
    _spread(co, passable, plan.arc_dst, plan.node_out)
    hit = plan.dem_hit.any(reach.reshape(B, -1))
    served = hit & ~plan.dem_prereq.any(~up[:, : plan.n_comp])
    unserved = ~served
    need_src = plan.src_dems.any(unserved)
    r_all = (reach | ~need_src[:, :, None]).all(axis=1)
    if plan.back.shape[0]:
        need_t = plan.tset_dems.any(unserved)
        c_all = (co | ~need_t[:, :, None]).all(axis=1)
    else:  # too many target sets: the backward rule is skipped (fewer events dropped, still exact)
        c_all = np.zeros_like(r_all)
    arc_rel = ~(r_all[:, plan.arc_dst] | c_all[:, plan.arc_src])
    terminal = plan.node_dems.any(unserved)
    node_rel = terminal | (plan.node_in.any(arc_rel) & plan.node_out.any(arc_rel))
    comp_rel = plan.comp_uses.any(np.concatenate([arc_rel, node_rel, unserved], axis=1))
    relevant = plan.ev_groups.any(comp_rel) & ~repaired
    lam = np.where(relevant, rates, 0.0).sum(axis=1)
    return _State(pend, reach, co, served, relevant, lam)


def _construct(plan: _Plan, rng: np.random.Generator, B: int, rates: np.ndarray | None = None,
               start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run ``B`` turnip constructions.

    ``rates`` (B, E) and ``start`` (B, E) optionally give each row its own
    repair rates and a set of events already repaired at the start (the
    residual problem of a splitting state); by default all events start failed
    with rates ``plan.rates``.

    Returns ``lam`` (B, E): holding rates of the visited states, ``steps`` (B,):
    number of relevant repairs made, and ``crit`` (B, D): the number of repairs
    after which each demand is served (0 = from the start, -1 = never). All
    random numbers are drawn first; rows are then processed in memory-bounded
    batches, so the result does not depend on the batch size.
    """
    E = plan.rates.size
    rates = np.broadcast_to(plan.rates, (B, E)) if rates is None else rates
    start = np.zeros((B, E), dtype=bool) if start is None else start
    clocks = rng.standard_exponential((B, E)) / rates if E else np.zeros((B, 0))
    order = np.argsort(clocks, axis=1, kind="stable")
    N = plan.node_comp.size
    per_row = (plan.sources.size + plan.back.shape[0]) * max(N, plan.arc_src.size) + 4 * (E + plan.n_comp)
    batch = int(min(B, max(16, _ROW_BUDGET // max(per_row, 1))))
    parts = [_construct_rows(plan, order[sl], rates[sl], start[sl])
             for sl in (slice(b0, b0 + batch) for b0 in range(0, B, batch))]
    return tuple(np.concatenate(x) for x in zip(*parts, strict=True))  # type: ignore[return-value]


def _construct_rows(plan: _Plan, order: np.ndarray, rates: np.ndarray, start: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    B, E = order.shape
    repaired = start.copy()
    pend = np.tile(plan.pend0, (B, 1))
    if repaired.any():
        pend -= np.rint(repaired.astype(np.float64) @ plan.ev_comp.astype(np.float64)).astype(np.int64)
    st = _evaluate(plan, pend, None, None, repaired, rates)
    pend, reach, co, served, relevant, lam_now = st.pend, st.reach, st.co, st.served, st.relevant, st.lam
    crit = np.where(served, 0, -1)
    lam = np.zeros((B, max(E, 1)))
    steps = np.zeros(B, dtype=np.int64)
    alive = ~served.all(axis=1) & (lam_now > 0)
    rows_all = np.arange(B)
    for p in range(E):
        if not alive.any():
            break
        ev = order[:, p]
        idx = np.flatnonzero(alive & relevant[rows_all, ev])
        if idx.size == 0:
            continue
        e = ev[idx]
        lam[idx, steps[idx]] = lam_now[idx]
        steps[idx] += 1
        repaired[idx, e] = True
        pend[idx] -= plan.ev_comp[e]
        st = _evaluate(plan, pend[idx], reach[idx], co[idx], repaired[idx], rates[idx])
        reach[idx], co[idx], relevant[idx], lam_now[idx] = st.reach, st.co, st.relevant, st.lam
        newly = st.served & ~served[idx]
        c = crit[idx]
        c[newly] = np.broadcast_to(steps[idx][:, None], newly.shape)[newly]
        crit[idx] = c
        served[idx] = st.served
        alive[idx] = ~st.served.all(axis=1) & (st.lam > 0)
    return lam, steps, crit


# ------------------------------------------------------------------ hypoexponential
def _closed_form(lam: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """State probabilities at time 1 and their condition numbers, in log space."""
    B, K = lam.shape
    j = np.arange(K)
    valid = j[None, :] < n[:, None]
    lv = np.where(valid, lam, 1.0)
    diff = np.abs(lv[:, None, :] - lv[:, :, None])  # [b, i, l] = |L_l - L_i|
    mask_l = valid[:, None, :] & ~np.eye(K, dtype=bool)[None]
    with np.errstate(divide="ignore"):
        logd = np.where(mask_l, np.log(np.where(mask_l, diff, 1.0)), 0.0)
    pref = np.cumsum(logd, axis=2)  # [b, i, jj] = sum_{l <= jj, l != i} log|L_l - L_i|
    loglam = np.where(valid, np.log(lv), 0.0)
    before = np.concatenate([np.zeros((B, 1)), np.cumsum(loglam, axis=1)[:, :-1]], axis=1)
    logterm = before[:, None, :] - lv[:, :, None] - pref  # [b, i, jj]
    tri = (j[:, None] <= j[None, :])[None] & valid[:, :, None] & valid[:, None, :]
    logterm = np.where(tri, logterm, -np.inf)
    sign = np.where(((j[None, :] - j[:, None]) % 2) == 0, 1.0, -1.0)[None]
    m = logterm.max(axis=1)  # (B, K)
    m = np.where(np.isfinite(m), m, 0.0)
    t = np.exp(logterm - m[:, None, :])
    s = (sign * t).sum(axis=1)
    a = t.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = np.where(s > 0, a / s, np.inf)
    p = np.exp(m) * np.maximum(s, 0.0)
    p = np.where(valid, p, 0.0)
    cond = np.where(valid, cond, 1.0)
    return p, cond


def _uniformised(lam: np.ndarray, n: np.ndarray) -> np.ndarray:
    """State probabilities at time 1 by uniformisation: a sum of non-negative terms."""
    B, K = lam.shape
    valid = np.arange(K)[None, :] < n[:, None]
    rate = np.where(valid, lam, 0.0)
    top = np.maximum(rate.max(axis=1), 1e-300)
    stay = 1.0 - rate / top[:, None]
    move = rate / top[:, None]
    steps = int(np.ceil((top + 12.0 * np.sqrt(top) + 40.0).max()))
    v = np.zeros((B, K + 1))
    v[:, 0] = 1.0
    out = np.zeros((B, K + 1))
    stay = np.concatenate([stay, np.ones((B, 1))], axis=1)
    move = np.concatenate([move, np.zeros((B, 1))], axis=1)
    logtop = np.log(top)
    for k in range(steps + 1):
        w = np.exp(k * logtop - top - special.gammaln(k + 1.0))
        out += w[:, None] * v
        nv = v * stay
        nv[:, 1:] += v[:, :-1] * move[:, :-1]
        v = nv
    return np.where(valid, out[:, :K], 0.0)


def birth_chain_state_probabilities(rates: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """Probabilities of each state at time 1 of pure-birth chains started in state 1.

    Chain ``b`` stays in state ``j`` for an exponential time with rate
    ``rates[b, j]`` (strictly decreasing in ``j`` over the first ``lengths[b]``
    states) and then moves to ``j + 1``. ``P(S_k > 1)`` for the hypoexponential
    sum ``S_k`` of the first ``k`` holding times is the sum of the first ``k``
    state probabilities. Accurate in the relative sense even for tiny values:
    the log-space closed form is used where its measured condition number is
    below 1e6, uniformisation (non-negative terms only) elsewhere.

    Parameters
    ----------
    rates : array (B, K) or (K,)
    lengths : array (B,), optional
        Number of valid states per chain (default: all ``K``).

    Returns
    -------
    numpy.ndarray, same shape as ``rates``

    Examples
    --------
    Three clocks with ``P(T > 1) = q`` repaired one by one: the chain's rates are
    ``3, 2, 1`` times ``-ln q`` and ``P(S_3 > 1) = P(some clock > 1) = 1 - (1 - q)**3``.

    >>> q = 1e-6
    >>> p = birth_chain_state_probabilities(np.array([3.0, 2.0, 1.0]) * -np.log(q))
    >>> bool(np.isclose(p.sum(), -np.expm1(3 * np.log1p(-q)), rtol=1e-12, atol=0))
    True
    """
    r = np.asarray(rates, dtype=np.float64)
    one = r.ndim == 1
    r = np.atleast_2d(r)
    n = np.full(r.shape[0], r.shape[1]) if lengths is None else np.asarray(lengths, dtype=np.int64)
    out = np.zeros_like(r)
    K = r.shape[1]
    if K == 0:
        return out[0] if one else out
    block = max(1, 2_000_000 // (K * K))
    for b0 in range(0, r.shape[0], block):
        sl = slice(b0, b0 + block)
        p, cond = _closed_form(r[sl], n[sl])
        bad = (cond > _COND_LIMIT).any(axis=1)
        if bad.any():
            p[bad] = _uniformised(r[sl][bad], n[sl][bad])
        out[sl] = p
    return out[0] if one else out


# ------------------------------------------------------------------------ driver
def _conditional_probabilities(lam: np.ndarray, steps: np.ndarray, crit: np.ndarray) -> np.ndarray:
    """``P(demand d still unserved at time 1 | repair order)`` for each row and demand."""
    B = lam.shape[0]
    K = int(max(steps.max(initial=0), 1))
    probs = birth_chain_state_probabilities(lam[:, :K], steps)
    cum = np.concatenate([np.zeros((B, 1)), np.cumsum(probs, axis=1)], axis=1)
    per = np.take_along_axis(cum, np.maximum(crit, 0), axis=1)
    return np.where(crit < 0, 1.0, np.minimum(per, 1.0))


class _Moments:
    """Running mean and standard error per column, summed around the first chunk's mean.

    A column whose value never varies gets a standard error of exactly 0.
    """

    def __init__(self) -> None:
        self.n = 0
        self.ref = self.s1 = self.s2 = np.zeros(0)

    def add(self, x: np.ndarray) -> None:
        if self.n == 0:
            self.ref = x.mean(axis=0)
            self.s1, self.s2 = np.zeros_like(self.ref), np.zeros_like(self.ref)
        d = x - self.ref
        self.n += x.shape[0]
        self.s1 += d.sum(axis=0)
        self.s2 += (d * d).sum(axis=0)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        mean = self.ref + self.s1 / self.n
        if self.n < 2:
            return mean, np.full(self.ref.shape, math.inf)
        var = np.maximum(self.s2 - self.s1 * self.s1 / self.n, 0.0) / (self.n - 1)
        return mean, np.sqrt(var / self.n)


def rare_replications(net: CompiledNetwork, samples: int, seed: int | np.random.SeedSequence | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-replication values of the turnip estimator.

    Returns ``(y, demand_mean, demand_se, kept)``: ``y`` (n,) the weighted
    unserved share of each replication; the mean and standard error over the
    replications of the conditional probability of each demand with positive
    weight; and ``kept``, the indices of those demands. Per-demand values are
    summed chunk by chunk, never stored for all replications. Replications
    ``i*2048 .. (i+1)*2048 - 1`` always use child ``i`` of the root
    ``SeedSequence``, so a run is reproducible and a longer run extends a shorter one.

    Examples
    --------
    >>> import networkx as nx
    >>> from model.network.compiled import compile_graph
    >>> net = compile_graph(nx.path_graph(3), 0, 2, default_edge_q=0.5)
    >>> y, mean, se, kept = rare_replications(net, 4, seed=0)
    >>> y.round(6).tolist(), mean.round(6).tolist(), se.tolist()  # 1 - 0.5**2 whatever the order
    ([0.75, 0.75, 0.75, 0.75], [0.75], [0.0])
    """
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    plan = _plan(net)
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    n_chunks = -(-samples // _CHUNK)
    ys, moments = [], _Moments()
    for i in range(n_chunks):
        B = min(_CHUNK, samples - i * _CHUNK)
        rng = chunk_rng(ss, i)
        per = _conditional_probabilities(*_construct(plan, rng, B))
        moments.add(per)
        ys.append(per @ plan.weights)
    mean, se = moments.result()
    return np.concatenate(ys), mean, se, plan.demand_index


def _trace(y: np.ndarray, z: float, points: int = 50) -> dict[str, list[float] | list[int]]:
    n = y.size
    counts = np.unique(np.round(np.geomspace(min(n, 10), n, points)).astype(np.int64))
    m = float(y.mean())
    c1 = np.cumsum(y - m)
    c2 = np.cumsum((y - m) ** 2)
    k = counts.astype(np.float64)
    mean = m + c1[counts - 1] / k
    var = np.maximum(c2[counts - 1] - c1[counts - 1] ** 2 / k, 0.0) / np.maximum(k - 1, 1)
    se = np.sqrt(var / k)
    return {
        "samples": counts.tolist(),
        "estimate": mean.tolist(),
        "ci_low": np.maximum(mean - z * se, 0.0).tolist(),
        "ci_high": (mean + z * se).tolist(),
    }


def _finish(net: CompiledNetwork, y: np.ndarray, per_mean: np.ndarray, per_se: np.ndarray, kept: np.ndarray,
            method: str,
            ss: np.random.SeedSequence, cpu: float, wall: float, trace: bool, confidence: float,
            extra: dict[str, Any]) -> Estimate:
    """Estimate from i.i.d. unbiased run values ``y`` (and per-demand means and standard errors)."""
    n = y.size
    mean = float(y.mean())
    var = float(y.var(ddof=1)) if n > 1 else math.inf
    se = math.sqrt(var / n)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    entropy = ss.entropy if isinstance(ss.entropy, int) else None
    details: dict[str, Any] = {
        "relative_error": se / mean if mean > 0 else math.inf,
        "wnrv": var * (cpu / n) / mean**2 if mean > 0 else math.inf,
        "relative_variance": var / mean**2 if mean > 0 else math.inf,
        "cpu_seconds": cpu,
        **extra,
        "per_demand": [
            {"demand": net.demand_names[int(d)], "estimate": float(m), "std_error": float(s)}
            for d, m, s in zip(kept, per_mean, per_se, strict=True)
        ],
    }
    if mean == 0.0 and not (y > 0).any():
        details["relative_error"] = 0.0
        details["wnrv"] = 0.0
        details["note"] = "no replication cut any demand"
        return nothing_observed(n, method=method, seed=entropy, confidence=confidence, seconds=wall,
                                details=details, provenance=provenance(method=method, samples=n))
    share = float(y.max() / y.sum())
    details["max_replication_share"] = share
    if share > _HEAVY_TAIL_SHARE:
        details["warning"] = (
            f"one replication carries {share:.0%} of the estimate: the replication values are heavy-tailed "
            "(e.g. parallel blocks whose joint cut is much larger than any single block's), so the "
            "normal interval is unreliable and the estimate is probably too low; "
            + better_methods(net, method))
    if trace:
        details["trace"] = _trace(y, z)
    return Estimate(mean, max(0.0, mean - z * se), mean + z * se, se, n, method, entropy, confidence,
                    "normal", wall, details, provenance(method=method, samples=n))


def better_methods(net: CompiledNetwork, ran: str) -> str:
    """Advice for a heavy-tailed result: the methods that would do better than ``ran``, best first.

    Decomposition where the network splits into series or parallel parts
    (:func:`model.static.blocks.summary`), the exact engine where the network is
    small enough for its size check to be worth a try, generalized splitting
    after the turnip; after splitting on a network that neither splits nor fits
    the exact engine, more splitting runs.

    Examples
    --------
    >>> from model.network.compiled import compile_graph
    >>> from model.network.graphs import dodecahedron, parallel
    >>> g, s, t = parallel([dodecahedron(1e-3)] * 3)
    >>> advice = better_methods(compile_graph(g, s, t), "generalized-splitting")
    >>> advice.startswith("use method='decomposition'"), "method='gs'" in advice
    (True, False)
    """
    from model.static.blocks import summary

    advice = []
    parts = summary(net)
    if parts["split"]:
        advice.append(f"method='decomposition' (the network splits into {parts['parallel']} parallel and "
                      f"{parts['series']} series parts between the terminals)")
    n = _uncertain_events(net)
    if n <= 200:
        advice.append(f"the exact method ({n} uncertain events: within its size limit)")
    if ran == METHOD:
        advice.append("method='gs' (generalized splitting)")
    if not advice:
        return ("no other method applies (the network neither splits nor fits the exact engine): "
                "run more splitting runs")
    return "use " + ", or ".join(advice)


def rare_unreachability(
    net: CompiledNetwork, samples: int, seed: int | np.random.SeedSequence | None = None, *,
    trace: bool = True, confidence: float = 0.95, method: str = "auto",
) -> Estimate:
    """Demand-weighted unreachability with bounded relative error.

    Parameters
    ----------
    net : CompiledNetwork
        Components, demands (with prerequisites and alternative targets) and
        common-cause events. With one demand this is two-terminal unreliability.
    samples : int
        Number of replications (repair orders) of the turnip; generalized
        splitting runs ``max(100, samples // 50)`` independent splitting runs.
    seed : int or SeedSequence, optional
        Root of the random streams; the same seed gives the same result.
    trace : bool
        Include a convergence trace in ``details["trace"]``: sample counts at
        about 50 geometric checkpoints with running estimate and CI bounds.
    confidence : float
        Level of the normal interval built from the replication variance.
    method : {"auto", "turnip", "gs"}
        ``"turnip"``: permutation Monte Carlo with the turnip (fast; see the
        module notes). ``"gs"``: generalized splitting (:func:`generalized_splitting`),
        slower but robust where the turnip's replications are heavy-tailed.
        ``"auto"``: the turnip, then generalized splitting when the turnip flags
        heavy tails and the network has at most 300 uncertain events
        (``details["switched_from"]`` then holds the turnip's result).

    Returns
    -------
    Estimate
        ``method = "pmc-turnip"`` or ``"generalized-splitting"``, normal
        interval; ``details`` has ``relative_error`` (standard error / estimate),
        ``wnrv`` (variance of one replication x CPU seconds per replication /
        estimate**2), ``relative_variance``, ``cpu_seconds``, ``per_demand``
        (estimate and standard error per demand with positive weight),
        ``max_replication_share`` (largest replication / sum; a ``warning`` is
        added above 0.2, the sign of heavy tails and an interval that cannot be
        trusted) and ``trace``. When no replication cuts a demand the value is 0 with the
        one-sided upper bound (interval ``one-sided-upper``).

    Examples
    --------
    >>> from model.network.graphs import dodecahedron
    >>> from model.network.compiled import compile_graph
    >>> g, s, t = dodecahedron(1e-3)
    >>> est = rare_unreachability(compile_graph(g, s, t), 4000, seed=7)
    >>> 1.5e-9 < est.value < 2.5e-9, est.relative_error < 0.1, est.method
    (True, True, 'pmc-turnip')
    >>> sorted(est.details["trace"])
    ['ci_high', 'ci_low', 'estimate', 'samples']
    """
    if method not in ("auto", "turnip", "gs"):
        raise ValueError(f"method must be 'auto', 'turnip' or 'gs', got {method!r}")
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    if method == "gs":
        return generalized_splitting(net, max(100, samples // 50), ss, trace=trace, confidence=confidence)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    y, per_mean, per_se, kept = rare_replications(net, samples, ss)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    est = _finish(net, y, per_mean, per_se, kept, METHOD, ss, cpu, wall, trace, confidence, {
        "estimator": "turnip (permutation Monte Carlo, relevance by forward/backward reachability)"})
    if (method == "auto" and "warning" in est.details and _uncertain_events(net) <= _GS_AUTO_MAX_EVENTS
            and _servable(_plan(net))):
        gs = generalized_splitting(net, max(100, samples // 50), ss, trace=trace,
                                   confidence=confidence)
        gs.details["switched_from"] = {"method": METHOD, "estimate": est.value, "std_error": est.std_error,
                                       "warning": est.details["warning"]}
        return gs
    return est


# ------------------------------------------------------------------ generalized splitting
def _uncertain_events(net: CompiledNetwork) -> int:
    """Number of uncertain basic events (``0 < p < 1``): the dimension the samplers work in."""
    p = np.concatenate([net.q, net.ccf_q])
    return int(((p > 0) & (p < 1)).sum())


class _GSPlan:
    """What generalized splitting needs beyond the turnip plan: component -> events."""

    def __init__(self, plan: _Plan) -> None:
        E, C = plan.rates.size, plan.n_comp
        self.plan = plan
        self.comp_ev = _groups([np.flatnonzero(plan.ev_comp[:, c]) for c in range(C)], E)
        self.perm_down = plan.pend0 > plan.ev_comp.sum(axis=0)  # held down by a p = 1 event
        # fast Gibbs path: every sampled event is the own event of a link component (no common
        # cause, no node failures, no prerequisites) and backward reach sets are kept
        comp_of = [np.flatnonzero(r) for r in plan.ev_comp]
        node_uses = np.zeros(C, dtype=bool)
        node_uses[plan.node_comp[plan.node_comp < C]] = True
        arcs_of: list[list[int]] = [[] for _ in range(C)]
        for a, c in enumerate(plan.arc_comp.tolist()):
            if c < C:
                arcs_of[c].append(a)
        self.fast = bool(
            plan.back.shape[0] > 0
            and all(x.size == 1 for x in comp_of)
            and not node_uses.any()
            and not plan.dem_prereq.any(np.ones((1, C), dtype=bool)).any()
        )
        self.ev_arcs = _groups([arcs_of[int(x[0])] if x.size == 1 else [] for x in comp_of],
                               plan.arc_src.size)


def _served_by(gp: _GSPlan, up_ev: np.ndarray) -> np.ndarray:
    """Served demands ``(M, D)`` when exactly the events ``up_ev`` ``(M, E)`` are repaired."""
    p = gp.plan
    M = up_ev.shape[0]
    up = np.ones((M, p.n_comp + 1), dtype=bool)
    up[:, : p.n_comp] = ~gp.comp_ev.any(~up_ev) & ~gp.perm_down
    node_up = up[:, p.node_comp]
    passable = up[:, p.arc_comp] & node_up[:, p.arc_src] & node_up[:, p.arc_dst]
    reach = np.zeros((M, p.sources.size, node_up.shape[1]), dtype=bool)
    reach[:, np.arange(p.sources.size), p.sources] = node_up[:, p.sources]
    _spread(reach, passable, p.arc_src, p.node_in)
    return p.dem_hit.any(reach.reshape(M, -1)) & ~p.dem_prereq.any(~up[:, : p.n_comp])


def _servable(plan: _Plan) -> bool:
    """True when every demand is served once every sampled event is repaired."""
    gp = _GSPlan(plan)
    return bool(_served_by(gp, np.ones((1, plan.rates.size), dtype=bool)).all())


def _score(gp: _GSPlan, Y: np.ndarray) -> np.ndarray:
    """Time at which every demand is served, by bisection over the sorted repair times."""
    M, E = Y.shape
    Ys = np.sort(Y, axis=1)
    lo = np.zeros(M, dtype=np.int64)
    hi = np.full(M, E, dtype=np.int64)
    act = ~_served_by(gp, np.zeros((M, E), dtype=bool)).all(axis=1)
    while True:
        idx = np.flatnonzero(act & (hi - lo > 1))
        if idx.size == 0:
            break
        mid = (lo[idx] + hi[idx]) // 2
        ok = _served_by(gp, Y[idx] <= Ys[idx, mid - 1][:, None]).all(axis=1)
        hi[idx] = np.where(ok, mid, hi[idx])
        lo[idx] = np.where(ok, lo[idx], mid)
    out = np.zeros(M)
    out[act] = Ys[act, hi[act] - 1]
    return out


def _gibbs(gp: _GSPlan, Y: np.ndarray, gamma: float, rng: np.random.Generator) -> None:
    """One Gibbs sweep, in place, leaving the law of ``Y`` given ``S(Y) > gamma`` invariant.

    Each repair time is redrawn from its law given the others and the condition:
    freely when repairing the event by ``gamma`` would still leave some demand
    unserved, else beyond ``gamma`` (memoryless: ``gamma + Exp``). An event that
    is repaired by ``gamma`` can never be forced (the state with it repaired is
    the current, unserved one), so only failed events need a connectivity check.
    """
    if gp.fast:
        _gibbs_links(gp, Y, gamma, rng)
        return
    M, E = Y.shape
    up = Y <= gamma
    for e in rng.permutation(E).tolist():
        must_down = np.zeros(M, dtype=bool)
        idx = np.flatnonzero(~up[:, e])
        if idx.size:
            w = up[idx]
            w[:, e] = True
            must_down[idx] = _served_by(gp, w).all(axis=1)
        x = rng.standard_exponential(M) / gp.plan.rates[e]
        Y[:, e] = np.where(must_down, gamma + x, x)
        up[:, e] = Y[:, e] <= gamma


def _link_state(gp: _GSPlan, up_ev: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Passable arcs and forward / backward reach sets for link-only networks."""
    p = gp.plan
    M = up_ev.shape[0]
    up = np.ones((M, p.n_comp + 1), dtype=bool)
    up[:, : p.n_comp] = ~gp.comp_ev.any(~up_ev) & ~gp.perm_down
    passable = up[:, p.arc_comp]
    reach = np.zeros((M, p.sources.size, p.node_comp.size), dtype=bool)
    reach[:, np.arange(p.sources.size), p.sources] = True
    co = np.repeat(p.back[None], M, axis=0)
    _spread(reach, passable, p.arc_src, p.node_in)
    _spread(co, passable, p.arc_dst, p.node_out)
    return passable, reach, co


def _gibbs_links(gp: _GSPlan, Y: np.ndarray, gamma: float, rng: np.random.Generator) -> None:
    """The Gibbs sweep of :func:`_gibbs` for networks whose events are single links.

    Keeps forward and backward reach sets: repairing link ``u - v`` serves demand
    ``d`` exactly when some arc ``a`` of it has ``src(a)`` reached from the source
    and ``dst(a)`` reaching a target, so the check is a gather, and reach sets are
    only recomputed for the chains whose link changes state.
    """
    p = gp.plan
    M, E = Y.shape
    up = Y <= gamma
    passable, reach, co = _link_state(gp, up)
    srcs, tsets = p.dem_src, p.dem_tset
    for e in rng.permutation(E).tolist():
        arcs = gp.ev_arcs.buckets_of(e)
        must_down = np.zeros(M, dtype=bool)
        idx = np.flatnonzero(~up[:, e])
        if idx.size and arcs.size:
            ri, ci = reach[idx], co[idx]
            via = p.dem_hit.any(ri.reshape(idx.size, -1))  # already served
            for a in arcs.tolist():
                via |= ri[:, srcs, p.arc_src[a]] & ci[:, tsets, p.arc_dst[a]]
            must_down[idx] = via.all(axis=1)
        x = rng.standard_exponential(M) / p.rates[e]
        y_new = np.where(must_down, gamma + x, x)
        now = y_new <= gamma
        Y[:, e] = y_new
        came_up = np.flatnonzero(now & ~up[:, e])
        went_down = np.flatnonzero(~now & up[:, e])
        up[:, e] = now
        if came_up.size:
            passable[np.ix_(came_up, arcs)] = True
            r, k = reach[came_up], co[came_up]
            _spread(r, passable[came_up], p.arc_src, p.node_in)
            _spread(k, passable[came_up], p.arc_dst, p.node_out)
            reach[came_up], co[came_up] = r, k
        if went_down.size:
            passable[went_down], reach[went_down], co[went_down] = _link_state(gp, up[went_down])


def _gs_levels(gp: _GSPlan, rng: np.random.Generator, n: int, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive pilot: levels with conditional probabilities about ``rho``, ending at 1."""
    E = gp.plan.rates.size
    Y = rng.standard_exponential((n, E)) / gp.plan.rates
    S = _score(gp, Y)
    levels: list[float] = []
    probs: list[float] = []
    while len(levels) < 5000:
        g = float(np.quantile(S, 1 - rho))
        if g >= 1.0 or not (S > g).any():
            levels.append(1.0)
            probs.append(max(float((S > 1.0).mean()), 1.0 / n))
            break
        levels.append(g)
        probs.append(float((S > g).mean()))
        alive = np.flatnonzero(S > g)
        Y = Y[alive[rng.integers(0, alive.size, n)]]
        _gibbs(gp, Y, g, rng)
        S = _score(gp, Y)
    return np.array(levels), np.array(probs)


def _turnip_from(plan: _Plan, Y: np.ndarray, gamma: float, rng: np.random.Generator) -> np.ndarray:
    """Per-demand turnip values for the residual problem of states ``Y`` at time ``gamma``.

    Events repaired by ``gamma`` stay repaired; by memorylessness the others are
    repaired after exponential times with rates ``lambda (1 - gamma)`` on the
    remaining time rescaled to 1.
    """
    B = Y.shape[0]
    rates = np.broadcast_to(plan.rates * (1.0 - gamma), Y.shape).copy()
    lam, steps, crit = _construct(plan, rng, B, rates, Y <= gamma)
    return _conditional_probabilities(lam, steps, crit)


def _gs_chunk(gp: _GSPlan, levels: np.ndarray, splits: np.ndarray, stop: int, runs: int,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``runs`` independent fixed-level splitting runs; per-run share and per-demand values.

    Splitting goes through ``levels[:stop]``; the states at ``gamma = levels[stop - 1]``
    are then finished by one turnip replication each (or, when that level is 1,
    by the unreachable indicator itself).
    """
    p = gp.plan
    E = p.rates.size
    Y = rng.standard_exponential((runs, E)) / p.rates
    run = np.arange(runs)
    keep = ~_served_by(gp, Y <= levels[0]).all(axis=1)
    Y, run = Y[keep], run[keep]
    for t in range(stop - 1):
        outY, outr = [], []
        for _ in range(int(splits[t])):
            if Y.shape[0] == 0:
                break
            _gibbs(gp, Y, float(levels[t]), rng)
            ok = ~_served_by(gp, Y <= levels[t + 1]).all(axis=1)
            outY.append(Y[ok])
            outr.append(run[ok])
        Y = np.concatenate(outY) if outY else np.zeros((0, E))
        run = np.concatenate(outr) if outr else np.zeros(0, dtype=np.int64)
    gamma = float(levels[stop - 1])
    if Y.shape[0] == 0:
        values = np.zeros((0, p.weights.size))
    elif gamma >= 1.0:
        values = (~_served_by(gp, Y <= 1.0)).astype(np.float64)
    else:
        values = _turnip_from(p, Y, gamma, rng)
    scale = float(np.prod(splits[: stop - 1].astype(np.float64)))
    per = np.zeros((runs, p.weights.size))
    np.add.at(per, run, values / scale)
    return per @ p.weights, per


def generalized_splitting(
    net: CompiledNetwork, runs: int, seed: int | np.random.SeedSequence | None = None, *,
    rho: float = 0.5, pilot: int = 200, finish: float = 0.3, trace: bool = True, confidence: float = 0.95,
) -> Estimate:
    """Demand-weighted unreachability by generalized splitting on the repair times.

    Generalized splitting (Botev, L'Ecuyer, Rubino, Simard and Tuffin, INFORMS
    J. Computing 2013) on the same construction as the turnip: every basic event
    (component or common-cause event) has an exponential repair time with rate
    ``-ln p``; ``S(Y)`` is the time at which every demand is served, and the
    weighted unreachable share at time 1 is positive only when ``S(Y) > 1``.
    An adaptive pilot of ``pilot`` chains places levels ``gamma_1 < ... < 1``
    with conditional probabilities about ``rho``; then ``runs`` independent
    fixed-level runs each start from one unconditional draw, and at level ``t``
    every surviving state runs a Gibbs chain of ``s_t = round(1/rho_t)`` sweeps
    (invariant for the law given ``S > gamma_t``), keeping each state with
    ``S > gamma_{t+1}``. Splitting stops after the first ``finish`` share of the
    levels: each state then reached at ``gamma`` is finished by one turnip
    replication of its residual problem (events repaired by ``gamma`` stay
    repaired, the others get rates ``lambda (1 - gamma)``), an unbiased estimate
    of its conditional probability of being unserved at time 1. A run's value,
    the sum over its final states divided by ``prod s_t``, is unbiased whatever
    the levels; the interval comes from the variance across runs. Splitting's
    relative variance grows only with the number of levels it goes through, so
    it copes with joint cuts of parallel blocks that make the plain turnip's
    replications heavy-tailed, at a much higher cost per run.

    Parameters
    ----------
    net : CompiledNetwork
    runs : int
        Independent splitting runs (processed 128 per random stream).
    seed : int or SeedSequence, optional
    rho : float
        Target conditional probability between levels.
    pilot : int
        Chains of the adaptive pilot that places the levels.
    finish : float
        Share of the levels gone through by splitting before the turnip
        finishes (1 = pure splitting to ``gamma = 1``).

    Returns
    -------
    Estimate
        ``method = "generalized-splitting"``; ``details`` as for
        :func:`rare_unreachability` plus ``levels`` and ``splits``.

    Examples
    --------
    >>> from model.network.graphs import grid, parallel
    >>> from model.network.compiled import compile_graph
    >>> from model.static.exact import exact_unreachability
    >>> g, s, t = parallel([grid(3, 1e-4)] * 2)
    >>> net = compile_graph(g, s, t)
    >>> est = generalized_splitting(net, 64, seed=3)
    >>> abs(est.value - exact_unreachability(net).value) < 4 * est.std_error, est.method
    (True, 'generalized-splitting')
    """
    if runs < 2:
        raise ValueError(f"runs must be >= 2, got {runs}")
    if not 0 < rho < 1:
        raise ValueError(f"rho must lie in (0, 1), got {rho}")
    wall0, cpu0 = time.perf_counter(), time.process_time()
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    plan = _plan(net)
    if plan.rates.size == 0 or not _servable(plan):
        raise ValueError("generalized splitting needs every demand servable once all events are repaired "
                         "and at least one uncertain event; use method='turnip'")
    gp = _GSPlan(plan)
    n_chunks = -(-runs // _GS_CHUNK)
    levels, probs = _gs_levels(gp, named_rng(ss, "gs-pilot"), pilot, rho)
    splits = np.maximum(1, np.round(1.0 / probs[:-1])).astype(np.int64)
    stop = int(min(levels.size, max(1, math.ceil(finish * levels.size))))
    ys, moments = [], _Moments()
    for i in range(n_chunks):
        k = min(_GS_CHUNK, runs - i * _GS_CHUNK)
        y, per = _gs_chunk(gp, levels, splits, stop, k, named_rng(ss, "gs-runs", i))
        ys.append(y)
        moments.add(per)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return _finish(net, np.concatenate(ys), *moments.result(), plan.demand_index, GS_METHOD, ss, cpu, wall,
                   trace, confidence, {
                       "estimator": "generalized splitting on exponential repair times (Gibbs sampler), "
                                    "finished by the turnip",
                       "levels": levels.tolist(), "splits": splits.tolist(), "split_levels": stop,
                       "pilot_estimate": float(np.prod(probs)),
                   })
