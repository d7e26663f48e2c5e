"""`nines estimate` and `nines reliability`: the same JSON from every method, and agreement."""

from __future__ import annotations

import json

import networkx as nx
import pytest

from model.network.graphs import dodecahedron


@pytest.fixture
def dodeca_file(tmp_path):
    g, s, t = dodecahedron(0.1)
    g = nx.relabel_nodes(g, {n: f"v{n}" for n in g.nodes})
    path = tmp_path / "dodeca.graphml"
    nx.write_graphml(g, path)
    return path, f"v{s}", f"v{t}"


def test_estimate_mc_agrees_with_exact_on_the_tiny_network(run_cli, tiny_path):
    code, out, _ = run_cli("estimate", tiny_path, "--method", "exact", "--json")
    assert code == 0
    exact = json.loads(out)["unreachable_probability"]["estimate"]
    code, out, _ = run_cli("estimate", tiny_path, "--method", "mc", "--samples", "200000", "--seed", "7",
                           "--json")
    d = json.loads(out)
    mc = d["unreachable_probability"]
    assert code == 0
    assert abs(mc["estimate"] - exact) < 4 * mc["std_error"]
    assert set(d["by_service"]) == {"police", "fire"}
    assert d["expected_unreachable_calls_per_year"]["estimate"] == pytest.approx(mc["estimate"] * 500)


@pytest.mark.parametrize("method", ["exact", "mc", "rare", "auto"])
def test_reliability_json_has_the_same_keys_for_every_method(run_cli, dodeca_file, method):
    path, s, t = dodeca_file
    code, out, err = run_cli("reliability", path, "--source", s, "--target", t, "--method", method,
                             "--samples", "20000", "--seed", "3", "--json")
    assert code == 0, err
    d = json.loads(out)
    for key in ("estimate", "ci_low", "ci_high", "std_error", "method", "samples", "seconds"):
        assert key in d, key
    exact_value = 0.0028796012533932  # exact engine; BDD and factoring agree (tests/test_exact.py)
    assert abs(d["estimate"] - exact_value) <= max(4 * d["std_error"], 1e-6)
    if method == "auto":
        assert d["method_chosen"] in ("exact", "mc", "rare") and d["method_reason"]


def test_reliability_bad_inputs_exit_2(run_cli, dodeca_file, tmp_path):
    path, _s, t = dodeca_file
    code, _, err = run_cli("reliability", path, "--source", "nowhere", "--target", t)
    assert code == 2 and "nowhere" in err
    bad = tmp_path / "bad.txt"
    bad.write_text("a b 1.5\n")
    code, _, err = run_cli("reliability", bad, "--source", "a", "--target", "b")
    assert code == 2 and "bad.txt" in err and "Traceback" not in err
    code, _, err = run_cli("reliability", tmp_path / "missing.graphml", "--source", "a", "--target", "b")
    assert code == 2 and "missing.graphml" in err


def test_estimate_same_answer_serial_and_two_workers_and_after_resume(run_cli, tiny_path, tmp_path):
    common = ("estimate", tiny_path, "--samples", "300000", "--seed", "11", "--json", "--quiet")
    _, one, _ = run_cli(*common, "--workers", "1")
    _, two, _ = run_cli(*common, "--workers", "2")
    ckpt = tmp_path / "run.ckpt"
    _, first, _ = run_cli(*common, "--workers", "1", "--checkpoint", ckpt)
    assert ckpt.exists()
    _, again, _ = run_cli(*common, "--workers", "1", "--checkpoint", ckpt)  # resumes from the finished run
    values = [json.loads(x)["unreachable_probability"]["estimate"] for x in (one, two, first, again)]
    assert len(set(values)) == 1, values


def test_simulate_json_and_run_options(run_cli, tiny_path):
    code, out, err = run_cli("simulate", tiny_path, "--years", "20", "--seed", "4", "--json",
                             "--workers", "1")
    assert code == 0, err
    d = json.loads(out)
    for key in ("unreachable_call_rate", "failed_calls_per_year", "failed_attempts_per_year",
                "time_to_connect_s", "largest_incidents"):
        assert key in d
    assert set(d["failed_calls_per_year"]) >= {"mean", "p50", "p95", "p99"}
    code, _, err = run_cli("simulate", tiny_path, "--years", "20", "--target-rse", "-1")
    assert code == 2 and "target-rse" in err


def test_memory_budget_sets_the_chunk_and_refuses_what_cannot_fit(run_cli, dodeca_file):
    from model.cli.engines import DEFAULT_MAX_MEMORY_MIB
    from model.static.montecarlo import DEFAULT_MAX_MEMORY

    assert DEFAULT_MAX_MEMORY_MIB * 2**20 == DEFAULT_MAX_MEMORY
    path, s, t = dodeca_file
    code, out, err = run_cli("reliability", path, "--source", s, "--target", t, "--method", "mc",
                             "--samples", "20000", "--max-memory", "1", "--json")
    assert code == 2 and "Traceback" not in err
    assert "smallest chunk (64 trials)" in err and "raise --max-memory" in err and "budget of 1 MiB" in err
    code, out, err = run_cli("reliability", path, "--source", s, "--target", t, "--method", "mc",
                             "--samples", "20000", "--max-memory", "20", "--seed", "3", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert abs(d["estimate"] - 0.0028796012533932) <= 4 * d["std_error"]
