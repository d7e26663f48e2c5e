"""Ranges of the uk999 assumptions and applying a draw of them (model/scenario/uncertainty.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from model.scenario.loader import BUNDLED_DIR, load_scenario
from model.scenario.schema import ScenarioError
from model.scenario.uncertainty import apply_uncertainty, uncertainty_groups

NOT_RANGED = {"A_POLICE_BUDDY", "A_AMB_BUDDY", "A_FIRE_BUDDY", "A_EQUAL_SPLIT", "A_CITY_SHARE", "A_OWN_ROOM",
              "A_CG_AREAS", "A_MOBILE_SHARES", "A_FIXED_SHARES", "A_VOIP_SHARE", "A_COASTGUARD_SHARE",
              "A_CENTRE_SHARES", "A_WEEKLY"}


def test_every_numeric_assumption_of_uk999_has_a_range():
    s = load_scenario("uk999")
    groups = uncertainty_groups(s)
    covered = {k for g in groups.values() for k in re.findall(r"A_[A-Z_]+", g.assumption)}
    declared = {k for k in s.sources if k.startswith("A_")}
    assert declared - covered - NOT_RANGED == set(), "assumptions without a range"
    text = (BUNDLED_DIR / "uk999.toml").read_text()
    for key in NOT_RANGED:
        assert key in text.split("[uncertainty.access_links]")[0].split("Ranges of the assumptions")[1]
    for g in groups.values():
        assert g.targets and g.why and g.low < g.high


def test_a_draw_scales_or_sets_each_group_and_keeps_values_valid():
    s = load_scenario("uk999")
    groups = uncertainty_groups(s)
    lo = apply_uncertainty(s, {name: float(g.ppf(0.0)) for name, g in groups.items()})
    hi = apply_uncertainty(s, {name: float(g.ppf(1.0)) for name, g in groups.items()})
    assert lo.spec.call_handling_platforms["bt_dr"].capacity.concurrent_calls == 24
    assert hi.spec.call_handling_platforms["bt_primary"].failure.failures_per_year == pytest.approx(0.055)
    rooms = s.spec.control_rooms
    for name, room in hi.spec.control_rooms.items():
        assert room.failure.failures_per_year == pytest.approx(5 * rooms[name].failure.failures_per_year)
        assert isinstance(room.capacity.concurrent_calls, int)
    for line in hi.spec.fallback_lines.values():
        assert 0 <= line.compliance <= 1  # 0.5 x 1.6 stays a share
    assert lo.digest != hi.digest != s.digest


def test_bad_ranges_name_file_and_key(tmp_path: Path):
    p = tmp_path / "bad.toml"
    p.write_text('extends = "uk999"\nname = "bad"\n[uncertainty.nothing]\nlabel = "x"\n'
                 'paths = ["access.*.nope"]\nlow = 2.0\nhigh = 1.0\nwhy = "test"\n')
    with pytest.raises(ScenarioError) as err:
        uncertainty_groups(load_scenario(p))
    msg = str(err.value)
    assert "uncertainty.nothing.paths.0 = 'access.*.nope': matches no number" in msg
    assert "uncertainty.nothing.high = 1.0: must be > low (2)" in msg
    with pytest.raises(ScenarioError, match="no assumption groups"):
        apply_uncertainty(load_scenario("uk999"), {"bogus": 1.0})


def test_room_call_takers_follow_the_genuine_share_they_are_sized_to():
    s = load_scenario("uk999")
    met = s.spec.control_rooms["police_metropolitan"].capacity.concurrent_calls  # 18, sized at share 0.5
    takers = [apply_uncertainty(s, v).spec.control_rooms["police_metropolitan"].capacity.concurrent_calls
              for v in ({"genuine_share": 0.8}, {"genuine_share": 0.8, "control_room_capacity": 0.9},
                        {"control_room_capacity": 1.5}, {"agents": 1.2})]
    assert takers == [round(met * 1.6), round(met * 0.9 * 1.6), round(met * 1.5), met]
    assert uncertainty_groups(s)["control_room_capacity"].to_dict()["follows"] == "traffic.genuine_share"


def test_a_follows_path_must_name_one_number(tmp_path: Path):
    p = tmp_path / "bad_follows.toml"
    p.write_text('extends = "uk999"\nname = "bad"\n[uncertainty.x]\nlabel = "x"\n'
                 'paths = ["traffic.genuine_share"]\nlow = 0.5\nhigh = 1.0\nwhy = "test"\n'
                 'follows = "control_rooms.*.capacity.concurrent_calls"\n')
    with pytest.raises(ScenarioError, match=r"uncertainty\.x\.follows = .*must name one non-zero number"):
        uncertainty_groups(load_scenario(p))


def test_the_corners_of_the_load_and_staffing_ranges_keep_normal_operation_runnable():
    # the time engine refuses a model that loses calls in normal operation (it would follow every call):
    # no draw of the uncertainty analysis may ask for one
    from model.sim.engine import as_time_model, check_normal_operation

    s = load_scenario("uk999")
    g = uncertainty_groups(s)
    for room in (g["control_room_capacity"].low, g["control_room_capacity"].high):
        for share in (g["genuine_share"].low, g["genuine_share"].high):
            v = apply_uncertainty(s, {"control_room_capacity": room, "genuine_share": share,
                                      "agents": g["agents"].low, "dr_capacity": g["dr_capacity"].low,
                                      "non_genuine": g["non_genuine"].high,
                                      "relay_volume": g["relay_volume"].high}, g)
            check_normal_operation(as_time_model(v), v)
