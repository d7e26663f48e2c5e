"""Scenario files: TOML documents that describe a call network, validated in full.

A scenario may start from another with ``extends = "<bundled name or path>"`` and
override or add parts: tables merge key by key, any other value replaces the
inherited one, and ``remove = ["section.id", ...]`` deletes inherited entries.
Strategies and what-ifs are therefore small files.

Loading reports *every* problem at once (unknown keys, wrong types, undefined
references, values out of range, duplicate names, demands with no route, cycles of
``extends``) as a :class:`~model.scenario.schema.ScenarioError`; never a traceback.

Examples
--------
>>> from model.scenario.loader import load_scenario
>>> s = load_scenario("uk999")
>>> s.name
'uk999'
>>> sorted(s.services)
['ambulance', 'coastguard', 'fire', 'police']
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from model.scenario.files import MAX_SCENARIO_BYTES, InputFileError, read_input
from model.scenario.schema import NOVALUE, Problem, ScenarioError, convert, json_schema, spec
from model.units import HOURS_PER_YEAR

__all__ = [
    "BUNDLED_DIR",
    "Scenario",
    "ScenarioError",
    "bundled_scenarios",
    "generated_component_names",
    "generated_components",
    "load_scenario",
    "scenario_json_schema",
    "shared_causes",
    "standby_group",
]

BUNDLED_DIR = Path(__file__).resolve().parent.parent / "data"
STRATEGY_DIR = BUNDLED_DIR / "strategies"
INCIDENT_DIR = BUNDLED_DIR / "incidents"
ACCESS_TYPES = ("fixed", "mobile", "voip", "text_relay")
#: Most files in one ``extends`` chain.
MAX_EXTENDS = 32
#: Deepest nesting of tables and arrays in a scenario file (the schema needs 6).
MAX_NESTING = 24
_TOO_DEEP = f"tables or arrays are nested more than {MAX_NESTING} deep; the limit of scenario files"
# Limits of values (part of the schema: stated in the JSON Schema and in every error). They bound the work
# and memory of the engines; each is far beyond any real network (assumption: see the comment of each).
#: Longest duration (repair, delay, maintenance): about 11 years (assumption: a longer outage is a
#: decommissioning, not a repair; the time engine simulates years one at a time).
MAX_HOURS = 1e5
#: Highest failure rate of one component: one an hour on average (assumption: beyond that it is down, not
#: failing; gives the time engine a bounded number of outage intervals a year).
MAX_FAILURES_PER_YEAR = HOURS_PER_YEAR
#: Shortest period of planned maintenance (assumption: no plan maintains a component more than hourly).
MIN_MAINTENANCE_PERIOD_HOURS = 1.0
#: Weibull shapes allowed (assumption: k < 0.1 or k > 100 describe no repair process; their moments overflow).
MIN_WEIBULL_SHAPE, MAX_WEIBULL_SHAPE = 0.1, 100.0
#: Most attempts (caller redials, failover switch attempts) (assumption: no caller dials 100 times).
MAX_ATTEMPTS = 100
#: Longest time in seconds (handling, redial delay, patience, buddy delay): one day.
MAX_SECONDS = 86_400.0
#: Most calls a year (national or per area) and residents of an area: 10^10 (the UK has ~3.5e7 calls).
MAX_CALLS = 1e10
#: Most servers or queue places of one capacity, line or phase.
MAX_SERVERS = 10**7
#: Largest multiplier (arrival profiles, capacity factors).
MAX_FACTOR = 1e3
#: Most components a scenario may generate (uk999 has 240).
MAX_COMPONENTS = 20_000

# ----------------------------------------------------------------------------- schema


@dataclass(frozen=True, kw_only=True)
class DistributionSpec:
    """A duration distribution in hours: exponential, lognormal, weibull or fixed."""

    distribution: Literal["exponential", "lognormal", "weibull", "fixed"] = spec(
        doc="family of the distribution")
    mean_hours: float | None = spec(None, "mean (exponential, lognormal, weibull)", gt=0, le=MAX_HOURS)
    sd_hours: float | None = spec(None, "standard deviation (lognormal)", gt=0, le=MAX_HOURS)
    shape: float | None = spec(None, "Weibull shape k", ge=MIN_WEIBULL_SHAPE, le=MAX_WEIBULL_SHAPE)
    scale_hours: float | None = spec(None, "Weibull scale", gt=0, le=MAX_HOURS)
    value_hours: float | None = spec(None, "the fixed duration", ge=0, le=MAX_HOURS)
    source: str = spec("", "citation or 'assumption: <why>'")

    def mean(self) -> float:
        """Mean duration in hours."""
        if self.distribution == "fixed":
            return float(self.value_hours or 0.0)
        if self.mean_hours is not None:
            return float(self.mean_hours)
        if self.distribution == "weibull" and self.shape and self.scale_hours:
            try:
                return float(self.scale_hours * math.gamma(1 + 1 / self.shape))
            except OverflowError:
                return math.inf
        return math.nan


@dataclass(frozen=True, kw_only=True)
class Maintenance:
    """Planned maintenance: the component is down for a window every period (same every year)."""

    period_hours: float = spec(doc="time between the starts of two windows", ge=MIN_MAINTENANCE_PERIOD_HOURS,
                               le=MAX_HOURS)
    duration_hours: float = spec(doc="length of each window", ge=0, le=MAX_HOURS)
    offset_hours: float = spec(0.0, "start of the first window after the start of a year", ge=0,
                               le=HOURS_PER_YEAR)
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class LatentFailure:
    """Silent failures of an idle standby, found only by a periodic test or when it is needed.

    Tests happen every ``test_interval_hours`` from ``test_offset_hours`` on; a latent
    failure stays hidden (the component is down without anyone knowing) until the next
    test, or until the primary's failure makes the standby needed, then it is repaired.
    Each test makes the component unavailable for ``test_duration_hours`` and, with
    ``test_outage_probability``, causes an outage of its redundancy group (primary and
    standby) lasting ``test_outage``.
    """

    failures_per_year: float = spec(doc="rate of silent failures while idle", ge=0)
    test_interval_hours: float = spec(doc="time between two tests (failover exercises)", gt=0)
    test_offset_hours: float = spec(0.0, "time of the first test after the start of a year", ge=0)
    test_duration_hours: float = spec(0.0, "the component is unavailable during each test", ge=0)
    test_outage_probability: float = spec(0.0, "chance that a test itself causes an outage of the group",
                                          ge=0, le=1)
    test_outage: DistributionSpec | None = spec(None, "duration of an outage a test causes")
    repair: DistributionSpec | None = spec(None, "time to repair once found (default: the component's "
                                                 "repair)")
    source: str = spec("", "citation or 'assumption: <why>'")

    def mean_unavailability(self, default_repair_hours: float = 0.0) -> float:
        """Long-run share of time down from latent failures and tests (static engines).

        ``1 - (1 - e^{-λT})/(λT)`` undetected (≈ λT/2 for λT ≪ 1), plus the repair after
        each detection, ``(1 - e^{-λT}) r / T``, plus the test windows ``τ / T``. Detection
        on demand (earlier than the test) is ignored here: an upper bound.

        Examples
        --------
        >>> lat = LatentFailure(failures_per_year=8.766, test_interval_hours=100.0)
        >>> round(lat.mean_unavailability(), 6)   # λT = 0.1: 1 - (1 - e^-0.1)/0.1 ≈ λT/2
        0.048374
        """
        lam = self.failures_per_year / HOURS_PER_YEAR
        t = self.test_interval_hours
        x = lam * t
        hidden = 0.0 if x == 0 else 1.0 - (-math.expm1(-x)) / x
        r = self.repair.mean() if self.repair is not None else default_repair_hours
        found = -math.expm1(-x) * (r if math.isfinite(r) else 0.0) / t
        return min(1.0, hidden + found + self.test_duration_hours / t)

    def test_outage_unavailability(self) -> float:
        """Long-run share of time the group is down because a test went wrong: ``p E[D] / T``."""
        if self.test_outage_probability <= 0 or self.test_outage is None:
            return 0.0
        return min(1.0, self.test_outage_probability * self.test_outage.mean() / self.test_interval_hours)


@dataclass(frozen=True, kw_only=True)
class Failure:
    """Failure parameters of a component.

    The static engines use ``unavailability`` (or, when absent, the long-run value
    MTTR/(MTBF+MTTR) from ``failures_per_year`` and ``repair``); the time engine uses
    ``failures_per_year`` and ``repair``.
    """

    unavailability: float | None = spec(None, "steady-state probability of being down", ge=0, le=1)
    failures_per_year: float | None = spec(None, "rate of outages per year", ge=0, le=MAX_FAILURES_PER_YEAR)
    repair: DistributionSpec | None = spec(None, "time to restore service after an outage")
    drop_fraction: float = spec(1.0, "share of calls lost while down (1 = total outage)", ge=0, le=1)
    maintenance: Maintenance | None = spec(None, "planned-maintenance windows (time engine)")
    latent: LatentFailure | None = spec(None, "silent failures while idle, found by periodic tests or on "
                                              "demand")
    source: str = spec("", "citation or 'assumption: <why>'")

    def steady_unavailability(self) -> float:
        """Long-run unavailability: own failures, and latent failures and tests when given."""
        own = self.own_unavailability()
        if self.latent is None:
            return own
        mttr = self.repair.mean() if self.repair is not None else 0.0
        lat = self.latent.mean_unavailability(mttr)
        return 1.0 - (1.0 - own) * (1.0 - lat)

    def own_unavailability(self) -> float:
        """Unavailability from the component's own (revealed) failures only."""
        if self.unavailability is not None:
            return float(self.unavailability)
        if self.failures_per_year is not None and self.repair is not None:
            lam = self.failures_per_year / HOURS_PER_YEAR
            mttr = self.repair.mean()
            return lam * mttr / (1 + lam * mttr)
        return 0.0


