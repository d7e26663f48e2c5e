"""Strategies compared with common random numbers: paired differences, tail risk, cost.

Every strategy is simulated over the same simulated years with the same root seed.
The time engine draws each basic event's outage history, each standby group's
switch delays and the callers from their own random streams (keyed by name, see
:func:`model.sim.engine.run_chunk`), so a strategy that changes one part of the
network sees the *same* failure histories and the same callers everywhere else.
Year-by-year differences against the baseline then have far less variance than
the difference of two independent runs: the paired interval is reported beside the
interval two independent runs would give.

Examples
--------
>>> from model.metrics.compare import paired_difference
>>> import numpy as np
>>> base = np.array([10.0, 0.0, 50.0, 0.0]); alt = np.array([4.0, 0.0, 20.0, 0.0])
>>> d = paired_difference(base, alt)
>>> d["mean"], d["years"]
(9.0, 4)
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from model.results.estimate import Estimate, provenance, sample_mean_estimate, summary_dict
from model.run.runner import run_chunks
from model.scenario.loader import Scenario
from model.scenario.strategies import Strategy, apply_strategies

__all__ = ["Comparison", "StrategyOutcome", "compare_strategies", "paired_difference", "tail_quantile",
           "yearly_mean"]


def _t(confidence: float, n: int) -> float:
    return float(stats.t.ppf(0.5 + confidence / 2, max(n - 1, 1)))


def paired_difference(base: np.ndarray, alt: np.ndarray, confidence: float = 0.95) -> dict[str, float]:
    """Mean of ``base - alt`` per year with its paired interval, and the interval two
    independent samples of the same size would give (for comparison)."""
    base = np.asarray(base, dtype=float)
    alt = np.asarray(alt, dtype=float)
    n = base.size
    d = base - alt
    t = _t(confidence, n)
    se_paired = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    se_indep = float(math.sqrt(base.var(ddof=1) / n + alt.var(ddof=1) / n)) if n > 1 else math.inf
    m = float(d.mean())
    return {
        "mean": m, "ci_low": m - t * se_paired, "ci_high": m + t * se_paired, "std_error": se_paired,
        "independent_std_error": se_indep, "independent_ci_low": m - t * se_indep,
        "independent_ci_high": m + t * se_indep,
        "variance_reduction": (se_indep / se_paired) ** 2 if se_paired > 0 else math.inf,
        "years": n, "confidence": confidence,
    }


def tail_quantile(x: np.ndarray, p: float, confidence: float = 0.95) -> dict[str, float]:
    """The ``p`` quantile of yearly values (e.g. 0.9: the worst year in 10) with a
    distribution-free order-statistic interval."""
    x = np.sort(np.asarray(x, dtype=float))
    n = x.size
    a = 1 - confidence
    lo_k = int(stats.binom.ppf(a / 2, n, p))
    hi_k = int(stats.binom.ppf(1 - a / 2, n, p)) + 1
    return {"value": float(np.quantile(x, p)), "ci_low": float(x[max(lo_k - 1, 0)]),
            "ci_high": float(x[min(hi_k - 1, n - 1)]), "p": p, "years": n}


def yearly_mean(x: np.ndarray, confidence: float = 0.95, *, seed: int | None = None) -> Estimate:
    """Mean per simulated year with a Student-t interval; the one-sided bound when no year had any.

    Examples
    --------
    >>> e = yearly_mean(np.array([0.0, 2.0, 4.0]))
    >>> e.value, e.interval, e.samples
    (2.0, 'normal', 3)
    >>> yearly_mean(np.zeros(10)).interval
    'one-sided-upper'
    """
    return sample_mean_estimate(x, method="time-simulation", seed=seed, confidence=confidence, student=True)


@dataclass(frozen=True)
class StrategyOutcome:
    """One strategy's simulated years and its summary."""

    name: str
    label: str
    annual_cost_gbp: float | None
    failed_calls: np.ndarray  # per simulated year: genuine calls unreachable
    failed_attempts: np.ndarray
    genuine_calls: np.ndarray
    result: Any = field(repr=False)

    def per_year(self, which: str = "failed_calls", confidence: float = 0.95) -> Estimate:
        """Mean of ``failed_calls`` or ``failed_attempts`` per simulated year (:func:`yearly_mean`)."""
        return yearly_mean(getattr(self, which), confidence, seed=self.result.seed)

    def summary(self, confidence: float = 0.95) -> dict[str, Any]:
        """JSON-ready figures of this strategy (each an :meth:`Estimate.to_dict`, with ``mean``)."""
        return {
            "name": self.name,
            "label": self.label,
            "annual_cost_gbp": self.annual_cost_gbp,
            "unreachable_call_rate": self.result.unreachable_call_rate.to_dict(with_provenance=False),
            "failed_calls_by_area": {a: summary_dict(e) for a, e in self.result.failed_calls_by_area.items()},
            "failed_calls_per_year": summary_dict(self.per_year("failed_calls", confidence)),
            "failed_attempts_per_year": summary_dict(self.per_year("failed_attempts", confidence)),
            "worst_year_in_10": tail_quantile(self.failed_calls, 0.9, confidence),
            "worst_year_in_100": tail_quantile(self.failed_calls, 0.99, confidence),
            "years_with_failed_calls": int((self.failed_calls > 0).sum()),
        }


