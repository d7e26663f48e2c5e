"""Benchmark graphs from the reliability literature, and reading graphs from files.

The builders return networkx graphs whose edges (and, for :func:`random_layered`,
nodes) carry a failure probability ``q``, ready for
:func:`model.network.compiled.compile_graph`. :func:`read_graph` loads GraphML or a plain
edge list and checks every failure parameter, raising :class:`GraphFileError`
with one message that names the file, the line or key, the bad value and what is
allowed.

Examples
--------
>>> from model.network.compiled import compile_graph
>>> g, s, t = dodecahedron(0.1)
>>> g.number_of_nodes(), g.number_of_edges(), nx.shortest_path_length(g, s, t)
(20, 30, 5)
>>> net = compile_graph(g, s, t)
>>> net.n_components
30
>>> g3, s3, t3 = series([dodecahedron(0.1)] * 3)
>>> g3.number_of_edges(), nx.shortest_path_length(g3, s3, t3)
(90, 15)
"""

from __future__ import annotations

import difflib
import math
import xml.etree.ElementTree as ET
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from model.scenario.files import MAX_GRAPH_BYTES, InputFileError, read_input

__all__ = [
    "GraphFileError",
    "complete",
    "dodecahedron",
    "grid",
    "parallel",
    "random_layered",
    "read_graph",
    "series",
]

Terminals = tuple[nx.Graph, Hashable, Hashable]


def _check_q(q: float) -> float:
    if isinstance(q, bool) or not isinstance(q, int | float | np.integer | np.floating):
        raise TypeError(f"q must be a number in [0, 1], got {q!r}")
    q = float(q)
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be a number in [0, 1], got {q!r}")
    return q


def dodecahedron(q: float) -> Terminals:
    """The dodecahedron (20 nodes, 30 edges), terminals at distance 5.

    Parameters
    ----------
    q : float
        Failure probability of every edge (nodes never fail).

    Returns
    -------
    (graph, s, t)
        ``s`` and ``t`` are opposite vertices.

    Examples
    --------
    >>> g, s, t = dodecahedron(0.01)
    >>> s, t, g.edges[0, 1]["q"]
    (0, 15, 0.01)
    """
    q = _check_q(q)
    g = nx.dodecahedral_graph()
    nx.set_edge_attributes(g, q, "q")
    dist = nx.single_source_shortest_path_length(g, 0)
    t = min(n for n, d in dist.items() if d == 5)
    return g, 0, t


def grid(k: int, q: float) -> Terminals:
    """The ``k`` x ``k`` square grid, terminals at opposite corners.

    Nodes are numbered row by row, ``0 .. k*k - 1``; ``s = 0``, ``t = k*k - 1``.

    Examples
    --------
    >>> g, s, t = grid(3, 0.1)
    >>> g.number_of_edges(), s, t
    (12, 0, 8)
    """
    q = _check_q(q)
    if k < 2:
        raise ValueError(f"grid needs k >= 2, got {k}")
    g = nx.grid_2d_graph(k, k)
    g = nx.relabel_nodes(g, {(r, c): r * k + c for r, c in g.nodes})
    g = nx.Graph(sorted(g.edges()))
    nx.set_edge_attributes(g, q, "q")
    return g, 0, k * k - 1


def complete(n: int, q: float) -> Terminals:
    """The complete graph ``K_n``, terminals ``0`` and ``n - 1``.

    Examples
    --------
    >>> g, s, t = complete(5, 0.2)
    >>> g.number_of_edges(), s, t
    (10, 0, 4)
    """
    q = _check_q(q)
    if n < 2:
        raise ValueError(f"complete graph needs n >= 2, got {n}")
    g = nx.complete_graph(n)
    nx.set_edge_attributes(g, q, "q")
    return g, 0, n - 1


def _prefixed(i: int, g: nx.Graph, rename: dict[Hashable, str]) -> nx.Graph:
    mapping = {n: rename.get(n, f"{i}:{n}") for n in g.nodes}
    return nx.relabel_nodes(g, mapping, copy=True)


def _compose(parts: Sequence[nx.Graph]) -> nx.Graph:
    directed = any(p.is_directed() for p in parts)
    out: nx.Graph = nx.DiGraph() if directed else nx.Graph()
    for p in parts:
        for n, data in p.nodes(data=True):
            if n in out and data != out.nodes[n]:
                raise ValueError(f"node {n!r} carries different attributes in two parts")
            out.add_node(n, **data)
        for u, v, data in p.edges(data=True):
            if out.has_edge(u, v):
                raise ValueError(
                    f"composition would create parallel edges between {u!r} and {v!r}; "
                    "merge them into one edge first (q = q1*q2)"
                )
            out.add_edge(u, v, **data)
    return out


