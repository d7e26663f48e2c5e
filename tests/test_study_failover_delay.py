"""The failover-delay study (studies/failover_delay.py): run as a script, its JSON and report.

One ``--quick`` run (module fixture) feeds the JSON and browser checks. The conditional
estimator itself (switch delays, interpolation weights, knot values on any backend) is
tested in tests/test_failover_windows.py.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest
from browser import check_report
from study_runner import run_study_script

from model.report import format_number
from model.scenario.loader import load_scenario

SEED = 7
CURVE_CAPS = ("status_quo", "queue_now", "full")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("failover_delay")
    run_study_script("failover_delay", "--quick", "--out", out, "--seed", SEED, "--workers", "1")
    return out, json.loads((out / "failover_delay.json").read_text())


def _row(d: dict, policy: str, delay: float, cap: str) -> dict:
    return next(r for r in d["grid"] if r["policy"] == policy and abs(r["delay_hours"] - delay) < 1e-9
                and r["capacity"] == cap)


def _est_ok(e: dict) -> bool:
    return e["ci_low"] <= e["estimate"] <= e["ci_high"] and e["std_error"] >= 0


def test_json_structure_and_provenance(quick_run):
    _, d = quick_run
    for key in ("grid", "key_numbers", "sobol", "tornado", "bands", "checks", "baseline_rest_of_network",
                "uncertain_parameters", "provenance", "engine"):
        assert key in d, key
    assert d["quick"] is True and d["scenario"] == "uk999"
    prov = d["provenance"]
    for key in ("nines_version", "git_commit", "seed", "scenario_sha256", "runtime_seconds"):
        assert key in prov, key
    assert prov["seed"] == SEED and len(prov["scenario_sha256"]) == 64
    n_policies = len(d["policies"])
    assert {p["policy"] for p in d["policies"]} == {"manual", "automatic"} and n_policies >= 10
    assert len(d["grid"]) == n_policies * len(d["capacities"])
    for r in d["grid"]:
        for key in ("platform_failed_calls_per_year", "platform_unreachable_call_rate",
                    "failed_calls_per_platform_outage", "total_unreachable_call_rate"):
            assert _est_ok(r[key]), (key, r)
        if r["capacity"] in CURVE_CAPS:
            b = r["band_platform_failed_calls_per_year"]
            assert 0 <= b["p05"] <= b["median"] <= b["p95"]
            assert 0 <= b["share_noise"] <= 1 and abs(b["share_noise"] + b["share_parameter"] - 1) < 1e-12
        # the rate is failed calls over genuine calls; the total adds the rest of the network
        g = d["baseline_rest_of_network"]["genuine_calls_per_year"]
        assert math.isclose(r["platform_unreachable_call_rate"]["estimate"] * g,
                            r["platform_failed_calls_per_year"]["estimate"], rel_tol=1e-9)
        base = d["baseline_rest_of_network"]["failed_calls_per_year"]["mean"]
        assert math.isclose(r["total_failed_calls_per_year"]["estimate"],
                            base + r["platform_failed_calls_per_year"]["estimate"], rel_tol=1e-9)
    assert {p["name"] for p in d["uncertain_parameters"]} == set(d["sobol"]["parameters"])
    assert 16e6 < d["baseline_rest_of_network"]["genuine_calls_per_year"] < 19e6  # 17.5 m genuine calls


def test_rate_rises_with_delay_and_falls_with_capacity(quick_run):
    _, d = quick_run
    for policy in ("manual", "automatic"):
        delays = sorted({r["delay_hours"] for r in d["grid"] if r["policy"] == policy})
        for cap in d["capacities"]:
            ys = [_row(d, policy, x, cap["key"])["platform_failed_calls_per_year"]["estimate"]
                  for x in delays]
            # common random numbers: the same outages and delay draws at every delay
            assert all(b >= a * (1 - 1e-9) for a, b in itertools.pairwise(ys)), (policy, cap, ys)
            assert ys[-1] > ys[0]
        levels = sorted((c for c in d["capacities"] if c["queue"] == d["capacities"][0]["queue"]
                         and c["key"] not in ("queue_now", "full")), key=lambda c: c["calls"])
        assert len(levels) >= 3 and any(c["key"] == "status_quo" for c in levels)
        for x in delays:
            y = {c["key"]: _row(d, policy, x, c["key"])["platform_failed_calls_per_year"]["estimate"]
                 for c in d["capacities"]}
            # more concurrent calls on the backup (same queue): fewer failed calls
            ys = [y[c["key"]] for c in levels]
            assert all(b <= a * 1.02 + 0.1 for a, b in itertools.pairwise(ys)), (policy, x, ys)
            assert ys[0] > y["status_quo"] > y["full"], (policy, x, y)
            assert y["queue_now"] <= y["status_quo"] * 1.02 + 0.1  # a longer queue: never materially worse
            assert y["full"] <= ys[-1] * 1.02 + 0.1
    # the manual 2023 procedure loses more than a 30 s automatic switch with the same backup
    kn = d["key_numbers"]
    assert kn["automatic_platform_failed_calls_per_year"]["estimate"] \
        < kn["status_quo_platform_failed_calls_per_year"]["estimate"]
    # per-year = outage rate x calls per outage: between lambda(1-beta) x per-outage and lambda x full outage
    s = load_scenario("uk999")
    lam = s.call_handling_platforms["bt_primary"].failure.failures_per_year
    beta = s.common_cause_groups["bt_platform_software"].beta
    for r in d["grid"]:
        per = r["failed_calls_per_platform_outage"]["estimate"]
        assert r["platform_failed_calls_per_year"]["estimate"] >= lam * (1 - beta) * per * (1 - 1e-9)


def test_sobol_indices_consistent(quick_run):
    _, d = quick_run
    outs = d["sobol"]["outputs"]
    assert len(outs) == 2
    for name, out in outs.items():
        for r in out["indices"]:
            lo1, hi1 = r["first_ci"]
            lo_t, hi_t = r["total_ci"]
            assert lo1 <= r["first_order"] <= hi1 and lo_t <= r["total_order"] <= hi_t
            # first-order <= total, within the bootstrap intervals
            tol = (hi1 - lo1) / 2 + (hi_t - lo_t) / 2
            assert r["first_order"] <= r["total_order"] + tol + 1e-9, (name, r)
            assert r["total_order"] >= -1e-9
    # given an outage, the failure rate and beta do not enter at all: exactly zero indices
    per_outage = {r["parameter"]: r for r in outs["failed calls per primary-platform outage"]["indices"]}
    for p in ("platform failure rate", "common-cause beta"):
        assert per_outage[p]["total_order"] == 0.0 and per_outage[p]["first_order"] == 0.0
    # per year, the failure rate (two orders of magnitude of uncertainty) dominates
    top = outs["failed calls per year (platform outages)"]["indices"][0]
    assert top["parameter"] == "platform failure rate" and top["total_ci"][0] > 0.3
    t = d["tornado"]
    assert t["rows"][0]["name"] == "platform failure rate"
    rate = next(r for r in t["rows"] if r["name"] == "platform failure rate")
    assert rate["output_low"] < t["base_output"] < rate["output_high"]


def test_conditional_estimator_agrees_with_whole_outage_replays(quick_run):
    """The same outages replayed whole, with switch delays drawn by the engine, against the estimator."""
    _, d = quick_run
    checks = d["checks"]["direct_replays"]
    assert len(checks) == 4
    for c in checks:
        assert abs(c["z"]) < 4, c
    auto = next(c for c in checks if c["check"].startswith("automatic"))
    # the automatic case has no delay randomness to speak of: a sharp test of the piecewise replays
    assert auto["difference_se"] < 0.05 * auto["direct_per_outage"]


def test_bad_scenario_is_reported(tmp_path):
    bad = tmp_path / "no_group.toml"
    bad.write_text('extends = "uk999"\nname = "no_group"\nremove = ["redundancy_groups.bt_platforms"]\n')
    r = run_study_script("failover_delay", "--quick", "--out", tmp_path / "o", "--scenario", bad, check=False)
    assert r.returncode == 2 and "redundancy group" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o" / "failover_delay.json").exists()


@pytest.mark.browser
def test_report_in_browser(quick_run):
    out, d = quick_run
    info = check_report(out / "failover_delay.html", expect_figures=9,
                        expect_keys=["status_quo", "automatic", "full_capacity", "per_outage", "total_rate",
                                     "top_driver"])
    kn = d["key_numbers"]
    for key, name in (("status_quo", "status_quo_platform_failed_calls_per_year"),
                      ("automatic", "automatic_platform_failed_calls_per_year")):
        assert info["keys"][key] == format_number(kn[name]["estimate"])
    text = info["text"]
    for phrase in ("Sobol", "Tornado", "Method", "Checks", "OFCOM_FINE", "PARL_2024"):
        assert phrase in text, phrase
