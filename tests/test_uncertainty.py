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
