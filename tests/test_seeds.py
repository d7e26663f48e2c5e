"""The registry of named random streams: no two users share a stream, by construction.

Draws that moved to the registry (replayed-incident callers, callers of given intervals, sensitivity
designs, the pilot and runs of generalized splitting) are shown to give estimates that agree, within
their intervals, with the streams they replaced.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import model.run.seeds as seeds
from model.run.seeds import (
    CHUNK_LIMIT,
    STREAMS,
    StreamCollision,
    chunk_rng,
    chunk_streams,
    named_rng,
    register_stream,
    stable_key,
    stream_key,
)


def _words(key: tuple[int, ...]) -> tuple[int, ...]:
    """The 32-bit words numpy mixes for a spawn key (each element little-endian, in order)."""
    out: list[int] = []
    for x in key:
        x = int(x)
        if x == 0:
            out.append(0)
        while x:
            out.append(x & 0xFFFF_FFFF)
            x >>= 32
    return tuple(out)


def _chunk_key(i: int) -> tuple[int, ...]:
    return (i,)


def _chunk_stream_key(i: int, purpose: str, name: str) -> tuple[int, ...]:
    return (i, STREAMS[purpose], stable_key(name))


names = st.sampled_from(sorted(STREAMS))
index = st.lists(st.integers(0, CHUNK_LIMIT - 1), max_size=3).map(tuple)


@settings(max_examples=300, deadline=None)
@given(a=names, ia=index, b=names, ib=index, chunk=st.integers(0, CHUNK_LIMIT - 1),
       thing=st.text(max_size=8))
def test_distinct_named_streams_never_share_words_and_never_meet_a_chunk(a, ia, b, ib, chunk, thing):
    ka, kb = _words(stream_key(1, a, *ia)), _words(stream_key(1, b, *ib))
    if (a, ia) != (b, ib):
        assert ka != kb
    # run-level streams start with the reserved word no chunk index can take
    assert ka[0] == CHUNK_LIMIT != _words(_chunk_key(chunk))[0]
    assert ka != _words(_chunk_key(chunk))
    for purpose in ("outages", "switch-delays"):
        kc = _words(_chunk_stream_key(chunk, purpose, thing))
        assert kc != ka and kc[0] == chunk and len(kc) >= 3 and kc != _words(_chunk_key(chunk))


def test_streams_draw_differently_and_reproducibly():
    first = {name: named_rng(7, name).integers(0, 2**63) for name in STREAMS}
    assert len(set(first.values())) == len(STREAMS)
    assert first == {name: named_rng(7, name).integers(0, 2**63) for name in STREAMS}
    chunks = {chunk_rng(7, i).integers(0, 2**63) for i in range(50)}
    assert not chunks & set(first.values())
    # with a SeedSequence root the same keys hang below its own spawn key
    root = np.random.SeedSequence(7).spawn(3)[2]
    assert named_rng(root, "sensitivity").random() != named_rng(7, "sensitivity").random()
    assert chunk_rng(root, 0).random() == np.random.default_rng(root.spawn(1)[0]).random()


def test_registry_refuses_taken_names_tags_and_out_of_range_words():
    with pytest.raises(StreamCollision, match="registered already"):
        register_stream("sensitivity", 999)
    with pytest.raises(StreamCollision, match="taken by 'outages'"):
        register_stream("new-use", STREAMS["outages"])
    with pytest.raises(ValueError, match="tag must lie"):
        register_stream("new-use", CHUNK_LIMIT)
    with pytest.raises(KeyError, match="unknown stream"):
        named_rng(1, "not-registered")
    with pytest.raises(ValueError, match="chunk_index"):
        chunk_rng(1, CHUNK_LIMIT)
    with pytest.raises(ValueError, match="index of stream"):
        named_rng(1, "gs-runs", -1)
    assert "new-use" not in STREAMS


def test_two_names_of_one_key_are_refused(monkeypatch):
    get = chunk_streams(3, 0, ["a", "b"], "outages")
    assert get(0).random() != get(1).random()
    monkeypatch.setattr(seeds, "stable_key", lambda name: 42)
    with pytest.raises(StreamCollision, match="same stream key"):
        chunk_streams(3, 0, ["a", "b"], "outages")
    chunk_streams(3, 0, ["a", "a"], "outages")  # the same name twice is the same thing: allowed


# ---------------------------------------------------------------- draws that changed: same answers
def _old_replay_stream(seed, name, stream=0):
    """The stream ``replay_incident`` used before the registry: child ``(stream,)``, i.e. chunk 0's."""
    assert name == "replay-callers"
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(stream,)))


def test_replay_callers_from_the_registry_agree_with_the_old_stream(monkeypatch):
    import model.sim.engine as engine

    kw = {"replications": 40, "seed": 11, "overrides": {"redial_probability": (0.3, 0.9)}}
    new = engine.replay_incident("uk999", "bt_2023_06_25", **kw)
    monkeypatch.setattr(engine, "named_rng", _old_replay_stream)
    old = engine.replay_incident("uk999", "bt_2023_06_25", **kw)
    a = np.array(new["per_replication"]["failed_callers"], float)
    b = np.array(old["per_replication"]["failed_callers"], float)
    assert not np.array_equal(a, b)  # the draws did change
    se = math.hypot(a.std(ddof=1), b.std(ddof=1)) / math.sqrt(a.size)
    assert abs(a.mean() - b.mean()) < 4 * se


def test_generalized_splitting_streams_agree_with_the_old_spawned_children(monkeypatch):
    from model.network.compiled import compile_graph
    from model.network.graphs import grid, parallel
    from model.static import rare

    g, s, t = parallel([grid(3, 1e-3)] * 2)
    net = compile_graph(g, s, t)
    new = rare.generalized_splitting(net, 256, seed=5, trace=False)
    children = np.random.SeedSequence(5).spawn(4)  # pilot = child 0, runs i = child i + 1 (before)

    def old(ss, name, *index):
        return np.random.default_rng(children[0] if name == "gs-pilot" else children[index[0] + 1])

    monkeypatch.setattr(rare, "named_rng", old)
    before = rare.generalized_splitting(net, 256, seed=5, trace=False)
    assert new.value != before.value
    assert abs(new.value - before.value) < 4 * math.hypot(new.std_error, before.std_error)
