"""The time engine's view of a network: scenario or graph → the arrays the engine needs.

A :class:`TimeModel` is built once (:func:`build_time_model` from a scenario's
:class:`~model.network.callnetwork.CallNetwork`, :func:`time_model_from_graph` from a plain
graph whose edges carry ``mtbf``/``mttr``) and is immutable and picklable. It
holds

* the **event table**: every basic event that can change the network's state —
  each component's own failures, common-cause events (beta factor and explicit
  shared causes), the failover windows of standby groups, planned maintenance and
  the effects of prescribed incidents — with what each does while active (take
  its member components down, make them drop a share of calls, change a capacity,
  add delay) and a fixed random 64-bit hash (the state key of a set of active
  events is the sum of their hashes);
* the **outage process** of the random events (:mod:`model.processes.outages`) and the
  **switch policies** that derive failover windows;
* the **traffic**: genuine calls per hour of each demand, the arrival profile
  (:mod:`model.processes.profiles`), route classes (demands sharing source and targets route
  alike), capacity-limited nodes, fallback lines and caller behaviour;
* the **routing structure** used to find where calls go in a state
  (:mod:`model.sim.traffic`).

Modelling choices (also listed in ``assumptions`` of each model)
-----------------------------------------------------------------
* A component given only a steady ``unavailability`` q (no rate) gets an assumed
  exponential repair of ``assumed_repair_hours`` and the rate that keeps its
  long-run unavailability: ``λ = q / ((1 - q) MTTR)``.
* Beta factor β: one shared event at ``β × mean member rate`` repaired like a
  randomly chosen member; each member's own rate is scaled by ``1 - β``.
* Platforms, centres and originating networks carry every call, genuine or not
  (their load is genuine calls / ``genuine_share``); control rooms only genuine
  calls. A capacity with no ``queue_limit`` has an unlimited queue (calls are lost
  only when the load exceeds the servers).
* The arrival profile is the scenario's hourly × weekly profile (flat when none is
  given); every simulated year starts on Monday 00:00 of the profile.

Examples
--------
>>> from model.sim.timemodel import build_time_model
>>> tm = build_time_model("uk999")
>>> tm.n_events >= tm.process.n_events > 0
True
>>> round(float(tm.demand_rate.sum() * 8766) / 1e6, 2)   # genuine calls and texts a year, millions
17.52
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np

from model.network.callnetwork import CallNetwork, build_network
from model.network.compiled import CompiledNetwork, compile_graph, csr_from_lists
from model.processes.crews import CrewGroup
from model.processes.distributions import Distribution, Exponential, Fixed, parse_distribution
from model.processes.outages import Maintenance, Mixture, OutageProcess, PeriodicTest, SwitchPolicy
from model.processes.profiles import ArrivalProfile
from model.scenario.loader import KIND_OF_SECTION, Failure, Incident, Scenario, shared_causes, standby_group
from model.units import HOURS_PER_YEAR

__all__ = [
    "DEFAULT_ASSUMED_REPAIR_HOURS",
    "EVENT_KINDS",
    "MAX_OUTAGES_PER_YEAR",
    "CallerParams",
    "EventTable",
    "TimeModel",
    "build_time_model",
    "scenario_key",
    "time_model_from_graph",
]

DEFAULT_ASSUMED_REPAIR_HOURS = 4.0
EVENT_KINDS = ("failure", "common_cause", "failover", "maintenance", "incident", "latent", "test")
_HASH_SEED = 0x6E696E6573  # fixed: state keys must not depend on the run's seed


@dataclass(frozen=True)
class CallerParams:
    """How callers behave when an attempt fails (times in hours).

    Examples
    --------
    >>> CallerParams.from_scenario(None).max_attempts
    1
    """

    redial_probability: float = 0.0
    redial_delay_h: float = 30.0 / 3600
    max_attempts: int = 1
    patience_h: float = 600.0 / 3600
    advice_delay_h: float = 2.0
    #: chance of another attempt after the 1st, 2nd, ... failed attempt (last value repeats); () = constant
    redial_by_attempt: tuple[float, ...] = ()
    redial_delay_law: str = "exponential"  # or "lognormal" (with redial_delay_cv)
    redial_delay_cv: float = 1.0
    patience_law: str = "fixed"  # or "exponential", "lognormal" (with patience_cv)
    patience_cv: float = 1.0
    #: redial chance of non-genuine callers; None = non-genuine calls are not simulated
    non_genuine_redial_probability: float | None = None
    #: share of failing genuine callers who turn to a fallback line once advised (every line); None = each
    #: line's own ``compliance``
    compliance: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.redial_probability <= 1:
            raise ValueError("redial_probability must lie in [0, 1]")
        if (self.max_attempts < 1 or self.redial_delay_h < 0 or self.patience_h <= 0
                or self.advice_delay_h < 0):
            raise ValueError("need max_attempts >= 1, redial_delay >= 0, patience > 0, advice_delay >= 0")
        if any(not 0 <= p <= 1 for p in self.redial_by_attempt):
            raise ValueError("redial_by_attempt values must lie in [0, 1]")
        if self.redial_delay_law not in ("exponential", "lognormal"):
            raise ValueError("redial_delay_law must be 'exponential' or 'lognormal'")
        if self.patience_law not in ("fixed", "exponential", "lognormal"):
            raise ValueError("patience_law must be 'fixed', 'exponential' or 'lognormal'")
        for name in ("non_genuine_redial_probability", "compliance"):
            v = getattr(self, name)
            if v is not None and not 0 <= v <= 1:
                raise ValueError(f"{name} must lie in [0, 1]")

    @classmethod
    def from_scenario(cls, callers) -> CallerParams:
        if callers is None:
            return cls()
        ng = callers.non_genuine_redial_probability
        return cls(float(callers.redial_probability), float(callers.redial_delay_s) / 3600,
                   int(callers.max_attempts), float(callers.patience_s) / 3600,
                   float(callers.advice_delay_hours), tuple(float(p) for p in callers.redial_by_attempt),
                   str(callers.redial_delay_distribution), float(callers.redial_delay_cv),
                   str(callers.patience_distribution), float(callers.patience_cv),
                   None if ng is None else float(ng))


@dataclass(frozen=True, eq=False)
class EventTable:
    """Every basic event and what it does while active (one entry per event).

    ``structural`` events take their member components down; the others leave them
    up and make them drop ``drop`` of the calls through them, scale the capacity
    of their member nodes by ``cap_factor`` (with ``queue`` places, NaN = keep),
    or add ``delay_h`` hours to calls through them.
    """

    names: tuple[str, ...]
    kind: np.ndarray  # index into EVENT_KINDS
    member_ptr: np.ndarray
    members: np.ndarray  # component indices
    structural: np.ndarray
    drop: np.ndarray
    cap_factor: np.ndarray
    queue: np.ndarray
    delay_h: np.ndarray
    node_ptr: np.ndarray  # nodes an effect applies to (capacity, delay, drop of never-failing nodes)
    nodes: np.ndarray
    hash: np.ndarray  # uint64

    @property
    def n(self) -> int:
        return len(self.names)

    def member_list(self, e: int) -> np.ndarray:
        return self.members[self.member_ptr[e]: self.member_ptr[e + 1]]

    def node_list(self, e: int) -> np.ndarray:
        return self.nodes[self.node_ptr[e]: self.node_ptr[e + 1]]

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no event named {name!r}") from None


@dataclass(frozen=True, eq=False)
class TimeModel:
    """Everything the time engine needs, as arrays (see the module notes)."""

    net: CompiledNetwork
    events: EventTable
    process: OutageProcess  # random events: event ids 0 .. process.n_events - 1
    switch_policies: tuple[SwitchPolicy, ...]
    maintenance: tuple[Maintenance, ...]
    horizon: float
    # traffic
    demand_rate: np.ndarray  # (D,) genuine calls per hour (long-run mean)
    demand_class: np.ndarray  # (D,) route class
    demand_service: np.ndarray  # (D,) service index
    services: tuple[str, ...]
    class_source: np.ndarray  # (K,) node
    class_target_ptr: np.ndarray
    class_targets: np.ndarray  # nodes, primary first
    profile: ArrivalProfile  # mean rate 1: a multiplier of the demand rates
    callers: CallerParams
    # capacity-limited nodes
    cap_node: np.ndarray  # (Q,) node index
    cap_servers: np.ndarray  # (Q,) concurrent calls
    cap_queue: np.ndarray  # (Q,) queue places (inf = unlimited)
    cap_aht_h: np.ndarray  # (Q,) mean holding time, hours
    cap_scale: np.ndarray  # (Q,) all calls / genuine calls carried by the node
    # fallback lines
    fallback_names: tuple[str, ...]
    fallback_agents: np.ndarray
    fallback_aht_h: np.ndarray
    fallback_queue: np.ndarray
    fallback_normal_per_h: np.ndarray
    fallback_compliance: np.ndarray
    fallback_services: np.ndarray  # (L, S) bool
    # routing
    buddy_delay_h: np.ndarray  # (N,) delay before a call for this node's room moves to a buddy
    split_weight: np.ndarray  # (A,) relative share of an arc among its tail's valid out-arcs
    standby_primary: np.ndarray  # (G,) component of each standby group's primary (-1: never fails)
    standby_window: np.ndarray  # (G,) failover-window event of the group (-1: none)
    standby_nodes_ptr: np.ndarray
    standby_nodes: np.ndarray  # non-primary member nodes, excluded from routing while the primary serves
    standby_arcs_ptr: np.ndarray
    standby_arcs: np.ndarray
    incidents: dict[str, Incident] = field(default_factory=dict)
    incident_events: dict[str, tuple[tuple[int, float, float], ...]] = field(default_factory=dict)
    name: str = ""
    assumptions: tuple[str, ...] = ()
    tests: tuple[PeriodicTest, ...] = ()  # standbys with latent failures found by periodic tests
    crew_groups: tuple[CrewGroup, ...] = ()  # members' own failures repaired by shared crews (not in process)

    def crew_stream_names(self) -> list[str]:
        """Names keying the random streams of :attr:`crew_groups` (the first member's event)."""
        return [f"crews:{self.events.names[g.events[0]]}" for g in self.crew_groups]

    def test_stream_names(self) -> list[str]:
        """Names keying the random streams of :attr:`tests` (one per tested standby)."""
        return [self.events.names[t.event] for t in self.tests]
    #: non-genuine calls per genuine call ((1 - genuine_share) / genuine_share)
    non_genuine_ratio: float = 0.0
    #: (D,) index into :attr:`areas` of each demand's area (empty: the model has no areas, e.g. a graph)
    demand_area: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    areas: tuple[str, ...] = ()
    # emergency roaming (mobile demands whose network's masts stop radiating when it fails)
    # (D,) home network component and access link (-1: none / cannot roam), roaming delay; then the CSR of
    # sibling demands on the other mobile networks
    roam_home: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    roam_link: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    roam_delay_h: np.ndarray = field(default_factory=lambda: np.zeros(0))
    roam_ptr: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    roam_to: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    roam_cum: np.ndarray = field(default_factory=lambda: np.zeros(0))  # cumulative share within each row

    @property
    def can_roam(self) -> bool:
        """Some demand can move to another network's masts when its own stop radiating."""
        return bool(self.roam_to.size)

    @property
    def n_events(self) -> int:
        return self.events.n

    @property
    def n_demands(self) -> int:
        return self.net.n_demands

    @property
    def n_classes(self) -> int:
        return int(self.class_source.size)

    @property
    def has_traffic(self) -> bool:
        return bool(self.demand_rate.sum() > 0)

    def class_target_list(self, k: int) -> np.ndarray:
        return self.class_targets[self.class_target_ptr[k]: self.class_target_ptr[k + 1]]

    def peak_multiplier(self) -> float:
        """Largest value of the arrival-profile multiplier."""
        p = self.profile
        t = np.arange(0.0, p.period_hours, 0.25) + 0.125
        return float(np.max(p.rate_at(t)))


# ----------------------------------------------------------------------------- helpers


def _rate_and_repair(f: Failure | None, where: str, assumed_repair_hours: float,
                     assumptions: list[str]) -> tuple[float, Distribution | None]:
    """Failures per hour and repair distribution of a Failure table (0, None: never fails)."""
    if f is None:
        return 0.0, None
    if f.failures_per_year is not None and f.repair is not None:
        return f.failures_per_year / HOURS_PER_YEAR, parse_distribution(f.repair, where)
    q = f.own_unavailability()
    if q <= 0:
        return 0.0, None
    q = min(q, 1 - 1e-12)
    assumptions.append(f"{where}: only an unavailability ({q:g}) is given; assumed exponential repair of "
                       f"{assumed_repair_hours:g} h and rate q/((1-q) MTTR)")
    return q / ((1 - q) * assumed_repair_hours), Exponential(assumed_repair_hours)


def _hashes(n: int) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence(_HASH_SEED))
    return rng.integers(1, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True)


