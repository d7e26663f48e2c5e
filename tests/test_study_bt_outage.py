"""The 25 June 2023 replay study (studies/bt_outage_2023.py): run as a script, its JSON and report.

One ``--quick`` run (module fixture) feeds the JSON and browser checks; the report is
opened in a real headless chromium with every network request blocked. The study's
building blocks are tested in tests/test_incidents.py and tests/test_replications.py.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser import check_report
from study_runner import run_study_script

from model.report import format_number
from model.scenario.loader import load_scenario

SEED = 11
REPLICATIONS = 12
DIST_KEYS = {"median", "p05", "p95"}
STRATEGY_KEYS = {"status_quo", "automatic_failover", "full_capacity_backup", "backup_queue_420", "second_cha",
                 "public_diversion", "mobile_direct_routing", "automatic_failover+full_capacity_backup",
                 "automatic_failover_after_diagnosis"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("bt_outage")
    run_study_script("bt_outage_2023", "--quick", "--out", out, "--seed", SEED,
                     "--replications", REPLICATIONS)
    return out, json.loads((out / "bt_outage_2023.json").read_text())


def _ordered(d: dict[str, float]) -> bool:
    return d["p05"] <= d["median"] <= d["p95"]


def test_json_predictions_shape_and_sanity(quick_run):
    _, d = quick_run
    assert d["blind_prediction"] is True and "tuned" in d["statement"]
    for key in ("predicted_failed_attempts", "predicted_failed_callers", "connected_via_fallback",
                "connected_after_redial", "genuine_calls"):
        assert DIST_KEYS <= set(d[key]), key
        assert _ordered(d[key]), (key, d[key])
    fa, fc = d["predicted_failed_attempts"], d["predicted_failed_callers"]
    # every failed caller made at least one failed attempt, replication by replication, so every quantile
    assert all(fc[q] <= fa[q] for q in ("p05", "median", "p95"))
    assert fc["p05"] > 0  # a 146-minute outage of the whole service fails some callers in every replication
    # nobody is counted twice: failed + connected after redial + via fallback <= callers simulated
    assert fc["mean"] + d["connected_after_redial"]["mean"] + d["connected_via_fallback"]["mean"] \
        < d["genuine_calls"]["mean"]
    assert d["replications"] == REPLICATIONS and d["seed"] == SEED
    assert d["strata"] == len(d["parameter_draws"]["strata"]) >= 2
    assert sum(s["replications"] for s in d["parameter_draws"]["strata"]) == REPLICATIONS
    prov = d["provenance"]
    for key in ("nines_version", "git_commit", "seed", "scenario_sha256", "runtime_seconds"):
        assert key in prov, key
    assert prov["seed"] == SEED and len(prov["scenario_sha256"]) == 64


def test_genuine_calls_match_the_sunday_profile(quick_run):
    """Calls offered in the replay window = the scenario's rate x Sunday profile, within Poisson noise."""
    _, d = quick_run
    s = load_scenario("uk999").spec
    per_hour = s.traffic.annual_calls * s.traffic.genuine_share / 8766.0
    daily = np.asarray(s.traffic.hourly_profile) / np.mean(s.traffic.hourly_profile)
    sunday = s.traffic.weekly_profile[6] / np.mean(s.traffic.weekly_profile)
    t0 = 6 + 24 / 60
    t1 = t0 + max(p["end_hour"] for p in d["incident"]["phases"]) + d["tail_hours"]
    hours = np.arange(24)
    overlap = np.clip(np.minimum(hours + 1, t1) - np.maximum(hours, t0), 0, None)
    expected = per_hour * sunday * float(overlap @ daily)
    g = d["genuine_calls"]
    se = np.sqrt(expected / d["replications"])  # Poisson arrivals in the affected part, at most all of it
    assert abs(g["mean"] - expected) < 4 * se + 0.001 * expected, (g["mean"], expected)


