"""Plotly figures for nines reports: pure functions, data in, ``go.Figure`` out.

Every user-supplied string (node labels, names, titles) is HTML-escaped before it
goes into the figure, because plotly.js renders text as a small HTML subset: a
component called ``<b>x</b>`` shows literally, and one called
``</script><script>...`` is only text. (The report then escapes the JSON again for
its ``<script>`` element; see :func:`model.report.html.script_json`.)

All figures share one quiet template (system fonts, light grid, a colour-blind safe
palette) and size themselves to their content (more bars or nodes, more height).

Examples
--------
>>> from model.report.figures import ranked_bar
>>> fig = ranked_bar(["platform A", "centre B"], [0.4, 0.1], [0.35, 0.08], [0.45, 0.12])
>>> fig.data[0].orientation, len(fig.data[0].y)
('h', 2)
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import plotly.graph_objects as go

__all__ = [
    "PALETTE",
    "band_chart",
    "convergence_figure",
    "ecdf",
    "histogram",
    "incident_timeline",
    "layered_network_figure",
    "log_heatmap",
    "nines_template",
    "ranked_bar",
    "return_period_figure",
    "sobol_bars",
    "tornado",
]

#: Colour-blind friendly qualitative palette (Okabe-Ito based, darker blue first).
PALETTE = ("#1f5fa8", "#e08a1e", "#2a9d8f", "#c0392b", "#7b5ea7", "#8c6d31", "#d66ba0", "#6b7280")

_FONT = ('system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", '
         '"Liberation Sans", "DejaVu Sans", sans-serif')


def nines_template() -> go.layout.Template:
    """The shared Plotly template: white background, light grid, system fonts, palette.

    Examples
    --------
    >>> nines_template().layout.colorway[0]
    '#1f5fa8'
    """
    axis = {"gridcolor": "#e7ebf0", "zerolinecolor": "#c9d1dd", "linecolor": "#c9d1dd",
            "ticks": "outside", "tickcolor": "#c9d1dd", "automargin": True,
            "title": {"standoff": 10}}
    return go.layout.Template(layout={
        "font": {"family": _FONT, "size": 13, "color": "#1d2433"},
        "title": {"font": {"size": 16}, "x": 0.0, "xanchor": "left", "xref": "container",
                  "y": 1.0, "yanchor": "top", "yref": "container", "pad": {"t": 14, "l": 18}},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "colorway": list(PALETTE),
        "xaxis": axis,
        "yaxis": axis,
        "margin": {"l": 70, "r": 30, "t": 50, "b": 60},
        "hoverlabel": {"font": {"family": _FONT, "size": 12}, "align": "left"},
        "legend": {"bgcolor": "rgba(255,255,255,0.8)"},
    })


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=False)


def _short(x: Any, limit: int = 40) -> str:
    """Escaped display text cut to ``limit`` characters (the full text stays in the hover)."""
    text = str(x)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return _esc(text)


def _shared_prefix(labels: Sequence[str], least: int = 8) -> int:
    """Length of the leading words all ``labels`` share (0 when fewer than two labels, or under ``least``
    characters, or when it would leave a label empty).

    Examples
    --------
    >>> _shared_prefix(["Site: 999 switching site of BT", "Site: 999 switching site of EE"])
    28
    >>> _shared_prefix(["BT fixed network", "EE"])
    0
    """
    if len(labels) < 2:
        return 0
    head = labels[0]
    n = 0
    for i in range(min(len(t) for t in labels)):
        if any(t[i] != head[i] for t in labels):
            break
        if head[i] == " ":
            n = i + 1
    if n < least or any(len(t) <= n for t in labels):
        return 0
    return n


def _wrap(text: str, width: int) -> str:
    """Escaped text broken into lines of about ``width`` characters at spaces or hyphens (``<br>``).

    >>> _wrap("Call-handling platforms", 14)
    'Call-handling<br>platforms'
    """
    lines: list[str] = []
    for word in str(text).split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(_esc(line) for line in lines)


def _arr(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {a.shape}")
    return a


def _fmt(value: float, spec: str) -> str:
    if not np.isfinite(value):
        return "—"
    return format(float(value), spec)


def _layout(fig: go.Figure, title: str | None, *, legend_top: bool = False, **kw: Any) -> go.Figure:
    """Apply the template, the (escaped) title and the caller's layout.

    ``legend_top`` puts a horizontal legend above the plot area, so long series names
    do not squeeze the plot.
    """
    top = (90 if title else 50) if legend_top else (50 if title else 30)
    fig.update_layout(template=nines_template(), margin={"t": top})
    if title:
        fig.update_layout(title={"text": _esc(title)})
    if legend_top:
        fig.update_layout(legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left",
                                  "x": 0})
    fig.update_layout(**kw)
    return fig


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


# ----------------------------------------------------------------------------------------------
# layered network diagram
# ----------------------------------------------------------------------------------------------

def _lookup(f: Mapping[Any, Any] | Callable[[Any], Any] | None, node: Any, default: Any) -> Any:
    if f is None:
        return default
    if callable(f) and not isinstance(f, Mapping):
        return f(node)
    return f.get(node, default)


def layered_network_figure(
    nodes: Sequence[Hashable],
    edges: Sequence[tuple[Hashable, Hashable]],
    layer_of: Mapping[Hashable, int] | Callable[[Hashable], int],
    value_of: Mapping[Hashable, float | None] | Callable[[Hashable], float | None],
    labels: Mapping[Hashable, str] | Callable[[Hashable], str] | None = None,
    *,
    layer_names: Sequence[str] | Mapping[int, str] | None = None,
    value_label: str = "value",
    value_format: str = ".1%",
    colorscale: str | list[Any] = "YlOrRd",
    cmin: float | None = None,
    cmax: float | None = None,
    title: str | None = None,
    hover_of: Mapping[Hashable, str] | Callable[[Hashable], str] | None = None,
    max_text_labels: int = 14,
    sweeps: int = 4,
) -> go.Figure:
    """Interactive layered diagram of a call-path network, nodes coloured by a value.

    Layers run left to right (callers → originating networks → platforms/centres →
    control rooms); within a layer nodes are ordered by the barycentre heuristic to
    reduce edge crossings and spread over the full height. Nodes with a value are
    coloured on ``colorscale`` with a colour bar; nodes without one (``None``/NaN) are
    grey. Hovering shows label, layer, value and degree; the plot zooms and pans.

    Parameters
    ----------
    nodes : sequence of hashable
        Node identifiers.
    edges : sequence of (u, v)
        Directed edges between nodes (direction is only used for the hover degree).
    layer_of : mapping or callable
        Node → integer layer (any integers; sorted to columns).
    value_of : mapping or callable
        Node → value for the colour, e.g. the share of demand cut by its outage.
    labels : mapping or callable, optional
        Node → display label (default ``str(node)``). Escaped.
    layer_names : sequence or mapping, optional
        Column headings, by position in sorted layer order (sequence) or by layer (mapping).
    value_label, value_format : str
        Colour-bar title and the d3/Python format of values (``".1%"``, ``".3g"``).
    colorscale : str or list
        Plotly colour scale for values.
    cmin, cmax : float, optional
        Colour range (default: 0 or the minimum, and the maximum value).
    title : str, optional
        Figure title.
    hover_of : mapping or callable, optional
        Extra hover line per node (escaped).
    max_text_labels : int
        Layers with at most this many nodes get visible text labels; larger layers show
        labels on hover only.
    sweeps : int
        Down-and-up barycentre sweeps for the ordering.

    Returns
    -------
    plotly.graph_objects.Figure
        Trace 0: edges; trace 1: nodes with values (colour bar); trace 2: nodes without.

    Examples
    --------
    >>> nodes = ["callers", "net", "centre", "room"]
    >>> edges = [("callers", "net"), ("net", "centre"), ("centre", "room")]
    >>> fig = layered_network_figure(nodes, edges, dict(zip(nodes, range(4))),
    ...                              {"net": 0.2, "centre": 1.0}, layer_names=["A", "B", "C", "D"])
    >>> [len(t.x) for t in fig.data]   # 3 edges (x0, x1, gap), 2 coloured nodes, 2 grey ones
    [9, 2, 2]
    >>> fig.data[1].marker.showscale
    True
    """
    nodes = list(nodes)
    n = len(nodes)
    if n == 0:
        raise ValueError("layered_network_figure needs at least one node")
    index = {v: i for i, v in enumerate(nodes)}
    if len(index) != n:
        raise ValueError("layered_network_figure: duplicate node identifiers")
    try:
        ei = np.array([[index[u], index[v]] for u, v in edges], dtype=np.int64).reshape(-1, 2)
    except KeyError as exc:
        raise ValueError(f"edge refers to unknown node {exc.args[0]!r}") from None

    layer_raw = np.array([int(_lookup(layer_of, v, None)) for v in nodes], dtype=np.int64)
    layer_ids, layer = np.unique(layer_raw, return_inverse=True)
    n_layers = len(layer_ids)
    values = np.array([np.nan if (x := _lookup(value_of, v, None)) is None else float(x) for v in nodes])
    text_labels = [str(_lookup(labels, v, v)) for v in nodes]

    if layer_names is None:
        names = [f"layer {k}" for k in layer_ids]
    elif isinstance(layer_names, Mapping):
        names = [str(layer_names.get(int(k), f"layer {k}")) for k in layer_ids]
    else:
        names = [str(s) for s in layer_names]
        if len(names) != n_layers:
            raise ValueError(f"{len(names)} layer names for {n_layers} layers")

    # --- ordering within layers: barycentre sweeps over neighbours in adjacent layers --------
    pos = np.zeros(n)
    for k in range(n_layers):  # initial order: by label
        members = np.flatnonzero(layer == k)
        order = sorted(members, key=lambda i: text_labels[i])
        pos[order] = (np.arange(len(members)) + 0.5) / len(members)
    u, v = ei[:, 0], ei[:, 1]
    for sweep in range(2 * sweeps):
        down = sweep % 2 == 0
        ks = range(1, n_layers) if down else range(n_layers - 2, -1, -1)
        for k in ks:
            ref = k - 1 if down else k + 1
            # neighbours of layer-k nodes that sit in the reference layer, both edge directions
            a = np.concatenate([u, v])
            b = np.concatenate([v, u])
            m = (layer[a] == k) & (layer[b] == ref)
            sums = np.bincount(a[m], weights=pos[b[m]], minlength=n)
            cnt = np.bincount(a[m], minlength=n)
            members = np.flatnonzero(layer == k)
            bary = np.where(cnt[members] > 0, sums[members] / np.maximum(cnt[members], 1), pos[members])
            order = members[np.lexsort((pos[members], bary))]
            pos[order] = (np.arange(len(members)) + 0.5) / len(members)
    y = 1.0 - pos
    x = layer.astype(float)

    # --- edges: one trace, segments separated by gaps -----------------------------------------
    ex = np.full(3 * len(ei), np.nan)
    ey = np.full(3 * len(ei), np.nan)
    ex[0::3], ex[1::3] = x[u], x[v]
    ey[0::3], ey[1::3] = y[u], y[v]
    edge_trace = go.Scatter(
        x=ex, y=ey, mode="lines", hoverinfo="skip", showlegend=False, name="links",
        line={"color": "rgba(100,116,139,0.28)", "width": 1},
    )

    # --- nodes ----------------------------------------------------------------------------------
    indeg = np.bincount(v, minlength=n)
    outdeg = np.bincount(u, minlength=n)
    hover = []
    for i, node in enumerate(nodes):
        val = "not assessed" if np.isnan(values[i]) else _fmt(values[i], value_format)
        line = (f"<b>{_esc(text_labels[i])}</b><br>{_esc(names[layer[i]])}<br>"
                f"{_esc(value_label)}: {val}<br>links in/out: {indeg[i]}/{outdeg[i]}")
        extra = _lookup(hover_of, node, None)
        if extra:
            line += f"<br>{_esc(extra)}"
        hover.append(line)
    hover_arr = np.array(hover, dtype=object)
    sizes = np.array([(layer == k).sum() for k in range(n_layers)])
    show_text = sizes[layer] <= max_text_labels
    # labels sit to the right of their node and must end before the next column: what a whole layer's
    # labels share (e.g. "Site: 999 switching site of ") is dropped, so the part that tells them apart shows
    shown = list(text_labels)
    for k in range(n_layers):
        members = sorted(np.flatnonzero(layer == k).tolist(), key=lambda i: text_labels[i])
        for j, i in enumerate(members):
            near = [text_labels[m] for m in members[max(j - 1, 0): j + 2] if m != i]
            cut = max((_shared_prefix([text_labels[i], t]) for t in near), default=0)
            if cut:
                first = text_labels[i].split(" ", 1)[0]
                keep = first + " …" if first.endswith(":") and len(first) < cut else "…"
                shown[i] = keep + text_labels[i][cut:]
    limit = 24 if n_layers > 4 else 32
    texts = np.array([_short(t, limit) if s else "" for t, s in zip(shown, show_text, strict=True)],
                     dtype=object)
    textpos = np.full(n, "middle right", dtype=object)
    height = int(np.clip(16 * sizes.max() + 140, 420, 1600))
    spacing_px = (height - 120) / np.maximum(sizes[layer], 1)  # vertical room per node in its layer
    marker_size = np.clip(0.7 * spacing_px, 5, 16)

    has = ~np.isnan(values)
    finite = values[has]
    lo = cmin if cmin is not None else (min(0.0, float(finite.min())) if finite.size else 0.0)
    hi = cmax if cmax is not None else (float(finite.max()) if finite.size else 1.0)
    if hi <= lo:
        hi = lo + 1.0
    # draw the largest values last so they sit on top
    vi = np.flatnonzero(has)[np.argsort(finite, kind="stable")]
    gi = np.flatnonzero(~has)
    valued = go.Scatter(
        x=x[vi], y=y[vi], mode="markers+text", text=texts[vi], textposition=textpos[vi],
        textfont={"size": 11}, hovertext=hover_arr[vi], hoverinfo="text", showlegend=False,
        name=_esc(value_label),
        marker={
            "size": marker_size[vi], "color": values[vi], "colorscale": colorscale, "cmin": lo, "cmax": hi,
            "showscale": True, "line": {"color": "#334155", "width": 0.8},
            "colorbar": {"title": {"text": _esc(value_label), "side": "right"}, "tickformat": value_format,
                         "thickness": 14, "len": 0.8, "outlinewidth": 0},
        },
    )
    grey = go.Scatter(
        x=x[gi], y=y[gi], mode="markers+text", text=texts[gi], textposition=textpos[gi],
        textfont={"size": 11, "color": "#5b6478"}, hovertext=hover_arr[gi], hoverinfo="text",
        showlegend=False, name="not assessed",
        marker={"size": marker_size[gi], "color": "#e5e7eb", "line": {"color": "#94a3b8", "width": 0.8}},
    )
    fig = go.Figure([edge_trace, valued, grey])
    _layout(
        fig, title, height=height, hovermode="closest", dragmode="pan",
        margin={"l": 30, "r": 30, "t": 80 if title else 50, "b": 20},
        xaxis={"tickvals": list(range(n_layers)), "ticktext": [_wrap(s, 14) for s in names], "side": "top",
               "showgrid": False, "zeroline": False, "showline": False, "ticks": "", "tickangle": 0,
               "range": [-0.3, n_layers - 1 + 1.35], "tickfont": {"size": 13}},
        yaxis={"visible": False, "range": [-0.03, 1.03]},
    )
    return fig


# ----------------------------------------------------------------------------------------------
# bars
# ----------------------------------------------------------------------------------------------

def ranked_bar(
    names: Sequence[str],
    values: Sequence[float],
    ci_low: Sequence[float] | None = None,
    ci_high: Sequence[float] | None = None,
    *,
    title: str | None = None,
    x_title: str | None = None,
    value_format: str = ".3g",
    sort: bool = True,
    descending: bool = True,
    color: str = PALETTE[0],
    highlight: Sequence[str] = (),
    log_x: bool = False,
) -> go.Figure:
    """Horizontal bars with (asymmetric) error bars, first rank at the top.

    For ranked outages, strategies or areas. Bars keep their given order when
    ``sort=False``; names may repeat (they are positions, not categories).

    Parameters
    ----------
    names : sequence of str
        Bar labels (escaped).
    values : sequence of float
        Bar lengths.
    ci_low, ci_high : sequence of float, optional
        Interval ends (both or neither).
    title, x_title : str, optional
        Titles.
    value_format : str
        Format spec for hover values.
    sort, descending : bool
        Sort by value (largest first by default).
    color : str
        Bar colour.
    highlight : sequence of str
        Names drawn in the second palette colour (e.g. the status quo).
    log_x : bool
        Logarithmic value axis.

    Examples
    --------
    >>> fig = ranked_bar(["a", "b", "c"], [1.0, 3.0, 2.0], [0.5, 2.5, 1.0], [1.5, 3.5, 3.0])
    >>> list(fig.layout.yaxis.ticktext), fig.data[0].error_x.array.tolist()
    (['b', 'c', 'a'], [0.5, 1.0, 0.5])
    >>> ranked_bar(["a"], [0.25], value_format=".1%").layout.xaxis.tickformat  # percent axis for shares
    '.1%'
    """
    vals = _arr(values, "values")
    labels = [str(s) for s in names]
    if len(labels) != len(vals):
        raise ValueError(f"{len(labels)} names for {len(vals)} values")
    if (ci_low is None) != (ci_high is None):
        raise ValueError("give both ci_low and ci_high, or neither")
    lo = _arr(ci_low, "ci_low") if ci_low is not None else None
    hi = _arr(ci_high, "ci_high") if ci_high is not None else None
    for a, nm in ((lo, "ci_low"), (hi, "ci_high")):
        if a is not None and len(a) != len(vals):
            raise ValueError(f"{nm} has {len(a)} entries for {len(vals)} values")
    order = np.arange(len(vals))
    if sort:
        order = np.argsort(-vals if descending else vals, kind="stable")
    vals = vals[order]
    labels = [labels[i] for i in order]
    pos = np.arange(len(vals))
    hl = set(map(str, highlight))
    colours = [PALETTE[1] if s in hl else color for s in labels]
    hover = []
    for i, s in enumerate(labels):
        h = f"<b>{_esc(s)}</b><br>{_fmt(vals[i], value_format)}"
        if lo is not None and hi is not None:
            h += f"<br>CI {_fmt(lo[order][i], value_format)} – {_fmt(hi[order][i], value_format)}"
        hover.append(h)
    error_x = None
    if lo is not None and hi is not None:
        error_x = {"type": "data", "symmetric": False,
                   "array": np.maximum(hi[order] - vals, 0), "arrayminus": np.maximum(vals - lo[order], 0),
                   "color": "#334155", "thickness": 1.2, "width": 4}
    fig = go.Figure(go.Bar(
        x=vals, y=pos, orientation="h", marker={"color": colours}, error_x=error_x,
        hovertext=hover, hoverinfo="text", showlegend=False,
    ))
    _layout(
        fig, title, height=int(np.clip(28 * len(vals) + 130, 260, 2400)), bargap=0.3,
        xaxis={"title": {"text": _esc(x_title or "")}, "type": "log" if log_x else "linear",
               **({"tickformat": value_format.replace(".3g", "")} if value_format.endswith("%") else {})},
        yaxis={"tickvals": pos, "ticktext": [_short(s, 48) for s in labels], "autorange": "reversed",
               "showgrid": False, "ticks": ""},
    )
    return fig


def tornado(
    names: Sequence[str],
    low: Sequence[float],
    high: Sequence[float],
    base: float,
    *,
    title: str | None = None,
    x_title: str | None = None,
    low_label: str = "parameter at low end",
    high_label: str = "parameter at high end",
    value_format: str = ".3g",
    max_bars: int | None = None,
) -> go.Figure:
    """Tornado chart: output at each parameter's low and high end around the base case.

    Parameters are sorted by swing ``|high - low|``, the widest at the top.

    Parameters
    ----------
    names : sequence of str
        Parameter names (escaped).
    low, high : sequence of float
        Output with the parameter at its low / high end, others at base.
    base : float
        Output of the base case (the axis the bars grow from).
    title, x_title : str, optional
        Titles.
    low_label, high_label : str
        Legend entries.
    value_format : str
        Format spec for hover values.
    max_bars : int, optional
        Keep only the widest ``max_bars`` parameters.

    Examples
    --------
    >>> fig = tornado(["delay", "capacity"], [9.0, 8.0], [11.0, 14.0], 10.0)
    >>> list(fig.layout.yaxis.ticktext), fig.data[1].base.tolist()
    (['capacity', 'delay'], [10.0, 10.0])
    """
    lo, hi = _arr(low, "low"), _arr(high, "high")
    labels = [str(s) for s in names]
    if not (len(labels) == len(lo) == len(hi)):
        raise ValueError("names, low and high must have the same length")
    swing = np.abs(hi - lo)
    order = np.argsort(-swing, kind="stable")
    if max_bars is not None:
        order = order[:max_bars]
    lo, hi = lo[order], hi[order]
    labels = [labels[i] for i in order]
    pos = np.arange(len(labels))
    base_arr = np.full(len(labels), float(base))
    traces = []
    for vals, name, colour in ((lo, low_label, PALETTE[0]), (hi, high_label, PALETTE[1])):
        hover = [f"<b>{_esc(s)}</b><br>{_esc(name)}: {_fmt(v, value_format)}<br>"
                 f"base: {_fmt(base, value_format)}" for s, v in zip(labels, vals, strict=True)]
        traces.append(go.Bar(x=vals - base_arr, base=base_arr, y=pos, orientation="h", name=_short(name),
                             marker={"color": colour}, hovertext=hover, hoverinfo="text"))
    fig = go.Figure(traces)
    fig.add_vline(x=float(base), line={"color": "#1d2433", "width": 1.5})
    _layout(
        fig, title, legend_top=True, barmode="overlay", bargap=0.35,
        height=int(np.clip(30 * len(labels) + 180, 300, 2000)),
        xaxis={"title": {"text": _esc(x_title or "")}},
        yaxis={"tickvals": pos, "ticktext": [_short(s) for s in labels], "autorange": "reversed",
               "showgrid": False, "ticks": ""},
    )
    return fig


# ----------------------------------------------------------------------------------------------
# bands and convergence
# ----------------------------------------------------------------------------------------------

def band_chart(
    x: Sequence[float],
    median: Sequence[float] | Sequence[Sequence[float]],
    lo: Sequence[float] | Sequence[Sequence[float]],
    hi: Sequence[float] | Sequence[Sequence[float]],
    *,
    names: Sequence[str] | None = None,
    band_label: str = "90% band",
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    log_x: bool = False,
    log_y: bool = False,
    value_format: str = ".3g",
) -> go.Figure:
    """Median lines with shaded uncertainty bands, one or several series.

    Parameters
    ----------
    x : sequence of float
        Shared x values.
    median, lo, hi : array-like, shape (n,) or (series, n)
        Central line and band edges per series.
    names : sequence of str, optional
        Series names (legend, escaped); required for more than one series.
    band_label : str
        What the band is (hover and legend), e.g. ``"90% band"``.
    title, x_title, y_title : str, optional
        Titles.
    log_x, log_y : bool
        Logarithmic axes.
    value_format : str
        Format spec for hover values.

    Examples
    --------
    >>> fig = band_chart([1, 2, 3], [[1, 2, 3], [2, 3, 4]], [[0, 1, 2], [1, 2, 3]], [[2, 3, 4], [3, 4, 5]],
    ...                  names=["status quo", "failover"])
    >>> [t.name for t in fig.data if t.showlegend is not False], len(fig.data[0].x)
    (['status quo (with 90% band)', 'failover (with 90% band)'], 6)

    A series identical to an earlier one is drawn dashed on top and named as such, not hidden behind it:

    >>> fig = band_chart([1, 2], [[1, 2], [1, 2]], [[0, 1], [0, 1]], [[2, 3], [2, 3]], names=["2023", "420"])
    >>> fig.data[-1].name, fig.data[-1].line.dash
    ('420 (identical to 2023)', 'dash')
    """
    xs = _arr(x, "x")
    med = np.atleast_2d(np.asarray(median, dtype=float))
    lo_a = np.atleast_2d(np.asarray(lo, dtype=float))
    hi_a = np.atleast_2d(np.asarray(hi, dtype=float))
    if not (med.shape == lo_a.shape == hi_a.shape) or med.shape[1] != len(xs) or med.ndim != 2:
        raise ValueError(f"median/lo/hi shapes {med.shape}, {lo_a.shape}, {hi_a.shape} do not match x "
                         f"of length {len(xs)}")
    k = med.shape[0]
    if names is None:
        if k > 1:
            raise ValueError("band_chart: several series need names")
        names = [""]
    names = [str(s) for s in names]
    if len(names) != k:
        raise ValueError(f"{len(names)} names for {k} series")
    traces = []
    for j in range(k):
        colour = PALETTE[j % len(PALETTE)]
        same = next((i for i in range(j)
                     if all(np.allclose(a[i], a[j], rtol=1e-9, atol=0) for a in (med, lo_a, hi_a))), None)
        nm = _esc(names[j])
        if same is not None:  # an identical series would hide behind the first: draw it dashed, say so
            traces.append(go.Scatter(
                x=xs, y=med[j], mode="lines", line={"color": colour, "width": 2.5, "dash": "dash"},
                name=f"{_short(names[j])} (identical to {_short(names[same])})", legendgroup=str(j),
                hoverinfo="skip"))
            continue
        traces.append(go.Scatter(
            x=np.concatenate([xs, xs[::-1]]), y=np.concatenate([hi_a[j], lo_a[j][::-1]]), mode="lines",
            fill="toself", fillcolor=_rgba(colour, 0.12), line={"width": 0.8, "color": _rgba(colour, 0.55),
                                                                 "dash": "dot"},
            hoverinfo="skip", name=f"{_short(names[j])} {_esc(band_label)}".strip(), legendgroup=str(j),
            showlegend=False,
        ))
        hover = [f"<b>{nm}</b><br>median {_fmt(m, value_format)}<br>{_esc(band_label)} "
                 f"{_fmt(a, value_format)} – {_fmt(b, value_format)}"
                 for m, a, b in zip(med[j], lo_a[j], hi_a[j], strict=True)]
        traces.append(go.Scatter(
            x=xs, y=med[j], mode="lines+markers", line={"color": colour, "width": 2},
            marker={"size": 5}, name=f"{_short(names[j]) or 'median'} (with {_esc(band_label)})",
            legendgroup=str(j), hovertext=hover,
            hoverinfo="text",
        ))
    fig = go.Figure(traces)
    _layout(
        fig, title, legend_top=True, height=460, hovermode="closest", showlegend=True,
        xaxis={"title": {"text": _esc(x_title or "")}, "type": "log" if log_x else "linear",
               **({"dtick": 1, "minor": {"ticks": "outside", "showgrid": False}} if log_x else {})},
        yaxis={"title": {"text": _esc(y_title or "")}, "type": "log" if log_y else "linear",
               **({"dtick": 1, "minor": {"ticks": "outside", "showgrid": False}} if log_y else {})},
    )
    return fig


def return_period_figure(curves: Sequence[Mapping[str, Any]], *, title: str | None = None,
                         x_title: str = "unreachable calls in one incident, at least",
                         y_title: str = "return period (years)") -> go.Figure:
    """Return-period curves with 95 % bands, one per strategy (log axes).

    ``curves`` holds mappings with ``label`` and ``curve`` (``level``, ``years``,
    ``ci_low``, ``ci_high``), as made by :func:`model.metrics.tail_risk.strategy_tails`.
    Infinite return periods (nothing that large seen, or an open upper bound)
    are left out of the line and the band.

    Examples
    --------
    >>> inf = float("inf")
    >>> c = {"level": [1, 10], "years": [2.0, inf], "ci_low": [1.5, 40.0], "ci_high": [3.0, inf]}
    >>> fig = return_period_figure([{"label": "<b>x</b>", "curve": c}])
    >>> fig.data[1].name, [v for v in fig.data[1].y]
    ('&lt;b&gt;x&lt;/b&gt; (with 95% band)', [2.0, None])
    """
    if not curves:
        raise ValueError("return_period_figure needs at least one curve")
    x = np.asarray(curves[0]["curve"]["level"], dtype=float)

    def finite(v: Any) -> np.ndarray:
        a = np.asarray(v, dtype=float)
        return np.where(np.isfinite(a), a, np.nan)

    fig = band_chart(x, [finite(c["curve"]["years"]) for c in curves],
                     [finite(c["curve"]["ci_low"]) for c in curves],
                     [finite(c["curve"]["ci_high"]) for c in curves], names=[str(c["label"]) for c in curves],
                     band_label="95% band", title=title, x_title=x_title, y_title=y_title, log_x=True,
                     log_y=True, value_format=",.0f")
    for t in fig.data:
        t.y = [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in t.y]
    return fig


def convergence_figure(
    samples: Sequence[float],
    estimates: Sequence[float],
    ci_low: Sequence[float],
    ci_high: Sequence[float],
    *,
    exact: float | None = None,
    title: str | None = None,
    x_title: str = "samples",
    y_title: str = "estimate",
    log_x: bool = True,
    value_format: str = ".4g",
) -> go.Figure:
    """Running estimate with its confidence band against the number of samples.

    Parameters
    ----------
    samples : sequence of float
        Sample counts at which the running estimate was taken (increasing).
    estimates, ci_low, ci_high : sequence of float
        Running estimate and interval at those counts.
    exact : float, optional
        Reference value (exact or analytic), drawn as a dashed line.
    title, x_title, y_title : str
        Titles.
    log_x : bool
        Logarithmic sample axis (default).
    value_format : str
        Format spec for hover values.

    Examples
    --------
    >>> fig = convergence_figure([10, 100, 1000], [0.2, 0.12, 0.105], [0.05, 0.07, 0.09], [0.5, 0.2, 0.12],
    ...                          exact=0.1)
    >>> [t.name for t in fig.data]
    ['95% CI', 'running estimate', 'exact']
    """
    n = _arr(samples, "samples")
    est, lo, hi = _arr(estimates, "estimates"), _arr(ci_low, "ci_low"), _arr(ci_high, "ci_high")
    if not (len(n) == len(est) == len(lo) == len(hi)):
        raise ValueError("samples, estimates, ci_low and ci_high must have the same length")
    if np.any(np.diff(n) < 0):
        raise ValueError("samples must be non-decreasing")
    colour = PALETTE[0]
    hover = [f"n = {int(k):,}<br>estimate {_fmt(e, value_format)}<br>CI {_fmt(a, value_format)} – "
             f"{_fmt(b, value_format)}" for k, e, a, b in zip(n, est, lo, hi, strict=True)]
    traces = [
        go.Scatter(x=np.concatenate([n, n[::-1]]), y=np.concatenate([hi, lo[::-1]]), fill="toself",
                   mode="lines", fillcolor=_rgba(colour, 0.18), line={"width": 0, "color": colour},
                   hoverinfo="skip", name="95% CI"),
        go.Scatter(x=n, y=est, mode="lines", line={"color": colour, "width": 2}, name="running estimate",
                   hovertext=hover, hoverinfo="text"),
    ]
    if exact is not None:
        traces.append(go.Scatter(x=[n[0], n[-1]], y=[exact, exact], mode="lines", name="exact",
                                 line={"color": PALETTE[3], "dash": "dash", "width": 1.5},
                                 hovertext=[f"exact {_fmt(exact, value_format)}"] * 2, hoverinfo="text"))
    fig = go.Figure(traces)
    _layout(
        fig, title, legend_top=True, height=400, hovermode="closest",
        xaxis={"title": {"text": _esc(x_title)}, "type": "log" if log_x else "linear"},
        yaxis={"title": {"text": _esc(y_title)}},
    )
    return fig


# ----------------------------------------------------------------------------------------------
# distributions
# ----------------------------------------------------------------------------------------------

def histogram(
    values: Sequence[float],
    *,
    bins: int | str | Sequence[float] = "auto",
    normalise: bool = True,
    markers: Mapping[str, float] | None = None,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    log_y: bool = False,
    max_unit_bins: int = 200,
) -> go.Figure:
    """Histogram of e.g. failed calls per simulated year, binned in numpy (small JSON).

    Integer data spanning at most ``max_unit_bins`` values get one bar per integer.
    ``markers`` adds labelled vertical lines (mean, worst year in 10, in 100, ...).

    Parameters
    ----------
    values : sequence of float
        Observations (NaN dropped).
    bins : int, str or sequence
        As :func:`numpy.histogram_bin_edges`; ignored for small-range integer data.
    normalise : bool
        Bar heights as share of observations (default) rather than counts.
    markers : mapping of str to float, optional
        Label → x position of a vertical line (labels escaped).
    title, x_title, y_title : str, optional
        Titles.
    log_y : bool
        Logarithmic y axis (for long tails).
    max_unit_bins : int
        Largest integer range drawn with unit bins.

    Examples
    --------
    >>> fig = histogram([0, 0, 1, 3], markers={"mean": 1.0})
    >>> fig.data[0].x.tolist(), fig.data[0].y.tolist()
    ([0.0, 1.0, 2.0, 3.0], [0.5, 0.25, 0.0, 0.25])
    """
    v = _arr(values, "values")
    v = v[~np.isnan(v)]
    if v.size == 0:
        raise ValueError("histogram needs at least one value")
    integer = bool(np.all(v == np.round(v))) and (v.max() - v.min()) <= max_unit_bins
    if integer:
        lo_v = int(v.min())
        counts = np.bincount((v - lo_v).astype(np.int64))
        centres = lo_v + np.arange(len(counts), dtype=float)
        widths = np.full(len(counts), 0.9)
        left, right = centres - 0.5, centres + 0.5
    else:
        edges = np.histogram_bin_edges(v, bins=bins)
        counts, edges = np.histogram(v, bins=edges)
        centres = (edges[:-1] + edges[1:]) / 2
        widths = np.diff(edges)
        left, right = edges[:-1], edges[1:]
    heights = counts / v.size if normalise else counts.astype(float)
    fmt_h = ".3%" if normalise else ",d"
    hover = [f"{_fmt(a, '.4g')} – {_fmt(b, '.4g')}<br>{format(h, fmt_h) if normalise else int(h)}"
             for a, b, h in zip(left, right, heights, strict=True)]
    if integer:
        hover = [f"{int(c):,}<br>{format(h, fmt_h) if normalise else int(h)}"
                 for c, h in zip(centres, heights, strict=True)]
    fig = go.Figure(go.Bar(x=centres, y=heights, width=widths, marker={"color": PALETTE[0]},
                           hovertext=hover, hoverinfo="text", showlegend=False))
    for j, (label, xpos) in enumerate((markers or {}).items()):
        colour = PALETTE[(j + 1) % len(PALETTE)]
        fig.add_vline(x=float(xpos), line={"color": colour, "dash": "dash", "width": 1.5})
        fig.add_annotation(x=float(xpos), y=1, yref="paper", yanchor="bottom", text=_esc(label),
                           showarrow=False, font={"color": colour, "size": 12}, xanchor="left")
    _layout(
        fig, title, height=380, bargap=0.05,
        margin={"t": 70 if title else 40},
        xaxis={"title": {"text": _esc(x_title or "")}},
        yaxis={"title": {"text": _esc(y_title or ("share" if normalise else "count"))},
               "type": "log" if log_y else "linear", "tickformat": ".1%" if normalise and not log_y else ""},
    )
    return fig


def ecdf(
    values: Sequence[float] | Mapping[str, Sequence[float]],
    *,
    complementary: bool = False,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    log_x: bool = False,
    log_y: bool = False,
    max_points: int = 2000,
) -> go.Figure:
    """Empirical distribution function(s), or exceedance curves for tail risk.

    ``complementary=True`` plots P(X > x), which on a log y axis shows the worst
    year in 10 (0.1) and in 100 (0.01). Several series (a mapping name → values)
    are overlaid for comparison, e.g. one per strategy. Long series are thinned to
    about ``max_points`` points, keeping the upper tail exactly.

    Parameters
    ----------
    values : sequence of float or mapping of str to sequence
        One sample, or named samples.
    complementary : bool
        Plot the exceedance probability instead of the CDF.
    title, x_title, y_title : str, optional
        Titles.
    log_x, log_y : bool
        Logarithmic axes.
    max_points : int
        Approximate maximum points per series.

    Examples
    --------
    >>> fig = ecdf([3, 1, 2, 2])
    >>> fig.data[0].x.tolist(), fig.data[0].y.tolist()
    ([1.0, 2.0, 3.0], [0.25, 0.75, 1.0])
    >>> ecdf({"a": [1, 2]}, complementary=True).data[0].y.tolist()
    [0.5, 0.0]
    """
    series = dict(values) if isinstance(values, Mapping) else {"": values}
    traces = []
    for j, (name, vals) in enumerate(series.items()):
        v = _arr(vals, f"values[{name!r}]" if name else "values")
        v = v[~np.isnan(v)]
        if v.size == 0:
            raise ValueError(f"ecdf series {name!r} is empty")
        xs, counts = np.unique(v, return_counts=True)
        f = np.cumsum(counts) / v.size
        yv = 1.0 - f if complementary else f
        if len(xs) > max_points:
            tail = min(len(xs), max(max_points // 4, 1))
            keep = np.unique(np.concatenate([
                np.linspace(0, len(xs) - 1, max_points - tail).round().astype(np.int64),
                np.arange(len(xs) - tail, len(xs)),
            ]))
            xs, yv = xs[keep], yv[keep]
        nm = _esc(name)
        hover = [f"{'<b>' + nm + '</b><br>' if nm else ''}x = {_fmt(a, '.4g')}<br>"
                 f"{'P(X > x)' if complementary else 'P(X ≤ x)'} = {_fmt(b, '.4g')}" for a, b in zip(xs, yv,
                                                                                                   strict=True)]
        traces.append(go.Scatter(x=xs, y=yv, mode="lines", line={"shape": "hv", "width": 2,
                                                                 "color": PALETTE[j % len(PALETTE)]},
                                 name=_short(name), hovertext=hover, hoverinfo="text"))
    fig = go.Figure(traces)
    default_y = "P(X > x)" if complementary else "P(X ≤ x)"
    _layout(
        fig, title, legend_top=True, height=420, hovermode="closest", showlegend=len(series) > 1,
        xaxis={"title": {"text": _esc(x_title or "")}, "type": "log" if log_x else "linear"},
        yaxis={"title": {"text": _esc(y_title or default_y)}, "type": "log" if log_y else "linear"},
    )
    return fig


# ----------------------------------------------------------------------------------------------
# decision: cost against benefit
# ----------------------------------------------------------------------------------------------

def cost_effectiveness_figure(
    names: Sequence[str],
    costs: Sequence[float],
    avoided: Sequence[float],
    ci_low: Sequence[float],
    ci_high: Sequence[float],
    *,
    frontier: Sequence[str] = (),
    title: str | None = None,
    x_title: str = "annual cost (£)",
    y_title: str = "failed genuine calls avoided a year",
) -> go.Figure:
    """Calls avoided (with paired intervals) against annual cost; the status quo at the origin.

    The cost-effectiveness frontier (names in ``frontier``, cheapest first) is drawn as a line from the
    origin; strategies below it cost more for fewer calls avoided than a frontier strategy or a mix. Points
    on the frontier and the three that avoid most are labelled; every point names itself on hover.

    Examples
    --------
    >>> fig = cost_effectiveness_figure(["A", "B"], [1e5, 2e5], [50, 40], [40, 30], [60, 50], frontier=["A"])
    >>> [t.name for t in fig.data]
    ['cost-effectiveness frontier', 'strategies', 'status quo']
    """
    c, a, lo, hi = (_arr(v, n) for v, n in ((costs, "costs"), (avoided, "avoided"), (ci_low, "ci_low"),
                                           (ci_high, "ci_high")))
    labels = [str(n) for n in names]
    index = {n: i for i, n in enumerate(labels)}
    fx = [0.0] + [c[index[n]] for n in frontier if n in index]
    fy = [0.0] + [a[index[n]] for n in frontier if n in index]
    on = set(frontier)
    hover = [f"<b>{_esc(n)}</b><br>£{c[i]:,.0f} a year<br>avoids {a[i]:,.1f} calls a year "
             f"(95% CI {lo[i]:,.1f} to {hi[i]:,.1f})" + ("<br>on the frontier" if n in on else "")
             for i, n in enumerate(labels)]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=fx, y=fy, mode="lines", name="cost-effectiveness frontier",
                             line={"color": PALETTE[2], "dash": "dash", "width": 2}, hoverinfo="skip"))
    top = set(sorted(range(len(a)), key=lambda i: -a[i])[:3])
    shown = [_short(n, 28) if (n in on or i in top) and a[i] > 0 else "" for i, n in enumerate(labels)]
    fig.add_trace(go.Scatter(
        x=c, y=a, mode="markers+text", name="strategies", text=shown,
        textposition="top center", hovertext=hover, hoverinfo="text",
        marker={"size": 11, "color": [PALETTE[2] if n in on else PALETTE[0] for n in labels]},
        error_y={"type": "data", "symmetric": False, "array": np.maximum(hi - a, 0),
                 "arrayminus": np.maximum(a - lo, 0), "color": "#334155", "thickness": 1.2, "width": 4}))
    fig.add_trace(go.Scatter(x=[0.0], y=[0.0], mode="markers+text", name="status quo", text=["Status quo"],
                             textposition="bottom right", marker={"size": 12, "color": PALETTE[1],
                                                                  "symbol": "diamond"},
                             hovertext=["<b>Status quo</b><br>no cost, nothing avoided"], hoverinfo="text"))
    _layout(fig, title, legend_top=True, height=480,
            xaxis={"title": {"text": _esc(x_title)}, "tickprefix": "£", "separatethousands": True,
                   "rangemode": "tozero"},
            yaxis={"title": {"text": _esc(y_title)}, "separatethousands": True, "zeroline": True})
    return fig


# ----------------------------------------------------------------------------------------------
# geography: a hex cartogram of the UK's nations and English regions (no map tiles, no network)
# ----------------------------------------------------------------------------------------------

#: Cartogram cells (column, row) of the 12 areas of uk999: roughly where each lies, one hexagon each.
UK_HEX_CELLS: dict[str, tuple[float, int]] = {
    "scotland": (2.0, 0), "northern_ireland": (0.5, 1), "north_east": (2.5, 1),
    "north_west": (1.0, 2), "yorkshire_humber": (2.0, 2),
    "wales": (0.5, 3), "west_midlands": (1.5, 3), "east_midlands": (2.5, 3),
    "south_west": (0.0, 4), "london": (2.0, 4), "east_of_england": (3.0, 4), "south_east": (1.5, 5),
}


def uk_hex_map(
    values: Mapping[str, float],
    labels: Mapping[str, str] | None = None,
    *,
    value_label: str = "value",
    value_format: str = ".3g",
    title: str | None = None,
    colorscale: str = "YlOrRd",
    detail: Mapping[str, str] | None = None,
) -> go.Figure:
    """A value per area on a hexagon cartogram of the UK (offline: markers only, no map tiles).

    Areas not in :data:`UK_HEX_CELLS` are placed in a row below the map, so a scenario with other areas
    still draws every one of them.

    Examples
    --------
    >>> fig = uk_hex_map({"scotland": 0.1, "wales": 0.3, "atlantis": 0.2}, value_label="share")
    >>> sorted(fig.data[0].customdata)
    ['atlantis', 'scotland', 'wales']
    """
    names = list(values)
    labels = labels or {}
    detail = detail or {}
    extra = [n for n in names if n not in UK_HEX_CELLS]
    xs, ys = [], []
    for n in names:
        if n in UK_HEX_CELLS:
            col, row = UK_HEX_CELLS[n]
        else:
            col, row = float(extra.index(n)), 7
        xs.append(col + (0.5 if row % 2 else 0.0))
        ys.append(-row * 0.87)
    v = np.array([float(values[n]) for n in names])
    text = [_short(labels.get(n, n.replace("_", " ")), 14) for n in names]
    hover = [f"<b>{_esc(labels.get(n, n))}</b><br>{_esc(value_label)}: {_fmt(v[i], value_format)}"
             + (f"<br>{_esc(detail[n])}" if n in detail else "") for i, n in enumerate(names)]
    fig = go.Figure(go.Scatter(
        x=xs, y=ys, mode="markers+text", text=text, textposition="middle center", customdata=names,
        textfont={"size": 10, "color": "#1d2433"}, hovertext=hover, hoverinfo="text",
        marker={"symbol": "hexagon", "size": 74, "color": v, "colorscale": colorscale, "showscale": True,
                "line": {"color": "#ffffff", "width": 2},
                "colorbar": {"title": {"text": _esc(value_label), "side": "right"},
                             "tickformat": value_format.replace(".3g", "")}},
        showlegend=False))
    _layout(fig, title, height=560,
            xaxis={"visible": False, "range": [-0.8, 4.3]},
            yaxis={"visible": False, "scaleanchor": "x", "range": [-6.9 if extra else -5.2, 0.8]})
    return fig


def log_heatmap(x_labels: Sequence[Any], y_labels: Sequence[Any], z: Any, title: str, *,
                x_title: str = "", y_title: str = "", value_label: str = "value",
                hover_unit: str = "") -> go.Figure:
    """Heat map of positive values on a log colour scale, each cell labelled with its value.

    Colour ticks at 1, 2 and 5 of every decade spanned. Labels and titles are escaped.

    Examples
    --------
    >>> fig = log_heatmap(["a", "b"], ["<x>", "y"], [[1.0, 10.0], [100.0, 0.5]], "Demo")
    >>> fig.data[0].y, fig.data[0].text[0]
    (('&lt;x&gt;', 'y'), ['1', '10'])
    """
    from model.report.html import format_number

    zz = np.asarray(z, float)
    logz = np.log10(np.maximum(zz, 1e-3))
    text = [[format_number(v, 3) for v in row] for row in zz]
    xl = [html.escape(str(v)) for v in x_labels]
    yl = [html.escape(str(v)) for v in y_labels]
    decades = np.arange(math.floor(logz.min()), math.ceil(logz.max()) + 1)
    ticks = np.log10(np.outer(10.0**decades, [1, 2, 5]).ravel())
    ticks = ticks[(ticks >= logz.min() - 1e-9) & (ticks <= logz.max() + 1e-9)]
    if ticks.size < 2:
        ticks = np.array([logz.min(), logz.max()])
    fig = go.Figure(
        go.Heatmap(
            x=xl,
            y=yl,
            z=logz,
            text=text,
            texttemplate="%{text}",
            colorscale="YlOrRd",
            hovertemplate="%{y}<br>%{x}<br>%{text}" + _esc(hover_unit) + "<extra></extra>",
            colorbar={
                "title": {"text": _esc(value_label)},
                "tickvals": ticks.tolist(),
                "ticktext": [format_number(10.0**t, 3) for t in ticks],
            },
        )
    )
    fig.update_layout(
        template=nines_template(),
        title={"text": html.escape(title)},
        height=430,
        xaxis={"title": {"text": _esc(x_title)}, "type": "category"},
        yaxis={"title": {"text": _esc(y_title)}, "type": "category", "autorange": "reversed"},
        margin={"t": 60, "l": 230},
    )
    return fig


def sobol_bars(rows: Sequence[Mapping[str, Any]], title: str) -> go.Figure:
    """Grouped horizontal bars: first-order and total Sobol indices with their bootstrap intervals.

    ``rows`` as :meth:`model.metrics.sensitivity.SobolResult.rows` gives them: ``parameter``,
    ``first_order``, ``first_ci``, ``total_order``, ``total_ci``.

    Examples
    --------
    >>> fig = sobol_bars([{"parameter": "rate", "first_order": 0.6, "first_ci": (0.5, 0.7),
    ...                    "total_order": 0.7, "total_ci": (0.6, 0.8)}], "Demo")
    >>> [t.name for t in fig.data], fig.data[0].y
    (['first-order', 'total'], ('rate',))
    """
    names = [html.escape(r["parameter"]) for r in rows]
    traces = []
    for key, ci, label, colour in (
        ("first_order", "first_ci", "first-order", PALETTE[0]),
        ("total_order", "total_ci", "total", PALETTE[1]),
    ):
        v = np.array([r[key] for r in rows])
        lo = np.array([r[ci][0] for r in rows])
        hi = np.array([r[ci][1] for r in rows])
        traces.append(
            go.Bar(
                x=v,
                y=names,
                orientation="h",
                name=label,
                marker={"color": colour},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": np.maximum(hi - v, 0),
                    "arrayminus": np.maximum(v - lo, 0),
                    "color": "#334155",
                    "thickness": 1.2,
                    "width": 3,
                },
                hovertemplate="%{y}<br>" + label + " index %{x:.3f}<extra></extra>",
            )
        )
    fig = go.Figure(traces)
    fig.update_layout(
        template=nines_template(),
        title={"text": html.escape(title)},
        barmode="group",
        height=int(70 + 48 * len(rows)),
        xaxis={"title": {"text": "Sobol index (share of variance)"}},
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "bgcolor": "rgba(0,0,0,0)"},
        margin={"t": 90, "l": 200},
    )
    return fig


def _at(hours_after: float, date: str, start: str) -> datetime:
    hh, mm = (int(x) for x in start.split(":"))
    return datetime.fromisoformat(date).replace(hour=hh, minute=mm) + timedelta(hours=float(hours_after))


def incident_timeline(phases: Sequence[Mapping[str, Any]], advice_hour: float,
                      bins: Sequence[Mapping[str, Any]], start: str, date: str, *,
                      title: str = "", y_title: str = "failed attempts per 10 min") -> go.Figure:
    """Gantt bars of an incident's phases over expected failed attempts per 10 minutes.

    ``phases``: ``start_hour``, ``end_hour`` and ``label`` (hours after ``start``, a clock
    time ``"HH:MM"`` on ``date``, ISO ``YYYY-MM-DD``); ``advice_hour``: when public advice
    to ring the fallback lines starts; ``bins``: ``start_hour``, ``end_hour``,
    ``start_clock``, ``end_clock``, ``failed_attempts_per_10min`` and
    ``failed_attempts_mean`` (as :func:`model.sim.incidents.time_bins` gives them).

    Examples
    --------
    >>> ph = [{"start_hour": 0.0, "end_hour": 1.0, "label": "<b>down</b>"}]
    >>> b = [{"start_hour": 0.0, "end_hour": 1.0, "start_clock": "06:24", "end_clock": "07:24",
    ...       "failed_attempts_per_10min": 5.0, "failed_attempts_mean": 30.0}]
    >>> fig = incident_timeline(ph, 0.5, b, "06:24", "2023-06-25")
    >>> fig.data[0].x, "&lt;b&gt;" in fig.data[0].hovertext
    (('2023-06-25 06:24:00', '2023-06-25 07:24:00'), True)
    """
    from model.report.html import format_number

    def stamp(h: float) -> str:
        return _at(h, date, start).strftime("%Y-%m-%d %H:%M:%S")

    def clock(h: float) -> str:
        return (_at(0.0, date, start) + timedelta(minutes=round(float(h) * 60))).strftime("%H:%M")

    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.32, 0.68], vertical_spacing=0.06)
    for i, p in enumerate(phases):
        name = f"Phase {i + 1}"
        fig.add_trace(go.Scatter(
            x=[stamp(p["start_hour"]), stamp(p["end_hour"])], y=[name, name], mode="lines",
            line={"width": 22, "color": PALETTE[(i + 1) % len(PALETTE)]}, showlegend=False,
            hovertext=f"<b>{_esc(name)}</b><br>{_esc(p['label'])}", hoverinfo="text"), row=1, col=1)
    fig.add_trace(go.Scatter(
        x=[stamp(advice_hour)] * 2, y=["Phase 1", f"Phase {len(phases)}"], mode="lines+markers",
        line={"dash": "dot", "color": "#334155", "width": 1.5}, marker={"size": 6}, showlegend=False,
        hovertext=f"public advice to ring 101/111 from about {clock(advice_hour)}", hoverinfo="text"),
        row=1, col=1)
    x = [stamp((b["start_hour"] + b["end_hour"]) / 2) for b in bins]
    width = [(b["end_hour"] - b["start_hour"]) * 3_600_000 * 0.96 for b in bins]
    y = [b["failed_attempts_per_10min"] for b in bins]
    hover = [f"{_esc(b['start_clock'])}–{_esc(b['end_clock'])}<br>"
             f"{format_number(b['failed_attempts_per_10min'])} failed "
             f"attempts per 10 min<br>{format_number(b['failed_attempts_mean'])} in the bin (mean)"
             for b in bins]
    fig.add_trace(go.Bar(x=x, y=y, width=width, marker={"color": PALETTE[0]}, hovertext=hover,
                         hoverinfo="text", showlegend=False), row=2, col=1)
    fig.update_layout(template=nines_template(), height=560, bargap=0,
                      title={"text": _esc(title)}, margin={"t": 60})
    fig.update_yaxes(autorange="reversed", row=1, col=1, showgrid=False)
    fig.update_yaxes(title_text=_esc(y_title), row=2, col=1)
    fig.update_xaxes(type="date", tickformat="%H:%M", row=2, col=1,
                     title_text=f"time on {_at(0.0, date, start).strftime('%-d %B %Y')}")
    fig.update_xaxes(type="date", tickformat="%H:%M", row=1, col=1)
    return fig
