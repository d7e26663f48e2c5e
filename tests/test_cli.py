"""The command line: exit codes, messages on stderr, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys


def test_validate_ok(run_cli, tiny_path):
    code, out, err = run_cli("validate", tiny_path)
    assert code == 0 and out.startswith("OK tiny") and err == ""


def test_describe_json(run_cli, tiny_path):
    code, out, _ = run_cli("describe", tiny_path, "--json")
    d = json.loads(out)
    assert code == 0
    assert d["annual_genuine_calls"] == 500
    assert d["single_points_of_failure"][0]["component"] == "failover:platforms"


def test_whatif(run_cli, tiny_path):
    code, out, _ = run_cli("whatif", tiny_path, "net_a", "--json")
    assert code == 0 and json.loads(out)["share_cut"] == 0.7
    code, _, err = run_cli("whatif", tiny_path, "ghost")
    assert code == 2 and "ghost" in err


def test_schema_is_json(run_cli):
    code, out, _ = run_cli("schema")
    assert code == 0 and json.loads(out)["title"] == "nines scenario file"


def test_bad_input_exit_2_without_traceback(run_cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [")
    for argv in (["validate", bad], ["validate", tmp_path], ["validate", tmp_path / "none.toml"],
                 ["describe"], ["nonsense"], ["describe", tmp_path / "none.toml", "--top", "-1"]):
        code, _, err = run_cli(*argv)
        assert code == 2, argv
        assert "Traceback" not in err and err.strip(), argv


def test_python_dash_m_model_runs_the_cli(tiny_path):
    r = subprocess.run([sys.executable, "-m", "model", "validate", str(tiny_path)], capture_output=True,
                       text=True, check=False)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "model", "validate", "/nonexistent.toml"], capture_output=True,
                       text=True, check=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "nonexistent" in r.stderr
