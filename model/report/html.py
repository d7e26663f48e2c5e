"""One self-contained, offline HTML report per study.

:class:`Report` collects key numbers, paragraphs, tables, Plotly figures, an
assumptions table, a convergence figure and a provenance block, and writes them
as ONE HTML file that opens without a network: plotly.js is embedded once
(inline), no external URL is referenced, and a Content-Security-Policy forbids
the page from fetching anything. Every user-supplied string is escaped: with
:func:`html.escape` in markup, and figure JSON embedded in ``<script>`` has
``<``, ``>``, ``&``, U+2028 and U+2029 replaced by ``\\u`` escapes (``\\u003c`` for ``<``), so a
component named ``</script><script>alert(1)</script>`` is inert text.

Markers for browser tests: every figure ``<div>`` has ``data-nines-figure``,
every key number has ``data-key``; once all figures are drawn the page sets
``window.ninesRendered`` to the number of figures rendered.

Examples
--------
>>> import plotly.graph_objects as go
>>> from model.report.html import Report
>>> r = Report("Fallback strategies", subtitle="uk999, quick run")
>>> _ = r.key_number("failed_calls", "Failed calls per year", 1234.5, ci=(1000, 1500))
>>> _ = r.table([{"strategy": "status quo", "failed calls": 1234.5}], caption="Ranking")
>>> _ = r.figure(go.Figure(go.Bar(x=["status quo"], y=[1234.5])), caption="Failed calls")
>>> html_text = r.to_html()
>>> html_text.count("plotly.js v")   # plotly.js embedded exactly once
1
>>> 'data-key="failed_calls"' in html_text
True
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go

__all__ = [
    "Report",
    "format_ci",
    "format_number",
    "format_percent",
    "script_json",
    "write_atomic",
]

#: Trace types that need map tiles, topojson or glyphs from the network: refused.
NETWORK_TRACE_TYPES = frozenset({
    "scattergeo", "choropleth", "scattermapbox", "choroplethmapbox", "densitymapbox",
    "scattermap", "choroplethmap", "densitymap",
})

#: Plotly config: no MathJax typesetting, no topojson/cloud fetches, no logo link.
PLOTLY_CONFIG: dict[str, Any] = {
    "responsive": True,
    "displaylogo": False,
    "typesetMath": False,
    "showLink": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "topojsonURL": "data:,",
    "modeBarButtonsToRemove": ["sendDataToCloud", "select2d", "lasso2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}

_KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")

# Characters that must never appear raw inside an inline <script>: "<" and ">" (end tag,
# "<!--"), "&" (harmless in HTML5 scripts, escaped for XHTML-style parsers) and the JS line
# terminators U+2028/U+2029 (valid in JSON strings, historically not in JS string literals).
_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_SCRIPT_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


# ----------------------------------------------------------------------------------------------
# formatting
# ----------------------------------------------------------------------------------------------

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def format_number(x: Any, digits: int = 3) -> str:
    """Format a number for a reader: thousands separators, ``digits`` significant digits.

    Integers are shown in full; floats of magnitude ``>= 10**digits`` are rounded to
    whole numbers; smaller ones keep ``digits`` significant digits; below ``1e-3``
    scientific notation with a Unicode exponent. ``None`` and NaN give an em dash.

    Parameters
    ----------
    x : int, float, numpy scalar, bool, None or str
        The value; strings are returned unchanged.
    digits : int
        Significant digits for non-integers.

    Returns
    -------
    str

    Examples
    --------
    >>> [format_number(v) for v in (37_000_000, 12345.6, 0.5, 0.012345, 2.5e-6, 0.0, None)]
    ['37,000,000', '12,346', '0.5', '0.0123', '2.5 × 10⁻⁶', '0', '—']
    >>> format_number(float("inf")), format_number(-1234.0), format_number(True)
    ('∞', '-1,234', 'yes')
    """
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, int | np.integer):
        return f"{int(x):,}"
    x = float(x)
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    ax = abs(x)
    if ax >= 10**digits:
        return f"{round(x):,}"
    if ax >= 1e-3:
        text = f"{x:,.{digits}g}"
        if "e" in text:  # e.g. 999.96 -> 1e+03 with 3 digits
            return f"{round(x):,}"
        return text
    mantissa, exponent = f"{x:.{max(digits - 1, 0)}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def format_percent(x: Any, digits: int = 3) -> str:
    """Format a fraction as a percentage with ``digits`` significant digits.

    Examples
    --------
    >>> format_percent(0.1234), format_percent(0.5), format_percent(2e-7), format_percent(None)
    ('12.3%', '50%', '2 × 10⁻⁵%', '—')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{format_number(float(x) * 100, digits)}%"


def format_odds(p: Any) -> str:
    """A small probability as odds a reader can picture: ``about 1 in 12,000``.

    Examples
    --------
    >>> format_odds(8.23e-5), format_odds(0.25), format_odds(0.0), format_odds(None)
    ('about 1 in 12,000', 'about 1 in 4', 'none', '—')
    """
    if p is None or not _is_number(p) or math.isnan(float(p)):
        return "—"
    p = float(p)
    if p <= 0:
        return "none"
    if p >= 1:
        return "every one"
    n = 1.0 / p
    digits = max(0, math.floor(math.log10(n)) - 1)
    rounded = round(n, -digits) if digits else round(n)
    return f"about 1 in {rounded:,.0f}"


