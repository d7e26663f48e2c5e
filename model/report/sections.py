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

from typing import Any

from model.report.html import Report

__all__ = ["compliance_section"]

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