def test_strategies_paired_and_sane(quick_run):
    _, d = quick_run
    rows = {r["key"]: r for r in d["strategies"]}
    assert set(rows) == STRATEGY_KEYS
    for key, r in rows.items():
        assert DIST_KEYS <= set(r["failed_callers"]) and _ordered(r["failed_callers"]), key
        assert DIST_KEYS <= set(r["calls_saved"]) and _ordered(r["calls_saved"]), key
        assert all(r["failed_callers"][q] <= r["failed_attempts"][q] for q in ("p05", "median", "p95")), key
    sq = rows["status_quo"]
    assert sq["calls_saved"]["median"] == sq["calls_saved"]["p95"] == 0  # paired with itself
    assert sq["failed_callers"] == d["predicted_failed_callers"]
    # common random numbers: every strategy drew the same caller parameters and strata
    assert d["parameter_draws"]["identical_across_strategies"] is True
    af, fcb = rows["automatic_failover"], rows["full_capacity_backup"]
    both = rows["automatic_failover+full_capacity_backup"]
    assert af["calls_saved"]["median"] > 0 and fcb["calls_saved"]["median"] > 0
    assert af["failed_callers"]["median"] < sq["failed_callers"]["median"]
    assert fcb["failed_callers"]["median"] < sq["failed_callers"]["median"]
    assert both["calls_saved"]["median"] >= max(af["calls_saved"]["median"], fcb["calls_saved"]["median"])
    # pairing removes the caller-parameter spread that independent runs would carry
    assert af["calls_saved"]["sd_paired"] < af["calls_saved"]["sd_independent"]
    # the 30-s switch at 06:24 avoids at least what switching after BT's diagnosis avoids
    assert af["calls_saved"]["mean"] >= rows["automatic_failover_after_diagnosis"]["calls_saved"]["mean"]


def test_parameter_draws_stay_in_their_stated_ranges(quick_run):
    _, d = quick_run
    draws = d["parameter_draws"]["summary"]
    ranges = d["uncertain_inputs"]
    for name in ("redial_probability", "redial_delay_s", "max_attempts", "patience_s"):
        r = ranges[name]
        assert r["low"] <= draws[name]["p05"] <= draws[name]["p95"] <= r["high"], name
    assert (ranges["redial_probability"]["low"], ranges["redial_probability"]["high"]) == (0.6, 0.95)
    adv = ranges["advice_hour"]
    assert adv["low"] <= draws["advice_hour"]["p05"] <= draws["advice_hour"]["p95"] <= adv["high"]
    for line, centre in (("police_101", 0.5), ("nhs_111", 0.5), ("sfrs_direct", 0.2)):
        k = f"compliance[{line}]"
        assert max(centre - 0.2, 0) <= draws[k]["p05"] <= draws[k]["p95"] <= centre + 0.2, k
    for s in d["parameter_draws"]["strata"]:
        cap, drop = ranges["dr_capacity_factor"], ranges["phase1_drop_fraction"]
        assert cap["low"] < s["dr_capacity_factor"] < cap["high"]
        assert drop["low"] < s["phase1_drop_fraction"] < drop["high"]
    for key, spec in d["uncertain_inputs"].items():
        assert spec["reason"] and spec["low"] <= spec["high"], key


def test_timeline_bins_and_phases(quick_run):
    _, d = quick_run
    bins, phases = d["time_bins"], d["per_phase"]
    assert [p["phase"] for p in phases] == [1, 2, 3]
    assert [(p["start"], p["end"]) for p in phases] == [("06:24", "07:33"), ("07:33", "08:50"),
                                                        ("08:50", "16:56")]
    assert bins[0]["start_hour"] == 0
    assert all(a["end_hour"] == b["start_hour"] for a, b in itertools.pairwise(bins))
    # the total outage (phase 2) fails attempts faster than the partial loss of phase 1
    rate = [p["failed_attempts"]["mean"] / h for p, h in zip(phases, (1.15, 1.2833, 8.1), strict=True)]
    assert rate[1] > rate[0] > 0


def test_bad_input_exits_2_without_output(tmp_path):
    r = run_study_script("bt_outage_2023", "--quick", "--replications", "1", "--out", tmp_path / "a",
                         check=False)
    assert r.returncode == 2 and r.stderr.startswith("error:") and "--replications" in r.stderr
    assert "Traceback" not in r.stderr
    r = run_study_script("bt_outage_2023", "--quick", "--scenario", tmp_path / "nope.toml", "--out",
                         tmp_path / "b", check=False)
    assert r.returncode == 2 and "nope.toml" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.browser
def test_report_renders_offline_with_key_numbers(quick_run):
    out, d = quick_run
    keys = ["failed_callers", "failed_attempts", "via_fallback", "after_redial", "saved_automatic_failover",
            "saved_full_capacity_backup", "saved_automatic_failover_and_full_capacity_backup"]
    res = check_report(out / "bt_outage_2023.html", expect_figures=8, expect_keys=keys)
    assert res["keys"]["failed_callers"] == format_number(round(d["predicted_failed_callers"]["median"]))
    assert res["keys"]["failed_attempts"] == format_number(round(d["predicted_failed_attempts"]["median"]))
    text = res["text"]
    assert "blind prediction" in text and "Assumptions and sources" in text and "Provenance" in text
    for phrase in ("text relay", "call-backs", "caller location", "DR platform capacity"):
        assert phrase in text, phrase
    assert d["provenance"]["git_commit"] in text
