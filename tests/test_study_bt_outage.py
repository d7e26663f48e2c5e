"""The 25 June 2023 replay study (studies/bt_outage_2023.py): JSON, counterfactuals, report in a browser.

One ``--quick`` run (module fixture) feeds the JSON and browser checks; the report is
opened in a real headless chromium with every network request blocked.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser import check_report

from model.cli.study import run_study
from model.report import format_number
from model.scenario.loader import load_scenario
from model.scenario.strategies import apply_strategies, load_strategy
from model.sim.engine import replay_incident
from model.sim.timemodel import build_time_model

ROOT = Path(__file__).resolve().parent.parent
SEED = 11
DIST_KEYS = {"median", "p05", "p95"}


def _load():
    spec = importlib.util.spec_from_file_location("bt_outage_2023", ROOT / "studies" / "bt_outage_2023.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


study = _load()


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("bt_outage")
    assert study.main(["--quick", "--out", str(out), "--seed", str(SEED)]) == 0
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
    assert d["replications"] == study.QUICK_REPLICATIONS and d["seed"] == SEED
    assert d["strata"] == study.QUICK_STRATA
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
    t1 = t0 + max(p["end_hour"] for p in d["incident"]["phases"]) + study.TAIL_HOURS
    hours = np.arange(24)
    overlap = np.clip(np.minimum(hours + 1, t1) - np.maximum(hours, t0), 0, None)
    expected = per_hour * sunday * float(overlap @ daily)
    g = d["genuine_calls"]
    se = np.sqrt(expected / d["replications"])  # Poisson arrivals in the affected part, at most all of it
    assert abs(g["mean"] - expected) < 4 * se + 0.001 * expected, (g["mean"], expected)


def test_strategies_paired_and_sane(quick_run):
    _, d = quick_run
    rows = {r["key"]: r for r in d["strategies"]}
    assert set(rows) == {r.key for r in study.STRATEGY_RUNS}
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
    for name in ("redial_probability", "redial_delay_s", "max_attempts", "patience_s"):
        r = study.CALLER_RANGES[name]
        assert r.low <= draws[name]["p05"] <= draws[name]["p95"] <= r.high, name
    adv = study.CALLER_RANGES["advice_hour"]
    assert adv.low <= draws["advice_hour"]["p05"] <= draws["advice_hour"]["p95"] <= adv.high
    for line, centre in (("police_101", 0.5), ("nhs_111", 0.5), ("sfrs_direct", 0.2)):
        k = f"compliance[{line}]"
        assert max(centre - 0.2, 0) <= draws[k]["p05"] <= draws[k]["p95"] <= centre + 0.2, k
    for s in d["parameter_draws"]["strata"]:
        assert study.DR_CAPACITY_FACTOR.low < s["dr_capacity_factor"] < study.DR_CAPACITY_FACTOR.high
        assert study.PHASE1_DROP.low < s["phase1_drop_fraction"] < study.PHASE1_DROP.high
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


def test_counterfactual_timelines():
    base = load_scenario("uk999")
    raw = base.raw["incidents"][study.INCIDENT]
    af = apply_strategies(base, [load_strategy("automatic_failover")])
    cf = study.counterfactual_of(af, base)
    v = study.incident_variant(raw, cf, capacity_factor=0.9, drop_fraction=0.4)
    (p1, p3) = v["phases"]
    assert p1["end_hour"] == p3["start_hour"] == pytest.approx(30 / 3600, rel=1e-3)
    assert p3["end_hour"] == pytest.approx(10.533333)
    dr = next(e for e in p3["effects"] if e["component"] == "bt_dr")
    assert dr["capacity_factor"] == 0.9 and "queue_limit" not in dr
    late = study.incident_variant(raw, study.counterfactual_of(af, base, detect_immediately=False),
                                  capacity_factor=0.9, drop_fraction=0.4)
    assert [p["start_hour"] for p in late["phases"]] == pytest.approx([0, 1.15, 1.15 + 30 / 3600])
    fcb = study.counterfactual_of(apply_strategies(base, [load_strategy("full_capacity_backup")]), base)
    v = study.incident_variant(raw, fcb, capacity_factor=0.7, drop_fraction=0.5)
    dr = next(e for e in v["phases"][2]["effects"] if e["component"] == "bt_dr")
    assert dr["capacity_factor"] == 1.0  # the strategy sizes the DR itself
    pd = study.counterfactual_of(apply_strategies(base, [load_strategy("public_diversion")]), base)
    assert pd.advice_hour == 0.25 and pd.compliance["police_101"] == 0.7 and pd.compliance_changed


def test_rewritten_incident_replays_as_the_original():
    """Dropping the phase-3 queue override (the DR's own 50 applies) changes nothing for the status quo."""
    base = load_scenario("uk999")
    raw = base.raw["incidents"][study.INCIDENT]
    cf = study.counterfactual_of(base, base)
    v = study.incident_variant(raw, cf, capacity_factor=1.0, drop_fraction=0.5)
    tm = build_time_model(base.extend({"incidents": {"copy": v}}))
    a = replay_incident(tm, study.INCIDENT, replications=3, seed=4)
    b = replay_incident(tm, "copy", replications=3, seed=4)
    assert a["per_replication"]["failed_callers"] == b["per_replication"]["failed_callers"]
    assert a["per_replication"]["failed_attempts"] == b["per_replication"]["failed_attempts"]


def test_paired_saving_and_summary():
    rng = np.random.default_rng(3)
    common = rng.normal(1000, 300, 500)
    s = study.paired_saving(common + rng.normal(0, 10, 500), common - 50 + rng.normal(0, 10, 500))
    assert abs(s["mean"] - 50) < 4 * s["sd_paired"] / np.sqrt(500)
    assert s["mean_ci95"][0] < 50 < s["mean_ci95"][1]
    assert s["sd_paired"] < 0.1 * s["sd_independent"]
    assert study.summary(np.arange(101.0)) == {"median": 50.0, "p05": 5.0, "p95": 95.0, "mean": 50.0}


def test_bad_input_exits_2_without_output(tmp_path, capsys):
    code = run_study(study.main, ["--quick", "--replications", "1", "--out", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and "--replications" in err and "Traceback" not in err
    code = run_study(study.main, ["--quick", "--scenario", str(tmp_path / "nope.toml"), "--out",
                                  str(tmp_path / "b")])
    assert code == 2 and "error" in capsys.readouterr().err
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
