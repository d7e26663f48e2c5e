"""Random mutations of the reference scenario: every result is a valid model or one clear error.

Hypothesis mutates uk999 (delete a key, change a value's type or sign, push a
probability out of range, misspell a key, break a reference, duplicate a name) and
writes it as a TOML file. Loading must then either give a scenario that builds and
compiles, or raise ScenarioError whose every problem names the file and a key;
nothing else (no traceback from deep inside). The CLI exits 0 or 2 accordingly.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from fuzzing import dump
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.network.callnetwork import build_network
from model.scenario.loader import BUNDLED_DIR, load_scenario
from model.scenario.schema import ScenarioError

BASE = tomllib.loads((BUNDLED_DIR / "uk999.toml").read_text())


def paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append((*prefix, k))
            out.extend(paths(v, (*prefix, k)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.append((*prefix, i))
            out.extend(paths(v, (*prefix, i)))
    return out


ALL_PATHS = paths(BASE)
WEIRD = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                  st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                  st.lists(st.integers(-3, 3), max_size=3), st.just({}), st.just("nowhere"),
                  st.just(-1.0), st.just(1.5), st.just(0.0))


@st.composite
def mutated(draw) -> tuple[dict, list[str]]:
    doc = json.loads(json.dumps(BASE))
    done = []
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(ALL_PATHS))
        parent = doc
        try:
            for p in path[:-1]:
                parent = parent[p]
            _ = parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue
        op = draw(st.sampled_from(["delete", "replace", "rename", "add_unknown"]))
        key = path[-1]
        if op == "delete":
            if isinstance(parent, list):
                parent.pop(key)
            else:
                del parent[key]
        elif op == "replace":
            value = draw(WEIRD)
            if value is None:  # TOML has no null: delete instead
                if isinstance(parent, list):
                    parent.pop(key)
                else:
                    del parent[key]
            else:
                parent[key] = value
        elif op == "rename" and isinstance(parent, dict):
            parent[str(key) + draw(st.sampled_from(["_", "s", "x"]))] = parent.pop(key)
        elif op == "add_unknown" and isinstance(parent[key], dict):
            parent[key]["colour"] = "red"
        done.append(f"{op} {'.'.join(map(str, path))}")
    return doc, done


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(case=mutated())
def test_every_mutation_is_a_valid_model_or_a_clear_error(tmp_path_factory, case):
    doc, ops = case
    path = Path(tmp_path_factory.mktemp("fuzz")) / "mutant.toml"
    path.write_text(dump(doc))
    try:
        scenario = load_scenario(path)
    except ScenarioError as err:
        assert err.problems, ops
        for p in err.problems:
            assert p.file == str(path), (ops, str(p))
            assert p.message, (ops, str(p))
            assert str(p).startswith(str(path)), (ops, str(p))
        return
    net = build_network(scenario)
    compiled = net.compile()
    assert compiled.n_demands == len(net.demands)
    assert compiled.total_weight >= 0


@pytest.mark.parametrize("op", ["delete", "replace"])
def test_the_cli_says_exit_2_for_a_broken_reference(tmp_path, run_cli, op):
    doc = json.loads(json.dumps(BASE))
    if op == "delete":
        del doc["call_handling_platforms"]["bt_dr"]  # still referenced by the redundancy group
    else:
        doc["control_rooms"]["police_psni"]["service"] = "militia"
    path = tmp_path / "broken.toml"
    path.write_text(dump(doc))
    code, out, err = run_cli("validate", path)
    assert code == 2 and out == ""
    assert str(path) in err and "undefined" in err and "Traceback" not in err