@dataclass
class _EventBuilder:
    names: list[str] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    members: list[list[int]] = field(default_factory=list)
    nodes: list[list[int]] = field(default_factory=list)
    structural: list[bool] = field(default_factory=list)
    drop: list[float] = field(default_factory=list)
    cap_factor: list[float] = field(default_factory=list)
    queue: list[float] = field(default_factory=list)
    delay_h: list[float] = field(default_factory=list)

    def add(self, name: str, kind: str, members: Sequence[int], *, nodes: Sequence[int] = (),
            drop: float = 1.0, cap_factor: float = 1.0, queue: float = math.nan, delay_h: float = 0.0,
            structural: bool | None = None) -> int:
        self.names.append(name)
        self.kind.append(EVENT_KINDS.index(kind))
        self.members.append([int(m) for m in members])
        self.nodes.append([int(n) for n in nodes])
        if structural is None:
            structural = drop >= 1.0
        self.structural.append(bool(structural))
        self.drop.append(0.0 if structural else float(drop))
        self.cap_factor.append(float(cap_factor))
        self.queue.append(float(queue))
        self.delay_h.append(float(delay_h))
        return len(self.names) - 1

    def table(self) -> EventTable:
        mptr, mem = csr_from_lists(self.members)
        nptr, nod = csr_from_lists(self.nodes)
        return EventTable(tuple(self.names), np.array(self.kind, dtype=np.int8), mptr, mem,
                          np.array(self.structural, dtype=bool), np.array(self.drop),
                          np.array(self.cap_factor), np.array(self.queue), np.array(self.delay_h),
                          nptr, nod, _hashes(len(self.names)))


