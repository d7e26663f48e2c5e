"""Strategies: every bundled overlay passes the same conformance checks.

Like scikit-learn's estimator checks: each strategy loads and validates as a full
scenario, applies on top of uk999, changes the scenario (except the status quo),
is idempotent, composes with the others, and moves the structural what-if in the
direction its description promises.
"""

from __future__ import annotations

import pytest

from model.network.callnetwork import build_network
from model.scenario.loader import load_scenario
from model.scenario.strategies import apply_strategies, bundled_strategies, load_strategy
from model.static.contingency import what_if

STRATEGIES = bundled_strategies()


@pytest.fixture(scope="module")
def base():
    return load_scenario("uk999")


def test_status_quo_comes_first_and_there_are_real_alternatives():
    assert STRATEGIES[0] == "status_quo"
    assert len(STRATEGIES) >= 6


@pytest.mark.parametrize("name", STRATEGIES)
def test_conformance(base, name):
    st = load_strategy(name)
    assert st.label and st.description and st.file.endswith(f"{name}.toml")
    assert st.annual_cost_gbp is not None and st.annual_cost_gbp >= 0
    applied = apply_strategies(base, [st])
    assert applied.spec.strategy.label == st.label
    if st.is_status_quo:
        assert applied.spec.call_handling_platforms == base.spec.call_handling_platforms
    else:
        assert applied.digest != apply_strategies(base, []).digest
    # idempotent: applying the same overlay twice changes nothing more
    twice = apply_strategies(base, [st, st])
    assert twice.spec.call_handling_platforms == applied.spec.call_handling_platforms
    assert twice.spec.redundancy_groups == applied.spec.redundancy_groups
    # it builds, and never makes the structural picture worse for a platform outage
    net = build_network(applied)
    assert what_if(net, ["bt_primary", "bt_dr"]).share_cut <= 1.0
    assert len(net.demands) == len(build_network(base).demands)


def test_strategies_compose_in_order(base):
    pair = [load_strategy("automatic_failover"), load_strategy("full_capacity_backup")]
    combo = apply_strategies(base, pair)
    assert combo.spec.strategy.label == "Automatic failover + Full-capacity backup"
    assert combo.spec.strategy.annual_cost_gbp == pytest.approx(3_000_000)
    assert combo.spec.redundancy_groups["bt_platforms"].policy == "automatic"
    assert combo.spec.call_handling_platforms["bt_dr"].capacity.concurrent_calls == 98
    assert combo.name == "automatic_failover+full_capacity_backup"


@pytest.mark.parametrize(
    ("name", "failed", "before", "after"),
    [
        # fixed and VoIP calls (26 % of 17.5 m) and the 20,000 emergency texts (via the relay) still need BT
        ("mobile_direct_routing", ["bt_primary", "bt_dr"], 1.0, (0.26 * 17.5e6 + 20_000) / 17.52e6),
        ("second_cha", ["bt_primary", "bt_dr"], 1.0, 0.0),
        ("buddy_control_rooms", ["police_psni"], None, 0.0),
    ],
)
def test_structural_effect_is_what_the_strategy_says(base, name, failed, before, after):
    b = what_if(build_network(base), failed).share_cut
    if before is not None:
        assert b == pytest.approx(before)
    else:
        assert b > 0
    a = what_if(build_network(apply_strategies(base, [load_strategy(name)])), failed).share_cut
    assert a == pytest.approx(after, abs=1e-9)


def test_automatic_failover_shrinks_the_derived_failover_outage(base):
    sq = build_network(base)
    af = build_network(apply_strategies(base, [load_strategy("automatic_failover")]))
    q = {e.name: e.q for e in sq.common_cause_events}
    q_af = {e.name: e.q for e in af.common_cause_events}
    assert q_af.get("failover:bt_platforms", 0.0) < q["failover:bt_platforms"] / 100


def test_a_strategy_without_a_strategy_table_is_refused(tmp_path):
    p = tmp_path / "plain.toml"
    p.write_text('extends = "uk999"\nname = "plain"\n')
    from model.scenario.schema import ScenarioError

    with pytest.raises(ScenarioError, match="needs a \\[strategy\\] table"):
        load_strategy(p)
