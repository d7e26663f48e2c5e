"""The calibrated caller behaviour: a posterior sample read from ``model/data/calibration/``.

``studies/calibration.py`` fits caller behaviour to the incident library's published
counts (:mod:`model.metrics.calibration`) and writes the posterior sample to
``callers_posterior.toml``: one ``[[draws]]`` table per draw (the calibrated
parameters and the negative-binomial shape ``k``) plus how it was made. Replays and
the flagship read it through :func:`load_posterior`; nothing in it is executed.

Examples
--------
>>> post = load_posterior()
>>> len(post.draws) >= 100, sorted(post.draws[0])[:3]
(True, ['compliance', 'k', 'non_genuine_redial'])
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.scenario.loader import BUNDLED_DIR
from model.scenario.schema import NOVALUE, Problem, ScenarioError

__all__ = ["POSTERIOR_FILE", "Posterior", "load_posterior"]

POSTERIOR_FILE = BUNDLED_DIR / "calibration" / "callers_posterior.toml"
#: parameter -> (low, high) allowed
RANGES = {"redial_first": (0.0, 1.0), "redial_later": (0.0, 1.0), "redial_delay_s": (0.0, 1e5),
          "patience_s": (1.0, 1e6), "compliance": (0.0, 1.0), "non_genuine_redial": (0.0, 1.0),
          "k": (0.0, 1e6)}


@dataclass(frozen=True)
class Posterior:
    """A posterior sample of caller behaviour and its provenance."""

    draws: tuple[dict[str, float], ...]
    meta: dict[str, Any] = field(default_factory=dict)


def load_posterior(path: str | Path = POSTERIOR_FILE) -> Posterior:
    """Read and validate a posterior sample file.

    Raises
    ------
    ScenarioError
        Naming the file, the draw and the key of every problem.
    """
    path = Path(path)
    shown = str(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError([Problem(shown, (), NOVALUE, f"cannot be read as TOML: {exc}; run "
                                     "studies/calibration.py to write it")]) from None
    problems: list[Problem] = []
    raw = doc.get("draws")
    if not isinstance(raw, list) or not raw:
        raise ScenarioError([Problem(shown, ("draws",), NOVALUE, "needs at least one [[draws]] table")])
    draws = []
    for i, d in enumerate(raw):
        if not isinstance(d, dict):
            problems.append(Problem(shown, ("draws", str(i)), d, "must be a table"))
            continue
        for key in sorted(set(d) - set(RANGES)):
            problems.append(Problem(shown, ("draws", str(i), key), NOVALUE,
                                    f"unknown key; allowed keys: {', '.join(RANGES)}"))
        for key, (lo, hi) in RANGES.items():
            v = d.get(key)
            if isinstance(v, bool) or not isinstance(v, int | float):
                problems.append(Problem(shown, ("draws", str(i), key), v if v is not None else NOVALUE,
                                        "required number"))
            elif not lo <= v <= hi:
                problems.append(Problem(shown, ("draws", str(i), key), v, f"must lie in [{lo:g}, {hi:g}]"))
        draws.append({k: float(v) for k, v in d.items() if k in RANGES and isinstance(v, int | float)})
    if problems:
        raise ScenarioError(problems)
    meta = {k: v for k, v in doc.items() if k != "draws"}
    return Posterior(tuple(draws), meta)
