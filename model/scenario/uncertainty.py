"""Ranges of a scenario's assumptions, grouped where they move together, and applying a draw of them.

A scenario's ``[uncertainty.<group>]`` tables give every number marked
``assumption:`` a range: the key paths it covers (``*`` matches every key of a
table, so ``access.*.link.failures_per_year`` is every access type's link rate),
whether a draw *scales* the nominal values or *sets* them, ``low``, ``high``, the
distribution (uniform or log-uniform) and why. :func:`uncertainty_groups` resolves
them against the merged document (every pattern must match at least one number);
:func:`apply_uncertainty` returns the scenario with one draw applied (whole numbers
stay whole, probabilities and shares stay in [0, 1]). A group whose numbers are
derived from another number (``follows``: the control rooms' call takers are sized
to their genuine load, so they follow the genuine share of calls) is also multiplied
by that number's drawn value over its nominal value, whether or not the group itself
is drawn.

Examples
--------
>>> from model.scenario.loader import load_scenario
>>> s = load_scenario("uk999")
>>> groups = uncertainty_groups(s)
>>> g = groups["access_links"]
>>> g.mode, g.low, g.high, len(g.targets) >= 3
('scale', 0.2, 5.0, True)
>>> v = apply_uncertainty(s, {"access_links": 5.0})  # a factor 5: every access link 5 times as often
>>> v.spec.access["mobile"].link.failures_per_year / s.spec.access["mobile"].link.failures_per_year
5.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.scenario.loader import Scenario
from model.scenario.schema import NOVALUE, Problem, ScenarioError

__all__ = ["UncertaintyGroup", "apply_uncertainty", "uncertainty_groups"]

_UNIT_KEYS = ("probability", "share", "compliance", "beta", "drop_fraction", "unavailability")


@dataclass(frozen=True)
class UncertaintyGroup:
    """One group of assumptions: the concrete key paths it moves and its range."""

    name: str
    label: str
    mode: str
    low: float
    high: float
    distribution: str
    assumption: str
    why: str
    targets: tuple[tuple[tuple[str, ...], float], ...]  # (key path, nominal value)
    follows: tuple[str, ...] = ()  # key path of a number the targets are derived from (see the module notes)

    def ppf(self, u: Any) -> np.ndarray:
        """The group's value (a factor or a set value) at unit-cube coordinate ``u``."""
        u = np.asarray(u, float)
        if self.distribution == "loguniform":
            return np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "mode": self.mode, "low": self.low, "high": self.high,
                "distribution": self.distribution, "assumption": self.assumption, "why": self.why,
                "paths": [".".join(p) for p, _ in self.targets],
                **({"follows": ".".join(self.follows)} if self.follows else {})}


def _match(doc: Any, pattern: tuple[str, ...], prefix: tuple[str, ...] = ()
           ) -> list[tuple[tuple[str, ...], Any]]:
    if not pattern:
        return [(prefix, doc)]
    if not isinstance(doc, dict):
        return []
    head, rest = pattern[0], pattern[1:]
    keys = list(doc) if head == "*" else [head] if head in doc else []
    out = []
    for k in keys:
        out.extend(_match(doc[k], rest, (*prefix, k)))
    return out


def uncertainty_groups(scenario: Scenario) -> dict[str, UncertaintyGroup]:
    """The scenario's assumption groups, resolved (see the module notes).

    Raises
    ------
    ScenarioError
        A path that matches no number, or a bad range, naming the file and key.
    """
    file = scenario.files[-1] if scenario.files else "<scenario>"
    problems: list[Problem] = []
    out: dict[str, UncertaintyGroup] = {}
    for name, u in scenario.spec.uncertainty.items():
        where = ("uncertainty", name)
        if not u.low < u.high:
            problems.append(Problem(file, (*where, "high"), u.high, f"must be > low ({u.low:g})"))
        if u.distribution == "loguniform" and u.low <= 0:
            problems.append(Problem(file, (*where, "low"), u.low, "must be > 0 for a log-uniform range"))
        targets = []
        for i, path in enumerate(u.paths):
            found = [(p, v) for p, v in _match(scenario.raw, tuple(path.split(".")))
                     if isinstance(v, int | float) and not isinstance(v, bool)]
            if not found:
                problems.append(Problem(file, (*where, "paths", str(i)), path,
                                        "matches no number in the scenario ('*' matches every key of a "
                                        "table)"))
            targets.extend((p, float(v)) for p, v in found)
        follows: tuple[str, ...] = ()
        if u.follows:
            follows = tuple(u.follows.split("."))
            hit = _match(scenario.raw, follows)
            if len(hit) != 1 or not isinstance(hit[0][1], int | float) or isinstance(hit[0][1], bool) \
                    or not hit[0][1]:
                problems.append(Problem(file, (*where, "follows"), u.follows,
                                        "must name one non-zero number of the scenario (no '*')"))
                follows = ()
        out[name] = UncertaintyGroup(name, u.label, u.mode, float(u.low), float(u.high), u.distribution,
                                     u.assumption, u.why, tuple(targets), follows)
    if problems:
        raise ScenarioError(problems)
    return out


def apply_uncertainty(scenario: Scenario, values: Mapping[str, float],
                      groups: Mapping[str, UncertaintyGroup] | None = None) -> Scenario:
    """The scenario with each group at ``values[name]`` (a factor for ``scale``, a value for ``set``)."""
    groups = groups if groups is not None else uncertainty_groups(scenario)
    unknown = sorted(set(values) - set(groups))
    if unknown:
        raise ScenarioError([Problem(scenario.files[-1] if scenario.files else "<scenario>", ("uncertainty",),
                                     NOVALUE, f"no assumption groups {unknown}; known: {', '.join(groups)}")])
    overlay: dict[str, Any] = {}
    drawn: dict[tuple[str, ...], float] = {}  # drawn value over nominal of every target moved by a draw
    for name, x in values.items():
        g = groups[name]
        for path, nominal in g.targets:
            new = nominal * float(x) if g.mode == "scale" else float(x)
            drawn[path] = new / nominal if nominal else 1.0
    for name, g in groups.items():
        x = values.get(name)
        ratio = drawn.get(g.follows, 1.0) if g.follows else 1.0
        if x is None and ratio == 1.0:
            continue
        if x is None:
            x = 1.0 if g.mode == "scale" else None
        for path, nominal in g.targets:
            v = (nominal * float(x) if g.mode == "scale" else float(x) if x is not None else nominal) * ratio
            if any(k in path[-1] for k in _UNIT_KEYS):
                v = min(max(v, 0.0), 1.0)
            if isinstance(_value_at(scenario.raw, path), int):
                v = max(round(v), 1 if nominal >= 1 else 0)
            node = overlay
            for k in path[:-1]:
                node = node.setdefault(k, {})
            node[path[-1]] = v
    return scenario.extend(overlay, "<assumption draw>")


def _value_at(doc: Any, path: tuple[str, ...]) -> Any:
    for k in path:
        doc = doc[k]
    return doc
