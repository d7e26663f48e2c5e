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

__all__ = ["failover_unavailability", "switch_delay_quantiles"]

_DESIGN_POINTS = 2**14


def _ppf(d: DistributionSpec, u: np.ndarray) -> np.ndarray:
    return np.asarray(parse_distribution(d, "failover").quantile(u), dtype=float)


def switch_delay_quantiles(group: RedundancyGroup, u: np.ndarray) -> np.ndarray:
    """Switch delay D (hours; ``inf`` when every attempt fails) at design points ``u``.

    ``u`` has shape (n, 2 + max_attempts): columns drive detection, the attempts'
    outcome and each attempt's duration.
    """
    if group.policy == "active-active":
        return np.zeros(u.shape[0])
    if group.policy == "automatic":
        return _ppf(group.failover_delay, u[:, 0])
    det = _ppf(group.detection_delay, u[:, 0])
    p = group.switch_failure_probability
    # attempts needed ~ geometric(1 - p), truncated: beyond max_attempts the switch never happens
    if p <= 0:
        attempts = np.ones(u.shape[0], dtype=np.int64)
    elif p >= 1:
        attempts = np.full(u.shape[0], group.max_attempts + 1)
    else:
        attempts = 1 + np.floor(np.log1p(-u[:, 1]) / math.log(p)).astype(np.int64)
    total = det.copy()
    for k in range(group.max_attempts):  # loop over attempts (<= a handful), not over samples
        dur = _ppf(group.switch_time, u[:, 2 + k])
        total += np.where(attempts > k, dur, 0.0)
    total[attempts > group.max_attempts] = np.inf
    return total


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
