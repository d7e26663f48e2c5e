"""Component failure states for many trials at once, 64 trials per machine word.

A trial is one draw of the static failure model: component ``c`` is down with
probability ``q[c]`` independently, and every common-cause event ``g`` occurs with
probability ``ccf_q[g]`` and takes all its members down. For ``T`` trials the
states are kept two ways:

* **packed bits** ``(C, W)`` of ``uint64`` with ``W = ceil(T / 64)``: bit ``t % 64``
  of word ``t // 64`` in row ``c`` is set when component ``c`` is down in trial
  ``t`` (the input of :mod:`model.network.reachability`);
* the **failure list** ``(trial, component)`` sorted by trial then component, from
  which :func:`distinct_failed_sets` finds each distinct failed set once.

Two samplers, chosen per component by its probability:

* *sparse* (``q <= dense_threshold``): the trials in which a component fails are
  the partial sums of Geometric(q) gaps (an exact Bernoulli process) — work grows
  with the number of failures, not with ``T x C``;
* *dense* (larger ``q``): one raw 32-bit random word per component and trial,
  compared with ``q`` scaled to ``2**32`` (``q`` resolved to ``2**-33``).

Examples
--------
>>> import numpy as np
>>> from model.static.sampling import sample_failures
>>> s = sample_failures(np.array([0.0, 1.0, 0.01]), 100, np.random.default_rng(1))
>>> s.packed().shape, s.packed().dtype
((3, 2), dtype('uint64'))
>>> int(s.counts()[1]), int(s.counts()[0])
(100, 0)
>>> bool(np.all(s.component_trials(1) == np.arange(100)))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.network.bits import or_pairs_into, pack_bool, pack_sets, popcount, unpack_bits
from model.network.compiled import CompiledNetwork

__all__ = [
    "DENSE_THRESHOLD",
    "FailedSets",
    "FailureSample",
    "distinct_failed_sets",
    "pack_sets",
    "popcount",
    "sample_failures",
    "sample_network_failures",
    "unpack_bits",
]

#: Components (and common-cause events) with ``q`` above this are sampled densely.
DENSE_THRESHOLD = 0.03

def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an int array (plain sort; faster than ``np.unique`` here)."""
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if a.size else a


#: Work of one sampling step (random draws held at once); sampling memory stays near 16 bytes times this.
_BLOCK = 1 << 19


