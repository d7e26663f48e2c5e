"""What a decision needs from a strategy comparison: cost-effectiveness, how sure, and why.

Pure functions over the numbers a comparison produces (:meth:`model.metrics.compare.Comparison.to_dict`
and the parameter-uncertainty draws):

- :func:`cost_effectiveness_frontier` — the strategies no other beats on both cost and calls avoided, with
  extended dominance removed (the frontier of a cost-effectiveness plane, as health economists draw it);
- :func:`probability_best` — across the draws of the uncertain inputs, how often each strategy avoids the
  most failed calls, with a Wilson interval for the finite number of draws;
- :func:`cost_per_call_interval` — annual cost over calls avoided, with the interval carried through from the
  paired interval of calls avoided (unbounded where that interval reaches zero);
- :func:`decision_paragraph` — a short plain-language summary generated from those numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from model.results.estimate import wilson

__all__ = ["cost_effectiveness_frontier", "cost_per_call_interval", "decision_paragraph", "probability_best"]


def cost_effectiveness_frontier(points: Sequence[tuple[str, float, float]]) -> list[str]:
    """Names on the cost-effectiveness frontier, cheapest first.

    Parameters
    ----------
    points : sequence of (name, annual cost, calls avoided a year)
        The status quo is the origin (0, 0) and need not be listed. Points without a cost are ignored.

    Returns
    -------
    list of str
        Strategies that are neither dominated (another costs no more and avoids more) nor extendedly
        dominated (a mix of two others would avoid more for the same cost), i.e. the incremental cost per
        call avoided rises along the frontier.

    Examples
    --------
    >>> cost_effectiveness_frontier([("a", 1.0, 10.0), ("b", 2.0, 5.0), ("c", 3.0, 30.0), ("d", 2.5, 12.0)])
    ['a', 'c']
    """
    pts = sorted(((float(c), float(a), str(n)) for n, c, a in points
                  if c is not None and a is not None and math.isfinite(float(c)) and float(a) > 0),
                 key=lambda p: (p[0], -p[1]))
    kept: list[tuple[float, float, str]] = []
    for c, a, n in pts:  # strict dominance: must avoid more than everything cheaper
        if not kept or a > kept[-1][1]:
            kept.append((c, a, n))
    hull: list[tuple[float, float, str]] = [(0.0, 0.0, "")]
    for p in kept:  # extended dominance: keep the lower-right convex hull from the origin
        while len(hull) >= 2:
            (c0, a0, _), (c1, a1, _) = hull[-2], hull[-1]
            # slope (calls per pound) must fall along the frontier; drop the middle point otherwise
            if (a1 - a0) * (p[0] - c1) < (p[1] - a1) * (c1 - c0):
                hull.pop()
            else:
                break
        hull.append(p)
    return [n for _c, _a, n in hull[1:]]


def probability_best(draws: Mapping[str, Sequence[float]], confidence: float = 0.95) -> dict[str, dict]:
    """How often each strategy is best across the draws of the uncertain inputs.

    Parameters
    ----------
    draws : mapping name -> sequence
        Calls avoided a year by each strategy under each draw (the same draws, in the same order, for all).
    confidence : float
        Level of the Wilson interval for the finite number of draws.

    Returns
    -------
    dict
        Per name: ``probability``, ``ci_low``, ``ci_high``, ``wins``, ``draws``, ``interval``
        ("wilson"; "one-sided-upper" for a strategy never best, the exact bound
        ``1 - (1 - confidence) ** (1 / draws)``). Ties share a win equally.

    Examples
    --------
    >>> p = probability_best({"a": [3, 1, 5, 2], "b": [1, 2, 4, 1]})
    >>> p["a"]["wins"], p["b"]["wins"], p["a"]["draws"]
    (3.0, 1.0, 4)
    >>> q = probability_best({"a": [3, 2], "b": [1, 1]})["b"]
    >>> q["interval"], round(q["ci_high"], 4)
    ('one-sided-upper', 0.7764)
    """
    names = list(draws)
    if not names:
        return {}
    x = np.array([np.asarray(draws[n], dtype=float) for n in names])
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError("probability_best needs the same non-empty list of draws for every strategy")
    best = x == x.max(axis=0, keepdims=True)
    wins = (best / best.sum(axis=0, keepdims=True)).sum(axis=1)
    n = x.shape[1]
    out = {}
    for name, w in zip(names, wins, strict=True):
        if w == 0:  # never best: the one rule for nothing observed, an exact one-sided upper bound
            lo, hi, kind = 0.0, 1.0 - (1.0 - confidence) ** (1.0 / n), "one-sided-upper"
        else:
            (lo, hi), kind = wilson(float(w), n, confidence), "wilson"
        out[name] = {"probability": float(w / n), "ci_low": max(0.0, lo), "ci_high": min(1.0, hi),
                     "wins": float(w), "draws": n, "interval": kind, "confidence": confidence}
    return out


def cost_per_call_interval(annual_cost: float | None, avoided: Mapping[str, float]) -> dict[str, Any] | None:
    """Annual cost per failed call avoided, with the interval from the paired interval of calls avoided.

    ``avoided`` holds ``mean``, ``ci_low``, ``ci_high`` (calls a year). Where the interval of calls avoided
    reaches zero or below, the upper end is unbounded (``inf``) and ``bounded`` is False: the data cannot
    rule out that the strategy avoids nothing.

    Examples
    --------
    >>> c = cost_per_call_interval(1000.0, {"mean": 10.0, "ci_low": 5.0, "ci_high": 20.0})
    >>> c["value"], c["ci_low"], c["ci_high"], c["bounded"]
    (100.0, 50.0, 200.0, True)
    >>> cost_per_call_interval(1000.0, {"mean": 1.0, "ci_low": -1.0, "ci_high": 3.0})["ci_high"]
    inf
    """
    if annual_cost is None:
        return None

    def inv(x: float) -> float:
        return float(annual_cost) / x if x > 0 else math.inf

    return {"value": inv(avoided["mean"]), "ci_low": inv(avoided["ci_high"]),
            "ci_high": inv(avoided["ci_low"]), "bounded": avoided["ci_low"] > 0,
            "unit": "GBP per failed genuine call avoided"}


def decision_paragraph(rows: Sequence[Mapping[str, Any]], baseline_failed: float, *,
                       p_best: Mapping[str, Mapping[str, float]] | None = None,
                       frontier: Sequence[str] = (), platform_share: float | None = None) -> str:
    """A short plain-language summary of a strategy comparison, generated from its numbers.

    Parameters
    ----------
    rows : sequence of dict
        Per strategy: ``name``, ``label``, ``avoided`` (dict with mean, ci_low, ci_high), ``annual_cost_gbp``.
    baseline_failed : float
        Failed genuine calls a year under the status quo.
    p_best : mapping, optional
        :func:`probability_best` output.
    frontier : sequence of str
        :func:`cost_effectiveness_frontier` output.
    platform_share : float, optional
        Share of the status quo's failed calls that platform-wide events cause.

    Examples
    --------
    >>> rows = [{"name": "a", "label": "A", "avoided": {"mean": 50.0, "ci_low": 40.0, "ci_high": 60.0},
    ...          "annual_cost_gbp": 1e5}]
    >>> decision_paragraph(rows, 100.0).split(".")[0]
    "A avoids the most failed genuine calls: 50 a year (95% CI 40 to 60), half of the status quo's 100"
    """
    if not rows:
        return "No strategy changes what the simulation sees: every one equals the status quo."
    best = max(rows, key=lambda r: r["avoided"]["mean"])
    a = best["avoided"]
    share = a["mean"] / baseline_failed if baseline_failed > 0 else math.nan
    words = _share_words(share)
    text = [f"{best['label']} avoids the most failed genuine calls: {a['mean']:,.0f} a year (95% CI "
            f"{a['ci_low']:,.0f} to {a['ci_high']:,.0f}), {words} of the status quo's "
            f"{baseline_failed:,.0f}."]
    if p_best and best["name"] in p_best:
        pb = p_best[best["name"]]
        text.append(f"Across {pb['draws']} draws of the uncertain inputs it is the best in "
                    f"{pb['probability']:.0%} of them ({pb['ci_low']:.0%} to {pb['ci_high']:.0%}), so the "
                    + ("ranking is robust to what is not known." if pb["ci_low"] >= 0.5 else
                       "ranking depends on inputs nobody has measured."))
    costed = [r for r in rows if r.get("annual_cost_gbp") and r["avoided"]["mean"] > 0]
    if costed:
        cheap = min(costed, key=lambda r: r["annual_cost_gbp"] / r["avoided"]["mean"])
        c = cost_per_call_interval(cheap["annual_cost_gbp"], cheap["avoided"])
        hi = "an unbounded upper end" if not c["bounded"] else f"£{c['ci_high']:,.0f}"
        text.append(f"Per pound, {cheap['label']} does best: £{c['value']:,.0f} per failed call avoided "
                    f"(£{c['ci_low']:,.0f} to {hi}); costs are stated assumptions.")
    if frontier:
        labels = {r["name"]: r["label"] for r in rows}
        on = ", ".join(labels.get(n, n) for n in frontier)
        text.append(f"The cost-effectiveness frontier runs through {on}; any other strategy costs more for "
                    "fewer calls avoided than a frontier one or a mix of two.")
    if platform_share is not None and math.isfinite(platform_share):
        text.append(f"Platform-wide events cause {platform_share:.0%} of the status quo's failed calls; the "
                    "rest come from routine outages of networks and links. A strategy aimed at the platforms "
                    "moves only that share: averaged over decades it looks small, while a replay of one "
                    "national outage shows it large.")
    return " ".join(text)


def _share_words(share: float) -> str:
    if not math.isfinite(share):
        return "an undefined share"
    for limit, words in ((0.95, "nearly all"), (0.7, "most"), (0.55, "over half"), (0.45, "half"),
                         (0.3, "about a third"), (0.2, "about a quarter"), (0.08, "about a tenth")):
        if share >= limit:
            return words
    return f"{share:.0%}"