@dataclass(frozen=True, kw_only=True)
class Capacity:
    """How much traffic a component can carry at once."""

    concurrent_calls: int | None = spec(None, "calls served at once (agents or trunks)", ge=0, le=MAX_SERVERS)
    queue_limit: int | None = spec(None, "calls that may wait at once beyond those served", ge=0,
                                   le=MAX_SERVERS)
    handling_time_s: float | None = spec(None, "mean time a call occupies a server, seconds", gt=0,
                                         le=MAX_SECONDS)
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class Service:
    """An emergency service callers ask for."""

    label: str = spec(doc="display name")
    share: float = spec(doc="share of genuine calls that ask for this service", ge=0, le=1)
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class Area:
    """A caller area (nation, region or police-force area)."""

    label: str = spec(doc="display name")
    nation: str = spec("", "UK nation")
    population: int = spec(doc="residents", ge=0, le=MAX_CALLS)
    annual_calls: float | None = spec(None, "calls per year; default: national calls by population share",
                                      ge=0, le=MAX_CALLS)
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class Access:
    """An access type (fixed, mobile, VoIP): its share of calls and originating networks."""

    share: float = spec(0.0, "share of calls made with this access type (0 when annual_calls is given)",
                        ge=0, le=1)
    annual_calls: float | None = spec(None, "genuine calls a year of this access type, spread over the "
                                            "areas by population, outside the shares (a demand class of its "
                                            "own)", ge=0)
    networks: dict[str, float] = spec(doc="originating network -> share of this access type's calls",
                                      ref="originating_networks")
    relay: str | None = spec(None, "relay centre the calls pass through before the call-handling platforms",
                             ref="relay_centres")
    link: Failure | None = spec(None, "failure of one area's access to one originating network")
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class Node:
    """A network element that can fail (originating network, platform, centre)."""

    label: str = spec(doc="display name")
    failure: Failure | None = spec(None, "failure parameters; none = never fails")
    capacity: Capacity | None = spec(None, "traffic capacity; none = unlimited")
    radio: Radio | None = spec(None, "mobile networks: masts' behaviour on failure (emergency roaming)")
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class Centre:
    """A BT call-handling centre (agents' site)."""

    label: str = spec(doc="display name")
    platforms: tuple[str, ...] = spec((), "platforms its agents can work on (default: all)",
                                      ref="call_handling_platforms")
    failure: Failure | None = spec(None, "failure parameters; none = never fails")
    capacity: Capacity | None = spec(None, "agents and handling time")
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class ControlRoom:
    """An emergency-authority control room."""

    label: str = spec(doc="display name")
    service: str = spec(doc="service it answers", ref="services")
    areas: dict[str, float] = spec(doc="area -> share of that area's calls for the service it answers",
                                   ref="areas")
    buddies: tuple[str, ...] = spec((), "control rooms that take its calls when it is unavailable",
                                    ref="control_rooms")
    buddy_delay_s: float = spec(0.0, "seconds before an unanswered call moves to a buddy", ge=0,
                                le=MAX_SECONDS)
    failure: Failure | None = spec(None, "failure parameters (room and its lines)")
    capacity: Capacity | None = spec(None, "call takers and handling time")
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class Link:
    """Extra links: every ``from`` element connects to every ``to`` element."""

    from_: tuple[str, ...] = spec(doc="element ids (or 'all:<section>')", key="from")
    to: tuple[str, ...] = spec(doc="element ids (or 'all:<section>')")
    failure: Failure | None = spec(None, "failure parameters of each generated link")
    shared: bool = spec(False, "one component for all generated links (a shared duct or switch)")
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class Topology:
    """Failure parameters of the links the standard call path generates."""

    interconnect: Failure | None = spec(None, "originating network -> platform link")
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class RedundancyGroup:
    """Alternatives with a failover policy; the first member is the primary."""

    members: tuple[str, ...] = spec(doc="component ids, primary first")
    policy: Literal["active-active", "automatic", "manual"] = spec(doc="how traffic moves")
    failover_delay: DistributionSpec | None = spec(None, "automatic standby: delay to switch")
    detection_delay: DistributionSpec | None = spec(None, "manual standby: time to decide to switch")
    switch_time: DistributionSpec | None = spec(None, "manual standby: duration of one switch attempt")
    switch_failure_probability: float = spec(0.0, "chance that one switch attempt fails", ge=0, le=1)
    max_attempts: int = spec(3, "switch attempts before giving up until repair", ge=1, le=MAX_ATTEMPTS)
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class CommonCauseGroup:
    """Components that fail together from one cause (beta factor or an explicit shared cause)."""

    members: tuple[str, ...] = spec(doc="component ids")
    beta: float | None = spec(None, "beta factor: share of each member's failures that hit all", ge=0, le=1)
    failure: Failure | None = spec(None, "an explicit shared cause (one configuration, one power feed)")
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class Site:
    """A site or shared-risk group (an exchange, a data centre, a power feed, a duct) that fails as a whole.

    Its ``members`` are component ids, generated ones included (``interconnect:<network>><platform>``,
    ``access:<area>:<access type>:<network>``); while the site is down they all are.
    """

    label: str = spec("", "display name")
    members: tuple[str, ...] = spec(doc="component ids housed at (or depending on) the site")
    failure: Failure = spec(doc="outages of the site as a whole")
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class RepairCrews:
    """Components whose repairs share ``crews`` crews: a failure waits when every crew is busy."""

    members: tuple[str, ...] = spec(doc="component ids (each with failures_per_year and repair)")
    crews: int = spec(doc="crews working at once", ge=1)
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class FallbackLine:
    """A line callers can turn to (101, 111, direct control-room numbers)."""

    number: str = spec(doc="what callers dial")
    label: str = spec("", "display name")
    services: tuple[str, ...] = spec(doc="services it can help with", ref="services")
    agents: int = spec(doc="call takers across the line", ge=0, le=MAX_SERVERS)
    handling_time_s: float = spec(doc="mean call duration, seconds", gt=0, le=MAX_SECONDS)
    normal_calls_per_hour: float = spec(0.0, "its own traffic", ge=0, le=MAX_CALLS)
    queue_limit: int = spec(0, "calls that may wait at once", ge=0, le=MAX_SERVERS)
    compliance: float = spec(doc="share of advised callers who use it", ge=0, le=1)
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class Traffic:
    """National call volumes and their shape over time."""

    annual_calls: float = spec(doc="999/112 calls a year, all kinds (> 0: the rates are shares of calls)",
                               gt=0, le=MAX_CALLS)
    genuine_share: float = spec(doc="share of calls that are genuine requests for help", gt=0, le=1)
    hourly_profile: tuple[float, ...] = spec((), "24 multipliers of the mean hourly rate (mean 1)", ge=0,
                                             le=MAX_FACTOR)
    weekly_profile: tuple[float, ...] = spec((), "7 multipliers Monday..Sunday (mean 1)", ge=0, le=MAX_FACTOR)
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class Callers:
    """How callers behave when a call fails."""

    redial_probability: float = spec(doc="chance a caller tries again after a failed attempt", ge=0, le=1)
    redial_delay_s: float = spec(doc="mean time before redialling, seconds", ge=0, le=MAX_SECONDS)
    max_attempts: int = spec(doc="attempts before giving up", ge=1, le=MAX_ATTEMPTS)
    patience_s: float = spec(doc="how long a genuine caller keeps trying, seconds", gt=0, le=MAX_SECONDS)
    advice_delay_hours: float = spec(2.0, "time from outage start to public advice to use fallbacks", ge=0,
                                     le=MAX_HOURS)
    redial_by_attempt: tuple[float, ...] = spec(
        (), "chance of another attempt after the 1st, 2nd, ... failed attempt (the last value repeats); "
            "replaces redial_probability for genuine callers when given")
    redial_delay_distribution: Literal["exponential", "lognormal"] = spec(
        "exponential", "law of the time between attempts (mean redial_delay_s)")
    redial_delay_cv: float = spec(1.0, "coefficient of variation of the time between attempts (lognormal)",
                                  gt=0, le=MAX_FACTOR)
    patience_distribution: Literal["fixed", "exponential", "lognormal"] = spec(
        "fixed", "law of each caller's patience (mean patience_s)")
    patience_cv: float = spec(1.0, "coefficient of variation of patience (lognormal)", gt=0, le=MAX_FACTOR)
    non_genuine_redial_probability: float | None = spec(
        None, "chance a silent/accidental/hoax caller tries again after a failed attempt; when given, "
              "non-genuine calls are simulated (they load capacity and appear in the counts)", ge=0, le=1)
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class Radio:
    """What a mobile network's masts do when it fails (emergency roaming)."""

    stops_radiating_on_failure: bool = spec(
        False, "masts stop radiating when the core or a site's backhaul fails, so handsets camp on another "
               "network for emergency calls; false: they keep radiating and handsets stay (no roaming)")
    roaming_delay_s: float = spec(0.0, "extra time for a handset to find another network, seconds", ge=0,
                                  le=MAX_SECONDS)
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class Effect:
    """What an incident phase does to one component."""

    component: str = spec(doc="component id")
    state: Literal["down", "degraded", "capacity"] = spec(doc="down, dropping calls, or capacity-limited")
    drop_fraction: float = spec(1.0, "share of calls lost (degraded)", ge=0, le=1)
    capacity_factor: float = spec(1.0, "multiplier of concurrent calls (capacity)", ge=0, le=MAX_FACTOR)
    queue_limit: int | None = spec(None, "queue limit during the phase", ge=0, le=MAX_SERVERS)
    extra_delay_s: float = spec(0.0, "added connection delay, seconds", ge=0, le=MAX_SECONDS)


