"""Strategies: declarative scenario overlays that change how the network falls back.

A strategy is a scenario file with a ``[strategy]`` table (label, description,
annual cost) that ``extends`` the scenario it changes. Strategies compose: applying
several overlays in order gives a combination (``automatic_failover +
full_capacity_backup``). The bundled ones live in ``model/data/strategies/``.

Examples
--------
>>> from model.scenario.strategies import apply_strategies, bundled_strategies, load_strategy
>>> "automatic_failover" in bundled_strategies()
True
>>> from model.scenario.loader import load_scenario
>>> s = apply_strategies(load_scenario("uk999"), [load_strategy("automatic_failover")])
>>> s.label
'Automatic failover'
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.scenario.loader import STRATEGY_DIR, Scenario, load_scenario
from model.scenario.schema import Problem, ScenarioError

__all__ = ["Strategy", "apply_strategies", "bundled_strategies", "load_overlay", "load_strategy"]


@dataclass(frozen=True)
class Strategy:
    """A named overlay with its label, description and optional annual cost."""

    name: str
    label: str
    description: str
    annual_cost_gbp: float | None
    overlay: dict[str, Any]
    file: str

    @property
    def is_status_quo(self) -> bool:
        return not {k for k in self.overlay if k not in ("strategy", "name", "title", "description")}


def bundled_strategies() -> list[str]:
    """Names of the strategies shipped with nines, status quo first."""
    names = sorted(p.stem for p in STRATEGY_DIR.glob("*.toml"))
    return sorted(names, key=lambda n: (n != "status_quo", n))


def load_strategy(ref: str | Path) -> Strategy:
    """Load and validate a strategy file (bundled name or path).

    The file is validated as a full scenario (with its ``extends``), so every problem
    is reported with its location; the overlay kept is the file's own content.
    """
    path = Path(ref)
    if not path.suffix:
        path = STRATEGY_DIR / f"{ref}.toml"
    scen = load_scenario(path)  # full validation, raises ScenarioError with every problem
    if scen.spec.strategy is None:
        raise ScenarioError([Problem(str(path), ("strategy",), "<missing>",
                                     "a strategy file needs a [strategy] table with at least a label")])
    with open(path, "rb") as fh:
        overlay = tomllib.load(fh)
    overlay.pop("extends", None)
    info = scen.spec.strategy
    return Strategy(scen.spec.name, info.label, info.description, info.annual_cost_gbp, overlay, str(path))


def load_overlay(ref: str | Path) -> Strategy:
    """Load any overlay file as a strategy: a strategy file, or a what-if file without a ``[strategy]`` table.

    A file without ``[strategy]`` is labelled by its ``title`` or file name and carries no cost.
    The file is validated as a full scenario (with its ``extends``).

    Examples
    --------
    >>> load_overlay("automatic_failover").label
    'Automatic failover'
    """
    path = Path(ref)
    if not path.suffix:
        path = STRATEGY_DIR / f"{ref}.toml"
    scen = load_scenario(path)
    if scen.spec.strategy is not None:
        return load_strategy(path)
    with open(path, "rb") as fh:
        overlay = tomllib.load(fh)
    overlay.pop("extends", None)
    label = scen.spec.title or path.stem
    return Strategy(scen.spec.name, label, "", None, overlay, str(path))


def apply_strategies(base: Scenario, strategies: Sequence[Strategy]) -> Scenario:
    """The scenario with each strategy's overlay merged on top, in order.

    The result's ``strategy`` table describes the combination (labels joined with
    " + ", costs added).
    """
    scen = base
    for st in strategies:
        overlay = copy.deepcopy(st.overlay)
        overlay.pop("name", None)
        overlay.pop("strategy", None)
        scen = scen.extend(overlay, where=st.file)
    labels = [st.label for st in strategies] or ["Status quo"]
    costs = [st.annual_cost_gbp for st in strategies if st.annual_cost_gbp is not None]
    info: dict[str, Any] = {"label": " + ".join(labels),
                            "description": "; ".join(st.description for st in strategies if st.description)}
    if costs:
        info["annual_cost_gbp"] = float(sum(costs))
    name = "+".join(st.name for st in strategies) or base.spec.name
    return scen.extend({"strategy": info, "name": name}, where="<strategy combination>")
