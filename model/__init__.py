"""nines: probabilistic resilience modelling of emergency call networks.

The public face: the few entry points a user needs, one per step of the data flow. They are
imported on first use (PEP 562), so ``import model`` stays light and the lower layers, which
import ``model.units`` and ``model.version``, never pull in the engines.

=========================  =====================================================================
``load(ref)``              load and validate a scenario (bundled name or TOML path)
``build(scenario)``        its call network (networkx); ``.compiled`` is the engines' array form
``estimate(net, method)``  probability that a genuine call is unreachable (exact, mc, rare, auto)
``simulate(scenario, n)``  ``n`` simulated years: failed calls a year, unreachable-call rate
``replay(scenario, name)`` a prescribed incident replayed under uncertain caller behaviour
``compare(base, sets, n)`` strategies against the status quo over the same simulated years
``load_strategy(ref)``     a strategy (scenario overlay); ``apply_strategies`` applies several
``Report(title)``          one offline HTML report (``.key_number``, ``.figure``, ``.write``)
``Estimate``               the one result type: value, interval, samples, method, seed, provenance
=========================  =====================================================================

Examples
--------
>>> import model
>>> net = model.build(model.load("uk999"))
>>> sol = model.estimate(net.compiled, "mc", samples=20_000, seed=1)
>>> sol.method, sol.estimate.samples, sol.estimate.ci_low <= sol.estimate.value <= sol.estimate.ci_high
('mc', 20000, True)
>>> sorted(set(__import__("model").__all__) - {"__version__"})[:4]
['Estimate', 'Report', 'apply_strategies', 'build']
"""

from __future__ import annotations

import importlib
from typing import Any

from model.version import __version__

#: Public name -> (module, attribute), imported on first use.
_FACE = {
    "load": ("model.scenario.loader", "load_scenario"),
    "build": ("model.network.callnetwork", "build_network"),
    "estimate": ("model.static.solve", "solve"),
    "simulate": ("model.sim.engine", "simulate"),
    "replay": ("model.sim.engine", "replay_incident"),
    "compare": ("model.metrics.compare", "compare_strategies"),
    "load_strategy": ("model.scenario.strategies", "load_strategy"),
    "apply_strategies": ("model.scenario.strategies", "apply_strategies"),
    "Report": ("model.report.html", "Report"),
    "Estimate": ("model.results.estimate", "Estimate"),
}

__all__ = ["__version__", *sorted(_FACE)]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _FACE[name]
    except KeyError:
        raise AttributeError(f"module 'model' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # later look-ups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_FACE})