def series(graphs: Sequence[Terminals]) -> Terminals:
    """Graphs in series: ``t_i`` glued to ``s_{i+1}``.

    Nodes are renamed ``"i:node"``; the glued nodes take the name of ``t_i``.

    Examples
    --------
    >>> g, s, t = series([complete(3, 0.1), complete(3, 0.1)])
    >>> s, t, g.number_of_nodes()
    ('0:0', '1:2', 5)
    """
    if not graphs:
        raise ValueError("series needs at least one graph")
    parts: list[nx.Graph] = []
    prev_t: str | None = None
    s0: Hashable = None
    for i, (g, s, t) in enumerate(graphs):
        rename: dict[Hashable, str] = {} if prev_t is None else {s: prev_t}
        if t not in rename:
            rename[t] = f"{i}:{t}"
        parts.append(_prefixed(i, g, rename))
        if i == 0:
            s0 = f"0:{s}"
        prev_t = rename[t]
    return _compose(parts), s0, prev_t


def parallel(graphs: Sequence[Terminals]) -> Terminals:
    """Graphs in parallel: all share one source ``"s"`` and one target ``"t"``.

    Examples
    --------
    >>> g, s, t = parallel([dodecahedron(0.1)] * 3)
    >>> g.number_of_nodes(), g.number_of_edges(), s, t
    (56, 90, 's', 't')
    """
    if not graphs:
        raise ValueError("parallel needs at least one graph")
    parts = [_prefixed(i, g, {s: "s", t: "t"}) for i, (g, s, t) in enumerate(graphs)]
    return _compose(parts), "s", "t"


def random_layered(
    layer_sizes: Sequence[int],
    rng: np.random.Generator,
    *,
    out_degree: int = 2,
    q_node: float = 1e-3,
    q_arc: float = 1e-3,
    demands_per_source: int = 4,
    alternatives: int = 1,
) -> tuple[nx.DiGraph, list[tuple[str, list[str], float]]]:
    """A layered DAG shaped like a call network, with weighted demands.

    Layer 0 plays the caller groups, the last layer the control rooms, the layers
    between originating networks, call-handling centres and platforms. Each node
    has ``out_degree`` arcs (fewer if the next layer is smaller) to distinct nodes
    of the next layer, and every node of the next layer gets at least one arc in.
    Nodes in the inner layers fail with ``q_node``, arcs with ``q_arc``; caller
    groups and control rooms never fail.

    Parameters
    ----------
    layer_sizes : sequence of int
        Number of nodes per layer (at least two layers).
    rng : numpy.random.Generator
        Source of randomness.
    out_degree, q_node, q_arc : int, float, float
        Arcs per node and failure probabilities.
    demands_per_source : int
        Demands per layer-0 node (services), each to a random last-layer node.
    alternatives : int
        Extra (buddy) targets per demand.

    Returns
    -------
    (graph, demands)
        Nodes are named ``"L<layer>n<index>"``; ``demands`` is a list of
        ``(source, targets, weight)`` for ``compile_graph(graph, demands=demands)``.

    Examples
    --------
    >>> from model.network.compiled import compile_graph
    >>> g, dem = random_layered([3, 4, 2], np.random.default_rng(1))
    >>> net = compile_graph(g, demands=dem)
    >>> net.n_demands, net.is_dag, all(g.out_degree(n) >= 1 for n in g if n.startswith("L0"))
    (12, True, True)
    """
    if len(layer_sizes) < 2 or min(layer_sizes) < 1:
        raise ValueError("random_layered needs at least two layers of at least one node")
    q_node, q_arc = _check_q(q_node), _check_q(q_arc)
    if out_degree < 1:
        raise ValueError("out_degree must be >= 1")
    g = nx.DiGraph()
    names = [[f"L{i}n{j}" for j in range(n)] for i, n in enumerate(layer_sizes)]
    last = len(layer_sizes) - 1
    for i, layer in enumerate(names):
        for n in layer:
            if 0 < i < last:
                g.add_node(n, q=q_node, layer=i)
            else:
                g.add_node(n, layer=i)
    for i in range(last):
        a, b = names[i], names[i + 1]
        deg = min(out_degree, len(b))
        # every node of the next layer gets one arc in, from a random node of this layer
        for v in b:
            g.add_edge(a[int(rng.integers(len(a)))], v, q=q_arc)
        for u in a:
            have = sum(1 for _ in g.successors(u))
            if have >= deg:
                continue
            free = [v for v in b if not g.has_edge(u, v)]
            pick = rng.choice(len(free), size=deg - have, replace=False)
            for j in np.sort(pick):
                g.add_edge(u, free[int(j)], q=q_arc)
    sinks = names[-1]
    n_alt = min(alternatives, len(sinks) - 1)
    demands: list[tuple[str, list[str], float]] = []
    for src in names[0]:
        for _ in range(demands_per_source):
            tg = rng.choice(len(sinks), size=1 + n_alt, replace=False)
            weight = float(np.round(rng.lognormal(mean=6.0, sigma=1.0), 1))
            demands.append((src, [sinks[int(j)] for j in tg], weight))
    return g, demands


