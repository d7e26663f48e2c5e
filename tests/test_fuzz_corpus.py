"""Fuzz corpus: the malformed inputs of issue 16 (in ``tests/data/malformed/``) through every command.

Each file was once accepted by ``validate`` and then failed inside an engine (a traceback, an exit code 1,
a hang, a NaN or a probability above 1), or was read without limits. Now each is either refused up front
with one message naming the file and key (exit 2) or runs to a finite result (exit 0); see
:mod:`fuzzing` for the judgement. Inputs that cannot live in a repository (a FIFO, an ``extends`` chain
of 1,100 files, a 10^5-edge graph, a relative ``extends`` seen from two folders) are made by the tests.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest
from fuzzing import check, run

DATA = Path(__file__).parent / "data"
MALFORMED = DATA / "malformed"
SCENARIOS = sorted(MALFORMED.glob("*.toml"))
COMMANDS = [
    ["validate"],
    ["describe"],
    ["describe", "--json"],
    ["estimate", "--json", "--samples", "2000", "--workers", "1", "--quiet"],
    ["estimate", "--method", "auto", "--samples", "2000", "--workers", "1", "--quiet"],
    ["simulate", "--json", "--years", "2", "--workers", "1", "--quiet"],
    ["simulate", "--years", "1", "--workers", "1", "--quiet"],
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The corpus next to a copy of tiny.toml (its files extend ``../tiny.toml``)."""
    root = tmp_path_factory.mktemp("corpus")
    shutil.copy(DATA / "tiny.toml", root / "tiny.toml")
    shutil.copytree(MALFORMED, root / "malformed")
    return root / "malformed"


@pytest.mark.parametrize("name", [p.name for p in SCENARIOS])
def test_malformed_scenario_is_refused_or_runs(corpus, name):
    path = corpus / name
    for cmd in COMMANDS:
        res = run(
            "corpus:scenario",
            [cmd[0], path, *cmd[1:]],
            [path, corpus.parent / "tiny.toml"],
            expect_json="--json" in cmd,
        )
        check(res)
        assert "\x1b" not in res.out + res.err and "\u202e" not in res.out + res.err


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("zero_calls.toml", "traffic.annual_calls = 0.0: must be > 0"),
        ("zero_genuine_share.toml", "traffic.genuine_share = 0.0: must be > 0"),
        ("zero_populations.toml", "areas: no calls"),
        ("redial_forever.toml", "callers.max_attempts = 1000000000: must be <= 100"),
        ("attempts_21201.toml", "callers.max_attempts = 21201: must be <= 100"),
        ("no_components.toml", "no demand"),
        ("tiny_maintenance_period.toml", "maintenance.period_hours = 1e-06: must be >= 1.0"),
        ("billion_failures.toml", "failures_per_year = 1000000000.0: must be <= 8766.0"),
        ("repair_1e19_hours.toml", "repair.mean_hours = 1e+19: must be <= 100000.0"),
        ("link_cycle.toml", "links.back: links form a cycle"),
        ("all_zero_profile.toml", "traffic.hourly_profile"),
        ("access_repair_without_mean.toml", "access.mobile.link.repair: weibull needs shape and scale_hours"),
        (
            "family_override.toml",
            "family_override.toml: call_handling_platforms.primary.failure.repair.mean_hours",
        ),
        ("huge_integer.toml", "traffic.annual_calls = 1000"),
        ("weibull_shape_0001.toml", "repair.shape = 0.001: must be >= 0.1"),
        ("huge_lognormal.toml", "repair.mean_hours = 1e+300: must be <= 100000.0"),
        (
            "extends_dev_zero.toml",
            "extends = '/dev/zero': /dev/zero is a character device, not a regular file",
        ),
        ("extends_directory.toml", "is a directory"),
        ("deep_nesting.toml", "nested more than 24 deep"),
        ("bad_clock.toml", "incidents.x.start_clock = '25:99': must be a clock time"),
    ],
)
def test_validate_names_file_key_and_rule(corpus, name, expected):
    res = run("corpus:scenario", ["validate", corpus / name], [corpus / name])
    check(res)
    assert res.code == 2 and expected in res.err, res.err


def test_engines_refuse_what_they_cannot_run_before_any_work(corpus):
    """validate accepts these; the time engine refuses them up front (exit 2), naming file and key."""
    for name, expected in (
        ("unavailability_one.toml", "originating_networks.net_a.failure: the time engine would draw"),
        ("overloaded_capacity.toml", "capacity: in normal operation"),
    ):
        path = corpus / name
        check(run("corpus:scenario", ["validate", path], [path]))
        res = run("corpus:scenario", ["simulate", path, "--years", "2", "--workers", "1", "--quiet"], [path])
        check(res)
        assert res.code == 2 and expected in res.err, res.err
        assert name in res.err


def test_simulate_one_year_says_the_interval_is_undefined():
    res = run(
        "corpus:scenario",
        ["simulate", DATA / "tiny.toml", "--years", "1", "--workers", "1", "--quiet"],
        [DATA / "tiny.toml"],
    )
    check(res)
    assert res.code == 0 and "interval undefined: one simulated year" in res.out
    js = run(
        "corpus:scenario",
        ["simulate", DATA / "tiny.toml", "--years", "1", "--workers", "1", "--quiet", "--json"],
        [DATA / "tiny.toml"],
        expect_json=True,
    )
    check(js)
    assert js.data["unreachable_call_rate"]["ci_high"].startswith("undefined: one simulated year")


