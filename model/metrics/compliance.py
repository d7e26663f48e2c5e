"""Compliance checks: the rules a regulator's reviewer applies, each with figure, limit and verdict.

:func:`check_compliance` evaluates a scenario against

* **Ofcom's call-handling availability** (statement of 13 Jun 2013): 99.999 % in every
  calendar month, i.e. at most 26.3 s of outage a month. From the time engine:
  simulated years of the call-handling agent's own outages (platforms, centres,
  interconnects, their common causes and failover windows) with the same random
  streams as :func:`model.sim.engine.simulate`; a month's unavailability is its
  time-averaged share of genuine call demand with no working path. Figures: the
  probability that a month breaches the limit (Wilson interval over simulated
  months) and the expected number of breaching months a year (normal interval
  over simulated years). A model always gives some chance of a breach, so the
  verdict tolerates ``tolerated_breaches_per_year`` breaching months a year on
  average (default 0.1: one month in ten years) and says so.
* **Ofcom's answer time**: 95 % of calls wait less than 5 s, at the busiest hour of
  the arrival profile, from the M/M/c/K+M queue (:func:`model.sim.erlang.queue_outcomes`)
  of each call-handling platform that carries traffic in normal operation: its
  agents (those of the centres working on it, at most its concurrent calls), its
  queue limit, the centres' handling time, and callers who abandon the queue after
  an exponential patience of mean ``callers.patience_s``. Load: all calls (genuine
  or not) split over the platforms in service in proportion to their concurrent
  calls, as the time engine routes them. Standby platforms are shown when they
  carry everything (informative rows, not part of the verdict).
* **No single point of failure** (Ofcom resilience guidance 2024, GC A3.2): every
  component or common-cause event whose loss alone cuts off genuine demand, with
  its share of calls; every standby group switched only by hand. A caller's own
  access and originating network are listed apart (inherent without emergency
  roaming) and do not decide the verdict.
* **Route diversity** in the style of FCC 47 CFR 9.19: every control room reachable
  from every originating network that sends it calls by two paths sharing no
  intermediate node or link; and, stricter, sharing no shared-risk group either
  (sites, and common-cause groups with an explicit shared cause such as a power feed;
  a beta factor for shared software is a common cause, not a shared route). Exact by enumerating simple
  paths (up to ``max_paths`` per pair; beyond that Menger's theorem for the plain
  rule and a single-group cut screen for shared risks).
* **Detection and notification** (FCC 47 CFR 4.9: notify within 30 minutes): for
  each standby group, the probability per incident that public advice comes later
  than 30 minutes after the primary fails. Advice cannot precede detection, and the
  scenario's ``callers.advice_delay_hours`` counts from the incident's start (as the
  time engine uses it), so the time to advice is ``max(D, advice delay)`` with ``D``
  the detection delay (manual groups) or the switch delay (automatic groups, whose
  detection is part of it). Exact from the distributions, no sampling.

The result is a :class:`ComplianceReport`; ``nines check`` prints it and every study
report carries it as a section (:func:`model.report.compliance_section`).

Examples
--------
>>> from model.metrics.compliance import check_compliance
>>> rep = check_compliance("uk999", years=200, seed=1)
>>> [r.key for r in rep.rules]
['ofcom_availability', 'ofcom_answer_time', 'single_points_of_failure', 'route_diversity', 'notification']
>>> rep.rule("notification").verdict    # advice came 2.1 h after the start in 2023
'fail'
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import numpy as np

from model.metrics.recovery import structural_segments
from model.network.callnetwork import CallNetwork, build_network
from model.processes.distributions import parse_distribution
from model.results.estimate import Estimate, binomial_estimate, mean_estimate, provenance
from model.scenario.loader import NODE_SECTIONS, Scenario, load_scenario, shared_causes
from model.sim.erlang import queue_outcomes
from model.sim.timemodel import TimeModel, build_time_model
from model.static.contingency import n_minus_1
from model.units import HOURS_PER_YEAR

__all__ = [
    "AVAILABILITY_LIMIT",
    "CHA_KINDS",
    "ComplianceReport",
    "Rule",
    "answer_time",
    "check_compliance",
    "compliance_by_strategy",
    "monthly_availability",
    "notification",
    "route_diversity",
    "rules_changed",
    "single_points",
]

#: Ofcom: 99.999 % availability of the call-handling service in every calendar month.
AVAILABILITY_LIMIT = 1e-5
#: Ofcom: 95 % of calls wait less than 5 s.
ANSWER_SECONDS, ANSWER_SHARE = 5.0, 0.95
#: FCC 47 CFR 4.9: notification within 30 minutes.
NOTIFY_HOURS = 0.5
#: Component kinds that make up the call-handling agent's service (the scope of Ofcom's availability rule).
CHA_KINDS = ("call_handling_platform", "call_handling_centre", "interconnect")
_CALLER_SIDE = ("access_link", "originating_network")
_SOURCES = {
    "ofcom_availability": "OFCOM_CHA: Ofcom statement 13 Jun 2013, 99.999 % availability per calendar month",
    "ofcom_answer_time": "OFCOM_CHA: Ofcom statement 13 Jun 2013, 95 % of calls wait < 5 s",
    "single_points_of_failure": "Ofcom network resilience guidance 2024 (avoid single points of failure; "
                                "automatic failover); GC A3.2",
    "route_diversity": "FCC 47 CFR 9.19 (circuit diversity of critical 911 circuits)",
    "notification": "FCC 47 CFR 4.9 (notify PSAPs within 30 minutes)",
}


@dataclass(frozen=True)
class Rule:
    """One rule's outcome: the figure, the limit, the verdict and who is responsible."""

    key: str
    title: str
    source: str
    figure: float
    figure_text: str
    limit_text: str
    verdict: Literal["pass", "fail"]
    interval: tuple[float, float] | None = None
    responsible: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["interval"] = list(self.interval) if self.interval is not None else None
        d["responsible"] = list(self.responsible)
        return d


