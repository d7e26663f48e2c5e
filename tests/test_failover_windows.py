"""The conditional failover-window estimator (model.sim.failover_windows) and the one manual switch delay.

The building blocks are checked against the engine's own code and exact values: the
switch delays of the manual procedure as the static engines, the time engine and the
estimator draw them; linear-interpolation weights; knot values bit-identical on one
process and on a pool of two.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.processes.distributions import LogNormal
from model.processes.failover import manual_switch_delay, switch_delay_quantiles
from model.processes.outages import SwitchPolicy, switch_delays
from model.scenario.loader import DistributionSpec, RedundancyGroup, load_scenario
from model.sim.failover_windows import (
    DelayDesign,
    KnotValues,
    WindowModel,
    delay_design,
    knot_values,
    make_setup,
    manual_delays,
    outage_design,
    window_weights,
)

AUTO = LogNormal(30 / 3600, 30 / 3600)


@pytest.fixture(scope="module")
def setup():
    return make_setup(load_scenario("uk999"), AUTO)


def test_manual_switch_delay_exact_cases():
    det = np.array([1.0, 1.0, 1.0, 2.0])
    dur = np.array([[0.5, 0.25, 0.125]] * 4)
    fails = np.array([[False, True, True], [True, False, True], [True, True, False], [True, True, True]])
    assert manual_switch_delay(det, dur, fails).tolist() == [1.5, 1.75, 1.875, math.inf]
    # a scale multiplies the attempt durations only; leading axes broadcast
    got = manual_switch_delay(det[None, :], dur[None], fails[None], duration_scale=np.array([[2.0]]))
    assert got.tolist() == [[2.0, 2.5, 2.75, math.inf]]


def test_the_three_users_of_the_manual_delay_agree():
    """Quantile design (static engines), sampled (time engine) and the estimator's draws: same law."""
    p, k = 0.4, 3
    spec = DistributionSpec(distribution="lognormal", mean_hours=1.0, sd_hours=1.0)
    g = RedundancyGroup(members=("a", "b"), policy="manual", detection_delay=spec, switch_time=spec,
                        switch_failure_probability=p, max_attempts=k)
    rng = np.random.default_rng(5)
    q = switch_delay_quantiles(g, rng.random((200_000, 2 + k)))
    pol = SwitchPolicy(0, (1,), "manual", detection=LogNormal(1.0, 1.0), switch_time=LogNormal(1.0, 1.0),
                       p_fail=p, max_attempts=k)
    s = switch_delays(pol, np.random.default_rng(6), 200_000)
    for d in (q, s):
        assert abs(np.isinf(d).mean() - p**k) < 4 * math.sqrt(p**k * (1 - p**k) / d.size)
    # E[D | switched] = 1 + E[attempts | success within k] x 1, exactly
    w = np.array([(1 - p) * p**j for j in range(k)])
    exact = 1 + float((w * np.arange(1, k + 1)).sum() / w.sum())
    for d in (q, s):
        fin = d[np.isfinite(d)]
        assert abs(fin.mean() - exact) < 4 * fin.std() / math.sqrt(fin.size), (fin.mean(), exact)


def test_manual_delays_match_the_engine_switch_delays(setup):
    dd = delay_design(setup, 4096, np.random.SeedSequence(3))
    mine = manual_delays(dd, [setup.det_mean], [setup.sw_mean], [setup.p_fail])[0]
    pol = SwitchPolicy(0, (1,), "manual", detection=LogNormal(setup.det_mean, setup.det_mean),
                       switch_time=LogNormal(setup.sw_mean, setup.sw_mean), p_fail=setup.p_fail,
                       max_attempts=setup.max_attempts)
    ref = switch_delays(pol, np.random.default_rng(np.random.SeedSequence(4)), 200_000)
    # P(all attempts fail) = p^k, and E[min(D, c)] at a few caps
    assert abs(np.isinf(mine).mean() - setup.p_fail ** setup.max_attempts) < 0.01
    for cap in (0.5, 2.0, 6.0):
        a, b = np.minimum(mine, cap), np.minimum(ref, cap)
        se = math.hypot(a.std() / math.sqrt(a.size) * 3, b.std() / math.sqrt(b.size))  # QMC: generous
        assert abs(a.mean() - b.mean()) < 4 * se, (cap, a.mean(), b.mean())
    # scaling: the detection mean and attempt time scale the delays
    two = manual_delays(dd, [2 * setup.det_mean], [2 * setup.sw_mean], [setup.p_fail])[0]
    fin = np.isfinite(mine)
    assert np.allclose(two[fin], 2 * mine[fin])


