"""Scenario files: loading, extends, and one clear message per problem (never a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.scenario.loader import ScenarioError, load_scenario, scenario_json_schema


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def problems_of(ref) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        load_scenario(ref)
    return [str(p) for p in err.value.problems]


def test_tiny_loads(tiny_path):
    s = load_scenario(tiny_path)
    assert s.name == "tiny"
    assert set(s.services) == {"police", "fire"}
    assert s.files == (str(tiny_path),)
    assert len(s.digest) == 64


def test_extends_overrides_adds_and_removes(tmp_path, tiny_path):
    child = write(tmp_path, "child.toml", f"""
extends = "{tiny_path}"
name = "child"
remove = ["redundancy_groups.platforms"]
[call_handling_platforms.dr]
failure = {{ unavailability = 0.5 }}
[originating_networks.net_c]
label = "Network C"
""")
    s = load_scenario(child)
    assert s.name == "child"
    assert s.call_handling_platforms["dr"].failure.unavailability == 0.5
    assert s.call_handling_platforms["dr"].label == "DR platform"  # inherited key kept
    assert "net_c" in s.originating_networks
    assert not s.redundancy_groups
    assert s.files == (str(tiny_path), str(child))


def test_relative_extends_resolves_next_to_the_file(tmp_path, tiny_path):
    (tmp_path / "base.toml").write_text(tiny_path.read_text())
    child = write(tmp_path, "c.toml", 'extends = "base.toml"\nname = "c"\n')
    assert load_scenario(child).name == "c"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "is empty"),
        ("name = [", "is not valid TOML"),
        ('name = "x"\n', "traffic: required key missing"),
        ('name = "x"\ncolour = 1\n[traffic]\nannual_calls=1\ngenuine_share=0.5\n', "colour: unknown key"),
        ('name = "x"\n[traffic]\nannual_calls="many"\ngenuine_share=0.5\n', "must be a number"),
        ('name = "x"\n[traffic]\nannual_calls=1\ngenuine_share=1.5\n', "must be <= 1"),
        ('name = "x"\n[traffic]\nannual_calls=-3\ngenuine_share=0.5\n', "must be > 0"),
        ('name = "x"\nextends = "no_such_base"\n', "no such file"),
        ('name = "x"\nextends = 3\n', "must be a bundled name or a path"),
    ],
)
def test_malformed_files_get_one_clear_message(tmp_path, content, expected):
    msgs = problems_of(write(tmp_path, "bad.toml", content))
    assert any(expected in m for m in msgs), msgs
    assert all(str(tmp_path / "bad.toml") in m or "no_such_base" in m for m in msgs)


def test_binary_directory_and_missing_file(tmp_path):
    b = tmp_path / "b.toml"
    b.write_bytes(b"\x00\x01\x02name")
    assert "binary" in problems_of(b)[0]
    assert "is a directory" in problems_of(tmp_path)[0]
    assert "no such file" in problems_of(tmp_path / "missing.toml")[0]


def test_cycle_of_extends(tmp_path):
    write(tmp_path, "a.toml", 'extends = "b.toml"\nname = "a"\n')
    write(tmp_path, "b.toml", 'extends = "a.toml"\nname = "b"\n')
    msgs = problems_of(tmp_path / "a.toml")
    assert any("cycle of extends" in m for m in msgs), msgs


def overlay(tmp_path, tiny_path, text: str) -> list[str]:
    return problems_of(write(tmp_path, "o.toml", f'extends = "{tiny_path}"\n{text}'))


def test_every_problem_is_reported_at_once(tmp_path, tiny_path):
    msgs = overlay(tmp_path, tiny_path, """
[control_rooms.police_north]
buddies = ["nobody"]
failure = { unavailability = 2.0 }
[access.mobile]
networks = { net_a = 0.7, net_x = 0.3 }
[redundancy_groups.platforms]
members = ["primary", "ghost"]
""")
    joined = "\n".join(msgs)
    assert "failure.unavailability = 2.0: must be <= 1" in joined
    assert len(msgs) == 1  # type errors stop before reference checks
    msgs = overlay(tmp_path, tiny_path, """