@dataclass(frozen=True)
class Comparison:
    """Strategies against a baseline over the same simulated years."""

    baseline: StrategyOutcome
    outcomes: tuple[StrategyOutcome, ...]
    years: int
    seed: int
    seconds: float
    confidence: float = 0.95

    def avoided(self, o: StrategyOutcome) -> dict[str, float]:
        """Failed calls avoided per year against the baseline (paired)."""
        return paired_difference(self.baseline.failed_calls, o.failed_calls, self.confidence)

    def avoided_by_area(self, o: StrategyOutcome) -> dict[str, dict[str, float]]:
        """Failed calls avoided per year in each area against the baseline (paired, same years).

        Examples
        --------
        >>> from model.scenario.loader import load_scenario
        >>> from model.scenario.strategies import load_strategy
        >>> c = compare_strategies(load_scenario("uk999"), [[load_strategy("automatic_failover")]], years=20,
        ...                        seed=1, chunk_years=10)
        >>> by = c.avoided_by_area(c.outcomes[0])
        >>> abs(sum(d["mean"] for d in by.values()) - c.avoided(c.outcomes[0])["mean"]) < 1e-6
        True
        """
        base, alt = self.baseline.result, o.result
        if base.areas != alt.areas:
            raise ValueError(f"{o.name} has other areas than the baseline: cannot pair them")
        b, a = base.tally.area_columns(), alt.tally.area_columns()
        return {name: paired_difference(b[:, i], a[:, i], self.confidence)
                for i, name in enumerate(base.areas)}

    def cost_per_call_avoided(self, o: StrategyOutcome) -> dict[str, float] | None:
        """Annual cost over failed calls avoided a year, with the interval from the paired CI."""
        if o.annual_cost_gbp is None:
            return None
        a = self.avoided(o)
        cost = o.annual_cost_gbp

        def inv(x: float) -> float:
            return cost / x if x > 0 else math.inf

        return {"value": inv(a["mean"]), "ci_low": inv(a["ci_high"]), "ci_high": inv(a["ci_low"])}

    def ranking(self) -> list[StrategyOutcome]:
        """Strategies ranked by mean failed calls avoided (best first)."""
        return sorted(self.outcomes, key=lambda o: -self.avoided(o)["mean"])

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for o in self.ranking():
            row = o.summary(self.confidence)
            row["failed_calls_avoided_per_year"] = self.avoided(o)
            row["failed_calls_avoided_by_area"] = self.avoided_by_area(o)
            row["cost_per_failed_call_avoided_gbp"] = self.cost_per_call_avoided(o)
            rows.append(row)
        return {
            "baseline": self.baseline.summary(self.confidence),
            "strategies": rows,
            "years": self.years,
            "seed": self.seed,
            "seconds": self.seconds,
            "method": "time-engine simulation of every strategy over the same simulated years "
                      "(common random numbers); paired year-by-year differences",
            "provenance": provenance(method="strategy comparison (CRN)", seed_entropy=self.seed,
                                     years=self.years),
        }


def _outcome(name: str, label: str, cost: float | None, res) -> StrategyOutcome:
    t = res.tally
    return StrategyOutcome(name, label, cost, t.column("unreachable"), t.column("failed_attempts"),
                           t.column("genuine"), res)


def _simulate_chunk(task: tuple, index: int, size: int, seed: int) -> list[Any]:
    """Chunk function for :func:`~model.run.runner.run_chunks`: scenario ``index`` simulated (a list).

    Every scenario runs the same years with the same seed (common random numbers), so
    the runner's chunk seed is not used; lists add by concatenation, so the runner's
    in-order sum is the results in scenario order.
    """
    from model.sim.engine import simulate

    scenarios, years, sim_seed, chunk_years = task
    return [simulate(scenarios[index], years=years, seed=sim_seed, chunk_years=chunk_years)]