def test_window_weights_interpolate_linearly():
    kn = np.array([[0.0, 1.0, 2.0, 5.0], [0.0, 0.5, np.inf, np.inf]])
    kv = KnotValues({}, kn, np.array([3, 1]), 0, 0.0, 0)
    # outage 0: knots 0, 1, 2 and repair 5; outage 1: knot 0 and repair 0.5
    w = window_weights(kv, np.array([[1.5, 1.5], [7.0, 7.0], [0.25, 0.25]]))
    assert np.allclose(w.sum(axis=2), 1.0)
    assert np.allclose(w[0, 0], [0, 0.5, 0.5, 0])  # halfway between knots 1 and 2
    assert np.allclose(w[1, 0], [0, 0, 0, 1]) and np.allclose(w[1, 1], [0, 1, 0, 0])  # capped at the repair
    assert np.allclose(w[2, 1], [0.5, 0.5, 0, 0])
    values = np.array([[0.0, 10.0, 30.0, 90.0], [0.0, 4.0, 4.0, 4.0]])
    got = np.einsum("tnm,nm->tn", w, values)
    assert np.allclose(got, [[20.0, 4.0], [90.0, 4.0], [2.5, 2.0]])


def test_policy_delays_of_the_model():
    dd = DelayDesign(np.array([1.0, 2.0]), np.ones((2, 2)), np.array([[0.9, 0.9], [0.1, 0.9]]),
                     np.array([0.5, 1.5]))
    m = WindowModel(None, None, dd)
    manual = m.policy_delays({"policy": "manual", "det": 1.0, "sw": 0.5}, [0.5, 0.05])
    assert manual.tolist() == [[1.5, 3.0], [1.5, 2.5]]  # second draw: first attempt fails iff 0.1 < p
    auto = m.policy_delays({"policy": "automatic", "auto": 0.1}, [0.5, 0.5, 0.5])
    assert auto.shape == (3, 2) and np.allclose(auto, [[0.05, 0.15]] * 3)


def test_knot_values_same_bits_on_one_process_and_two(setup):
    """The engine replays through the runner: serial and a pool of two give identical knot values."""
    small = make_setup(load_scenario("uk999"), AUTO, cap_fractions=(1.0,), redial_levels=())
    design = outage_design(small, 2, np.random.SeedSequence(1))
    a = knot_values(small, design, np.random.SeedSequence(2), workers=1)
    b = knot_values(small, design, np.random.SeedSequence(2), workers=2, backend="processes")
    assert a.backend == "serial" and b.backend.startswith("processes")
    assert set(a.values) == set(b.values) == {(c.key, 0.85) for c in small.capacities}
    for key in a.values:
        assert np.array_equal(a.values[key], b.values[key]), key
    assert a.calls_simulated == b.calls_simulated > 0
    # losses grow with the window (w = repair loses most) and fall with the backup's capacity
    v = a.values[("status_quo", 0.85)][0]
    last = v[np.arange(2), a.n_knots]
    assert np.all(last >= v[:, 0]) and np.all(last > 0)
    assert np.all(a.values[("dr_98", 0.85)][0][:, 0] <= v[:, 0] + 1e-9)
