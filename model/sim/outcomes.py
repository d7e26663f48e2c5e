"""What happened to callers, counted the ways published outage reports count it.

Bodies that report emergency-call outages count different things: attempts, calls
that failed, distinct numbers with a failed attempt, "people who could not reach"
the service (``../shared/reference/incidents.md``). Each :class:`Outcome` here is
one such definition, with the published counts it matches, so a replay can be set
against a report like for like. Every outcome is split into genuine calls and
non-genuine ones (silent, accidental, hoax): published counts come from network
call records and include both (assumption in incidents.md: no source says they
exclude them).

Examples
--------
>>> [o.key for o in OUTCOMES][:4]
['callers', 'attempts', 'failed_attempts', 'callers_failed']
>>> import numpy as np
>>> from model.sim.traffic import CallOutcomes
>>> co = CallOutcomes(year=np.array([0, 0, 1]), segment=np.zeros(3, int), demand=np.zeros(3, int),
...                   outcome=np.array([0, 2, 1]), connect_s=np.array([np.nan, 30.0, 0.0]),
...                   failed_attempts=np.array([3, 1, 0]), attempts=np.array([3, 2, 1]),
...                   genuine=np.array([True, False, True]))
>>> t = tally_outcomes(co, 2)
>>> t["callers_failed_genuine"].tolist(), t["callers_failed_non_genuine"].tolist()
([1.0, 0.0], [1.0, 0.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.sim.traffic import OUTCOME_FALLBACK, OUTCOME_REDIAL, OUTCOME_UNREACHABLE, CallOutcomes

__all__ = ["OUTCOMES", "SPLITS", "Outcome", "outcome", "tally_outcomes"]

SPLITS = ("genuine", "non_genuine")


@dataclass(frozen=True)
class Outcome:
    """One published way of counting what failed."""

    key: str
    definition: str
    matches: tuple[str, ...]

    def fields(self) -> tuple[str, str]:
        """Per-year tally fields of its genuine and non-genuine parts."""
        return f"{self.key}_genuine", f"{self.key}_non_genuine"


OUTCOMES: tuple[Outcome, ...] = (
    Outcome("callers", "distinct callers (numbers) of the affected demands who made at least one attempt",
            ("Optus Hexham 2025: '13 of them attempted to call Triple Zero'",)),
    Outcome("attempts", "call attempts made by callers of the affected demands, connected or not",
            ("West/CenturyLink Minnesota 2018: 693 failed + 356 routed through the redundant router",
             "CenturyLink Washington 2014: ~770 completed + 4,500 failed",
             "Telstra 2024: 'We received 494 Triple Zero calls during that period'",
             "Orange 2021: 11,800 not routed = 11 % of the total (implied ~107,000)")),
    Outcome("failed_attempts", "attempts that did not reach a control room (each redial counts again)",
            ("FCC T-Mobile 2020: 'complete failure of more than 23,000 911 calls'",
             "FCC Intrado 2014: 'more than 6,600 emergency calls never reaching a PSAP'",
             "CenturyLink to the Washington regulator 2014: 4,500 failed",
             "Minnesota 2018: '693 calls ... failed to be routed'",
             "Orange 2021: '11,800 calls ... were not routed'",
             "FCC AT&T 2024: 'preventing more than 25,000 calls to 911 call centers'",
             "Simwood 2020: 'rejecting 21 calls to 999'",
             "Telstra 2024: '148 were not able to be successfully transferred'",
             "FCC CenturyLink 2018: 'at least 886 calls to 911 were not delivered'")),
    Outcome("callers_failed", "distinct callers (numbers) with at least one failed attempt",
            ("FCC AT&T 2017: 'Approximately 12,600 unique users attempted to call 911, but were unable'",
             "ACMA Optus 2023: 'failed to provide access ... for 2,145 people'",
             "Simwood 2020: '6 callers making 21 attempts'",
             "Optus Sep 2025: 'of 631 initially unsuccessful calls'",
             "Optus Dapto 2025: 'Nine failed 000 calls' (followed up caller by caller)")),
    Outcome("callers_never_connected", "callers never connected within their patience (999 or a fallback)",
            ("Optus Sep 2025: 'around 480 were never connected'",)),
    Outcome("callers_connected_after_redial", "callers connected to 999 after at least one failed attempt",
            ("Optus Sep 2025: 631 - 480 = ~151 got through later (derived)",)),
    Outcome("callers_rang_fallback", "callers who turned to a fallback line (101, 111, direct numbers)",
            ("no outage has published this count (incidents.md, following advice)",)),
)

_BY_KEY = {o.key: o for o in OUTCOMES}


def outcome(key: str) -> Outcome:
    """The outcome definition called ``key``."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"no outcome {key!r}; known: {', '.join(_BY_KEY)}") from None


def tally_outcomes(co: CallOutcomes, n_years: int, key: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-year (or per ``key`` bin) counts of every outcome, genuine and non-genuine.

    Parameters
    ----------
    co : CallOutcomes
        Simulated callers.
    n_years : int
        Number of bins.
    key : int array, optional
        Bin of each caller (default: its year).
    """
    key = co.year if key is None else key
    g = co.is_genuine()
    fell_back = co.rang_fallback if co.rang_fallback is not None else co.outcome == OUTCOME_FALLBACK
    per_caller = {
        "callers": (co.attempts > 0).astype(float),
        "attempts": co.attempts.astype(float),
        "failed_attempts": co.failed_attempts.astype(float),
        "callers_failed": (co.failed_attempts > 0).astype(float),
        "callers_never_connected": (co.outcome == OUTCOME_UNREACHABLE).astype(float),
        "callers_connected_after_redial": (co.outcome == OUTCOME_REDIAL).astype(float),
        "callers_rang_fallback": np.asarray(fell_back, dtype=float),
    }
    out: dict[str, np.ndarray] = {}
    for name, w in per_caller.items():
        out[f"{name}_genuine"] = np.bincount(key, weights=w * g, minlength=n_years).astype(float)
        out[f"{name}_non_genuine"] = np.bincount(key, weights=w * ~g, minlength=n_years).astype(float)
    return out