@dataclass(frozen=True, kw_only=True)
class Phase:
    """A period of an incident."""

    start_hour: float = spec(doc="hours after the incident's start time", ge=0, le=HOURS_PER_YEAR)
    end_hour: float = spec(doc="hours after the incident's start time", ge=0, le=HOURS_PER_YEAR)
    label: str = spec("", "what happened")
    effects: tuple[Effect, ...] = spec((), "component effects")


@dataclass(frozen=True, kw_only=True)
class Incident:
    """A prescribed timeline of component states, for replays."""

    label: str = spec(doc="display name")
    date: str = spec("", "ISO date")
    start_clock: str = spec("00:00", "local clock time of hour 0 (HH:MM)")
    weekday: int = spec(0, "day of week of hour 0, Monday = 0", ge=0, le=6)
    advice_hour: float | None = spec(None, "hour public advice to use fallbacks began", ge=0,
                                     le=HOURS_PER_YEAR)
    phases: tuple[Phase, ...] = spec((), "phases in time order")
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class UncertainRange:
    """The range of an assumption, or of a group of assumptions that move together."""

    label: str = spec(doc="display name")
    paths: tuple[str, ...] = spec(doc="dotted key paths it covers; '*' matches every key of a table")
    mode: Literal["scale", "set"] = spec("scale", "a draw multiplies the nominal values, or sets them")
    low: float = spec(doc="low end (a factor for 'scale')")
    high: float = spec(doc="high end")
    distribution: Literal["uniform", "loguniform"] = spec("uniform", "spread over the range")
    assumption: str = spec("", "the assumption key(s) it covers (A_* in [sources])")
    why: str = spec(doc="why this range")
    follows: str = spec("", "for numbers derived from another one (staffing sized to a load): a key path of "
                            "another group; a draw that moves that number also multiplies these targets by "
                            "its drawn value over its nominal value")


