"""Reports: Plotly figures and one self-contained, offline HTML file per study.

:mod:`model.report.figures` holds pure figure functions (data in, ``go.Figure`` out);
:mod:`model.report.html` holds :class:`Report`, which writes them with summary cards,
tables, assumptions and provenance into a single HTML file with plotly.js embedded once.

Examples
--------
>>> from model.report import Report, ranked_bar
>>> r = Report("Demo").figure(ranked_bar(["a", "b"], [2.0, 1.0]), caption="Ranking")
>>> r.n_figures
1
"""

from model.report.figures import (
    PALETTE,
    band_chart,
    convergence_figure,
    cost_effectiveness_figure,
    ecdf,
    histogram,
    incident_timeline,
    layered_network_figure,
    log_heatmap,
    nines_template,
    ranked_bar,
    return_period_figure,
    sobol_bars,
    tornado,
    uk_hex_map,
)
from model.report.html import (
    Report,
    format_ci,
    format_number,
    format_odds,
    format_percent,
    script_json,
    write_atomic,
)
from model.report.sections import (
    compliance_changes_section,
    compliance_section,
    importance_section,
    recovery_section,
)

__all__ = [
    "PALETTE",
    "Report",
    "band_chart",
    "compliance_changes_section",
    "compliance_section",
    "convergence_figure",
    "cost_effectiveness_figure",
    "ecdf",
    "format_ci",
    "format_number",
    "format_odds",
    "format_percent",
    "histogram",
    "importance_section",
    "incident_timeline",
    "layered_network_figure",
    "log_heatmap",
    "nines_template",
    "ranked_bar",
    "recovery_section",
    "return_period_figure",
    "script_json",
    "sobol_bars",
    "tornado",
    "uk_hex_map",
    "write_atomic",
]
