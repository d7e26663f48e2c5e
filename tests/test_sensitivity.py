"""Tests of model.metrics.sensitivity: Sobol indices vs analytic values, tornado, propagation, variants."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.metrics.sensitivity import (
    UncertainParameter,
    apply_parameters,
    parameter_table,
    propagate,
    sobol_indices,
    tornado_data,
)
from model.scenario.loader import load_scenario
from model.scenario.schema import ScenarioError


def _within(est: float, ci: tuple[float, float], truth: float, z: float = 4.0) -> bool:
    """|est - truth| < z standard errors, the standard error taken from the 95 % bootstrap interval."""
    se = max((ci[1] - ci[0]) / (2 * 1.96), 1e-9)
    return abs(est - truth) < z * se


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[0]) + a * np.sin(x[1]) ** 2 + b * x[2] ** 4 * np.sin(x[0])


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[list[float], list[float]]:
    """Analytic first-order and total indices of the Ishigami function on [-pi, pi]^3."""
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return [v1 / v, v2 / v, 0.0], [(v1 + v13) / v, v2 / v, v13 / v]


PI3 = [UncertainParameter(f"x{i + 1}", f"t.x{i + 1}", -math.pi, math.pi) for i in range(3)]


def test_ishigami_matches_analytic_indices_within_bootstrap_ci():
    res = sobol_indices(ishigami, PI3, n=2048, seed=11)
    first, total = ishigami_indices()
    assert res.first_order.shape == (1, 3) and res.first_ci.shape == (1, 3, 2)
    assert res.evaluations == 2048 * 5
    for i in range(3):
        assert _within(res.first_order[0, i], res.first_ci[0, i], first[i]), (i, res.first_order, first)
        assert _within(res.total_order[0, i], res.total_ci[0, i], total[i]), (i, res.total_order, total)
        assert res.first_ci[0, i, 0] <= res.first_order[0, i] <= res.first_ci[0, i, 1]
    # the intervals are informative: x3 has no first-order effect but a clear total effect
    assert res.total_ci[0, 2, 0] > 0.15
    assert res.first_ci[0, 2, 1] - res.first_ci[0, 2, 0] < 0.15


def test_linear_model_indices_are_weight_shares_and_first_equals_total():
    params = [UncertainParameter("u", "t.u", 0.0, 2.0),
              UncertainParameter("v", "t.v", 1.0, 100.0, "loguniform"),
              UncertainParameter("w", "t.w", -1.0, 1.0)]
    coef = np.array([3.0, 0.05, 1.0])

    def var_loguniform(a: float, b: float) -> float:
        lg = math.log(b / a)
        m1 = (b - a) / lg
        m2 = (b * b - a * a) / (2 * lg)
        return m2 - m1 * m1

    variances = np.array([4 / 12, var_loguniform(1.0, 100.0), 4 / 12]) * coef**2
    truth = variances / variances.sum()
    res = sobol_indices(lambda x: coef @ x, params, n=4096, seed=2)
    for i in range(3):
        assert _within(res.first_order[0, i], res.first_ci[0, i], truth[i])
        assert _within(res.total_order[0, i], res.total_ci[0, i], truth[i])
    # no interactions: first-order and total agree within their intervals
    gap = np.abs(res.total_order - res.first_order)[0]
    half = (res.total_ci[0, :, 1] - res.total_ci[0, :, 0] + res.first_ci[0, :, 1] - res.first_ci[0, :, 0]) / 2
    assert np.all(gap < half + 1e-9)
    assert abs(res.output_mean[0] - (coef @ np.array([1.0, 99 / math.log(100), 0.0]))) < 0.05


def test_discrete_parameter_indices():
    """A parameter taking equally likely levels: Bernoulli(1/2) on {0, 2} has variance 1."""
    params = [UncertainParameter("switch", "t.s", 0.0, 2.0, "discrete", levels=(0.0, 2.0)),
              UncertainParameter("u", "t.u", 0.0, math.sqrt(12.0))]  # variance 1
    res = sobol_indices(lambda x: x[0] + x[1], params, n=2048, seed=8)
    for i in range(2):
        assert _within(res.first_order[0, i], res.first_ci[0, i], 0.5)
        assert _within(res.total_order[0, i], res.total_ci[0, i], 0.5)
    t = tornado_data(lambda x: x[0] * 10 + x[1], params, base=[2.0, 1.0])
    assert t.output_low.tolist() == [1.0, 20.0] and t.low_values.tolist() == [0.0, 0.0]
    p3 = UncertainParameter("p", "t.p", 0.5, 0.95, "discrete", levels=(0.5, 0.7, 0.85, 0.95))
    u = (np.arange(4000) + 0.5) / 4000
    assert np.bincount(np.searchsorted(p3.levels, p3.ppf(u))).tolist() == [1000] * 4
    assert p3.dist.ppf(0.5) == 0.7 and p3.to_dict()["levels"] == [0.5, 0.7, 0.85, 0.95]


def test_sobol_is_reproducible_and_multi_output_and_loop_agree():
    a = sobol_indices(ishigami, PI3, n=256, seed=np.random.SeedSequence(5), n_resamples=200)
    b = sobol_indices(ishigami, PI3, n=256, seed=np.random.SeedSequence(5), n_resamples=200)
    assert np.array_equal(a.first_order, b.first_order) and np.array_equal(a.total_ci, b.total_ci)
    assert a.seed == 5
    two = sobol_indices(lambda x: np.stack([ishigami(x), 2 * ishigami(x) + 1]), PI3, n=256,
                        seed=np.random.SeedSequence(5), n_resamples=200, output_names=["f", "g"])
    assert two.first_order.shape == (2, 3)
    assert np.allclose(two.first_order[0], a.first_order[0])
    assert np.allclose(two.first_order[1], a.first_order[0])
    loop = sobol_indices(lambda v: float(ishigami(v[:, None])[0]), PI3, n=256, seed=np.random.SeedSequence(5),
                         n_resamples=200, vectorized=False)
    assert np.allclose(loop.first_order, a.first_order)
    d = two.to_dict()
    assert set(d["outputs"]) == {"f", "g"} and d["evaluations"] == 256 * 5
    assert d["outputs"]["f"]["indices"][0]["parameter"] == "x1"  # largest total index first


def test_sobol_rejects_bad_input():
    with pytest.raises(ValueError, match="power of 2"):
        sobol_indices(ishigami, PI3, n=1000, seed=1)
    with pytest.raises(ValueError, match="non-finite"):
        sobol_indices(lambda x: x[0] * np.inf, PI3, n=64, seed=1)
    with pytest.raises(ValueError, match="shape"):
        sobol_indices(lambda x: x[0][:3], PI3, n=64, seed=1)


def test_tornado_hand_computed():
    params = [UncertainParameter("a", "t.a", 1.0, 3.0), UncertainParameter("b", "t.b", 0.0, 10.0),
              UncertainParameter("c", "t.c", -1.0, 1.0)]
    # f = a * b + c at base (2, 5, 0) = 10; a: 5 .. 15; b: 0 .. 20; c: 9 .. 11
    t = tornado_data(lambda x: x[0] * x[1] + x[2], params, base=[2.0, 5.0, 0.0])
    assert t.base_output == 10.0
    assert t.output_low.tolist() == [5.0, 0.0, 9.0] and t.output_high.tolist() == [15.0, 20.0, 11.0]
    rows = t.rows()
    assert [r["name"] for r in rows] == ["b", "a", "c"] and [r["swing"] for r in rows] == [20.0, 10.0, 2.0]
    # with standard errors, and one output of several
    t2 = tornado_data(lambda x: (np.stack([x[0], x[0] * x[1] + x[2]]), np.ones((2, x.shape[1]))), params,
                      base={"a": 2.0, "b": 5.0, "c": 0.0}, output=1)
    assert t2.output_high.tolist() == [15.0, 20.0, 11.0] and t2.base_std_error == 1.0
    assert t2.to_dict()["rows"][0]["se_low"] == 1.0
    with pytest.raises(ValueError, match="no value given"):
        tornado_data(lambda x: x[0], params, base={"a": 1.0})
    with pytest.raises(ValueError, match="2 values for 3 parameters"):
        tornado_data(lambda x: x[0], params, base=[1.0, 2.0])


def test_propagate_band_and_noise_share():
    p = [UncertainParameter("x", "t.x", 0.0, 1.0)]
    sigma = 0.2
    noise = np.random.default_rng(np.random.SeedSequence(99)).normal(0, sigma, 1024)

    def inner(x):  # inner estimate = x + its own Monte Carlo error, with that error's standard error
        return x[0] + noise[: x.shape[1]], np.full(x.shape[1], sigma)

    res = propagate(inner, p, n=1024, seed=4)
    b = res.band()
    assert b["p05"] < b["median"] < b["p95"]
    expected = sigma**2 / (1 / 12 + sigma**2)
    # share of the spread due to noise: sigma^2 / (1/12 + sigma^2); Var of a sample variance ~ 2 var^2 / n
    assert abs(b["share_noise"] - expected) < 4 * math.sqrt(2 / 1024) * expected
    assert abs(b["share_parameter"] + b["share_noise"] - 1) < 1e-12
    # without noise: quantiles of a uniform, inside their order-statistic intervals
    clean = propagate(lambda x: x[0], p, n=1024, seed=4)
    cb = clean.band()
    for name, q in (("median", 0.5), ("p05", 0.05), ("p95", 0.95)):
        lo, hi = cb[f"{name}_ci"]
        assert lo <= q <= hi, (name, lo, hi)
    assert cb["share_noise"] == 0.0
    lhs = propagate(lambda x: x[0], p, n=300, seed=4, design="lhs")
    assert lhs.n == 300 and np.all(np.diff(np.sort(np.floor(lhs.samples[0] * 300))) == 1)  # one per stratum
    with pytest.raises(ValueError, match="power of 2"):
        propagate(lambda x: x[0], p, n=300, seed=4)
    again = propagate(inner, p, n=1024, seed=4)
    assert np.array_equal(again.values, res.values)
    assert res.to_dict()["outputs"]["output"]["draws"] == 1024


def test_parameter_validation():
    with pytest.raises(ValueError, match="low < high"):
        UncertainParameter("p", "a.b", 1.0, 1.0)
    with pytest.raises(ValueError, match="low > 0"):
        UncertainParameter("p", "a.b", 0.0, 1.0, "loguniform")
    with pytest.raises(ValueError, match="not allowed"):
        UncertainParameter("p", "a.b", 0.0, 1.0, "normal")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="increasing levels"):
        UncertainParameter("p", "a.b", 0.0, 1.0, "discrete", levels=(0.0, 0.7))
    with pytest.raises(ValueError, match="increasing levels"):
        UncertainParameter("p", "a.b", 0.0, 1.0, "discrete", levels=(0.0, 0.8, 0.5, 1.0))
    with pytest.raises(ValueError, match="only for distribution 'discrete'"):
        UncertainParameter("p", "a.b", 0.0, 1.0, levels=(0.0, 1.0))
    with pytest.raises(ValueError, match="dotted key"):
        UncertainParameter("p", "", 0.0, 1.0)
    p = UncertainParameter("rate", ("x.a", "x.b"), 0.001, 0.1, "loguniform", source="S")
    assert p.paths == ("x.a", "x.b") and abs(p.median - 0.01) < 1e-12
    assert p.dist.ppf(0.5) == pytest.approx(0.01)
    assert parameter_table([p])[0]["source"] == "S"


@pytest.fixture(scope="module")
def uk999():
    return load_scenario("uk999")


def test_apply_parameters_sets_values_and_keeps_the_scenario_immutable(uk999):
    g_path = "redundancy_groups.bt_platforms.detection_delay"
    det = UncertainParameter("detection", (f"{g_path}.mean_hours", f"{g_path}.sd_hours"), 0.1, 5.0)
    cap = UncertainParameter("DR calls", "call_handling_platforms.bt_dr.capacity.concurrent_calls", 25, 98)
    rate = UncertainParameter("rate", ("call_handling_platforms.bt_primary.failure.failures_per_year",
                                       "call_handling_platforms.bt_dr.failure.failures_per_year"), 1e-4, 0.1)
    v = apply_parameters(uk999, [det, cap, rate], {"detection": 2.5, "DR calls": 60.6, "rate": 0.02})
    g = v.redundancy_groups["bt_platforms"]
    assert g.detection_delay.mean_hours == 2.5 and g.detection_delay.sd_hours == 2.5
    assert g.switch_time.mean_hours == uk999.redundancy_groups["bt_platforms"].switch_time.mean_hours
    dr = v.call_handling_platforms["bt_dr"]
    assert dr.capacity.concurrent_calls == 61 and isinstance(dr.capacity.concurrent_calls, int)
    assert dr.capacity.queue_limit == 50  # the rest of the inline table is kept
    assert v.call_handling_platforms["bt_primary"].failure.failures_per_year == 0.02
    assert dr.failure.failures_per_year == 0.02
    # the original is untouched, and the variant has its own digest
    assert uk999.redundancy_groups["bt_platforms"].detection_delay.mean_hours == 1.15
    assert uk999.call_handling_platforms["bt_dr"].capacity.concurrent_calls == 49
    assert v.digest != uk999.digest


def test_apply_parameters_errors_name_the_path(uk999):
    bad = UncertainParameter("typo", "redundancy_groups.bt_platfroms.detection_delay.mean_hours", 0.1, 1)
    with pytest.raises(ValueError, match=r"parameter 'typo': path 'redundancy_groups\.bt_platfroms\..*"
                                         r"no table 'bt_platfroms' under 'redundancy_groups'.*bt_platforms"):
        apply_parameters(uk999, [bad], [0.5])
    through_value = UncertainParameter("v", "callers.redial_probability.x", 0.0, 1.0)
    with pytest.raises(ValueError, match=r"path 'callers\.redial_probability\.x'.*not a table"):
        apply_parameters(uk999, [through_value], [0.5])
    table = UncertainParameter("t", "callers", 0.0, 1.0)
    with pytest.raises(ValueError, match="names a table"):
        apply_parameters(uk999, [table], [0.5])
    # a value the schema forbids is reported by the scenario validation, naming the key
    p_fail = UncertainParameter("p", "redundancy_groups.bt_platforms.switch_failure_probability", 0.0, 2.0)
    with pytest.raises(ScenarioError, match="switch_failure_probability"):
        apply_parameters(uk999, [p_fail], [1.5])
    unknown = UncertainParameter("u", "callers.redial_probabilty", 0.0, 1.0)
    with pytest.raises(ScenarioError, match="redial_probabilty"):
        apply_parameters(uk999, [unknown], [0.5])
    with pytest.raises(ValueError, match="unknown parameters"):
        apply_parameters(uk999, [p_fail], {"p": 0.5, "q": 1.0})
