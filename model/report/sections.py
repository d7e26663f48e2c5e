"""Report sections that every study shares, built from library results.

Examples
--------
>>> from model.metrics.compliance import check_compliance
>>> from model.report import Report
>>> rep = compliance_section(Report("t"), check_compliance("uk999", years=100, seed=1))
>>> "Compliance with the rules" in rep.to_html()
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from model.report.html import Report

__all__ = ["compliance_changes_section", "compliance_section", "importance_section", "recovery_section"]

_SHOWN = 6


def compliance_section(report: Report, check: Any, *, title: str = "Compliance with the rules") -> Report:
    """Add the table of rules of a :class:`~model.metrics.compliance.ComplianceReport` to ``report``.

    One row per rule: verdict, the figure (with its interval), the limit, the components
    responsible (the first few) and the source of the rule. Every text is escaped by
    :class:`Report`.
    """
    rules = list(check.rules)
    text = (f"{check.passed} of {len(rules)} rules met by {check.label}. The rules a regulator's reviewer "
            "applies (Ofcom's call-handling standard and resilience guidance, FCC rules on route diversity "
            "and "
            "notification), each as a figure against its limit; the availability figure comes from the time "
            "engine, the answer time from the M/M/c/K queue with abandonment, the others from the network's "
            "structure and distributions.")
    report.section(title, text)
    rows = []
    for r in rules:
        resp = list(r.responsible)
        shown = ", ".join(resp[:_SHOWN]) + (f" and {len(resp) - _SHOWN} more" if len(resp) > _SHOWN else "")
        rows.append({"rule": r.title, "verdict": r.verdict.upper(), "figure": r.figure_text,
                     "limit": r.limit_text, "responsible": shown or "-", "source": r.source})
    report.table(rows, caption="Rules, figures and verdicts", sortable=False)
    return report


def importance_section(report: Report, importance: Mapping[str, Mapping[str, Any]],
                       outputs: Sequence[tuple[str, str]], *, draws: int, figures: int = 2,
                       title: str = "Which assumptions drive the answer") -> Report:
    """Add the share of variance of each output by assumption group (a table each, the first bars).

    ``importance`` maps a key to a :func:`model.metrics.rank_importance.rank_importance` result;
    ``outputs`` lists ``(key, what)`` pairs in the order shown (keys missing from ``importance``
    are skipped). The first ``figures`` outputs also get a bar figure: share with its interval,
    ``(+)``/``(−)`` after the group for the direction.

    Examples
    --------
    >>> import numpy as np
    >>> from model.metrics.rank_importance import rank_importance
    >>> x = np.random.default_rng(0).random((64, 2))
    >>> imp = {"y": rank_importance(x, 3 * x[:, 0] - x[:, 1], ["a", "b"], bootstrap=20)}
    >>> "higher value, fewer" in importance_section(Report("t"), imp, [("y", "y")], draws=64).to_html()
    True
    """
    from model.report.figures import ranked_bar

    shown = [(k, w) for k, w in outputs if k in importance]
    if not shown:
        return report
    words = {1: "higher value, more", -1: "higher value, fewer", 0: "none"}
    sign = {1: " (+)", -1: " (−)", 0: ""}
    r2 = "; ".join(f"{w}: R² {importance[k]['r2']:.2f}" for k, w in shown[:figures])
    r2 += f" (R² expected by chance alone: {importance[shown[0][0]]['r2_null']:.2f})"
    report.section(title, f"Share of the variance of the ranks of each output across the {draws} outer "
                          "draws that each assumption group explains: squared standardised rank regression "
                          "coefficients (SRRC², the shares add up to the R² of the rank regression), with "
                          "90 % bootstrap intervals over the draws; direction is the sign of the coefficient "
                          f"(a higher value of the group gives more or fewer of the output). {r2}.")
    for key, what in shown[:figures]:
        top = importance[key]["inputs"]
        report.figure(ranked_bar([r["input"] + sign[r["direction"]] for r in top], [r["share"] for r in top],
                                 [r["share_p05"] for r in top], [r["share_p95"] for r in top],
                                 title=f"{what[:1].upper()}{what[1:]}: share of variance by assumption group",
                                 x_title="share of the variance of ranks (90% bootstrap interval)",
                                 value_format=".0%"),
                      caption="(+): a higher value of the group gives more; (−): fewer.")
    for key, what in shown:
        imp = importance[key]
        report.table([{"assumption group": r["input"], "share": r["share"],
                       "interval": f"{r['share_p05']:.1%} to {r['share_p95']:.1%}",
                       "direction": words[r["direction"]], "spearman": r["spearman"]}
                      for r in imp["inputs"][:10]],
                     labels={"share": "share of variance", "interval": "90% bootstrap interval",
                             "spearman": "Spearman"},
                     formats={"share": ".1%", "spearman": ".2f"},
                     caption=f"{what}: largest groups (R² {imp['r2']:.2f}; {imp['method']}).")
    return report


def compliance_changes_section(report: Report, baseline: Any, others: Sequence[Any], *,
                               title: str = "Which rules each strategy changes") -> Report:
    """Add a table: one row per strategy, one column per rule (verdict and figure), changes marked.

    ``baseline`` and ``others`` are :class:`~model.metrics.compliance.ComplianceReport` objects
    of the status quo and of each strategy (the same rules in the same order).
    """
    keys = [r.key for r in baseline.rules]
    titles = {r.key: r.title for r in baseline.rules}
    report.section(title, "Each rule's verdict and figure under each strategy; a star marks a rule whose "
                          "figure or verdict differs from the status quo.")
    rows = []
    for rep in (baseline, *others):
        row: dict[str, Any] = {"strategy": rep.label}
        for key in keys:
            r, b = rep.rule(key), baseline.rule(key)
            changed = rep is not baseline and (r.verdict != b.verdict or not math.isclose(
                r.figure, b.figure, rel_tol=1e-9, abs_tol=1e-12))
            row[key] = f"{r.verdict.upper()} {r.figure:.3g}{' *' if changed else ''}"
        rows.append(row)
    report.table(rows, columns=["strategy", *keys], labels={k: titles[k] for k in keys},
                 caption="Figures: breaching months a year; worst service level; single points of failure; "
                         "rooms without shared-risk-disjoint paths; P(advice later than 30 min).")
    return report


def recovery_section(report: Report, rows: Sequence[tuple[str, Any]], *,
                     title: str = "Recovery and loss of service") -> Report:
    """Add recovery curves and expected-unserved metrics per strategy (from
    :func:`model.metrics.recovery.outages_by_strategy`): a figure of the share of demand served
    against the time since an outage began, and a table of expected unreachable calls a year and
    P(a year holds an outage longer than X)."""
    from model.report.figures import band_chart

    if not rows:
        return report
    first = rows[0][1]
    share = first.get("min_share", 0.0)
    what = f"at least {share:.0%} of national demand cut off" if share > 0 else "any demand cut off"
    report.section(title, f"As power-system tools report loss of load. An outage here is a stretch of time "
                          f"with {what}; calls are genuine calls arriving while their demand has no working "
                          "path (structural; redials and fallback lines are in the ranking above). "
                          f"{first['years']:,} simulated years per strategy, the same failure histories.")
    names = [label for label, _ in rows]
    curves = [r["curve"] for _, r in rows]
    report.figure(band_chart(first["curve"]["hours"], [c["served"] for c in curves],
                             [c["ci_low"] for c in curves], [c["ci_high"] for c in curves], names=names,
                             band_label="95% CI", title="Share of demand served since an outage began",
                             x_title="hours since the outage began", y_title="share of demand served",
                             value_format=".4f"),
                  caption="Mean over outages; after an outage ends all demand is served.")
    ex = [r["exceedance"] for _, r in rows]
    report.figure(band_chart(first["exceedance"]["hours"], [e["p"] for e in ex], [e["ci_low"] for e in ex],
                             [e["ci_high"] for e in ex], names=names, band_label="95% CI", log_x=True,
                             title="P(a year holds an outage longer than X)", x_title="X, hours",
                             y_title="probability"),
                  caption="Share of simulated years whose longest outage exceeds X (Wilson intervals).")
    table = []
    for label, r in rows:
        u = r["unreachable_calls_per_year"]
        row: dict[str, Any] = {"strategy": label, "unreachable_calls_per_year": u.value,
                               "ci": f"[{u.ci_low:,.0f}, {u.ci_high:,.0f}]",
                               "outages_per_year": r["outages_per_year"]}
        for h, p in zip(r["exceedance"]["hours"], r["exceedance"]["p"], strict=True):
            if any(abs(h - x) < 1e-9 for x in (1 / 6, 1.0, 4.0, 12.0)):  # four columns keep the table narrow
                row[f"P(> {h * 60:.0f} min)" if h < 1 else f"P(> {h:g} h)"] = p
        table.append(row)
    report.table(table, labels={"unreachable_calls_per_year": "unreachable calls/yr (structural)",
                                "ci": "95% CI", "outages_per_year": "outages/yr"},
                 formats={"unreachable_calls_per_year": ",.0f", "outages_per_year": ".3g"},
                 caption="P(a year holds an outage longer than X); every X from 10 min to 12 h, with Wilson "
                         "intervals, in the figure and the JSON.")
    return report
