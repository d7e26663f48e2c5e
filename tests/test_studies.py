"""The study scripts: --quick runs write a JSON and an HTML report that renders offline.

Each report is opened in a real headless Chromium with every network request
blocked (tests/browser.py): no console errors, every figure rendered, the key
numbers present.
"""

from __future__ import annotations

import json

import pytest
from browser import check_report
from study_runner import run_study_script


@pytest.fixture(scope="module")
def spof(tmp_path_factory):
    out = tmp_path_factory.mktemp("spof")
    run_study_script("single_points_of_failure", "--quick", "--out", out)
    return out


@pytest.fixture(scope="module")
def flagship(tmp_path_factory):
    out = tmp_path_factory.mktemp("flagship")
    run_study_script("fallback_strategies", "--quick", "--out", out, "--seed", "7")
    return out


def test_spof_json(spof):
    d = json.loads((spof / "single_points_of_failure.json").read_text())
    first = d["n_minus_1"]
    assert first[0]["share_cut"] == 1.0  # a platform-wide common cause cuts every call
    assert d["single_points_of_failure"] == sum(r["share_cut"] > 0 for r in first)
    pair = next(r for r in d["n_minus_2"] if set(r["failed"]) == {"bt_primary", "bt_dr"})
    assert pair["share_cut"] == 1.0
    prov = d["provenance"]
    assert prov["seed"] and len(prov["scenario_sha256"]) == 64 and prov["nines_version"]


@pytest.mark.browser
def test_spof_report_in_browser(spof):
    state = check_report(spof / "single_points_of_failure.html", expect_figures=3, quick=True,
                         expect_keys=["spof_count", "worst_risk", "worst_share", "n2_pairs", "components"])
    assert "single_points_of_failure.json" in state["links"]
    assert "single_points_of_failure.table-1.csv" in state["links"]
    ranking = state["text"].split("N-1: every single outage, ranked by risk\n")[-1].split("N-2:")[0]
    assert "Virgin Media O2" in ranking and "ccf:" not in ranking  # readable names, not internal ids
    assert "Sources" in state["text"] and "Confidence:" in state["text"]
    # every assumption the uncertainty analysis varies shows its range beside its reference
    assert ("Range varied: Access-link failure rates (all areas, access types, networks): factor 0.2 to 5 of "
            "the nominal values") in state["text"]


def test_flagship_json(flagship):
    d = json.loads((flagship / "fallback_strategies.json").read_text())
    rows = {r["name"]: r for r in d["strategies"]}
    assert "automatic_failover+full_capacity_backup" in rows and "status_quo" not in rows
    for r in d["strategies"]:
        a = r["failed_calls_avoided_per_year"]
        assert a["ci_low"] <= a["mean"] <= a["ci_high"]
        assert r["worst_year_in_10"]["value"] <= r["worst_year_in_100"]["value"]
    # common random numbers: paired intervals are narrower than independent ones for overlays
    # that only change parameters of existing components
    a = rows["automatic_failover"]["failed_calls_avoided_per_year"]
    assert a["std_error"] < a["independent_std_error"]
    assert d["baseline"]["unreachable_call_rate"]["estimate"] > 0
    assert set(d["parameter_bands"]) >= {"uk999", "automatic_failover"}
    # every strategy's compliance rules, and which of them it changes
    comp = {c["scenario"]: c for c in d["compliance"]["strategies"]}
    assert len(comp) == len(d["strategies"]) and "geographic_diverse_routing" in comp
    assert "route_diversity" in comp["geographic_diverse_routing"]["changed"]
    assert "notification" in comp["faster_detection+emergency_alert_advice"]["changed"]
    # recovery curves and loss-of-service metrics per strategy, status quo first
    rec = d["recovery"]
    assert len(rec) == len(d["strategies"]) + 1 and rec[0]["curve"]["hours"][0] == 0.0
    assert all(len(r["exceedance"]["p"]) == len(r["exceedance"]["hours"]) for r in rec)
    # every assumption group is varied (the calibrated posterior supersedes the caller groups)
    assert len(d["uncertain_groups"]) >= 18 and d["outer_draws"] == 2
    assert "calibrated posterior" in d["caller_behaviour"]
    # tail risk: importance-sampled return periods with intervals for every strategy and the status quo
    tails = {s["name"]: s for s in d["tail_risk"]["strategies"]}
    assert set(tails) == {"status_quo", *rows}
    for s in tails.values():
        assert s["method"] == "importance-sampling" and "ccf:bt_platform_software" in s["bias"]
        assert len(s["curve"]["years"]) == len(d["tail_risk"]["levels"])
        for t in ("100", "1000", "10000"):
            w = s["worst_year"][t]
            assert w["ci_low"] <= w["value"] and (w["ci_high"] is None or w["value"] <= w["ci_high"])
    dec = d["decision"]
    assert set(dec["probability_best"]) == set(rows)
    assert abs(sum(p["probability"] for p in dec["probability_best"].values()) - 1) < 1e-9
    assert set(dec["frontier"]) <= set(rows)
    base = d["by_cause"]["uk999"]
    assert abs(base["routine"]["mean"] + base["platform_wide"]["mean"] - base["total"]["mean"]) < 1e-6
    assert {r["group"] for r in d["by_area"]} >= {"london", "scotland", "wales", "northern_ireland"}


