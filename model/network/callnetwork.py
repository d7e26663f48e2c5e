"""The call network: a scenario built into a networkx graph with components and demands.

The call path is callers → originating networks → call-handling platforms →
call-handling centres → control rooms (then buddy control rooms). Each caller group
(area × access type) reaches the originating networks its calls use; every
originating network hands calls to every platform over interconnect links; every
platform serves the centres whose agents work on it; and every centre transfers
calls to any control room.

A *demand* is the calls of one caller group, on one originating network, for one
service, to one control room (the share of the area it serves), with its buddy
rooms as alternatives. Its weight is genuine calls per year.

Examples
--------
>>> from model.network.callnetwork import build_network
>>> net = build_network("uk999")
>>> net.graph.number_of_nodes() > 100
True
>>> compiled = net.compile()
>>> round(compiled.total_weight / 1e6, 2)   # genuine voice calls (35 m x 0.5) + 20,000 emergency texts
17.52
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import networkx as nx
import numpy as np

from model.network.compiled import CompiledNetwork, csr_from_lists
from model.processes.crews import crew_unavailability
from model.processes.failover import failover_unavailability
from model.scenario.loader import (
    KIND_OF_SECTION,
    MAX_COMPONENTS,
    NODE_SECTIONS,
    Failure,
    Scenario,
    load_scenario,
    shared_causes,
    standby_group,
)
from model.scenario.schema import NOVALUE
from model.units import HOURS_PER_YEAR

__all__ = ["LAYERS", "CallNetwork", "Component", "Demand", "build_network"]

LAYERS = {
    "caller_group": 0,
    "originating_network": 1,
    "relay_centre": 1,
    "call_handling_platform": 2,
    "call_handling_centre": 3,
    "control_room": 4,
}


@dataclass(frozen=True)
class Component:
    """Anything that can fail: a node or a link (or a group of links sharing one cause)."""

    name: str
    kind: str
    label: str
    q: float
    failure: Failure | None


@dataclass(frozen=True)
class Demand:
    """Calls from one caller group on one network for one service to one control room."""

    area: str
    access: str
    network: str
    service: str
    control_room: str
    targets: tuple[str, ...]
    annual_calls: float
    prereq: tuple[str, ...]
    via: str = ""  # a relay centre the calls start from (the network is then a prerequisite)

    @property
    def source(self) -> str:
        """The node the calls' path starts from: the relay centre, else the originating network."""
        return self.via or self.network

    @property
    def caller_group(self) -> str:
        return f"{self.area}:{self.access}"

    @property
    def name(self) -> str:
        return f"{self.area}:{self.access}:{self.network}:{self.service}>{self.control_room}"


@dataclass(frozen=True)
class CommonCauseEvent:
    """A basic event that takes down several components at once."""

    name: str
    kind: str  # "beta", "shared" or "failover"
    q: float
    members: tuple[str, ...]
    label: str = ""  # display name, in words
    members_label: str = ""  # the members' display names, in words


