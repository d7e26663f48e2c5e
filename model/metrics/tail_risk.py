"""Tail risk of strategies: return periods of national-scale incidents and the worst year in 100 to 10,000.

Each strategy's scenario is simulated by importance sampling of its outage
processes (:func:`model.sim.tails.simulate_tails`), over the same seed as the
status quo, with the bias that :func:`model.sim.tails.cross_entropy_bias` learns
for that strategy's own model from pilot runs (on streams of their own) aimed at
its worst year in ``period`` years; the main run stops once the relative
standard error of that year's probability is at most ``target_rse`` (or at
``years``). The outputs per strategy: return-period curves
(mean years between years with an incident of at least ``N`` unreachable calls,
with 95 % bands), the worst year in 100, 1,000 and 10,000 with intervals, and
``P(a year holds an outage longer than X hours)``.

Examples
--------
>>> from model.scenario.loader import load_scenario
>>> from model.scenario.strategies import load_strategy
>>> tr = strategy_tails(load_scenario("uk999"), [[load_strategy("automatic_failover")]], years=20,
...                     chunk_years=10, backend="serial", pilot_years=10, pilot_rounds=1)
>>> [s["label"] for s in tr["strategies"]], len(tr["strategies"][0]["curve"]["years"]) == len(tr["levels"])
(['Status quo', 'Automatic failover'], True)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from model.scenario.loader import Scenario
from model.scenario.strategies import Strategy, apply_strategies
from model.sim.tails import cross_entropy_bias, simulate_tails
from model.sim.timemodel import build_time_model

__all__ = ["DEFAULT_LEVELS", "strategy_tails", "tail_table"]

#: Incident sizes (unreachable calls) of the return-period curves: a busy hour to a national outage.
DEFAULT_LEVELS = tuple(float(x) for x in np.geomspace(300, 300_000, 13).round(-1))


def strategy_tails(base: Scenario, strategy_sets: Sequence[Sequence[Strategy]], *, years: int, seed: int = 0,
                   chunk_years: int = 50, levels: Sequence[float] = DEFAULT_LEVELS,
                   outage_hours: Sequence[float] = (6.0, 12.0, 24.0, 48.0),
                   periods: Sequence[float] = (100, 1000, 10_000), backend: Any = "auto",
                   workers: int | None = None, period: float = 10_000.0, target_rse: float | None = None,
                   pilot_years: int | None = None, pilot_rounds: int = 2) -> dict[str, Any]:
    """Importance-sampled tail risk of the status quo and every strategy set (JSON-ready dict).

    Parameters
    ----------
    years : int
        Biased years per strategy (the cap when ``target_rse`` is given).
    period, target_rse : float, float or None
        The bias aims at the worst year in ``period``; the main run stops at the first chunk where
        the relative standard error of ``P(year >= it)`` is at most ``target_rse``.
    pilot_years, pilot_rounds : int or None, int
        Cross-entropy pilots (default ``max(10, min(100, years // 4))`` years a round).

    Returns ``{"levels", "years", "seed", "method", "strategies": [...]}``; each
    strategy entry holds ``name``, ``label``, ``curve`` (``level``, ``years``,
    ``ci_low``, ``ci_high``: return periods of an incident with at least
    ``level`` unreachable calls; ``inf`` where nothing that large was seen), the
    :meth:`model.sim.tails.TailRun.summary` (years simulated, worst year in each of ``periods``,
    incident return periods, outage-length probabilities, bias, warnings) and ``seconds``
    (wall time of its pilots and main run).
    """
    runs = [("status_quo", "Status quo", apply_strategies(base, []))]
    for sset in strategy_sets:
        if sset and not all(st.is_status_quo for st in sset):
            scen = apply_strategies(base, sset)
            runs.append((scen.spec.name, scen.spec.strategy.label, scen))
    py = pilot_years if pilot_years is not None else max(10, min(100, years // 4))
    out = []
    for name, label, scen in runs:
        t0 = time.perf_counter()
        tm = build_time_model(scen)
        bias = cross_entropy_bias(tm, seed, years=py, rounds=pilot_rounds, period=period,
                                  chunk_years=chunk_years, backend=backend, workers=workers)
        run = simulate_tails(tm, years, seed=seed, bias=bias, chunk_years=chunk_years, backend=backend,
                             workers=workers, name=name, target_rse=target_rse, period=period)
        curve = run.curve("worst_incident", np.asarray(levels))
        out.append({"name": name, "label": label,
                    "curve": {k: np.asarray(v, dtype=float).tolist() for k, v in curve.items()},
                    **run.summary(periods=periods, incident_levels=levels, outage_hours=outage_hours),
                    "pilot_years": py * pilot_rounds, "seconds": time.perf_counter() - t0})
    return {"levels": [float(x) for x in levels], "years": int(years), "seed": int(seed),
            "target_rse": target_rse, "period": float(period),
            "method": "importance sampling of the outage processes (failure rates, long repairs and manual "
                      f"switches biased by cross-entropy pilots for the worst year in {period:,.0f}; "
                      "likelihood ratio per year)", "strategies": out}


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
        if "years" in s:
            row["years"] = int(s["years"])
        row["effective years"] = round(float(s["effective_years"]), 1)
        rows.append(row)
    return rows