def test_control_characters_are_escaped_in_text_output(corpus):
    for cmd in (["validate"], ["describe"]):
        res = run("corpus:scenario", [cmd[0], corpus / "ansi_names.toml"], [corpus / "ansi_names.toml"])
        check(res)
        assert res.code == 0 and "\\x1b[2J" in res.out and "\x1b" not in res.out and "\x07" not in res.out


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    inc = tmp_path / "inc.toml"
    inc.write_text('name = "x"\nextends = "pipe.toml"\n')
    for target in (fifo, inc):
        res = run("corpus:scenario", ["validate", target], [fifo], limit=10)
        check(res)
        assert res.code == 2 and "is a FIFO" in res.err


def test_oversized_file_is_refused(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text('name = "big"\n' + "# padding\n" * 500_000)
    res = run("corpus:scenario", ["validate", big], [big])
    check(res)
    assert res.code == 2 and "the limit for this kind of file is 4 MiB" in res.err


def test_deep_extends_chain_is_refused(tmp_path):
    n = 1100
    for i in range(n):
        parent = f"c{i + 1}.toml" if i < n - 1 else "uk999"
        (tmp_path / f"c{i}.toml").write_text(f'name = "c{i}"\nextends = "{parent}"\n')
    res = run(
        "corpus:scenario", ["validate", tmp_path / "c0.toml"], [tmp_path / f"c{i}.toml" for i in range(n)]
    )
    check(res)
    assert (
        res.code == 2 and "c31.toml: extends = 'c32.toml': more than 32 files in the extends chain" in res.err
    )


def test_relative_extends_is_resolved_against_the_including_files_folder(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "base.toml").write_text('name = "wrong_base"\nextends = "uk999"\n')
    shutil.copy(DATA / "tiny.toml", tmp_path / "sub" / "base.toml")
    (tmp_path / "sub" / "inc.toml").write_text('name = "inc"\nextends = "base.toml"\n')
    for cwd in (tmp_path, tmp_path / "sub"):
        monkeypatch.chdir(cwd)
        res = run(
            "corpus:scenario", ["validate", tmp_path / "sub" / "inc.toml"], [tmp_path / "sub" / "inc.toml"]
        )
        check(res)
        assert res.code == 0 and "13 components" in res.out, (
            res.out
        )  # sub/base.toml = tiny, never ./base.toml


GRAPH_CASES = [
    ("graph_without_q.graphml", "no node or edge carries a failure probability 'q'"),
    ("graph_misspelt_q.graphml", "attribute 'qq' is not one nines reads; did you mean 'q'?"),
    ("graph_entities.graphml", "DOCTYPE or entity declarations"),
    ("edges_nan.txt", "q='nan' is not allowed"),
    ("edges_above_one.txt", "q='1.0000000000000002' is not allowed"),
]


@pytest.mark.parametrize(("name", "expected"), GRAPH_CASES)
@pytest.mark.parametrize("method", ["auto", "exact", "mc", "rare", "simulate"])
def test_malformed_graph_is_refused(name, expected, method):
    path = MALFORMED / name
    res = run(
        "corpus:graph",
        [
            "reliability",
            path,
            "--source",
            "s",
            "--target",
            "t",
            "--method",
            method,
            "--samples",
            "500",
            "--years",
            "2",
        ],
        [path],
    )
    check(res)
    assert res.code == 2 and expected in res.err, res.err


@pytest.mark.parametrize("method", ["auto", "exact", "mc", "rare", "simulate"])
def test_source_equal_to_target_is_refused(method):
    path = MALFORMED / "edges_ok.txt"
    res = run(
        "corpus:graph", ["reliability", path, "--source", "s", "--target", "s", "--method", method], [path]
    )
    check(res)
    assert res.code == 2 and "--source and --target are the same node" in res.err


@pytest.fixture(scope="module")
def big_graph(tmp_path_factory) -> Path:
    """10^5 edges on 3 x 10^4 nodes (made here: 1.3 MB)."""
    rng = random.Random(1)
    edges: set[tuple[int, int]] = set()
    while len(edges) < 100_000:
        u, v = rng.randrange(30_000), rng.randrange(30_000)
        if u != v:
            edges.add((min(u, v), max(u, v)))
    path = tmp_path_factory.mktemp("big") / "big.txt"
    path.write_text("".join(f"n{u} n{v} 0.01\n" for u, v in sorted(edges)))
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "code", "expected"),
    [
        ("rare", 2, "the rare-event engine would need 74.5 GiB for 100,000 components (its limit is 1 GiB)"),
        ("simulate", 2, "the time engine would draw about 2e+06 failures a year"),
        ("auto", 0, "method mc:"),
    ],
)
def test_huge_graph_is_refused_or_run_within_budget(big_graph, method, code, expected):
    res = run(
        "corpus:graph",
        [
            "reliability",
            big_graph,
            "--source",
            "n1",
            "--target",
            "n2",
            "--method",
            method,
            "--samples",
            "64",
            "--years",
            "2",
        ],
        [big_graph],
        limit=120,
    )
    check(res)
    assert res.code == code and expected in res.out + res.err, res.out + res.err


def test_json_outputs_have_no_null(tmp_path):
    res = run(
        "corpus:scenario",
        ["estimate", DATA / "tiny.toml", "--json", "--samples", "1000", "--workers", "1", "--quiet"],
        [DATA / "tiny.toml"],
        expect_json=True,
    )
    check(res)
    assert res.code == 0
    assert json.dumps(res.data).count("null") == 0
    assert "not set" in json.dumps(res.data)  # options not given say so, never null