def format_ci(low: Any, high: Any, confidence: float = 0.95,
              fmt: Callable[[Any], str] = format_number) -> str:
    """Text for a two-sided confidence interval.

    Examples
    --------
    >>> format_ci(1200.4, 1500)
    '95% CI 1,200 – 1,500'
    >>> format_ci(0.01, 0.02, 0.9, format_percent)
    '90% CI 1% – 2%'
    """
    return f"{_confidence_text(confidence)} CI {fmt(low)} – {fmt(high)}"


def _confidence_text(confidence: float) -> str:
    return f"{format_number(confidence * 100, 4)}%"


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool | np.bool_)


def _is_estimate(x: Any) -> bool:
    return all(hasattr(x, a) for a in ("value", "ci_low", "ci_high", "interval"))


def _estimate_texts(e: Any, fmt: Callable[[Any], str]) -> tuple[str, str]:
    """Value text and interval text for an :class:`~model.results.estimate.Estimate`-like object."""
    conf = getattr(e, "confidence", 0.95)
    if str(e.interval).endswith("-upper"):
        # nothing observed: a one-sided upper bound, never a bare "0"
        return f"≤ {fmt(e.ci_high)}", f"{_confidence_text(conf)} upper bound (none observed)"
    return fmt(e.value), format_ci(e.ci_low, e.ci_high, conf, fmt)


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


# ----------------------------------------------------------------------------------------------
# JSON for <script> and atomic writes
# ----------------------------------------------------------------------------------------------

def script_json(data: Any) -> str:
    """JSON text safe to place inside an inline ``<script>`` element.

    ``data`` may be a Plotly figure (serialised by Plotly's own encoder, numpy arrays
    included), a JSON string, or any ``json``-serialisable object. ``<``, ``>``, ``&``,
    U+2028 and U+2029 are replaced by ``\\u`` escapes (``\\u003c`` for ``<``), which ``JSON.parse`` turns
    back into the same characters.

    Examples
    --------
    >>> script_json({"name": "</script><script>alert(1)</script>"})
    '{"name": "\\\\u003c/script\\\\u003e\\\\u003cscript\\\\u003ealert(1)\\\\u003c/script\\\\u003e"}'
    >>> json.loads(script_json({"a": "x & y"}))["a"]
    'x & y'
    """
    if isinstance(data, go.Figure):
        text = data.to_json(validate=False)
    elif isinstance(data, str):
        text = data
    else:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return _SCRIPT_ESCAPE_RE.sub(lambda m: _SCRIPT_ESCAPES[m.group(0)], text)


