"""Compliance checks (model.metrics.compliance) and ``nines check``: analytic values, verdicts, CLI."""

from __future__ import annotations

import json
import math

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from model.cli.main import main
from model.metrics.compliance import (
    answer_time,
    check_compliance,
    month_seconds,
    monthly_availability,
    notification,
    route_diversity,
    single_points,
)
from model.network.callnetwork import build_network
from model.scenario.loader import load_scenario
from model.scenario.strategies import apply_strategies, load_strategy
from model.sim.erlang import service_level
from model.sim.timemodel import time_model_from_graph


@pytest.fixture(scope="module")
def base():
    return load_scenario("uk999")


def _with(base, name):
    return apply_strategies(base, [load_strategy(name)])


def test_monthly_breach_probability_of_one_link_matches_the_renewal_process():
    # one link, exponential up (mean 1000 h) and repair (mean 10 h): a month is clean only when the link is
    # up at its start and does not fail during it (other ways are of order 26 s / 10 h, far inside the CI)
    g = nx.Graph()
    g.add_edge("s", "t", mtbf=1000.0, mttr=10.0)
    tm = time_model_from_graph(g, "s", "t")
    out = monthly_availability(tm, years=1500, seed=11, kinds=("link",))
    lam, month = 1 / 1000.0, tm.horizon / 12
    q = 10.0 / 1010.0
    exact = 1 - (1 - q) * math.exp(-lam * month)
    p = out["p_breach"]
    assert p.samples == 18_000
    assert abs(p.value - exact) < 4 * math.sqrt(exact * (1 - exact) / p.samples)
    per = out["breaching_months_per_year"]
    assert abs(per.value - 12 * exact) < 4 * per.std_error
    assert out["mean_unavailability"] == pytest.approx(q, rel=0.1)
    assert month_seconds() * 1e-5 == pytest.approx(26.298, abs=1e-3)


def test_availability_scope_and_blame_on_uk999():
    out = monthly_availability("uk999", years=4000, seed=5)
    # breaching months: ~0.012 primary failures a year (each longer than 26 s before the switch) and the 7
    # networks' 999 switching sites at 0.02 a year each (A_SITE), each longer than 26 s: about 0.15 a year
    per = out["breaching_months_per_year"]
    assert 0.1 < per.value < 0.25 and per.ci_low <= per.value <= per.ci_high
    events = {e for r in out["responsible"] for e in r["events"]}
    assert "bt_primary" in events and any(e.startswith("site:") for e in events)
    assert not any(e.startswith(("police_", "amb_", "fire_", "access:")) for e in events)  # not the CHA's
    shares = [r["share_of_breach_downtime"] for r in out["responsible"]]  # the 8 largest states
    assert shares == sorted(shares, reverse=True) and 0.5 < sum(shares) <= 1.0 + 1e-12


def test_answer_time_is_erlang_c_at_the_busiest_hour(base):
    rows = {r["platform"]: r for r in answer_time(build_network(base))}
    prim = rows["bt_primary"]
    peak = 1.488 * 1.12  # uk999: hourly peak x Saturday
    load = 35_000_000 / 8766 * peak * 35 / 3600
    assert prim["load_erlangs"] == pytest.approx(load, rel=1e-6)
    # a 1000-place queue and 600 s patience barely change Erlang C's service level (65 Erlangs, 98 agents)
    assert prim["service_level"] == pytest.approx(service_level(98, load, 35.0, 5.0), abs=1e-5)
    assert prim["in_service"] and not rows["bt_dr"]["in_service"]
    dr = rows["bt_dr"]  # 49 agents cannot carry 65 Erlangs: a fifth is blocked by the 50-call queue limit
    assert dr["service_level"] < 0.01 and 0.1 < dr["blocked"] < 0.3 and dr["abandoned"] > 0


def test_second_agent_splits_the_load_by_capacity(base):
    rows = {r["platform"]: r for r in answer_time(build_network(_with(base, "second_cha")))}
    total = rows["bt_primary"]["calls_per_hour"] + rows["cha2_platform"]["calls_per_hour"]
    assert rows["bt_primary"]["calls_per_hour"] / total == pytest.approx(98 / 147)


def test_single_points_and_manual_groups(base):
    sq = single_points(build_network(base))
    assert sq["manual_groups"] == ["bt_platforms"]
    names = {r["component"] for r in sq["service_side"]}
    assert {"ccf:bt_platform_software", "police_psni"} <= names
    assert all(r["kind"] in ("access_link", "originating_network") for r in sq["caller_side"])
    auto = single_points(build_network(_with(base, "automatic_failover")))
    assert auto["manual_groups"] == []
    buddies = single_points(build_network(_with(base, "buddy_control_rooms")))
    assert "police_psni" not in {r["component"] for r in buddies["service_side"]}


def test_route_diversity_plain_and_shared_risk(base):
    sq = route_diversity(build_network(base))
    assert sq["not_diverse"] == {}  # two platforms x seven centres: disjoint paths everywhere
    assert len(sq["not_risk_diverse"]) == sq["rooms"] == 126  # ... but each network's routes share a site
    assert sq["shared_risk_groups"] == sorted(f"site:{s}" for s in base.spec.sites)  # not the shared software
    two = route_diversity(build_network(_with(base, "second_cha")))
    assert two["not_risk_diverse"] == {}  # the independent agent's interconnects are at no shared site
    geo = route_diversity(build_network(_with(base, "geographic_diverse_routing")))
    assert geo["not_risk_diverse"] == {} and len(geo["shared_risk_groups"]) == 14


def test_route_diversity_on_a_single_path():
    base = load_scenario("uk999")
    one = base.extend({"call_handling_centres": {c: {"platforms": ["bt_primary"]}
                                                 for c in base.spec.call_handling_centres}})
    out = route_diversity(build_network(one))
    # every centre hangs on bt_primary alone: it is an intermediate node of every path
    assert len(out["not_diverse"]) == out["rooms"]


def test_notification_probability_is_the_detection_tail(base):
    assert notification(base)["p_late"] == 1.0  # advice 2.1 h after the start
    early = notification(_with(base, "public_diversion"))  # advice at 15 min: late iff detection > 30 min
    sigma2 = math.log(1 + 1.0)  # lognormal, sd = mean = 1.15 h
    mu = math.log(1.15) - sigma2 / 2
    exact = float(stats.lognorm(s=math.sqrt(sigma2), scale=math.exp(mu)).sf(0.5))
    assert early["p_late"] == pytest.approx(exact, rel=1e-9)


def test_check_report_and_verdicts(base):
    rep = check_compliance(base, years=500, seed=2)
    verdicts = {r.key: r.verdict for r in rep.rules}
    assert verdicts["notification"] == "fail" and verdicts["single_points_of_failure"] == "fail"
    assert verdicts["ofcom_answer_time"] == "pass"
    d = rep.to_dict()
    assert json.loads(json.dumps(d, default=str))["scenario"] == "uk999"
    assert "26.3 s" in rep.to_text() and rep.provenance["seed"] == 2
    with pytest.raises(ValueError, match="years"):
        check_compliance(base, years=0)


def test_cli_check(capsys):
    assert main(["check", "uk999", "--years", "200"]) == 0
    out = capsys.readouterr().out
    assert "rules met" in out and "[FAIL]" in out and "[PASS]" in out
    assert main(["check", "uk999", "--years", "200", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["rules"][0]["key"] == "ofcom_availability"
    assert np.isfinite(d["rules"][0]["figure"])
    assert main(["check", "no_such_scenario"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["check", "uk999", "--tolerance", "-1"]) == 2
