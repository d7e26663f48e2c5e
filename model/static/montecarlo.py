"""Crude Monte Carlo: the share of calls that cannot get through, with confidence intervals.

A run is a fixed *chunk plan* (:func:`chunk_plan`): chunk ``i`` draws its trials
from ``SeedSequence(entropy=seed, spawn_key=(i,))`` whatever process runs it, and
returns a :class:`Tally` of integers that add exactly. Summing the tallies of the
plan's chunks in any order or grouping gives the same bits, so one core, a process
pool or a cluster give identical results (:func:`run_chunk` is the unit of work a
parallel backend farms out). Memory is that of one chunk, whatever the number of
trials.

Inside a chunk (see :mod:`model.static.sampling` and :mod:`model.network.reachability`):

1. sample the component failures of all trials (sparse draws for rare failures);
2. when failures are rare, group the trials by failed set and evaluate each
   distinct set once; otherwise evaluate all trials, 64 per machine word;
3. group the trials by their *unreachable mask* (the set of demands cut off) and
   tally counts per demand, trials with any unreachable demand, and the sum and sum
   of squares of the per-trial demand-weighted unreachable share.

Shares are accumulated in fixed point (units of ``2**-52`` of the total weight,
as Python integers), so sums never depend on the order of addition.

Examples
--------
>>> import networkx as nx
>>> from model.network.compiled import compile_graph
>>> from model.static.montecarlo import crude_monte_carlo
>>> g = nx.Graph()
>>> g.add_edge("s", "a", q=0.1); g.add_edge("a", "t", q=0.1); g.add_edge("s", "t", q=0.1)
>>> net = compile_graph(g, "s", "t")
>>> res = crude_monte_carlo(net, 200_000, seed=7)
>>> exact = 0.1 * (1 - 0.9 ** 2)
>>> abs(res.overall.value - exact) < 4 * res.overall.std_error
True
>>> res.overall.method, res.samples
('crude-mc', 200000)
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import stats

from model.network.compiled import CompiledNetwork
from model.network.reachability import kernel_for
from model.results.estimate import Estimate, binomial_estimate, mean_estimate, provenance
from model.run.checkpoint import register_tally
from model.run.runner import run_chunks
from model.run.seeds import chunk_plan, chunk_rng
from model.static.sampling import (
    DENSE_THRESHOLD,
    FailureSample,
    distinct_failed_sets,
    pack_sets,
    popcount,
    sample_network_failures,
    unpack_bits,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_MEMORY",
    "DemandEstimates",
    "MCResult",
    "MemoryBudgetError",
    "Tally",
    "chunk_size_for",
    "crude_monte_carlo",
    "make_result",
    "mean_failures_per_trial",
    "overall_estimate",
    "run_chunk",
    "use_dedupe",
]

#: Most trials per chunk (a multiple of 64); fewer when the memory budget asks for it.
DEFAULT_CHUNK_SIZE = 1 << 18
#: Memory budget of one chunk (bytes) unless told otherwise (``--max-memory``, MiB, on the CLI).
DEFAULT_MAX_MEMORY = 256 * 2**20
#: Fixed-point scale of shares: a share ``s`` is tallied as ``round(s * 2**52)``.
SHARE_BITS = 52
#: Distinct failed sets are evaluated once (rather than every trial) when
#: ``m * exp(m) < DEDUPE_WORK_FACTOR * kernel.work_per_word``, ``m`` the expected number of
#: components down per trial: grouping costs about one unit per failure, and it saves the
#: kernel's work on the ``exp(-m)`` share of trials without failures and on repeated sets.
#: Calibrated on the dodecahedron and the benchmark's UK-shaped networks; it only affects speed.
DEDUPE_WORK_FACTOR = 1.2e-3

Groups = Mapping[str, Sequence[int] | np.ndarray]


# ---------------------------------------------------------------------------- tally
def _add_tuples(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(x + y for x, y in zip(a, b, strict=True))


@dataclass(frozen=True, eq=False)
class Tally:
    """Exactly additive counts of one chunk (or of several, added with ``+``).

    Attributes
    ----------
    trials : int
    demand_unreachable : int64 array (D,)
        Trials in which each demand was unreachable.
    any_unreachable : int
        Trials with at least one unreachable demand (of positive weight or not).
    share_sum, share_sq_sum : int
        Sum over trials of the demand-weighted unreachable share ``s`` in units of
        ``2**-52`` and of ``s**2`` in units of ``2**-104``.
    group_names : tuple of str
        Groups tallied per trial (see ``groups`` of :func:`run_chunk`), with
        ``group_sum``, ``group_sq_sum`` (fixed point as above, weights relative to
        the group's total) and ``group_nonzero`` (trials with a positive group
        share).
    failed_trials : int
        Trials with at least one component down.
    share_nonzero : int
        Trials with a positive unreachable share (differs from ``any_unreachable``
        only through demands of zero weight).
    evaluated_sets : int
        Reachability evaluations made (distinct failed sets, or all trials); a
        diagnostic of the work done, ignored by ``==``.

    Examples
    --------
    >>> import numpy as np
    >>> a = Tally(10, np.array([1, 0]), 1, 5, 25)
    >>> (a + a).trials, (a + a).demand_unreachable.tolist(), a + a == Tally(20, np.array([2, 0]), 2, 10, 50)
    (20, [2, 0], True)
    """

    trials: int
    demand_unreachable: np.ndarray
    any_unreachable: int
    share_sum: int
    share_sq_sum: int
    group_names: tuple[str, ...] = ()
    group_sum: tuple[int, ...] = ()
    group_sq_sum: tuple[int, ...] = ()
    group_nonzero: tuple[int, ...] = ()
    failed_trials: int = 0
    evaluated_sets: int = 0
    share_nonzero: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "demand_unreachable", np.asarray(self.demand_unreachable, dtype=np.int64))

    @classmethod
    def zero(cls, n_demands: int, group_names: Sequence[str] = ()) -> Tally:
        """The neutral element (no trials)."""
        g = len(group_names)
        return cls(0, np.zeros(n_demands, dtype=np.int64), 0, 0, 0, tuple(group_names),
                   (0,) * g, (0,) * g, (0,) * g)

    def __add__(self, other: Tally) -> Tally:
        if not isinstance(other, Tally):
            return NotImplemented
        if other.group_names != self.group_names:
            raise ValueError("cannot add tallies of different groups")
        if other.demand_unreachable.shape != self.demand_unreachable.shape:
            raise ValueError("cannot add tallies of different networks")
        return Tally(
            self.trials + other.trials,
            self.demand_unreachable + other.demand_unreachable,
            self.any_unreachable + other.any_unreachable,
            self.share_sum + other.share_sum,
            self.share_sq_sum + other.share_sq_sum,
            self.group_names,
            _add_tuples(self.group_sum, other.group_sum),
            _add_tuples(self.group_sq_sum, other.group_sq_sum),
            _add_tuples(self.group_nonzero, other.group_nonzero),
            self.failed_trials + other.failed_trials,
            self.evaluated_sets + other.evaluated_sets,
            self.share_nonzero + other.share_nonzero,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tally):
            return NotImplemented
        a, b = self.to_dict(), other.to_dict()
        a.pop("evaluated_sets")
        b.pop("evaluated_sets")
        return a == b

    __hash__ = None  # type: ignore[assignment]

    @property
    def share_mean(self) -> float:
        """Mean per-trial unreachable share (correctly rounded from the exact sum)."""
        return self.share_sum / (self.trials << SHARE_BITS) if self.trials else math.nan

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (integers kept exact); inverse of :meth:`from_dict`."""
        return {
            "trials": self.trials,
            "demand_unreachable": self.demand_unreachable.tolist(),
            "any_unreachable": self.any_unreachable,
            "share_sum": str(self.share_sum),
            "share_sq_sum": str(self.share_sq_sum),
            "share_bits": SHARE_BITS,
            "group_names": list(self.group_names),
            "group_sum": [str(x) for x in self.group_sum],
            "group_sq_sum": [str(x) for x in self.group_sq_sum],
            "group_nonzero": list(self.group_nonzero),
            "failed_trials": self.failed_trials,
            "evaluated_sets": self.evaluated_sets,
            "share_nonzero": self.share_nonzero,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Tally:
        """Rebuild a tally written by :meth:`to_dict` (e.g. from a checkpoint)."""
        if d.get("share_bits", SHARE_BITS) != SHARE_BITS:
            raise ValueError("tally was written with another fixed-point scale")
        return cls(
            int(d["trials"]), np.array(d["demand_unreachable"], dtype=np.int64), int(d["any_unreachable"]),
            int(d["share_sum"]), int(d["share_sq_sum"]), tuple(d["group_names"]),
            tuple(int(x) for x in d["group_sum"]), tuple(int(x) for x in d["group_sq_sum"]),
            tuple(int(x) for x in d["group_nonzero"]), int(d["failed_trials"]), int(d["evaluated_sets"]),
            int(d.get("share_nonzero", 0)),
        )


def _tally_matches(t: Tally, chunks_done: int, units_done: int) -> str | None:
    """What makes a checkpointed tally inconsistent with its chunks (None: nothing)."""
    if t.trials != units_done:
        return f"it counts {t.trials} trials, the chunks hold {units_done}"
    counts = [t.any_unreachable, t.failed_trials, t.share_nonzero, *t.group_nonzero,
              *t.demand_unreachable.tolist()]
    if any(c < 0 or c > t.trials for c in counts) or t.share_sum < 0 or t.share_sq_sum < 0:
        return "a count is negative or larger than the trials"
    return None


register_tally(Tally, _tally_matches)


# --------------------------------------------------------------------- chunk engine
def _fixed_weights(weight: np.ndarray) -> np.ndarray:
    """``round(w / sum(w) * 2**52)`` as int64 (zeros when the total is 0)."""
    total = float(weight.sum())
    if total <= 0:
        return np.zeros(weight.shape, dtype=np.int64)
    return np.rint(np.ldexp(weight / total, SHARE_BITS)).astype(np.int64)


@dataclass(frozen=True)
class _Weights:
    """Fixed-point demand weights: overall, and per group as a demand -> group CSR."""

    share: np.ndarray  # (D,) int64, overall weights in units of 2**-52 of the total
    names: tuple[str, ...]
    mem_ptr: np.ndarray  # (D+1,) memberships of demand d: mem_ptr[d]:mem_ptr[d+1]
    mem_group: np.ndarray
    mem_weight: np.ndarray  # int64, weight relative to the group's total


def _weights(net: CompiledNetwork, groups: dict[str, np.ndarray]) -> _Weights:
    d_parts, g_parts, w_parts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for g, idx in enumerate(groups.values()):
        d_parts.append(idx)
        g_parts.append(np.full(idx.size, g, dtype=np.int64))
        w_parts.append(_fixed_weights(net.demand_weight[idx]))
    d = np.concatenate(d_parts)
    order = np.argsort(d, kind="stable")
    ptr = np.zeros(net.n_demands + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(np.bincount(d, minlength=net.n_demands))
    return _Weights(_fixed_weights(net.demand_weight), tuple(groups), ptr,
                    np.concatenate(g_parts)[order], np.concatenate(w_parts)[order])


def _hit_pairs(bits: np.ndarray, n_sets: int) -> tuple[np.ndarray, np.ndarray]:
    """``(set, demand)`` for every set bit among the first ``n_sets`` columns of ``(D, W)`` bits."""
    d, w = np.nonzero(bits)
    r, p = np.nonzero(unpack_bits(bits[d, w][:, None], 64))
    j = w[r] * 64 + p
    keep = j < n_sets
    return j[keep], d[r][keep]


def _exact_sums(mult: np.ndarray, values: np.ndarray, starts: np.ndarray | None = None) -> tuple[
        list[int], list[int]]:
    """Segment sums of ``mult * values`` and ``mult * values**2`` as exact Python integers."""
    c = mult.astype(np.int64).astype(object)
    v = values.astype(np.int64).astype(object)
    cv = c * v
    if starts is None:
        return [int(cv.sum())], [int((cv * v).sum())]
    return [int(x) for x in np.add.reduceat(cv, starts)], [int(x) for x in np.add.reduceat(cv * v, starts)]


def _tally_pairs(j: np.ndarray, d: np.ndarray, mult: np.ndarray, n_sets: int, n_demands: int,
                 wts: _Weights) -> Tally:
    """Tally of evaluated sets (``mult`` trials each) from their ``(set, demand)`` unreachable pairs."""
    m = mult[j].astype(np.float64)  # integer-valued floats: sums below 2**53 are exact
    per_demand = np.bincount(d, weights=m, minlength=n_demands).astype(np.int64)
    hit = np.flatnonzero(np.bincount(j, minlength=n_sets))
    share = np.bincount(j, weights=wts.share[d].astype(np.float64), minlength=n_sets)[hit]
    (s1,), (s2,) = _exact_sums(mult[hit], share)
    n_groups = len(wts.names)
    g_sum, g_sq, g_nz = [0] * n_groups, [0] * n_groups, [0] * n_groups
    if n_groups and j.size:
        cnt = wts.mem_ptr[d + 1] - wts.mem_ptr[d]
        e = np.repeat(np.arange(j.size), cnt)
        pos = wts.mem_ptr[d][e] + np.arange(e.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        key = wts.mem_group[pos] * n_sets + j[e]
        order = np.argsort(key, kind="stable")
        key = key[order]
        first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, np.int64)
        if first.size:
            gshare = np.add.reduceat(wts.mem_weight[pos][order], first)
            gid, sid = key[first] // n_sets, key[first] % n_sets
            gstart = np.flatnonzero(np.r_[True, gid[1:] != gid[:-1]])
            a, b = _exact_sums(mult[sid], gshare, gstart)
            pos_share = gshare > 0
            nz = np.bincount(gid[pos_share], weights=mult[sid][pos_share].astype(np.float64),
                             minlength=n_groups).astype(np.int64)
            for k, g in enumerate(gid[gstart].tolist()):
                g_sum[g], g_sq[g] = a[k], b[k]
            g_nz = [int(x) for x in nz]
    return Tally(0, per_demand, int(mult[hit].sum()), s1, s2, wts.names, tuple(g_sum), tuple(g_sq),
                 tuple(g_nz), share_nonzero=int(mult[hit][share > 0].sum()))


def _tally_bits(bits: np.ndarray, n_sets: int, mult: np.ndarray, wts: _Weights) -> Tally:
    """Tally of packed unreachable bits ``(D, W)``, in word blocks to bound memory."""
    n_demands, n_words = bits.shape
    total = Tally.zero(n_demands, wts.names)
    if n_demands == 0 or n_sets == 0:
        return total
    bw = max(1, (1 << 18) // n_demands)
    for lo in range(0, n_words, bw):
        sub = bits[:, lo : lo + bw]
        base = lo * 64
        n_sub = min(sub.shape[1] * 64, n_sets - base)
        j, d = _hit_pairs(sub, n_sub)
        total = total + _tally_pairs(j, d, mult[base : base + n_sub], n_sub, n_demands, wts)
    return total


def _chunk_tally(net: CompiledNetwork, sample: FailureSample, dedupe: bool, wts: _Weights) -> Tally:
    kernel = kernel_for(net)
    n = sample.n_trials
    if dedupe:
        trial, comp = sample.pairs()
        fs = distinct_failed_sets(trial, comp, n)
        t = _tally_bits(kernel(pack_sets(fs.ptr, fs.members, net.n_components)), fs.n_sets,
                        fs.multiplicity, wts)
        failed = int(fs.multiplicity[np.diff(fs.ptr) > 0].sum())
        evaluated = fs.n_sets
    else:
        down = sample.packed()
        failed = int(popcount(np.bitwise_or.reduce(down, axis=0), axis=None).sum()) if down.shape[0] else 0
        t = _tally_bits(kernel(down), n, np.ones(n, dtype=np.int64), wts)
        evaluated = n
    return replace(t, trials=n, failed_trials=failed, evaluated_sets=evaluated)


def normalise_groups(net: CompiledNetwork, groups: Groups | None) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, idx in (groups or {}).items():
        arr = np.unique(np.asarray(idx, dtype=np.int64))
        if arr.size and (arr[0] < 0 or arr[-1] >= net.n_demands):
            raise ValueError(f"group {name!r}: demand index out of range 0..{net.n_demands - 1}")
        out[str(name)] = arr
    return out


def mean_failures_per_trial(net: CompiledNetwork) -> float:
    """Expected number of components down in a trial (independent + common-cause, upper bound)."""
    sizes = np.diff(net.ccf_member_ptr)
    return float(net.q.sum() + (net.ccf_q * sizes).sum())


class MemoryBudgetError(ValueError):
    """Not even 64 trials of the network fit the memory budget; the message says what would."""


def chunk_size_for(net: CompiledNetwork, max_memory: int = DEFAULT_MAX_MEMORY) -> int:
    """Trials per chunk (a multiple of 64, at most :data:`DEFAULT_CHUNK_SIZE`) within ``max_memory`` bytes.

    A chunk holds, per trial: its failures (index pairs and the temporaries of
    packing and grouping them, about 80 bytes a failure), the packed down bits of
    every component and common-cause event and the unreachable bits of every demand
    (1/8 byte each, twice); beside them, the reachability kernel's arrays and one
    block of its state.

    Raises
    ------
    MemoryBudgetError
        When not even 64 trials fit.

    Examples
    --------
    >>> import networkx as nx
    >>> from model.network.compiled import compile_graph
    >>> net = compile_graph(nx.path_graph(3), 0, 2, default_edge_q=0.01)
    >>> chunk_size_for(net)
    262144
    >>> chunk_size_for(net, max_memory=5 * 2**20) < 262144
    True
    """
    kernel = kernel_for(net)
    m = mean_failures_per_trial(net)
    allq = np.concatenate([net.q, net.ccf_q])
    dense = allq > DENSE_THRESHOLD
    ev = dense[net.n_components :]
    ev_size = np.diff(net.ccf_member_ptr)
    m_sparse = float(net.q[~dense[: net.n_components]].sum() + (net.ccf_q * ev_size)[~ev].sum())
    n_dense = int(dense.sum())
    # densely sampled items cost 1/8 byte a trial as bits, rare ones their failure pairs; grouping
    # failed sets (rare failures only) unpacks the dense rows to one byte a trial
    per_trial = (80.0 * (m if use_dedupe(net) else m_sparse) + (n_dense if use_dedupe(net) else 0)
                 + (net.n_components + net.n_ccf + n_dense + 2 * net.n_demands) / 4.0 + 64.0)
    fixed = kernel.fixed_bytes()
    n = int((max_memory - fixed) // per_trial) // 64 * 64
    if n < 64:
        need = (fixed + 64 * per_trial) / 2**20
        raise MemoryBudgetError(
            f"crude Monte Carlo needs about {need:,.0f} MiB for the smallest chunk (64 trials) of this "
            f"network ({net.n_components:,} components, {m:,.1f} failures a trial on average), above the "
            f"memory budget of {max_memory / 2**20:,.0f} MiB; raise --max-memory (MiB) to at least "
            f"{math.ceil(need):,}, or use --method rare")
    return min(DEFAULT_CHUNK_SIZE, n)


def use_dedupe(net: CompiledNetwork) -> bool:
    """Whether :func:`run_chunk` evaluates distinct failed sets (True) or every trial.

    Examples
    --------
    >>> import networkx as nx
    >>> from model.network.compiled import compile_graph
    >>> use_dedupe(compile_graph(nx.path_graph(3), 0, 2, default_edge_q=0.5))
    False
    """
    m = mean_failures_per_trial(net)
    return m * math.exp(min(m, 700.0)) < DEDUPE_WORK_FACTOR * kernel_for(net).work_per_word


def run_chunk(
    net: CompiledNetwork,
    chunk_index: int,
    chunk_trials: int,
    seed: int,
    *,
    groups: Groups | None = None,
    dedupe: bool | None = None,
) -> Tally:
    """Run chunk ``chunk_index`` of a plan: ``chunk_trials`` trials from child ``(chunk_index,)``.

    The result depends only on the arguments (not on the process or on other
    chunks), so a parallel backend can run chunks anywhere and add the tallies.

    Parameters
    ----------
    net : CompiledNetwork
    chunk_index : int
        Position in the plan; selects the random stream.
    chunk_trials : int
        Trials in this chunk (from :func:`chunk_plan`).
    seed : int
        Entropy of the run's root ``SeedSequence``.
    groups : mapping of name to demand indices, optional
        Demand groups whose weighted share is tallied per trial, for exact group
        intervals in :meth:`MCResult.by_group`.
    dedupe : bool, optional
        Evaluate each distinct failed set once (default: :func:`use_dedupe`). Either
        way the tally is the same; only the speed differs.

    Examples
    --------
    >>> import networkx as nx
    >>> from model.network.compiled import compile_graph
    >>> net = compile_graph(nx.path_graph(3), 0, 2, default_edge_q=0.01)
    >>> a = run_chunk(net, 0, 5000, seed=1)
    >>> a == run_chunk(net, 0, 5000, seed=1, dedupe=False), a.trials
    (True, 5000)
    """
    rng = chunk_rng(seed, chunk_index)
    sample = sample_network_failures(net, int(chunk_trials), rng)
    if dedupe is None:
        dedupe = use_dedupe(net)
    return _chunk_tally(net, sample, dedupe, _weights(net, normalise_groups(net, groups)))


# --------------------------------------------------------------------------- result
def _wilson_arrays(k: np.ndarray, n: int, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = np.maximum(0.0, centre - half)
    hi = np.minimum(1.0, centre + half)
    zero = k == 0
    lo[zero] = 0.0
    hi[zero] = 1 - (1 - confidence) ** (1 / n)
    return lo, hi


@dataclass(frozen=True)
class DemandEstimates:
    """Per-demand probability of being unreachable: arrays over demands.

    Wilson intervals; a demand never seen unreachable gets ``[0, upper]``, the exact
    one-sided bound.
    """

    names: tuple[str, ...]
    events: np.ndarray
    samples: int
    value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    std_error: np.ndarray
    seed: int | None = None

    def estimate(self, d: int) -> Estimate:
        """The :class:`Estimate` of demand ``d``."""
        return binomial_estimate(int(self.events[d]), self.samples, method="crude-mc", seed=self.seed,
                                 details={"demand": self.names[d]})

    def to_dict(self) -> dict[str, Any]:
        return {
            name: {"estimate": float(v), "ci_low": float(lo), "ci_high": float(hi), "std_error": float(se),
                   "events": int(k)}
            for name, v, lo, hi, se, k in zip(self.names, self.value, self.ci_low, self.ci_high,
                                               self.std_error, self.events, strict=True)
        }


@dataclass(frozen=True)
class MCResult:
    """Result of a crude Monte Carlo run.

    Attributes
    ----------
    overall : Estimate
        Demand-weighted probability that a call is unreachable (normal interval from
        the per-trial share variance; the exact one-sided bound when nothing was seen).
    per_demand : DemandEstimates
    expected_unreachable_calls_per_year : Estimate
        ``overall`` times the total demand weight (calls per year).
    tally : Tally
        The exact sums behind every number.
    """

    overall: Estimate
    per_demand: DemandEstimates
    expected_unreachable_calls_per_year: Estimate
    tally: Tally
    samples: int
    seed: int
    seconds: float
    chunk_size: int
    method: str = "crude-mc"
    groups: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    demand_weight: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    provenance: dict[str, Any] = field(default_factory=dict, repr=False)

    def by_group(self, groups: Groups | None = None) -> dict[str, Estimate]:
        """Demand-weighted unreachable probability of each group of demands.

        Groups given to :func:`crude_monte_carlo` (the default here) get the exact
        per-trial variance. Other groups get the exact value with a conservative
        interval: the standard error is bounded by the sum of the weighted
        per-demand standard errors (a ``normal`` interval, ``details["variance"]`` says so).
        """
        out: dict[str, Estimate] = {}
        n, t = self.tally.trials, self.tally
        for name, idx in (self.groups if groups is None else groups).items():
            idx = np.unique(np.asarray(idx, dtype=np.int64))
            registered = name in t.group_names and np.array_equal(self.groups.get(name), idx)
            w = self.demand_weight[idx]
            wsum = float(w.sum())
            events = int(t.demand_unreachable[idx].sum())
            details = {"group": name, "demands": int(idx.size), "weight": wsum, "demand_events": events}
            conf = self.overall.confidence
            kw = {"method": self.method, "seed": self.seed, "seconds": self.seconds, "confidence": conf}
            if wsum <= 0:  # no calls in the group: nothing can be lost, say so with the bound
                details["note"] = "group has no demand weight"
                out[name] = mean_estimate(0.0, 0.0, n, n_nonzero=0, details=details, **kw)
                continue
            if registered:
                i = t.group_names.index(name)
                out[name] = mean_estimate(
                    t.group_sum[i] / (1 << SHARE_BITS), t.group_sq_sum[i] / (1 << (2 * SHARE_BITS)), n,
                    n_nonzero=t.group_nonzero[i], details=details, **kw)
                continue
            a = w / wsum
            p = t.demand_unreachable[idx] / n
            value = float(a @ p)
            if value == 0.0:
                out[name] = mean_estimate(0.0, 0.0, n, n_nonzero=0, details=details, **kw)
                continue
            se = float(a @ np.sqrt(p * (1 - p) / n))
            z = float(stats.norm.ppf(0.5 + conf / 2))
            lo, hi = max(0.0, value - z * se), min(1.0, value + z * se)
            details["variance"] = "upper bound: group not tallied per trial"
            out[name] = Estimate(value, lo, hi, se, n, self.method, self.seed, conf, "normal",
                                 self.seconds, details)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the tally is included so runs can be combined or resumed)."""
        return {
            "method": self.method,
            "samples": self.samples,
            "seed": self.seed,
            "seconds": self.seconds,
            "chunk_size": self.chunk_size,
            "overall": self.overall.to_dict(with_provenance=False),
            "expected_unreachable_calls_per_year": self.expected_unreachable_calls_per_year.to_dict(
                with_provenance=False),
            "per_demand": self.per_demand.to_dict(),
            "groups": {k: v.to_dict() for k, v in self.by_group().items()},
            "tally": self.tally.to_dict(),
            "provenance": self.provenance,
        }


def overall_estimate(tally: Tally, *, seed: int | None = None, seconds: float = 0.0,
                     confidence: float = 0.95, details: dict | None = None) -> Estimate:
    """Demand-weighted unreachable probability from a (summed) tally.

    A normal interval from the per-trial share variance; the exact one-sided upper
    bound when no trial had a positive share.

    Examples
    --------
    >>> import numpy as np
    >>> e = overall_estimate(Tally(1000, np.zeros(1), 0, 0, 0))
    >>> e.value, e.interval
    (0.0, 'one-sided-upper')
    """
    info = {"unreachable_trials": tally.any_unreachable, "failed_trials": tally.failed_trials,
            "evaluated_sets": tally.evaluated_sets, **(details or {})}
    return mean_estimate(
        tally.share_sum / (1 << SHARE_BITS), tally.share_sq_sum / (1 << (2 * SHARE_BITS)), tally.trials,
        n_nonzero=tally.share_nonzero, method="crude-mc", seed=seed, confidence=confidence, seconds=seconds,
        details=info)


def make_result(net: CompiledNetwork, tally: Tally, *, seed: int, chunk_size: int, seconds: float,
                groups: Groups | None = None, confidence: float = 0.95) -> MCResult:
    """Turn a (summed) :class:`Tally` into an :class:`MCResult`."""
    n = tally.trials
    overall = overall_estimate(tally, seed=seed, seconds=seconds, confidence=confidence,
                               details={"chunk_size": chunk_size})
    k = tally.demand_unreachable
    lo, hi = _wilson_arrays(k, n, confidence)
    p = k / n
    per = DemandEstimates(net.demand_names, k, n, p, lo, hi, np.sqrt(p * (1 - p) / n), seed)
    prov = provenance(method="crude-mc", seed_entropy=seed, samples=n, chunk_size=chunk_size,
                      chunks=len(chunk_plan(n, chunk_size)))
    overall = replace(overall, provenance=prov)
    return MCResult(overall, per, overall.scaled(net.total_weight), tally, n, seed, seconds, chunk_size,
                    groups=normalise_groups(net, groups), demand_weight=np.asarray(net.demand_weight),
                    provenance=prov)


def crude_monte_carlo(
    net: CompiledNetwork,
    samples: int,
    seed: int | None = None,
    *,
    chunk_size: int | None = None,
    groups: Groups | None = None,
    backend: Any = None,
    workers: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float = 1.0,
    target_rse: float | None = None,
    progress: bool | None = None,
    quiet: bool = False,
    max_memory: int = DEFAULT_MAX_MEMORY,
) -> MCResult:
    """Estimate unreachability by crude Monte Carlo, on one core, worker processes or a Dask cluster.

    The chunk function is :func:`run_chunk`, the finish step :func:`make_result`; the runner
    (:func:`model.run.runner.run_chunks`) adds the tallies in chunk order, so the same
    ``(samples, chunk_size, seed)`` gives the same bits on every backend and worker count.

    Parameters
    ----------
    net : CompiledNetwork
    samples : int
        Trials in the plan (fewer are run when ``target_rse`` stops the run).
    seed : int, optional
        Entropy of the root ``SeedSequence`` (fresh entropy, recorded in the result, when
        None; the checkpoint's when resuming).
    chunk_size : int, optional
        Trials per chunk; the same ``(samples, chunk_size, seed)`` always gives the same
        result, however the chunks are run. Default: :func:`chunk_size_for` the network and
        ``max_memory``.
    groups : mapping of name to demand indices, optional
        Groups to tally per trial (exact intervals in :meth:`MCResult.by_group`).
    backend : "serial", "auto", "processes", dask Client or "tcp://host:port", optional
        Default: ``"serial"``, or ``"auto"`` when ``workers`` is given (see
        :func:`~model.run.runner.run_chunks`).
    workers, checkpoint, checkpoint_interval, target_rse, progress, quiet
        See :func:`~model.run.runner.run_chunks`; ``target_rse`` applies to the overall
        unreachable share.
    max_memory : int
        Memory budget of one chunk in bytes, per worker (see :func:`chunk_size_for`).

    Returns
    -------
    MCResult
        With ``provenance["run"]`` = :meth:`~model.run.runner.RunInfo.to_dict`.

    Raises
    ------
    ValueError
        Bad options (e.g. ``samples < 1``), or a checkpoint that belongs to another run.
    RuntimeError
        A chunk failed in a worker.

    Examples
    --------
    >>> import networkx as nx
    >>> from model.network.compiled import compile_graph
    >>> net = compile_graph(nx.path_graph(3), 0, 2, default_edge_q=0.0)
    >>> r = crude_monte_carlo(net, 1000, seed=1)
    >>> r.overall.value, r.overall.interval, round(r.overall.ci_high, 5)
    (0.0, 'one-sided-upper', 0.00299)
    >>> net = compile_graph(nx.path_graph(3), 0, 2, default_edge_q=0.2)
    >>> r = crude_monte_carlo(net, 10**6, seed=1, chunk_size=10_000, target_rse=0.02, progress=False)
    >>> r.samples < 10**6, r.overall.relative_error <= 0.02, r.provenance["run"]["stopped_early"]
    (True, True, True)
    """
    size = chunk_size_for(net, max_memory) if chunk_size is None else int(chunk_size)
    if backend is None:
        backend = "serial" if workers is None else "auto"
    g = normalise_groups(net, groups)
    tally, info = run_chunks(
        run_chunk, net, chunk_plan(samples, size), seed, backend=backend, workers=workers,
        checkpoint=checkpoint, checkpoint_interval=checkpoint_interval, target_rse=target_rse,
        estimate_fn=overall_estimate, progress=progress, quiet=quiet,
        chunk_kwargs={"groups": g} if g else None, unit="trials", desc="estimate")
    res = make_result(net, tally, seed=info.seed_entropy, chunk_size=size, seconds=info.seconds, groups=g)
    prov = {**res.provenance, "run": info.to_dict()}
    return dataclasses.replace(res, provenance=prov, overall=replace(res.overall, provenance=prov))