def write_atomic(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically: temp file in the same directory, then rename.

    Readers see either the old file or the complete new one, never a partial file; on
    any error the temporary file is removed and the target is left untouched.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_atomic(Path(d) / "a.html", "<p>hi</p>")
    ...     p.read_text(), sorted(x.name for x in Path(d).iterdir())
    ('<p>hi</p>', ['a.html'])
    """
    path = Path(path)
    data = text.encode(encoding)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never clobber someone else's temp file; mode 0o666 lets the umask decide.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


@cache
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs()
    if re.search(r"</script", js, re.IGNORECASE):  # pragma: no cover - plotly.js never contains it
        raise RuntimeError("plotly.js bundle contains '</script' and cannot be inlined")
    return js


# ----------------------------------------------------------------------------------------------
# blocks
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _KeyNumber:
    key: str
    label: str
    value: str
    ci: str
    unit: str
    note: str


@dataclass(frozen=True)
class _Block:
    kind: str  # "section", "paragraph", "table", "figure"
    html: str


class Report:
    """Builder for one self-contained, offline HTML report.

    Methods return the report itself, so calls can be chained. Summary cards go at
    the top, the blocks added with :meth:`section`, :meth:`paragraph`, :meth:`table`
    and :meth:`figure` follow in order, then the fixed closing sections: convergence,
    assumptions and provenance (each only when given).

    Parameters
    ----------
    title : str
        Report title (escaped).
    subtitle : str, optional
        One line under the title (escaped).

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> r = (Report("N-1 screening", subtitle="uk999")
    ...      .key_number("spof", "Single points of failure", 3)
    ...      .section("Ranking")
    ...      .figure(go.Figure(go.Bar(x=[1, 2], y=["a", "b"], orientation="h")), caption="Top outages")
    ...      .assumptions([("Repair time", "4 h", "assumption: typical site repair")])
    ...      .provenance({"version": "0.1.0", "seed": 12345}))
    >>> r.n_figures
    1
    >>> text = r.to_html()
    >>> text.count("data-nines-figure="), "Single points of failure" in text
    (1, True)
    """

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title = str(title)
        self.subtitle = str(subtitle)
        self._cards: list[_KeyNumber] = []
        self._blocks: list[_Block] = []
        self._figure_json: list[str] = []
        self._convergence: list[str] = []
        self._assumptions: list[tuple[str, str, str]] = []
        self._provenance: dict[str, Any] | None = None
        self._sections: list[tuple[str, str]] = []  # (anchor id, title) for the contents line
        self._banners: list[tuple[str, str]] = []  # (kind, text) shown above everything
        self._tables: list[tuple[str, list[str], list[list[Any]]]] = []  # (caption, header, body) for CSV
        self._bibliography: list[dict[str, Any]] = []
        self._json_name: str | None = None

    # -- properties -------------------------------------------------------------------------
    @property
    def n_figures(self) -> int:
        """Number of figures (including the convergence figure) the report will render."""
        return len(self._figure_json)

    @property
    def source_texts(self) -> list[str]:
        """Every source string of the assumptions table (for :func:`model.report.sources.bibliography`)."""
        return [s for _p, _v, s in self._assumptions]

    @property
    def keys(self) -> list[str]:
        """The ``data-key`` of every key number, in order."""
        return [c.key for c in self._cards]

    # -- summary ----------------------------------------------------------------------------
    def key_number(
        self,
        key: str,
        label: str,
        value: Any,
        ci: tuple[float, float] | str | None = None,
        *,
        unit: str = "",
        note: str = "",
        confidence: float = 0.95,
        fmt: Callable[[Any], str] = format_number,
    ) -> Report:
        """Add a summary card: a labelled key number with its interval.

        Parameters
        ----------
        key : str
            Stable identifier (letters, digits, ``_.:-``), written as ``data-key``.
        label : str
            What the number is.
        value : number, str or Estimate
            An :class:`~model.results.estimate.Estimate` supplies its own interval (and shows a
            one-sided bound as ``≤ x`` when nothing was observed).
        ci : (low, high) or str, optional
            Interval for a plain number, or ready-made interval text.
        unit : str, optional
            Shown after the value.
        note : str, optional
            Small print under the card.
        confidence : float
            Confidence level of ``ci``.
        fmt : callable
            Number formatter (:func:`format_number`, :func:`format_percent`, ...).

        Examples
        --------
        >>> from model.results.estimate import binomial_estimate
        >>> r = Report("t").key_number("p", "Unreachable share", binomial_estimate(0, 1000, method="mc"),
        ...                            fmt=format_percent)
        >>> "≤ 0.299%" in r.to_html()
        True
        """
        key = str(key)
        if not _KEY_RE.match(key):
            raise ValueError(f"key number key {key!r}: use 1-100 letters, digits or _.:- characters")
        if key in self.keys:
            raise ValueError(f"key number key {key!r} is used twice")
        if _is_estimate(value):
            value_text, ci_text = _estimate_texts(value, fmt)
            if ci is not None:
                ci_text = ci if isinstance(ci, str) else format_ci(ci[0], ci[1], confidence, fmt)
        else:
            value_text = fmt(value) if not isinstance(value, str) else value
            if ci is None:
                ci_text = ""
            elif isinstance(ci, str):
                ci_text = ci
            else:
                ci_text = format_ci(ci[0], ci[1], confidence, fmt)
        self._cards.append(_KeyNumber(key, str(label), value_text, ci_text, str(unit), str(note)))
        return self

    def banner(self, text: str, kind: str = "quick") -> Report:
        """A banner above the summary: ``kind`` "quick" (a fast, smaller run) or "warning".

        Examples
        --------
        >>> "This is a quick run" in Report("t").banner("This is a quick run").to_html()
        True
        """
        if kind not in ("quick", "warning"):
            raise ValueError(f"banner kind {kind!r}: use 'quick' or 'warning'")
        self._banners.append((kind, str(text)))
        return self

    def link_json(self, filename: str) -> Report:
        """Link the study's JSON file (a sibling of the report) in the downloads line."""
        self._json_name = Path(str(filename)).name
        return self

    def bibliography(self, entries: Iterable[Mapping[str, Any]]) -> Report:
        """Set the sources section: ``key``, ``text``, optional ``confidence`` (H/M/L), ``urls``, ``cited``.

        Build the entries with :func:`model.report.sources.bibliography`. Only ``http(s)`` links are made
        clickable; every text is escaped.
        """
        self._bibliography = [dict(e) for e in entries]
        return self

    # -- body -------------------------------------------------------------------------------
    def section(self, title: str, text: str = "") -> Report:
        """Start a new section with a heading (listed in the contents line)."""
        anchor = f"section-{len(self._sections) + 1}"
        self._sections.append((anchor, str(title)))
        body = f'<h2 id="{anchor}">{_esc(title)}</h2>'
        if text:
            body += f"\n<p>{_esc(text)}</p>"
        self._blocks.append(_Block("section", body))
        return self

    def paragraph(self, text: str, *, note: bool = False) -> Report:
        """Add a paragraph of plain text (escaped; blank lines split paragraphs).

        ``note=True`` renders it as a highlighted call-out (limitations, caveats).
        """
        paras = [p.strip() for p in re.split(r"\n\s*\n", str(text)) if p.strip()]
        cls = ' class="note"' if note else ""
        self._blocks.append(_Block("paragraph", "\n".join(f"<p{cls}>{_esc(p)}</p>" for p in paras)))
        return self

    def table(
        self,
        rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]],
        columns: Sequence[str] | None = None,
        *,
        caption: str = "",
        labels: Mapping[str, str] | None = None,
        formats: Mapping[str, str | Callable[[Any], str]] | None = None,
        sortable: bool = True,
        digits: int = 3,
        collapsed: str | None = None,
    ) -> Report:
        """Add a table from a list of dicts, or from rows with a header.

        Numbers are formatted (:func:`format_number`, or per column with ``formats``),
        right-aligned, and carry their raw value for sorting; ``None``/NaN show as a dash;
        an Estimate shows ``value [low, high]``.

        Parameters
        ----------
        rows : list of dict, or list of sequences
            Table body.
        columns : list of str, optional
            Column keys and order; required for sequence rows (it is the header). For dict
            rows defaults to the keys in first-seen order.
        caption : str, optional
            Table caption.
        labels : dict, optional
            Header text per column key (default: the key).
        formats : dict, optional
            Per column: a format spec for :func:`format` (``".1%"``, ``",.0f"``) or a callable
            returning the cell text.
        sortable : bool
            Clicking a header sorts by that column (plain JavaScript).
        digits : int
            Significant digits for numbers without an explicit format.
        collapsed : str, optional
            Show the table folded under this one-line summary (a ``<details>`` element the reader opens).

        Examples
        --------
        >>> r = Report("t").table([[1234567, 0.000012], [2, None]], ["calls", "p"],
        ...                       formats={"p": ".2e"}, caption="Example")
        >>> html_text = r.to_html()
        >>> "1,234,567" in html_text and "1.20e-05" in html_text and 'data-sort="1234567' in html_text
        True
        """
        rows = list(rows)
        if rows and isinstance(rows[0], Mapping):
            if columns is None:
                seen: dict[str, None] = {}
                for row in rows:
                    if not isinstance(row, Mapping):
                        raise TypeError("table rows must be all dicts or all sequences")
                    seen.update(dict.fromkeys(map(str, row)))
                columns = list(seen)
            body = [[row.get(c) for c in columns] for row in rows]  # type: ignore[union-attr]
        else:
            if columns is None:
                raise ValueError("table: rows given as sequences need `columns` (the header)")
            body = []
            for i, row in enumerate(rows):
                if isinstance(row, Mapping | str) or not isinstance(row, Sequence | np.ndarray):
                    raise TypeError("table rows must be all dicts or all sequences")
                row = list(row)
                if len(row) != len(columns):
                    raise ValueError(f"table row {i} has {len(row)} cells, header has {len(columns)}")
                body.append(row)
        columns = [str(c) for c in columns]
        labels = labels or {}
        formats = formats or {}
        unknown = set(formats) - set(columns)
        if unknown:
            raise ValueError(f"table formats for unknown columns: {sorted(unknown)}")

        numeric_col = [any(_is_number(r[j]) or _is_estimate(r[j]) for r in body) for j in range(len(columns))]
        num_attr = ' class="num"'
        head = "".join(
            f'<th scope="col"{num_attr if numeric_col[j] else ""}>{_esc(labels.get(c, c))}</th>'
            for j, c in enumerate(columns)
        )
        lines = []
        for r in body:
            cells = []
            for j, c in enumerate(columns):
                cells.append(_cell_html(r[j], formats.get(c), digits, numeric_col[j]))
            lines.append("<tr>" + "".join(cells) + "</tr>")
        attrs = ' class="data sortable"' if sortable else ' class="data"'
        cap = f"<caption>{_esc(caption)}</caption>" if caption else ""
        k = len(self._tables) + 1
        self._tables.append((str(caption), [str(labels.get(c, c)) for c in columns], body))
        html_table = (f'<div class="table-wrap"><table{attrs} data-table="{k}">{cap}<thead><tr>{head}</tr>'
                      f"</thead><tbody>\n" + "\n".join(lines) + "\n</tbody></table></div>")
        if collapsed is not None:
            html_table = f"<details><summary>{_esc(collapsed)}</summary>{html_table}</details>"
        self._blocks.append(_Block("table", html_table + f"{_CSV_LINK_MARK}{k}{_CSV_LINK_MARK}"))
        return self

    def csv_files(self, stem: str) -> dict[str, str]:
        """Every table as CSV text, keyed by file name (``<stem>.table-<k>.csv``).

        Numbers are written in full (not as displayed); an Estimate gives three columns' worth of text
        (value, low, high) in one cell as ``value [low, high]``.

        Examples
        --------
        >>> r = Report("t").table([{"strategy": "A, with comma", "calls": 1234.5}])
        >>> r.csv_files("demo")["demo.table-1.csv"].splitlines()
        ['strategy,calls', '"A, with comma",1234.5']
        """
        out = {}
        for k, (_caption, header, body) in enumerate(self._tables, start=1):
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(header)
            for row in body:
                w.writerow([_csv_cell(v) for v in row])
            out[f"{stem}.table-{k}.csv"] = buf.getvalue()
        return out

    def figure(self, fig: go.Figure, caption: str = "", *, height: int | None = None) -> Report:
        """Add an interactive Plotly figure (rendered offline by the embedded plotly.js).

        Parameters
        ----------
        fig : plotly.graph_objects.Figure
            Any figure except map/geo traces (they fetch tiles or topojson from the network).
        caption : str, optional
            Text under the figure (escaped).
        height : int, optional
            Pixel height, overriding the figure's own.
        """
        self._blocks.append(_Block("figure", self._figure_html(fig, caption, height)))
        return self

    def convergence(self, fig: go.Figure, caption: str = "") -> Report:
        """Set the convergence figure, shown in its own section near the end."""
        self._convergence.append(self._figure_html(fig, caption, None))
        return self

    def assumptions(self, rows: Iterable[Mapping[str, Any] | Sequence[Any]]) -> Report:
        """Add rows to the assumptions table: parameter, value, source or stated assumption.

        Rows are ``(parameter, value, source)`` tuples or dicts with those keys. A source
        starting with ``assumption`` is tagged as such, so readers see what is sourced.
        """
        for row in rows:
            if isinstance(row, Mapping):
                missing = {"parameter", "value", "source"} - set(row)
                if missing:
                    raise ValueError(f"assumption row {dict(row)!r} lacks {sorted(missing)}")
                p, v, s = row["parameter"], row["value"], row["source"]
            else:
                p, v, s = row
            v_text = format_number(v) if _is_number(v) else str(v)
            s = re.sub(r"^(assumption:\s*)+", "assumption: ", str(s).strip(), flags=re.I)
            self._assumptions.append((str(p), v_text, s))
        return self

    def provenance(self, info: Mapping[str, Any]) -> Report:
        """Set the provenance block (version, commit, seed, scenario hash, runtime, ...).

        Values are shown verbatim (no thousands separators: seeds and hashes stay exact);
        nested dicts become nested definition lists.
        """
        self._provenance = dict(info)
        return self

    # -- output -----------------------------------------------------------------------------
    def to_html(self, files_stem: str | None = None) -> str:
        """The complete HTML document as a string.

        With ``files_stem`` (what :meth:`write` passes: the report's file name without ``.html``) each table
        links its CSV file and a downloads line links them and the JSON given to :meth:`link_json`.
        """
        from model.version import __version__

        parts: list[str] = []
        nav = list(self._sections)
        if self._bibliography:
            nav.append(("sources", "Sources"))
        if self._convergence:
            nav.append(("convergence", "Convergence"))
        if self._assumptions:
            nav.append(("assumptions", "Assumptions and sources"))
        if self._provenance is not None:
            nav.append(("provenance", "Provenance"))

        parts.append('<header class="top"><div class="wrap">')
        parts.append('<p class="kicker">nines · emergency call resilience</p>')
        parts.append(f"<h1>{_esc(self.title)}</h1>")
        if self.subtitle:
            parts.append(f'<p class="subtitle">{_esc(self.subtitle)}</p>')
        if nav:
            links = "".join(f'<li><a href="#{a}">{_esc(t)}</a></li>' for a, t in nav)
            parts.append(f'<nav aria-label="Contents"><ul>{links}</ul></nav>')
        parts.append("</div></header>")
        parts.append('<main class="wrap">')
        for kind, text in self._banners:
            parts.append(f'<div class="banner banner-{kind}" role="status" data-banner="{kind}">'
                         f"{_esc(text)}</div>")
        downloads = self._download_links(files_stem)
        if downloads:
            parts.append(f'<p class="downloads">Downloads: {downloads}</p>')
        if self._cards:
            parts.append('<section class="summary" aria-label="Key numbers"><div class="cards">')
            for c in self._cards:
                unit = f' <span class="kn-unit">{_esc(c.unit)}</span>' if c.unit else ""
                ci = f'<div class="kn-ci">{_esc(c.ci)}</div>' if c.ci else ""
                note = f'<div class="kn-note">{_esc(c.note)}</div>' if c.note else ""
                parts.append(
                    f'<div class="card" data-key="{_esc(c.key)}"><div class="kn-label">{_esc(c.label)}</div>'
                    f'<div class="kn-value">{_esc(c.value)}{unit}</div>{ci}{note}</div>'
                )
            parts.append("</div></section>")
        for b in self._blocks:
            parts.append(_CSV_LINK_RE.sub(lambda m: self._csv_link(files_stem, int(m.group(1))), b.html))
        if self._convergence:
            parts.append('<h2 id="convergence">Convergence</h2>')
            parts.extend(self._convergence)
        if self._assumptions:
            parts.append('<h2 id="assumptions">Assumptions and sources</h2>')
            rows = []
            for p, v, s in self._assumptions:
                tag = ' class="assumed"' if s.strip().lower().startswith("assumption") else ""
                rows.append(f"<tr><td>{_esc(p)}</td><td>{_esc(v)}</td><td{tag}>{_esc(s)}</td></tr>")
            parts.append(
                '<div class="table-wrap"><table class="data assumptions"><thead><tr>'
                '<th scope="col">Parameter</th><th scope="col">Value</th>'
                '<th scope="col">Source or assumption</th></tr></thead><tbody>\n'
                + "\n".join(rows) + "\n</tbody></table></div>"
            )
        if self._bibliography:
            parts.append(_bibliography_html(self._bibliography))
        if self._provenance is not None:
            parts.append('<h2 id="provenance">Provenance</h2>')
            parts.append(_definition_list(self._provenance, "provenance"))
        parts.append("</main>")
        parts.append(
            f'<footer><div class="wrap"><p>Generated by nines {_esc(__version__)}. A self-contained file: '
            "it opens offline and fetches nothing.</p></div></footer>"
        )
        body = "\n".join(parts)
        n = self.n_figures
        plotly_js = f"<script>{_plotly_js()}</script>" if n else ""
        render = _RENDER_JS.replace("__CONFIG__", script_json(PLOTLY_CONFIG))
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
            '<meta name="generator" content="nines">\n'
            f"<title>{_esc(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f"{body}\n{plotly_js}\n<script>{render}</script>\n</body>\n</html>\n"
        )

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Render and write the report and its tables' CSV files atomically; returns the HTML path.

        Everything is rendered before anything touches the disk, so an error leaves neither a partial
        report nor a temporary file; the CSV files are written first, so the report's links resolve.

        Parameters
        ----------
        path : str or PathLike
            Where the single offline HTML file goes (parent folders are made); each table's CSV
            goes beside it.

        Returns
        -------
        Path

        Raises
        ------
        OSError
            The folder cannot be made or written.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = Report("Demo").paragraph("<b>escaped</b>").write(pathlib.Path(d) / "r.html")
        ...     "&lt;b&gt;escaped&lt;/b&gt;" in p.read_text()
        True
        """
        path = Path(path)
        stem = path.name[:-5] if path.name.endswith(".html") else path.stem
        text = self.to_html(files_stem=stem)
        files = self.csv_files(stem)
        path.parent.mkdir(parents=True, exist_ok=True)
        for name, body in files.items():
            write_atomic(path.parent / name, body)
        return write_atomic(path, text)

    def _csv_link(self, stem: str | None, k: int) -> str:
        if stem is None:
            return ""
        name = f"{stem}.table-{k}.csv"
        return f'<p class="table-download"><a href="{_esc(name)}" download>Download this table (CSV)</a></p>'

    def _download_links(self, stem: str | None) -> str:
        links = []
        if self._json_name:
            links.append(f'<a href="{_esc(self._json_name)}" download>all results (JSON)</a>')
        if stem is not None:
            links += [f'<a href="{_esc(n)}" download>table {k} (CSV)</a>'
                      for k, n in enumerate(self.csv_files(stem), start=1)]
        return " · ".join(links)

    # -- internals --------------------------------------------------------------------------
    def _figure_html(self, fig: go.Figure, caption: str, height: int | None) -> str:
        if not isinstance(fig, go.Figure):
            raise TypeError(f"figure must be a plotly.graph_objects.Figure, not {type(fig).__name__}")
        bad = sorted({t.type for t in fig.data} & NETWORK_TRACE_TYPES)
        if bad:
            raise ValueError(f"figure trace types {bad} load maps or topojson from the network; "
                             "reports must open offline")
        if height is not None:
            fig = go.Figure(fig)
            fig.update_layout(height=int(height))
        fid = f"nines-fig-{len(self._figure_json) + 1}"
        payload = script_json(fig)
        self._figure_json.append(payload)
        h = fig.layout.height or 450
        cap = f"<figcaption>{_esc(caption)}</figcaption>" if caption else ""
        return (
            f'<figure class="fig"><div class="plot" id="{fid}" data-nines-figure="{fid}" '
            f'style="min-height:{int(h)}px"></div>'
            f'<script type="application/json" id="{fid}-json">{payload}</script>{cap}</figure>'
        )


def _cell_html(v: Any, spec: str | Callable[[Any], str] | None, digits: int, numeric_column: bool) -> str:
    sort_key: float | None = None
    if _is_estimate(v):
        value_text, _ = _estimate_texts(v, format_number)
        text = f"{value_text} [{format_number(v.ci_low)}, {format_number(v.ci_high)}]"
        sort_key = float(v.value)
        num = True
    else:
        num = _is_number(v)
        if num:
            sort_key = float(v)
        if v is None or (num and math.isnan(float(v))):
            text, sort_key = "—", None
        elif callable(spec):
            text = spec(v)
        elif spec is not None:
            text = format(v, spec)
        elif num:
            text = format_number(v, digits)
        else:
            text = format_number(v) if isinstance(v, bool | np.bool_) else str(v)
    attrs = ""
    if num or numeric_column:
        attrs = ' class="num"'
    if sort_key is not None and math.isfinite(sort_key):
        attrs += f' data-sort="{sort_key!r}"'
    elif sort_key is not None:
        attrs += f' data-sort="{"1e308" if sort_key > 0 else "-1e308"}"'
    return f"<td{attrs}>{_esc(text)}</td>"


def _definition_list(info: Mapping[str, Any], cls: str = "") -> str:
    items = []
    for k, v in info.items():
        if isinstance(v, Mapping):
            dd = _definition_list(v) if v else "—"
        elif isinstance(v, list | tuple):
            dd = _esc(", ".join(map(str, v))) if v else "—"
        else:
            dd = _esc("—" if v is None else v)
        items.append(f"<dt>{_esc(k)}</dt><dd>{dd}</dd>")
    c = f' class="{cls}"' if cls else ""
    return f"<dl{c}>" + "".join(items) + "</dl>"


_CSV_LINK_MARK = "\x00csv\x00"
_CSV_LINK_RE = re.compile(re.escape(_CSV_LINK_MARK) + r"(\d+)" + re.escape(_CSV_LINK_MARK))
_URL_RE = re.compile(r"https?://[^\s<>\"';)]+[^\s<>\"';).,]")


def _csv_cell(v: Any) -> str:
    if _is_estimate(v):
        return f"{v.value!r} [{v.ci_low!r}, {v.ci_high!r}]"
    if v is None or (_is_number(v) and math.isnan(float(v))):
        return ""
    if isinstance(v, float | np.floating):
        return repr(float(v))
    return str(v)


def _linked(text: str) -> str:
    """Escaped text with its http(s) URLs as links (each piece escaped on its own)."""
    out, last = [], 0
    for m in _URL_RE.finditer(text):
        out.append(_esc(text[last:m.start()]))
        url = m.group(0)
        out.append(f'<a href="{_esc(url)}" rel="noopener noreferrer" target="_blank">{_esc(url)}</a>')
        last = m.end()
    out.append(_esc(text[last:]))
    return "".join(out)


_CONFIDENCE = {"H": "high: a regulator's, government's or the service's own text",
               "M": "medium: a reputable secondary source",
               "L": "low: a single unverified source"}


def _bibliography_html(entries: Sequence[Mapping[str, Any]]) -> str:
    legend = " · ".join(f"<b>{k}</b> {_esc(v)}" for k, v in _CONFIDENCE.items())
    rows = []
    for e in entries:
        conf = str(e.get("confidence") or "")
        cited = e.get("cited")
        rng = str(e.get("range") or "")
        rng_html = f'<div class="range">Range varied: {_esc(rng)}</div>' if rng else ""
        rows.append(
            f'<tr id="src-{_esc(e["key"])}"><td><code>{_esc(e["key"])}</code></td>'
            f'<td class="conf">{_esc(conf or "—")}</td><td>{_linked(str(e["text"]))}{rng_html}</td>'
            f'<td class="num">{"" if cited is None else int(cited)}</td></tr>')
    return ('<h2 id="sources">Sources</h2>'
            f'<p class="legend">Confidence: {legend}. Keys starting with <code>A_</code> are stated '
            "assumptions (no public source gives the value); where the uncertainty analysis varies one, "
            "its range is given under the reference.</p>"
            '<div class="table-wrap"><table class="data sources"><thead><tr><th scope="col">Key</th>'
            '<th scope="col">Confidence</th><th scope="col">Reference</th>'
            '<th scope="col" class="num">Cited</th></tr></thead><tbody>\n' + "\n".join(rows)
            + "\n</tbody></table></div>")


# Nothing may be fetched: no connect/img/font from anywhere but inline/data/blob.
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; worker-src blob:; base-uri 'none'; form-action 'none'"
)

_RENDER_JS = r"""
(function () {
  "use strict";
  var config = __CONFIG__;
  var divs = Array.prototype.slice.call(document.querySelectorAll("[data-nines-figure]"));
  var done = 0;
  var jobs = divs.map(function (div) {
    try {
      var spec = JSON.parse(document.getElementById(div.id + "-json").textContent);
      var layout = spec.layout || {};
      layout.autosize = true;
      return Promise.resolve(Plotly.newPlot(div, spec.data || [], layout, config)).then(
        function () { done += 1; },
        function (err) { console.error("nines: figure " + div.id + " failed to render: " + err); });
    } catch (err) {
      console.error("nines: figure " + div.id + " failed to render: " + err);
      return Promise.resolve();
    }
  });
  Promise.all(jobs).then(function () { window.ninesRendered = done; });

  // Every figure's data can be taken away: a CSV of its traces, built here (nothing is fetched).
  function csvCell(v) {
    if (v === null || v === undefined) { return ""; }
    var s = String(v);
    return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function figureCsv(spec) {
    var lines = ["trace,point,x,y,z,label"];
    (spec.data || []).forEach(function (tr, ti) {
      var xs = tr.x || [], ys = tr.y || [], zs = tr.z || [], ls = tr.text || tr.labels || [];
      var n = Math.max(xs.length || 0, ys.length || 0, zs.length || 0);
      var name = tr.name || ("trace " + (ti + 1));
      for (var i = 0; i < n; i++) {
        lines.push([name, i, xs[i], ys[i], Array.isArray(zs[i]) ? zs[i].join(" ") : zs[i],
                    Array.isArray(ls) ? ls[i] : ls].map(csvCell).join(","));
      }
    });
    return lines.join("\n") + "\n";
  }
  divs.forEach(function (div) {
    var btn = document.createElement("button");
    btn.type = "button";
    btn.className = "fig-data";
    btn.textContent = "Download the data of this figure (CSV)";
    btn.addEventListener("click", function () {
      var spec = JSON.parse(document.getElementById(div.id + "-json").textContent);
      var blob = new Blob([figureCsv(spec)], {type: "text/csv"});
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = div.id + ".csv";
      document.body.appendChild(a);
      a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
    });
    div.parentNode.insertBefore(btn, div.nextSibling);
  });

  // Sortable tables: click a header to sort by that column (numbers by their raw value).
  function cellKey(td) {
    if (!td) { return {num: false, v: ""}; }
    var s = td.getAttribute("data-sort");
    if (s !== null) { return {num: true, v: parseFloat(s)}; }
    return {num: false, v: td.textContent.trim()};
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var ths = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(ths, function (th, col) {
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      th.title = "Sort by this column";
      function sort() {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(ths, function (o) { o.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var keyed = rows.map(function (r, i) { return {r: r, i: i, k: cellKey(r.cells[col])}; });
        keyed.sort(function (a, b) {
          var ea = a.k.v === "" || a.k.v === "\u2014", eb = b.k.v === "" || b.k.v === "\u2014";
          if (ea !== eb) { return ea ? 1 : -1; }  // blanks last either way
          var c;
          if (a.k.num && b.k.num) { c = a.k.v - b.k.v; }
          else if (a.k.num !== b.k.num) { c = a.k.num ? -1 : 1; }
          else { c = a.k.v.localeCompare(b.k.v, undefined, {numeric: true}); }
          if (!asc) { c = -c; }
          return c !== 0 ? c : a.i - b.i;
        });
        keyed.forEach(function (x) { body.appendChild(x.r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
      });
    });
  });
})();
"""

_CSS = r"""
:root {
  --ink: #1d2433; --muted: #5b6478; --line: #dde2ea; --soft: #f5f7fa; --accent: #1f5fa8;
  --warn-bg: #fff8e6; --warn-line: #e8c36a;
  --sans: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans",
          "Liberation Sans", "DejaVu Sans", sans-serif;
  --mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font-family: var(--sans); font-size: 15px; line-height: 1.55; color: var(--ink);
       background: #fff; }
.wrap { max-width: 1120px; margin: 0 auto; padding: 0 28px; }
.banner { margin: 18px 0 0; padding: 10px 14px; border-radius: 6px; font-weight: 600; }
.banner-quick { background: #fdecea; border: 1px solid #e0a39a; color: #7a2418; }
.banner-warning { background: var(--warn-bg); border: 1px solid var(--warn-line); }
.downloads, .table-download { font-size: 13px; color: var(--muted); margin: 8px 0; }
.legend { font-size: 13px; color: var(--muted); }
table.sources td.conf { text-align: center; font-weight: 600; }
table.sources div.range { font-size: 13px; color: var(--muted); margin-top: 2px; }
details > summary { cursor: pointer; color: var(--accent); margin: 8px 0; }
button.fig-data { font: inherit; font-size: 12px; color: var(--accent); background: none; border: 0;
                  padding: 2px 0; cursor: pointer; text-decoration: underline; }
header.top { background: var(--soft); border-bottom: 1px solid var(--line); padding: 26px 0 16px; }
.kicker { margin: 0 0 4px; font-size: 12px; letter-spacing: .08em; text-transform: uppercase;
          color: var(--muted); }
h1 { margin: 0; font-size: 28px; line-height: 1.2; font-weight: 650; letter-spacing: -.01em; }
.subtitle { margin: 6px 0 0; color: var(--muted); font-size: 16px; }
nav ul { list-style: none; margin: 14px 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 18px; }
nav a { color: var(--accent); text-decoration: none; font-size: 14px; }
nav a:hover { text-decoration: underline; }
main { padding-top: 8px; padding-bottom: 24px; }
h2 { font-size: 20px; font-weight: 650; margin: 34px 0 10px; padding-bottom: 6px;
     border-bottom: 1px solid var(--line); }
p { margin: 8px 0 12px; max-width: 78ch; }
p.note { background: var(--warn-bg); border-left: 4px solid var(--warn-line); padding: 10px 14px;
         max-width: none; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 14px;
         margin: 20px 0 8px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; background: #fff;
        box-shadow: 0 1px 2px rgba(16, 24, 40, .04); }
.kn-label { font-size: 13px; color: var(--muted); line-height: 1.3; overflow-wrap: anywhere; }
.kn-value { font-size: 26px; font-weight: 650; margin-top: 6px; font-variant-numeric: tabular-nums;
            line-height: 1.2; overflow-wrap: anywhere; }
.kn-unit { font-size: 14px; font-weight: 500; color: var(--muted); }
.kn-ci { font-size: 13px; color: var(--ink); margin-top: 4px; font-variant-numeric: tabular-nums;
         overflow-wrap: anywhere; }
.kn-note { font-size: 12px; color: var(--muted); margin-top: 6px; overflow-wrap: anywhere; }
.table-wrap { overflow-x: auto; margin: 12px 0 18px; }
table.data { border-collapse: collapse; width: 100%; font-size: 14px; font-variant-numeric: tabular-nums; }
table.data caption { caption-side: top; text-align: left; font-weight: 600; padding: 0 0 8px; }
table.data th, table.data td { padding: 7px 12px; border-bottom: 1px solid var(--line); text-align: left;
                               vertical-align: top; }
table.data thead th { background: var(--soft); font-weight: 600; border-bottom: 2px solid #c9d1dd;
                      position: sticky; top: 0; min-width: 6ch; }
table.data td { overflow-wrap: anywhere; }
table.data tbody tr:nth-child(even) { background: #fafbfc; }
table.data tbody tr:hover { background: #eef3fa; }
table.data td.num { text-align: right; white-space: nowrap; }
table.data th.num { text-align: right; }
table.sortable thead th { cursor: pointer; user-select: none; }
table.sortable thead th::after { content: " \2195"; color: #a3acba; font-size: 12px; }
table.sortable thead th[aria-sort="ascending"]::after { content: " \25B2"; color: var(--accent); }
table.sortable thead th[aria-sort="descending"]::after { content: " \25BC"; color: var(--accent); }
table.assumptions td:first-child { font-weight: 500; }
td.assumed { color: #7a5a00; font-style: italic; }
figure.fig { margin: 16px 0 26px; }
figure.fig .plot { width: 100%; border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 8px; max-width: 90ch; }
dl.provenance { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; font-size: 14px; }
dl.provenance dt { color: var(--muted); }
dl.provenance dd { margin: 0; font-family: var(--mono); font-size: 13px; overflow-wrap: anywhere; }
dl.provenance dd dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; }
dl.provenance dd dl dt { font-family: var(--sans); }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
footer p { border-top: 1px solid var(--line); padding: 14px 0 28px; margin: 0; max-width: none; }
@media print {
  header.top { background: none; }
  nav { display: none; }
  figure.fig, .card, table { break-inside: avoid; }
}
"""