@pytest.mark.browser
def test_flagship_report_in_browser(flagship):
    state = check_report(flagship / "fallback_strategies.html", expect_figures=11, quick=True,
                         expect_keys=["best_strategy", "best_value", "how_sure", "where", "baseline_failed"])
    # the first screen answers which strategy, at what cost, how sure and where
    text = state["text"]
    assert text.index("avoids the most failed genuine calls") < text.rindex("Where calls are unreachable\n")
    for link in ("fallback_strategies.json", "fallback_strategies.table-1.csv"):
        assert link in state["links"]
    assert "Failed genuine calls avoided a year by" in text and "share avoided" in text  # by area, paired


def test_studies_reject_bad_input_with_exit_2(tmp_path):
    r = run_study_script("single_points_of_failure", "--quick", "--scenario", tmp_path / "missing.toml",
                         "--out", tmp_path, check=False)
    assert r.returncode == 2 and "missing.toml" in r.stderr and "Traceback" not in r.stderr
    assert not list(tmp_path.glob("*.html"))


def test_headline_sensitivity_names_the_assumption_that_drives_the_headline(tmp_path):
    """On a small network with two assumption groups, the platform failure rate (a factor 25 range) drives
    the failed calls and the DR capacity (a few calls) hardly does; every draw is in the JSON."""
    from pathlib import Path

    small = Path(__file__).parent / "data" / "time_small.toml"
    scen = tmp_path / "small_uncertain.toml"
    scen.write_text(f'extends = "{small.as_posix()}"\nname = "small_uncertain"\n'
                    '[uncertainty.platform]\nlabel = "Platform failure rate"\n'
                    'paths = ["call_handling_platforms.primary.failure.failures_per_year"]\n'
                    'low = 0.2\nhigh = 5.0\ndistribution = "loguniform"\nwhy = "test"\n'
                    '[uncertainty.dr]\nlabel = "DR capacity"\nmode = "set"\n'
                    'paths = ["call_handling_platforms.dr.capacity.concurrent_calls"]\n'
                    'low = 2.0\nhigh = 3.0\nwhy = "test"\n')
    run_study_script("headline_sensitivity", "--scenario", scen, "--callers", "scenario", "--outer", "16",
                     "--years", "20", "--out", tmp_path, "--seed", "3")
    d = json.loads((tmp_path / "headline_sensitivity.json").read_text())
    assert d["outer_draws"] == 16 and len(d["status_quo_failed_calls_per_year"]["draws"]) == 16
    assert d["outer_design"]["inputs"] == ["Platform failure rate", "DR capacity"]
    for key in ("headline", "headline_rate"):
        imp = d["assumption_importance"][key]
        top = imp["inputs"][0]
        assert top["input"] == "Platform failure rate" and top["direction"] == 1
        assert top["share_p05"] <= top["share"] <= top["share_p95"]
        assert abs(sum(r["share"] for r in imp["inputs"]) - imp["r2"]) < 1e-9
    assert "Which assumptions drive the answer" in (tmp_path / "headline_sensitivity.html").read_text()
