"""Study outputs: ``--out`` checked before any computation; HTML and JSON written as one unit."""

from __future__ import annotations

import json

import pytest
from study_runner import run_study_script

from model.cli.study import Study, study_parser, verify_outputs
from model.report import Report


def _study(out, name="demo"):
    return Study(name, study_parser(name, "demo").parse_args(["--out", str(out)]))


def test_html_and_json_carry_one_run_id_and_the_manifest_vouches_for_both(tmp_path):
    st = _study(tmp_path)
    html, js = st.write(Report("Demo"), {"value": 1.5})
    rid = verify_outputs(tmp_path, "demo")
    assert rid == st.run_id == json.loads(js.read_text())["run_id"]
    assert f'<meta name="nines-run-id" content="{rid}">' in html.read_text()


def test_a_pair_from_two_runs_is_refused(tmp_path):
    _study(tmp_path).write(Report("Demo"), {"value": 1.0})
    first_html = (tmp_path / "demo.html").read_text()
    _study(tmp_path).write(Report("Demo"), {"value": 2.0})
    # a run killed between its two writes: the other run's HTML next to this run's JSON
    (tmp_path / "demo.html").write_text(first_html)
    with pytest.raises(ValueError, match=r"demo\.html: not the file of run"):
        verify_outputs(tmp_path, "demo")
    (tmp_path / "demo.manifest.json").unlink()
    with pytest.raises(ValueError, match="incomplete"):
        verify_outputs(tmp_path, "demo")


def test_a_bad_out_is_refused_before_any_computation(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    r = run_study_script("fallback_strategies", "--quick", "--out", blocker / "reports", check=False)
    assert r.returncode == 2, r.stderr[-2000:]
    assert f"--out {blocker / 'reports'}: cannot write there" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""  # nothing was computed or printed