@dataclass(frozen=True, kw_only=True)
class StrategyInfo:
    """Metadata of a strategy overlay."""

    label: str = spec(doc="display name")
    description: str = spec("", "what it changes")
    annual_cost_gbp: float | None = spec(None, "annual cost, pounds", ge=0, le=1e15)
    source: str = spec("", "citation or 'assumption: <why>'")


@dataclass(frozen=True, kw_only=True)
class ScenarioFile:
    """A nines scenario file (after merging ``extends``)."""

    name: str = spec(doc="identifier")
    title: str = spec("", "display title")
    description: str = spec("", "what this scenario represents")
    extends: str | None = spec(None, "bundled scenario name or path this file starts from")
    remove: tuple[str, ...] = spec((), "dotted ids of inherited entries to delete, e.g. 'links.x'")
    strategy: StrategyInfo | None = spec(None, "set when the file is a strategy overlay")
    sources: dict[str, str] = spec(default_factory=dict, doc="citation keys -> references")
    traffic: Traffic = spec(doc="national call volumes")
    callers: Callers | None = spec(None, "caller behaviour on failure")
    services: dict[str, Service] = spec(default_factory=dict, doc="services by id")
    areas: dict[str, Area] = spec(default_factory=dict, doc="caller areas by id")
    access: dict[str, Access] = spec(default_factory=dict, doc="access types: fixed, mobile, voip")
    originating_networks: dict[str, Node] = spec(default_factory=dict, doc="originating networks by id")
    relay_centres: dict[str, Node] = spec(default_factory=dict, doc="text relay centres by id")
    call_handling_platforms: dict[str, Node] = spec(default_factory=dict, doc="platforms by id")
    call_handling_centres: dict[str, Centre] = spec(default_factory=dict, doc="centres by id")
    control_rooms: dict[str, ControlRoom] = spec(default_factory=dict, doc="control rooms by id")
    topology: Topology = spec(default_factory=Topology, doc="generated links")
    links: dict[str, Link] = spec(default_factory=dict, doc="extra links by id")
    redundancy_groups: dict[str, RedundancyGroup] = spec(default_factory=dict, doc="failover groups")
    common_cause_groups: dict[str, CommonCauseGroup] = spec(default_factory=dict, doc="common causes")
    sites: dict[str, Site] = spec(default_factory=dict, doc="sites and shared-risk groups failing as a whole")
    repair_crews: dict[str, RepairCrews] = spec(default_factory=dict, doc="repair crews shared by components")
    fallback_lines: dict[str, FallbackLine] = spec(default_factory=dict, doc="101, 111 and direct lines")
    incidents: dict[str, Incident] = spec(default_factory=dict, doc="prescribed incidents")
    uncertainty: dict[str, UncertainRange] = spec(default_factory=dict,
                                                  doc="ranges of the assumptions, by group")


NODE_SECTIONS = ("originating_networks", "relay_centres", "call_handling_platforms", "call_handling_centres",
                 "control_rooms")
