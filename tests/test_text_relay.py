"""Text relay: a demand class of its own (emergency texts via the relay centre), own path and volume."""

from __future__ import annotations

import pytest

from model.network.callnetwork import build_network
from model.scenario.loader import load_scenario
from model.scenario.schema import ScenarioError
from model.static.contingency import what_if


@pytest.fixture(scope="module")
def net():
    return build_network("uk999")


def test_relay_demands_start_at_the_relay_centre_with_the_network_as_a_prerequisite(net):
    relay = [d for d in net.demands if d.access == "text_relay"]
    assert relay and all(d.source == "relay_uk" and d.via == "relay_uk" for d in relay)
    assert all(d.network in d.prereq and d.prereq[0].startswith("access:") for d in relay)
    assert sum(d.annual_calls for d in relay) == pytest.approx(20_000, rel=1e-12)
    voice = [d for d in net.demands if d.access != "text_relay"]
    assert all(d.source == d.network and d.via == "" for d in voice)


def test_the_relay_path_fails_on_its_own(net):
    total = net.annual_genuine_calls
    r = what_if(net, ["relay_uk"])
    assert r.calls_per_year_cut == pytest.approx(20_000, rel=1e-12)
    assert r.share_cut == pytest.approx(20_000 / total, rel=1e-12)
    # the texts need BT's platforms too (as on 25 June 2023)
    both = what_if(net, ["bt_primary", "bt_dr"])
    assert both.share_cut == pytest.approx(1.0)
    # a mobile network down cuts its share of the texts, and its voice calls
    ee = what_if(net, ["ee"])
    relay_ee = sum(d.annual_calls for d in net.demands if d.access == "text_relay" and d.network == "ee")
    assert relay_ee == pytest.approx(20_000 * 0.29, rel=1e-9)
    voice_ee = sum(d.annual_calls for d in net.demands if d.access == "mobile" and d.network == "ee")
    assert ee.calls_per_year_cut == pytest.approx(relay_ee + voice_ee, rel=1e-9)
    # texts do not use the networks' interconnects to the platforms
    ic = what_if(net, ["interconnect:ee>bt_primary", "interconnect:ee>bt_dr"])
    assert ic.calls_per_year_cut == pytest.approx(voice_ee, rel=1e-9)


def test_relay_schema_messages():
    base = load_scenario("uk999")
    with pytest.raises(ScenarioError, match=r"access\.text_relay\.share = 0\.1: give share or annual_calls"):
        base.extend({"access": {"text_relay": {"share": 0.1}}})
    with pytest.raises(ScenarioError, match=r"access\.text_relay\.relay = 'nowhere': undefined reference"):
        base.extend({"access": {"text_relay": {"relay": "nowhere"}}})
