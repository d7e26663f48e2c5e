"""studies/calibration.py --quick: predictions, leave-one-out, the blind replay; the report in Chromium."""

from __future__ import annotations

import json

import pytest
from browser import check_report
from study_runner import run_study_script

from model.scenario.calibrated import load_posterior
from model.sim.outcomes import OUTCOMES


@pytest.fixture(scope="module")
def calibration(tmp_path_factory):
    out = tmp_path_factory.mktemp("calibration")
    post = out / "posterior.toml"
    run_study_script("calibration", "--quick", "--out", out, "--posterior", post)
    return out


def test_calibration_json(calibration):
    d = json.loads((calibration / "calibration.json").read_text())
    assert len(d["incidents"]) == 12 and len(d["leave_one_out"]) == len(d["counts"]) == 14
    s = d["leave_one_out_summary"]
    assert s["counts"] == 14 and 0 <= s["inside_band"] <= 14
    for r in d["leave_one_out"] + d["fit"]:
        assert r["p05"] <= r["median"] <= r["p95"]
    assert set(d["identifiability"]) == set(d["posterior"]) - {"k"}
    assert [c["count"] for c in d["checks"]] == ["telstra_2024_03_01:failed_attempts:all"]
    blind = d["blind_bt_2023"]["outcomes_by_definition"]
    assert list(blind) == [o.key for o in OUTCOMES]
    never = blind["callers_never_connected"]["genuine"]["median"]
    assert blind["callers_failed"]["all"]["median"] > never > 0
    post = load_posterior(calibration / "posterior.toml")
    assert len(post.draws) == 200 and post.meta["incidents"] == d["incidents"]


@pytest.mark.browser
def test_calibration_report_in_browser(calibration):
    check_report(calibration / "calibration.html", expect_figures=2,
                 expect_keys=["loo_inside", "loo_factor2", "ess", "k"])
