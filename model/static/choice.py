"""Which static engine to run: exact, crude Monte Carlo, the turnip or the decomposition estimator.

:func:`choose_method` answers ``--method auto`` by measurement (the exact
engine's own size check, crude and rare-event pilots); :func:`rare_estimate`
is ``--method rare``: the turnip, and where its replications turn out
heavy-tailed the decomposition estimator when the network splits, else
generalized splitting.

Examples
--------
>>> from model.network.graphs import dodecahedron, parallel
>>> from model.network.compiled import compile_graph
>>> g, s, t = parallel([dodecahedron(1e-3)] * 3)
>>> est = rare_estimate(compile_graph(g, s, t), 1000, seed=1)
>>> est.method, est.details["switched_from"]["method"]
('decomposition', 'pmc-turnip')
"""

from __future__ import annotations

import math
import time

import numpy as np

from model.network.compiled import CompiledNetwork
from model.results.estimate import Estimate
from model.static.blocks import summary
from model.static.decompose import decomposition_unreachability
from model.static.rare import METHOD as TURNIP
from model.static.rare import rare_fits, rare_unreachability

__all__ = ["choose_method", "rare_estimate"]


def rare_estimate(net: CompiledNetwork, samples: int, seed: int | np.random.SeedSequence | None = None
                  ) -> Estimate:
    """The rare-event estimate for ``--method rare``: the turnip, with a fallback where it is heavy-tailed.

    The turnip runs first; when it flags heavy tails and the network splits into
    series or parallel parts (:func:`model.static.blocks.summary`) the
    decomposition estimator takes over with ``samples`` replications per sampled
    block, otherwise :func:`model.static.rare.rare_unreachability`'s own switch
    to generalized splitting applies. ``details["switched_from"]`` then holds the
    turnip's result.
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    if not summary(net)["split"]:
        return rare_unreachability(net, samples, ss)
    est = rare_unreachability(net, samples, ss, method="turnip")
    if "warning" not in est.details:
        return est
    dec = decomposition_unreachability(net, samples, ss.spawn(1)[0])
    dec.details["switched_from"] = {"method": TURNIP, "estimate": est.value, "std_error": est.std_error,
                                    "warning": est.details["warning"]}
    return dec


def _cost(est: Estimate) -> float:
    """CPU seconds to 5% relative error, from a pilot's relative error and CPU time."""
    cpu = float(est.details.get("cpu_seconds", est.seconds))
    if est.std_error == 0.0:
        return cpu
    return cpu * (est.relative_error / 0.05) ** 2


