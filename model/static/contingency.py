"""Static what-if queries: which demands a set of failed components cuts off.

As power-grid contingency tools report it: N-1 over every component (and every
common-cause event), N-2 over pairs among the most critical, ranked by the share of
national genuine call demand cut off. Capacity is not considered here: a what-if is
structural (is there any working path?).

Examples
--------
>>> from model.network.callnetwork import build_network
>>> from model.static.contingency import what_if
>>> net = build_network("uk999")
>>> r = what_if(net, ["bt_primary", "bt_dr"])
>>> r.share_cut
1.0
"""

from __future__ import annotations

import difflib
import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

from model.network.callnetwork import CallNetwork

__all__ = ["Contingency", "component_table", "describe_network", "kind_label", "n_minus_1", "n_minus_1_sites",
           "n_minus_2", "single_points_of_failure", "what_if"]


@dataclass(frozen=True)
class Contingency:
    """The effect of one failed set."""

    failed: tuple[str, ...]
    share_cut: float  # share of national genuine call demand with no working path
    calls_per_year_cut: float  # genuine calls a year whose demand is cut (rate while down)
    demands_cut: int
    services: tuple[str, ...]
    areas: tuple[str, ...]

    def to_dict(self) -> dict:
        return asdict(self)


def _basic_events(net: CallNetwork) -> dict[str, list[int]]:
    """Name -> component indices it takes down (components and common-cause events)."""
    c = net.compiled
    out = {name: [i] for i, name in enumerate(c.component_names)}
    for g, name in enumerate(c.ccf_names):
        out[name] = c.ccf_member_list(g).tolist()
    return out


def _evaluate(net: CallNetwork, failed: tuple[str, ...], mask: np.ndarray) -> Contingency:
    c = net.compiled
    w = c.demand_weight[mask]
    idx = np.flatnonzero(mask)
    total = c.total_weight
    return Contingency(
        failed=failed,
        share_cut=float(w.sum() / total) if total else 0.0,
        calls_per_year_cut=float(w.sum()),
        demands_cut=int(mask.sum()),
        services=tuple(sorted({net.demands[i].service for i in idx})),
        areas=tuple(sorted({net.demands[i].area for i in idx})),
    )


