"""K-terminal and all-terminal reliability: exact and Monte Carlo, against enumeration and Kirchhoff."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from model.cli.main import main
from model.static.kterminal import (
    brute_force_k_terminal,
    exact_k_terminal,
    k_terminal_unreliability,
    mc_k_terminal,
)


def _random_graph(seed: int, n: int = 7, m: int = 11) -> nx.Graph:
    rng = np.random.default_rng(seed)
    g = nx.gnm_random_graph(n, m, seed=int(rng.integers(1 << 30)))
    for u, v in g.edges:
        g.edges[u, v]["q"] = float(rng.uniform(0.02, 0.6))
    return g


@pytest.mark.parametrize("seed", range(8))
def test_exact_matches_enumeration_of_every_edge_state(seed):
    g = _random_graph(seed)
    rng = np.random.default_rng(100 + seed)
    nodes = list(g.nodes)
    for k in (2, 3, len(nodes)):
        terms = None if k == len(nodes) else list(rng.choice(nodes, size=k, replace=False))
        exact = exact_k_terminal(g, terms).value
        assert exact == pytest.approx(brute_force_k_terminal(g, terms), abs=1e-12)


def test_monte_carlo_agrees_within_its_interval():
    g = _random_graph(3, n=8, m=13)
    exact = exact_k_terminal(g, [0, 3, 5]).value
    mc = mc_k_terminal(g, [0, 3, 5], samples=40_000, seed=7)
    assert abs(mc.value - exact) < 4 * math.sqrt(exact * (1 - exact) / mc.samples)
    assert mc.ci_low <= exact <= mc.ci_high or abs(mc.value - exact) < 4 * mc.std_error
    assert mc_k_terminal(g, [0, 3, 5], samples=5_000, seed=7).value == mc_k_terminal(
        g, [0, 3, 5], samples=5_000, seed=7).value  # deterministic under a seed


def _kirchhoff(g: nx.Graph) -> float:
    lap = nx.laplacian_matrix(g, nodelist=list(g.nodes)).toarray().astype(float)
    return float(round(np.linalg.det(lap[1:, 1:])))


@pytest.mark.parametrize("graph", [nx.complete_graph(5), nx.petersen_graph(), nx.cycle_graph(6),
                                   nx.wheel_graph(6), nx.balanced_tree(2, 2)])
def test_all_terminal_leading_term_is_the_spanning_tree_count(graph):
    # edges almost always fail (p = 1e-4 up): the graph is connected only through a spanning tree whose
    # edges all stay up, so R = τ(G) p^(n-1) (1 + O(m p)) - Kirchhoff's matrix-tree theorem
    p = 1e-4
    g = graph.copy()
    nx.set_edge_attributes(g, 1 - p, "q")
    n, m = g.number_of_nodes(), g.number_of_edges()
    rel = exact_k_terminal(g).details["reliability"]
    tau = _kirchhoff(g)
    assert rel / p ** (n - 1) == pytest.approx(tau, rel=2 * m * p)
    if nx.is_tree(graph):  # one spanning tree: every edge must stay up
        assert tau == 1 and rel == pytest.approx(p**m, rel=1e-12)


def test_auto_falls_back_to_monte_carlo_and_bad_input():
    g = nx.grid_2d_graph(4, 4)
    nx.set_edge_attributes(g, 0.1, "q")
    est = k_terminal_unreliability(g, method="auto", samples=2_000, seed=1)
    assert est.method in ("exact-factoring", "crude-mc")
    with pytest.raises(ValueError, match="not a node"):
        exact_k_terminal(g, [(0, 0), "x"])
    with pytest.raises(ValueError, match="undirected"):
        exact_k_terminal(nx.DiGraph([(0, 1)]))
    with pytest.raises(ValueError, match="method"):
        k_terminal_unreliability(g, method="rare")


def test_cli_k_terminal(tmp_path, capsys):
    f = tmp_path / "ring.txt"
    f.write_text("a b 0.1\nb c 0.1\nc d 0.1\nd a 0.1\n")
    assert main(["reliability", str(f), "--terminals", "a", "c", "--json"]) == 0
    out = capsys.readouterr().out
    assert "0.0361" in out  # (1 - 0.9^2)^2: both ways round the ring cut
    assert main(["reliability", str(f), "--all-terminal"]) == 0
    assert "0.0523" in capsys.readouterr().out
    assert main(["reliability", str(f), "--all-terminal", "--method", "mc", "--samples", "1000"]) == 0
    assert main(["reliability", str(f), "--terminals", "a", "zz"]) == 2
    assert "not a node" in capsys.readouterr().err
    assert main(["reliability", str(f), "--terminals", "a", "c", "--method", "rare"]) == 2
    assert main(["reliability", str(f)]) == 2