def choose_method(net: CompiledNetwork, *, exact_limit: int = 200, time_budget: float = 60.0,
                  pilot: int = 1 << 16, seed: int = 0) -> tuple[str, str]:
    """Pick ``"exact"``, ``"mc"``, ``"rare"`` or ``"decomposition"`` for ``--method auto``, with the reason.

    ``"exact"`` when the network has at most ``exact_limit`` components plus
    common-cause events and the exact engine's own size check accepts it (its
    frontier BDD is built within its width and node limits, see
    :class:`model.static.exact.ExactEngine`). Otherwise rarity decides, against the speed
    of crude Monte Carlo on this network: crude pilots (``pilot`` trials, then 16
    times more while they see fewer than 20 unreachable trials and the next one
    would take under a second)
    measure the trial rate, the unreachability ``U`` and its relative error, from
    which follows the CPU time crude Monte Carlo needs for 5% relative error. Up
    to one second that is ``"mc"``. Otherwise a 256-replication turnip pilot
    and, where the network splits into series or parallel parts between the
    terminals, a 256-replication decomposition pilot (blocks of at most
    ``min(exact_limit, 60)`` components exact) give their times to the same
    precision; the fastest wins, a heavy-tailed pilot (its interval cannot be
    trusted) only when nothing else applies, crude Monte Carlo only within
    ``time_budget`` seconds.

    Examples
    --------
    >>> from model.network.graphs import dodecahedron, parallel
    >>> from model.network.compiled import compile_graph
    >>> g, s, t = dodecahedron(1e-3)
    >>> choose_method(compile_graph(g, s, t))[0]
    'exact'
    >>> choose_method(compile_graph(g, s, t), exact_limit=10)[0]
    'rare'
    >>> g, s, t = dodecahedron(0.3)
    >>> choose_method(compile_graph(g, s, t), exact_limit=10)[0]
    'mc'
    >>> g, s, t = parallel([dodecahedron(1e-3)] * 3)
    >>> choose_method(compile_graph(g, s, t), exact_limit=10)[0]
    'decomposition'
    """
    from model.static.exact import ExactEngine, ExactTooLarge
    from model.static.montecarlo import crude_monte_carlo

    n_events = net.n_components + net.n_ccf
    why_not = f"{n_events} components and common-cause events > exact limit {exact_limit}"
    if n_events <= exact_limit:
        try:
            ExactEngine(net, "bdd", max_components=exact_limit)
        except ExactTooLarge as exc:
            why_not = f"too large for the exact engine ({exc})"
        else:
            return "exact", f"{n_events} components and common-cause events; the exact engine accepts it"
    mean_down = float(np.concatenate([net.q, net.ccf_q]).sum())
    # pilots cost trials x (components + arcs): start small on a large network
    n, total, cpu = min(pilot, max(1024, 2**27 // max(1, net.n_components + net.n_arcs))), 0, 0.0
    while True:
        c0 = time.process_time()
        res = crude_monte_carlo(net, n, seed).overall
        cpu += time.process_time() - c0
        total += n
        rate = total / max(cpu, 1e-9)
        hits = int(res.details.get("unreachable_trials", res.details.get("nonzero_samples", 0)))
        if hits >= 20 or 16 * n / rate > min(time_budget / 10, 1.0):
            break
        n, seed = 16 * n, seed + 1
    head = (f"{why_not}; {mean_down:.3g} failed events per trial on average; a {n}-trial crude pilot "
            f"({rate:.3g} trials/s) gives U~{res.value:.3g} from {hits} trials with unreachable calls")
    need = n * (res.std_error / res.value / 0.05) ** 2 / rate if res.value > 0 else math.inf
    if need <= 1.0:
        return "mc", head + f", so crude MC reaches 5% relative error in about {need:.3g} s"
    too_big = rare_fits(net)
    if too_big:
        return "mc", head + f"; {too_big.removesuffix('; use method mc')}"
    crude_txt = f"about {need:.3g} s" if math.isfinite(need) else "far more than the pilots (it saw nothing)"
    turnip = rare_unreachability(net, 256, seed, trace=False, method="turnip")
    costs = {"rare": (_cost(turnip), "warning" in turnip.details)}
    parts = summary(net)
    if parts["split"]:
        dec = decomposition_unreachability(net, 256, seed, exact_limit=min(exact_limit, 60))
        costs["decomposition"] = (_cost(dec), "warning" in dec.details)
    tail = f"; to 5% relative error crude MC needs {crude_txt}, the turnip about {costs['rare'][0]:.3g} s"
    if costs["rare"][1]:
        tail += " (its pilot is heavy-tailed: its interval cannot be trusted)"
    if "decomposition" in costs:
        tail += (f", the decomposition into {parts['parallel']} parallel and {parts['series']} series parts "
                 f"about {costs['decomposition'][0]:.3g} s")
    trusted = {m: c for m, (c, heavy) in costs.items() if not heavy}
    if need <= time_budget and (not trusted or need <= min(trusted.values())):
        return "mc", head + tail
    pick = min(trusted, key=trusted.__getitem__) if trusted else "rare"
    if pick == "decomposition":
        return pick, head + tail + "; the decomposition keeps its relative error bounded"
    return "rare", head + tail + "; the rare-event estimator keeps its relative error bounded"
