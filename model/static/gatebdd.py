"""Exact top-event probabilities of a fault tree by a binary decision diagram over its gates.

The classic PRA construction (Rauzy; what SCRAM does): order the variables — the
basic events and common-cause events — by a depth-first walk from the tops
(a common-cause event just before its first member), turn every basic event into
its diagram (``x_e``, or ``x_e OR x_g ...`` when common-cause events ``g`` hold it
down), and build each gate bottom-up by ``apply`` with a memo table (``and``, ``or``;
``atleast k`` by the counting recursion ``T_j ← T_j OR (x AND T_{j-1})``). One
reduced ordered diagram with shared nodes serves every top.

The probability of a node is ``q_v P(high) + (1 - q_v) P(low)``: a sum of products
of non-negative terms, never ``1 - R``, so the relative rounding error stays near
machine precision however small the top probability is (``1e-18`` is fine).

:func:`solve_fault_tree` is the one entry point for a tree: ``exact`` here, ``mc`` by
the bit-parallel gate sampler of :mod:`model.static.treemc`, ``rare`` by nines'
rare-event engine on the tree's success network
(:func:`model.static.faulttree.reachability_network`), ``auto`` exact unless the
diagram is too large.

Examples
--------
>>> from model.static.faulttree import FaultTree, Gate
>>> t = FaultTree(("a", "b", "c"), [0.1, 0.2, 0.3],
...               (Gate("ab", "and", (0, 1)), Gate("top", "or", (3, 2))), (4,), ("top",), [1.0])
>>> e = fault_tree_probability(t)
>>> round(e.value, 12), e.method          # 1 - (1 - 0.02) * (1 - 0.3)
(0.314, 'exact-gate-bdd')
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from model.results.estimate import Estimate, provenance
from model.static.exact import ExactTooLarge
from model.static.faulttree import FaultTree, reachability_network

__all__ = ["GateDiagram", "fault_tree_probability", "solve_fault_tree"]

_AND, _OR = 0, 1


class GateDiagram:
    """The reduced ordered BDD of every top event of a fault tree.

    Attributes
    ----------
    order : numpy.ndarray
        Variable of each level: ``i < B`` basic event ``i``, ``B + g`` common-cause event ``g``.
    roots : list of int
        Diagram node of each top (0 is false, 1 is true).
    n_nodes : int
    """

    def __init__(self, tree: FaultTree, *, max_nodes: int = 2_000_000, order: str = "dfs") -> None:
        self.tree = tree
        self.max_nodes = max_nodes
        B = tree.n_basic
        self.order = self._order() if order == "dfs" else self._index_order()
        n_vars = len(self.order)
        level = np.full(B + len(tree.ccf_names), -1, dtype=np.int64)
        level[self.order] = np.arange(n_vars)
        self._var: list[int] = [n_vars, n_vars]  # terminals sit below every level
        self._lo: list[int] = [0, 1]
        self._hi: list[int] = [0, 1]
        self._unique: dict[tuple[int, int, int], int] = {}
        self._memo: dict[tuple[int, int, int], int] = {}
        holders: dict[int, list[int]] = {}
        for g, members in enumerate(tree.ccf_members):
            for m in members:
                holders.setdefault(m, []).append(g)
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 4 * n_vars + 1000))
        try:
            node_of: dict[int, int] = {}

            def event(c: int) -> int:
                if c in node_of:
                    return node_of[c]
                if c < B:
                    r = self._mk(int(level[c]), 0, 1) if level[c] >= 0 else 0
                    for g in holders.get(c, []):
                        r = self._apply(_OR, r, self._mk(int(level[B + g]), 0, 1))
                    node_of[c] = r
                    return r
                raise AssertionError("gates are built in topological order")

            for j in tree.topological_gates():
                gt = tree.gates[j]
                ins = [event(c) if c < B else node_of[c] for c in gt.inputs]
                if gt.kind in ("and", "or"):
                    r = self._fold(_AND if gt.kind == "and" else _OR, ins)
                else:
                    counts = [1] + [0] * gt.k  # counts[j]: at least j of the inputs so far
                    for x in ins:
                        for k in range(gt.k, 0, -1):
                            counts[k] = self._apply(_OR, counts[k], self._apply(_AND, x, counts[k - 1]))
                    r = counts[gt.k]
                node_of[B + j] = r
                if len(self._memo) > 4 * max_nodes:
                    self._memo.clear()
            self.roots = [event(t) if t < B else node_of[t] for t in tree.tops]
        finally:
            sys.setrecursionlimit(limit)
        self._memo.clear()

    @property
    def n_nodes(self) -> int:
        return len(self._var)

    def _order(self) -> np.ndarray:
        tree = self.tree
        B = tree.n_basic
        holders: dict[int, list[int]] = {}
        for g, members in enumerate(tree.ccf_members):
            for m in members:
                holders.setdefault(m, []).append(g)
        seen_gate = np.zeros(len(tree.gates), dtype=bool)
        placed = np.zeros(B + len(tree.ccf_names), dtype=bool)
        order: list[int] = []
        stack = list(reversed(tree.tops))
        while stack:
            c = stack.pop()
            if c < B:
                for g in holders.get(c, []):
                    if not placed[B + g]:
                        placed[B + g] = True
                        order.append(B + g)
                if not placed[c]:
                    placed[c] = True
                    order.append(c)
            elif not seen_gate[c - B]:
                seen_gate[c - B] = True
                stack.extend(reversed(tree.gates[c - B].inputs))
        return np.array(order, dtype=np.int64)

    def _fold(self, op: int, ins: list[int]) -> int:
        """``op`` over ``ins``, left to right (measured: smaller intermediate diagrams than in pairs)."""
        r = 1 if op == _AND else 0
        for x in ins:
            r = self._apply(op, r, x)
        return r

    def _index_order(self) -> np.ndarray:
        tree = self.tree
        B = tree.n_basic
        first = {}
        for g, members in enumerate(tree.ccf_members):
            for m in members:
                first.setdefault(m, []).append(B + g)
        out: list[int] = []
        placed = set()
        for i in range(B):
            for g in first.get(i, []):
                if g not in placed:
                    placed.add(g)
                    out.append(g)
            out.append(i)
        return np.array(out, dtype=np.int64)

    def _mk(self, v: int, lo: int, hi: int) -> int:
        if lo == hi:
            return lo
        key = (v, lo, hi)
        r = self._unique.get(key)
        if r is None:
            r = len(self._var)
            if r >= self.max_nodes:
                raise ExactTooLarge(f"exact-gate-bdd: the decision diagram passed {self.max_nodes:,} nodes; "
                                    "use --method mc or rare (Monte Carlo or the rare-event estimator)")
            self._var.append(v)
            self._lo.append(lo)
            self._hi.append(hi)
            self._unique[key] = r
        return r

    def _apply(self, op: int, a: int, b: int) -> int:
        if op == _AND:
            if a == 0 or b == 0:
                return 0
            if a == 1 or a == b:
                return b
            if b == 1:
                return a
        else:
            if a == 1 or b == 1:
                return 1
            if a == 0 or a == b:
                return b
            if b == 0:
                return a
        if a > b:
            a, b = b, a
        key = (op, a, b)
        r = self._memo.get(key)
        if r is not None:
            return r
        va, vb = self._var[a], self._var[b]
        v = min(va, vb)
        a0, a1 = (self._lo[a], self._hi[a]) if va == v else (a, a)
        b0, b1 = (self._lo[b], self._hi[b]) if vb == v else (b, b)
        r = self._mk(v, self._apply(op, a0, b0), self._apply(op, a1, b1))
        self._memo[key] = r
        return r

    def probabilities(self, p_event: np.ndarray | None = None) -> np.ndarray:
        """Probability of every top, with ``p_event`` (basic then common-cause) or the tree's own.

        Examples
        --------
        >>> from model.static.faulttree import FaultTree, Gate
        >>> t = FaultTree(("a", "b"), [0.5, 0.5], (Gate("top", "and", (0, 1)),), (2,), ("top",), [1.0])
        >>> GateDiagram(t).probabilities().tolist()
        [0.25]
        """
        if p_event is None:
            p_event = np.concatenate([self.tree.q, self.tree.ccf_q])
        p_level = np.asarray(p_event, dtype=np.float64)[self.order]
        P = np.empty(self.n_nodes)
        P[0], P[1] = 0.0, 1.0
        var, lo, hi = self._var, self._lo, self._hi
        for n in range(2, self.n_nodes):  # children are always older than their parents
            p = p_level[var[n]]
            P[n] = p * P[hi[n]] + (1.0 - p) * P[lo[n]]
        return P[np.array(self.roots, dtype=np.int64)] if self.roots else np.zeros(0)


def _weighted(tree: FaultTree, per_top: np.ndarray) -> float:
    return float((tree.weights * per_top).sum() / tree.total_weight) if tree.total_weight > 0 else 0.0


def fault_tree_probability(tree: FaultTree, *, max_nodes: int = 2_000_000) -> Estimate:
    """Exact weighted top probability ``Σ w_t P(top_t) / total_weight`` of ``tree``.

    Returns
    -------
    Estimate
        ``method`` ``"exact-gate-bdd"``, interval ``"exact"``; ``details`` holds ``per_top``,
        ``top_names`` and ``diagram_nodes``.

    Raises
    ------
    ExactTooLarge
        When the diagram passes ``max_nodes`` (the message names mc and rare).
    """
    t0 = time.perf_counter()
    dia = GateDiagram(tree, max_nodes=max_nodes)
    per = dia.probabilities()
    value = _weighted(tree, per)
    details: dict[str, Any] = {"per_top": per.tolist(), "top_names": list(tree.top_names),
                               "diagram_nodes": dia.n_nodes, "variables": len(dia.order)}
    return Estimate(value, value, value, 0.0, 0, "exact-gate-bdd", None, 1.0, "exact",
                    time.perf_counter() - t0, details, provenance(engine="exact", method="exact-gate-bdd"))


def solve_fault_tree(tree: FaultTree, method: str = "auto", *, samples: int = 100_000,
                     seed: int = 0) -> tuple[Estimate, str, str]:
    """Weighted top probability of ``tree`` by ``exact``, ``mc``, ``rare`` or ``auto``.

    Returns ``(estimate, method_used, reason)`` like :func:`model.static.solve.solve`.

    Examples
    --------
    >>> from model.static.faulttree import FaultTree, Gate
    >>> t = FaultTree(("a", "b"), [0.1, 0.1], (Gate("top", "or", (0, 1)),), (2,), ("top",), [1.0])
    >>> est, used, _ = solve_fault_tree(t, "mc", samples=100_000, seed=1)
    >>> used, abs(est.value - 0.19) < 4 * est.std_error
    ('mc', True)
    """
    from model.static.solve import METHODS, solve

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    reason = f"method {method} requested"
    if method in ("exact", "auto"):
        try:
            return fault_tree_probability(tree), "exact", reason
        except ExactTooLarge:
            if method == "exact":
                raise
            method, reason = "rare", "gate diagram too large for the exact method: rare-event estimator"
    if method == "mc":
        from model.static.treemc import tree_monte_carlo

        return tree_monte_carlo(tree, samples, seed), "mc", reason
    net = reachability_network(tree)
    est, used, _, _ = solve(net, method, samples=samples, seed=seed)
    if tree.total_weight != net.total_weight and net.total_weight > 0:  # demands that never fail
        est = est.scaled(net.total_weight / tree.total_weight)
    return est, used, reason
