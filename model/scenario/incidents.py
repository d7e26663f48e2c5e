"""The incident library: real outages written as scenarios, and their published counts kept apart.

``model/data/incidents/`` holds one scenario per outage of
``../shared/reference/incidents.md`` (each with its incident timeline; inputs only)
and ``observed.toml``: the published counts, each mapped to an outcome definition of
:mod:`model.sim.outcomes` and a split (genuine, non-genuine, all). Roles:
``calibration`` (fitted, and predicted from the others in leave-one-out),
``check`` (an input derives from the count), ``structure`` (no usable count). The
held-out incidents of incidents.md have no entry: they are the blind test.

Examples
--------
>>> lib = incident_library()
>>> case = lib["optus_2023_11_08"]
>>> case.role, case.counts[0].outcome, case.counts[0].value
('calibration', 'callers_failed', 2145.0)
>>> sorted(c.name for c in lib.values() if c.role == "structure")
['kpn_2019_06_24', 'rogers_2022_07_08', 'spark_2016_11_14']
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from model.scenario.loader import INCIDENT_DIR, load_scenario
from model.scenario.schema import NOVALUE, Problem, ScenarioError, convert, spec

__all__ = ["HELD_OUT", "IncidentCase", "ObservedCount", "incident_library"]

#: Incidents of incidents.md kept out of the repository's counts (the blind test): never in observed.toml.
HELD_OUT = ("bt_2023_06_25", "kcom_2015_12_27", "ireland_ecas_2022_06_28", "telstra_2018_05_04")
OUTCOME_KEYS = ("callers", "attempts", "failed_attempts", "callers_failed", "callers_never_connected",
                "callers_connected_after_redial", "callers_rang_fallback")


@dataclass(frozen=True, kw_only=True)
class ObservedCount:
    """One published count, as its source defines it."""

    outcome: Literal["callers", "attempts", "failed_attempts", "callers_failed", "callers_never_connected",
                     "callers_connected_after_redial", "callers_rang_fallback"] = spec(
        doc="outcome definition it matches (model/sim/outcomes.py)")
    split: Literal["all", "genuine", "non_genuine"] = spec("all", "which calls it counts")
    value: float = spec(doc="the published number", ge=0)
    source: str = spec(doc="quote and citation")


@dataclass(frozen=True, kw_only=True)
class _Entry:
    role: Literal["calibration", "check", "structure"] = spec(doc="how the counts may be used")
    scenario: str = spec("", "scenario file in model/data/incidents (default: <name>.toml)")
    incident: str = spec("", "incident id in that scenario (default: <name>)")
    counts: tuple[ObservedCount, ...] = spec((), "published counts")


@dataclass(frozen=True)
class IncidentCase:
    """An outage of the library: its scenario file, incident id, role and published counts."""

    name: str
    scenario: Path
    incident: str
    role: str
    counts: tuple[ObservedCount, ...]

    def label(self) -> str:
        return str(load_scenario(self.scenario).incidents[self.incident].label)


def incident_library(directory: str | Path = INCIDENT_DIR) -> dict[str, IncidentCase]:
    """Every outage of the library, by name, with its published counts (validated in full).

    Raises
    ------
    ScenarioError
        Naming file, key and value of every problem (unknown keys, a missing scenario or incident, a held-out
        incident given counts).
    """
    directory = Path(directory)
    path = directory / "observed.toml"
    shown = str(path)
    problems: list[Problem] = []
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError([Problem(shown, (), NOVALUE, f"cannot be read as TOML: {exc}")]) from None
    out: dict[str, IncidentCase] = {}
    for name, raw in doc.items():
        entry = convert(_Entry, raw, (name,), problems, lambda _p: shown)
        if entry is None:
            continue
        if name in HELD_OUT:
            problems.append(Problem(shown, (name,), NOVALUE, "is held out for the blind test: its counts "
                                    "must "
                                    "not be in the repository"))
            continue
        scen = directory / (entry.scenario or f"{name}.toml")
        inc = entry.incident or name
        if not scen.exists():
            problems.append(Problem(shown, (name, "scenario"), str(scen.name), "no such scenario file"))
            continue
        try:
            s = load_scenario(scen)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        if inc not in s.incidents:
            problems.append(Problem(shown, (name, "incident"), inc,
                                    f"no such incident in {scen.name}; it has: "
                                    f"{', '.join(s.incidents) or 'none'}"))
            continue
        if entry.role == "calibration" and not entry.counts:
            problems.append(Problem(shown, (name, "counts"), NOVALUE, "a calibration incident needs counts"))
        out[name] = IncidentCase(name, scen, inc, entry.role, tuple(entry.counts))
    if problems:
        raise ScenarioError(problems)
    return out
