"""Tail risk of strategies: return periods of national-scale incidents and the worst year in 100 to 10,000.

Each strategy's scenario is simulated by importance sampling of its outage
processes (:func:`model.sim.tails.simulate_tails`, bias from
:func:`model.sim.tails.choose_bias` on that strategy's own model), over the
same seed as the status quo. The outputs per strategy: return-period curves
(mean years between years with an incident of at least ``N`` unreachable calls,
with 95 % bands), the worst year in 100, 1,000 and 10,000 with intervals, and
``P(a year holds an outage longer than X hours)``.

Examples
--------
>>> from model.scenario.loader import load_scenario
>>> from model.scenario.strategies import load_strategy
>>> tr = strategy_tails(load_scenario("uk999"), [[load_strategy("automatic_failover")]], years=20,
...                     chunk_years=10, backend="serial")
>>> [s["label"] for s in tr["strategies"]], len(tr["strategies"][0]["curve"]["years"]) == len(tr["levels"])
(['Status quo', 'Automatic failover'], True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from model.scenario.loader import Scenario
from model.scenario.strategies import Strategy, apply_strategies
from model.sim.tails import choose_bias, simulate_tails
from model.sim.timemodel import build_time_model

__all__ = ["DEFAULT_LEVELS", "strategy_tails", "tail_table"]

#: Incident sizes (unreachable calls) of the return-period curves: a busy hour to a national outage.
DEFAULT_LEVELS = tuple(float(x) for x in np.geomspace(300, 300_000, 13).round(-1))


def strategy_tails(base: Scenario, strategy_sets: Sequence[Sequence[Strategy]], *, years: int, seed: int = 0,
                   chunk_years: int = 50, levels: Sequence[float] = DEFAULT_LEVELS,
                   outage_hours: Sequence[float] = (6.0, 12.0, 24.0, 48.0),
                   periods: Sequence[float] = (100, 1000, 10_000), backend: Any = "auto",
                   workers: int | None = None) -> dict[str, Any]:
    """Importance-sampled tail risk of the status quo and every strategy set (JSON-ready dict).

    Returns ``{"levels", "years", "seed", "method", "strategies": [...]}``; each
    strategy entry holds ``name``, ``label``, ``curve`` (``level``, ``years``,
    ``ci_low``, ``ci_high``: return periods of an incident with at least
    ``level`` unreachable calls; ``inf`` where nothing that large was seen) and the
    :meth:`model.sim.tails.TailRun.summary` (worst year in each of ``periods``,
    incident return periods, outage-length probabilities, bias, warnings).
    """
    runs = [("status_quo", "Status quo", apply_strategies(base, []))]
    for sset in strategy_sets:
        if sset and not all(st.is_status_quo for st in sset):
            scen = apply_strategies(base, sset)
            runs.append((scen.spec.name, scen.spec.strategy.label, scen))
    out = []
    for name, label, scen in runs:
        tm = build_time_model(scen)
        run = simulate_tails(tm, years, seed=seed, bias=choose_bias(tm), chunk_years=chunk_years,
                             backend=backend, workers=workers, name=name)
        curve = run.curve("worst_incident", np.asarray(levels))
        out.append({"name": name, "label": label,
                    "curve": {k: np.asarray(v, dtype=float).tolist() for k, v in curve.items()},
                    **run.summary(periods=periods, incident_levels=levels, outage_hours=outage_hours)})
    return {"levels": [float(x) for x in levels], "years": int(years), "seed": int(seed),
            "method": "importance sampling of the outage processes (failure biasing of common-cause and "
                      "platform events, likelihood ratio per year)", "strategies": out}


def tail_table(tails: dict[str, Any], periods: Sequence[float] = (100, 1000, 10_000)) -> list[dict[str, Any]]:
    """One row per strategy: the worst year in each period with its interval, and the effective years.

    Examples
    --------
    >>> rows = tail_table({"strategies": [{"label": "x", "effective_years": 80.0, "worst_year": {
    ...     "100": {"value": 5.0, "ci_low": 4.0, "ci_high": 7.0}}}]}, periods=(100,))
    >>> rows[0]["worst year in 100"]
    '5 [4, 7]'
    """
    rows = []
    for s in tails["strategies"]:
        row: dict[str, Any] = {"strategy": s["label"]}
        for t in periods:
            r = s["worst_year"][str(int(t))]
            hi = "∞" if r["ci_high"] is None or not np.isfinite(r["ci_high"]) else f"{r['ci_high']:,.0f}"
            row[f"worst year in {int(t):,}"] = f"{r['value']:,.0f} [{r['ci_low']:,.0f}, {hi}]"
        row["effective years"] = round(float(s["effective_years"]), 1)
        rows.append(row)
    return rows
