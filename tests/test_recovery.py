"""Recovery curves and expected-unserved metrics (model.metrics.recovery): analytic values on one link."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from model.metrics.recovery import outage_metrics, outages_by_strategy
from model.report import Report, recovery_section
from model.scenario.loader import load_scenario
from model.scenario.strategies import load_strategy
from model.sim.timemodel import time_model_from_graph


def test_one_link_gives_the_renewal_values():
    # one link: exponential up (mean 1000 h) and repair (mean 10 h); its outages are its repairs
    g = nx.Graph()
    g.add_edge("s", "t", mtbf=1000.0, mttr=10.0)
    tm = time_model_from_graph(g, "s", "t")
    m = outage_metrics(tm, years=1500, seed=4, curve_hours=[0.0, 5.0, 10.0, 30.0],
                       exceedance_hours=[1.0, 20.0])
    # served at time τ after an outage began: P(repair > τ) = e^{-τ/10} still cut
    served = np.array(m["curve"]["served"])
    exact = 1 - np.exp(-np.array([0.0, 5.0, 10.0, 30.0]) / 10.0)
    n = m["curve"]["outages"]
    se = np.sqrt(exact * (1 - exact) / n) + 1e-12
    assert served[0] == 0.0 and np.all(np.abs(served - exact) < 4 * se + 1e-9)
    # calls lost a year = unavailability x calls a year (a plain graph demand carries weight 1 a year)
    q = 10.0 / 1010.0
    u = m["unreachable_calls_per_year"]
    assert abs(u.value - q * 1.0) < 4 * u.std_error
    # P(longest outage in a year > X): 1 - exp(-(failures a year) P(repair > X)), failures ≈ 8766/1010
    lam_year = tm.horizon / 1010.0
    for x, p in zip([1.0, 20.0], m["exceedance"]["p"], strict=True):
        ex = 1 - math.exp(-lam_year * math.exp(-x / 10.0))
        assert abs(p - ex) < 4 * math.sqrt(ex * (1 - ex) / 1500) + 0.01  # outages spanning a year's end


def test_strategies_change_national_outages_and_the_section_renders():
    base = load_scenario("uk999")
    rows = outages_by_strategy(base, [[load_strategy("geographic_diverse_routing")]], years=400, seed=2)
    (_, sq), (geo_label, geo) = rows
    assert sq["min_share"] == 0.1 and geo_label.startswith("Geographically")
    # the networks' switching sites are the main national-scale outages of the status quo; diverse sites
    # remove them
    assert geo["outages_per_year"] < sq["outages_per_year"]
    assert geo["unreachable_calls_per_year"].value < sq["unreachable_calls_per_year"].value
    html = recovery_section(Report("t"), rows).to_html()
    assert "Share of demand served since an outage began" in html and "P(a year holds an outage" in html
    with pytest.raises(ValueError, match="min_share"):
        outages_by_strategy(base, [], years=10, min_share=2.0)
