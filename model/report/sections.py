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

from collections.abc import Mapping, Sequence
from typing import Any

from model.report.html import Report

__all__ = ["compliance_section", "importance_section"]

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
