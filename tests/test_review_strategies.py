"""The strategies the reviews of 25 June 2023 named: each moves the mechanism and the rule it targets.

Exact values from the strategy files' own parameters (no sampling), so each check can fail.
"""

from __future__ import annotations

import math

import pytest
from scipy import stats

from model.metrics.compliance import notification
from model.network.callnetwork import build_network
from model.processes.failover import failover_unavailability
from model.scenario.loader import load_scenario
from model.scenario.strategies import apply_strategies, bundled_strategies, load_strategy

REVIEW_STRATEGIES = ("faster_detection", "rehearsed_manual_switch", "diverse_backup_software",
                     "regular_failover_testing", "emergency_alert_advice")
YEAR = 8766.0


@pytest.fixture(scope="module")
def base():
    return load_scenario("uk999")


def _apply(base, *names):
    return apply_strategies(base, [load_strategy(n) for n in names])


def _lognormal_sf(mean, sd, x):
    s2 = math.log(1 + (sd / mean) ** 2)
    return float(stats.lognorm(s=math.sqrt(s2), scale=mean * math.exp(-s2 / 2)).sf(x))


def test_every_review_strategy_is_bundled_and_sourced():
    for name in REVIEW_STRATEGIES:
        assert name in bundled_strategies()
        st = load_strategy(name)
        scen = load_scenario(name)
        assert scen.spec.strategy.source and st.annual_cost_gbp > 0


def test_faster_detection_and_emergency_alert_meet_the_30_minutes(base):
    fast = notification(_apply(base, "faster_detection"))["groups"][0]
    assert fast["p_detection_late"] == pytest.approx(_lognormal_sf(0.25, 0.125, 0.5), rel=1e-9)
    assert fast["p_late"] == 1.0  # public advice still 2.1 h after the start
    alert = notification(_apply(base, "emergency_alert_advice"))
    assert alert["advice_delay_hours"] == 0.5
    assert alert["p_late"] == pytest.approx(_lognormal_sf(1.15, 1.15, 0.5), rel=1e-9)
    both = notification(_apply(base, "faster_detection", "emergency_alert_advice"))
    assert both["p_late"] == pytest.approx(_lognormal_sf(0.25, 0.125, 0.5), rel=1e-9)
    assert both["p_late"] < 0.05


def test_rehearsed_switch_shortens_the_failover_window(base):
    def window(scen):
        grp = scen.spec.redundancy_groups["bt_platforms"]
        return failover_unavailability(grp, scen.spec.call_handling_platforms["bt_primary"].failure)

    sq, rh = window(base), window(_apply(base, "rehearsed_manual_switch"))
    assert rh < sq / 2
    grp = _apply(base, "rehearsed_manual_switch").spec.redundancy_groups["bt_platforms"]
    assert grp.switch_failure_probability == 0.05 and grp.detection_delay == base.spec.redundancy_groups[
        "bt_platforms"].detection_delay


def test_diverse_software_lowers_the_common_cause_five_fold(base):
    def ccf(scen):
        return {e.name: e.q for e in build_network(scen).common_cause_events}["ccf:bt_platform_software"]

    assert ccf(_apply(base, "diverse_backup_software")) == pytest.approx(ccf(base) / 5, rel=1e-12)


def test_regular_testing_finds_silent_faults_sooner(base):
    lam = 0.2 / YEAR

    def hidden(t):
        return 1 - (1 - math.exp(-lam * t)) / (lam * t)

    sq = base.spec.call_handling_platforms["bt_dr"].failure.latent
    rt = _apply(base, "regular_failover_testing").spec.call_handling_platforms["bt_dr"].failure.latent
    assert sq.test_interval_hours == YEAR and rt.test_interval_hours == YEAR / 12
    assert rt.failures_per_year == sq.failures_per_year == 0.2  # the same faults, found sooner
    mttr = 14.75
    found = (1 - math.exp(-lam * YEAR)) * mttr / YEAR
    assert sq.mean_unavailability(mttr) == pytest.approx(hidden(YEAR) + found)
    assert rt.mean_unavailability(mttr) < sq.mean_unavailability(mttr) / 8
    assert rt.mean_unavailability(mttr) == pytest.approx(
        hidden(YEAR / 12) + (1 - math.exp(-lam * YEAR / 12)) * mttr * 12 / YEAR + 0.5 * 12 / YEAR)
    events = {e.name: e for e in build_network(_apply(base, "regular_failover_testing")).common_cause_events}
    assert events["test_outage:bt_dr"].q == pytest.approx(0.01 * 0.25 * 12 / YEAR)
