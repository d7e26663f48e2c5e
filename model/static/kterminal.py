"""K-terminal and all-terminal reliability of plain graphs: exact (factoring) and Monte Carlo.

The *K-terminal unreliability* of an undirected graph whose edges fail independently
(edge attribute ``q``) is the probability that the working edges leave some pair of the
terminals ``K`` disconnected; with ``K`` = every node it is the *all-terminal*
unreliability. Two-terminal reliability (``K = {s, t}``) is the case the other engines
cover for call networks.

* :func:`exact_k_terminal` — factoring (Moskowitz): ``R(G) = p_e R(G / e) + q_e R(G - e)``
  with the classical reductions before each branch — parallel edges merged
  (``q = q_1 q_2``), non-terminal nodes of degree one removed, non-terminal nodes of
  degree two replaced by one edge in series (``p = p_1 p_2``, exact for K-terminal
  reliability when the node is not a terminal), parts the terminals cannot use dropped —
  and memoised on the canonical multigraph, in exact fractions. Exponential in the worst
  case: for small and medium graphs.
* :func:`mc_k_terminal` — crude Monte Carlo, vectorised over trials: edge states for a
  chunk of trials at once, connected components by min-label propagation (one pass per
  edge per sweep, each over all trials), a Wilson interval (or the one-sided bound when
  nothing failed).

Checked in the tests against enumeration of all edge states, and against Kirchhoff's
matrix-tree theorem: when edges almost always fail, the all-terminal reliability is
``τ(G) p^{n-1}`` to first order — the spanning trees, whose edges must all stay up.

Examples
--------
>>> import networkx as nx
>>> g = nx.cycle_graph(4)
>>> nx.set_edge_attributes(g, 0.1, "q")
>>> e = exact_k_terminal(g)                    # all-terminal: at most one of 4 edges down
>>> round(e.value, 6), round(1 - (0.9**4 + 4 * 0.1 * 0.9**3), 6)
(0.0523, 0.0523)
>>> round(exact_k_terminal(g, [0, 2]).value, 6)  # two terminals: both ways round cut
0.0361
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Iterable, Sequence
from fractions import Fraction
from typing import Any

import networkx as nx
import numpy as np

from model.results.estimate import Estimate, binomial_estimate, provenance
from model.run.seeds import chunk_rng

__all__ = ["brute_force_k_terminal", "exact_k_terminal", "k_terminal_unreliability", "mc_k_terminal"]

_Edge = tuple[int, int, Fraction]  # (u, v, q) with u < v


def _edges_of(graph: nx.Graph, q_attr: str) -> tuple[list[Hashable], list[tuple[int, int, float]]]:
    if graph.is_directed():
        raise ValueError("K-terminal reliability is defined for undirected graphs; give an undirected graph")
    if any(q_attr in d for _n, d in graph.nodes(data=True)):
        raise ValueError(f"K-terminal reliability here takes edge failures only; nodes carry {q_attr!r}")
    nodes = list(graph.nodes)
    idx = {n: i for i, n in enumerate(nodes)}
    edges = []
    for u, v, d in graph.edges(data=True):
        q = float(d.get(q_attr, 0.0))
        if not 0.0 <= q <= 1.0 or math.isnan(q):
            raise ValueError(f"edge {u}-{v}: {q_attr} = {q!r} must lie in [0, 1]")
        if idx[u] != idx[v]:
            edges.append((idx[u], idx[v], q))
    return nodes, edges


def _terminals(graph: nx.Graph, nodes: list[Hashable], terminals: Iterable[Hashable] | None
               ) -> frozenset[int]:
    idx = {n: i for i, n in enumerate(nodes)}
    ks = list(graph.nodes) if terminals is None else list(terminals)
    missing = [k for k in ks if k not in idx]
    if missing:
        raise ValueError(f"terminal {missing[0]!r} is not a node of the graph")
    if len(set(ks)) < 2:
        raise ValueError("give at least two distinct terminals")
    return frozenset(idx[k] for k in ks)


# ----------------------------------------------------------------------------- exact (factoring)


def _canonical(edges: list[_Edge]) -> tuple:
    return tuple(sorted((u, v, q.numerator, q.denominator) for u, v, q in edges))


def _reduce(edges: list[_Edge], terms: frozenset[int]) -> tuple[list[_Edge], frozenset[int]] | None:
    """Parallel, degree-1 and series reductions until none applies; None when the terminals
    cannot be connected even with every remaining edge up."""
    while True:
        merged: dict[tuple[int, int], Fraction] = {}
        for u, v, q in edges:
            key = (u, v) if u < v else (v, u)
            merged[key] = merged.get(key, Fraction(1)) * q
        edges = [(u, v, q) for (u, v), q in merged.items() if q < 1]  # an edge that always fails is no edge
        deg: dict[int, list[int]] = {}
        for i, (u, v, _q) in enumerate(edges):
            deg.setdefault(u, []).append(i)
            deg.setdefault(v, []).append(i)
        if any(t not in deg for t in terms):
            return None  # an isolated terminal
        changed = False
        for node, inc in deg.items():
            if node in terms:
                continue
            if len(inc) == 1:  # a dangling non-terminal: irrelevant
                edges = [e for i, e in enumerate(edges) if i != inc[0]]
                changed = True
                break
            if len(inc) == 2:  # series: both edges must work to pass through the node
                (a, b) = inc
                ua, va, qa = edges[a]
                ub, vb, qb = edges[b]
                x = va if ua == node else ua
                y = vb if ub == node else ub
                rest = [e for i, e in enumerate(edges) if i not in (a, b)]
                if x != y:
                    rest.append((min(x, y), max(x, y), 1 - (1 - qa) * (1 - qb)))
                edges = rest
                changed = True
                break
        if not changed:
            break
    # connectivity of the terminals with every edge up
    g = nx.Graph()
    g.add_nodes_from(terms)
    g.add_edges_from((u, v) for u, v, _q in edges)
    first = next(iter(terms))
    comp = nx.node_connected_component(g, first)
    if not terms <= comp:
        return None
    keep = [(u, v, q) for u, v, q in edges if u in comp]  # other components do not matter
    return keep, terms


def _contract(edges: list[_Edge], terms: frozenset[int], e: _Edge) -> tuple[list[_Edge], frozenset[int]]:
    u, v, _q = e
    out = []
    for a, b, q in edges:
        a2 = u if a == v else a
        b2 = u if b == v else b
        if a2 != b2:
            out.append((min(a2, b2), max(a2, b2), q))
    new_terms = frozenset(u if t == v else t for t in terms)
    return out, new_terms


def _factor(edges: list[_Edge], terms: frozenset[int], memo: dict, stats: dict[str, int]) -> Fraction:
    """Reliability (all terminals connected), exact."""
    if len(terms) <= 1:
        return Fraction(1)
    red = _reduce(edges, terms)
    if red is None:
        return Fraction(0)
    edges, terms = red
    if len(terms) <= 1:
        return Fraction(1)
    key = (_canonical(edges), tuple(sorted(terms)))
    hit = memo.get(key)
    if hit is not None:
        return hit
    stats["branches"] += 1
    # branch on an edge at a terminal (contracting it merges terminals fastest)
    e = next((x for x in edges if x[0] in terms or x[1] in terms), edges[0])
    rest = [x for x in edges if x is not e]
    up_edges, up_terms = _contract(rest, terms, e)
    r = (1 - e[2]) * _factor(up_edges, up_terms, memo, stats) + e[2] * _factor(rest, terms, memo, stats)
    memo[key] = r
    return r


def exact_k_terminal(graph: nx.Graph, terminals: Iterable[Hashable] | None = None, *, q_attr: str = "q",
                     max_branches: int = 2_000_000) -> Estimate:
    """Exact K-terminal (``terminals``; default every node: all-terminal) unreliability.

    Raises ``ValueError`` for directed graphs, node failures or bad terminals, and
    ``RuntimeError`` naming ``mc`` when the factoring tree outgrows ``max_branches``.
    """
    t0 = time.perf_counter()
    nodes, raw = _edges_of(graph, q_attr)
    terms = _terminals(graph, nodes, terminals)
    edges = [(min(u, v), max(u, v), Fraction(q)) for u, v, q in raw]
    stats = {"branches": 0}

    class _Budget(dict):
        def __setitem__(self, k: Any, v: Any) -> None:
            if stats["branches"] > max_branches:
                raise RuntimeError(f"exact K-terminal factoring passed {max_branches:,} branches; "
                                   "use the Monte Carlo method (mc)")
            super().__setitem__(k, v)

    memo = _Budget()
    rel = _factor(edges, terms, memo, stats)
    value = float(1 - rel)
    what = "all-terminal" if len(terms) == len(nodes) else f"{len(terms)}-terminal"
    return Estimate(value, value, value, 0.0, 0, "exact-factoring", None, 1.0, "exact",
                    time.perf_counter() - t0, {"terminals": len(terms), "kind": what,
                                               "branches": stats["branches"], "reliability": float(rel)},
                    provenance(engine="k-terminal", method="exact-factoring"))


# ----------------------------------------------------------------------------- Monte Carlo


def _connected(up: np.ndarray, ends: np.ndarray, n_nodes: int, terms: np.ndarray) -> np.ndarray:
    """(trials,) True where every terminal is in one component of the working edges."""
    trials = up.shape[0]
    label = np.broadcast_to(np.arange(n_nodes), (trials, n_nodes)).copy()
    while True:  # sweeps of min-label propagation: one step per edge, vectorised over trials
        before = label.copy()
        for j, (u, v) in enumerate(ends.tolist()):
            m = np.minimum(label[:, u], label[:, v])
            w = up[:, j]
            label[w, u] = m[w]
            label[w, v] = m[w]
        if np.array_equal(before, label):
            break
    lt = label[:, terms]
    return np.all(lt == lt[:, :1], axis=1)


def mc_k_terminal(graph: nx.Graph, terminals: Iterable[Hashable] | None = None, *, samples: int = 100_000,
                  seed: int = 0, q_attr: str = "q", chunk: int = 20_000) -> Estimate:
    """Crude Monte Carlo K-terminal unreliability with a Wilson interval.

    Trials are drawn in chunks of ``chunk``, chunk ``i`` from :func:`model.run.seeds.chunk_rng`.
    """
    if samples < 1:
        raise ValueError("samples must be >= 1")
    t0 = time.perf_counter()
    nodes, raw = _edges_of(graph, q_attr)
    terms = np.array(sorted(_terminals(graph, nodes, terminals)), dtype=np.int64)
    ends = np.array([(u, v) for u, v, _q in raw], dtype=np.int64).reshape(-1, 2)
    qs = np.array([q for _u, _v, q in raw])
    fails = 0
    for i, lo in enumerate(range(0, samples, chunk)):  # one step per chunk of trials
        n = min(chunk, samples - lo)
        rng = chunk_rng(seed, i)
        up = rng.random((n, qs.size)) >= qs[None, :]
        fails += int((~_connected(up, ends, len(nodes), terms)).sum())
    est = binomial_estimate(fails, samples, method="crude-mc", seed=seed, seconds=time.perf_counter() - t0,
                            details={"terminals": int(terms.size)})
    return est


def brute_force_k_terminal(graph: nx.Graph, terminals: Iterable[Hashable] | None = None, *,
                           q_attr: str = "q", max_edges: int = 20) -> float:
    """K-terminal unreliability by enumerating all ``2**m`` edge states (tests only)."""
    nodes, raw = _edges_of(graph, q_attr)
    terms = np.array(sorted(_terminals(graph, nodes, terminals)), dtype=np.int64)
    m = len(raw)
    if m > max_edges:
        raise ValueError(f"brute force: 2**{m} states is too many (limit 2**{max_edges})")
    states = ((np.arange(1 << m)[:, None] >> np.arange(m)[None, :]) & 1).astype(bool)  # True = up
    qs = np.array([q for _u, _v, q in raw])
    prob = np.prod(np.where(states, 1 - qs[None, :], qs[None, :]), axis=1)
    ends = np.array([(u, v) for u, v, _q in raw], dtype=np.int64).reshape(-1, 2)
    ok = _connected(states, ends, len(nodes), terms)
    return float(prob[~ok].sum())


def k_terminal_unreliability(graph: nx.Graph, terminals: Sequence[Hashable] | None = None, *,
                             method: str = "auto", samples: int = 100_000, seed: int = 0,
                             q_attr: str = "q") -> Estimate:
    """K-terminal (or, with ``terminals=None``, all-terminal) unreliability by ``method``.

    ``"exact"`` (factoring), ``"mc"`` (crude Monte Carlo), or ``"auto"``: exact, falling back
    to Monte Carlo when the factoring tree grows too large (the Estimate's ``details`` say why).
    """
    if method not in ("auto", "exact", "mc"):
        raise ValueError(f"method = {method!r}: K-terminal reliability takes 'auto', 'exact' or 'mc'")
    if method == "mc":
        return mc_k_terminal(graph, terminals, samples=samples, seed=seed, q_attr=q_attr)
    try:
        return exact_k_terminal(graph, terminals, q_attr=q_attr,
                                max_branches=200_000 if method == "auto" else 2_000_000)
    except RuntimeError as exc:
        if method == "exact":
            raise
        est = mc_k_terminal(graph, terminals, samples=samples, seed=seed, q_attr=q_attr)
        est.details["fallback"] = str(exc)
        return est
