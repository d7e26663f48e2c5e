"""One entry point for unreachability by any engine: exact, crude Monte Carlo, rare-event.

:func:`solve` takes a :class:`~model.network.compiled.CompiledNetwork` and a method name
(``exact``, ``mc``, ``rare``, ``decomposition`` or ``auto``) and returns an
:class:`~model.results.estimate.Estimate` plus which method ran and why — so the CLI, the
studies and the tests all reach the engines the same way.

Examples
--------
>>> from model.network.graphs import dodecahedron
>>> from model.network.compiled import compile_graph
>>> g, s, t = dodecahedron(0.1)
>>> est, method, why = solve(compile_graph(g, s, t), "exact")
>>> method, round(est.value, 6)
('exact', 0.00288)
"""

from __future__ import annotations

import time

from model.network.compiled import CompiledNetwork
from model.results.estimate import Estimate

__all__ = ["METHODS", "solve"]

METHODS = ("exact", "mc", "rare", "decomposition", "auto")


def solve(net: CompiledNetwork, method: str = "auto", *, samples: int = 100_000, seed: int = 0,
          **options) -> tuple[Estimate, str, str]:
    """Demand-weighted unreachability of ``net`` by ``method``.

    Returns ``(estimate, method_used, reason)``. ``options`` go to the engine
    (e.g. ``workers``, ``checkpoint``, ``target_rse``, ``progress`` for ``mc``).

    Raises
    ------
    ValueError
        For an unknown method, or a network too large for the exact engine (the
        message names the method to use instead).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    reason = f"method {method} requested"
    if method == "auto":
        from model.static.choice import choose_method

        method, reason = choose_method(net)
    t0 = time.perf_counter()
    if method == "exact":
        from model.static.exact import exact_unreachability

        est = exact_unreachability(net)
    elif method == "mc":
        from model.static.montecarlo import crude_monte_carlo

        est = crude_monte_carlo(net, samples, seed, **options).overall
    elif method == "decomposition":
        from model.static.decompose import decomposition_unreachability

        est = decomposition_unreachability(net, samples, seed)
    else:
        from model.static.choice import rare_estimate

        est = rare_estimate(net, samples, seed)
    if not est.seconds:
        est = Estimate(**{**est.__dict__, "seconds": time.perf_counter() - t0})
    return est, method, reason
