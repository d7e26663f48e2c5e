"""One entry point for unreachability by any engine: exact, crude Monte Carlo, rare-event.

:func:`solve` takes a :class:`~model.network.compiled.CompiledNetwork` and a method name
(``exact``, ``mc``, ``rare``, ``decomposition`` or ``auto``) and returns a :class:`Solution`:
the :class:`~model.results.estimate.Estimate`, which method ran and why, and the engine's full
result — so the CLI, the studies and the tests all reach the engines the same way.

Examples
--------
>>> from model.network.graphs import dodecahedron
>>> from model.network.compiled import compile_graph
>>> g, s, t = dodecahedron(0.1)
>>> sol = solve(compile_graph(g, s, t), "exact")
>>> sol.method, round(sol.estimate.value, 6)
('exact', 0.00288)
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from model.network.compiled import CompiledNetwork
from model.results.estimate import Estimate

__all__ = ["METHODS", "Solution", "solve"]

METHODS = ("exact", "mc", "rare", "decomposition", "auto")


class Solution(NamedTuple):
    """What :func:`solve` returns.

    Attributes
    ----------
    estimate : Estimate
        Demand-weighted probability that a call is unreachable.
    method : str
        The method that ran (``exact``, ``mc``, ``rare`` or ``decomposition``).
    reason : str
        Why (``"method mc requested"``, or the choice made for ``auto``).
    result : object
        The engine's full result: a :class:`~model.static.montecarlo.MCResult` for ``mc``
        (per demand, per group, tally, run provenance), else the estimate itself.
    """

    estimate: Estimate
    method: str
    reason: str
    result: Any


def solve(net: CompiledNetwork, method: str = "auto", *, samples: int = 100_000, seed: int | None = 0,
          groups: Mapping[str, Sequence[int] | np.ndarray] | None = None, chunk_size: int | None = None,
          backend: Any = None,
          workers: int | None = None, checkpoint: str | os.PathLike[str] | None = None,
          target_rse: float | None = None, progress: bool | None = None, quiet: bool = False,
          confidence: float = 0.95, max_memory: int | None = None) -> Solution:
    """Demand-weighted unreachability of ``net`` by ``method``.

    Parameters
    ----------
    net : CompiledNetwork
    method : {"auto", "exact", "mc", "rare", "decomposition"}
        ``auto`` picks by :func:`model.static.choice.choose_method` (and says why).
    samples : int
        Trials (``mc``) or replications (``rare``, ``decomposition``); ignored by ``exact``.
    seed : int, optional
        Entropy of the root ``SeedSequence``.
    groups : mapping of name to demand indices, optional
        Demand groups tallied per trial by ``mc`` (see :meth:`~model.static.montecarlo.MCResult.by_group`).
    chunk_size, backend, workers, checkpoint, target_rse, progress, quiet
        Forwarded to :func:`model.static.montecarlo.crude_monte_carlo` (the runner). The exact,
        rare and decomposition engines run in this process: ``workers`` does not change them,
        and ``checkpoint`` or ``target_rse`` with them is refused.
    confidence : float
        Level of the interval (``decomposition``).
    max_memory : int, optional
        Memory budget in bytes: of one Monte Carlo chunk (``mc``, which sizes its chunks to
        it) or of one level of frontier states (``exact``, which refuses beyond it). Default:
        each engine's own.

    Returns
    -------
    Solution
        ``(estimate, method, reason, result)``.

    Raises
    ------
    ValueError
        For an unknown method, run options the chosen engine cannot honour, or a network too
        large for the exact engine (the message names the method to use instead).

    Examples
    --------
    >>> import networkx as nx
    >>> from model.network.compiled import compile_graph
    >>> net = compile_graph(nx.path_graph(3), 0, 2, default_edge_q=0.2)
    >>> sol = solve(net, "mc", samples=10**6, seed=1, chunk_size=10_000, workers=2, target_rse=0.05,
    ...             progress=False)
    >>> sol.method, sol.estimate.relative_error <= 0.05, sol.result.provenance["run"]["stopped_early"]
    ('mc', True, True)
    >>> solve(net, "exact", target_rse=0.1)
    Traceback (most recent call last):
    ...
    ValueError: target_rse applies to method mc (the Monte Carlo runner); method exact runs in one pass
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    reason = f"method {method} requested"
    if method == "auto":
        from model.static.choice import choose_method

        method, reason = choose_method(net)
    if method != "mc":
        for name, value in (("checkpoint", checkpoint), ("target_rse", target_rse)):
            if value is not None:
                raise ValueError(f"{name} applies to method mc (the Monte Carlo runner); method {method} "
                                 "runs in one pass")
    t0 = time.perf_counter()
    result: Any
    if method == "exact":
        from model.static.exact import exact_unreachability

        est = result = exact_unreachability(net, **({} if max_memory is None else {"max_memory": max_memory}))
    elif method == "mc":
        from model.static.montecarlo import crude_monte_carlo

        result = crude_monte_carlo(net, samples, seed, groups=groups, chunk_size=chunk_size, backend=backend,
                                   workers=workers,
                                   checkpoint=checkpoint, target_rse=target_rse, progress=progress,
                                   quiet=quiet, **({} if max_memory is None else {"max_memory": max_memory}))
        est = result.overall
    elif method == "decomposition":
        from model.static.decompose import decomposition_unreachability

        est = result = decomposition_unreachability(net, samples, seed, confidence=confidence)
    else:
        from model.static.choice import rare_estimate

        est = result = rare_estimate(net, samples, seed)
    if not est.seconds:
        est = dataclasses.replace(est, seconds=time.perf_counter() - t0)
        if method != "mc":
            result = est
    return Solution(est, method, reason, result)
