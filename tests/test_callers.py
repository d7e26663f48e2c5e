"""Caller behaviour, outcome definitions, emergency roaming and incident effects on any component.

The scenario (tests/data/callers_small.toml) has no capacity and no random failures, so while a component is
down every attempt through it fails and every other attempt connects: the counts have closed forms.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from model.scenario.loader import load_scenario
from model.scenario.schema import ScenarioError
from model.sim.engine import replay_incident, simulate
from model.sim.outcomes import OUTCOMES

DATA = Path(__file__).parent / "data"
SMALL = DATA / "callers_small.toml"
GENUINE_PER_H, NON_GENUINE_PER_H = 600.0, 400.0  # 1,000 calls an hour, genuine share 0.6


def _per_rep(out, name):
    return np.asarray(out["per_replication"]["outcomes"][name], float)


def _z_poisson(x: np.ndarray, mean: float) -> float:
    return (x.mean() - mean) / math.sqrt(mean / x.size)


def _long_outage(tmp_path: Path, hours: float, callers: str = "") -> Path:
    text = SMALL.read_text().replace('end_hour = 2.0\neffects = [{ component = "platform"',
                                     f'end_hour = {hours}\neffects = [{{ component = "platform"')
    if callers:
        text = re.sub(r"\[callers\].*?source = \"assumption: test values\"", callers, text, flags=re.S)
    p = tmp_path / "long.toml"
    p.write_text(text)
    return p


def test_every_outcome_definition_is_reported_with_its_published_matches():
    out = replay_incident(SMALL, "platform_down", replications=4, seed=1)
    got = out["outcomes_by_definition"]
    assert list(got) == [o.key for o in OUTCOMES]
    for o in OUTCOMES:
        row = got[o.key]
        assert row["definition"] == o.definition and row["matches_published"]
        assert row["all"]["mean"] == pytest.approx(row["genuine"]["mean"] + row["non_genuine"]["mean"])
    # callers with a failed attempt are exactly those never connected, connected after redialling or via a
    # fallback line (this scenario has none)
    fail = _per_rep(out, "callers_failed_genuine")
    assert fail.sum() > 1000
    assert np.array_equal(fail, _per_rep(out, "callers_never_connected_genuine")
                          + _per_rep(out, "callers_connected_after_redial_genuine"))


def test_non_genuine_calls_arrive_at_their_share_and_redial_at_their_own_chance():
    out = replay_incident(SMALL, "platform_down", replications=20, seed=2, tail_hours=0.0)
    g = _per_rep(out, "callers_failed_genuine")
    ng = _per_rep(out, "callers_failed_non_genuine")
    # every caller arriving in the 2-hour outage fails its first attempt: Poisson counts
    assert abs(_z_poisson(g, 2 * GENUINE_PER_H)) < 4
    assert abs(_z_poisson(ng, 2 * NON_GENUINE_PER_H)) < 4
    # the long-standing genuine fields are unchanged in meaning
    assert np.array_equal(np.asarray(out["per_replication"]["failed_callers"]),
                          _per_rep(out, "callers_never_connected_genuine"))


def test_redial_chance_by_attempt_number_gives_the_expected_attempts(tmp_path):
    # 50 hours down: end effects (callers who connect once it is back) touch ~0.2 % of callers
    callers = """[callers]
redial_probability = 0.5
redial_by_attempt = [0.8, 0.5, 0.3]
redial_delay_s = 60
max_attempts = 6
patience_s = 1800
non_genuine_redial_probability = 0.2
source = "assumption: test values\""""
    path = _long_outage(tmp_path, 50.0, callers)
    out = replay_incident(path, "platform_down", replications=2, seed=3, tail_hours=0.0)
    curve = [0.8, 0.5, 0.3, 0.3, 0.3]
    expect_g = 1 + sum(np.prod(curve[:k]) for k in range(1, 6))
    expect_ng = sum(0.2 ** k for k in range(6))
    for split, expect, p_list in (("genuine", expect_g, curve), ("non_genuine", expect_ng, [0.2] * 5)):
        att = _per_rep(out, f"attempts_{split}").sum()
        callers_n = _per_rep(out, f"callers_failed_{split}").sum()
        # variance of attempts per caller from the same stopping rule
        probs = [np.prod(p_list[:k]) for k in range(6)]  # P(at least k+1 attempts)
        pk = np.array(probs) - np.array([*probs[1:], 0.0])  # P(exactly k+1 attempts)
        var = float((pk * (np.arange(1, 7) - expect) ** 2).sum())
        z = (att / callers_n - expect) / math.sqrt(var / callers_n)
        assert abs(z) < 4, (split, att / callers_n, expect)