def compare_strategies(
    base: Scenario,
    strategy_sets: Sequence[Sequence[Strategy]],
    years: int,
    seed: int,
    *,
    chunk_years: int = 50,
    confidence: float = 0.95,
    workers: int | None = 1,
    backend: Any = "auto",
    progress: bool | None = None,
) -> Comparison:
    """Simulate the baseline and every strategy set (each applied on ``base``) over the
    same years with the same seed.

    Parameters
    ----------
    base : Scenario
        The status quo.
    strategy_sets : sequence of sequences of Strategy
        Lists of strategies applied in order (a combination is a list of several); status-quo
        sets are skipped.
    years : int
        Simulated years per strategy (the same years for all: common random numbers).
    seed : int
        Entropy of the root ``SeedSequence`` shared by every strategy.
    chunk_years : int
        Years per chunk of each simulation.
    confidence : float
        Level of every interval.
    workers : int or None
        With ``workers`` > 1 (None: all cores) the strategies run on worker processes through
        :func:`model.run.runner.run_chunks`; every run is fixed by its seed, so the result is
        identical for any number of workers and any ``backend``.
    backend : "auto", "serial", "processes", dask Client or "tcp://host:port"
        As for :func:`~model.run.runner.run_chunks`.
    progress : bool or None
        A bar of strategies done (None: only when standard error is a terminal).

    Returns
    -------
    Comparison
        ``to_dict()`` ranks the strategies by failed calls avoided (paired intervals), with
        cost per failed call avoided.

    Raises
    ------
    ScenarioError
        A strategy that makes the scenario invalid.

    Examples
    --------
    >>> from model.scenario.loader import load_scenario
    >>> from model.scenario.strategies import load_strategy
    >>> c = compare_strategies(load_scenario("uk999"), [[load_strategy("automatic_failover")]], years=20,
    ...                        seed=1, chunk_years=10)
    >>> [o.name for o in c.outcomes], c.avoided(c.outcomes[0])["years"]
    (['automatic_failover'], 20)
    """
    t0 = time.perf_counter()
    scenarios = [apply_strategies(base, [])]
    for sset in strategy_sets:
        if sset and not all(st.is_status_quo for st in sset):
            scenarios.append(apply_strategies(base, sset))
    task = (tuple(scenarios), years, seed, chunk_years)
    results, _ = run_chunks(_simulate_chunk, task, [1] * len(scenarios), seed, backend=backend,
                            workers=workers, progress=progress, unit="strategies", desc="strategies")
    baseline = _outcome(base.spec.name, "Status quo", 0.0, results[0])
    outcomes = []
    for scen, res in zip(scenarios[1:], results[1:], strict=True):
        info = scen.spec.strategy
        outcomes.append(_outcome(scen.spec.name, info.label, info.annual_cost_gbp, res))
    return Comparison(baseline, tuple(outcomes), years, seed, time.perf_counter() - t0, confidence)


def without_platform_events(scenario: Scenario) -> Scenario:
    """The scenario with its platform-wide events switched off: routine outages only.

    Every call-handling platform gets no failures (rate and unavailability 0) and every common-cause group
    with a platform among its members is removed, so the failover window of the platforms disappears too.
    Simulated with the same seed, every other event keeps its outage history (its stream is keyed by name),
    so ``failed(scenario) - failed(without_platform_events(scenario))`` year by year is what platform-wide
    events cause.

    Examples
    --------
    >>> from model.scenario.loader import load_scenario
    >>> s = without_platform_events(load_scenario("uk999"))
    >>> s.spec.call_handling_platforms["bt_primary"].failure.failures_per_year
    0.0
    >>> dict(s.spec.common_cause_groups)
    {}
    """
    spec = scenario.spec
    platforms = set(spec.call_handling_platforms)
    overlay: dict[str, Any] = {"call_handling_platforms": {
        p: {"failure": {"failures_per_year": 0.0, "unavailability": 0.0,
                        "source": "counterfactual: platform-wide events switched off (routine outages only)"}}
        for p in platforms}}
    gone = [f"common_cause_groups.{g}" for g, grp in spec.common_cause_groups.items()
            if platforms & set(grp.members)]
    if gone:
        overlay["remove"] = gone
    return scenario.extend(overlay, where="<routine outages only>")


def split_by_cause(comparison: Comparison, routine: Comparison) -> dict[str, dict[str, Any]]:
    """Failed calls a year split into routine outages and platform-wide events, per strategy (paired).

    ``routine`` is the same comparison (same strategies, years and seed) run on
    :func:`without_platform_events` of the base. Returns per strategy name: ``total``, ``routine`` and
    ``platform_wide`` (each mean with a paired interval over the years) and ``platform_share``.
    """
    by_name = {o.name: o for o in (routine.baseline, *routine.outcomes)}
    out: dict[str, dict[str, Any]] = {}
    for o in (comparison.baseline, *comparison.outcomes):
        r = by_name.get(o.name)
        if r is None:
            continue
        total = summary_dict(yearly_mean(o.failed_calls, comparison.confidence))
        rout = summary_dict(yearly_mean(r.failed_calls, comparison.confidence))
        plat = summary_dict(yearly_mean(o.failed_calls - r.failed_calls, comparison.confidence))
        share = plat["mean"] / total["mean"] if total["mean"] > 0 else math.nan
        out[o.name] = {"label": o.label, "total": total, "routine": rout, "platform_wide": plat,
                       "platform_share": share}
    return out