KIND_OF_SECTION = {
    "originating_networks": "originating_network",
    "relay_centres": "relay_centre",
    "call_handling_platforms": "call_handling_platform",
    "call_handling_centres": "call_handling_centre",
    "control_rooms": "control_room",
}


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated, immutable scenario.

    Build its graph with :func:`model.network.callnetwork.build_network`.
    """

    spec: ScenarioFile
    files: tuple[str, ...]  # the extends chain, base first
    raw: Mapping[str, Any] = field(repr=False)
    #: Warnings that do not make the scenario invalid (e.g. an overlay that keeps a stale ``source``).
    warnings: tuple[str, ...] = ()
    #: Which file set each key path (for messages about the scenario after loading).
    origins: Mapping[tuple[str, ...], str] = field(default_factory=dict, repr=False)

    def __getattr__(self, name: str) -> Any:
        if name in ("spec", "files", "raw", "warnings", "origins"):
            raise AttributeError(name)
        return getattr(self.spec, name)

    @property
    def digest(self) -> str:
        """SHA-256 of the merged document: identifies the exact scenario in provenance."""
        blob = json.dumps(self.raw, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()

    def origin(self, path: tuple[str, ...]) -> str:
        """The file that set the value at key ``path`` (the last file of the chain when unknown)."""
        for i in range(len(path), -1, -1):
            if path[:i] in self.origins:
                return self.origins[path[:i]]
        return self.files[-1] if self.files else "<scenario>"

    def error(self, path: tuple[str, ...], value: Any, message: str) -> ScenarioError:
        """A :class:`ScenarioError` about key ``path`` with the standard message (file, key, value, rule):
        what an engine raises, before any work, for a scenario it cannot run.

        Examples
        --------
        >>> s = load_scenario("uk999")
        >>> print(s.error(("callers", "max_attempts"), 7, "too many for this engine"))  # doctest: +ELLIPSIS
        1 problem in scenario:
          - ...uk999.toml: callers.max_attempts = 7: too many for this engine
        """
        return ScenarioError([Problem(self.origin(path), path, NOVALUE if value is None else value, message)])

    @property
    def label(self) -> str:
        if self.spec.strategy is not None:
            return self.spec.strategy.label
        return self.spec.title or self.spec.name

    def extend(self, overlay: Mapping[str, Any], where: str = "<overlay>") -> Scenario:
        """A new scenario with ``overlay`` (a parsed scenario table) merged on top."""
        origins: dict[tuple[str, ...], str] = dict(self.origins)
        if not origins:
            _record_origins(self.raw, (), self.files[-1] if self.files else "<scenario>", origins)
        if _depth(overlay) > MAX_NESTING:
            raise ScenarioError([Problem(where, (), NOVALUE, _TOO_DEEP)])
        notes = list(self.warnings)
        merged = _merge(copy.deepcopy(dict(self.raw)), dict(overlay), (), where, origins, notes)
        merged.pop("extends", None)
        problems: list[Problem] = []
        merged = _apply_remove(merged, where, problems)
        return _finish(merged, (*self.files, where), origins, problems, notes)


# ----------------------------------------------------------------------------- loading


def bundled_scenarios() -> list[str]:
    """Names of the scenarios shipped with nines (usable wherever a path is)."""
    return sorted(p.stem for p in BUNDLED_DIR.glob("*.toml"))


def _resolve(ref: str, relative_to: Path | None) -> Path:
    """The file ``ref`` names: a bundled name, or a path relative to the including file's folder
    (to the current directory only for the file named on the command line)."""
    p = Path(ref)
    if p.suffix == ".toml" or "/" in ref or "\\" in ref:
        if not p.is_absolute() and relative_to is not None:
            p = relative_to.parent / p
        return p
    for d in (BUNDLED_DIR, STRATEGY_DIR, INCIDENT_DIR):
        cand = d / f"{ref}.toml"
        if cand.exists():
            return cand
    return p if relative_to is None else relative_to.parent / p


def _depth(doc: Any) -> int:
    """Nesting depth of tables and arrays (iterative: safe for any depth)."""
    deepest, stack = 0, [(doc, 0)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        if d > MAX_NESTING:
            return d
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, d + 1) for v in node)
    return deepest


def _read_toml(path: Path, problems: list[Problem], shown: str) -> dict[str, Any] | None:
    if not path.exists() and not path.is_symlink():
        bundled = ", ".join(bundled_scenarios())
        problems.append(Problem(shown, (), NOVALUE,
                                f"no such file or bundled scenario (bundled: {bundled})"))
        return None
    try:
        data = read_input(path, limit=MAX_SCENARIO_BYTES, shown=shown)
    except InputFileError as exc:
        msg = str(exc).removeprefix(f"{shown}: ")
        if path.is_dir():
            msg += "; give a .toml scenario file"
        problems.append(Problem(shown, (), NOVALUE, msg))
        return None
    if b"\x00" in data:
        problems.append(Problem(shown, (), NOVALUE, "is a binary file, not TOML text"))
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        problems.append(Problem(shown, (), NOVALUE, "is not UTF-8 text"))
        return None
    if not text.strip():
        problems.append(Problem(shown, (), NOVALUE, "is empty; a scenario needs at least name and traffic"))
        return None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(Problem(shown, (), NOVALUE, f"is not valid TOML: {exc}"))
        return None
    except RecursionError:
        doc = None
    if doc is None or _depth(doc) > MAX_NESTING:
        problems.append(Problem(shown, (), NOVALUE, _TOO_DEEP))
        return None
    return doc


def _record_origins(doc: Any, path: tuple[str, ...], file: str, origins: dict) -> None:
    origins[path] = file
    if isinstance(doc, dict):
        for k, v in doc.items():
            _record_origins(v, (*path, k), file, origins)


def _merge(base: dict, over: dict, path: tuple[str, ...], file: str, origins: dict,
           notes: list[str] | None = None) -> dict:
    if notes is not None:
        notes.extend(stale_sources(base, over, path, file))
    for k, v in over.items():
        p = (*path, k)
        if isinstance(v, dict) and isinstance(base.get(k), dict) and not _new_family(base[k], v):
            origins[p] = file
            base[k] = _merge(base[k], v, p, file, origins, notes)
        else:
            if isinstance(base.get(k), dict):  # replaced, not merged: the old keys' origins go too
                for stale in [q for q in origins if q[: len(p)] == p]:
                    del origins[stale]
            base[k] = v
            _record_origins(v, p, file, origins)
    return base


def _new_family(old: dict, new: dict) -> bool:
    """An overlay that changes a distribution's family replaces the inherited table (no stale keys)."""
    return "distribution" in new and new["distribution"] != old.get("distribution")


def stale_sources(base: Mapping[str, Any], over: Mapping[str, Any], path: tuple[str, ...] = (),
                  file: str = "<overlay>") -> list[str]:
    """Warnings for values an overlay changes while the inherited ``source`` text stays.

    A table that cites a ``source`` describes *its* numbers; an overlay that changes one of them without
    giving a new ``source`` leaves a citation that describes a different value.

    Examples
    --------
    >>> stale_sources({"q": 0.1, "source": "Ofcom 2024"}, {"q": 0.2}, ("failure",), "mine.toml")
    ["mine.toml: failure.q = 0.2 replaces 0.1 but keeps the inherited source 'Ofcom 2024'; give a new source"]
    >>> stale_sources({"q": 0.1, "source": "Ofcom 2024"}, {"q": 0.2, "source": "assumption: test"})
    []
    """
    src = base.get("source")
    if not isinstance(src, str) or "source" in over:
        return []
    out = []
    for k, v in over.items():
        if k in base and not isinstance(v, dict) and not isinstance(base[k], dict) and base[k] != v:
            key = ".".join((*path, k))
            out.append(f"{file}: {key} = {v!r} replaces {base[k]!r} but keeps the inherited source "
                       f"{src!r}; give a new source")
    return out


