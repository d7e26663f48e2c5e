"""Failover as a derived outage (DESIGN idea 2), for the steady-state engines.

When the primary of a standby redundancy group fails, the group carries no traffic
until the switch to the standby completes: automatically after a delay, or by a
manual procedure (detection, then switch attempts that may each fail; after
``max_attempts`` failures traffic waits for the primary's repair). The window ends
at the switch or at the primary's repair, whichever comes first, so the long-run
share of time the group is down for this reason is ``λ · E[min(D, R)]``.

The static engines represent it as a common-cause event over the group's members
with that probability. The expectation is computed by numerical integration over a
fixed quasi-random design (deterministic, not a source of randomness in results).

Examples
--------
>>> from model.scenario.loader import DistributionSpec, Failure, RedundancyGroup
>>> g = RedundancyGroup(members=("a", "b"), policy="automatic",
...                     failover_delay=DistributionSpec(distribution="fixed", value_hours=0.5))
>>> f = Failure(failures_per_year=8.766, repair=DistributionSpec(distribution="fixed", value_hours=4.0))
>>> round(failover_unavailability(g, f), 7)   # 1e-3/h x 0.5 h x P(up) = 1/(1 + 1e-3 x 4)
0.000498
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import qmc

from model.processes.distributions import parse_distribution
from model.scenario.loader import DistributionSpec, Failure, RedundancyGroup
from model.units import HOURS_PER_YEAR

__all__ = ["failover_unavailability", "manual_switch_delay", "switch_delay_quantiles"]

_DESIGN_POINTS = 2**14


def _ppf(d: DistributionSpec, u: np.ndarray) -> np.ndarray:
    return np.asarray(parse_distribution(d, "failover").quantile(u), dtype=float)


def manual_switch_delay(
    detection: np.ndarray, durations: np.ndarray, fails: np.ndarray, duration_scale: float | np.ndarray = 1.0
) -> np.ndarray:
    """Delay of the manual switch: detection, then attempts until one succeeds (``inf`` if all fail).

    The one implementation of the manual procedure, shared by the steady-state
    engines (:func:`switch_delay_quantiles`), the time engine
    (:func:`model.processes.outages.switch_delays`) and the conditional failover-window
    estimator (:func:`model.sim.failover_windows.manual_delays`). Attempts are made in
    turn up to and including the first that succeeds; after ``k`` failed attempts
    (``k`` the last axis) traffic waits for the primary's repair, so the delay is
    infinite.

    Parameters
    ----------
    detection : array (...)
        Time to detect the fault, hours.
    durations : array (..., k)
        Duration of each attempt (hours, or in units of ``duration_scale``).
    fails : bool array (..., k)
        Whether each attempt fails.
    duration_scale : float or array broadcastable to (...)
        Multiplies the summed attempt durations (unit-mean durations times a mean).

    Returns
    -------
    numpy.ndarray (...)
        ``detection + duration_scale * (sum of the durations of the attempts made)``,
        ``inf`` where every attempt fails.

    Examples
    --------
    >>> fails = np.array([[False, False], [True, False], [True, True]])
    >>> manual_switch_delay(np.full(3, 1.0), np.array([[0.5, 0.25]] * 3), fails).tolist()
    [1.5, 1.75, inf]
    """
    fails = np.asarray(fails, dtype=bool)
    k = fails.shape[-1]
    ok = ~fails
    first_ok = np.where(ok.any(axis=-1), np.argmax(ok, axis=-1), k)
    made = np.minimum(first_ok + 1, k)
    used = np.arange(k) < made[..., None]
    total = detection + duration_scale * np.sum(np.where(used, durations, 0.0), axis=-1)
    return np.where(first_ok >= k, np.inf, total)


def switch_delay_quantiles(group: RedundancyGroup, u: np.ndarray) -> np.ndarray:
    """Switch delay D (hours; ``inf`` when every attempt fails) at design points ``u``.

    ``u`` has shape (n, 2 + max_attempts): columns drive detection, the attempts'
    outcome and each attempt's duration.

    Examples
    --------
    >>> from model.scenario.loader import DistributionSpec, RedundancyGroup
    >>> fixed = DistributionSpec(distribution="fixed", value_hours=0.5)
    >>> g = RedundancyGroup(members=("a", "b"), policy="manual", detection_delay=fixed, switch_time=fixed,
    ...                     switch_failure_probability=0.5, max_attempts=2)
    >>> u = np.array([[0.5, 0.2, 0.5, 0.5], [0.5, 0.6, 0.5, 0.5], [0.5, 0.9, 0.5, 0.5]])
    >>> switch_delay_quantiles(g, u).tolist()   # 1, 2 and (all fail) 3 attempts needed
    [1.0, 1.5, inf]
    """
    if group.policy == "active-active":
        return np.zeros(u.shape[0])
    if group.policy == "automatic":
        return _ppf(group.failover_delay, u[:, 0])
    det = _ppf(group.detection_delay, u[:, 0])
    p = group.switch_failure_probability
    k = group.max_attempts
    # attempts needed ~ geometric(1 - p): attempt j (from 0) fails when j + 1 < attempts needed
    if p <= 0:
        attempts = np.ones(u.shape[0], dtype=np.int64)
    elif p >= 1:
        attempts = np.full(u.shape[0], k + 1)
    else:
        attempts = 1 + np.floor(np.log1p(-u[:, 1]) / math.log(p)).astype(np.int64)
    fails = np.arange(k)[None, :] + 1 < attempts[:, None]
    durations = np.stack([_ppf(group.switch_time, u[:, 2 + j]) for j in range(k)], axis=1)
    return manual_switch_delay(det, durations, fails)


def failover_unavailability(group: RedundancyGroup, primary: Failure) -> float:
    """Long-run share of time a standby group is down waiting for the switch.

    ``λ · E[min(D, R)]`` with λ the primary's failure rate per hour, D the switch
    delay and R the primary's repair time; 0 when the primary has no rate or repair
    distribution, or for active-active groups.
    """
    if group.policy == "active-active" or primary.failures_per_year is None or primary.repair is None:
        return 0.0
    lam = primary.failures_per_year / HOURS_PER_YEAR
    dims = 3 + group.max_attempts
    u = qmc.Sobol(d=dims, scramble=False).random(_DESIGN_POINTS)
    u = np.clip(u + 0.5 / _DESIGN_POINTS, 1e-12, 1 - 1e-12)  # centre the design away from 0
    d = switch_delay_quantiles(group, u[:, 1:])
    r = _ppf(primary.repair, u[:, 0])
    window = float(np.mean(np.minimum(d, r)))
    mttr = primary.repair.mean()
    return min(1.0, lam * window / (1 + lam * mttr))
