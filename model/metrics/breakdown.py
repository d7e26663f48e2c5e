"""Where the risk falls: the share of genuine calls unreachable, by area and by service.

One crude Monte Carlo run of the static engine with every group registered, so each group's interval uses
its own per-trial variance. Static: which calls have no working path, with each component down with its
steady-state unavailability; capacity, failover delays and callers are the time engine's business.
"""

from __future__ import annotations

from typing import Any

__all__ = ["unreachable_by"]


def unreachable_by(net, by: str = "area", *, samples: int = 200_000, seed: int = 0) -> list[dict[str, Any]]:
    """Per group of demands: calls a year, P(a genuine call is unreachable) with its interval, expected
    unreachable calls a year.

    Parameters
    ----------
    net : CallNetwork
        The built scenario.
    by : str
        ``area``, ``service``, ``access``, ``network`` or ``control_room``.
    samples, seed : int
        Trials and seed of the crude Monte Carlo run.

    Returns
    -------
    list of dict
        ``group``, ``label``, ``genuine_calls_per_year``, ``unreachable_probability`` (an Estimate),
        ``expected_unreachable_per_year`` (an Estimate), sorted by expected unreachable calls.

    Examples
    --------
    >>> from model.network.callnetwork import build_network
    >>> rows = unreachable_by(build_network("uk999"), "service", samples=20_000, seed=1)
    >>> sorted(r["group"] for r in rows)
    ['ambulance', 'coastguard', 'fire', 'police']
    >>> all(r["unreachable_probability"].ci_low <= r["unreachable_probability"].value for r in rows)
    True
    """
    from model.static.montecarlo import crude_monte_carlo

    groups = net.demand_groups(by)
    c = net.compiled
    res = crude_monte_carlo(c, samples, seed=seed, groups=groups)
    est = res.by_group()
    s = net.scenario.spec
    section = {"area": s.areas, "service": s.services, "network": s.originating_networks,
               "control_room": s.control_rooms}.get(by, {})
    rows = []
    for name, idx in groups.items():
        calls = float(c.demand_weight[idx].sum())
        e = est[name]
        ent = section.get(name)
        rows.append({"group": name, "label": getattr(ent, "label", "") or name.replace("_", " "),
                     "genuine_calls_per_year": calls, "unreachable_probability": e,
                     "expected_unreachable_per_year": e.scaled(calls)})
    rows.sort(key=lambda r: -r["expected_unreachable_per_year"].value)
    return rows