def _apply_remove(doc: dict, file: str, problems: list[Problem]) -> dict:
    removals = doc.pop("remove", [])
    if not isinstance(removals, list):
        problems.append(Problem(file, ("remove",), removals, "must be a list of dotted ids"))
        return doc
    for i, dotted in enumerate(removals):
        parts = str(dotted).split(".")
        node: Any = doc
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or parts[-1] not in node:
            problems.append(Problem(file, ("remove", str(i)), dotted,
                                    "names nothing inherited; use 'section.id' of an existing entry"))
            continue
        del node[parts[-1]]
    return doc


def _load_chain(ref: str, relative_to: Path | None, seen: tuple[str, ...], problems: list[Problem],
                origins: dict, notes: list[str] | None = None
                ) -> tuple[dict[str, Any] | None, tuple[str, ...]]:
    path = _resolve(ref, relative_to)
    shown = str(path) if path.exists() else ref
    key = str(path.resolve()) if path.exists() else ref
    if len(seen) >= MAX_EXTENDS:
        problems.append(Problem(str(relative_to or shown), ("extends",), ref,
                                f"more than {MAX_EXTENDS} files in the extends chain; the limit of scenario "
                                "files"))
        return None, ()
    if key in seen:
        chain = " -> ".join([*seen, key])
        problems.append(Problem(shown, ("extends",), ref, f"cycle of extends: {chain}"))
        return None, ()
    doc = _read_toml(path, problems, shown)
    if doc is None:
        return None, ()
    parent = doc.get("extends")
    if parent is None:
        _record_origins(doc, (), shown, origins)
        return _apply_remove(doc, shown, problems), (shown,)
    if not isinstance(parent, str):
        problems.append(Problem(shown, ("extends",), parent, "must be a bundled name or a path (string)"))
        return None, ()
    n_before = len(problems)
    base, files = _load_chain(parent, path, (*seen, key), problems, origins, notes)
    if base is None:
        if len(problems) == n_before + 0:
            problems.append(Problem(shown, ("extends",), parent, "could not be loaded"))
        elif problems[-1].path == ():
            last = problems.pop()
            problems.append(Problem(shown, ("extends",), parent, f"{last.file} {last.message}"))
        return None, ()
    merged = _merge(base, doc, (), shown, origins, notes)
    merged.pop("extends", None)
    return _apply_remove(merged, shown, problems), (*files, shown)


def load_scenario(ref: str | Path) -> Scenario:
    """Load, merge (``extends``) and validate a scenario.

    Parameters
    ----------
    ref : str or Path
        A bundled name (see :func:`bundled_scenarios`) or a path to a ``.toml`` file.

    Returns
    -------
    Scenario
        Immutable and validated; ``spec`` holds the typed tables, ``digest`` identifies it.

    Raises
    ------
    ScenarioError
        With every problem found, each naming file, key path, value and what is allowed.

    Examples
    --------
    >>> s = load_scenario("uk999")
    >>> s.name, len(s.digest) > 0
    ('uk999', True)
    >>> load_scenario("no_such_scenario")
    Traceback (most recent call last):
    ...
    model.scenario.schema.ScenarioError: ...
    """
    problems: list[Problem] = []
    origins: dict[tuple[str, ...], str] = {}
    notes: list[str] = []
    doc, files = _load_chain(str(ref), None, (), problems, origins, notes)
    if doc is None:
        raise ScenarioError(problems)
    return _finish(doc, files, origins, problems, notes)


def _finish(doc: dict, files: tuple[str, ...], origins: dict, problems: list[Problem],
            notes: Sequence[str] = ()) -> Scenario:
    fallback = files[-1] if files else "<scenario>"

    def origin(path: tuple[str, ...]) -> str:
        for i in range(len(path), -1, -1):
            if path[:i] in origins:
                return origins[path[:i]]
        return fallback

    sf = convert(ScenarioFile, doc, (), problems, origin)
    if not problems:
        _check_references(sf, problems, origin)
    if problems:
        raise ScenarioError(problems)
    return Scenario(sf, files, doc, tuple(notes), dict(origins))


# ----------------------------------------------------------------------------- cross-checks


