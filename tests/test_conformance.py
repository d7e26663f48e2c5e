"""One conformance suite for every engine, in the style of scikit-learn's ``check_estimator``.

Every engine is registered once in :data:`ENGINES` and must keep the same promises on a zoo of small
graphs whose answers are known exactly (by enumerating every component state here, independently of
the engines):

* the interval covers the truth (``|value - truth| < 4`` standard errors; exact engines: equal);
* the same seed gives the same result, bit for bit;
* ``q = 0`` and ``q = 1`` give exactly 0 and 1 (0 with the one-sided bound for sampling engines), or
  the engine refuses the degenerate network with a clear ``ValueError``;
* nothing observed gives the one-sided upper bound at the stated confidence, never a bare 0;
* the provenance is complete (method, seed, samples, interval from the vocabulary, version, commit);
* one worker and two workers agree bit for bit (engines that run in one pass say so instead).

The time engine meets these promises through ``simulate_graph``: its steady-state unavailability of
a graph of independent repairable elements equals the static unreliability at ``q = mttr / (mtbf +
mttr)``; on a scenario (where no exact answer exists) it is checked for determinism, provenance and
workers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import networkx as nx
import pytest

from model.network.compiled import compile_graph
from model.results.estimate import INTERVALS, Estimate
from model.sim.engine import simulate, simulate_graph
from model.static.exact import exact_unreachability
from model.static.montecarlo import crude_monte_carlo
from model.static.rare import generalized_splitting, rare_unreachability

MTTR = 10.0  # hours, for the time engine's version of a graph

# ------------------------------------------------------------------------------------ the zoo
Edges = list[tuple[str, str, float]]

ZOO: dict[str, Edges] = {
    "series": [("s", "a", 0.1), ("a", "t", 0.2)],
    "parallel": [("s", "a", 0.3), ("a", "t", 0.05), ("s", "b", 0.2), ("b", "t", 0.1)],
    "bridge": [("s", "a", 0.2), ("s", "b", 0.25), ("a", "b", 0.15), ("a", "t", 0.1), ("b", "t", 0.3)],
    "triangle": [("s", "a", 0.1), ("a", "t", 0.1), ("s", "t", 0.1)],
}


def graph(edges: Edges, q: float | None = None) -> nx.Graph:
    """The graph with each edge's ``q`` (or the same ``q`` everywhere) and the matching ``mtbf``/``mttr``."""
    g = nx.Graph()
    for u, v, qe in edges:
        qe = qe if q is None else q
        attrs = {"q": qe}
        if 0 < qe < 1:
            attrs |= {"mtbf": MTTR * (1 - qe) / qe, "mttr": MTTR}
        g.add_edge(u, v, **attrs)
    return g


def truth(edges: Edges) -> float:
    """P(s cannot reach t) by enumerating every edge state."""
    total = 0.0
    for state in itertools.product([False, True], repeat=len(edges)):
        g = nx.Graph()
        g.add_nodes_from(n for u, v, _ in edges for n in (u, v))
        p = 1.0
        for (u, v, q), up in zip(edges, state, strict=True):
            p *= (1 - q) if up else q
            if up:
                g.add_edge(u, v)
        if not nx.has_path(g, "s", "t"):
            total += p
    return total


# -------------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Engine:
    """One engine behind the common signature ``run(graph, seed, workers) -> Estimate``."""

    name: str
    run: Callable[[nx.Graph, int, int], Estimate]
    stochastic: bool = True
    parallel: bool = False  # runs its chunks through the runner (so workers matter)
    degenerate: str = "exact"  # "exact": q = 0 and q = 1 answered exactly; "refuses": ValueError
    rare_zero: float | None = None  # a q at which a sampling engine observes nothing


def _exact(g, method):
    return exact_unreachability(compile_graph(g, "s", "t"), method)


def _mc(g, seed, workers):
    net = compile_graph(g, "s", "t")
    backend = "serial" if workers == 1 else "processes"
    return crude_monte_carlo(net, 24_000, seed, chunk_size=4096, backend=backend, workers=workers,
                             progress=False).overall


def _graph_sim(g, seed, workers):
    backend = "serial" if workers == 1 else "processes"
    return simulate_graph(g, "s", "t", years=240, seed=seed, chunk_years=60, backend=backend,
                          workers=workers).unavailability


ENGINES = [
    Engine("exact-bdd", lambda g, seed, w: _exact(g, "bdd"), stochastic=False),
    Engine("exact-factoring", lambda g, seed, w: _exact(g, "factoring"), stochastic=False),
    Engine("crude-mc", _mc, parallel=True, rare_zero=1e-12),
    Engine("turnip", lambda g, seed, w: rare_unreachability(compile_graph(g, "s", "t"), 3000, seed,
                                                            method="turnip", trace=False)),
    Engine("generalized-splitting", lambda g, seed, w: generalized_splitting(compile_graph(g, "s", "t"), 200,
                                                                             seed, trace=False),
           degenerate="refuses"),
    Engine("graph-simulation", _graph_sim, parallel=True, degenerate="time", rare_zero=1e-9),
]
IDS = [e.name for e in ENGINES]


