"""Unit tests of the report layer: offline HTML, escaping, atomic writes, tables, numbers, figures."""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from browser import EVIL_NAME, full_report
from hypothesis import given
from hypothesis import strategies as st
from plotly.offline import get_plotlyjs

import model.report.html as report_html
from model.report import (
    Report,
    band_chart,
    convergence_figure,
    ecdf,
    format_ci,
    format_number,
    format_percent,
    histogram,
    layered_network_figure,
    ranked_bar,
    script_json,
    tornado,
    write_atomic,
)
from model.results.estimate import binomial_estimate


class _Collector(HTMLParser):
    """Every start tag with its attributes, and the raw text of every <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        else:
            self.text.append(data)


def _parse(text: str) -> _Collector:
    c = _Collector()
    c.feed(text)
    c.close()
    return c


@pytest.fixture(scope="module")
def evil_html() -> tuple[str, int]:
    report, n_fig, _ = full_report(EVIL_NAME)
    return report.to_html(), n_fig


# ----------------------------------------------------------------------------------------------
# offline: plotly.js once, no URL fetched
# ----------------------------------------------------------------------------------------------

def test_plotly_embedded_once_and_nothing_external(evil_html: tuple[str, int]) -> None:
    text, _ = evil_html
    js = get_plotlyjs()
    assert text.count(js) == 1
    assert text.count("plotly.js v") == 1
    rest = text.replace(js, "")
    # no src/href/url()/@import pointing anywhere (protocol-relative included)
    attr_url = r"""(?:src|href|action|srcset)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//"""
    assert not re.search(attr_url, rest, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//", rest, re.I)
    assert "@import" not in rest
    assert '"typesetMath": false' in rest and '"topojsonURL": "data:,"' in rest  # no MathJax, no topojson
    # the only http(s) URL is the user's assumption source, as escaped text in a table cell
    urls = re.findall(r"https?://[^\s<\"']*", rest)
    assert urls == ["https://example.org/source?a=1&amp;b=2"]
    parsed = _parse(text)
    assert not any(a.get("src") or a.get("href", "#").split("#")[0] for _, a in parsed.tags), \
        "only in-page anchors allowed"
    # a Content-Security-Policy forbids fetching anything
    csp = [a["content"] for t, a in parsed.tags
           if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(csp) == 1 and "default-src 'none'" in csp[0] and "connect-src" not in csp[0]


def test_report_without_figures_has_no_plotly() -> None:
    text = Report("t").paragraph("only text").to_html()
    assert "plotly.js v" not in text and 'data-nines-figure="' not in text


def test_network_traces_refused() -> None:
    with pytest.raises(ValueError, match="offline"):
        Report("t").figure(go.Figure(go.Scattergeo(lon=[0], lat=[51])))
    with pytest.raises(TypeError, match="plotly"):
        Report("t").figure({"data": []})  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------
# escaping
# ----------------------------------------------------------------------------------------------

def test_user_strings_never_become_markup(evil_html: tuple[str, int]) -> None:
    text, n_fig = evil_html
    assert EVIL_NAME not in text
    assert "<img" not in text.replace(get_plotlyjs(), "")
    parsed = _parse(text)
    tags = [t for t, _ in parsed.tags]
    assert "img" not in tags
    # scripts: plotly.js, one JSON block per figure, the render script; nothing else
    assert len(parsed.scripts) == n_fig + 2
    json_scripts = [s for a, s in parsed.scripts if a.get("type") == "application/json"]
    assert len(json_scripts) == n_fig
    for payload in json_scripts:
        assert not re.search("[<>&\u2028\u2029]", payload)
        spec = json.loads(payload)
        assert set(spec) >= {"data", "layout"}
    # the name reaches the page as text, intact, in title, cards, tables, assumptions, provenance
    body_text = "".join(parsed.text)
    assert body_text.count(EVIL_NAME) >= 10
    # inside figures it is HTML-escaped for plotly's pseudo-HTML (plotly.js decodes the entities)
    escaped = EVIL_NAME.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    strings = [x for s in json_scripts for x in _strings(json.loads(s))]
    assert sum(escaped in x for x in strings) >= 10


def _strings(obj: object) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def test_title_and_attributes_escaped() -> None:
    r = Report('a"b<c>', subtitle="x & y").key_number("k", '"><script>', 1.0)
    text = r.to_html()
    assert "<title>a&quot;b&lt;c&gt;</title>" in text
    assert "x &amp; y" in text and '&quot;&gt;&lt;script&gt;' in text


@given(st.text())
def test_script_json_round_trips_and_is_inert(s: str) -> None:
    out = script_json({"name": s, "list": [s, 1.5]})
    assert not re.search("[<>&\u2028\u2029]", out)
    assert "</" not in out
    assert json.loads(out) == {"name": s, "list": [s, 1.5]}


def test_script_json_of_figure_matches_plotly() -> None:
    fig = go.Figure(go.Bar(x=np.array([1.0, 2.0]), y=["<a>", "b&c"]))
    assert json.loads(script_json(fig)) == json.loads(fig.to_json())


def test_key_number_keys_validated() -> None:
    r = Report("t").key_number("ok_key-1", "x", 1)
    with pytest.raises(ValueError, match="used twice"):
        r.key_number("ok_key-1", "y", 2)
    with pytest.raises(ValueError, match="letters"):
        r.key_number('bad"key', "y", 2)


# ----------------------------------------------------------------------------------------------
# atomic write
# ----------------------------------------------------------------------------------------------

def _failing_fdopen(real_fdopen):  # type: ignore[no-untyped-def]
    """fdopen whose file writes half the data, then fails like a full disk."""

    class HalfWriter:
        def __init__(self, fh):  # type: ignore[no-untyped-def]
            self.fh = fh

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc):  # type: ignore[no-untyped-def]
            self.fh.close()
            return False

        def write(self, data: bytes) -> int:
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            raise OSError(28, "No space left on device")

    return lambda fd, mode="r", *a, **k: HalfWriter(real_fdopen(fd, mode, *a, **k))


@pytest.mark.parametrize("existing", [False, True])
def test_failure_mid_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          existing: bool) -> None:
    target = tmp_path / "report.html"
    if existing:
        target.write_text("old report")
    monkeypatch.setattr(report_html.os, "fdopen", _failing_fdopen(os.fdopen))
    r = Report("t").paragraph("x" * 10_000)
    with pytest.raises(OSError, match="No space"):
        r.write(target)
    remaining = sorted(p.name for p in tmp_path.iterdir())
    assert remaining == (["report.html"] if existing else [])
    if existing:
        assert target.read_text() == "old report"