def test_exponential_patience_limits_attempts_as_a_poisson_clock(tmp_path):
    # always redial after a mean 60 s (exponential); patience exponential with mean 300 s: redials are the
    # events of a Poisson clock of rate 1/60 s before an Exp(300 s) time: attempts = 1 + 300/60 = 6 on average
    callers = """[callers]
redial_probability = 1.0
redial_delay_s = 60
max_attempts = 80
patience_s = 300
patience_distribution = "exponential"
source = "assumption: test values\""""
    path = _long_outage(tmp_path, 20.0, callers)
    out = replay_incident(path, "platform_down", replications=1, seed=4, tail_hours=0.0)
    att = _per_rep(out, "attempts_genuine").sum()
    n = _per_rep(out, "callers_failed_genuine").sum()
    # attempts - 1 is geometric with mean 5 (variance 5 * 6 = 30)
    z = (att / n - 6.0) / math.sqrt(30.0 / n)
    assert n > 10000 and abs(z) < 4, att / n
    ln = callers.replace('"exponential"', '"lognormal"\npatience_cv = 0.5')
    lognormal = _long_outage(tmp_path, 20.0, ln)
    out_ln = replay_incident(lognormal, "platform_down", replications=1, seed=4, tail_hours=0.0)
    n_ln = _per_rep(out_ln, "callers_failed_genuine").sum()
    assert abs(_per_rep(out_ln, "attempts_genuine").sum() / n_ln - 6.0) < 0.3  # same mean patience


def test_emergency_roaming_only_where_masts_stop_radiating():
    a = replay_incident(SMALL, "net_a_down", replications=10, seed=5)
    assert a["outcomes_by_definition"]["failed_attempts"]["all"]["p95"] == 0.0  # all roam onto net_b
    b = replay_incident(SMALL, "net_b_down", replications=10, seed=5, tail_hours=0.0)
    # net_b's masts keep radiating: its mobile callers (80 % x 25 % of calls) fail
    assert abs(_z_poisson(_per_rep(b, "callers_failed_genuine"), 2 * GENUINE_PER_H * 0.8 * 0.25)) < 4
    quiet = load_scenario(SMALL).extend({"originating_networks": {"net_a": {"radio": {
        "stops_radiating_on_failure": False}}}})
    c = replay_incident(quiet, "net_a_down", replications=10, seed=5, tail_hours=0.0)
    assert abs(_z_poisson(_per_rep(c, "callers_failed_genuine"), 2 * GENUINE_PER_H * 0.8 * 0.75)) < 4


def test_incident_effect_on_an_access_link():
    out = replay_incident(SMALL, "north_fixed_exchange", replications=20, seed=6, tail_hours=0.0)
    # north (half the calls) x fixed (20 %) for two hours
    assert abs(_z_poisson(_per_rep(out, "callers_failed_genuine"), 2 * GENUINE_PER_H * 0.5 * 0.2)) < 4


def test_undefined_effect_component_names_the_allowed_forms(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(SMALL.read_text().replace("access:north:fixed:fixed_net", "access:north:fixed:nowhere"))
    with pytest.raises(ScenarioError, match="access link 'access:<area>:<access>:<network>'"):
        load_scenario(p)


def test_a_scenario_without_failure_data_replays_and_simulates(tmp_path):
    text = (DATA / "time_small.toml").read_text()
    text = re.sub(r"^(failure|link) = .*\n", "", text, flags=re.M)
    ccf = '[common_cause_groups.platform_software]\nmembers = ["primary", "dr"]\nbeta = 0.1\n'
    text = text.replace(ccf, "")
    p = tmp_path / "nofail.toml"
    p.write_text(text)
    out = replay_incident(p, "test_outage", replications=3, seed=1)
    assert out["failed_callers"]["mean"] > 0  # the incident's components exist although they never fail
    res = simulate(p, years=2, seed=1).to_dict()
    assert res["failed_calls_per_year"]["mean"] == 0.0
    assert res["unreachable_call_rate"]["interval"] == "one-sided-upper"


def test_every_replication_keeps_its_calls_whatever_the_window_length():
    # a window of 2.01 h: y * stride / stride rounds below y for some replications; each must still see its
    # two hours of calls (the year of a change point is known exactly, not recomputed by division)
    out = replay_incident(SMALL, "platform_down", replications=64, seed=7, tail_hours=0.01)
    g = _per_rep(out, "callers_failed_genuine")
    assert g.min() > 0.5 * 2 * GENUINE_PER_H
    assert abs(_z_poisson(g, 2 * GENUINE_PER_H)) < 4