class CallNetwork:
    """A scenario as a graph: query ``graph`` with networkx, or :meth:`compile` it for the engines."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        s = scenario.spec
        g = nx.DiGraph(name=s.name)
        comps: dict[str, Component] = {}
        # elements an incident names are components even without failure data (they never fail at random,
        # but a replay can take them down or degrade them)
        named = {eff.component for inc in s.incidents.values() for ph in inc.phases for eff in ph.effects}

        def add_component(name: str, kind: str, label: str, failure: Failure | None) -> str | None:
            if failure is None and name not in named:
                return None
            if name not in comps:
                q = failure.steady_unavailability() if failure is not None else 0.0
                comps[name] = Component(name, kind, label, q, failure)
            return name

        for section in NODE_SECTIONS:
            kind = KIND_OF_SECTION[section]
            for nid, node in getattr(s, section).items():
                comp = add_component(nid, kind, node.label, node.failure)
                attrs = dict(kind=kind, label=node.label, layer=LAYERS[kind], component=comp)
                if section == "control_rooms":
                    attrs["service"] = node.service
                g.add_node(nid, **attrs)
        # caller groups and access links
        demands: list[Demand] = []
        area_calls = self._area_calls()
        genuine = s.traffic.genuine_share
        pop_total = sum(ar.population for ar in s.areas.values())
        for a, area in s.areas.items():
            for t, acc in s.access.items():
                if acc.annual_calls is not None:  # a demand class of its own: genuine calls by population
                    group_calls = acc.annual_calls * area.population / pop_total if pop_total else 0.0
                    group_genuine = group_calls
                else:
                    group_calls = area_calls[a] * acc.share
                    group_genuine = group_calls * genuine
                if group_calls <= 0:
                    continue
                cg = f"{a}:{t}"
                g.add_node(cg, kind="caller_group", label=f"{area.label} {t}", layer=0, component=None,
                           area=a, access=t, annual_calls=group_calls)
                if acc.relay is not None:
                    g.add_edge(cg, acc.relay, component=None)
                for n, share in acc.networks.items():
                    if share <= 0:
                        continue
                    net_label = s.originating_networks[n].label if n in s.originating_networks else n
                    link = add_component(f"access:{a}:{t}:{n}", "access_link",
                                         f"{area.label} {t} callers' access to {net_label}", acc.link)
                    g.add_edge(cg, n, component=link, share=share)
                    via_net = n if acc.relay is not None else None  # relayed: the network is in series
                    prereq = tuple(x for x in (link, via_net) if x and x in comps)
                    for sv, service in s.services.items():
                        if service.share <= 0:
                            continue
                        for r, room in s.control_rooms.items():
                            cr_share = room.areas.get(a, 0.0) if room.service == sv else 0.0
                            if cr_share <= 0:
                                continue
                            calls = group_genuine * share * service.share * cr_share
                            demands.append(Demand(a, t, n, sv, r, (r, *room.buddies), calls, prereq,
                                                  acc.relay or ""))
        # originating network -> platform (interconnect), platform -> centre, centre -> control room
        for rc in s.relay_centres:  # relay centres hand their calls to every platform
            for p in s.call_handling_platforms:
                g.add_edge(rc, p, component=None)
        for n in s.originating_networks:
            for p in s.call_handling_platforms:
                ends = f"{s.originating_networks[n].label} → {s.call_handling_platforms[p].label}"
                link = add_component(f"interconnect:{n}>{p}", "interconnect", ends, s.topology.interconnect)
                g.add_edge(n, p, component=link)
        for c, centre in s.call_handling_centres.items():
            for p in centre.platforms or tuple(s.call_handling_platforms):
                g.add_edge(p, c, component=None)
            for r in s.control_rooms:
                g.add_edge(c, r, component=None)
        for lid, link in s.links.items():
            ends_from = _expand_ends(link.from_, s)
            ends_to = _expand_ends(link.to, s)
            if len(comps) + (1 if link.shared else len(ends_from) * len(ends_to)) > MAX_COMPONENTS:
                raise scenario.error(("links", lid), NOVALUE, f"generates {len(ends_from) * len(ends_to):,} "
                                     f"links; a scenario may have at most {MAX_COMPONENTS:,} components")
            for u in ends_from:
                for v in ends_to:
                    if u == v:
                        continue
                    name = lid if link.shared else f"{lid}:{u}>{v}"
                    comp = add_component(name, "link", name, link.failure)
                    g.add_edge(u, v, component=comp, link=lid)
        # repair crews: a member is down longer while it waits for a crew (machine-repair steady state)
        for crew in s.repair_crews.values():
            mem = [comps[m] for m in crew.members if m in comps and comps[m].failure is not None
                   and comps[m].failure.failures_per_year]
            if not mem:
                continue
            lam = float(np.mean([c.failure.failures_per_year for c in mem])) / HOURS_PER_YEAR
            mttr = float(np.mean([c.failure.repair.mean() for c in mem]))
            free = float(np.mean([c.q for c in mem]))
            shared = crew_unavailability(len(mem), crew.crews, lam, mttr)
            for c in mem:  # exact for identical members with exponential repairs; scaled otherwise
                q_new = min(1.0, c.q * shared / free) if free > 0 else c.q
                comps[c.name] = Component(c.name, c.kind, c.label, q_new, c.failure)
        # common causes: beta factor, explicit shared causes, failover windows of standby groups
        events: list[CommonCauseEvent] = []

        def members_text(members) -> str:
            names = [comps[m].label if m in comps else m for m in members] or ["nothing"]
            return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

        site_labels = {f"site:{k}": (v.label or k.replace("_", " ")) for k, v in s.sites.items()}
        for ename, ccf in shared_causes(s):  # ccf:<id> groups, then site:<id> sites
            label = (f"Site: {site_labels[ename]}" if ename in site_labels
                     else f"Shared cause: {ename[4:].replace('_', ' ')}")
            if ccf.beta is not None:  # the beta factor splits the members' own (revealed) failures only
                qs = [_own_q(comps[m]) for m in ccf.members if m in comps]
                q_event = ccf.beta * float(np.mean(qs)) if qs else 0.0
                for m in ccf.members:
                    if m in comps:
                        c = comps[m]
                        own = _own_q(c)
                        hidden = 1.0 - (1.0 - c.q) / (1.0 - own) if own < 1 else 0.0
                        q_new = 1.0 - (1.0 - (1 - ccf.beta) * own) * (1.0 - hidden)
                        comps[m] = Component(c.name, c.kind, c.label, q_new, c.failure)
                events.append(CommonCauseEvent(ename, "beta", q_event, tuple(ccf.members), label,
                                               members_text(ccf.members)))
            elif ccf.failure is not None:
                events.append(CommonCauseEvent(ename, "shared", ccf.failure.steady_unavailability(),
                                               tuple(ccf.members), label, members_text(ccf.members)))
        for name, c in comps.items():  # outages that periodic tests of a standby cause (its whole group)
            lat = c.failure.latent if c.failure is not None else None
            if lat is not None and lat.test_outage_unavailability() > 0:
                sb = standby_group(s, name)
                members = tuple(sb[1].members) if sb else (name,)
                q_test = lat.test_outage_unavailability()
                events.append(CommonCauseEvent(f"test_outage:{name}", "shared", q_test, members,
                                               f"Outage caused by a test of {c.label}",
                                               members_text(members)))
        for gid, grp in s.redundancy_groups.items():
            if grp.policy == "active-active":
                continue
            primary = comps.get(grp.members[0])
            if primary is None or primary.failure is None:
                continue
            q_fo = failover_unavailability(grp, primary.failure)
            if q_fo > 0:
                events.append(CommonCauseEvent(
                    f"failover:{gid}", "failover", q_fo, tuple(grp.members),
                    f"Failover window: {gid.replace('_', ' ')}", members_text(grp.members)))
        for name, c in comps.items():
            if g.has_node(name):
                g.nodes[name]["q"] = c.q
        for _u, _v, data in g.edges(data=True):
            if data.get("component"):
                data["q"] = comps[data["component"]].q
        if len(comps) > MAX_COMPONENTS:
            raise scenario.error((), NOVALUE, f"has {len(comps):,} components; a scenario may have at most "
                                 f"{MAX_COMPONENTS:,}")
        _refuse_cycles(g, scenario)
        self.graph = g
        self.components: dict[str, Component] = comps
        self.demands: tuple[Demand, ...] = tuple(demands)
        self.common_cause_events: tuple[CommonCauseEvent, ...] = tuple(events)

    # ------------------------------------------------------------------ helpers
    def _area_calls(self) -> dict[str, float]:
        s = self.scenario.spec
        explicit = {a: ar.annual_calls for a, ar in s.areas.items() if ar.annual_calls is not None}
        rest = s.traffic.annual_calls - sum(explicit.values())
        pop = {a: ar.population for a, ar in s.areas.items() if a not in explicit}
        total_pop = sum(pop.values())
        out = dict(explicit)
        for a, p in pop.items():
            out[a] = max(rest, 0.0) * p / total_pop if total_pop else 0.0
        return out

    @property
    def annual_genuine_calls(self) -> float:
        return float(sum(d.annual_calls for d in self.demands))

    @cached_property
    def compiled(self) -> CompiledNetwork:
        return self.compile()

    def compile(self) -> CompiledNetwork:
        """The array form for the engines (built once; see :mod:`model.network.compiled`)."""
        g = self.graph
        nodes = list(g.nodes)
        nidx = {n: i for i, n in enumerate(nodes)}
        cnames = list(self.components)
        cidx = {c: i for i, c in enumerate(cnames)}
        node_comp = np.array([cidx.get(g.nodes[n].get("component") or "", -1) for n in nodes], dtype=np.int64)
        src, dst, acomp = [], [], []
        for u, v, data in g.edges(data=True):
            if g.nodes[u]["kind"] == "caller_group":
                continue  # access links are demand prerequisites; demands start at the network
            src.append(nidx[u])
            dst.append(nidx[v])
            acomp.append(cidx.get(data.get("component") or "", -1))
        tptr, tind = csr_from_lists([[nidx[t] for t in d.targets] for d in self.demands])
        pptr, pind = csr_from_lists([[cidx[p] for p in d.prereq] for d in self.demands])
        mptr, mind = csr_from_lists([[cidx[m] for m in e.members if m in cidx]
                                     for e in self.common_cause_events])
        return CompiledNetwork(
            component_names=tuple(cnames),
            component_kind=tuple(self.components[c].kind for c in cnames),
            q=np.array([self.components[c].q for c in cnames], dtype=np.float64),
            node_names=tuple(nodes),
            node_component=node_comp,
            arc_src=np.array(src, dtype=np.int64),
            arc_dst=np.array(dst, dtype=np.int64),
            arc_component=np.array(acomp, dtype=np.int64),
            demand_names=tuple(d.name for d in self.demands),
            demand_source=np.array([nidx[d.source] for d in self.demands], dtype=np.int64),
            demand_prereq_ptr=pptr,
            demand_prereq=pind,
            demand_target_ptr=tptr,
            demand_targets=tind,
            demand_weight=np.array([d.annual_calls for d in self.demands], dtype=np.float64),
            ccf_names=tuple(e.name for e in self.common_cause_events),
            ccf_q=np.array([e.q for e in self.common_cause_events], dtype=np.float64),
            ccf_member_ptr=mptr,
            ccf_members=mind,
        )

    def demand_groups(self, by: str) -> dict[str, np.ndarray]:
        """Demand indices grouped by ``area``, ``access``, ``network``, ``service``,
        ``control_room`` or ``caller_group`` (for per-group estimates)."""
        out: dict[str, list[int]] = defaultdict(list)
        for i, d in enumerate(self.demands):
            out[getattr(d, by)].append(i)
        return {k: np.array(v, dtype=np.int64) for k, v in out.items()}


def _own_q(c: Component) -> float:
    """A component's unavailability from its own failures, without latent ones (beta factors split these)."""
    if c.failure is None or c.failure.latent is None:
        return c.q
    return c.failure.own_unavailability()


