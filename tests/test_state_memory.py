"""The time engine's state table within a memory budget: compact traffic, eviction, the same bits."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from model.sim.engine import (
    STATE_MEMORY_BUDGET,
    StateTable,
    build_timeline,
    simulate,
    state_table_for,
)
from model.sim.timemodel import build_time_model
from model.sim.traffic import RoutingPlan, StateTraffic, TrafficBase

TINY = 64 * 2**10  # room for a few dozen states' traffic: forces eviction on uk999 within a few years


def fresh_uk999():
    """A uk999 model of its own: its state table, routing plans and caches start empty."""
    return dataclasses.replace(build_time_model("uk999"))


def stable(d):
    """A result dict without wall times, run descriptions and the per-process evaluation count."""
    if isinstance(d, dict):
        return {k: stable(v) for k, v in d.items() if k not in ("seconds", "provenance", "states_evaluated")}
    if isinstance(d, list):
        return [stable(v) for v in d]
    return d


def bits(res) -> tuple[str, dict[str, bytes]]:
    cols = {k: res.tally.column(k).tobytes() for k in ("genuine", "unreachable", "failed_attempts",
                                                        "unavailability", "down_hours", "affected_hours")}
    return json.dumps(stable(res.to_dict()), sort_keys=True), cols


def dense(st: StateTraffic) -> list[bytes]:
    return [np.asarray(getattr(st, f)).tobytes() for f in ("unreachable", "affected", "delivered", "delay_h",
                                                          "usage", "cap", "base_erlang", "servers", "places")]


def test_compact_traffic_gives_back_the_dense_bits():
    rng = np.random.default_rng(4)
    k, d, q = 50, 70, 3
    base = TrafficBase(rng.random(k), rng.random(k), d)
    delivered = base.delivered.copy()
    delivered[[3, 7]] = [0.25, -0.0]  # -0.0 differs from 0.0 in one bit: kept
    delay = base.delay_h.copy()
    delay[9] = np.nan
    usage = np.zeros((k, q))
    usage[[1, 40], 2] = [0.5, 1.0]
    unre = rng.random(d) < 0.1
    aff = unre | (rng.random(d) < 0.2)
    st = StateTraffic.of_dense(base, unre, delivered, delay, np.array([0, 4, 5]), usage, np.ones(q),
                               np.full(q, 3.0), np.full(q, 5.0), aff, False, 12.5, roaming=aff)
    assert st.class_at.tolist() == [3, 7, 9] and st.usage_at.tolist() == [1, 40]
    assert st.delivered.tobytes() == delivered.tobytes() and st.delay_h.tobytes() == delay.tobytes()
    assert np.array_equal(st.unreachable, unre) and np.array_equal(st.affected, aff)
    assert np.array_equal(st.roaming, aff) and st.usage.tobytes() == usage.tobytes()
    assert st.nbytes < (unre.nbytes + aff.nbytes + delivered.nbytes + delay.nbytes + usage.nbytes)


def test_uk999_states_are_compact_and_the_normal_state_is_shared():
    tm = fresh_uk999()
    table = state_table_for(tm)
    from model.processes.outages import sample_outages

    tl = build_timeline(sample_outages(tm.process, 30, tm.horizon, np.random.default_rng(2)), tm.events.hash)
    table.resolve(tl)
    assert table.n > 20
    sizes = np.array([table.traffic[i].nbytes for i in range(1, table.n)])
    dense_bytes = 2 * tm.n_demands + 16 * tm.n_classes  # two flags a demand, two floats a class
    assert np.median(sizes) < dense_bytes / 5
    assert all(table.traffic[i].base is table.traffic[0].base for i in range(table.n))


def test_an_evicted_state_is_evaluated_again_to_the_same_bits():
    tm = fresh_uk999()
    table = StateTable(tm)
    from model.processes.outages import sample_outages

    tl = build_timeline(sample_outages(tm.process, 30, tm.horizon, np.random.default_rng(3)), tm.events.hash)
    sid = table.resolve(tl)
    first = {r: dense(table.traffic[r]) for r in range(table.n)}
    share, n = table.share.copy(), table.n
    table.set_budget(TINY)  # evicts at once
    assert table.resident_bytes <= table.traffic_budget and 0 in table._resident
    assert len(table._resident) < n
    again = {r: dense(table.traffic[r]) for r in range(n)}  # evicted ones evaluated again, one at a time
    assert again == first and table.reevaluations > 0
    table.set_budget(1)
    table.require(np.arange(n))  # many at once, in groups
    assert {r: dense(table.traffic[r]) for r in range(n)} == first
    assert np.array_equal(table.resolve(tl), sid) and table.n == n
    assert table.share.tobytes() == share.tobytes()
    assert table.evaluations == n  # re-evaluations are counted apart
    with pytest.raises(ValueError, match="positive"):
        table.set_budget(0)


def test_a_tiny_state_budget_gives_the_same_result_serial_and_with_two_workers():
    kw = {"years": 60, "seed": 11, "chunk_years": 20}
    ref_model = fresh_uk999()
    ref = simulate(ref_model, **kw)
    assert state_table_for(ref_model).reevaluations == 0 and state_table_for(ref_model).max_bytes == (
        STATE_MEMORY_BUDGET)
    assert ref.tally.column("unreachable").sum() > 0  # something to compare
    small_model = fresh_uk999()
    small = simulate(small_model, **kw, max_memory=TINY)
    table = state_table_for(small_model)
    assert table.reevaluations > 0 and table.max_bytes == TINY  # eviction happened
    assert bits(small) == bits(ref)
    plans = RoutingPlan.of(small_model).__dict__["_extras"]
    assert plans["restricted_bytes"] <= TINY // 4 or len(plans["restricted"]) == 1
    workers = simulate(fresh_uk999(), **kw, max_memory=TINY, backend="processes", workers=2, progress=False)
    assert bits(workers) == bits(ref)
    with pytest.raises(ValueError, match="max_memory"):
        simulate(small_model, years=1, seed=1, max_memory=0)


def test_cli_simulate_takes_a_state_memory_budget(run_cli, tiny_path):
    from model.cli.engines import DEFAULT_STATE_MEMORY_MIB

    assert DEFAULT_STATE_MEMORY_MIB * 2**20 == STATE_MEMORY_BUDGET
    outs = []
    for extra in ((), ("--max-memory", "1")):
        code, out, _ = run_cli("simulate", tiny_path, "--years", "40", "--seed", "3", "--workers", "1",
                               "--quiet", "--json", *extra)
        assert code == 0
        outs.append(json.dumps(stable(json.loads(out)), sort_keys=True))
    assert outs[0] == outs[1]
    code, _, err = run_cli("simulate", tiny_path, "--years", "4", "--max-memory", "0")
    assert code == 2 and "max-memory" in err