@dataclass(frozen=True)
class ComplianceReport:
    """Every rule's outcome for one scenario, with the run's provenance."""

    scenario: str
    label: str
    rules: tuple[Rule, ...]
    provenance: dict[str, Any] = field(default_factory=dict)

    def rule(self, key: str) -> Rule:
        """The rule with this key (``KeyError`` naming the keys otherwise)."""
        for r in self.rules:
            if r.key == key:
                return r
        raise KeyError(f"no rule {key!r}; rules: {', '.join(r.key for r in self.rules)}")

    @property
    def passed(self) -> int:
        return sum(r.verdict == "pass" for r in self.rules)

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "label": self.label, "rules": [r.to_dict() for r in self.rules],
                "passed": self.passed, "provenance": self.provenance}

    def to_text(self) -> str:
        """The table ``nines check`` prints."""
        head = f"Compliance of {self.label} [{self.scenario}]: {self.passed} of {len(self.rules)} rules met"
        lines = [head]
        for r in self.rules:
            lines.append(f"  [{r.verdict.upper():4}] {r.title}")
            lines.append(f"         figure: {r.figure_text}")
            lines.append(f"         limit:  {r.limit_text}")
            if r.responsible:
                shown = ", ".join(r.responsible[:8]) + (f", ... ({len(r.responsible)} in all)"
                                                        if len(r.responsible) > 8 else "")
                lines.append(f"         responsible: {shown}")
            lines.append(f"         source: {r.source}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- Ofcom availability


def _scoped_events(tm: TimeModel, kinds: Sequence[str]) -> np.ndarray:
    """Events whose members include a component of one of ``kinds``."""
    kind = np.array(tm.net.component_kind)
    in_kind = np.isin(kind, list(kinds))
    ev = tm.events
    return np.array([bool(in_kind[ev.member_list(e)].any()) for e in range(ev.n)], dtype=bool)


def monthly_availability(model: TimeModel | CallNetwork | Scenario | str | Path, *, years: int = 20_000,
                         seed: int = 20230625, chunk_years: int = 2_000,
                         limit: float = AVAILABILITY_LIMIT, kinds: Sequence[str] = CHA_KINDS
                         ) -> dict[str, Any]:
    """Monthly unavailability of the call-handling service over simulated years.

    Months are twelfths of the simulated year (730.5 h). Chunk ``i`` draws each
    event's outages from the stream the time engine uses for it (named by event), so
    the histories are those of :func:`model.sim.engine.simulate` with the same seed.

    Returns a dict with ``p_breach`` and ``breaching_months_per_year``
    (:class:`~model.results.estimate.Estimate`), ``mean_unavailability``, and
    ``responsible``: the states (sets of active events) behind the breaching months'
    downtime, largest first.

    Examples
    --------
    >>> out = monthly_availability("uk999", years=500, seed=3)
    >>> out["months"], out["p_breach"].samples
    (6000, 6000)
    """
    t0 = time.perf_counter()
    tm = model if isinstance(model, TimeModel) else build_time_model(model)
    if years < 1:
        raise ValueError("years must be >= 1")
    keep = _scoped_events(tm, kinds)
    month_h = tm.horizon / 12
    edges = np.arange(13) * month_h
    breaches_per_year: list[np.ndarray] = []
    down_per_month: list[np.ndarray] = []
    blame: dict[int, float] = {}
    table = None
    for n, tl, sid, share, tbl in structural_segments(tm, years, seed, chunk_years=chunk_years, keep=keep):
        table = tbl
        pos = np.flatnonzero((sid >= 0) & (tl.length > 0))
        pos = pos[share[sid[pos]] > 0]
        start = tl.time[pos] - tl.year[pos] * tl.stride
        end = tl.end[pos] - tl.year[pos] * tl.stride
        lo_t = np.maximum(start[:, None], edges[None, :-1])
        overlap = np.clip(np.minimum(end[:, None], edges[None, 1:]) - lo_t, 0.0, None)
        weighted = overlap * share[sid[pos]][:, None]
        down = np.zeros((n, 12))
        np.add.at(down, tl.year[pos], weighted)
        unavail = down / month_h
        breach = unavail > limit
        breaches_per_year.append(breach.sum(axis=1))
        down_per_month.append(unavail.ravel())
        hit = breach[tl.year[pos]] & (overlap > 0)
        hits = hit.ravel()
        blamed = zip(np.repeat(sid[pos], 12)[hits].tolist(), weighted.ravel()[hits].tolist(), strict=True)
        for s_id, w in blamed:
            blame[s_id] = blame.get(s_id, 0.0) + w
    per_year = np.concatenate(breaches_per_year).astype(float)
    months = np.concatenate(down_per_month)
    k = int((months > limit).sum())
    secs = time.perf_counter() - t0
    p = binomial_estimate(k, months.size, method="time-engine", seed=seed, seconds=secs)
    per = mean_estimate(float(per_year.sum()), float((per_year**2).sum()), per_year.size,
                        n_nonzero=int((per_year > 0).sum()), method="time-engine", seed=seed,
                        seconds=secs, upper_bound_per_sample=12.0)
    total = sum(blame.values()) or 1.0
    names = tm.events.names
    responsible = [{"events": [names[e] for e in table.event_sets[s_id].tolist()],
                    "share_of_breach_downtime": w / total}
                   for s_id, w in sorted(blame.items(), key=lambda kv: -kv[1])[:8]]
    return {"p_breach": p, "breaching_months_per_year": per, "months": int(months.size), "years": years,
            "mean_unavailability": float(months.mean()), "limit": limit, "responsible": responsible,
            "scope": list(kinds), "seconds": secs}


def _availability_rule(tm: TimeModel, years: int, seed: int, tolerated: float) -> Rule:
    m = monthly_availability(tm, years=years, seed=seed)
    p: Estimate = m["p_breach"]
    per: Estimate = m["breaching_months_per_year"]
    verdict = "pass" if per.value <= tolerated else "fail"
    resp = tuple(dict.fromkeys(e for r in m["responsible"] for e in r["events"]))
    text = (f"P(a month breaches) = {p.value:.3g} [{p.ci_low:.3g}, {p.ci_high:.3g}]; "
            f"{per.value:.3g} [{per.ci_low:.3g}, {per.ci_high:.3g}] breaching months a year "
            f"({years:,} simulated years; mean availability {100 * (1 - m['mean_unavailability']):.5f} %)")
    return Rule("ofcom_availability", "Call-handling availability 99.999 % in every calendar month",
                _SOURCES["ofcom_availability"], per.value, text,
                f"at most {tolerated:g} breaching months a year on average (a month breaches with more than "
                f"{AVAILABILITY_LIMIT * month_seconds():.1f} s of outage; the tolerance is the check's "
                "assumption)",
                verdict, (per.ci_low, per.ci_high), resp,
                {"p_breach": p.to_dict(), "breaching_months_per_year": per.to_dict(), "months": m["months"],
                 "mean_unavailability": m["mean_unavailability"], "responsible": m["responsible"],
                 "scope": m["scope"], "tolerated_breaches_per_year": tolerated})


def month_seconds() -> float:
    """Seconds in a month of a 365.25-day year (2,629,800)."""
    return HOURS_PER_YEAR * 3600 / 12


# ----------------------------------------------------------------------------- answer time


def answer_time(net: CallNetwork, *, seconds: float = ANSWER_SECONDS, tm: TimeModel | None = None
                ) -> list[dict[str, Any]]:
    """Service level at the busiest hour for each call-handling platform (see the module notes).

    Examples
    --------
    >>> rows = answer_time(build_network("uk999"))
    >>> [(r["platform"], r["in_service"]) for r in rows]
    [('bt_primary', True), ('bt_dr', False)]
    >>> rows[0]["service_level"] > 0.95 > rows[1]["service_level"]
    True
    """
    s = net.scenario.spec
    tm = tm or build_time_model(net)
    peak = tm.peak_multiplier()
    calls_per_hour = s.traffic.annual_calls / HOURS_PER_YEAR * peak
    standby = {m for g in s.redundancy_groups.values() if g.policy != "active-active" for m in g.members[1:]}
    patience = float(s.callers.patience_s) if s.callers is not None else math.inf
    rows = []
    active_servers = {}
    pools = {}
    for pid, plat in s.call_handling_platforms.items():
        centres = [c for c in s.call_handling_centres.values() if not c.platforms or pid in c.platforms]
        agents = sum(c.capacity.concurrent_calls or 0 for c in centres
                     if c.capacity is not None and c.capacity.concurrent_calls is not None)
        times = [(c.capacity.concurrent_calls or 0, c.capacity.handling_time_s) for c in centres
                 if c.capacity is not None and c.capacity.handling_time_s is not None]
        cap = plat.capacity
        servers = agents if cap is None or cap.concurrent_calls is None else min(agents, cap.concurrent_calls)
        if not times and (cap is None or cap.handling_time_s is None):
            continue
        w = sum(x for x, _ in times)
        aht = (sum(x * h for x, h in times) / w) if w else float(cap.handling_time_s)
        queue = math.inf if cap is None or cap.queue_limit is None else float(cap.queue_limit)
        pools[pid] = (servers, queue, aht)
        if pid not in standby:
            active_servers[pid] = servers
    total_active = sum(active_servers.values())
    for pid, (servers, queue, aht) in pools.items():
        in_service = pid in active_servers
        share = (active_servers[pid] / total_active if total_active else 0.0) if in_service else 1.0
        load = calls_per_hour * share * aht / 3600
        o = queue_outcomes(servers, servers + queue, load, aht, seconds, patience)
        rows.append({"platform": pid, "in_service": in_service, "agents": int(servers),
                     "queue_limit": queue, "handling_time_s": aht, "calls_per_hour": calls_per_hour * share,
                     "load_erlangs": load, "service_level": float(o.answered_within),
                     "abandoned": float(o.abandoned), "blocked": float(o.blocked),
                     "patience_s": patience, "peak_multiplier": peak})
    return rows


def _answer_rule(net: CallNetwork, tm: TimeModel) -> Rule:
    rows = answer_time(net, tm=tm)
    live = [r for r in rows if r["in_service"]]
    worst = min(live, key=lambda r: r["service_level"]) if live else None
    fig = worst["service_level"] if worst else 0.0
    bad = tuple(r["platform"] for r in live if r["service_level"] < ANSWER_SHARE)
    text = "; ".join(f"{r['platform']}{'' if r['in_service'] else ' (standby, carrying all calls)'}: "
                     f"{100 * r['service_level']:.2f} % within {ANSWER_SECONDS:g} s at "
                     f"{r['load_erlangs']:.1f} "
                     f"Erlangs on {r['agents']} agents ({100 * r['abandoned']:.2g} % abandon, "
                     f"{100 * r['blocked']:.2g} % blocked)" for r in rows) or "no platform with a capacity"
    return Rule("ofcom_answer_time", "95 % of calls wait less than 5 s (busiest hour)",
                _SOURCES["ofcom_answer_time"], fig, text,
                f">= {100 * ANSWER_SHARE:g} % of offered calls answered within {ANSWER_SECONDS:g} s on every "
                "platform in service", "pass" if live and not bad else "fail", None, bad, {"platforms": rows})


# ----------------------------------------------------------------------------- single points of failure


def single_points(net: CallNetwork) -> dict[str, Any]:
    """Single points of failure (N-1 with the share of calls each cuts) and manually switched groups.

    Examples
    --------
    >>> out = single_points(build_network("uk999"))
    >>> out["manual_groups"]
    ['bt_platforms']
    """
    rows = [r for r in n_minus_1(net) if r.share_cut > 0]
    kind = {n: c.kind for n, c in net.components.items()}

    def row(r):
        name = r.failed[0]
        return {"component": name, "kind": kind.get(name, "common_cause"), "share_cut": r.share_cut,
                "calls_per_year_cut": r.calls_per_year_cut, "services": list(r.services)}

    service = [row(r) for r in rows if kind.get(r.failed[0]) not in _CALLER_SIDE]
    caller = [row(r) for r in rows if kind.get(r.failed[0]) in _CALLER_SIDE]
    manual = [g for g, grp in net.scenario.spec.redundancy_groups.items() if grp.policy == "manual"]
    return {"service_side": service, "caller_side": caller, "manual_groups": manual}


def _spof_rule(net: CallNetwork) -> Rule:
    sp = single_points(net)
    svc, manual = sp["service_side"], sp["manual_groups"]
    top = max((r["share_cut"] for r in svc), default=0.0)
    text = (f"{len(svc)} components whose loss alone cuts calls (largest {100 * top:.3g} % of genuine calls"
            f"{': ' + svc[0]['component'] if svc else ''}); {len(manual)} standby groups switched only by "
            "hand"
            f"{' (' + ', '.join(manual) + ')' if manual else ''}; {len(sp['caller_side'])} caller-side "
            "(own access or network) not counted")
    resp = tuple([r["component"] for r in svc] + [f"manual:{g}" for g in manual])
    return Rule("single_points_of_failure", "No single point of failure; automatic failover",
                _SOURCES["single_points_of_failure"], float(len(svc) + len(manual)), text,
                "no component of the call-handling or control-room side whose loss alone cuts calls, "
                "and no standby switched only by hand", "pass" if not resp else "fail", None, resp, sp)


# ----------------------------------------------------------------------------- route diversity


def _risk_graph(net: CallNetwork) -> tuple[nx.DiGraph, dict[str, set[str]]]:
    g = nx.DiGraph()
    for u, v, data in net.graph.edges(data=True):
        if net.graph.nodes[u]["kind"] == "caller_group":
            continue
        g.add_edge(u, v, risk=data.get("component") or f"{u}>{v}")
    srg: dict[str, set[str]] = {}
    for name, grp in shared_causes(net.scenario.spec):  # physical shared risks: sites, explicit shared causes
        if grp.failure is None:
            continue  # a beta factor (shared software) is a common cause, not a shared route
        for m in grp.members:
            srg.setdefault(m, set()).add(name)
    return g, srg


def _path_risk_sets(g: nx.DiGraph, src: str, srg: dict[str, set[str]], max_paths: int
                    ) -> dict[str, list[tuple[frozenset, frozenset]] | None]:
    """Risk sets of every simple path from ``src`` to each node of a DAG (None: more than ``max_paths``).

    A path's plain risks are its intermediate nodes and its links; its shared risks add the
    shared-risk groups of those. One pass in topological order (dynamic programming).
    """
    sub = g.subgraph({src} | nx.descendants(g, src))
    out: dict[str, list[tuple[frozenset, frozenset]] | None] = {src: [(frozenset(), frozenset())]}
    for v in nx.topological_sort(sub):  # one step per node below src
        if v == src:
            continue
        acc: list[tuple[frozenset, frozenset]] | None = []
        for u in sub.predecessors(v):
            prev = out.get(u)
            if prev is None or acc is None:
                acc = None
                continue
            link = g.edges[u, v]["risk"]
            add = {link} | ({u} if u != src else set())
            add_shared = set(add)
            for x in add:
                add_shared |= srg.get(x, set())
            acc.extend((pr | add, sr | add_shared) for pr, sr in prev)
            if len(acc) > max_paths:
                acc = None
        out[v] = acc
    return out


def _two_disjoint(risks: Sequence[frozenset]) -> bool:
    return any(not (a & b) for a, b in itertools.combinations(risks, 2))


def route_diversity(net: CallNetwork, *, max_paths: int = 400) -> dict[str, Any]:
    """Control rooms lacking two disjoint paths from an originating network that sends them calls.

    Returns ``{"rooms": n, "not_diverse": {room: [networks]}, "not_risk_diverse": {...}, "method": ...}``.

    Examples
    --------
    >>> out = route_diversity(build_network("uk999"))
    >>> len(out["not_diverse"]), len(out["not_risk_diverse"]) == out["rooms"]   # one site per network
    (0, True)
    """
    g, srg = _risk_graph(net)
    sources: dict[str, set[str]] = {}
    for d in net.demands:
        if d.annual_calls > 0:
            sources.setdefault(d.control_room, set()).add(d.source)
    not_plain: dict[str, list[str]] = {}
    not_shared: dict[str, list[str]] = {}
    methods = set()
    dag = nx.is_directed_acyclic_graph(g)
    by_src = {src: _path_risk_sets(g, src, srg, max_paths) if dag and src in g else {}
              for src in sorted({x for srcs in sources.values() for x in srcs})}
    groups = sorted({x for s_ in srg.values() for x in s_})
    for room in sorted(sources):
        for src in sorted(sources[room]):
            if src not in g or room not in g:
                ok_plain = ok_shared = False
            elif by_src[src].get(room) is not None:
                risks = by_src[src][room]
                ok_plain = _two_disjoint([r[0] for r in risks])
                ok_shared = _two_disjoint([r[1] for r in risks])
                methods.add("path enumeration (exact)")
            else:  # too many paths or cycles: Menger for the plain rule, a single-group cut screen for shared
                ok_plain = nx.has_path(g, src, room) and _menger_two(g, src, room)
                ok_shared = ok_plain and not any(
                    not nx.has_path(_without(g, srg, grp, (src, room)),
                                    src, room) for grp in groups)
                methods.add("Menger + single shared-risk cut screen")
            if not ok_plain:
                not_plain.setdefault(room, []).append(src)
            if not ok_shared:
                not_shared.setdefault(room, []).append(src)
    return {"rooms": len(sources), "not_diverse": not_plain, "not_risk_diverse": not_shared,
            "shared_risk_groups": groups, "method": sorted(methods)}


def _without(g: nx.DiGraph, srg: dict[str, set[str]], group: str, keep: tuple[str, str]) -> nx.DiGraph:
    return g.subgraph([n for n in g if n in keep or group not in srg.get(n, ())])


def _menger_two(g: nx.DiGraph, s: str, t: str) -> bool:
    h = nx.DiGraph()
    for u, v in g.edges:  # each link becomes a node, so node cuts cover links too
        link = ("link", u, v)
        h.add_edge(u, link)
        h.add_edge(link, v)
    return nx.algorithms.connectivity.local_node_connectivity(h, s, t) >= 2


def _diversity_rule(net: CallNetwork) -> Rule:
    d = route_diversity(net)
    plain, shared = d["not_diverse"], d["not_risk_diverse"]
    text = (f"{d['rooms'] - len(plain)} of {d['rooms']} control rooms have two node-and-link-disjoint paths "
            "from "
            f"every originating network that sends them calls; {d['rooms'] - len(shared)} also avoid every "
            f"shared-risk group ({', '.join(d['shared_risk_groups']) or 'none defined'})")
    return Rule("route_diversity", "Every control room reachable by two disjoint paths",
                _SOURCES["route_diversity"], float(len(shared)), text,
                "two paths sharing no node, link or shared-risk group, for every control room",
                "pass" if not shared else "fail", None, tuple(sorted(shared)), d)


# ----------------------------------------------------------------------------- detection and notification


def notification(scenario: Scenario, *, limit_hours: float = NOTIFY_HOURS) -> dict[str, Any]:
    """P(public advice later than ``limit_hours`` after an incident starts), per standby group (exact).

    Examples
    --------
    >>> out = notification(load_scenario("uk999"))
    >>> out["groups"][0]["group"], out["groups"][0]["p_late"]
    ('bt_platforms', 1.0)
    """
    s = scenario.spec
    advice = float(s.callers.advice_delay_hours) if s.callers is not None else math.inf
    rows = []
    for gid, grp in s.redundancy_groups.items():
        if grp.policy == "active-active":
            continue
        spec_ = grp.detection_delay if grp.policy == "manual" else grp.failover_delay
        d = parse_distribution(spec_, f"redundancy_groups.{gid}")
        p_det = float(d.sf(limit_hours))
        p_late = 1.0 if advice > limit_hours else p_det
        rate = 0.0
        comp = _component_failure(s, grp.members[0])
        if comp is not None and comp.failures_per_year is not None:
            rate = float(comp.failures_per_year)
        rows.append({"group": gid, "policy": grp.policy, "detection_mean_hours": float(d.mean),
                     "p_detection_late": p_det, "advice_delay_hours": advice, "p_late": p_late,
                     "incidents_per_year": rate})
    total = sum(r["incidents_per_year"] for r in rows)
    if rows:
        p = (sum(r["p_late"] * r["incidents_per_year"] for r in rows) / total if total
             else max(r["p_late"] for r in rows))
    else:
        p = 1.0 if advice > limit_hours else 0.0
    return {"p_late": p, "groups": rows, "advice_delay_hours": advice, "limit_hours": limit_hours}


def _component_failure(s, name: str):
    for section in NODE_SECTIONS:
        node = getattr(s, section).get(name)
        if node is not None:
            return node.failure
    link = s.links.get(name)
    return link.failure if link is not None else None


def _notification_rule(scenario: Scenario, tolerated_late: float = 0.05) -> Rule:
    n = notification(scenario)
    late = tuple(r["group"] for r in n["groups"] if r["p_late"] > tolerated_late)
    parts = [f"{r['group']}: P(late) = {r['p_late']:.3g} (detection mean "
             f"{60 * r['detection_mean_hours']:.0f} min, "
             f"P(detection > 30 min) = {r['p_detection_late']:.3g})" for r in n["groups"]]
    text = (f"P(advice later than 30 min) = {n['p_late']:.3g} per incident; public advice "
            f"{60 * n['advice_delay_hours']:.0f} min after the start")
    if parts:
        text += "; " + "; ".join(parts)
    return Rule("notification", "Detection and public advice within 30 minutes of an incident",
                _SOURCES["notification"], n["p_late"], text,
                f"P(advice later than 30 min) <= {tolerated_late:g} per incident (the tolerance is the "
                "check's "
                "assumption, as in Ofcom's 95 % answer rule)",
                "pass" if n["p_late"] <= tolerated_late else "fail", None, late, n)


# ----------------------------------------------------------------------------- all rules


def check_compliance(scenario: Scenario | CallNetwork | str | Path, *, years: int = 20_000,
                     seed: int = 20230625, tolerated_breaches_per_year: float = 0.1) -> ComplianceReport:
    """Every rule of the module notes for one scenario.

    Parameters
    ----------
    scenario : Scenario, CallNetwork, bundled name or path
    years : int
        Simulated years for the monthly availability rule.
    seed : int
        Root seed of the time-engine run.
    tolerated_breaches_per_year : float
        Breaching months a year on average that the availability verdict accepts.
    """
    if years < 1:
        raise ValueError(f"years = {years}: must be a positive whole number")
    if not tolerated_breaches_per_year >= 0:
        raise ValueError(f"tolerated_breaches_per_year = {tolerated_breaches_per_year}: must be >= 0")
    t0 = time.perf_counter()
    net = scenario if isinstance(scenario, CallNetwork) else build_network(
        scenario if isinstance(scenario, Scenario) else load_scenario(scenario))
    tm = build_time_model(net)
    rules = (_availability_rule(tm, years, seed, tolerated_breaches_per_year), _answer_rule(net, tm),
             _spof_rule(net), _diversity_rule(net), _notification_rule(net.scenario))
    sc = net.scenario
    prov = provenance(scenario=sc.name, scenario_files=list(sc.files), scenario_sha256=sc.digest, seed=seed,
                      years=years, runtime_seconds=round(time.perf_counter() - t0, 3))
    return ComplianceReport(sc.name, sc.label, rules, prov)


def rules_changed(base: ComplianceReport, other: ComplianceReport) -> list[str]:
    """Keys of the rules whose verdict or figure differs between two reports."""
    out = []
    for a, b in zip(base.rules, other.rules, strict=True):
        if a.verdict != b.verdict or not math.isclose(a.figure, b.figure, rel_tol=1e-9, abs_tol=1e-12):
            out.append(a.key)
    return out


def compliance_by_strategy(base: Scenario, strategy_sets: Sequence[Sequence[Any]], *, years: int = 20_000,
                           seed: int = 20230625) -> tuple[ComplianceReport, list[ComplianceReport]]:
    """The rules for the status quo and for each set of strategies applied to it (same seed).

    Returns ``(baseline, [report per set])``; :func:`rules_changed` tells which rules a set moves.
    """
    from model.scenario.strategies import apply_strategies

    baseline = check_compliance(base, years=years, seed=seed)
    return baseline, [check_compliance(apply_strategies(base, list(st)), years=years, seed=seed)
                      for st in strategy_sets]
