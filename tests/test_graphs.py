"""Benchmark graph builders and graph file reading."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from model.network.compiled import compile_graph
from model.network.graphs import (
    GraphFileError,
    complete,
    dodecahedron,
    grid,
    parallel,
    random_layered,
    read_graph,
    series,
)


# ----------------------------------------------------------------------------- builders
def test_dodecahedron_shape_and_terminals():
    g, s, t = dodecahedron(0.05)
    assert (g.number_of_nodes(), g.number_of_edges()) == (20, 30)
    assert all(d == 3 for _n, d in g.degree())
    assert nx.shortest_path_length(g, s, t) == nx.diameter(g) == 5
    assert {q for _u, _v, q in g.edges(data="q")} == {0.05}


@pytest.mark.parametrize("k", [2, 3, 6])
def test_grid_shape(k):
    g, s, t = grid(k, 0.1)
    assert g.number_of_nodes() == k * k
    assert g.number_of_edges() == 2 * k * (k - 1)
    assert nx.shortest_path_length(g, s, t) == 2 * (k - 1)
    assert (g.degree(s), g.degree(t)) == (2, 2)


def test_complete_shape():
    g, s, t = complete(6, 0.3)
    assert g.number_of_edges() == 15 and s != t


def test_series_glues_terminals():
    parts = [dodecahedron(0.1)] * 3
    g, s, t = series(parts)
    assert g.number_of_nodes() == 3 * 20 - 2
    assert g.number_of_edges() == 90
    assert nx.shortest_path_length(g, s, t) == 15
    # the glued nodes are articulation points separating s and t
    cut = set(nx.articulation_points(g))
    assert len(cut) == 2 and all(not nx.has_path(g.subgraph(set(g) - {a}), s, t) for a in cut)


def test_parallel_shares_terminals():
    g, s, t = parallel([dodecahedron(0.1)] * 3)
    assert g.number_of_nodes() == 3 * 20 - 4
    assert g.number_of_edges() == 90
    assert g.degree(s) == g.degree(t) == 9
    assert nx.node_connectivity(g, s, t) == 9


def test_parallel_refuses_parallel_edges():
    a = (nx.Graph([(0, 1)]), 0, 1)
    with pytest.raises(ValueError, match="parallel edges"):
        parallel([a, a])


def test_bad_q_rejected():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dodecahedron(1.5)
    with pytest.raises(TypeError):
        grid(3, "0.1")  # type: ignore[arg-type]


def test_random_layered_is_a_connected_layered_dag():
    sizes = [5, 3, 4, 2]
    g, dem = random_layered(sizes, np.random.default_rng(7), out_degree=2, q_node=1e-3, q_arc=2e-3,
                            demands_per_source=3, alternatives=1)
    assert nx.is_directed_acyclic_graph(g)
    layer = nx.get_node_attributes(g, "layer")
    assert [sum(1 for v in layer.values() if v == i) for i in range(4)] == sizes
    assert all(layer[v] == layer[u] + 1 for u, v in g.edges)
    assert all(g.in_degree(v) >= 1 for v in g if layer[v] > 0)
    assert all(g.out_degree(v) == 2 for v in g if layer[v] < 3)
    # only the inner layers fail
    assert {v for v, d in g.nodes(data=True) if "q" in d} == {v for v in g if 0 < layer[v] < 3}
    assert len(dem) == 15 and all(len(ts) == 2 and s in g for s, ts, _w in dem)
    net = compile_graph(g, demands=dem)
    assert net.is_dag and net.n_components == 7 + g.number_of_edges()
    g2, dem2 = random_layered(sizes, np.random.default_rng(7), out_degree=2, q_node=1e-3, q_arc=2e-3,
                              demands_per_source=3, alternatives=1)
    assert sorted(g2.edges) == sorted(g.edges) and dem2 == dem


# ----------------------------------------------------------------------------- reading
def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_edge_list_spaces_commas_comments_and_header(tmp_path):
    g = read_graph(_write(tmp_path, "a.txt", "# demo\n\na b 0.25  # trailing comment\nb c\n"))
    assert sorted(g.edges(data="q")) == [("a", "b", 0.25), ("b", "c", None)]
    g = read_graph(_write(tmp_path, "b.csv", "u,v,q\na,b,0.5\nb,c,1\n"))
    assert g.edges["a", "b"]["q"] == 0.5 and g.edges["b", "c"]["q"] == 1.0
    g = read_graph(_write(tmp_path, "c.csv", "u,v,mtbf,mttr\na,b,1000,10\n"))
    e = g.edges["a", "b"]
    assert (e["mtbf"], e["mttr"]) == (1000.0, 10.0)
    assert e["q"] == pytest.approx(10 / 1010, rel=1e-15)
    d = read_graph(_write(tmp_path, "d.edgelist", "a b 0.1\nb a 0.2\n"), directed=True)
    assert d.is_directed() and d.number_of_edges() == 2


def test_graphml_round_trip_with_node_q(tmp_path):
    g, _s, _t = dodecahedron(0.01)
    g.nodes[3]["q"] = 0.2
    p = tmp_path / "d.graphml"
    nx.write_graphml(g, p)
    h = read_graph(p)
    assert h.number_of_edges() == 30
    assert h.nodes["3"]["q"] == 0.2
    assert all(q == 0.01 for _u, _v, q in h.edges(data="q"))


@pytest.mark.parametrize(
    ("name", "text", "pieces"),
    [
        ("q.txt", "a b 0.1\nb c 1.5\n", ["q.txt", "line 2", "q='1.5'", "[0, 1]"]),
        ("n.txt", "a b x\n", ["line 1", "q='x'", "number in [0, 1]"]),
        ("nan.csv", "a,b,nan\n", ["line 1", "q='nan'"]),
        ("f.txt", "a b 0.1 0.2\n", ["line 1", "4 fields", "at most 1 value"]),
        ("one.txt", "a\n", ["line 1", "1 fields"]),
        ("dup.txt", "a b 0.1\nb a 0.2\n", ["line 2", "already given on line 1", "parallel edges"]),
        ("loop.txt", "a a 0.1\n", ["line 1", "self-loop"]),
        ("m.csv", "u,v,mtbf\na,b,100\n", ["line 2", "mtbf is given without mttr"]),
        ("r.csv", "u,v,mtbf,mttr\na,b,100,-1\n", ["line 2", "mttr='-1'", "positive number"]),
        ("e.txt", "# nothing\n", ["no edges"]),
    ],
)
def test_edge_list_errors_name_file_line_value_and_rule(tmp_path, name, text, pieces):
    with pytest.raises(GraphFileError) as ei:
        read_graph(_write(tmp_path, name, text))
    msg = str(ei.value)
    assert "\n" not in msg
    for piece in pieces:
        assert piece in msg, (piece, msg)


def test_graphml_errors(tmp_path):
    g = nx.Graph()
    g.add_edge("a", "b", q=0.1)
    g.nodes["a"]["q"] = 2.0
    p = tmp_path / "bad.graphml"
    nx.write_graphml(g, p)
    with pytest.raises(GraphFileError, match=r"bad\.graphml: node 'a': q=2\.0 is not allowed; q must be"):
        read_graph(p)
    broken = _write(tmp_path, "broken.xml", "<graphml><graph>")
    with pytest.raises(GraphFileError, match=r"broken\.xml: not valid GraphML"):
        read_graph(broken)
    m = nx.MultiGraph([("a", "b"), ("a", "b")])
    pm = tmp_path / "multi.graphml"
    nx.write_graphml(m, pm)
    with pytest.raises(GraphFileError, match="parallel edges between 'a' and 'b'"):
        read_graph(pm)


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(GraphFileError, match="no such file"):
        read_graph(tmp_path / "nope.txt")
    with pytest.raises(GraphFileError, match=r"unknown file type '\.json'.*GraphML"):
        read_graph(_write(tmp_path, "g.json", "{}"))
    assert issubclass(GraphFileError, ValueError)


def test_read_graph_compiles(tmp_path):
    g = read_graph(_write(tmp_path, "g.txt", "s a 0.1\na t 0.1\ns t 0.2\n"))
    net = compile_graph(g, "s", "t")
    assert net.n_components == 3 and sorted(net.q.tolist()) == [0.1, 0.1, 0.2]