def _routing_weights(net: CompiledNetwork, node_servers: np.ndarray) -> np.ndarray:
    """Split weight of each arc: its head's servers when the head has a capacity, else 1."""
    w = np.ones(net.n_arcs)
    head = node_servers[net.arc_dst]
    has = np.isfinite(head) & (head > 0)
    w[has] = head[has]
    return w


def _classes(net: CompiledNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    keys: dict[tuple, int] = {}
    demand_class = np.empty(net.n_demands, dtype=np.int64)
    for d in range(net.n_demands):
        key = (int(net.demand_source[d]), tuple(int(t) for t in net.targets(d)))
        demand_class[d] = keys.setdefault(key, len(keys))
    src = np.array([k[0] for k in keys], dtype=np.int64)
    tptr, tind = csr_from_lists([list(k[1]) for k in keys])
    return demand_class, src, tptr, tind


# ----------------------------------------------------------------------------- budget
#: Most outage intervals a simulated year may be expected to have (failures, common causes, maintenance
#: windows). Assumption: uk999 has about 74; 10^4 bounds a chunk of years to about a million intervals,
#: i.e. some hundred MB, on any worker.
MAX_OUTAGES_PER_YEAR = 10_000


def _failures_per_hour(process: OutageProcess) -> np.ndarray:
    """Failures per hour each event's sampler draws (exponential up time: its rate of up time)."""
    out = np.zeros(len(process.names))
    ups = process.up if process.up is not None else (None,) * len(process.names)
    for e, (rate, rep, up) in enumerate(zip(process.rate.tolist(), process.repair, ups, strict=True)):
        if up is None:
            out[e] = rate
        else:
            out[e] = 1.0 / max(float(up.mean) + max(float(getattr(rep, "mean", 0.0)), 0.0), 1e-300)
    return out


def _outages_per_year(process: OutageProcess, plans: Sequence[Maintenance], horizon: float
                      ) -> tuple[float, np.ndarray, np.ndarray]:
    per_event = horizon * _failures_per_hour(process)
    per_plan = np.array([horizon / p.period_hours for p in plans]) if plans else np.zeros(0)
    return float(per_event.sum() + per_plan.sum()), per_event, per_plan


def scenario_key(network: CallNetwork, event: str) -> tuple[str, ...]:
    """The scenario key path that sets the failures of a time-model event."""
    if event.startswith("ccf:"):
        return ("common_cause_groups", event[4:])
    if event.startswith("maintenance:"):
        return (*scenario_key(network, event[12:]), "maintenance")
    comp = network.components.get(event)
    kind = comp.kind if comp is not None else ""
    section = {v: k for k, v in KIND_OF_SECTION.items()}.get(kind)
    if section:
        return (section, event, "failure")
    if kind == "access_link":
        return ("access", event.split(":")[2], "link")
    if kind == "interconnect":
        return ("topology", "interconnect")
    return ("links", event.split(":")[0], "failure")


def _check_budget(process: OutageProcess, plans: Sequence[Maintenance], horizon: float,
                  refuse: Callable[[int | None, str], None]) -> None:
    total, per_event, per_plan = _outages_per_year(process, plans, horizon)
    if total <= MAX_OUTAGES_PER_YEAR:
        return
    names = [*process.names, *(f"maintenance #{i}" for i in range(len(plans)))]
    worst = int(np.argmax(np.r_[per_event, per_plan]))
    refuse(worst if worst < len(process.names) else None,
           f"the time engine would draw about {total:,.0g} failures a year (this element "
           f"{np.r_[per_event, per_plan][worst]:,.0g} of them: {names[worst]}); its limit is "
           f"{MAX_OUTAGES_PER_YEAR:,} a year: lower the failure rates (an unavailability near 1 given "
           "alone means a failure every moment; give failures_per_year and repair), lengthen maintenance "
           "periods, or use a static method")


# ----------------------------------------------------------------------------- scenario


def build_time_model(
    network: CallNetwork | Scenario | str | Path,
    *,
    assumed_repair_hours: float = DEFAULT_ASSUMED_REPAIR_HOURS,
    maintenance: Sequence[tuple[str, float, float, float]] = (),
    horizon: float = HOURS_PER_YEAR,
) -> TimeModel:
    """The time model of a scenario.

    Parameters
    ----------
    network : CallNetwork, Scenario, bundled name or path
    assumed_repair_hours : float
        Mean repair time given to components that only state an unavailability.
    maintenance : sequence of (component, period_hours, duration_hours, offset_hours)
        Planned-maintenance windows (the same every year) taking a component down, in
        addition to those the scenario gives (``failure.maintenance`` of a component).
    horizon : float
        Length of a simulated year, hours (8766 = 365.25 days).

    Examples
    --------
    >>> tm = build_time_model("uk999", maintenance=[("glasgow", 24 * 7, 1.0, 2.0)])
    >>> tm.events.names[tm.maintenance[0].event]
    'maintenance:glasgow'
    >>> [p.policy for p in tm.switch_policies]
    ['manual']
    """
    if not isinstance(network, CallNetwork):
        network = build_network(network)
    s = network.scenario.spec
    maintenance = [*maintenance, *(
        (name, c.failure.maintenance.period_hours, c.failure.maintenance.duration_hours,
         c.failure.maintenance.offset_hours)
        for name, c in network.components.items()
        if c.failure is not None and c.failure.maintenance is not None)]
    net = network.compiled
    if net.n_components == 0:
        raise network.scenario.error((), None, "no element has a failure table, so nothing can fail: the "
                                     "time engine has nothing to simulate (the static engines give 0)")
    assumptions: list[str] = []
    cidx = {c: i for i, c in enumerate(net.component_names)}
    nidx = {n: i for i, n in enumerate(net.node_names)}
    ev = _EventBuilder()
    rates: list[float] = []
    repairs: list[Distribution | Mixture] = []
    # own failures
    own_rate = np.zeros(net.n_components)
    own_repair: list[Distribution | None] = [None] * net.n_components
    for i, name in enumerate(net.component_names):
        comp = network.components[name]
        r, rep = _rate_and_repair(comp.failure, f"{name}.failure", assumed_repair_hours, assumptions)
        own_rate[i] = r
        own_repair[i] = rep
    # common causes (scale the members' own rates first)
    ccf_specs = []
    for ename, ccf in shared_causes(s):  # ccf:<id> groups, then site:<id> sites
        members = [cidx[m] for m in ccf.members if m in cidx]
        if ccf.beta is not None:
            mem_rates = [own_rate[m] for m in members if own_rate[m] > 0]
            reps = tuple(own_repair[m] for m in members if own_repair[m] is not None)
            rate = ccf.beta * float(np.mean(mem_rates)) if mem_rates else 0.0
            for m in members:
                own_rate[m] *= 1 - ccf.beta
            ccf_specs.append((ename, members, rate, Mixture(reps) if reps else Fixed(1.0), 1.0))
        elif ccf.failure is not None:
            r, rep = _rate_and_repair(ccf.failure, f"{ename}.failure", assumed_repair_hours, assumptions)
            ccf_specs.append((ename, members, r, rep or Fixed(1.0), ccf.failure.drop_fraction))
    for i, name in enumerate(net.component_names):
        f = network.components[name].failure
        ev.add(name, "failure", [i], drop=f.drop_fraction if f is not None else 1.0)
        rates.append(float(own_rate[i]))
        repairs.append(own_repair[i] or Fixed(1.0))
    for name, members, rate, rep, drop in ccf_specs:
        ev.add(name, "common_cause", members, drop=drop)
        rates.append(float(rate))
        repairs.append(rep)
    # repair crews: their members' own failures are generated by the crew queue, not the free process
    crew_groups = []
    for gid, crew in s.repair_crews.items():
        mem = [cidx[m] for m in crew.members if m in cidx and rates[cidx[m]] > 0]
        if not mem:
            continue
        crew_groups.append(CrewGroup(tuple(mem), tuple(rates[m] for m in mem), tuple(repairs[m] for m in mem),
                                     int(crew.crews)))
        for m in mem:
            rates[m] = 0.0
        assumptions.append(f"repair_crews.{gid}: {len(mem)} components share {crew.crews} crew(s); each "
                           "window starts after a warm-up with every member up")
    process = OutageProcess(tuple(ev.names), np.array(rates), tuple(repairs))
    # failover windows of standby groups; routing exclusions of standby members
    policies = []
    sb_primary, sb_window, sb_nodes, sb_arcs = [], [], [], []
    for gid, grp in s.redundancy_groups.items():
        if grp.policy == "active-active":
            continue
        primary = cidx.get(grp.members[0], -1)
        members = [cidx[m] for m in grp.members if m in cidx]
        window = -1
        if primary >= 0:
            prim_events = tuple(e for e in range(len(ev.names))
                                if ev.structural[e] and primary in ev.members[e])
            window = ev.add(f"failover:{gid}", "failover", members)
            where = f"redundancy_groups.{gid}"
            if grp.policy == "automatic":
                pol = SwitchPolicy(window, prim_events, "automatic",
                                   delay=parse_distribution(grp.failover_delay, f"{where}.failover_delay"))
            else:
                det = parse_distribution(grp.detection_delay, f"{where}.detection_delay")
                pol = SwitchPolicy(window, prim_events, "manual", detection=det,
                                   switch_time=parse_distribution(grp.switch_time, f"{where}.switch_time"),
                                   p_fail=grp.switch_failure_probability, max_attempts=grp.max_attempts)
            policies.append(pol)
        others = grp.members[1:]
        sb_primary.append(primary)
        sb_window.append(window)
        sb_nodes.append([nidx[m] for m in others if m in nidx])
        other_comp = {cidx[m] for m in others if m in cidx}
        sb_arcs.append([a for a in range(net.n_arcs) if int(net.arc_component[a]) in other_comp])
    # maintenance
    plans = []
    for comp, period, duration, offset in maintenance:
        if comp not in cidx:
            raise KeyError(f"maintenance: no component named {comp!r}")
        e = ev.add(f"maintenance:{comp}", "maintenance", [cidx[comp]])
        plans.append(Maintenance(e, float(period), float(duration), float(offset)))
    # latent failures of standbys, periodic tests and the outages tests cause
    tests = []
    for i, name in enumerate(net.component_names):
        f = network.components[name].failure
        lat = f.latent if f is not None else None
        if lat is None:
            continue
        where = f"{name}.failure.latent"
        e = ev.add(f"latent:{name}", "latent", [i])
        rep = parse_distribution(lat.repair, f"{where}.repair") if lat.repair is not None else own_repair[i]
        sb = standby_group(s, name)
        reveal: tuple[int, ...] = ()
        if sb is not None and sb[1].members[0] in cidx:
            p_idx = cidx[sb[1].members[0]]
            reveal = tuple(x for x in range(len(ev.names)) if ev.structural[x] and p_idx in ev.members[x]
                           and EVENT_KINDS[ev.kind[x]] in ("failure", "common_cause"))
        out_e, out_d = -1, None
        if lat.test_outage_probability > 0 and lat.test_outage is not None:
            members = [cidx[m] for m in sb[1].members if m in cidx] if sb is not None else [i]
            out_e = ev.add(f"test_outage:{name}", "test", members)
            out_d = parse_distribution(lat.test_outage, f"{where}.test_outage")
        if lat.test_duration_hours > 0:
            te = ev.add(f"test:{name}", "test", [i])
            plans.append(Maintenance(te, float(lat.test_interval_hours), float(lat.test_duration_hours),
                                     float(lat.test_offset_hours)))
        tests.append(PeriodicTest(e, lat.failures_per_year / HOURS_PER_YEAR, float(lat.test_interval_hours),
                                  float(lat.test_offset_hours), rep, reveal, out_e,
                                  float(lat.test_outage_probability), out_d))
    # capacity-limited nodes
    node_servers = np.full(net.n_nodes, np.inf)
    cap_rows = []
    genuine = s.traffic.genuine_share if s.traffic.genuine_share > 0 else 1.0
    sections = (("originating_networks", 1 / genuine), ("relay_centres", 1.0),
                ("call_handling_platforms", 1 / genuine),
                ("call_handling_centres", 1 / genuine), ("control_rooms", 1.0))
    buddy_delay = np.zeros(net.n_nodes)
    for section, scale in sections:
        for nid, node in getattr(s, section).items():
            if section == "control_rooms":
                buddy_delay[nidx[nid]] = node.buddy_delay_s / 3600
            cap = node.capacity
            if cap is None or cap.concurrent_calls is None:
                continue
            if cap.handling_time_s is None:
                assumptions.append(f"{section}.{nid}.capacity: no handling_time_s; capacity ignored")
                continue
            q = math.inf if cap.queue_limit is None else float(cap.queue_limit)
            cap_rows.append((nidx[nid], float(cap.concurrent_calls), q, cap.handling_time_s / 3600, scale))
            node_servers[nidx[nid]] = float(cap.concurrent_calls)
    # incidents as events (used by replays)
    incident_events: dict[str, tuple[tuple[int, float, float], ...]] = {}
    for iname, inc in s.incidents.items():
        rows = []
        for k, ph in enumerate(inc.phases):
            for j, eff in enumerate(ph.effects):
                comp = cidx.get(eff.component, -1)
                node = nidx.get(eff.component, -1)
                name = f"incident:{iname}:{k}:{j}:{eff.component}"
                mem = [comp] if comp >= 0 else []
                nodes = [node] if node >= 0 else []
                if eff.state == "down":
                    if comp < 0:
                        assumptions.append(f"{name}: {eff.component} is not a component; 'down' ignored")
                    e = ev.add(name, "incident", mem, nodes=nodes, structural=True,
                               delay_h=eff.extra_delay_s / 3600)
                elif eff.state == "degraded":
                    e = ev.add(name, "incident", mem, nodes=nodes, drop=min(eff.drop_fraction, 1.0),
                               structural=eff.drop_fraction >= 1.0 and comp >= 0,
                               delay_h=eff.extra_delay_s / 3600)
                else:
                    q = math.nan if eff.queue_limit is None else float(eff.queue_limit)
                    e = ev.add(name, "incident", mem, nodes=nodes, structural=False, drop=0.0,
                               cap_factor=eff.capacity_factor, queue=q, delay_h=eff.extra_delay_s / 3600)
                rows.append((e, float(ph.start_hour), float(ph.end_hour)))
        incident_events[iname] = tuple(rows)
    # traffic
    demand_class, csrc, ctptr, ctind = _classes(net)
    services = tuple(s.services)
    demand_service = np.array([services.index(d.service) for d in network.demands], dtype=np.int64)
    areas = tuple(s.areas)
    demand_area = np.array([areas.index(d.area) for d in network.demands], dtype=np.int64)
    tr = s.traffic
    profile = ArrivalProfile(daily=tr.hourly_profile or (1.0,) * 24, weekly=tr.weekly_profile or (1.0,) * 7,
                             mean_rate=1.0, source=tr.source)
    if not tr.hourly_profile and not tr.weekly_profile:
        assumptions.append("traffic: no hourly or weekly profile given; calls arrive at a constant rate")
    callers = CallerParams.from_scenario(s.callers)
    if s.callers is None:
        assumptions.append("callers: not given; a failed call is not redialled")
    lines = tuple(s.fallback_lines)
    fb = [s.fallback_lines[n] for n in lines]
    fb_services = np.array([[sv in line.services for sv in services] for line in fb], dtype=bool).reshape(
        len(fb), len(services))
    cap = np.array(cap_rows, dtype=float).reshape(-1, 5)

    def refuse(event: int | None, message: str) -> None:
        key = scenario_key(network, process.names[event]) if event is not None else ()
        if event is None and plans:
            names = [ev.names[p.event] for p in plans]
            rates = [horizon / p.period_hours for p in plans]
            key = scenario_key(network, names[int(np.argmax(rates))])
        raise network.scenario.error(key, None, message)

    _check_budget(process, plans, float(horizon), refuse)
    if not net.is_dag:
        raise network.scenario.error(("links",), None, "the time engine needs calls to run one way: the "
                                     "call network has a cycle")
    roam = _roaming(network, cidx)
    g_share = s.traffic.genuine_share
    return TimeModel(
        net=net,
        events=ev.table(),
        process=process,
        switch_policies=tuple(policies),
        maintenance=tuple(plans),
        horizon=float(horizon),
        demand_rate=net.demand_weight / HOURS_PER_YEAR,
        demand_class=demand_class,
        demand_service=demand_service,
        services=services,
        demand_area=demand_area,
        areas=areas,
        class_source=csrc,
        class_target_ptr=ctptr,
        class_targets=ctind,
        profile=profile,
        callers=callers,
        cap_node=cap[:, 0].astype(np.int64),
        cap_servers=cap[:, 1],
        cap_queue=cap[:, 2],
        cap_aht_h=cap[:, 3],
        cap_scale=cap[:, 4],
        fallback_names=lines,
        fallback_agents=np.array([float(x.agents) for x in fb]),
        fallback_aht_h=np.array([x.handling_time_s / 3600 for x in fb]),
        fallback_queue=np.array([float(x.queue_limit) for x in fb]),
        fallback_normal_per_h=np.array([float(x.normal_calls_per_hour) for x in fb]),
        fallback_compliance=np.array([float(x.compliance) for x in fb]),
        fallback_services=fb_services,
        buddy_delay_h=buddy_delay,
        split_weight=_routing_weights(net, node_servers),
        standby_primary=np.array(sb_primary, dtype=np.int64),
        standby_window=np.array(sb_window, dtype=np.int64),
        standby_nodes_ptr=csr_from_lists(sb_nodes)[0],
        standby_nodes=csr_from_lists(sb_nodes)[1],
        standby_arcs_ptr=csr_from_lists(sb_arcs)[0],
        standby_arcs=csr_from_lists(sb_arcs)[1],
        incidents=dict(s.incidents),
        incident_events=incident_events,
        name=s.name,
        assumptions=tuple(assumptions),
        tests=tuple(tests),
        crew_groups=tuple(crew_groups),
        non_genuine_ratio=(1 - g_share) / g_share if g_share > 0 else 0.0,
        **roam,
    )


def _roaming(network: CallNetwork, cidx: dict[str, int]) -> dict[str, np.ndarray]:
    """Emergency-roaming arrays: for each mobile demand whose network's masts stop radiating on failure,
    the same caller group's demands on the other mobile networks (weights: their shares)."""
    s = network.scenario.spec
    demands = network.demands
    d_n = len(demands)
    home = np.full(d_n, -1, dtype=np.int64)
    link = np.full(d_n, -1, dtype=np.int64)
    delay = np.zeros(d_n)
    rows: list[list[int]] = [[] for _ in range(d_n)]
    weights: list[list[float]] = [[] for _ in range(d_n)]
    radiating = {n: node.radio for n, node in s.originating_networks.items()
                 if node.radio is not None and node.radio.stops_radiating_on_failure}
    if radiating:
        by_key: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
        for i, d in enumerate(demands):
            by_key[(d.area, d.access, d.service, d.control_room)].append(i)
        for i, d in enumerate(demands):
            radio = radiating.get(d.network)
            if radio is None or d.access != "mobile":
                continue
            shares = s.access[d.access].networks
            for j in by_key[(d.area, d.access, d.service, d.control_room)]:
                if j != i:
                    rows[i].append(j)
                    weights[i].append(float(shares.get(demands[j].network, 0.0)))
            if rows[i]:
                home[i] = cidx.get(d.network, -1)
                link[i] = cidx.get(d.prereq[0], -1) if d.prereq else -1
                delay[i] = radio.roaming_delay_s / 3600
    ptr, to = csr_from_lists(rows)
    cum = np.zeros(to.size)
    for i in range(d_n):  # once per demand at build time
        w = np.asarray(weights[i], float)
        if w.size:
            cum[ptr[i]: ptr[i + 1]] = np.cumsum(w) / max(w.sum(), 1e-300)
    return {"roam_home": home, "roam_link": link, "roam_delay_h": delay, "roam_ptr": ptr, "roam_to": to,
            "roam_cum": cum}


# ----------------------------------------------------------------------------- plain graphs


def time_model_from_graph(
    graph: nx.Graph,
    source: Hashable,
    target: Hashable | Sequence[Hashable],
    *,
    repair: str = "exponential",
    up: str = "exponential",
    shared_clock: bool = False,
    horizon: float = HOURS_PER_YEAR,
) -> TimeModel:
    """The time model of a plain graph whose edges (and optionally nodes) carry ``mtbf``/``mttr`` (hours).

    Elements with ``mtbf`` and ``mttr`` fail and are repaired; elements with only
    ``q`` get the assumed repair of :data:`DEFAULT_ASSUMED_REPAIR_HOURS`; the others
    never fail.

    Parameters
    ----------
    repair, up : {"exponential", "fixed"}
        Law of repair and up times with the given means.
    shared_clock : bool
        Elements age only while no element is down ("no ageing while the system is
        down" — exact for a series system).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.Graph()
    >>> g.add_edge("s", "t", mtbf=990.0, mttr=10.0)
    >>> tm = time_model_from_graph(g, "s", "t")
    >>> tm.process.rate.tolist(), tm.process.repair[0].mean
    ([0.00101010101010101], 10.0)
    """
    for kind in (repair, up):
        if kind not in ("exponential", "fixed"):
            raise ValueError(f"repair/up = {kind!r} is not allowed; use 'exponential' or 'fixed'")
    g = graph.copy()
    for _u, _v, data in g.edges(data=True):
        data.setdefault("q", 0.0)
    net = compile_graph(g, source, target)
    assumptions: list[str] = []
    attrs: dict[str, dict] = {}
    for n, data in graph.nodes(data=True):
        attrs[str(n)] = data
    for u, v, data in graph.edges(data=True):
        attrs[f"{u}-{v}"] = data
    ev = _EventBuilder()
    rates, reps, ups = [], [], []
    law = {"exponential": Exponential, "fixed": Fixed}
    for i, name in enumerate(net.component_names):
        data = attrs.get(name, {})
        ev.add(name, "failure", [i])
        if "mtbf" in data and "mttr" in data:
            mtbf, mttr = float(data["mtbf"]), float(data["mttr"])
        elif float(data.get("q", 0.0)) > 0:
            q = min(float(data["q"]), 1 - 1e-12)
            mttr = DEFAULT_ASSUMED_REPAIR_HOURS
            mtbf = (1 - q) * mttr / q
            assumptions.append(f"{name}: only q given; assumed MTTR {mttr:g} h")
        else:
            rates.append(0.0)
            reps.append(Fixed(1.0))
            ups.append(None)
            continue
        reps.append(law[repair](mttr))
        if up == "exponential":
            rates.append(1.0 / mtbf)
            ups.append(None)
        else:
            rates.append(0.0)
            ups.append(Fixed(mtbf))
    clock = np.zeros(len(rates), dtype=np.int64) if shared_clock else np.arange(len(rates))
    process = OutageProcess(tuple(ev.names), np.array(rates), tuple(reps), tuple(ups), clock)

    def refuse(event: int | None, message: str) -> None:
        raise ValueError(f"graph {graph.name or ''}: {message}".replace("graph : ", "graph: "))

    _check_budget(process, (), float(horizon), refuse)
    z = np.zeros(0)
    zi = np.zeros(0, dtype=np.int64)
    e1 = np.zeros(1, dtype=np.int64)
    return TimeModel(
        net=net, events=ev.table(), process=process, switch_policies=(), maintenance=(),
        horizon=float(horizon),
        demand_rate=np.zeros(net.n_demands), demand_class=np.zeros(net.n_demands, dtype=np.int64),
        demand_service=np.zeros(net.n_demands, dtype=np.int64), services=("calls",),
        class_source=net.demand_source[:1].copy(), class_target_ptr=net.demand_target_ptr[:2].copy(),
        class_targets=net.targets(0).copy(), profile=ArrivalProfile.flat(1.0), callers=CallerParams(),
        cap_node=zi, cap_servers=z, cap_queue=z, cap_aht_h=z, cap_scale=z,
        fallback_names=(), fallback_agents=z, fallback_aht_h=z, fallback_queue=z, fallback_normal_per_h=z,
        fallback_compliance=z, fallback_services=np.zeros((0, 1), dtype=bool),
        buddy_delay_h=np.zeros(net.n_nodes), split_weight=np.ones(net.n_arcs),
        standby_primary=zi, standby_window=zi, standby_nodes_ptr=e1, standby_nodes=zi, standby_arcs_ptr=e1,
        standby_arcs=zi, name=str(graph.name or "graph"), assumptions=tuple(assumptions),
    )
