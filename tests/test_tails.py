"""Importance sampling of the outage processes: exact likelihood ratios, analytic and crude agreement."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest
from scipy import integrate, special

from model.results.tails import exceedance, exceedance_curve, return_level
from model.sim.engine import run_chunk
from model.sim.tails import FailureBias, WeightedTally, choose_bias, cross_entropy_bias, simulate_tails
from model.sim.timemodel import build_time_model, time_model_from_graph
from model.units import HOURS_PER_YEAR

MTBF, MTTR = HOURS_PER_YEAR / 2, 12.0  # two failures a year, 12 h mean repair (exponential)


def one_component():
    g = nx.Graph()
    g.add_edge("s", "t", mtbf=MTBF, mttr=MTTR)
    return time_model_from_graph(g, "s", "t")


def _occupation_density(x: float, a: float, b: float, horizon: float) -> float:
    """Density of the time spent in state 2 during [0, T] of a two-state Markov chain started in state 1.

    Rates ``a`` (1 -> 2) and ``b`` (2 -> 1): sum over the number of visits to state 2, ending in state 1
    (n complete visits) or in state 2 (the last one censored); terms in log space.
    """
    u = horizon - x
    n = np.arange(1, 400, dtype=float)
    log_a = (n * math.log(a * b) + n * math.log(u) + (n - 1) * math.log(x)
             - special.gammaln(n + 1) - special.gammaln(n))
    log_b = (n * math.log(a) + (n - 1) * math.log(b) + (n - 1) * math.log(u) + (n - 1) * math.log(x)
             - 2 * special.gammaln(n))
    return float(math.exp(-a * u - b * x) * (np.exp(log_a).sum() + np.exp(log_b).sum()))


def analytic_down_time_sf(d: float, horizon: float = HOURS_PER_YEAR) -> float:
    """P(down time in a year > d) of one repairable component, exponential up and repair, stationary start."""
    lam, mu = 1.0 / MTBF, 1.0 / MTTR
    p_down = lam / (lam + mu)
    up_start = integrate.quad(_occupation_density, d, horizon, args=(lam, mu, horizon), limit=400,
                              points=[d + 1.0, d + 50.0])[0]
    # started down: down time > d  <=>  up time < T - d (atom at up time 0: never repaired)
    down_start = math.exp(-mu * horizon) + integrate.quad(
        _occupation_density, 0.0, horizon - d, args=(mu, lam, horizon), limit=400,
        points=[horizon - d - 50.0, horizon - d - 1.0])[0]
    return (1 - p_down) * up_start + p_down * down_start


def test_analytic_reference_is_a_distribution():
    # P(D > 0) = 1 - P(started up and never failed); the density integrates to that
    lam = 1.0 / MTBF
    p_up = (1.0 / MTTR) / (lam + 1.0 / MTTR)
    assert analytic_down_time_sf(1e-9) == pytest.approx(1 - p_up * math.exp(-lam * HOURS_PER_YEAR), rel=1e-6)
    assert analytic_down_time_sf(30.0) > analytic_down_time_sf(60.0) > analytic_down_time_sf(120.0) > 0


def test_the_redraw_matches_the_engine_outages_exactly():
    tm = one_component()
    bias = FailureBias((tm.process.names[0],), (3.0,))
    run = simulate_tails(tm, 40, seed=4, bias=bias, chunk_years=20, backend="serial")
    down_engine = run.values("down_hours")
    # the engine's down hours of the biased model are the re-drawn outages' clipped durations
    logw = run.tally.log_weight[0]
    n = run.tally.event_counts()[:20, 0]
    lam = 1.0 / MTBF
    q0 = MTTR / (MTBF + MTTR)
    q1 = MTTR / (MTBF / 3.0 + MTTR)
    up = HOURS_PER_YEAR - down_engine[:20]
    init_terms = logw + n * math.log(3.0) - 2.0 * lam * up
    allowed = np.array([math.log(q0 / q1), math.log1p(-q0) - math.log1p(-q1)])
    assert np.min(np.abs(init_terms[:, None] - allowed[None, :]), axis=1) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("d", [60.0, 150.0])
def test_one_component_down_time_tail_matches_the_analytic_value(d):
    tm = one_component()
    exact = analytic_down_time_sf(d)
    # failure biasing alone: mild (x2), since long down time also comes from long repairs, which a
    # stronger failure bias leaves to years with heavy weights (x7 gave a far too narrow interval)
    bias = FailureBias((tm.process.names[0],), (2.0,))
    run = simulate_tails(tm, 4000, seed=9, bias=bias, chunk_years=1000, backend="serial")
    est = run.exceedance("down_hours", d)
    assert est.method == "importance-sampling"
    assert abs(est.value - exact) < 4 * est.std_error, (est.value, exact, est.std_error)
    if d == 150.0:  # a 1-in-a-few-thousand year: importance sampling sees it hundreds of times
        assert exact < 1e-3 and est.relative_error < 0.35
        crude = simulate_tails(tm, 4000, seed=9, bias=FailureBias(), chunk_years=1000, backend="serial")
        assert crude.exceedance("down_hours", d).details["years_at_or_above"] < 20


def test_paired_with_crude_at_the_one_in_a_hundred_level():
    # same model, same seed: the unbiased events' histories coincide year by year; the difference of the
    # two estimates of P(down time >= the crude 1-in-100 level) is judged by its own paired variance
    g = nx.Graph()
    g.add_edge("s", "a", mtbf=500.0, mttr=10.0)
    g.add_edge("a", "t", mtbf=700.0, mttr=10.0)
    g.add_edge("s", "t", mtbf=HOURS_PER_YEAR * 2, mttr=48.0)  # the rarer one, biased
    tm = time_model_from_graph(g, "s", "t")
    bias = FailureBias(("s-t",), (4.0,))
    years = 3000
    is_run = simulate_tails(tm, years, seed=21, bias=bias, chunk_years=1000, backend="serial")
    crude = simulate_tails(tm, years, seed=21, bias=FailureBias(), chunk_years=1000, backend="serial")
    level = crude.return_level("down_hours", 100)["value"]
    a = is_run.weights * (is_run.values("down_hours") >= level)
    b = (crude.values("down_hours") >= level).astype(float)
    diff = a - b
    z = diff.mean() / (diff.std(ddof=1) / math.sqrt(years))
    assert abs(z) < 4, z
    assert 0.005 < b.mean() < 0.05 and level > 0


def test_any_chunking_and_backend_give_the_same_weights_and_checkpoints_round_trip(tmp_path):
    tm = one_component()
    bias = FailureBias((tm.process.names[0],), (2.5,))
    a = simulate_tails(tm, 60, seed=3, bias=bias, chunk_years=20, backend="serial")
    b = simulate_tails(tm, 60, seed=3, bias=bias, chunk_years=20, backend="processes", workers=2)
    assert np.array_equal(a.weights, b.weights)
    assert np.array_equal(a.values("down_hours"), b.values("down_hours"))
    wt = WeightedTally.from_dict(a.tally.to_dict())
    assert np.array_equal(wt.weights(), a.weights)
    assert np.array_equal(wt.event_counts(), a.tally.event_counts())
    ck = tmp_path / "tails.ckpt"
    c = simulate_tails(tm, 60, seed=3, bias=bias, chunk_years=20, backend="serial", checkpoint=ck)
    assert ck.exists() and np.array_equal(c.weights, a.weights)


def test_no_bias_is_the_crude_engine():
    tm = one_component()
    run = simulate_tails(tm, 30, seed=8, bias=FailureBias(), chunk_years=30, backend="serial")
    plain = run_chunk(tm, 0, 30, 8, chunk_years=30)
    assert np.array_equal(run.values("down_hours"), plain.column("down_hours"))
    assert np.all(run.weights == 1.0) and run.method == "crude-simulation"


def test_bias_choice_and_bad_input():
    from model.sim.timemodel import build_time_model

    tm = build_time_model("uk999")
    b = choose_bias(tm)
    assert "ccf:bt_platform_software" in b.events and all(f >= 1 for f in b.factors)
    with pytest.raises(ValueError, match="no random event"):
        choose_bias(tm, events=["nope"])
    with pytest.raises(ValueError, match="positive"):
        FailureBias(("a",), (0.0,))
    with pytest.raises(ValueError, match="statistic"):
        simulate_tails(one_component(), 5, seed=1, bias=FailureBias(), backend="serial").values("x")


def test_weighted_tail_statistics():
    rng = np.random.default_rng(1)
    x = rng.exponential(1.0, 200_000)
    e = exceedance(x, None, math.log(100))
    assert abs(e.value - 0.01) < 4 * e.std_error
    r = return_level(x, None, 100, confidence=0.9999)  # |z| < 3.9, as elsewhere
    assert r["ci_low"] <= math.log(100) <= r["ci_high"]
    # importance-weighted: draws from Exp(1/3) with weights f/g estimate the Exp(1) tail at 1e-4
    y = rng.exponential(3.0, 200_000)
    w = np.exp(-y) / (np.exp(-y / 3.0) / 3.0)
    level = math.log(1e4)
    c = exceedance_curve(y, w, np.array([level]))
    assert abs(c["estimate"][0] - 1e-4) < 4 * c["std_error"][0]
    rl = return_level(y, w, 1e4, confidence=0.9999)
    assert rl["ci_low"] <= level <= rl["ci_high"] and rl["tail_rse"] < 0.1
    assert exceedance(np.zeros(10), None, 1.0).ci_high == pytest.approx(-math.log(0.05) / 10)
    with pytest.raises(ValueError):
        return_level(x, None, 1.0)


# ----------------------------------------------------------------------------- long repairs, manual switches
SMALL = "tests/data/time_small.toml"


def _small_bias(tm, factor=2.0):
    """Every mechanism biased at once: rates, long repairs (the lognormal primary) and the switch."""
    names = ("primary", "ccf:platform_software")
    # mild: the primary fails 5 times a year, and every failure's ratio multiplies into its year's weight
    return FailureBias(names, (1.0, factor), repair_above=(8.0, 0.0), repair_share=(0.2, 0.0),
                       switches=("failover:platforms",), switch_fail=(0.45,))


def test_tail_biased_repairs_and_switch_ratios_average_to_one():
    from model.processes.distributions import Exponential, LogNormal
    from model.processes.outages import SwitchPolicy, TailBiased, switch_draws

    rng = np.random.default_rng(12)
    for base in (LogNormal(4.0, 4.0), Exponential(12.0)):
        t = TailBiased(base, 20.0, 0.7)
        lr = np.exp(t.log_ratio(t.sample(rng, 200_000)))
        assert abs(lr.mean() - 1) < 4 * lr.std() / math.sqrt(lr.size)
        # the length-biased form: E[1 / X] = 1 / E_g[X] under x g(x) / E_g[X]
        inv = 1.0 / t.length_biased(rng, 200_000)
        assert abs(inv.mean() * t.mean - 1) < 4 * inv.std() * t.mean / math.sqrt(inv.size)
    # switch attempts: failed f, successful s; ratio (p/p')^f ((1-p)/(1-p'))^s has mean 1 under p'
    from model.processes.distributions import Fixed

    p, q = 0.3, 0.8
    pol = SwitchPolicy(0, (1,), "manual", detection=Fixed(1.0), switch_time=Fixed(0.5), p_fail=q,
                       max_attempts=3)
    d, made, failed = switch_draws(pol, rng, 400_000)
    lr = (p / q) ** failed * ((1 - p) / (1 - q)) ** (made - failed)
    assert abs(lr.mean() - 1) < 4 * lr.std() / math.sqrt(lr.size)
    # and it reweights P(every attempt fails) to the real p^3
    est = lr * np.isinf(d)
    assert abs(est.mean() - p**3) < 4 * est.std() / math.sqrt(est.size)


def test_year_weights_average_to_one_with_every_mechanism_biased():
    from model.sim.timemodel import build_time_model

    tm = build_time_model(SMALL)
    run = simulate_tails(tm, 3000, seed=5, bias=_small_bias(tm), chunk_years=500, backend="serial")
    w = run.weights
    assert abs(w.mean() - 1) < 4 * w.std(ddof=1) / math.sqrt(w.size), (w.mean(), w.std())
    # the biased switch did act: its attempts fail with p' = 0.45 (the real p is 0.3)
    failed, ok = run.tally.year_stats()[:, -2].sum(), run.tally.year_stats()[:, -1].sum()
    share = failed / (failed + ok)
    assert abs(share - 0.45) < 4 * math.sqrt(0.45 * 0.55 / (failed + ok)), share


def test_every_mechanism_biased_agrees_with_a_long_crude_run_at_one_in_a_hundred():
    # paired (same seed: the unbiased events' histories coincide): the difference of the two estimates of
    # P(unreachable calls >= the crude 1-in-100 level) judged by its own paired variance
    from model.sim.timemodel import build_time_model

    tm = build_time_model(SMALL)
    years = 6000
    is_run = simulate_tails(tm, years, seed=31, bias=_small_bias(tm), chunk_years=1000, backend="serial")
    crude = simulate_tails(tm, years, seed=31, bias=FailureBias(), chunk_years=1000, backend="serial")
    level = crude.return_level("unreachable", 100)["value"]
    a = is_run.weights * (is_run.values("unreachable") >= level)
    b = (crude.values("unreachable") >= level).astype(float)
    diff = a - b
    z = diff.mean() / (diff.std(ddof=1) / math.sqrt(years))
    assert abs(z) < 4, z
    e_is, e_cr = is_run.exceedance("unreachable", level), crude.exceedance("unreachable", level)
    # and the two intervals overlap (tolerance from both)
    assert abs(e_is.value - e_cr.value) < 4 * math.hypot(e_is.std_error, e_cr.std_error)
    assert 0.004 < b.mean() < 0.03


def test_one_component_down_time_with_long_repairs_matches_the_analytic_value():
    # the repair bias (exponential repairs: above 24 h half the time) with the rate bias, stationary start
    tm = one_component()
    d = 150.0
    exact = analytic_down_time_sf(d)
    name = tm.process.names[0]
    bias = FailureBias((name,), (2.0,), repair_above=(24.0,), repair_share=(0.5,))
    run = simulate_tails(tm, 4000, seed=19, bias=bias, chunk_years=1000, backend="serial")
    est = run.exceedance("down_hours", d)
    assert abs(est.value - exact) < 4 * est.std_error, (est.value, exact, est.std_error)
    w = run.weights
    assert abs(w.mean() - 1) < 4 * w.std(ddof=1) / math.sqrt(w.size)
    # long repairs see the 1-in-a-few-thousand year far more often than the rate bias alone
    assert est.details["years_at_or_above"] > 200


def test_cross_entropy_bias_learns_the_switch_and_the_long_repairs():
    from model.sim.timemodel import build_time_model

    tm = build_time_model(SMALL)
    b = cross_entropy_bias(tm, 3, years=300, rounds=2, chunk_years=150, period=1000, events_per_year=None)
    pol = tm.switch_policies[0]
    assert b.switches == ("failover:platforms",) and b.switch_fail[0] > pol.p_fail
    assert b.long_repair_of("primary") is not None
    # the main run with it stays unbiased (weights average to one) and is on streams other than the pilot's
    run = simulate_tails(tm, 1000, seed=3, bias=b, chunk_years=500, backend="serial")
    w = run.weights
    assert abs(w.mean() - 1) < 4 * w.std(ddof=1) / math.sqrt(w.size)


# ----------------------------------------------------------------------------- the cheaper tail runs
def test_genuine_only_leaves_the_genuine_outcomes_and_the_outages_as_they_were():
    # uk999 has non-genuine callers: a tail run leaves them out (they load capacities through their rates),
    # so the outages are the same and the genuine callers' outcomes agree year by year within caller noise
    from model.sim.timemodel import build_time_model

    tm = build_time_model("uk999")
    bias = choose_bias(tm, target=0.5)
    years = 200
    a = simulate_tails(tm, years, seed=13, bias=bias, chunk_years=100, backend="serial")
    b = simulate_tails(tm, years, seed=13, bias=bias, chunk_years=100, backend="serial", genuine_only=False)
    assert np.array_equal(a.weights, b.weights)
    assert np.array_equal(a.values("down_hours"), b.values("down_hours"))
    assert a.tally.tally.column("callers_non_genuine").sum() == 0
    assert b.tally.tally.column("callers_non_genuine").sum() > 0
    for col in ("unreachable", "simulated"):
        d = a.tally.tally.column(col) - b.tally.tally.column(col)
        z = d.mean() / (d.std(ddof=1) / math.sqrt(years))
        assert abs(z) < 4, (col, z)
        assert a.tally.tally.column(col).sum() > 0


def test_biased_models_share_states_and_results_do_not_depend_on_what_ran_before():
    import dataclasses

    from model.sim.engine import share_states, state_table_for
    from model.sim.tails import _task
    from model.sim.timemodel import build_time_model

    tm = build_time_model(SMALL)
    bias = _small_bias(tm, factor=5.0)
    cold = simulate_tails(tm, 60, seed=2, bias=bias, chunk_years=30, backend="serial")
    warm_model = build_time_model(SMALL)
    simulate_tails(warm_model, 90, seed=8, bias=FailureBias(), chunk_years=30, backend="serial")  # warm
    # the biased model reads and extends the table its base model filled
    assert state_table_for(_task(warm_model, bias).model) is state_table_for(warm_model)
    warm = simulate_tails(warm_model, 60, seed=2, bias=bias, chunk_years=30, backend="serial")
    for col in ("unreachable", "worst_incident", "down_hours", "failed_attempts", "simulated"):
        assert np.array_equal(cold.tally.tally.column(col), warm.tally.tally.column(col)), col
    assert np.array_equal(cold.weights, warm.weights)
    other = dataclasses.replace(tm, horizon=tm.horizon / 2)
    with pytest.raises(ValueError, match="differ in more than"):
        share_states(other, tm)


# ----------------------------------------------------------------------------- several repair thresholds
def test_nested_tail_mixture_ratio_averages_to_one_and_matches_its_own_law():
    from model.processes.distributions import Exponential, LogNormal
    from model.processes.outages import TailBiased

    rng = np.random.default_rng(41)
    for base in (LogNormal(10.0, 10.0), Exponential(12.0)):
        t = TailBiased(base, (40.0, 20.0, 8.0), (0.3, 0.3, 0.2))
        x = t.sample(rng, 300_000)
        lr = np.exp(t.log_ratio(x))
        assert abs(lr.mean() - 1) < 4 * lr.std() / math.sqrt(lr.size)
        assert lr.max() <= 1 / t.base_share + 1e-12  # no repair weighs more than 1 / s_0
        # the ratio reweights every band to its real probability, and the biased law is what it says
        for lo, hi in ((0.0, 8.0), (8.0, 20.0), (20.0, 40.0), (40.0, np.inf)):
            band = (x >= lo) & (x < hi)
            real = float(base.sf(lo)) - (float(base.sf(hi)) if np.isfinite(hi) else 0.0)
            est = lr * band
            assert abs(est.mean() - real) < 4 * est.std() / math.sqrt(x.size) + 1e-12, (lo, hi)
            g = float(t.sf(lo)) - (float(t.sf(hi)) if np.isfinite(hi) else 0.0)
            assert abs(band.mean() - g) < 4 * math.sqrt(g * (1 - g) / x.size), (lo, hi)
        assert abs(x.mean() - t.mean) < 4 * x.std() / math.sqrt(x.size)
        inv = 1.0 / t.length_biased(rng, 300_000)  # E[1 / X] = 1 / E_g[X] under x g(x) / E_g[X]
        assert abs(inv.mean() * t.mean - 1) < 4 * inv.std() * t.mean / math.sqrt(inv.size)
    with pytest.raises(ValueError, match="decreasing"):
        TailBiased(Exponential(1.0), (1.0, 2.0), (0.3, 0.3))
    with pytest.raises(ValueError, match="sum to less than 1"):
        TailBiased(Exponential(1.0), (2.0, 1.0), (0.6, 0.4))
    one = TailBiased(Exponential(12.0), 24.0, 0.5)
    assert one == TailBiased(Exponential(12.0), (24.0,), (0.5,)) and one.above == (24.0,)


def test_one_component_down_time_with_two_repair_thresholds_matches_the_analytic_value():
    tm = one_component()
    d = 150.0
    exact = analytic_down_time_sf(d)
    bias = FailureBias((tm.process.names[0],), (2.0,), repair_above=((48.0, 24.0),),
                       repair_share=((0.3, 0.3),))
    assert bias.long_repair_of(tm.process.names[0]) == ((48.0, 24.0), (0.3, 0.3))
    run = simulate_tails(tm, 4000, seed=23, bias=bias, chunk_years=1000, backend="serial")
    est = run.exceedance("down_hours", d)
    assert abs(est.value - exact) < 4 * est.std_error, (est.value, exact, est.std_error)
    w = run.weights
    assert abs(w.mean() - 1) < 4 * w.std(ddof=1) / math.sqrt(w.size)
    assert est.details["years_at_or_above"] > 200


def test_two_repair_thresholds_agree_with_a_long_crude_run_at_one_in_a_hundred():
    from model.sim.timemodel import build_time_model

    tm = build_time_model(SMALL)
    bias = FailureBias(("primary", "ccf:platform_software"), (1.0, 2.0), repair_above=((16.0, 8.0), 0.0),
                       repair_share=((0.1, 0.15), 0.0), switches=("failover:platforms",), switch_fail=(0.45,))
    years = 6000
    is_run = simulate_tails(tm, years, seed=37, bias=bias, chunk_years=1000, backend="serial")
    crude = simulate_tails(tm, years, seed=37, bias=FailureBias(), chunk_years=1000, backend="serial")
    level = crude.return_level("unreachable", 100)["value"]
    a = is_run.weights * (is_run.values("unreachable") >= level)
    b = (crude.values("unreachable") >= level).astype(float)
    diff = a - b
    z = diff.mean() / (diff.std(ddof=1) / math.sqrt(years))
    assert abs(z) < 4, z
    w = is_run.weights
    assert abs(w.mean() - 1) < 4 * w.std(ddof=1) / math.sqrt(w.size)
    assert 0.004 < b.mean() < 0.03


def test_band_shares_pool_to_a_ratio_that_never_falls_with_the_repair():
    from model.sim.tails import _pool_decreasing

    q = np.array([0.05, 0.15, 0.3, 0.5])  # real band probabilities, top band first
    p = np.array([0.5, 0.1, 0.3, 0.1])  # ratios 10, 0.67, 1, 0.2: the middle two are pooled
    groups = _pool_decreasing(p, q)
    assert groups == [[0], [1, 2], [3]]
    r = [p[g].sum() / q[g].sum() for g in groups]
    assert all(hi > lo for hi, lo in itertools.pairwise(r))


# ----------------------------------------------------------------------------- a fixed ladder of thresholds
LADDER = (0.5, 0.75, 0.9, 0.95, 0.99)


def test_fixed_ladder_sits_at_the_real_quantiles_and_matches_the_analytic_value():
    # only the band shares are learnt: every threshold is one of the real law's ladder quantiles, the ratio
    # never falls as the repair grows, at least 10 % stays on the real law; the main run stays unbiased
    tm = one_component()
    name = tm.process.names[0]
    law = tm.process.repair[0]
    d = 150.0
    exact = analytic_down_time_sf(d)
    start = choose_bias(tm, events=[name], target=4.0, repair_quantile=0.9, repair_share=0.5)
    b = cross_entropy_bias(tm, 29, years=400, rounds=2, chunk_years=200, period=1000, statistic="down_hours",
                           initial=start, events_per_year=None, repair_ladder=LADDER, levels=())
    lr = b.long_repair_of(name)
    assert lr is not None
    hours, shares = lr
    rungs = [float(law.quantile(q)) for q in LADDER]
    assert all(any(math.isclose(h, r) for r in rungs) for h in hours)
    assert sum(shares) <= 0.9 + 1e-12
    from model.processes.outages import TailBiased

    g = TailBiased(law, hours, shares)
    x = np.sort(np.concatenate([[0.1], np.asarray(hours) + 1e-6, [500.0]]))
    assert np.all(np.diff(-g.log_ratio(x)) >= -1e-12)  # g / f never falls as the repair grows
    run = simulate_tails(tm, 4000, seed=31, bias=b, chunk_years=1000, backend="serial")
    est = run.exceedance("down_hours", d)
    assert abs(est.value - exact) < 4 * est.std_error, (est.value, exact, est.std_error)
    w = run.weights
    assert abs(w.mean() - 1) < 4 * w.std(ddof=1) / math.sqrt(w.size)
    assert est.details["years_at_or_above"] > 200


def test_pooled_long_repairs_count_the_group_as_one_event():
    # two events of one law pooled: the same shares as one event whose repairs of a year are theirs together
    # (their count summed, the longest of them)
    from model.sim.tails import _long_shares, _task
    from model.sim.timemodel import build_time_model

    tm = build_time_model(SMALL)
    task = _task(tm, FailureBias(("primary", "ccf:platform_software"), (1.0, 1.0)))
    rng = np.random.default_rng(3)
    years = 400
    S = np.zeros((years, task.n_stats))
    for k in range(2):
        n = rng.poisson(0.5, years)
        S[:, 4 * k] = S[:, 4 * k + 2] = n
        S[:, 4 * k + 3] = np.where(n > 0, rng.exponential(10.0, years), 0.0)
    W = (S[:, 3] + S[:, 7] > 12.0) * rng.uniform(0.5, 1.5, years)
    one = np.zeros((years, task.n_stats))
    one[:, 2] = S[:, 2] + S[:, 6]
    one[:, 3] = np.maximum(S[:, 3], S[:, 7])
    law = task.repair[0]
    cands = [float(law.quantile(q)) for q in LADDER]
    pooled = _long_shares(task, [0, 1], cands, [(1.0, W)], S, 0.9)
    assert pooled[0] and all(any(math.isclose(h, r) for r in cands) for h in pooled[0])
    assert _long_shares(task, 0, cands, [(1.0, W)], one, 0.9) == pooled
    # and each event alone sees fewer long repairs than the pool
    assert _long_shares(task, 0, cands, [(1.0, W)], S, 0.9) != pooled


def test_cross_entropy_with_the_ladder_and_pooling_agrees_with_crude_at_one_in_a_hundred():
    from model.sim.timemodel import build_time_model

    tm = build_time_model(SMALL)
    b = cross_entropy_bias(tm, 3, years=300, rounds=2, chunk_years=150, period=1000, events_per_year=None,
                           repair_ladder=LADDER, pool_repairs=True)
    lr = {n: b.long_repair_of(n) for n in b.events}
    assert any(v is not None for v in lr.values())
    years = 3000
    is_run = simulate_tails(tm, years, seed=41, bias=b, chunk_years=1000, backend="serial")
    crude = simulate_tails(tm, years, seed=41, bias=FailureBias(), chunk_years=1000, backend="serial")
    level = crude.return_level("unreachable", 100)["value"]
    a = is_run.weights * (is_run.values("unreachable") >= level)
    c = (crude.values("unreachable") >= level).astype(float)
    diff = a - c
    z = diff.mean() / (diff.std(ddof=1) / math.sqrt(years))
    assert abs(z) < 4, z
    w = is_run.weights
    assert abs(w.mean() - 1) < 4 * w.std(ddof=1) / math.sqrt(w.size)


def test_every_big_event_the_pilots_left_alone_gets_a_defensive_long_repair_rung_pilots_unchanged():
    """An event whose failure alone cuts >= 10 % of the calls (an originating network) and that the pilots
    gave no long repairs draws 10 % of its repairs above its 0.999 quantile; the pilots run without these
    rungs, so what they learn of every other event is the same as with the floor switched off."""
    tm = build_time_model("uk999")
    kw = dict(years=40, rounds=1, chunk_years=20, period=100)
    plain = cross_entropy_bias(tm, 5, floor_cut=None, **kw)
    b = cross_entropy_bias(tm, 5, **kw)
    assert set(plain.events) < set(b.events)
    for name, f in zip(plain.events, plain.factors, strict=True):
        assert b.factor_of(name) == f
        if plain.long_repair_of(name) is not None:
            assert b.long_repair_of(name) == plain.long_repair_of(name)
    assert plain.switch_fail == b.switch_fail
    p = tm.process
    for name in ("ee", "vmo2", "vodafone", "three", "other_fixed"):  # cut 10-24 % each
        hours, shares = b.long_repair_of(name)
        assert hours == (pytest.approx(float(p.repair[p.names.index(name)].quantile(0.999))),)
        assert shares == (0.1,) and b.factor_of(name) == 1.0
    assert "bt_fixed" not in b.events or b.long_repair_of("bt_fixed") is None  # cuts 9.6 %: below the floor
    with pytest.raises(ValueError, match="floor_share"):
        cross_entropy_bias(tm, 5, floor_share=1.0, **kw)