def _expand_ends(ends: tuple[str, ...], s) -> list[str]:
    out: list[str] = []
    for e in ends:
        if e.startswith("all:"):
            out.extend(getattr(s, e[4:]))
        else:
            out.append(e)
    return out


def _refuse_cycles(g: nx.DiGraph, scenario: Scenario) -> None:
    """Calls run one way along the call path: a cycle made by ``[links]`` is bad input."""
    if nx.is_directed_acyclic_graph(g):  # linear; find_cycle below only to name the cycle
        return
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return
    lid = next((g.edges[u, v].get("link") for u, v in cycle if g.edges[u, v].get("link")), None)
    where = " -> ".join([str(cycle[0][0]), *(str(v) for _u, v in cycle)])
    raise scenario.error(("links", lid) if lid else ("links",), NOVALUE,
                         f"links form a cycle ({where}); calls must run one way along the call path")


def build_network(scenario: Scenario | str | Path) -> CallNetwork:
    """Build the call network of a scenario.

    Parameters
    ----------
    scenario : Scenario, str or Path
        A loaded scenario, a bundled name or a path to a scenario file.

    Returns
    -------
    CallNetwork
        The networkx graph with demands and failure data; ``.compiled`` is the array form the
        engines share (built once).

    Raises
    ------
    ScenarioError
        When a name or path is given and the file does not validate.

    Examples
    --------
    >>> net = build_network("uk999")
    >>> net.compiled.n_demands > 0, net.scenario.name
    (True, 'uk999')
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return CallNetwork(scenario)
