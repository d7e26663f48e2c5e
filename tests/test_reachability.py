"""The bit-parallel reachability kernel against the reference breadth-first search."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.network.bits import pack_sets, unpack_bits
from model.network.compiled import CompiledNetwork, compile_graph, csr_from_lists
from model.network.graphs import dodecahedron, grid
from model.network.reachability import ReachabilityKernel, kernel_for, unreachable_bits, unreachable_sets


@st.composite
def networks(draw: st.DrawFn) -> CompiledNetwork:
    """Random networks: cycles or not, node and arc components, never-failing elements,
    shared components, prerequisites, several targets, unreachable sources."""
    n = draw(st.integers(1, 8))
    c = draw(st.integers(1, 10))
    comp = st.integers(-1, c - 1)
    arcs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), comp), max_size=20))
    if draw(st.booleans()):  # make it a DAG: keep arcs going "forward"
        arcs = [(u, v, k) for u, v, k in arcs if u < v]
    node_comp = draw(st.lists(comp, min_size=n, max_size=n))
    demands = draw(st.lists(st.tuples(st.integers(0, n - 1),
                                      st.lists(st.integers(0, n - 1), max_size=3, unique=True),
                                      st.lists(st.integers(0, c - 1), max_size=2, unique=True)),
                            min_size=1, max_size=5))
    tptr, tind = csr_from_lists([t for _s, t, _p in demands])
    pptr, pind = csr_from_lists([p for _s, _t, p in demands])
    return CompiledNetwork(
        component_names=tuple(f"c{i}" for i in range(c)), q=np.full(c, 0.3),
        node_names=tuple(f"n{i}" for i in range(n)), node_component=np.array(node_comp),
        arc_src=np.array([a for a, _, _ in arcs], dtype=np.int64),
        arc_dst=np.array([b for _, b, _ in arcs], dtype=np.int64),
        arc_component=np.array([k for _, _, k in arcs], dtype=np.int64),
        demand_names=tuple(f"d{i}" for i in range(len(demands))),
        demand_source=np.array([s for s, _t, _p in demands]), demand_prereq_ptr=pptr,
        demand_prereq=pind, demand_target_ptr=tptr, demand_targets=tind,
        demand_weight=np.ones(len(demands)),
    )


def _reference(net: CompiledNetwork, sets: list[list[int]]) -> np.ndarray:
    return np.array([net.unreachable_demands(s) for s in sets], dtype=bool).reshape(len(sets), net.n_demands)


@settings(max_examples=150, deadline=None)
@given(networks(), st.data())
def test_kernel_matches_reference_bfs_on_random_networks(net: CompiledNetwork, data: st.DataObject) -> None:
    sets = data.draw(st.lists(st.lists(st.integers(0, net.n_components - 1), unique=True, max_size=5),
                              min_size=1, max_size=140))
    got = unreachable_sets(net, sets)
    assert got.shape == (len(sets), net.n_demands)
    assert np.array_equal(got, _reference(net, sets))


@settings(max_examples=40, deadline=None)
@given(networks(), st.data())
def test_word_blocks_do_not_change_the_answer(net: CompiledNetwork, data: st.DataObject) -> None:
    seed = data.draw(st.integers(0, 2**32 - 1))
    down = np.random.default_rng(seed).integers(0, 2**63, size=(net.n_components, 5), dtype=np.int64)
    down = down.astype(np.uint64)
    one_block = ReachabilityKernel(net)(down)
    many_blocks = ReachabilityKernel(net, block_bytes=1)(down)
    assert ReachabilityKernel(net, block_bytes=1).block_words() == 1
    assert np.array_equal(one_block, many_blocks)


@pytest.mark.parametrize("q", [0.1, 0.3])
def test_dodecahedron_and_grid_against_reference(q: float) -> None:
    rng = np.random.default_rng(4)
    for g, s, t in (dodecahedron(q), grid(5, q)):
        net = compile_graph(g, s, t)
        k = kernel_for(net)
        assert not k.is_dag  # undirected: cycles, the fixed-point sweeps are exercised
        failed = rng.random((500, net.n_components)) < q
        sets = [np.flatnonzero(row).tolist() for row in failed]
        assert np.array_equal(unreachable_sets(net, sets), _reference(net, sets))


def test_dag_is_one_pass_and_matches_reference() -> None:
    g = nx.DiGraph()
    g.add_edges_from([("s", "a"), ("s", "b"), ("a", "c"), ("b", "c"), ("a", "t"), ("c", "t"), ("b", "u")])
    for n in "abc":
        g.nodes[n]["q"] = 0.2
    net = compile_graph(g, demands=[("s", ["t"], 2.0), ("s", ["u", "t"], 1.0), ("a", ["t"], 1.0)],
                        default_edge_q=0.1)
    k = kernel_for(net)
    assert k.is_dag and k.n_sources == 2 and k.n_routes == 3
    rng = np.random.default_rng(0)
    sets = [np.flatnonzero(rng.random(net.n_components) < 0.3).tolist() for _ in range(300)]
    assert np.array_equal(unreachable_sets(net, sets), _reference(net, sets))


def test_shared_sources_evaluated_once_and_irrelevant_nodes_pruned() -> None:
    g = nx.DiGraph()
    g.add_edges_from([("s", "x"), ("x", "t1"), ("x", "t2"), ("t1", "dead"), ("z", "x")])
    net = compile_graph(g, demands=[("s", ["t1"], 1.0), ("s", ["t2"], 1.0), ("s", ["t1"], 5.0)],
                        default_edge_q=0.1)
    k = kernel_for(net)
    assert k.n_sources == 1 and k.n_routes == 2
    assert k.n_relevant == 4  # s, x, t1, t2: "dead" leads nowhere, "z" is reached from nowhere


def test_packed_interface_and_shape_check() -> None:
    net = compile_graph(nx.path_graph(4), 0, 3, default_edge_q=0.5)
    rng = np.random.default_rng(2)
    failed = rng.random((200, 3)) < 0.3
    sets = [np.flatnonzero(r).tolist() for r in failed]
    ptr = np.cumsum([0] + [len(s) for s in sets])
    members = np.array([x for s in sets for x in s], dtype=np.int64)
    bits = unreachable_bits(net, pack_sets(ptr, members, 3))
    assert bits.shape == (1, 4)
    assert np.array_equal(unpack_bits(bits, 200)[0], failed.any(axis=1))
    assert np.array_equal(unreachable_sets(net, (ptr, members)), failed.any(axis=1)[:, None])
    with pytest.raises(ValueError, match="shape"):
        unreachable_bits(net, np.zeros((2, 1), dtype=np.uint64))


def test_demand_without_targets_is_always_unreachable_and_source_can_be_target() -> None:
    g = nx.DiGraph([("s", "t")])
    g.nodes["s"]["q"] = 0.5
    net = compile_graph(g, demands=[("s", [], 1.0), ("s", ["s"], 1.0), ("t", ["s"], 1.0)])
    s_comp = net.component_index("s")
    got = unreachable_sets(net, [[], [s_comp]])
    assert got.tolist() == [[True, False, True], [True, True, True]]
    assert np.array_equal(got, _reference(net, [[], [s_comp]]))