def _same(a: Estimate, b: Estimate) -> bool:
    return (a.value, a.ci_low, a.ci_high, a.std_error, a.samples, a.interval) == (
        b.value, b.ci_low, b.ci_high, b.std_error, b.samples, b.interval)


# ------------------------------------------------------------------------------------ the checks
@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_interval_covers_the_exact_answer(engine):
    for name, edges in ZOO.items():
        est = engine.run(graph(edges), 3, 1)
        exact = truth(edges)
        assert est.ci_low <= est.value <= est.ci_high, name
        if engine.stochastic:
            assert abs(est.value - exact) < 4 * est.std_error, (name, est.value, exact, est.std_error)
        else:
            assert est.value == pytest.approx(exact, rel=1e-12, abs=1e-15), name
            assert est.interval == "exact" and est.ci_low == est.ci_high == est.value


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_same_seed_same_result(engine):
    g = graph(ZOO["bridge"])
    a, b = engine.run(g, 11, 1), engine.run(g, 11, 1)
    assert _same(a, b)
    if engine.stochastic:
        assert not _same(a, engine.run(g, 12, 1))  # the seed matters


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_q0_and_q1_are_exact(engine):
    edges = ZOO["bridge"]
    if engine.degenerate == "refuses":
        for q in (0.0, 1.0):
            with pytest.raises(ValueError, match="use method='turnip'"):
                engine.run(graph(edges, q), 1, 1)
        return
    if engine.degenerate == "time":  # q = 0: elements without failure data never fail (q = 1: never up)
        g = nx.Graph([(u, v) for u, v, _ in edges])
        g.add_edge("s", "a", mtbf=100.0, mttr=1.0)  # the only element that can fail: never cuts s from t
        zero = engine.run(g, 1, 1)
    else:
        zero = engine.run(graph(edges, 0.0), 1, 1)
        one = engine.run(graph(edges, 1.0), 1, 1)
        assert (one.value, one.ci_low, one.ci_high, one.std_error) == (1.0, 1.0, 1.0, 0.0)
    assert zero.value == 0.0 and zero.std_error == 0.0 and zero.ci_low == 0.0
    if engine.stochastic:
        assert zero.interval == "one-sided-upper"
        assert zero.ci_high == pytest.approx(1 - (1 - zero.confidence) ** (1 / zero.samples), rel=1e-12)
    else:
        assert zero.interval == "exact" and zero.ci_high == 0.0


@pytest.mark.parametrize("engine", [e for e in ENGINES if e.rare_zero is not None],
                         ids=[e.name for e in ENGINES if e.rare_zero is not None])
def test_nothing_observed_gives_the_one_sided_bound(engine):
    est = engine.run(graph(ZOO["series"], engine.rare_zero), 2, 1)
    assert est.value == 0.0 and est.interval == "one-sided-upper" and est.ci_low == 0.0
    assert est.ci_high == pytest.approx(1 - (1 - est.confidence) ** (1 / est.samples), rel=1e-12)
    assert est.ci_high > 0


def _complete(est: Estimate) -> None:
    assert (est.interval in INTERVALS and 0 < est.confidence < 1) or est.interval == "exact"
    assert est.method and est.provenance.get("nines_version") and "git_commit" in est.provenance
    assert est.provenance.get("created_utc")
    assert math.isfinite(est.std_error) and est.std_error >= 0


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_provenance_is_complete(engine):
    est = engine.run(graph(ZOO["triangle"]), 5, 1)
    _complete(est)
    if engine.stochastic:
        assert est.seed == 5 and est.samples > 0
    else:
        assert est.seed is None and est.samples == 0


PARALLEL = [e for e in ENGINES if e.parallel]


@pytest.mark.parametrize("engine", PARALLEL, ids=[e.name for e in PARALLEL])
def test_one_and_two_workers_agree_bit_for_bit(engine):
    g = graph(ZOO["parallel"])
    one, two = engine.run(g, 9, 1), engine.run(g, 9, 2)
    assert _same(one, two)
    assert one.provenance["run"]["backend"] == "serial" and two.provenance["run"]["backend"] == "processes"
    assert two.provenance["run"]["workers"] == 2


def test_single_pass_engines_are_the_rest():
    # every registered engine either goes through the runner or is a single pass (exact, turnip, splitting)
    assert {e.name for e in ENGINES if not e.parallel} == {"exact-bdd", "exact-factoring", "turnip",
                                                          "generalized-splitting"}


def test_time_engine_on_a_scenario(tiny_path):
    kw = {"years": 60, "seed": 4, "chunk_years": 15, "progress": False}
    a = simulate(tiny_path, **kw)
    b = simulate(tiny_path, **kw, backend="processes", workers=2)
    for fig in ("unreachable_call_rate", "failed_calls_per_year", "unavailability"):
        assert _same(getattr(a, fig), getattr(b, fig)), fig
        assert getattr(a, fig).interval in INTERVALS
    _complete(a.unreachable_call_rate)
    assert a.unreachable_call_rate.seed == 4 and a.unreachable_call_rate.samples == 60
    assert _same(a.unreachable_call_rate, simulate(tiny_path, **kw).unreachable_call_rate)
