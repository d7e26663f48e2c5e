"""Tests for model.processes.distributions: moments, cdf/quantile, E[min] and scenario parsing."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from model.processes.distributions import (
    FAMILIES,
    Distribution,
    Exponential,
    Fixed,
    LogNormal,
    Weibull,
    parse_distribution,
)

CONTINUOUS = [
    Exponential(4.0),
    LogNormal(4.0, 6.0),
    LogNormal(0.25, 0.05),
    LogNormal.from_median_sigma(1.5, 0.8),
    Weibull(0.7, 3.0),
    Weibull(2.5, 10.0),
    Weibull.from_mean(1.5, 0.1),
]
ALL = [*CONTINUOUS, Fixed(0.5), Fixed(0.0)]


def _scipy(d: Distribution):
    """The same distribution in scipy.stats (an independent reference)."""
    if isinstance(d, Exponential):
        return stats.expon(scale=d.mean)
    if isinstance(d, LogNormal):
        return stats.lognorm(s=d.sigma, scale=math.exp(d.mu))
    if isinstance(d, Weibull):
        return stats.weibull_min(d.shape, scale=d.scale)
    raise TypeError(d)


@pytest.mark.parametrize("d", ALL, ids=repr)
def test_protocol_and_round_trip(d):
    assert isinstance(d, Distribution)
    table = d.to_dict()
    assert table["distribution"] == d.family and FAMILIES[d.family] is type(d)
    assert parse_distribution(table, "round trip") == d
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.family_param = 1  # frozen


@pytest.mark.parametrize("d", CONTINUOUS, ids=repr)
def test_moments_and_functions_match_scipy(d):
    ref = _scipy(d)
    assert d.mean == pytest.approx(ref.mean(), rel=1e-12)
    assert d.var == pytest.approx(ref.var(), rel=1e-10)
    assert d.sd == pytest.approx(ref.std(), rel=1e-10)
    x = ref.ppf(np.linspace(0.001, 0.999, 41))
    np.testing.assert_allclose(d.cdf(x), ref.cdf(x), rtol=1e-12)
    np.testing.assert_allclose(d.sf(x), ref.sf(x), rtol=1e-9)
    p = np.array([0.0, 1e-9, 0.01, 0.5, 0.99, 1 - 1e-9])
    np.testing.assert_allclose(d.quantile(p), ref.ppf(p), rtol=1e-9)
    assert d.quantile(1.0) == np.inf
    assert d.cdf(-1.0) == 0.0 and d.sf(-1.0) == 1.0
    assert d.cdf(d.quantile(0.3)) == pytest.approx(0.3, rel=1e-12)


@pytest.mark.parametrize("d", CONTINUOUS, ids=repr)
def test_sample_mean_and_variance_within_ci(d):
    n = 400_000
    x = d.sample(np.random.default_rng(12345), n)
    assert x.shape == (n,) and np.all(x > 0)
    ref = _scipy(d)
    z_mean = (x.mean() - d.mean) / math.sqrt(d.var / n)
    assert abs(z_mean) < 4
    mu4 = ref.moment(4) - 4 * ref.moment(3) * d.mean + 6 * ref.moment(2) * d.mean**2 - 3 * d.mean**4
    se_var = math.sqrt((mu4 - d.var**2 * (n - 3) / (n - 1)) / n)
    assert abs((x.var(ddof=1) - d.var) / se_var) < 4
    # the sample's distribution, not only its moments: Kolmogorov-Smirnov at a fixed seed
    assert stats.kstest(x[:20_000], ref.cdf).pvalue > 1e-4


def test_sampling_is_reproducible_and_needs_a_generator():
    d = LogNormal(4.0, 6.0)
    a = d.sample(np.random.default_rng(7), (3, 4))
    assert a.shape == (3, 4)
    np.testing.assert_array_equal(a, d.sample(np.random.default_rng(7), (3, 4)))
    with pytest.raises(TypeError, match="Generator"):
        d.sample(7, 3)
    assert np.all(Fixed(0.5).sample(np.random.default_rng(0), 5) == 0.5)


@pytest.mark.parametrize("d", CONTINUOUS, ids=repr)
def test_mean_min_closed_form_against_integral_and_monte_carlo(d):
    dd = np.array([0.0, 0.05, 0.5, 2.0, 8.0, 50.0])
    closed = d.mean_min(dd)
    integral = [d.mean_min_with(Fixed(v), method="quad") if v > 0 else 0.0 for v in dd]
    np.testing.assert_allclose(closed, integral, rtol=1e-8, atol=1e-14)
    assert d.mean_min(np.inf) == pytest.approx(d.mean, rel=1e-12)
    assert d.mean_min(0.0) == 0.0
    assert np.all(np.diff(closed) >= 0) and np.all(closed <= dd)
    n = 200_000
    x = d.sample(np.random.default_rng(99), n)
    for v in (0.5, 2.0):
        m = np.minimum(x, v)
        assert abs((m.mean() - d.mean_min(v)) / (m.std() / math.sqrt(n))) < 4


PAIRS = [
    (Exponential(4.0), Exponential(0.5)),
    (LogNormal(4.0, 6.0), Exponential(0.5)),
    (LogNormal(4.0, 6.0), LogNormal(0.25, 0.2)),
    (Weibull(0.7, 3.0), LogNormal(1.0, 0.5)),
    (Weibull(2.5, 10.0), Weibull(1.5, 8.0)),
    (Exponential(1.0), Fixed(0.5)),
    (Fixed(2.0), Weibull(0.7, 3.0)),
]


@pytest.mark.parametrize(("x", "y"), PAIRS, ids=repr)
def test_mean_min_with_against_monte_carlo(x, y):
    n = 200_000
    rng = np.random.default_rng(2023)
    m = np.minimum(x.sample(rng, n), y.sample(rng, n))
    expected = x.mean_min_with(y)
    assert expected == pytest.approx(y.mean_min_with(x), rel=1e-8)  # symmetric
    assert abs((m.mean() - expected) / (m.std() / math.sqrt(n))) < 4
    assert expected <= min(x.mean, y.mean)


def test_mean_min_with_closed_forms():
    assert Exponential(4.0).mean_min_with(Exponential(0.5)) == pytest.approx(1 / (1 / 4 + 1 / 0.5))
    assert Exponential(4.0).mean_min_with(Exponential(0.5), method="quad") == pytest.approx(
        1 / 2.25, rel=1e-9
    )
    assert Weibull(1.0, 3.0).mean_min(2.0) == pytest.approx(Exponential(3.0).mean_min(2.0), rel=1e-14)
    assert Fixed(0.0).mean_min_with(LogNormal(4.0, 6.0)) == 0.0
    with pytest.raises(ValueError, match="'auto' or 'quad'"):
        Exponential(1.0).mean_min_with(Exponential(1.0), method="mc")


def test_lognormal_parametrisations_agree():
    d = LogNormal.from_median_sigma(2.0, 0.9)
    assert d.median == pytest.approx(2.0, rel=1e-12) and d.sigma == pytest.approx(0.9, rel=1e-12)
    assert d.quantile(0.5) == pytest.approx(2.0, rel=1e-12)
    w = Weibull.from_mean(0.8, 6.0)
    assert w.mean == pytest.approx(6.0, rel=1e-12)


@pytest.mark.parametrize(
    ("cls", "args", "match"),
    [
        (Exponential, (0.0,), "mean = 0.0"),
        (Exponential, (float("nan"),), "mean = nan"),
        (LogNormal, (4.0, -1.0), "sd = -1.0"),
        (Weibull, (0.0, 1.0), "shape = 0.0"),
        (Fixed, (-0.1,), "value = -0.1"),
        (Fixed, (True,), "value = True"),
    ],
)
def test_constructors_refuse_bad_parameters(cls, args, match):
    with pytest.raises(ValueError, match=match):
        cls(*args)


def test_method_arguments_are_checked():
    with pytest.raises(ValueError, match="0 <= p <= 1"):
        Exponential(1.0).quantile(1.5)
    with pytest.raises(ValueError, match="d >= 0"):
        Exponential(1.0).mean_min(-1.0)


# ----------------------------------------------------------------------------- parsing


def test_parse_all_families():
    w = "s.toml: components.cha.repair"
    assert parse_distribution({"distribution": "exponential", "mean_hours": 4}, w) == Exponential(4.0)
    assert parse_distribution({"distribution": "lognormal", "mean_hours": 4, "sd_hours": 6}, w) == LogNormal(
        4, 6
    )
    assert parse_distribution({"distribution": "weibull", "shape": 2, "scale_hours": 3}, w) == Weibull(2, 3)
    assert parse_distribution(
        {"distribution": "weibull", "shape": 2, "mean_hours": 3}, w
    ).mean == pytest.approx(3)
    assert parse_distribution(
        {"distribution": "fixed", "value_hours": 0, "source": "assumption: x"}, w
    ) == Fixed(0)
    # None means absent: the dict form of a scenario spec dataclass is accepted as it is
    spec = {"distribution": "exponential", "mean_hours": 2.0, "sd_hours": None, "shape": None, "source": ""}
    assert parse_distribution(spec, w) == Exponential(2.0)


def test_parse_accepts_a_dataclass_spec():
    @dataclasses.dataclass(frozen=True)
    class Spec:
        distribution: str
        mean_hours: float | None = None
        sd_hours: float | None = None
        value_hours: float | None = None

    assert parse_distribution(Spec("lognormal", 4.0, 6.0), "spec") == LogNormal(4.0, 6.0)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"distribution": "gamma", "mean_hours": 4},
            "where: distribution = 'gamma' is not allowed; use one of",
        ),
        ({"mean_hours": 4}, "where: key 'distribution' is missing"),
        (
            {"distribution": "lognormal", "mean_hours": 4},
            "where: a lognormal distribution needs key 'sd_hours'",
        ),
        (
            {"distribution": "lognormal", "mean_hours": 4, "sd_hours": -1},
            r"where: sd_hours = -1 is not allowed; it must be a finite number > 0 \(hours\)",
        ),
        (
            {"distribution": "exponential", "mean_hours": "4h"},
            "where: mean_hours = '4h' is not allowed; it must be a finite number > 0",
        ),
        ({"distribution": "exponential", "mean_hours": True}, "where: mean_hours = True is not allowed"),
        (
            {"distribution": "exponential", "mean_hours": float("inf")},
            "where: mean_hours = inf is not allowed",
        ),
        (
            {"distribution": "exponential", "mean": 4},
            "where: key 'mean' is not allowed for a exponential distribution; allowed keys: distribution, "
            "mean_hours, source",
        ),
        ({"distribution": "weibull", "shape": 2}, "exactly one of 'scale_hours' or 'mean_hours'"),
        ({"distribution": "weibull", "shape": 2, "scale_hours": 1, "mean_hours": 1}, "exactly one of"),
        ({"distribution": "weibull", "scale_hours": 1}, "needs key 'shape'"),
        ({"distribution": "fixed", "value_hours": -2}, r"value_hours = -2 is not allowed; .* >= 0"),
        ("4 hours", "where: '4 hours' is not allowed; a distribution is a table"),
    ],
)
def test_parse_errors_name_where_key_value_and_what_is_allowed(table, message):
    with pytest.raises(ValueError, match=message):
        parse_distribution(table, "where")
