"""Crude Monte Carlo of a fault tree's weighted top probability, straight on its gates, bit-parallel.

Per chunk of trials (chunk ``i`` draws from :func:`model.run.seeds.chunk_rng` ``(seed, i)``, so
the result does not depend on how the chunks are run), every basic event and common-cause event
is sampled as packed bits (64 trials a word), a basic event held by common-cause events is OR-ed
with them, and the gates are evaluated in topological order by whole-array bitwise operations:
``and``/``or`` as reductions, ``atleast k`` by the counting recursion
``T_j ← T_j OR (x AND T_{j-1})``. No Python loop runs per trial; the work per chunk is one
array operation per gate input. Unlike the engines on the success network
(:func:`model.static.faulttree.reachability_network`), shared gates are evaluated once, so any
tree fits.

The estimator of the weighted share is the per-trial ``Y = Σ_t w_t 1[top_t] / W``; its mean and
variance come from exact running sums (:func:`model.results.estimate.mean_estimate`), with the
one-sided bound when nothing was observed.

Examples
--------
>>> from model.static.faulttree import FaultTree, Gate
>>> t = FaultTree(("a", "b", "c"), [0.1, 0.2, 0.3], (Gate("two", "atleast", (0, 1, 2), k=2),),
...               (3,), ("two",), [1.0])
>>> e = tree_monte_carlo(t, 200_000, seed=4)
>>> e.method, e.samples, abs(e.value - 0.098) < 4 * e.std_error
('crude-mc-gates', 200000, True)
"""

from __future__ import annotations

import time

import numpy as np

from model.network.bits import pack_bool, unpack_bits
from model.results.estimate import Estimate, mean_estimate, provenance
from model.run.seeds import chunk_plan, chunk_rng
from model.static.faulttree import FaultTree

__all__ = ["tree_monte_carlo"]


def _chunk(tree: FaultTree, order: list[int], n: int, rng: np.random.Generator) -> tuple[float, float, int]:
    B = tree.n_basic
    p = np.concatenate([tree.q, tree.ccf_q])
    words = np.empty((p.size, -(-n // 64)), dtype=np.uint64)  # (events, n/64)
    for a in range(0, p.size, 64):  # 64 events at a time bounds the memory of the uniforms
        words[a:a + 64] = pack_bool(rng.random((min(64, p.size - a), n)) < p[a:a + 64, None])
    state: dict[int, np.ndarray] = {}
    basic = words[:B].copy()
    for g, members in enumerate(tree.ccf_members):
        if members:
            basic[list(members)] |= words[B + g]
    zero = np.zeros(words.shape[1], dtype=np.uint64)

    def val(c: int) -> np.ndarray:
        return basic[c] if c < B else state[c]

    for j in order:
        gt = tree.gates[j]
        ins = [val(c) for c in gt.inputs]
        if gt.kind == "and":
            r = np.bitwise_and.reduce(ins)
        elif gt.kind == "or":
            r = np.bitwise_or.reduce(ins)
        else:
            counts = [~zero] + [zero] * gt.k
            for x in ins:
                for k in range(gt.k, 0, -1):
                    counts[k] = counts[k] | (x & counts[k - 1])
            r = counts[gt.k]
        state[B + j] = r
    y = np.zeros(n)
    w = tree.weights / tree.total_weight if tree.total_weight > 0 else np.zeros(len(tree.tops))
    for a in range(0, len(tree.tops), 128):  # 128 tops at a time bounds the memory of the unpacked bits
        block = np.stack([val(t) for t in tree.tops[a:a + 128]])
        y += w[a:a + 128] @ unpack_bits(block, n).astype(np.float64)
    return float(y.sum()), float((y * y).sum()), int(np.count_nonzero(y))


def tree_monte_carlo(tree: FaultTree, samples: int, seed: int = 0, *, chunk_size: int = 65_536) -> Estimate:
    """Crude Monte Carlo estimate of ``Σ w_t P(top_t) / total_weight``.

    Parameters
    ----------
    tree : FaultTree
    samples : int
        Trials.
    seed : int
        Entropy of the run's ``SeedSequence``; chunk ``i`` uses child ``i``.
    chunk_size : int
        Trials per chunk (part of the plan: the same seed and chunk size give the same result).

    Returns
    -------
    Estimate
        ``method`` ``"crude-mc-gates"``, normal interval (one-sided bound when nothing was seen).
    """
    t0 = time.perf_counter()
    order = tree.topological_gates()
    s = s2 = 0.0
    nz = 0
    for i, n in enumerate(chunk_plan(samples, chunk_size)):
        a, b, c = _chunk(tree, order, n, chunk_rng(seed, i))
        s, s2, nz = s + a, s2 + b, nz + c
    est = mean_estimate(s, s2, samples, n_nonzero=nz, method="crude-mc-gates", seed=seed,
                        seconds=time.perf_counter() - t0, details={"chunk_size": chunk_size})
    return Estimate(**{**est.__dict__, "provenance": provenance(engine="crude-mc-gates", seed=seed,
                                                                samples=samples, chunk_size=chunk_size)})
