"""The bundled UK reference network ``uk999``: its totals match the sources it cites.

Each test checks a number of ``model/data/uk999.toml`` against the reference notes
(../shared/reference/uk999-system.md, uk-areas-and-control-rooms.md,
traffic-and-capacity.md) or re-derives a derived number from the file's own inputs,
so that editing one input without its dependants fails here.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter

import numpy as np
import pytest

from model.network.callnetwork import build_network
from model.processes.failover import failover_unavailability
from model.scenario.loader import BUNDLED_DIR, DistributionSpec, Failure, Incident, load_scenario
from model.units import HOURS_PER_YEAR

UK_MID_2021 = 67_026_292  # ONS, Table A (S3, H)
ENGLAND_REGIONS_MID_2021 = 56_536_419  # Table A note 3 (derived; ONS "56,536,000")
ENGLISH_REGIONS = {"north_east", "north_west", "yorkshire_humber", "east_midlands", "west_midlands",
                   "east_of_england", "london", "south_east", "south_west"}
HOURLY_FRACTIONS_L = (  # traffic-and-capacity.md, "Diurnal / weekly profile" (L)
    0.035, 0.031, 0.026, 0.022, 0.018, 0.018, 0.018, 0.022, 0.031, 0.044, 0.057, 0.059,
    0.062, 0.062, 0.059, 0.057, 0.055, 0.053, 0.053, 0.051, 0.048, 0.044, 0.040, 0.035,
)  # fmt: skip
KEY = re.compile(r"\b(?:[SPFACK]\d{1,2}|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b")


@pytest.fixture(scope="module")
def s():
    return load_scenario("uk999")


@pytest.fixture(scope="module")
def net(s):
    return build_network(s)


@pytest.fixture(scope="module")
def text():
    return (BUNDLED_DIR / "uk999.toml").read_text()


def hours(clock: str) -> float:
    h, m = clock.split(":")
    return int(h) + int(m) / 60


def erlang_c_service_level(c: int, a: float, aht: float, t: float) -> float:
    """P(wait <= t) in M/M/c (textbook Erlang B recursion, then C = cB / (c - A(1 - B)))."""
    if c <= a:
        return 0.0
    b = 1.0
    for n in range(1, c + 1):
        b = a * b / (n + a * b)
    pw = c * b / (c - a * (1 - b))
    return 1 - pw * math.exp(-(c - a) * t / aht)


def min_agents(a: float, aht: float, t: float, target: float) -> int:
    c = 1
    while erlang_c_service_level(c, a, aht, t) < target:
        c += 1
    return c


def test_erlang_c_helper_matches_published_vector():
    # pyworkforce / R ErlangC test vector (traffic-and-capacity.md): A = 10, AHT 180 s, 14 agents, 20 s
    assert erlang_c_service_level(14, 10.0, 180.0, 20.0) == pytest.approx(0.88835, abs=5e-6)


# ----------------------------------------------------------------------------- volumes


def test_annual_calls_and_genuine_share(s):
    assert s.traffic.annual_calls == 35_000_000  # gov.uk 2021 (K1, H)
    assert s.traffic.genuine_share == 0.5  # "about half ... no request for help" (M)
    assert "K1" in s.traffic.source and "BEDFORD_TODAY" in s.traffic.source
    assert "39_800_000" in (BUNDLED_DIR / "uk999.toml").read_text()  # the alternative is noted


def test_service_shares_are_the_gov_uk_split_renormalised(s):
    shares = {k: v.share for k, v in s.services.items()}
    assert math.fsum(shares.values()) == pytest.approx(1.0, abs=1e-12)
    for name, published in (("police", 0.44), ("ambulance", 0.53), ("fire", 0.03)):
        assert shares[name] == pytest.approx(published / 1.005, abs=5e-6)
    assert 0 < shares["coastguard"] < 0.01  # "< 1 %"
    assert shares["police"] / shares["ambulance"] == pytest.approx(44 / 53, rel=1e-4)


def test_access_shares(s):
    assert s.access["mobile"].share == 0.74
    assert s.access["fixed"].share + s.access["voip"].share == pytest.approx(0.26, abs=1e-12)
    assert set(s.access["mobile"].networks) == {"ee", "vodafone", "vmo2", "three"}
    assert set(s.access["fixed"].networks) == {"bt_fixed", "other_fixed"}
    assert set(s.access["voip"].networks) == {"voip_aggregate"}
    assert set(s.originating_networks) == {"bt_fixed", "other_fixed", "ee", "vodafone", "vmo2", "three",
                                           "voip_aggregate"}


def test_profiles(s):
    hourly = np.array(s.traffic.hourly_profile)
    assert hourly == pytest.approx(24 * np.array(HOURLY_FRACTIONS_L), abs=1e-12)
    assert hourly.mean() == pytest.approx(1.0, abs=1e-12)
    weekly = np.array(s.traffic.weekly_profile)
    assert weekly.mean() == pytest.approx(1.0, abs=1e-12)
    assert weekly[5] == pytest.approx(7 * 0.16)  # Saturday, Copenhagen 16 %


# ----------------------------------------------------------------------------- areas


def test_populations_sum_to_the_uk_mid_2021_total(s):
    assert len(s.areas) == 12
    assert sum(a.population for a in s.areas.values()) == UK_MID_2021
    england = [a for a in s.areas.values() if a.nation == "England"]
    assert len(england) == 9 and set(s.areas) >= ENGLISH_REGIONS
    assert sum(a.population for a in england) == ENGLAND_REGIONS_MID_2021
    assert {a.nation for a in s.areas.values()} == {"England", "Wales", "Scotland", "Northern Ireland"}


def test_demand_weights_sum_to_annual_genuine_calls(s, net):
    # genuine voice calls by share, plus the text relay class with its own volume (20,000 a year)
    relay = s.access["text_relay"].annual_calls
    genuine = s.traffic.annual_calls * s.traffic.genuine_share + relay
    assert relay == 20_000
    assert net.compiled.total_weight == pytest.approx(genuine, rel=1e-12)
    by_service = {k: net.compiled.demand_weight[v].sum() for k, v in net.demand_groups("service").items()}
    for name, service in s.services.items():
        assert by_service[name] == pytest.approx(genuine * service.share, rel=1e-12)
    by_area = {k: net.compiled.demand_weight[v].sum() for k, v in net.demand_groups("area").items()}
    for name, area in s.areas.items():
        assert by_area[name] == pytest.approx(genuine * area.population / UK_MID_2021, rel=1e-12)
    by_access = {k: net.compiled.demand_weight[v].sum() for k, v in net.demand_groups("access").items()}
    assert by_access["mobile"] == pytest.approx(s.traffic.annual_calls * s.traffic.genuine_share * 0.74,
                                                rel=1e-12)
    assert by_access["text_relay"] == pytest.approx(relay, rel=1e-12)


# ----------------------------------------------------------------------------- BT


def test_seven_centres_and_two_platforms(s):
    centres = s.call_handling_centres
    assert len(centres) == 7  # K1 (H)
    labels = " ".join(c.label for c in centres.values())
    for town in ("Glasgow", "Dundee", "Nottingham", "Liverpool", "Bangor", "Portadown"):
        assert town in labels
    assert "not public" in centres["centre_7"].label
    assert set(s.call_handling_platforms) == {"bt_primary", "bt_dr"}
    assert s.call_handling_platforms["bt_dr"].capacity.queue_limit == 50  # SIMWOOD_2024 (M)
    for c in centres.values():
        assert 31 <= c.capacity.handling_time_s <= 39  # COURIER_80Y (M)


def test_bt_agents_meet_ofcom_at_the_new_year_peak(s):
    agents = [c.capacity.concurrent_calls for c in s.call_handling_centres.values()]
    need = min_agents(9000 * 35 / 3600, 35.0, 5.0, 0.95)  # 9,000 calls/h (WWC_2018), 95 % < 5 s (OFCOM_CHA)
    assert sum(agents) == need == 98
    assert s.call_handling_platforms["bt_primary"].capacity.concurrent_calls == sum(agents)
    assert s.call_handling_platforms["bt_dr"].capacity.concurrent_calls == sum(agents) // 2
    # the DR is below the Sunday-daytime load of 2023 (08:50-16:56), so it "struggled with demand"
    mean_erl = s.traffic.annual_calls / HOURS_PER_YEAR * 35 / 3600
    sunday_peak = mean_erl * max(s.traffic.hourly_profile[9:17]) * s.traffic.weekly_profile[6]
    assert s.call_handling_platforms["bt_dr"].capacity.concurrent_calls < sunday_peak


def test_platform_failures_are_calibrated_as_the_comments_derive(s, net):
    primary = s.call_handling_platforms["bt_primary"].failure
    assert primary.failures_per_year == pytest.approx(1 / (2023 - 1937), rel=1e-3)  # "nearly 90 years"
    assert primary.repair.mean() == pytest.approx(hours("21:09") - hours("06:24"))  # primary back ~21:09
    group = s.redundancy_groups["bt_platforms"]
    assert group.policy == "manual" and group.members == ("bt_primary", "bt_dr")
    q_primary = primary.steady_unavailability()
    q_failover = failover_unavailability(group, primary)
    beta = s.common_cause_groups["bt_platform_software"].beta
    assert 0.02 <= beta <= 0.10  # BETA_SIL range
    q_service = q_failover + beta * q_primary
    ofcom = 1e-5  # 99.999 % (OFCOM_CHA)
    assert q_primary > ofcom > q_service  # the target needs the DR, and is met on average with it
    assert q_failover == pytest.approx(4.9e-6, rel=0.05)  # as written in the file's comment
    assert q_service * 30.44 * 86400 == pytest.approx(15, abs=1)  # "15 s a month on average"
    events = {e.name: e.q for e in net.common_cause_events}
    assert events["failover:bt_platforms"] == pytest.approx(q_failover, rel=1e-12)


def test_switch_times_reproduce_the_2023_timeline(s):
    g = s.redundancy_groups["bt_platforms"]
    assert g.detection_delay.mean() == pytest.approx(hours("07:33") - hours("06:24"))  # 69 min
    to_dr = g.detection_delay.mean() + 2 * g.switch_time.mean()  # two attempts, the first failed
    assert to_dr == pytest.approx(hours("08:50") - hours("06:24"), abs=1e-3)  # 146 min
    assert g.switch_failure_probability == 0.5  # 1 failure in 2 attempts


def test_platforms_are_redundant_only_together(net):
    c = net.compiled
    idx = {n: i for i, n in enumerate(c.component_names)}
    assert not c.unreachable_demands({idx["bt_primary"]}).any()
    assert c.unreachable_demands({idx["bt_primary"], idx["bt_dr"]}).all()
    assert not c.unreachable_demands({idx["glasgow"]}).any()


# ----------------------------------------------------------------------------- control rooms


def test_control_room_counts_against_the_reference_tables(s, text):
    rooms = s.control_rooms
    by_service = Counter(r.service for r in rooms.values())
    assert by_service["police"] == 43 + 3 + 1  # 43 E&W forces (P2), Police Scotland's 3 sites (P11), PSNI
    assert by_service["ambulance"] == 29  # Table D arithmetic
    assert by_service["coastguard"] == 11  # NMOC + 10 CGOCs (C1, C5)

    def nations(r):
        return {s.areas[a].nation for a in r.areas}

    fire = [r for r in rooms.values() if r.service == "fire"]
    fire_by_nation = Counter(n for r in fire for n in nations(r))
    assert fire_by_nation["England"] == 32 + 1  # Home Office 32 (F5) + one sharing arrangement not found
    others = (fire_by_nation["Wales"], fire_by_nation["Scotland"], fire_by_nation["Northern Ireland"])
    assert others == (2, 3, 1)
    assert len(rooms) == 126
    # the gap to gov.uk's 144 (K1) is documented in the file
    assert 144 - len(rooms) == 18
    assert "126 control rooms are modelled vs the 144" in text and "18-room gap" in text


def test_police_forces_per_region_match_table_b(s):
    per_area = Counter(a for r in s.control_rooms.values() if r.service == "police" for a in r.areas)
    assert per_area == {"north_east": 3, "north_west": 5, "yorkshire_humber": 4, "east_midlands": 5,
                        "west_midlands": 4, "east_of_england": 6, "london": 2, "south_east": 5,
                        "south_west": 5, "wales": 4, "scotland": 3, "northern_ireland": 1}


def test_every_area_has_rooms_for_every_service_with_shares_adding_to_one(s):
    for a in s.areas:
        for sv in s.services:
            shares = [r.areas[a] for r in s.control_rooms.values() if r.service == sv and a in r.areas]
            assert shares, (a, sv)
            assert math.fsum(shares) == pytest.approx(1.0, abs=1e-9), (a, sv)


def test_known_populations_set_the_shares(s):
    rooms = s.control_rooms
    assert rooms["police_northumbria"].areas["north_east"] == pytest.approx(1_500_000 / 2_646_772, abs=1e-6)
    assert rooms["police_greater_manchester"].areas["north_west"] == pytest.approx(2_800_000 / 7_422_295,
                                                                                   abs=1e-6)
    assert rooms["amb_las_newham"].areas["london"] == 0.5  # "handles half" (A4)
    se = rooms["amb_scas_bicester"].areas["south_east"] + rooms["amb_scas_otterbourne"].areas["south_east"]
    assert se == pytest.approx(4.0 / (4.0 + 4.6 + 0.14), abs=1e-6)  # BMJ Open populations (A3)


def test_buddies(s):
    rooms = s.control_rooms
    for name, r in rooms.items():
        for b in r.buddies:
            assert rooms[b].service == r.service, (name, b)
        if r.service == "ambulance" and not name.startswith(("amb_sas", "amb_nias")):
            assert r.buddy_delay_s == 300  # inter-trust overflow after 5 minutes (IRP_2023)
        if r.service == "coastguard":
            assert r.buddies == (("cg_dover",) if name == "cg_nmoc" else ("cg_nmoc",))
    lonely = sorted(n for n, r in rooms.items() if not r.buddies)
    assert lonely == ["amb_nias_belfast", "fire_nifrs_lisburn", "police_psni"]  # none identified (documented)


def test_room_capacity_follows_its_stated_rule(s, net):
    calls = Counter()
    for d in net.demands:
        calls[d.control_room] += d.annual_calls
    peak_hour, peak_day = max(s.traffic.hourly_profile), max(s.traffic.weekly_profile)
    for name, r in s.control_rooms.items():
        ht = r.capacity.handling_time_s
        load = calls[name] / HOURS_PER_YEAR * peak_hour * peak_day * ht / 3600
        need = max(2, min_agents(load, ht, 10.0, 0.9))  # 90 % in 10 s (POLICE_TARGET)
        assert r.capacity.concurrent_calls == need, name


# ----------------------------------------------------------------------------- fallbacks, callers, incident


def test_fallback_lines(s):
    f = s.fallback_lines
    assert f["nhs_111"].number == "111" and f["police_101"].number == "101"
    assert f["nhs_111"].handling_time_s == 900  # ~15 min (NUFFIELD_111)
    assert f["nhs_111"].normal_calls_per_hour == 54_000 / 24  # 52-56 k a day (NHS_TRACKER)
    for line in f.values():
        if line.normal_calls_per_hour:
            assert line.agents == math.ceil(line.normal_calls_per_hour * line.handling_time_s / 3600 / 0.9)
    assert f["police_101"].normal_calls_per_hour == pytest.approx(496_000 / 0.04 * 1.2 * 45 / 30 / 8766,
                                                                  abs=0.5)
    assert f["sfrs_direct"].agents == sum(r.capacity.concurrent_calls for n, r in s.control_rooms.items()
                                          if n.startswith("fire_sfrs"))


def test_callers(s, text):
    c = s.callers
    assert c.redial_probability == 0.85 and "UNCALIBRATED" in text
    assert c.advice_delay_hours == pytest.approx(hours("08:30") - hours("06:24"))


def test_incident_2023_follows_ofcom_timeline(s):
    inc: Incident = s.incidents["bt_2023_06_25"]
    assert (inc.date, inc.start_clock, inc.weekday) == ("2023-06-25", "06:24", 6)  # a Sunday
    assert inc.advice_hour == pytest.approx(hours("08:30") - hours("06:24"))
    t0 = hours(inc.start_clock)
    bounds = [t for p in inc.phases for t in (p.start_hour, p.end_hour)]
    expected = [0.0, hours("07:33") - t0, hours("07:33") - t0, hours("08:50") - t0,
                hours("08:50") - t0, hours("16:56") - t0]
    assert bounds == pytest.approx(expected, abs=1e-5)
    states = [{e.component: e for e in p.effects} for p in inc.phases]
    assert states[0]["bt_primary"].state == "degraded" and 0 < states[0]["bt_primary"].drop_fraction < 1
    assert states[1]["bt_primary"].state == states[1]["bt_dr"].state == "down"
    assert states[2]["bt_primary"].state == "down" and states[2]["bt_dr"].queue_limit == 50
    fire_delays = {k: e.extra_delay_s for k, e in states[2].items() if k.startswith("fire_")}
    assert set(fire_delays.values()) == {30} and len(fire_delays) == 39


# ----------------------------------------------------------------------------- sources


def _walk(obj, path, covered):
    """Yield (path, object, has_number, covered) for every scenario dataclass."""
    if dataclasses.is_dataclass(obj):
        own = getattr(obj, "source", None)
        numbers = False
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if (isinstance(v, int | float) and not isinstance(v, bool)) or (
                    isinstance(v, dict) and any(isinstance(x, int | float) for x in v.values())):
                numbers = True
        yield path, obj, numbers, covered
        inner = covered or bool(own)
        for f in dataclasses.fields(obj):
            yield from _walk(getattr(obj, f.name), (*path, f.name), inner)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, (*path, k), covered)
    elif isinstance(obj, tuple):
        for i, v in enumerate(obj):
            yield from _walk(v, (*path, str(i)), covered)


def test_every_number_bearing_entity_cites_a_source(s):
    missing = []
    for path, obj, numbers, covered in _walk(s.spec, (), False):
        if not numbers or not hasattr(obj, "source"):
            continue
        # a repair distribution is covered by its failure's source; phases have no source field
        if obj.source or (covered and isinstance(obj, DistributionSpec)):
            continue
        missing.append(".".join(path))
    assert not missing, missing
    # every failure and capacity cites something of its own
    for path, obj, _n, _c in _walk(s.spec, (), False):
        if isinstance(obj, Failure):
            assert obj.source, ".".join(path)


def test_cited_keys_exist_and_assumptions_say_so(s, text):
    keys = set(s.sources)
    body = text.split("[sources]", 1)[1]
    cited = set(KEY.findall(text.split("[sources]", 1)[0])) | set(KEY.findall(
        body.split("# Traffic", 1)[1]))
    undefined = sorted(k for k in cited if k not in keys)
    assert not undefined, undefined
    # every source (key) is used, and every assumption key says what it is
    unused = sorted(k for k in keys if k not in cited and not any(k in v for v in s.sources.values()))
    assert not unused, unused
    for k, v in s.sources.items():
        if k.startswith("A_"):
            assert v.startswith(("assumption", "derived")), k
        else:
            assert "http" in v or "no URL" in v, k
    # each entity's own source string names a key, a URL or an assumption
    for path, obj, _numbers, _c in _walk(s.spec, (), False):
        src = getattr(obj, "source", "")
        if src:
            assert KEY.search(src) or "http" in src or "assumption" in src, ".".join(path)