def test_failure_at_rename_leaves_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(src: str, dst: str) -> None:
        raise OSError("rename failed")

    monkeypatch.setattr(report_html.os, "replace", boom)
    with pytest.raises(OSError, match="rename failed"):
        write_atomic(tmp_path / "a.html", "<p>complete</p>")
    assert list(tmp_path.iterdir()) == []


def test_render_error_touches_nothing(tmp_path: Path) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("cannot format")

    bad = Report("t").paragraph("fine").provenance({"x": Unprintable()})
    with pytest.raises(RuntimeError, match="cannot format"):
        bad.write(tmp_path / "sub" / "bad.html")
    assert not (tmp_path / "sub" / "bad.html").exists()
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []


def test_write_returns_path_and_content(tmp_path: Path) -> None:
    r = Report("Title").paragraph("hello")
    p = r.write(tmp_path / "deep" / "dir" / "out.html")
    assert p == tmp_path / "deep" / "dir" / "out.html"
    assert p.read_text(encoding="utf-8") == r.to_html()
    assert [x.name for x in p.parent.iterdir()] == ["out.html"]


# ----------------------------------------------------------------------------------------------
# numbers and tables
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [
    (37_000_000, "37,000,000"), (np.int64(-1234), "-1,234"), (12345.6, "12,346"), (999.96, "1,000"),
    (999.4, "999"), (1.5, "1.5"), (0.012345, "0.0123"), (0.001, "0.001"), (2.5e-6, "2.5 × 10⁻⁶"),
    (1e-9, "1 × 10⁻⁹"), (0.0, "0"), (None, "—"), (float("nan"), "—"), (float("-inf"), "-∞"),
    (np.float32(0.25), "0.25"), (True, "yes"), ("text", "text"),
])
def test_format_number(value: object, text: str) -> None:
    assert format_number(value) == text