def _check_references(s: ScenarioFile, problems: list[Problem], origin) -> None:
    def bad(path: tuple[str, ...], value: Any, msg: str) -> None:
        problems.append(Problem(origin(path), path, value, msg))

    def ids(section: str) -> set[str]:
        return set(getattr(s, section))

    # duplicate names across sections (component names must be unique)
    owner: dict[str, str] = {}
    for section in (*NODE_SECTIONS, "links", "fallback_lines"):
        for name in getattr(s, section):
            if name in owner:
                bad((section, name), name, f"duplicate name: also defined in [{owner[name]}]")
            owner[name] = section
    for section in ("services", "areas", "access"):
        for name in getattr(s, section):
            if name in owner and section != "access":
                bad((section, name), name, f"duplicate name: also defined in [{owner[name]}]")
    components = set(owner) - set(s.fallback_lines)
    generated = generated_component_names(s)

    def check_refs(path: tuple[str, ...], values: Any, section: str) -> None:
        known = ids(section)
        for v in values:
            if v not in known:
                choices = ", ".join(sorted(known)[:12]) + (" ..." if len(known) > 12 else "")
                bad(path, v, f"undefined reference; must be one of [{section}]: {choices}")

    for a in s.access:
        if a not in ACCESS_TYPES:
            bad(("access", a), a, f"unknown access type; allowed: {', '.join(ACCESS_TYPES)}")
    for a, acc in s.access.items():
        check_refs(("access", a, "networks"), acc.networks, "originating_networks")
        total = sum(acc.networks.values())
        if acc.networks and abs(total - 1) > 1e-6:
            bad(("access", a, "networks"), round(total, 9), "network shares must add up to 1")
        for n, v in acc.networks.items():
            if not 0 <= v <= 1:
                bad(("access", a, "networks", n), v, "must be in [0, 1]")
    for a, acc in s.access.items():
        if acc.relay is not None:
            check_refs(("access", a, "relay"), [acc.relay], "relay_centres")
        if acc.annual_calls is not None and acc.share > 0:
            bad(("access", a, "share"), acc.share, "give share or annual_calls, not both (annual_calls are "
                "a demand class outside the shares)")
    shared = [acc for acc in s.access.values() if acc.annual_calls is None]
    if shared:
        total = sum(acc.share for acc in shared)
        if abs(total - 1) > 1e-6:
            bad(("access",), round(total, 9),
                "access shares must add up to 1 (access types without annual_calls)")
    if s.services:
        total = sum(sv.share for sv in s.services.values())
        if abs(total - 1) > 1e-6:
            bad(("services",), round(total, 9), "service shares must add up to 1")
    for c, centre in s.call_handling_centres.items():
        check_refs(("call_handling_centres", c, "platforms"), centre.platforms, "call_handling_platforms")
    for r, room in s.control_rooms.items():
        check_refs(("control_rooms", r, "service"), [room.service], "services")
        check_refs(("control_rooms", r, "areas"), room.areas, "areas")
        check_refs(("control_rooms", r, "buddies"), room.buddies, "control_rooms")
        for a, v in room.areas.items():
            if not 0 <= v <= 1:
                bad(("control_rooms", r, "areas", a), v, "must be in [0, 1]")
        if r in room.buddies:
            bad(("control_rooms", r, "buddies"), r, "a control room cannot be its own buddy")
    for name, link in s.links.items():
        for end in ("from", "to"):
            for v in getattr(link, "from_" if end == "from" else "to"):
                if v.startswith("all:"):
                    if v[4:] not in NODE_SECTIONS:
                        bad(("links", name, end), v, f"'all:' must name one of {', '.join(NODE_SECTIONS)}")
                elif v not in components:
                    bad(("links", name, end), v, "undefined reference; must be a node id or 'all:<section>'")
    for g, grp in s.redundancy_groups.items():
        for v in grp.members:
            if v not in components:
                bad(("redundancy_groups", g, "members"), v, "undefined component")
        if len(grp.members) < 2:
            bad(("redundancy_groups", g, "members"), list(grp.members), "needs at least two members")
        if grp.policy == "automatic" and grp.failover_delay is None:
            bad(("redundancy_groups", g, "failover_delay"), NOVALUE, "required for policy 'automatic'")
        if grp.policy == "manual" and (grp.detection_delay is None or grp.switch_time is None):
            bad(("redundancy_groups", g), NOVALUE,
                "policy 'manual' needs detection_delay and switch_time")
    for g, grp in s.common_cause_groups.items():
        for v in grp.members:
            if v not in components:
                bad(("common_cause_groups", g, "members"), v, "undefined component")
    generated = generated_components(s)
    for g, site in s.sites.items():
        for v in site.members:
            if v not in components and v not in generated:
                bad(("sites", g, "members"), v, "undefined component; must be a node or link id, "
                    "'interconnect:<network>><platform>' or 'access:<area>:<access type>:<network>'")
        if not site.members:
            bad(("sites", g, "members"), [], "needs at least one member")
        if site.failure.failures_per_year is None and site.failure.unavailability is None:
            bad(("sites", g, "failure"), NOVALUE, "give failures_per_year and repair (or an unavailability)")
    crew_of: dict[str, str] = {}
    failures = {n: f for n, f in _component_failures(s)}
    for g, crew in s.repair_crews.items():
        for v in crew.members:
            if v not in components and v not in generated:
                bad(("repair_crews", g, "members"), v, "undefined component")
            elif v in crew_of:
                bad(("repair_crews", g, "members"), v, f"already repaired by crew group {crew_of[v]!r}")
            else:
                crew_of[v] = g
                f = failures.get(v)
                if v in failures and (f is None or f.failures_per_year is None or f.repair is None):
                    bad(("repair_crews", g, "members"), v,
                        "a crew-repaired component needs failure.failures_per_year and failure.repair")
        if (grp.beta is None) == (grp.failure is None):
            bad(("common_cause_groups", g), NOVALUE, "give exactly one of beta or failure")
    for f, line in s.fallback_lines.items():
        check_refs(("fallback_lines", f, "services"), line.services, "services")
    for i_name, inc in s.incidents.items():
        hh, _, mm = inc.start_clock.partition(":")
        if not (len(hh) == len(mm) == 2 and hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
            bad(("incidents", i_name, "start_clock"), inc.start_clock,
                "must be a clock time HH:MM (00:00..23:59)")
        for k, ph in enumerate(inc.phases):
            if ph.end_hour < ph.start_hour:
                bad(("incidents", i_name, "phases", str(k), "end_hour"), ph.end_hour, "must be >= start_hour")
            for j, eff in enumerate(ph.effects):
                if eff.component not in components and eff.component not in generated:
                    bad(("incidents", i_name, "phases", str(k), "effects", str(j), "component"),
                        eff.component, "undefined component; must be a node or link id, an access link "
                        "'access:<area>:<access>:<network>' or an interconnect "
                        "'interconnect:<network>><platform>'")
    for path, dist in _distributions(s):
        _check_distribution(path, dist, bad)
    for path, t in _tables(s):
        if isinstance(t, Maintenance) and t.duration_hours > t.period_hours:
            bad((*path, "duration_hours"), t.duration_hours, f"must be <= period_hours ({t.period_hours:g})")
    for section in NODE_SECTIONS:
        for name, node in getattr(s, section).items():
            lat = node.failure.latent if node.failure is not None else None
            if lat is not None:
                where = (section, name, "failure", "latent")
                if lat.test_duration_hours > lat.test_interval_hours:
                    bad((*where, "test_duration_hours"), lat.test_duration_hours,
                        f"must be <= test_interval_hours ({lat.test_interval_hours:g})")
                if lat.test_outage_probability > 0 and lat.test_outage is None:
                    bad((*where, "test_outage"), NOVALUE,
                        "required when test_outage_probability > 0 (how long an outage a test causes lasts)")
                if lat.repair is None and node.failure.repair is None:
                    bad((*where, "repair"), NOVALUE,
                        "required when the component has no failure.repair (time to repair once found)")
    if s.traffic.hourly_profile and len(s.traffic.hourly_profile) != 24:
        bad(("traffic", "hourly_profile"), len(s.traffic.hourly_profile), "needs exactly 24 values")
    if s.traffic.weekly_profile and len(s.traffic.weekly_profile) != 7:
        bad(("traffic", "weekly_profile"), len(s.traffic.weekly_profile), "needs exactly 7 values")
    profiles = (("hourly_profile", s.traffic.hourly_profile), ("weekly_profile", s.traffic.weekly_profile))
    for key, prof in profiles:
        if any(v < 0 for v in prof):
            bad(("traffic", key), list(prof), "multipliers must be >= 0")
        elif prof and not any(v > 0 for v in prof):
            bad(("traffic", key), list(prof), "at least one multiplier must be > 0 (all 0 means no calls)")
    if s.areas and not any(a.population > 0 or (a.annual_calls or 0) > 0 for a in s.areas.values()):
        bad(("areas",), NOVALUE, "no calls: every area has population 0 and no annual_calls; the "
            "unreachable-call rate is undefined without calls")
    if not problems:
        _check_routes(s, bad)


def _component_failures(s: ScenarioFile):
    """(name, failure) of every declared node and link."""
    for section in NODE_SECTIONS:
        for name, node in getattr(s, section).items():
            yield name, node.failure
    for name, link in s.links.items():
        yield name, link.failure


def generated_component_names(s: ScenarioFile) -> set[str]:
    """Names of the links the standard call path generates (access links, interconnects, extra links).

    Examples
    --------
    >>> names = generated_component_names(load_scenario("uk999").spec)
    >>> "access:london:mobile:ee" in names, "interconnect:ee>bt_primary" in names
    (True, True)
    """
    out: set[str] = set()
    for a in s.areas:
        for t, acc in s.access.items():
            if acc.share > 0:
                out.update(f"access:{a}:{t}:{n}" for n, share in acc.networks.items() if share > 0)
    out.update(f"interconnect:{n}>{p}" for n in s.originating_networks for p in s.call_handling_platforms)
    for lid, link in s.links.items():
        if not link.shared:
            ends = [[x for e in link.from_ for x in (getattr(s, e[4:], {}) if e.startswith("all:") else [e])],
                    [x for e in link.to for x in (getattr(s, e[4:], {}) if e.startswith("all:") else [e])]]
            out.update(f"{lid}:{u}>{v}" for u in ends[0] for v in ends[1] if u != v)
    return out


def _tables(obj: Any, path: tuple[str, ...] = ()):
    """Every schema table (dataclass) in a scenario with its key path, depth first."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        yield path, obj
        for f in dataclasses.fields(obj):
            yield from _tables(getattr(obj, f.name), (*path, f.metadata.get("key") or f.name))
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from _tables(v, (*path, str(k)))
    elif isinstance(obj, tuple | list):
        for i, v in enumerate(obj):
            yield from _tables(v, (*path, str(i)))


def _distributions(s: ScenarioFile):
    """Every duration distribution of a scenario (repairs of every failure table, failover delays)."""
    for path, t in _tables(s):
        if isinstance(t, DistributionSpec):
            yield path, t


def _check_distribution(path, d: DistributionSpec, bad) -> None:
    need = {
        "exponential": ("mean_hours",),
        "lognormal": ("mean_hours", "sd_hours"),
        "fixed": ("value_hours",),
    }.get(d.distribution)
    if d.distribution == "weibull":
        if d.shape is None or (d.scale_hours is None and d.mean_hours is None):
            bad(path, NOVALUE, "weibull needs shape and scale_hours (or mean_hours)")
        return
    for k in need or ():
        if getattr(d, k) is None:
            bad((*path, k), NOVALUE, f"required for a {d.distribution} distribution")
            return
    if d.distribution == "weibull" and d.scale_hours is not None and d.mean_hours is not None:
        bad(path, NOVALUE, "weibull needs exactly one of scale_hours or mean_hours")
        return
    mean = d.mean()
    if not mean <= MAX_HOURS:
        bad(path, round(mean, 6), f"mean duration must be <= {MAX_HOURS:g} h (a limit of scenario files)")


def _check_routes(s: ScenarioFile, bad) -> None:
    """Every (area, service) with calls needs control rooms whose shares add to 1."""
    missing = [k for k in ("areas", "services", "access", "originating_networks", "control_rooms")
               if not getattr(s, k)]
    if missing:
        bad((missing[0],), NOVALUE, f"no demand: a scenario needs at least one entry in each of "
            f"[{'], ['.join(missing)}] (the unreachable-call rate is undefined without demand)")
        return
    if not any(sv.share > 0 for sv in s.services.values()) or not any(a.share > 0 for a in s.access.values()):
        bad(("services",), NOVALUE, "no demand: every service or every access type has share 0")
        return
    for a in s.areas:
        for sv, service in s.services.items():
            if service.share <= 0:
                continue
            total = sum(r.areas.get(a, 0.0) for r in s.control_rooms.values() if r.service == sv)
            if total == 0:
                bad(("control_rooms",), f"{a}/{sv}", "demand with no route: no control room answers "
                    f"{sv} calls from area {a!r} (give one an areas entry for it)")
            elif abs(total - 1) > 1e-6:
                bad(("control_rooms",), f"{a}/{sv}", f"control-room shares for {sv} in area {a!r} add up to "
                    f"{total:.6g}, must be 1")
    if not s.call_handling_platforms or not s.call_handling_centres:
        bad(("call_handling_platforms",), NOVALUE,
            "demand with no route: need at least one platform and centre")
    for a, acc in s.access.items():
        if (acc.share > 0 or (acc.annual_calls or 0) > 0) and not acc.networks:
            bad(("access", a, "networks"), NOVALUE, "demand with no route: no originating network")


def shared_causes(s: ScenarioFile) -> list[tuple[str, CommonCauseGroup]]:
    """Every common cause with its event name: ``ccf:<id>`` groups, then ``site:<id>`` sites."""
    out = [(f"ccf:{cid}", grp) for cid, grp in s.common_cause_groups.items()]
    out += [(f"site:{sid}", CommonCauseGroup(members=site.members, failure=site.failure, source=site.source))
            for sid, site in s.sites.items()]
    return out


def generated_components(s: ScenarioFile) -> set[str]:
    """Names of the components the standard call path generates (interconnects and access links)."""
    out = {f"interconnect:{n}>{p}" for n in s.originating_networks for p in s.call_handling_platforms}
    out |= {f"access:{a}:{t}:{n}" for a in s.areas for t, acc in s.access.items() for n in acc.networks}
    return out


def standby_group(s: ScenarioFile, component: str) -> tuple[str, RedundancyGroup] | None:
    """The first standby redundancy group (automatic or manual) in which ``component`` is a standby."""
    for gid, grp in s.redundancy_groups.items():
        if grp.policy != "active-active" and component in grp.members[1:]:
            return gid, grp
    return None


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files, generated from the dataclasses above."""
    out = json_schema(ScenarioFile)
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["title"] = "nines scenario file"
    return out