# ----------------------------------------------------------------------------- files
class GraphFileError(ValueError):
    """A graph file that cannot be read, with one message naming file, place and value."""


_EDGE_LIST_SUFFIXES = (".txt", ".csv", ".edgelist", ".edges")
_GRAPHML_SUFFIXES = (".graphml", ".xml")
_NUMERIC_COLUMNS = ("q", "mtbf", "mttr")


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _validate_attrs(path: Path, where: str, data: dict[str, Any]) -> None:
    """Check and normalise ``q``, ``mtbf``, ``mttr`` in one attribute dict (in place)."""
    for key in data:
        near = difflib.get_close_matches(str(key).strip().lower(), _NUMERIC_COLUMNS, n=1, cutoff=0.6)
        if key not in _NUMERIC_COLUMNS and (near or str(key).strip().lower() in _NUMERIC_COLUMNS):
            raise GraphFileError(f"{path}: {where}: attribute {key!r} is not one nines reads; did you mean "
                                 f"{(near or [str(key).strip().lower()])[0]!r}? (failure attributes: "
                                 f"{', '.join(_NUMERIC_COLUMNS)})")
    if "q" in data:
        x = _as_number(data["q"])
        if x is None or not math.isfinite(x) or not 0.0 <= x <= 1.0:
            raise GraphFileError(
                f"{path}: {where}: q={data['q']!r} is not allowed; q must be a number in [0, 1]"
            )
        data["q"] = x
    for key in ("mtbf", "mttr"):
        if key in data:
            x = _as_number(data[key])
            if x is None or not math.isfinite(x) or x <= 0:
                raise GraphFileError(
                    f"{path}: {where}: {key}={data[key]!r} is not allowed; "
                    f"{key} must be a positive number of hours"
                )
            data[key] = x
    if ("mtbf" in data) != ("mttr" in data):
        have, miss = ("mtbf", "mttr") if "mtbf" in data else ("mttr", "mtbf")
        raise GraphFileError(f"{path}: {where}: {have} is given without {miss}; give both (hours)")
    if "mtbf" in data and "q" not in data:
        data["q"] = data["mttr"] / (data["mtbf"] + data["mttr"])