def _sparse_draw(q: np.ndarray, n_trials: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Failures of the items ``q > 0``: ``(item, trial)`` pairs sorted by item then trial.

    Each item is an exact Bernoulli process over the trials, drawn by its gaps:
    the trials in which it fails are the partial sums of Geometric(q) gaps, so the
    work grows with the number of failures (``q T`` per item), not with ``T``, and
    nothing has to be sorted or redrawn. Items are drawn in blocks of about
    ``_BLOCK`` gaps, so the temporary memory is bounded whatever ``T`` and ``C``.
    """
    n = q.size
    T = int(n_trials)
    if n == 0 or T == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    mean = q * T
    # enough gaps to pass T with overwhelming probability; the rare item that falls short
    # draws more, continuing its own process
    need = np.minimum(np.ceil(mean + 8.0 * np.sqrt(mean * (1.0 - q)) + 8.0), T + 1).astype(np.int64)
    with np.errstate(divide="ignore"):
        scale = -1.0 / np.log1p(-np.minimum(q, 1.0))  # 0 for q = 1: a failure every trial
    items: list[np.ndarray] = []
    trials: list[np.ndarray] = []
    lo = 0
    cum = np.cumsum(need)
    while lo < n:
        hi = int(np.searchsorted(cum, (cum[lo - 1] if lo else 0) + _BLOCK, side="right"))
        hi = max(hi, lo + 1)
        idx = np.arange(lo, hi, dtype=np.int64)
        start = np.full(idx.size, -1, dtype=np.int64)  # last failure so far (-1: none)
        k = need[idx]
        parts_i: list[np.ndarray] = []
        parts_t: list[np.ndarray] = []
        while idx.size:
            # Geometric(q) gaps as 1 + floor(E / -log(1 - q)), E standard exponential
            gaps = 1 + (rng.standard_exponential(int(k.sum())) * np.repeat(scale[idx], k)).astype(np.int64)
            pos = np.cumsum(gaps)
            ends = np.cumsum(k)
            before = np.repeat(pos[ends - k] - gaps[ends - k], k)  # partial sum before each item
            pos = pos - before + np.repeat(start, k)
            owner = np.repeat(idx, k)
            ok = pos < T
            parts_i.append(owner[ok])
            parts_t.append(pos[ok])
            short = pos[ends - 1] < T  # every drawn failure fell inside: the process goes on
            idx, start, k = idx[short], pos[ends - 1][short], k[short]
        it = np.concatenate(parts_i)
        tr = np.concatenate(parts_t)
        if len(parts_i) > 1:  # items that drew more: restore item-then-trial order
            order = np.lexsort((tr, it))
            it, tr = it[order], tr[order]
        items.append(it)
        trials.append(tr)
        lo = hi
    return np.concatenate(items), np.concatenate(trials)


def _dense_draw(q: np.ndarray, n_trials: int, rng: np.random.Generator) -> np.ndarray:
    """Packed down bits ``(len(q), W)`` of frequent items, from raw 32-bit random words.

    Item ``i`` is down when a uniform 32-bit integer is below ``round(q * 2**32)``,
    so probabilities are resolved to ``2**-33`` (``q = 0`` and ``q = 1`` exactly). Rows
    are drawn and packed in blocks, so only the packed bits stay in memory.
    """
    T = int(n_trials)
    W = max(1, -(-T // 64))
    out = np.zeros((q.size, W), dtype=np.uint64)
    if q.size == 0 or T == 0:
        return out
    thresholds = np.rint(q * 2.0**32)
    always = thresholds >= 2.0**32
    t32 = np.minimum(thresholds, 2.0**32 - 1).astype(np.uint32)
    rows = max(1, _BLOCK // T)
    for lo in range(0, q.size, rows):
        hi = min(lo + rows, q.size)
        words = rng.integers(0, 2**32, size=(hi - lo, T), dtype=np.uint32)
        states = words < t32[lo:hi, None]
        states[always[lo:hi]] = True
        out[lo:hi] = pack_bool(states)
    return out


@dataclass(frozen=True, eq=False)
class FailureSample:
    """Failure states of ``n_components`` components in ``n_trials`` trials.

    Use :meth:`packed` for the bit-parallel kernel and :meth:`pairs` for the
    failure list; both include components taken down by common-cause events.
    """

    n_trials: int
    n_components: int
    #: rows (component or ``n_components + event``) sampled densely, and their packed down bits
    dense_items: np.ndarray
    dense_words: np.ndarray  # (len(dense_items), n_words) uint64
    #: rare failures as (item, trial) pairs sorted by item then trial
    sparse_items: np.ndarray
    sparse_trials: np.ndarray
    #: common-cause events: members of event g are ccf_members[ccf_ptr[g]:ccf_ptr[g+1]]
    ccf_ptr: np.ndarray
    ccf_members: np.ndarray

    @property
    def n_words(self) -> int:
        return max(1, -(-self.n_trials // 64))

    @property
    def n_events(self) -> int:
        return self.ccf_ptr.size - 1

    def packed(self, include_events: bool = False) -> np.ndarray:
        """Packed down bits ``(C, W)`` (``(C + G, W)`` with the event rows when asked)."""
        cache = self.__dict__.get("_packed")
        if cache is None:
            c, g = self.n_components, self.n_events
            words = np.zeros((c + g, self.n_words), dtype=np.uint64)
            if self.dense_items.size:
                words[self.dense_items] = self.dense_words
            or_pairs_into(words, self.sparse_items, self.sparse_trials)
            if g:
                owner = np.repeat(np.arange(g, dtype=np.int64), np.diff(self.ccf_ptr))
                occurred = words[c + owner]
                np.bitwise_or.at(words, self.ccf_members, occurred)
            cache = words
            object.__setattr__(self, "_packed", cache)
        return cache if include_events else cache[: self.n_components]

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """The failure list ``(trial, component)``, sorted by trial then component, no repeats."""
        cache = self.__dict__.get("_pairs")
        if cache is None:
            c = self.n_components
            rows, cols = np.nonzero(unpack_bits(self.dense_words, self.n_trials))
            item = np.concatenate([self.dense_items[rows], self.sparse_items])
            trial = np.concatenate([cols.astype(np.int64), self.sparse_trials])
            ev = item >= c
            if ev.any():
                g = item[ev] - c
                size = self.ccf_ptr[g + 1] - self.ccf_ptr[g]
                first = np.repeat(self.ccf_ptr[g] - np.cumsum(size) + size, size)
                members = self.ccf_members[first + np.arange(int(size.sum()))]
                item = np.concatenate([item[~ev], members])
                trial = np.concatenate([trial[~ev], np.repeat(trial[ev], size)])
            key = _sorted_unique(trial * c + item) if c else np.zeros(0, dtype=np.int64)
            cache = (key // max(c, 1), key % max(c, 1))
            object.__setattr__(self, "_pairs", cache)
        return cache

    def counts(self) -> np.ndarray:
        """Trials in which each component is down, shape ``(C,)``."""
        return popcount(self.packed(), axis=1)

    def component_trials(self, component: int) -> np.ndarray:
        """Sorted trial indices in which ``component`` is down."""
        return np.flatnonzero(unpack_bits(self.packed()[component], self.n_trials))

    def failures_per_trial(self) -> np.ndarray:
        """Number of components down in each trial, shape ``(n_trials,)``."""
        trial, _ = self.pairs()
        return np.bincount(trial, minlength=self.n_trials)


def sample_failures(
    q: np.ndarray,
    n_trials: int,
    rng: np.random.Generator,
    *,
    ccf_q: np.ndarray | None = None,
    ccf_member_ptr: np.ndarray | None = None,
    ccf_members: np.ndarray | None = None,
    dense_threshold: float = DENSE_THRESHOLD,
) -> FailureSample:
    """Sample independent and common-cause failures for ``n_trials`` trials.

    Parameters
    ----------
    q : array (C,)
        Probability that each component fails independently.
    n_trials : int
        Number of trials (need not be a multiple of 64; padding bits are 0).
    rng : numpy.random.Generator
        The only source of randomness; the draws depend only on ``q``,
        ``ccf_q``, ``n_trials``, ``dense_threshold`` and the generator state.
    ccf_q, ccf_member_ptr, ccf_members : arrays, optional
        Common-cause events in the CSR form of :class:`model.network.compiled.CompiledNetwork`.
    dense_threshold : float
        Items with ``q`` above it get one uniform per trial; the others are drawn
        sparsely (only the failures).

    Returns
    -------
    FailureSample

    Examples
    --------
    >>> import numpy as np
    >>> s = sample_failures(np.array([0.0, 0.0]), 64, np.random.default_rng(0),
    ...                     ccf_q=np.array([1.0]), ccf_member_ptr=np.array([0, 2]),
    ...                     ccf_members=np.array([0, 1]))
    >>> s.counts().tolist()
    [64, 64]
    """
    if n_trials < 0:
        raise ValueError("n_trials must be >= 0")
    q = np.asarray(q, dtype=np.float64)
    c = q.size
    if ccf_q is None:
        ccf_q = np.zeros(0)
        ccf_member_ptr = np.zeros(1, dtype=np.int64)
        ccf_members = np.zeros(0, dtype=np.int64)
    ccf_q = np.asarray(ccf_q, dtype=np.float64)
    ptr = np.asarray(ccf_member_ptr, dtype=np.int64)
    members = np.asarray(ccf_members, dtype=np.int64)
    allq = np.concatenate([q, ccf_q])
    if allq.size and (np.any(allq < 0) or np.any(allq > 1) or not np.all(np.isfinite(allq))):
        raise ValueError("failure probabilities must lie in [0, 1]")
    dense = np.flatnonzero(allq > dense_threshold)
    sparse = np.flatnonzero((allq > 0) & (allq <= dense_threshold))
    item, trial = _sparse_draw(allq[sparse], n_trials, rng)
    words = _dense_draw(allq[dense], n_trials, rng)
    return FailureSample(
        n_trials=int(n_trials), n_components=c, dense_items=dense, dense_words=words,
        sparse_items=sparse[item], sparse_trials=trial, ccf_ptr=ptr, ccf_members=members,
    )


def sample_network_failures(
    net: CompiledNetwork, n_trials: int, rng: np.random.Generator, *,
    dense_threshold: float = DENSE_THRESHOLD,
) -> FailureSample:
    """:func:`sample_failures` with the failure model of a compiled network.

    Examples
    --------
    >>> import networkx as nx, numpy as np
    >>> from model.network.compiled import compile_graph
    >>> net = compile_graph(nx.path_graph(3), 0, 2, default_edge_q=0.5)
    >>> s = sample_network_failures(net, 1000, np.random.default_rng(3))
    >>> s.packed().shape
    (2, 16)
    """
    return sample_failures(net.q, n_trials, rng, ccf_q=net.ccf_q, ccf_member_ptr=net.ccf_member_ptr,
                           ccf_members=net.ccf_members, dense_threshold=dense_threshold)


@dataclass(frozen=True)
class FailedSets:
    """Distinct failed sets and how often each occurred.

    Set ``j`` is ``members[ptr[j]:ptr[j+1]]`` (sorted component indices) and was
    seen in ``multiplicity[j]`` trials; ``set_of_trial[t]`` is the set of trial ``t``.
    The empty set, when it occurs, is one of the sets.
    """

    ptr: np.ndarray
    members: np.ndarray
    multiplicity: np.ndarray
    set_of_trial: np.ndarray

    @property
    def n_sets(self) -> int:
        return self.ptr.size - 1


def distinct_failed_sets(trial: np.ndarray, component: np.ndarray, n_trials: int) -> FailedSets:
    """Group trials by failed set: each distinct set once, with its multiplicity.

    Trials are grouped by a 64-bit hash of their set and every trial is then
    compared with its group's first trial, so the grouping is exact (on a hash
    collision it falls back to sorting the padded failure lists). The empty set,
    when it occurs, is set 0.

    Parameters
    ----------
    trial, component : int arrays
        The failure list, sorted by trial then component (as from
        :meth:`FailureSample.pairs`).
    n_trials : int
        Number of trials (trials absent from the list have the empty set).

    Examples
    --------
    >>> import numpy as np
    >>> fs = distinct_failed_sets(np.array([0, 0, 2, 2, 3]), np.array([1, 4, 1, 4, 2]), 5)
    >>> fs.n_sets, sorted(fs.multiplicity.tolist())
    (3, [1, 2, 2])
    >>> j = fs.set_of_trial[2]
    >>> fs.members[fs.ptr[j]:fs.ptr[j + 1]].tolist(), int(fs.multiplicity[j]), int(fs.set_of_trial[1])
    ([1, 4], 2, 0)
    """
    trial = np.asarray(trial, dtype=np.int64)
    component = np.asarray(component, dtype=np.int64)
    per_trial = np.bincount(trial, minlength=n_trials)
    failed = np.flatnonzero(per_trial)
    n_empty = n_trials - failed.size
    offset = 1 if n_empty else 0
    if failed.size == 0:
        return FailedSets(np.zeros(1 + offset, dtype=np.int64), np.zeros(0, dtype=np.int64),
                          np.array([n_empty] * offset, dtype=np.int64), np.zeros(n_trials, dtype=np.int64))
    counts = per_trial[failed]
    starts = np.cumsum(counts) - counts
    # group by a hash of the set, then check every trial against its group's first trial
    h = _splitmix64(np.add.reduceat(_splitmix64(component), starts) ^ counts.astype(np.uint64))
    order = np.argsort(h, kind="stable")
    hs = h[order]
    new = np.r_[True, hs[1:] != hs[:-1]]
    group = np.empty(failed.size, dtype=np.int64)
    group[order] = np.cumsum(new) - 1
    first = order[new]
    rep = first[group]
    row = np.repeat(np.arange(failed.size), counts)
    ok = bool(np.all(counts == counts[rep])) and np.array_equal(
        component, component[starts[rep][row] + np.arange(trial.size) - starts[row]])
    if not ok:  # a hash collision (about 1 chunk in 1e10): group exactly by sorting
        return _distinct_failed_sets_sorted(trial, component, n_trials, per_trial)
    sizes = counts[first]
    at = np.repeat(starts[first] - np.cumsum(sizes) + sizes, sizes) + np.arange(int(sizes.sum()))
    members = component[at]
    ptr = np.zeros(first.size + 1 + offset, dtype=np.int64)
    ptr[1 + offset :] = np.cumsum(sizes)
    multiplicity = np.r_[[n_empty] * offset, np.bincount(group, minlength=first.size)].astype(np.int64)
    set_of_trial = np.zeros(n_trials, dtype=np.int64)
    set_of_trial[failed] = group + offset
    return FailedSets(ptr, members, multiplicity, set_of_trial)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, element-wise (wrapping uint64 arithmetic)."""
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _distinct_failed_sets_sorted(trial: np.ndarray, component: np.ndarray, n_trials: int,
                                 per_trial: np.ndarray) -> FailedSets:
    """:func:`distinct_failed_sets` by sorting padded failure lists (exact, slower)."""
    failed = np.flatnonzero(per_trial)
    n_empty = n_trials - failed.size
    set_of_trial = np.zeros(n_trials, dtype=np.int64)
    if failed.size == 0:
        return FailedSets(np.zeros(2 if n_empty else 1, dtype=np.int64), np.zeros(0, dtype=np.int64),
                          np.array([n_empty] if n_empty else [], dtype=np.int64), set_of_trial)
    kmax = int(per_trial.max())
    counts = per_trial[failed]
    starts = np.cumsum(counts) - counts
    row = np.repeat(np.arange(failed.size), counts)
    col = np.arange(trial.size) - starts[row]
    sentinel = int(component.max()) + 1
    padded = np.full((failed.size, kmax), sentinel, dtype=np.int64)
    padded[row, col] = component
    order = np.lexsort(padded.T[::-1])
    srt = padded[order]
    new = np.r_[True, np.any(srt[1:] != srt[:-1], axis=1)]
    group = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    mult = np.diff(np.r_[first, srt.shape[0]])
    reps = srt[first]
    sizes = counts[order[first]]
    offset = 1 if n_empty else 0
    gid = np.empty(failed.size, dtype=np.int64)
    gid[order] = group + offset
    set_of_trial[failed] = gid
    keep = reps != sentinel
    ptr = np.zeros(first.size + 1 + offset, dtype=np.int64)
    ptr[1 + offset :] = np.cumsum(sizes)
    multiplicity = np.r_[[n_empty] if n_empty else [], mult].astype(np.int64)
    return FailedSets(ptr, reps[keep], multiplicity, set_of_trial)
