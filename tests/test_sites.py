"""Sites and shared-risk groups failing as a whole: both engines, N-1 of sites, diverse routing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.network.callnetwork import build_network
from model.processes.outages import sample_outages
from model.run.seeds import chunk_streams
from model.scenario.loader import load_scenario
from model.scenario.schema import ScenarioError
from model.scenario.strategies import apply_strategies, load_strategy
from model.sim.timemodel import build_time_model
from model.static.contingency import n_minus_1_sites, what_if

YEAR = 8766.0


@pytest.fixture(scope="module")
def base():
    return load_scenario("uk999")


def test_a_site_is_a_shared_cause_in_the_static_engines(base):
    net = build_network(base)
    ev = {e.name: e for e in net.common_cause_events}
    site = ev["site:ee_999_site"]
    lam, mttr = 0.02 / YEAR, 6.0
    assert site.kind == "shared" and site.q == pytest.approx(lam * mttr / (1 + lam * mttr), rel=1e-12)
    assert site.members == ("interconnect:ee>bt_primary", "interconnect:ee>bt_dr")
    # losing the site cuts EE's voice calls (its texts go via the relay centre)
    ee_voice = sum(d.annual_calls for d in net.demands if d.network == "ee" and d.access == "mobile")
    assert what_if(net, ["site:ee_999_site"]).calls_per_year_cut == pytest.approx(ee_voice, rel=1e-12)


def test_n_minus_1_of_sites_ranks_every_site(base):
    net = build_network(base)
    rows = n_minus_1_sites(net)
    assert len(rows) == len(base.spec.sites) == 7
    assert all(r.share_cut > 0 for r in rows)
    assert [r.share_cut for r in rows] == sorted((r.share_cut for r in rows), reverse=True)
    geo_scen = apply_strategies(base, [load_strategy("geographic_diverse_routing")])
    geo = n_minus_1_sites(build_network(geo_scen))
    assert len(geo) == 14 and all(r.share_cut == 0 for r in geo)  # no site carries both routes


def test_the_time_engine_takes_the_site_down_at_its_rate(base):
    tm = build_time_model(base)
    e = tm.events.index("site:ee_999_site")
    assert tm.process.rate[e] == pytest.approx(0.02 / YEAR)
    members = {tm.net.component_names[m] for m in tm.events.member_list(e)}
    assert members == {"interconnect:ee>bt_primary", "interconnect:ee>bt_dr"}
    out = sample_outages(tm.process, 4000, tm.horizon, chunk_streams(1, 0, tm.process.names, "outages"),
                         start="stationary")
    sel = out.event == e
    d = np.minimum(out.end[sel], tm.horizon) - np.maximum(out.start[sel], 0.0)
    per_year = np.bincount(out.year[sel], weights=d, minlength=4000) / tm.horizon
    q = 0.02 * 6.0 / YEAR
    assert abs(per_year.mean() - q) < 4 * per_year.std(ddof=1) / math.sqrt(4000)


def test_site_validation_names_file_key_and_value(base):
    with pytest.raises(ScenarioError) as err:
        base.extend({"sites": {"x": {"members": ["interconnect:ee>nowhere"],
                                     "failure": {"failures_per_year": 0.1,
                                                 "repair": {"distribution": "fixed", "value_hours": 1.0}}},
                               "y": {"members": ["ee"], "failure": {"drop_fraction": 1.0}}}})
    text = str(err.value)
    assert "sites.x.members = 'interconnect:ee>nowhere': undefined component" in text
    assert "sites.y.failure: give failures_per_year and repair" in text