def _read_edge_list(path: Path, directed: bool) -> nx.Graph:
    g: nx.Graph = nx.DiGraph() if directed else nx.Graph()
    columns: list[str] | None = None
    seen: dict[tuple[str, str], int] = {}
    try:
        text = _read(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GraphFileError(f"{path}: not a UTF-8 text file ({exc.reason})") from None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [f.strip() for f in line.split(",")] if "," in line else line.split()
        if columns is None and seen == {} and len(fields) > 2 and all(
            f.lower() in _NUMERIC_COLUMNS for f in fields[2:]
        ):
            columns = [f.lower() for f in fields[2:]]
            continue
        cols = columns if columns is not None else ["q"]
        if len(fields) < 2 or len(fields) > 2 + len(cols):
            raise GraphFileError(
                f"{path}: line {lineno}: {raw.strip()!r} has {len(fields)} fields; "
                f"allowed is 'u v' followed by at most {len(cols)} value(s) ({', '.join(cols)}), "
                "separated by spaces or commas"
            )
        u, v = fields[0], fields[1]
        if not u or not v:
            raise GraphFileError(f"{path}: line {lineno}: empty node name in {raw.strip()!r}")
        if u == v:
            raise GraphFileError(f"{path}: line {lineno}: self-loop {u!r}-{v!r} is not allowed")
        key = (u, v) if directed else (min(u, v), max(u, v))
        if key in seen:
            raise GraphFileError(
                f"{path}: line {lineno}: edge {u!r}-{v!r} already given on line {seen[key]}; "
                "parallel edges are not allowed (merge them: q = q1*q2)"
            )
        seen[key] = lineno
        data: dict[str, Any] = dict(zip(cols, fields[2:], strict=False))
        _validate_attrs(path, f"line {lineno}", data)
        g.add_edge(u, v, **data)
    if g.number_of_edges() == 0:
        raise GraphFileError(f"{path}: no edges found; expected lines 'u v [q]' or 'u,v,q'")
    _require_failures(path, g)
    return g


def _read(path: Path) -> bytes:
    try:
        return read_input(path, limit=MAX_GRAPH_BYTES)
    except InputFileError as exc:
        raise GraphFileError(str(exc)) from None


def _require_failures(path: Path, g: nx.Graph) -> None:
    """Some element must carry a failure attribute; else every probability would silently be 0."""
    elements = [d for _n, d in g.nodes(data=True)] + [d for _u, _v, d in g.edges(data=True)]
    if any("q" in d for d in elements):
        return
    found = sorted({str(k) for d in elements for k in d})
    raise GraphFileError(f"{path}: no node or edge carries a failure probability 'q' (or 'mtbf' and 'mttr'); "
                         f"attributes found: {', '.join(found[:10]) or 'none'}")


def _read_graphml(path: Path) -> nx.Graph:
    data = _read(path)
    if b"<!ENTITY" in data or b"<!DOCTYPE" in data:
        raise GraphFileError(f"{path}: GraphML with a DOCTYPE or entity declarations is not read (nothing in "
                             "a file is expanded or fetched)")
    try:
        g = nx.parse_graphml(data)
    except ET.ParseError as exc:
        raise GraphFileError(f"{path}: not valid GraphML/XML ({exc})") from None
    except (nx.NetworkXError, KeyError, ValueError, TypeError) as exc:
        raise GraphFileError(f"{path}: cannot read GraphML ({exc})") from None
    if g.is_multigraph():
        pairs = [(u, v) for u, v, k in g.edges(keys=True) if k not in (0, "0")] or [("?", "?")]
        u, v = pairs[0]
        raise GraphFileError(
            f"{path}: parallel edges between {u!r} and {v!r} are not allowed (merge them: q = q1*q2)"
        )
    for n, data in g.nodes(data=True):
        _validate_attrs(path, f"node {n!r}", data)
    for u, v, data in g.edges(data=True):
        if u == v:
            raise GraphFileError(f"{path}: edge {u!r}-{v!r}: self-loops are not allowed")
        _validate_attrs(path, f"edge {u!r}-{v!r}", data)
    if g.number_of_edges() == 0:
        raise GraphFileError(f"{path}: the graph has no edges")
    _require_failures(path, g)
    return g


def read_graph(path: str | Path, *, directed: bool = False) -> nx.Graph:
    """Read a graph whose edges (and optionally nodes) carry ``q``, or ``mtbf``/``mttr``.

    Parameters
    ----------
    path : str or Path
        GraphML (``.graphml``, ``.xml``; directedness as declared in the file) or an
        edge list (``.txt``, ``.csv``, ``.edgelist``, ``.edges``): one edge per line,
        ``u v [q]`` or ``u,v,q``; ``#`` starts a comment. An optional header line
        such as ``u,v,mtbf,mttr`` names the value columns (``q``, ``mtbf``, ``mttr``).
    directed : bool
        Edge lists only: read arcs ``u -> v`` instead of undirected edges.

    Returns
    -------
    networkx.Graph or networkx.DiGraph
        ``q`` attributes are floats in [0, 1]; ``mtbf``/``mttr`` positive floats
        (hours), kept as they are. An element with ``mtbf`` and ``mttr`` but no
        ``q`` gets the long-run unavailability ``q = mttr / (mtbf + mttr)``.

    Raises
    ------
    GraphFileError
        With one message naming the file, the line (or node/edge), the bad value
        and what is allowed.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "g.txt"
    >>> _ = p.write_text("# ring\\na b 0.1\\nb c 0.2\\nc a\\n")
    >>> g = read_graph(p)
    >>> sorted(g.edges(data="q"))
    [('a', 'b', 0.1), ('a', 'c', None), ('b', 'c', 0.2)]
    >>> _ = p.write_text("a b 1.5\\n")
    >>> read_graph(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.network.graphs.GraphFileError: ...g.txt: line 1: q='1.5' is not allowed; q must be a number in ...
    """
    p = Path(path)
    if not p.exists():
        raise GraphFileError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix in _GRAPHML_SUFFIXES:
        return _read_graphml(p)
    if suffix in _EDGE_LIST_SUFFIXES:
        return _read_edge_list(p, directed)
    raise GraphFileError(
        f"{p}: unknown file type {suffix or '(none)'!r}; allowed are GraphML "
        f"({', '.join(_GRAPHML_SUFFIXES)}) and edge lists ({', '.join(_EDGE_LIST_SUFFIXES)})"
    )