def test_format_percent_and_ci() -> None:
    assert format_percent(0.1234) == "12.3%"
    assert format_percent(1.0) == "100%"
    assert format_ci(1200.4, 1500) == "95% CI 1,200 – 1,500"
    assert format_ci(0.01, 0.02, 0.9, format_percent) == "90% CI 1% – 2%"
    assert format_number(1234.5678, digits=6) == "1,234.57"


def test_key_numbers_with_estimates() -> None:
    two_sided = binomial_estimate(30, 1000, method="crude-mc")
    none_seen = binomial_estimate(0, 1000, method="crude-mc")
    text = (Report("t").key_number("a", "A", two_sided, fmt=format_percent)
            .key_number("b", "B", none_seen).key_number("c", "C", 5.0, ci="(not computed)").to_html())
    lo, hi = format_percent(two_sided.ci_low), format_percent(two_sided.ci_high)
    assert f"95% CI {lo} – {hi}" in text and ">3%" in text
    assert f"≤ {format_number(none_seen.ci_high)}" in text and "upper bound (none observed)" in text
    assert "(not computed)" in text


def _table_cells(text: str) -> list[list[tuple[str, dict[str, str | None]]]]:
    """Rows of (cell text, attributes) of the first table body."""

    class T(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[list[tuple[str, dict[str, str | None]]]] = []
            self.cell: dict[str, str | None] | None = None
            self.in_body = False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "tbody":
                self.in_body = True
            elif tag == "tr" and self.in_body:
                self.rows.append([])
            elif tag == "td" and self.in_body:
                self.cell = dict(attrs)
                self.rows[-1].append(("", self.cell))

        def handle_endtag(self, tag: str) -> None:
            if tag == "tbody":
                self.in_body = False
            if tag == "td":
                self.cell = None

        def handle_data(self, data: str) -> None:
            if self.cell is not None:
                t, a = self.rows[-1][-1]
                self.rows[-1][-1] = (t + data, a)

    p = T()
    p.feed(text)
    return p.rows


def test_table_from_dicts_formats_and_sort_keys() -> None:
    est = binomial_estimate(5, 1000, method="crude-mc")
    rows = [{"name": "<b>a</b>", "calls": 1234567, "share": 0.1234, "est": est},
            {"name": "b", "calls": None, "extra": "only here"}]
    text = Report("t").table(rows, formats={"share": ".1%"}, labels={"calls": "Calls / yr"}).to_html()
    assert "<th scope=\"col\" class=\"num\">Calls / yr</th>" in text
    cells = _table_cells(text)
    est_text = f"0.005 [{format_number(est.ci_low)}, {format_number(est.ci_high)}]"
    assert [c[0] for c in cells[0]] == ["<b>a</b>", "1,234,567", "12.3%", est_text, "—"]
    assert cells[0][1][1] == {"class": "num", "data-sort": "1234567.0"}
    assert cells[0][3][1]["data-sort"] == "0.005"
    # None is a dash, right-aligned in a numeric column, with no sort key (sorted last)
    assert cells[1][1] == ("—", {"class": "num"})
    assert cells[1][4][0] == "only here"
    assert 'class="data sortable"' in text


def test_table_from_header_and_rows() -> None:
    text = Report("t").table([("x", 1.0, float("inf")), ("y", 2.5e-7, -3)], ["name", "p", "n"],
                             formats={"n": lambda v: f"<{v}>"}, sortable=False, caption="Cap & co").to_html()
    cells = _table_cells(text)
    assert [[c[0] for c in row] for row in cells] == [["x", "1", "<inf>"], ["y", "2.5 × 10⁻⁷", "<-3>"]]
    assert cells[0][2][1]["data-sort"] == "1e308"
    assert "<caption>Cap &amp; co</caption>" in text and "sortable" not in text.split("<table")[1][:40]


def test_table_contracts() -> None:
    r = Report("t")
    with pytest.raises(ValueError, match="need `columns`"):
        r.table([[1, 2]])
    with pytest.raises(ValueError, match="row 1 has 1 cells"):
        r.table([[1, 2], [3]], ["a", "b"])
    with pytest.raises(ValueError, match="unknown columns"):
        r.table([{"a": 1}], formats={"b": ".1f"})
    with pytest.raises(TypeError, match="all dicts or all sequences"):
        r.table([{"a": 1}, [2]])


def test_assumptions_and_provenance() -> None:
    text = (Report("t")
            .assumptions([{"parameter": "delay", "value": 45, "source": "Ofcom 2024"},
                          ("redial", 0.6, "assumption: typical")])
            .provenance({"seed": 20230625, "nested": {"workers": 2}, "empty": None, "list": [1, 2]})
            .to_html())
    assert "<td>delay</td><td>45</td><td>Ofcom 2024</td>" in text
    assert '<td class="assumed">assumption: typical</td>' in text
    assert "<dt>seed</dt><dd>20230625</dd>" in text  # seeds verbatim, no separators
    assert "<dt>nested</dt><dd><dl><dt>workers</dt><dd>2</dd></dl></dd>" in text
    assert "<dt>empty</dt><dd>—</dd>" in text and "<dd>1, 2</dd>" in text
    with pytest.raises(ValueError, match="lacks"):
        Report("t").assumptions([{"parameter": "x", "value": 1}])


def test_sections_listed_in_contents() -> None:
    r = Report("t").section("Results").section("Method")
    r.convergence(go.Figure(go.Scatter(x=[1], y=[1])))
    text = r.to_html()
    nav = text.split("<nav", 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'href="#([^"]+)"', nav) == ["section-1", "section-2", "convergence"]
    assert r.n_figures == 1 and text.count("data-nines-figure=") == 1


# ----------------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------------

def test_ranked_bar_orders_and_error_bars() -> None:
    fig = ranked_bar(["a", "b", "c", "b"], [1.0, 3.0, 2.0, 0.5], [0.5, 2.0, 1.5, 0.1], [2.0, 3.5, 2.2, 0.9],
                     highlight=["a"])
    bar = fig.data[0]
    assert list(fig.layout.yaxis.ticktext) == ["b", "c", "a", "b"]  # duplicates kept as positions
    np.testing.assert_allclose(bar.x, [3.0, 2.0, 1.0, 0.5])
    np.testing.assert_allclose(bar.error_x.array, [0.5, 0.2, 1.0, 0.4])
    np.testing.assert_allclose(bar.error_x.arrayminus, [1.0, 0.5, 0.5, 0.4])
    assert list(bar.marker.color).count("#e08a1e") == 1 and bar.marker.color[2] == "#e08a1e"
    asc = ranked_bar(["a", "b"], [2.0, 1.0], descending=False)
    assert list(asc.layout.yaxis.ticktext) == ["b", "a"]
    with pytest.raises(ValueError, match="both"):
        ranked_bar(["a"], [1.0], ci_low=[0.5])


def test_figure_labels_escaped_and_shortened() -> None:
    long_evil = "<b>bold</b> " + "x" * 60
    fig = ranked_bar([long_evil], [1.0])
    tick = fig.layout.yaxis.ticktext[0]
    assert tick.startswith("&lt;b&gt;bold&lt;/b&gt;") and tick.endswith("…") and "<" not in tick
    assert "x" * 60 in fig.data[0].hovertext[0]  # full name in the hover
    assert "<b>&lt;b&gt;bold" in fig.data[0].hovertext[0]


def test_tornado_sorted_by_swing_around_base() -> None:
    fig = tornado(["small", "big", "mid"], [9.5, 5.0, 8.0], [10.5, 16.0, 13.0], 10.0, max_bars=2)
    assert list(fig.layout.yaxis.ticktext) == ["big", "mid"]
    low, high = fig.data
    np.testing.assert_allclose(np.asarray(low.base, dtype=float) + low.x, [5.0, 8.0])
    np.testing.assert_allclose(np.asarray(high.base, dtype=float) + high.x, [16.0, 13.0])
    assert fig.layout.shapes[0].x0 == 10.0


def test_band_chart_polygon_and_contracts() -> None:
    fig = band_chart([1, 2, 3], [2, 3, 4], [1, 2, 3], [3, 4, 5])
    band, line = fig.data
    np.testing.assert_allclose(band.x, [1, 2, 3, 3, 2, 1])
    np.testing.assert_allclose(band.y, [3, 4, 5, 3, 2, 1])
    np.testing.assert_allclose(line.y, [2, 3, 4])
    with pytest.raises(ValueError, match="names"):
        band_chart([1, 2], [[1, 2], [1, 2]], [[1, 2], [1, 2]], [[1, 2], [1, 2]])
    with pytest.raises(ValueError, match="shapes"):
        band_chart([1, 2, 3], [1, 2], [1, 2], [1, 2])


def test_convergence_figure() -> None:
    fig = convergence_figure([10, 100], [0.3, 0.2], [0.1, 0.15], [0.5, 0.25], exact=0.2)
    assert [t.name for t in fig.data] == ["95% CI", "running estimate", "exact"]
    assert fig.layout.xaxis.type == "log"
    with pytest.raises(ValueError, match="non-decreasing"):
        convergence_figure([100, 10], [0.3, 0.2], [0.1, 0.15], [0.5, 0.25])


def test_histogram_integer_and_continuous() -> None:
    rng = np.random.default_rng(3)
    counts = rng.poisson(4.0, 5000)
    fig = histogram(counts, markers={"worst year in 100": float(np.quantile(counts, 0.99))})
    bar = fig.data[0]
    np.testing.assert_allclose(bar.x, np.arange(counts.min(), counts.max() + 1))
    assert np.asarray(bar.y).sum() == pytest.approx(1.0)
    np.testing.assert_allclose(bar.y, np.bincount(counts - counts.min()) / counts.size)
    assert fig.layout.annotations[0].text == "worst year in 100"
    cont = histogram(rng.normal(size=1000), bins=20, normalise=False)
    assert len(cont.data[0].x) == 20 and np.asarray(cont.data[0].y).sum() == 1000
    with pytest.raises(ValueError, match="at least one"):
        histogram([float("nan")])


def test_ecdf_steps_and_thinning() -> None:
    rng = np.random.default_rng(5)
    v = rng.exponential(size=20_000)
    fig = ecdf({"a": v, "b": v[:10]}, complementary=True, max_points=500)
    a = fig.data[0]
    assert len(a.x) <= 500 and a.x[-1] == v.max() and a.y[-1] == 0.0
    assert np.all(np.diff(a.y) <= 0) and np.all(np.diff(a.x) > 0)
    # exceedance at the kept points is exact
    i = len(a.x) // 2
    assert a.y[i] == pytest.approx(np.mean(v > a.x[i]))
    cdf = ecdf([2, 1, 2, 3]).data[0]
    np.testing.assert_allclose(cdf.y, [0.25, 0.75, 1.0])


def _crossings(fig: go.Figure, edges: list[tuple[int, int]], nodes: list[str]) -> int:
    ys: dict[str, float] = {}
    for trace in fig.data[1:]:
        for y, h in zip(trace.y, trace.hovertext, strict=True):
            name = re.match(r"<b>(.*?)</b>", h).group(1)  # type: ignore[union-attr]
            ys[name] = y
    n = 0
    for i, (a, b) in enumerate(edges):
        for c, d in edges[i + 1:]:
            if (ys[nodes[a]] - ys[nodes[c]]) * (ys[nodes[b]] - ys[nodes[d]]) < 0:
                n += 1
    return n


def test_layered_network_reduces_crossings_and_colours() -> None:
    nodes = ["a", "b", "c", "x", "y", "z"]
    idx = {n: i for i, n in enumerate(nodes)}
    pairs = [("a", "z"), ("b", "y"), ("c", "x")]  # label order a,b,c / x,y,z: every pair crosses
    layer = {n: (0 if n in "abc" else 1) for n in nodes}
    values = {"a": 0.5, "z": 0.1}
    fig = layered_network_figure(nodes, pairs, layer, values, sweeps=0)
    assert _crossings(fig, [(idx[u], idx[v]) for u, v in pairs], nodes) == 3
    fig = layered_network_figure(nodes, pairs, layer, values)
    assert _crossings(fig, [(idx[u], idx[v]) for u, v in pairs], nodes) == 0
    edge, valued, grey = fig.data
    assert len(edge.x) == 9 and np.isnan(edge.x[2])
    np.testing.assert_allclose(sorted(valued.marker.color), [0.1, 0.5])
    assert valued.marker.showscale and valued.marker.cmin == 0.0 and valued.marker.cmax == 0.5
    assert len(grey.x) == 4 and all("not assessed" in h for h in grey.hovertext)
    ys = np.concatenate([valued.y, grey.y])
    assert ys.min() > 0 and ys.max() < 1


def test_layered_network_contracts() -> None:
    with pytest.raises(ValueError, match="unknown node"):
        layered_network_figure(["a"], [("a", "b")], {"a": 0}, {})
    with pytest.raises(ValueError, match="layer names"):
        layered_network_figure(["a", "b"], [], {"a": 0, "b": 1}, {}, layer_names=["only one"])
    with pytest.raises(ValueError, match="duplicate"):
        layered_network_figure(["a", "a"], [], {"a": 0}, {})
    fig = layered_network_figure(["a", "b"], [("a", "b")], lambda n: 0 if n == "a" else 5,
                                 lambda n: 0.2, labels=lambda n: f"<{n}>", layer_names={0: "in", 5: "out"})
    assert list(fig.layout.xaxis.ticktext) == ["in", "out"]
    assert set(fig.data[1].text) == {"&lt;a&gt;", "&lt;b&gt;"}


def test_network_labels_that_share_a_long_prefix_show_the_part_that_tells_them_apart():
    nodes = ["s", "a", "b", "c"]
    labels = {"s": "callers", "a": "Site: 999 switching site of BT fixed network",
              "b": "Site: 999 switching site of EE", "c": "Shared cause: platform software"}
    fig = layered_network_figure(nodes, [("s", "a"), ("s", "b"), ("s", "c")],
                                 {"s": 0, "a": 1, "b": 1, "c": 1}, {n: 0.1 for n in nodes}, labels,
                                 layer_names=["Callers", "Shared causes of outages"])
    shown = {t for tr in fig.data[1:] if tr.text is not None for t in tr.text}
    hovers = " ".join(h for tr in fig.data[1:] if tr.hovertext is not None for h in tr.hovertext)
    assert {"Site: …BT fixed network", "Site: …EE", "Shared cause: platform software"} <= shown
    assert "Site: 999 switching site of EE" in hovers  # the full name stays in the hover
    assert list(fig.layout.xaxis.ticktext) == ["Callers", "Shared causes<br>of outages"]
