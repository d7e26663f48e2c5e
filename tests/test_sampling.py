"""Failure sampling: marginals, independence, common cause, both representations, failed-set grouping."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.static import sampling
from model.static.sampling import (
    DENSE_THRESHOLD,
    distinct_failed_sets,
    pack_sets,
    popcount,
    sample_failures,
    unpack_bits,
)


def _z(k: int, n: int, p: float) -> float:
    return (k - n * p) / math.sqrt(n * p * (1 - p))


@pytest.mark.parametrize("q", [1e-4, 2e-3, 0.02, DENSE_THRESHOLD, 0.1, 0.5, 0.93])
def test_marginal_frequency_matches_q(q: float) -> None:
    n, c = 200_000, 5
    s = sample_failures(np.full(c, q), n, np.random.default_rng(11))
    counts = s.counts()
    for k in counts.tolist():
        assert abs(_z(k, n, q)) < 4
    # pooled over components as well (a tighter check of the mean)
    assert abs(_z(int(counts.sum()), n * c, q)) < 4


def test_states_are_independent_across_components_and_uniform_over_trials() -> None:
    n = 400_000
    q = np.array([0.01, 0.02, 0.3, 0.4])  # two sparse, two dense
    s = sample_failures(q, n, np.random.default_rng(5))
    b = unpack_bits(s.packed(), n)
    for i in range(4):
        for j in range(i + 1, 4):
            both = int(np.count_nonzero(b[i] & b[j]))
            assert abs(_z(both, n, q[i] * q[j])) < 4, (i, j)
    # positions of a sparse component are uniform: mean trial index ~ n/2
    pos = s.component_trials(0)
    se = n / math.sqrt(12 * pos.size)
    assert abs(pos.mean() - (n - 1) / 2) < 4 * se
    # and the two halves of the chunk get as many failures each
    assert abs(_z(int(np.count_nonzero(pos < n // 2)), pos.size, 0.5)) < 4


def test_zero_and_one_are_exact_and_padding_is_clear() -> None:
    s = sample_failures(np.array([0.0, 1.0, 0.0, 1.0]), 100, np.random.default_rng(0),
                        dense_threshold=0.5)
    assert s.counts().tolist() == [0, 100, 0, 100]
    words = s.packed()
    assert words.shape == (4, 2)
    assert int(words[1, 1]) == (1 << 36) - 1  # trials 64..99 set, padding bits clear
    trial, comp = s.pairs()
    assert trial.size == 200 and set(comp.tolist()) == {1, 3}


def test_pairs_and_packed_agree_and_pairs_are_sorted_unique() -> None:
    rng = np.random.default_rng(3)
    q = rng.choice([0.0, 1e-3, 0.01, 0.2, 0.6], size=40)
    ptr = np.array([0, 3, 5])
    members = np.array([1, 2, 3, 3, 7])
    s = sample_failures(q, 1000, rng, ccf_q=np.array([0.01, 0.3]), ccf_member_ptr=ptr, ccf_members=members)
    trial, comp = s.pairs()
    key = trial * 40 + comp
    assert np.all(np.diff(key) > 0)
    rebuilt = np.zeros((40, 1000), dtype=bool)
    rebuilt[comp, trial] = True
    assert np.array_equal(rebuilt, unpack_bits(s.packed(), 1000))
    assert np.array_equal(s.failures_per_trial(), rebuilt.sum(axis=0))


def test_common_cause_events_take_all_members_down_together() -> None:
    n = 100_000
    p = 0.004
    s = sample_failures(np.zeros(4), n, np.random.default_rng(8), ccf_q=np.array([p]),
                        ccf_member_ptr=np.array([0, 3]), ccf_members=np.array([0, 2, 3]))
    words = s.packed()
    assert np.array_equal(words[0], words[2]) and np.array_equal(words[0], words[3])
    assert not words[1].any()
    assert abs(_z(int(s.counts()[0]), n, p)) < 4
    events = s.packed(include_events=True)
    assert events.shape == (5, words.shape[1]) and np.array_equal(events[4], words[0])


def test_common_cause_combines_with_independent_failures() -> None:
    n = 200_000
    q, p = 0.05, 0.02
    s = sample_failures(np.full(2, q), n, np.random.default_rng(9), ccf_q=np.array([p]),
                        ccf_member_ptr=np.array([0, 2]), ccf_members=np.array([0, 1]))
    b = unpack_bits(s.packed(), n)
    down = 1 - (1 - q) * (1 - p)
    assert abs(_z(int(b[0].sum()), n, down)) < 4
    both = p + (1 - p) * q * q
    assert abs(_z(int((b[0] & b[1]).sum()), n, both)) < 4


def test_same_generator_state_same_sample_and_thresholds_only_change_method() -> None:
    q = np.array([1e-3, 0.2])
    a = sample_failures(q, 5000, np.random.default_rng(1))
    b = sample_failures(q, 5000, np.random.default_rng(1))
    assert np.array_equal(a.packed(), b.packed())
    c = sample_failures(q, 5000, np.random.default_rng(2))
    assert not np.array_equal(a.packed(), c.packed())


def test_bad_probabilities_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        sample_failures(np.array([0.1, 1.5]), 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_trials"):
        sample_failures(np.array([0.1]), -1, np.random.default_rng(0))


def test_popcount_fallback_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    words = np.random.default_rng(0).integers(0, 2**63, size=(3, 7), dtype=np.int64).astype(np.uint64)
    expected = popcount(words, axis=1)
    assert expected.tolist() == [sum(bin(int(w)).count("1") for w in row) for row in words]
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    assert np.array_equal(popcount(words, axis=1), expected)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sets(st.integers(0, 9), max_size=5), min_size=1, max_size=150), st.booleans())
def test_distinct_failed_sets_round_trip(sets: list[set[int]], collide: bool) -> None:
    trial = np.array([t for t, s in enumerate(sets) for _ in sorted(s)], dtype=np.int64)
    comp = np.array([c for s in sets for c in sorted(s)], dtype=np.int64)
    if collide:  # every set hashes alike: the check must catch it and group exactly by sorting
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(sampling, "_splitmix64", lambda x: np.zeros(np.shape(x), dtype=np.uint64))
            fs = distinct_failed_sets(trial, comp, len(sets))
    else:
        fs = distinct_failed_sets(trial, comp, len(sets))
    got = [fs.members[fs.ptr[j] : fs.ptr[j + 1]].tolist() for j in range(fs.n_sets)]
    assert len({tuple(x) for x in got}) == fs.n_sets  # each distinct set once
    assert sorted(map(tuple, got)) == sorted({tuple(sorted(s)) for s in sets})
    assert [got[j] for j in fs.set_of_trial] == [sorted(s) for s in sets]
    assert fs.multiplicity.sum() == len(sets)
    assert np.array_equal(np.bincount(fs.set_of_trial, minlength=fs.n_sets), fs.multiplicity)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sets(st.integers(0, 6), max_size=4), min_size=1, max_size=200))
def test_pack_sets_sets_exactly_the_members(sets: list[set[int]]) -> None:
    ptr = np.cumsum([0] + [len(s) for s in sets])
    members = np.array([c for s in sets for c in sorted(s)], dtype=np.int64)
    b = unpack_bits(pack_sets(ptr, members, 7), len(sets))
    expected = np.zeros((7, len(sets)), dtype=bool)
    for j, s in enumerate(sets):
        expected[sorted(s), j] = True
    assert np.array_equal(b, expected)