[control_rooms.police_north]
buddies = ["nobody"]
[access.mobile]
networks = { net_a = 0.7, net_x = 0.3 }
[redundancy_groups.platforms]
members = ["primary", "ghost"]
""")
    joined = "\n".join(msgs)
    assert "control_rooms.police_north.buddies = 'nobody': undefined reference" in joined
    assert "access.mobile.networks = 'net_x': undefined reference" in joined
    assert "redundancy_groups.platforms.members = 'ghost': undefined component" in joined
    assert all(m.startswith(str(tmp_path / "o.toml")) for m in msgs), msgs


def test_problems_in_the_base_file_name_the_base_file(tmp_path, tiny_path):
    base = write(tmp_path, "base.toml", tiny_path.read_text().replace("share = 0.25", "share = 0.2"))
    child = write(tmp_path, "child.toml", 'extends = "base.toml"\nname = "c"\n')
    msgs = problems_of(child)
    assert any(m.startswith(str(base)) and "service shares must add up to 1" in m for m in msgs), msgs


def test_duplicate_names_and_unroutable_demand(tmp_path, tiny_path):
    msgs = overlay(tmp_path, tiny_path, '[call_handling_centres.net_a]\nlabel = "dup"\n')
    assert any("duplicate name" in m for m in msgs), msgs
    msgs = overlay(tmp_path, tiny_path, 'remove = ["control_rooms.fire_all"]\n')
    assert any("demand with no route" in m and "fire" in m for m in msgs), msgs


def test_remove_of_something_not_inherited(tmp_path, tiny_path):
    msgs = overlay(tmp_path, tiny_path, 'remove = ["links.nothing"]\n')
    assert any("names nothing inherited" in m for m in msgs)


def test_distribution_requirements(tmp_path, tiny_path):
    msgs = overlay(tmp_path, tiny_path, """
[call_handling_platforms.dr]
failure = { failures_per_year = 1.0, repair = { distribution = "lognormal", mean_hours = 2.0 } }
""")
    assert any("sd_hours: required for a lognormal distribution" in m for m in msgs), msgs


def test_json_schema_is_generated_from_the_code():
    schema = scenario_json_schema()
    assert schema["properties"]["traffic"]["required"] == ["annual_calls", "genuine_share"]
    rooms = schema["properties"]["control_rooms"]["additionalProperties"]
    assert rooms["additionalProperties"] is False
    assert "buddies" in rooms["properties"]
    unavail = schema["properties"]["call_handling_platforms"]["additionalProperties"]["properties"]["failure"]
    probs = unavail["properties"]["unavailability"]
    assert probs["anyOf"] if "anyOf" in probs else probs["maximum"] == 1


def test_planned_maintenance_is_expressible_validated_and_simulated(tmp_path, tiny_path):
    from model.sim.engine import simulate
    from model.sim.timemodel import build_time_model

    window = "maintenance = { period_hours = 168.0, duration_hours = 2.0, offset_hours = 3.0 }"
    overlay = write(tmp_path, "m.toml", f"""
extends = "{tiny_path}"
name = "tiny_maintenance"
[call_handling_centres.c1]
failure = {{ unavailability = 0.001, {window} }}
[call_handling_centres.c2]
failure = {{ unavailability = 0.001, {window} }}
""")
    tm = build_time_model(load_scenario(overlay))
    assert sorted(tm.events.names[m.event] for m in tm.maintenance) == ["maintenance:c1", "maintenance:c2"]
    # both centres out together for 2 h every week: at least 8766 / 168 * 2 h of total outage a year
    with_m = simulate(tm, years=4, seed=1, chunk_years=4).to_dict()
    without = simulate(tiny_path, years=4, seed=1, chunk_years=4).to_dict()
    assert with_m["down_hours_per_year"]["mean"] >= 8766 / 168 * 2 - 2
    assert with_m["unreachable_call_rate"]["estimate"] > without["unreachable_call_rate"]["estimate"]
    bad = overlay.read_text().replace("period_hours = 168.0", "period_hours = 1.0", 1)
    msgs = problems_of(write(tmp_path, "bad.toml", bad))
    assert any("duration_hours = 2.0: must be <= period_hours (1)" in m for m in msgs), msgs