def what_if(net: CallNetwork, failed: Iterable[str]) -> Contingency:
    """Demands cut off when the named components (or common-cause events) are down.

    Raises ``KeyError`` naming an unknown component.
    """
    events = _basic_events(net)
    failed = tuple(failed)
    comps: list[int] = []
    for name in failed:
        if name not in events:
            close = difflib.get_close_matches(name, list(events), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise KeyError(f"unknown component {name!r}{hint} ('nines components SCENARIO' lists every name)")
        comps.extend(events[name])
    return _evaluate(net, failed, _masks(net, [comps])[0])


def _masks(net: CallNetwork, failed_sets: list[list[int]]) -> np.ndarray:
    """Unreachable-demand masks of many failed sets at once (the bit-parallel kernel)."""
    from model.network.reachability import unreachable_sets

    return unreachable_sets(net.compiled, failed_sets)


def n_minus_1(net: CallNetwork) -> list[Contingency]:
    """Every single component or common-cause event down, ranked by share of demand cut."""
    events = _basic_events(net)
    masks = _masks(net, list(events.values()))
    rows = [_evaluate(net, (name,), m) for name, m in zip(events, masks, strict=True)]
    rows.sort(key=lambda r: (-r.share_cut, r.failed))
    return rows


def n_minus_1_sites(net: CallNetwork) -> list[Contingency]:
    """Every site (``site:<id>``, all its members at once) down alone, ranked by share of demand cut.

    Examples
    --------
    >>> from model.network.callnetwork import build_network
    >>> rows = n_minus_1_sites(build_network("uk999"))
    >>> rows[0].failed, round(rows[0].share_cut, 4)   # VMO2's switching site: its 33 % of mobile voice calls
    (('site:vmo2_999_site',), 0.2439)
    """
    c = net.compiled
    names = [n for n in c.ccf_names if n.startswith("site:")]
    masks = _masks(net, [c.ccf_member_list(c.ccf_names.index(n)).tolist() for n in names])
    rows = [_evaluate(net, (name,), m) for name, m in zip(names, masks, strict=True)]
    rows.sort(key=lambda r: (-r.share_cut, r.failed))
    return rows


def single_points_of_failure(net: CallNetwork, min_share: float = 0.0) -> list[dict]:
    """Components whose loss alone cuts more than ``min_share`` of demand, largest first."""
    return [
        {"component": r.failed[0], "share_cut": r.share_cut, "calls_per_year_cut": r.calls_per_year_cut,
         "services": list(r.services), "areas": len(r.areas)}
        for r in n_minus_1(net) if r.share_cut > min_share
    ]


def n_minus_2(net: CallNetwork, candidates: int = 40, first: list[Contingency] | None = None,
              top: int = 50) -> list[Contingency]:
    """Pairs among the ``candidates`` most critical elements whose joint loss cuts *more*
    than their single losses added (the contingencies N-1 cannot see), ranked.

    Candidates are the elements with the largest N-1 cut, then members of redundancy
    and common-cause groups and the shared layers (networks, platforms, centres) —
    the places where redundancy hides a dependency.
    """
    first = first if first is not None else n_minus_1(net)
    single = {r.failed[0]: r for r in first}
    s = net.scenario.spec
    chosen: list[str] = [r.failed[0] for r in first if r.share_cut > 0][: candidates // 2]
    pool: list[str] = []
    for grp in s.redundancy_groups.values():
        pool.extend(grp.members)
    for grp in s.common_cause_groups.values():
        pool.extend(grp.members)
    for kind in ("call_handling_platform", "call_handling_centre", "originating_network", "interconnect"):
        pool.extend(n for n, comp in net.components.items() if comp.kind == kind)
    rooms = sorted((r for r in first if net.components.get(r.failed[0]) is not None
                    and net.components[r.failed[0]].kind == "control_room"),
                   key=lambda r: -r.share_cut)
    pool.extend(r.failed[0] for r in rooms)
    for name in pool:
        if len(chosen) >= candidates:
            break
        if name in single and name not in chosen:
            chosen.append(name)
    events = _basic_events(net)
    pairs = list(itertools.combinations(chosen, 2))
    masks = _masks(net, [events[a] + events[b] for a, b in pairs])
    rows = []
    for (a, b), mask in zip(pairs, masks, strict=True):
        r = _evaluate(net, (a, b), mask)
        if r.share_cut > single[a].share_cut + single[b].share_cut + 1e-12:
            rows.append(r)
    rows.sort(key=lambda r: (-r.share_cut, r.failed))
    return rows[:top]


def describe_network(net: CallNetwork) -> dict:
    """Counts by kind, demand totals and single points of failure of a call network."""
    s = net.scenario.spec
    kinds: dict[str, int] = defaultdict(int)
    for _n, data in net.graph.nodes(data=True):
        kinds[data["kind"]] += 1
    comp_kinds: dict[str, int] = defaultdict(int)
    for c in net.components.values():
        comp_kinds[c.kind] += 1
    spof = single_points_of_failure(net)
    by_service = {k: float(sum(net.demands[i].annual_calls for i in v))
                  for k, v in net.demand_groups("service").items()}
    rooms_by_service: dict[str, int] = defaultdict(int)
    for room in s.control_rooms.values():
        rooms_by_service[room.service] += 1
    return {
        "name": s.name,
        "title": s.title,
        "files": list(net.scenario.files),
        "nodes_by_kind": dict(kinds),
        "components_by_kind": dict(comp_kinds),
        "control_rooms_by_service": dict(rooms_by_service),
        "common_cause_events": len(net.common_cause_events),
        "demands": len(net.demands),
        "annual_calls": s.traffic.annual_calls,
        "annual_genuine_calls": net.annual_genuine_calls,
        "genuine_calls_by_service": by_service,
        "single_points_of_failure": spof,
    }


def component_table(net: CallNetwork) -> list[dict]:
    """Every name ``whatif`` accepts: components and common-cause events, with label, kind and ``q``.

    ``q`` is the steady-state unavailability the static engines use; a common-cause event lists the
    components it takes down.

    Examples
    --------
    >>> from model.network.callnetwork import build_network
    >>> rows = component_table(build_network("uk999"))
    >>> sorted({r["kind"] for r in rows})[:3]
    ['access link', 'call-handling centre', 'call-handling platform']
    """
    rows = [{"name": c.name, "label": c.label, "kind": kind_label(c.kind), "q": float(c.q), "members": [],
             "takes_down": ""}
            for c in net.components.values()]
    for e in net.common_cause_events:
        rows.append({"name": e.name, "label": e.label or _event_label(e), "kind": f"common cause ({e.kind})",
                     "takes_down": e.members_label,
                     "q": float(e.q), "members": list(e.members)})
    return rows


def kind_label(kind: str) -> str:
    """A component kind in words (``call_handling_platform`` -> ``call-handling platform``).

    Examples
    --------
    >>> kind_label("call_handling_centre"), kind_label("access_link")
    ('call-handling centre', 'access link')
    """
    return kind.replace("call_handling", "call-handling").replace("_", " ")


def _event_label(e) -> str:
    what = {"beta": "shared cause (beta factor)", "shared": "shared cause", "failover": "failover window"}
    return f"{what.get(e.kind, e.kind)} of {len(e.members)} components"
