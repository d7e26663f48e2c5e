"""Fuzz: generated scenarios through validate, describe, estimate, simulate and replay.

Hypothesis builds small call networks from scratch (areas, services, access types, originating
networks, platforms, centres, control rooms with buddies, links, failover and common-cause groups,
fallback lines, callers, profiles, maintenance, an incident), with values drawn from the edges of
what is allowed and beyond (0, the limits of the schema and just past them, 1e300, huge integers,
NaN, infinities, negative numbers, wrong types), then perturbs a few keys. Each scenario is written
as TOML and run through ``nines validate`` and one more command, in-process under a time limit
(:mod:`fuzzing`): exit 0 or 2, no traceback, no hang, refusals naming file and key, JSON without
null/NaN and probabilities in [0, 1]. 5 x 220 = 1,100 scenarios per run, derandomized (the same cases
on every run; ``--hypothesis-seed`` explores others).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest
from fuzzing import check, dump, run
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("NINES_FUZZ_EXAMPLES", "220"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure prints its case as found
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)

EDGE_NUMBERS = [
    0,
    0.0,
    -0.0,
    1e-300,
    1e-12,
    1e-6,
    0.001,
    0.1,
    0.5,
    0.999999,
    1,
    1.0,
    1.0000001,
    2,
    24,
    99,
    100,
    101,
    8766,
    8767,
    1e5,
    100001,
    1e7,
    1e9,
    1e10,
    1e11,
    1e19,
    1e300,
    -1,
    -1e-9,
    math.inf,
    -math.inf,
    math.nan,
    10**400,
    2**63,
    21201,
]
WEIRD = st.one_of(
    st.sampled_from(EDGE_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10, 10**6),
    st.text(max_size=6),
    st.booleans(),
    st.just([]),
    st.just({}),
    st.just("\x1b[31mred\x1b[0m"),
)


def num(draw, typical: list[float]) -> Any:
    """Mostly a sensible value; one in 30 from the edges of what is allowed (or beyond)."""
    if draw(st.integers(0, 29)) == 29:
        return draw(st.sampled_from(EDGE_NUMBERS))
    return draw(st.sampled_from(typical))


def distribution(draw) -> dict[str, Any]:
    fam = draw(st.sampled_from(["exponential", "lognormal", "weibull", "fixed"]))
    d: dict[str, Any] = {"distribution": fam}
    if fam == "fixed":
        d["value_hours"] = num(draw, [0.0, 0.5, 4.0])
    elif fam == "weibull":
        d["shape"] = num(draw, [0.5, 1.5, 3.0])
        d["scale_hours" if draw(st.booleans()) else "mean_hours"] = num(draw, [1.0, 4.0])
    else:
        d["mean_hours"] = num(draw, [0.5, 4.0, 12.0])
        if fam == "lognormal":
            d["sd_hours"] = num(draw, [1.0, 6.0])
    return d


def failure(draw) -> dict[str, Any] | None:
    kind = draw(st.sampled_from(["none", "q", "rate", "rate", "both"]))
    if kind == "none":
        return None
    f: dict[str, Any] = {}
    if kind in ("q", "both"):
        f["unavailability"] = num(draw, [0.0, 1e-4, 0.001, 0.01, 0.2])
    if kind in ("rate", "both"):
        f["failures_per_year"] = num(draw, [0.1, 1.0, 5.0, 50.0])
        f["repair"] = distribution(draw)
    if draw(st.integers(0, 9)) == 0:
        f["drop_fraction"] = num(draw, [0.5, 1.0])
    if draw(st.integers(0, 9)) == 0:
        f["maintenance"] = {
            "period_hours": num(draw, [168.0, 720.0]),
            "duration_hours": num(draw, [1.0, 4.0]),
        }
    return f


@st.composite
def scenarios(draw) -> dict[str, Any]:
    n_areas = draw(st.integers(1, 3))
    areas = [f"a{i}" for i in range(n_areas)]
    services = draw(st.sampled_from([["police"], ["police", "fire"]]))
    access = draw(st.sampled_from([["mobile"], ["fixed", "mobile"]]))
    nets = [f"net{i}" for i in range(draw(st.integers(1, 3)))]
    plats = [f"plat{i}" for i in range(draw(st.integers(1, 2)))]
    centres = [f"centre{i}" for i in range(draw(st.integers(1, 2)))]
    doc: dict[str, Any] = {"name": draw(st.sampled_from(["f", "fuzz", "x\x1b[2Jy", "ünïcode"]))}
    doc["traffic"] = {
        "annual_calls": num(draw, [1000.0, 1e6, 3.5e7]),
        "genuine_share": num(draw, [0.3, 0.5, 1.0]),
    }
    if draw(st.integers(0, 4)) == 0:
        doc["traffic"]["hourly_profile"] = draw(
            st.sampled_from([[1.0] * 24, [0.0] * 24, [2.0] * 12 + [0.0] * 12, [1.0] * 23])
        )
    if draw(st.booleans()):
        doc["callers"] = {
            "redial_probability": num(draw, [0.0, 0.5, 0.85, 1.0]),
            "redial_delay_s": num(draw, [0.0, 30.0]),
            "max_attempts": num(draw, [1, 3, 10]),
            "patience_s": num(draw, [60.0, 600.0]),
        }
    share = 1.0 / len(services)
    doc["services"] = {s: {"label": s.title(), "share": share} for s in services}
    doc["areas"] = {a: {"label": a.upper(), "population": num(draw, [1000, 10**6])} for a in areas}
    doc["access"] = {}
    for t in access:
        acc: dict[str, Any] = {"share": 1.0 / len(access), "networks": {n: 1.0 / len(nets) for n in nets}}
        link = failure(draw)
        if link:
            acc["link"] = link
        doc["access"][t] = acc
    for section, ids in (
        ("originating_networks", nets),
        ("call_handling_platforms", plats),
        ("call_handling_centres", centres),
    ):
        doc[section] = {}
        for i in ids:
            node: dict[str, Any] = {"label": i.upper()}
            f = failure(draw)
            if f:
                node["failure"] = f
            if section == "call_handling_centres" and draw(st.integers(0, 3)) == 0:
                node["capacity"] = {
                    "concurrent_calls": num(draw, [1, 10, 100]),
                    "handling_time_s": num(draw, [60.0, 120.0]),
                }
            doc[section][i] = node
    rooms: dict[str, Any] = {}
    for s in services:
        for k in range(draw(st.integers(1, 2))):
            rid = f"{s}{k}"
            room: dict[str, Any] = {
                "label": rid,
                "service": s,
                "areas": {a: 1.0 / (1 if k == 0 else 2) for a in areas} if k == 0 else {},
            }
            f = failure(draw)
            if f:
                room["failure"] = f
            rooms[rid] = room
        if f"{s}1" in rooms:  # two rooms share the areas half and half, each the other's buddy
            rooms[f"{s}0"]["areas"] = {a: 0.5 for a in areas}
            rooms[f"{s}1"]["areas"] = {a: 0.5 for a in areas}
            rooms[f"{s}0"]["buddies"] = [f"{s}1"]
            rooms[f"{s}1"]["buddies"] = [f"{s}0"]
    doc["control_rooms"] = rooms
    if draw(st.integers(0, 3)) == 0:
        cyc = draw(st.booleans())
        doc["links"] = {
            "extra": {
                "from": [centres[0]],
                "to": [nets[0]] if cyc else [next(iter(rooms))],
                "failure": failure(draw) or {"unavailability": 0.01},
            }
        }
    if len(plats) > 1 and draw(st.booleans()):
        policy = draw(st.sampled_from(["active-active", "automatic", "manual"]))
        grp: dict[str, Any] = {"members": plats, "policy": policy}
        if policy == "automatic":
            grp["failover_delay"] = distribution(draw)
        elif policy == "manual":
            grp["detection_delay"] = distribution(draw)
            grp["switch_time"] = distribution(draw)
            grp["switch_failure_probability"] = num(draw, [0.0, 0.1, 1.0])
            grp["max_attempts"] = num(draw, [1, 3])
        doc["redundancy_groups"] = {"plats": grp}
    if len(plats) > 1 and draw(st.integers(0, 3)) == 0:
        doc["common_cause_groups"] = {"sw": {"members": plats, "beta": num(draw, [0.05, 0.5])}}
    if draw(st.integers(0, 3)) == 0:
        doc["fallback_lines"] = {
            "l101": {
                "number": "101",
                "services": [services[0]],
                "agents": num(draw, [0, 50]),
                "handling_time_s": num(draw, [180.0]),
                "compliance": num(draw, [0.3]),
            }
        }
    comp = draw(st.sampled_from([*plats, *nets]))
    doc["incidents"] = {
        "inc": {
            "label": "Incident",
            "start_clock": draw(st.sampled_from(["09:00"] * 7 + ["23:59", "24:00", "9am"])),
            "phases": [
                {
                    "start_hour": 0.0,
                    "end_hour": num(draw, [1.0, 4.0]),
                    "effects": [
                        {
                            "component": comp,
                            "state": draw(st.sampled_from(["down", "degraded", "capacity"])),
                            "capacity_factor": num(draw, [0.5]),
                        }
                    ],
                }
            ],
        }
    }
    # a few perturbations anywhere: a value replaced, a key deleted, a misspelt key
    for _ in range(draw(st.integers(0, 2))):
        node = doc
        path = []
        while isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
            path.append(key)
            if not isinstance(node[key], dict) or draw(st.integers(0, 3)) == 0:
                break
            node = node[key]
        if not isinstance(node, dict) or not path:
            continue
        action = draw(st.sampled_from(["replace", "replace", "delete", "misspell"]))
        key = path[-1]
        if action == "replace":
            node[key] = draw(WEIRD)
        elif action == "delete":
            del node[key]
        else:
            node[key + "x"] = node.pop(key)
    return doc


def _write(tmp_path_factory, doc: dict) -> Path:
    p = tmp_path_factory.mktemp("fuzz") / "scenario.toml"
    p.write_text(dump(doc), encoding="utf-8")
    return p


def _case(tmp_path_factory, doc: dict, command: list[str], expect_json: bool = True) -> None:
    path = _write(tmp_path_factory, doc)
    check(run("scenario:validate", ["validate", path], [path]))
    res = run(f"scenario:{command[0]}", [command[0], path, *command[1:]], [path], expect_json=expect_json)
    check(res)


@pytest.mark.slow
@SETTINGS
@given(doc=scenarios())
def test_fuzz_describe(tmp_path_factory, doc):
    _case(tmp_path_factory, doc, ["describe", "--json"])


@pytest.mark.slow
@SETTINGS
@given(doc=scenarios(), method=st.sampled_from(["mc", "mc", "auto", "exact", "rare"]))
def test_fuzz_estimate(tmp_path_factory, doc, method):
    _case(
        tmp_path_factory,
        doc,
        ["estimate", "--json", "--method", method, "--samples", "2000", "--workers", "1", "--quiet"],
    )


@pytest.mark.slow
@SETTINGS
@given(doc=scenarios(), years=st.sampled_from(["1", "2", "3"]))
def test_fuzz_simulate(tmp_path_factory, doc, years):
    _case(tmp_path_factory, doc, ["simulate", "--json", "--years", years, "--workers", "1", "--quiet"])


@pytest.mark.slow
@SETTINGS
@given(doc=scenarios())
def test_fuzz_replay(tmp_path_factory, doc):
    _case(tmp_path_factory, doc, ["replay", "inc", "--json", "--replications", "3"])


@pytest.mark.slow
@SETTINGS
@given(doc=scenarios(), text_command=st.sampled_from(["describe", "simulate", "estimate", "replay"]))
def test_fuzz_text_output(tmp_path_factory, doc, text_command):
    """The text forms: no traceback from formatting undefined numbers, control characters escaped."""
    extra = {
        "describe": [],
        "simulate": ["--years", "1", "--workers", "1", "--quiet"],
        "estimate": ["--samples", "1000", "--workers", "1", "--quiet"],
        "replay": ["inc", "--replications", "2"],
    }[text_command]
    path = _write(tmp_path_factory, doc)
    res = run(f"scenario:{text_command} (text)", [text_command, path, *extra], [path])
    check(res)
    assert "\x1b" not in res.out + res.err
