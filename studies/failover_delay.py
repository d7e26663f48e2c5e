"""Failover delay and backup capacity: the levers Ofcom named, with Sobol indices and uncertainty bands.

How many genuine 999 calls a year fail because BT's call-handling platform fails, as a
function of how long traffic takes to reach the disaster-recovery (DR) platform (an
automatic switch in seconds, or the manual procedure of detection and switch attempts
in hours) and of the DR's capacity (concurrent calls and queue places: 49/50 as in
June 2023, 49/420 since, 98/1000 = the primary's)? Which uncertain inputs drive the
answer (Sobol indices, tornado), and how wide is it once they are propagated (bands)?

Writes ``failover_delay.html`` and ``failover_delay.json``.

Method (conditional design, see the report's Method section): platform outages are
rare (about one in 86 years), so simulating plain years wastes almost all the time on
years without one. Instead the time engine replays *sampled platform outages only*
(start time across the week, repair time from the scenario) and measures the calls
lost in each as a function of the failover window ``w`` at a grid of knots; any
switch policy is then integrated over its delay distribution, and the yearly figure
is ``rate of outages × expected calls lost per outage``. The rest of the network is
simulated once in plain years (it does not depend on the levers).

Run: ``python studies/failover_delay.py [--out DIR] [--quick] [--seed N] [--workers N]``
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import math
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import plotly.graph_objects as go
from scipy.stats import qmc

from model.cli.study import Study, network_diagram, run_study, running_mean_figure, study_parser
from model.metrics.sensitivity import (
    UncertainParameter,
    apply_parameters,
    propagate,
    sobol_indices,
    tornado_data,
)
from model.network.callnetwork import build_network
from model.processes.distributions import parse_distribution
from model.processes.outages import Outages, failover_windows
from model.report import (
    PALETTE,
    Report,
    band_chart,
    format_number,
    format_percent,
    nines_template,
    tornado,
)
from model.scenario.loader import Scenario, load_scenario
from model.scenario.strategies import apply_strategies, load_strategy
from model.sim.engine import run_intervals, simulate
from model.sim.timemodel import CallerParams, TimeModel, build_time_model

NAME = "failover_delay"

#: Knots of the failover window w (hours): losses per outage are measured by the engine at these
#: window lengths (and at w = repair time) and interpolated linearly between them.
SMALL_KNOTS = (0.0, 1 / 120, 1 / 30, 1 / 6, 0.5, 1.0)  # 0, 30 s, 2 min, 10 min, 30 min, 1 h
LARGE_KNOTS = (2.0, 3.0, 4.5, 6.5, 9.5, 14.0, 20.0, 30.0, 45.0, 70.0, 110.0, 170.0)
KNOTS = np.array(SMALL_KNOTS + LARGE_KNOTS)
SPLIT = 1.0  # window parts up to here are replayed whole; beyond, summed from pieces

QUICK = {
    "outages": 8,
    "delay_draws": 64,
    "sobol_n": 64,
    "bands": 64,
    "baseline_years": 30,
    "check_years": 0,
    "check_replicates": 1,
    # values the backup's concurrent calls (fractions of the primary's) and the redial probability take
    "cap_fractions": (0.25, 0.5, 1.0),
    "redial_levels": (0.5, 0.95),
    "check_point": (0.25, 0.5),  # (capacity fraction, redial) of the fourth whole-replay check
}
FULL = {
    "outages": 64,
    "delay_draws": 256,
    "sobol_n": 512,
    "bands": 512,
    "baseline_years": 800,
    "check_years": 1500,
    "check_replicates": 2,
    "cap_fractions": (0.25, 0.375, 0.5, 0.625, 0.75, 1.0),
    "redial_levels": (0.5, 0.95),
    "check_point": (0.625, 0.5),
}

#: Manual sweep: multipliers of the scenario's detection delay and switch time (means).
MANUAL_FACTORS = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0, 2.0, 4.0)
#: Automatic sweep: mean delay of an automatic switch, hours (5 s ... 1 h).
AUTO_DELAYS_H = (5 / 3600, 30 / 3600, 2 / 60, 10 / 60, 0.5, 1.0)
QUEUE_NOW = 420  # SIMWOOD_2024 (M): the DR's queue limit since June 2023


# ----------------------------------------------------------------------------- setup
@dataclass(frozen=True)
class Capacity:
    key: str
    label: str
    calls: int
    queue: int


@dataclass(frozen=True, eq=False)
class Setup:
    """Everything fixed for one run: scenario ids, levels, parameters, the outage design."""

    scenario: Scenario
    group: str
    primary: str
    backup: str
    ccf: str | None
    rate_primary: float
    rate_backup: float
    beta: float
    det_mean: float
    sw_mean: float
    p_fail: float
    max_attempts: int
    det_shape: Any  # distribution of detection delay / its mean
    sw_shape: Any
    auto_shape: Any
    repair: Any
    callers: CallerParams
    capacities: tuple[Capacity, ...]
    cap_levels: tuple[int, ...]  # the backup's concurrent calls replayed at the scenario's queue limit
    redial_levels: tuple[float, ...]
    params: tuple[UncertainParameter, ...]
    base: dict[str, float]
    tau: float  # tail after each piece, hours (caller patience)
    week: float  # period of the arrival profile, hours


def _delay_param(
    name: str, group_path: str, key: str, spec, low: float, high: float, source: str
) -> UncertainParameter:
    if spec.distribution == "lognormal":
        if spec.sd_hours is None or abs(spec.sd_hours - spec.mean_hours) > 1e-9 * spec.mean_hours:
            raise ValueError(
                f"{group_path}.{key}: the study varies a lognormal delay with sd = mean "
                f"(as in uk999, A_SWITCH); this scenario has sd {spec.sd_hours} and mean "
                f"{spec.mean_hours}"
            )
        paths = (f"{group_path}.{key}.mean_hours", f"{group_path}.{key}.sd_hours")
    elif spec.distribution == "exponential":
        paths = (f"{group_path}.{key}.mean_hours",)
    else:
        raise ValueError(
            f"{group_path}.{key}: the study varies exponential or lognormal delays, not {spec.distribution!r}"
        )
    return UncertainParameter(name, paths, low, high, "loguniform", source, "h")


def make_setup(
    scenario: Scenario,
    cap_fractions: Sequence[float] = (0.25, 0.5, 1.0),
    redial_levels: Sequence[float] = (0.5, 0.95),
) -> Setup:
    """Find the platform redundancy group and build the levels and uncertain parameters.

    The backup's concurrent calls are replayed at ``cap_fractions`` of the primary's (and
    at the scenario's own value), at the scenario's queue limit; the redial probability
    at ``redial_levels`` and the scenario's own value. These are the values the uncertain
    capacity and redial probability take (equally likely): the engine is not asked for
    values in between.
    """
    s = scenario.spec
    platforms = set(s.call_handling_platforms)
    group = next(
        (
            g
            for g, grp in s.redundancy_groups.items()
            if grp.policy == "manual" and set(grp.members) <= platforms and len(grp.members) >= 2
        ),
        None,
    )
    if group is None:
        raise ValueError(
            f"scenario {scenario.name!r}: the failover-delay study needs a redundancy group of "
            "call-handling platforms with policy 'manual' (a primary and a backup)"
        )
    grp = s.redundancy_groups[group]
    primary, backup = grp.members[0], grp.members[1]
    fp = s.call_handling_platforms[primary].failure
    fb = s.call_handling_platforms[backup].failure
    if fp is None or fp.failures_per_year is None or fp.repair is None:
        raise ValueError(f"call_handling_platforms.{primary}.failure: needs failures_per_year and repair")
    cap_b = s.call_handling_platforms[backup].capacity
    cap_p = s.call_handling_platforms[primary].capacity
    if cap_b is None or cap_b.concurrent_calls is None or cap_p is None or cap_p.concurrent_calls is None:
        raise ValueError(
            f"call_handling_platforms.{primary}/{backup}: both need a capacity with concurrent_calls"
        )
    ccf = next(
        (
            c
            for c, g in s.common_cause_groups.items()
            if g.beta is not None and {primary, backup} <= set(g.members)
        ),
        None,
    )
    beta = float(s.common_cause_groups[ccf].beta) if ccf else 0.0
    if s.callers is None:
        raise ValueError(f"scenario {scenario.name!r}: the study needs a [callers] table (redial behaviour)")
    auto = load_strategy("automatic_failover").overlay["redundancy_groups"]
    auto_spec = parse_distribution(next(iter(auto.values()))["failover_delay"], "automatic_failover")
    gpath = f"redundancy_groups.{group}"
    q0 = int(cap_b.queue_limit) if cap_b.queue_limit is not None else 0
    c0, cp = int(cap_b.concurrent_calls), int(cap_p.concurrent_calls)
    qp = int(cap_p.queue_limit) if cap_p.queue_limit is not None else 1000
    levels = tuple(sorted({max(1, round(cp * f)) for f in cap_fractions} | {c0}))
    caps = [
        Capacity("status_quo", f"{c} calls, queue {q0} (2023)", c, q0)
        if c == c0
        else Capacity(f"dr_{c}", f"{c} calls, queue {q0}", c, q0)
        for c in levels
    ]
    caps += [
        Capacity("queue_now", f"{c0} calls, queue {QUEUE_NOW} (since 2023)", c0, QUEUE_NOW),
        Capacity("full", f"{cp} calls, queue {qp} (= primary)", cp, qp),
    ]
    p0 = float(s.callers.redial_probability)
    redial = tuple(sorted({float(x) for x in redial_levels} | {p0}))
    rate = float(fp.failures_per_year)
    params = (
        _delay_param(
            "detection delay (mean)",
            gpath,
            "detection_delay",
            grp.detection_delay,
            grp.detection_delay.mean_hours / 4,
            grp.detection_delay.mean_hours * 4,
            "assumption: a factor 4 either side of the one observation (69 min on 25 Jun 2023, A_SWITCH, "
            "OFCOM_FINE); log-uniform",
        ),
        _delay_param(
            "switch attempt time (mean)",
            gpath,
            "switch_time",
            grp.switch_time,
            grp.switch_time.mean_hours / 4,
            grp.switch_time.mean_hours * 4,
            "assumption: a factor 4 either side of 38.5 min per attempt (A_SWITCH, OFCOM_FINE); log-uniform",
        ),
        UncertainParameter(
            "switch failure probability",
            f"{gpath}.switch_failure_probability",
            0.1,
            0.9,
            "uniform",
            "derived: ~ the Jeffreys 90 % interval (0.10-0.90) for 1 failed attempt "
            "in 2 (A_SWITCH, one incident)",
        ),
        UncertainParameter(
            "DR concurrent calls",
            f"call_handling_platforms.{backup}.capacity.concurrent_calls",
            levels[0],
            levels[-1],
            "discrete",
            f"assumption: equally likely levels {', '.join(map(str, levels))} from a quarter to all of the "
            f"primary's capacity; {c0} = half is itself an assumption (A_DR_CAPACITY); queue limit kept at "
            "its 2023 value (SIMWOOD_2024)",
            "calls",
            levels=levels,
        ),
        UncertainParameter(
            "platform failure rate",
            (
                f"call_handling_platforms.{primary}.failure.failures_per_year",
                f"call_handling_platforms.{backup}.failure.failures_per_year",
            ),
            0.0006,
            0.055,
            "loguniform",
            "derived: exact Poisson 90 % interval for 1 event in 86 years (PARL_2024; scenario "
            "comment at [call_handling_platforms]); log-uniform, mean 0.0120 ~ 1/86",
            "/yr",
        ),
        UncertainParameter(
            "common-cause beta",
            f"common_cause_groups.{ccf}.beta" if ccf else "x.beta",
            0.02,
            0.10,
            "uniform",
            "BETA_SIL (M): beta 2-10 % (A_BETA)",
        ),
        UncertainParameter(
            "redial probability",
            "callers.redial_probability",
            redial[0],
            redial[-1],
            "discrete",
            f"assumption: equally likely levels {', '.join(f'{x:g}' for x in redial)}; {p0:g} is an "
            "uncalibrated example (GRAPHITTI_L); no published 999 redial rate (traffic-and-capacity.md, "
            "Gaps)",
            levels=redial,
        ),
    )
    base = {
        "detection delay (mean)": float(grp.detection_delay.mean_hours),
        "switch attempt time (mean)": float(grp.switch_time.mean_hours),
        "switch failure probability": float(grp.switch_failure_probability),
        "DR concurrent calls": float(c0),
        "platform failure rate": rate,
        "common-cause beta": beta,
        "redial probability": p0,
    }
    det = parse_distribution(grp.detection_delay, f"{gpath}.detection_delay")
    sw = parse_distribution(grp.switch_time, f"{gpath}.switch_time")
    return Setup(
        scenario=scenario,
        group=group,
        primary=primary,
        backup=backup,
        ccf=ccf,
        rate_primary=rate,
        rate_backup=float(fb.failures_per_year)
        if fb is not None and fb.failures_per_year is not None
        else 0.0,
        beta=beta,
        det_mean=det.mean,
        sw_mean=sw.mean,
        p_fail=float(grp.switch_failure_probability),
        max_attempts=int(grp.max_attempts),
        det_shape=det,
        sw_shape=sw,
        auto_shape=auto_spec,
        repair=parse_distribution(fp.repair, f"call_handling_platforms.{primary}.failure.repair"),
        callers=CallerParams.from_scenario(s.callers),
        capacities=tuple(caps),
        cap_levels=levels,
        redial_levels=redial,
        params=params,
        base=base,
        tau=float(s.callers.patience_s) / 3600 * 1.0001 + 1e-6,
        week=168.0,
    )


def capacity_scenario(setup: Setup, cap: Capacity, scenario: Scenario | None = None) -> Scenario:
    """The scenario (default: the study's) with the backup's capacity set, via :func:`apply_parameters`."""
    pc = [
        UncertainParameter(
            "calls", f"call_handling_platforms.{setup.backup}.capacity.concurrent_calls", 0, 1e6
        ),
        UncertainParameter("queue", f"call_handling_platforms.{setup.backup}.capacity.queue_limit", 0, 1e6),
    ]
    return apply_parameters(scenario or setup.scenario, pc, [cap.calls, cap.queue])


# ----------------------------------------------------------------------------- outage design
@dataclass(frozen=True, eq=False)
class Design:
    start: np.ndarray  # (n,) hour of the week the primary fails
    repair: np.ndarray  # (n,) hours until it is back
    knots: list[np.ndarray]  # per outage: knots below its repair time


def outage_design(setup: Setup, n: int, seed: np.random.SeedSequence) -> Design:
    """Scrambled Sobol points over (start in the week, repair quantile)."""
    u = qmc.Sobol(d=2, scramble=True, bits=64, rng=np.random.default_rng(seed)).random(n)
    u = np.clip(u, 1e-9, 1 - 1e-9)
    start = setup.week * u[:, 0]
    repair = np.asarray(setup.repair.quantile(u[:, 1]), dtype=float)
    return Design(start, repair, [KNOTS[KNOTS < r] for r in repair])


# ----------------------------------------------------------------------------- engine pieces
# A window is one replayed stretch of time: intervals (kind, start, end) in hours after the outage
# start, where kind "total" = primary down and the failover window open (no platform serves: the
# engine's state during the switch), "dr" = primary down, traffic on the backup.
# Each window also says from which hour (after the outage start) its episode begins, which fixes when
# public advice starts, and carries the coefficient with which its calls enter the knot values.


@dataclass
class _Window:
    j: int
    intervals: tuple[tuple[str, float, float], ...]
    begin: float


def _windows(setup: Setup, design: Design) -> tuple[list[_Window], list[_Window], list[dict]]:
    """Windows of the p-only runs (no platform serving) and of the capacity runs, and how they combine.

    Returns (total_windows, capacity_windows, terms) where ``terms[j]`` maps each knot
    value (``"m<i>"`` for knot i, ``"R"`` for w = repair) to a list of
    (group, window index, sign).
    """
    tau = setup.tau
    total: list[_Window] = []
    capw: list[_Window] = []
    terms: list[dict] = []

    def add(lst: list[_Window], j: int, ivs, begin: float) -> int:
        lst.append(_Window(j, tuple(ivs), begin))
        return len(lst) - 1

    for j in range(design.start.size):
        r = float(design.repair[j])
        kn = design.knots[j]
        nk = kn.size
        ends = np.r_[kn[1:], r]
        t: dict[str, list[tuple[str, int, int]]] = {}
        # DR tails (alone) at each knot > 0 below the repair: shared by several differences
        ta_dr = {}
        for i in range(1, nk):
            e = float(kn[i])
            ta_dr[i] = add(capw, j, [("dr", e, min(e + tau, r))], e)
        # B pieces: backup serving on [w_i, e_i), tail in the same state (capped at the repair)
        bnet: list[list[tuple[str, int, int]]] = []
        for i in range(nk):
            a, e = float(kn[i]), float(ends[i])
            w = add(capw, j, [("dr", a, min(e + tau, r))], a)
            part = [("c", w, 1)]
            if e < r:
                part.append(("c", ta_dr[i + 1], -1))
            bnet.append(part)
        # total-outage pieces that persist: [0, min(SPLIT, r)), then the large knots' pieces
        piece_bounds = [(0.0, min(SPLIT, r))] + [
            (float(kn[i]), float(ends[i])) for i in range(nk) if kn[i] >= SPLIT
        ]
        ap: list[list[tuple[str, int, int]]] = []
        tat: dict[float, int] = {}  # total-outage tails alone, by the knot they start at
        for a, e in piece_bounds:
            w = add(total, j, [("total", a, min(e + tau, r))], a)
            part = [("t", w, 1)]
            if e < r:
                tat[e] = add(total, j, [("total", e, min(e + tau, r))], e)
                part.append(("t", tat[e], -1))
            ap.append(part)
        t["R"] = [x for part in ap for x in part]
        for m in range(nk):
            wm = float(kn[m])
            b = [x for part in bnet[m:] for x in part]
            if m == 0:
                t[f"m{m}"] = b
            elif wm <= SPLIT:  # the whole window part in one replay, with the switch at wm
                w = add(capw, j, [("total", 0.0, wm), ("dr", wm, min(wm + tau, r))], 0.0)
                t[f"m{m}"] = [("c", w, 1), ("c", ta_dr[m], -1), *b]
            else:
                # persist pieces up to wm; only callers of the last patience before wm can reach the
                # backup: their losses with the outage persisting (P) are replaced by those with the
                # switch at wm (S)
                n_upto = 1 + sum(1 for i in range(nk) if SPLIT <= kn[i] < wm)
                a = wm - tau
                p_w = add(total, j, [("total", a, min(wm + tau, r))], a)
                s_w = add(capw, j, [("total", a, wm), ("dr", wm, min(wm + tau, r))], a)
                t[f"m{m}"] = [x for part in ap[:n_upto] for x in part] + [
                    ("t", p_w, -1),
                    ("t", tat[wm], 1),
                    ("c", s_w, 1),
                    ("c", ta_dr[m], -1),
                    *b,
                ]
        terms.append(t)
    return total, capw, terms


def _events(model: TimeModel, setup: Setup) -> tuple[int, int]:
    return model.events.index(setup.primary), model.events.index(f"failover:{setup.group}")


def _seed_of(root: np.random.SeedSequence, *key: int) -> int:
    ss = np.random.SeedSequence(entropy=root.entropy, spawn_key=(*root.spawn_key, *key))
    return int(ss.generate_state(1, np.uint32)[0])


def run_windows(
    model: TimeModel,
    setup: Setup,
    windows: Sequence[_Window],
    design: Design,
    redial: float,
    root: np.random.SeedSequence,
    tag: int,
) -> np.ndarray:
    """Unreachable callers, failed attempts and simulated callers (3, n) of each replayed window.

    Windows are grouped by the hour their episode begins (it fixes when public advice
    starts: ``advice_delay_hours`` after the outage start); each group is one
    :func:`~model.sim.engine.run_intervals` call with its own seed.
    """
    ip, iw = _events(model, setup)
    out = np.zeros((3, len(windows)))
    advice = setup.callers.advice_delay_h
    groups: dict[float, list[int]] = {}
    for i, w in enumerate(windows):
        groups.setdefault(round(max(0.0, advice - w.begin), 9), []).append(i)
    for g, (adv, idx) in enumerate(sorted(groups.items())):
        years, ev, st, en = [], [], [], []
        for y, i in enumerate(idx):  # one step per window (a handful of intervals each)
            w = windows[i]
            s0 = float(design.start[w.j])
            ivs = [(k, a, b) for k, a, b in w.intervals if b > a]
            # the primary is down throughout; the failover window is open in the "total" parts
            years.append(y)
            ev.append(ip)
            st.append(s0 + min(a for _, a, _ in ivs))
            en.append(s0 + max(b for _, _, b in ivs))
            for kind, a, b in ivs:
                if kind == "total":
                    years.append(y)
                    ev.append(iw)
                    st.append(s0 + a)
                    en.append(s0 + b)
        horizon = float(max(en, default=1.0)) + setup.tau + 1.0
        outages = Outages(
            np.array(years, dtype=np.int64),
            np.array(ev, dtype=np.int64),
            np.array(st),
            np.array(en),
            len(idx),
            horizon,
        ).concat()
        callers = dataclasses.replace(setup.callers, redial_probability=float(redial), advice_delay_h=adv)
        tally = run_intervals(model, outages, _seed_of(root, tag, g), callers=callers)
        out[0, idx] = tally.column("unreachable")
        out[1, idx] = tally.column("failed_attempts")
        out[2, idx] = tally.column("simulated")
    return out


_MODELS: dict[str, TimeModel] = {}


def time_model(scenario: Scenario) -> TimeModel:
    """The time model of a scenario variant, built once per process (its evaluated states are kept)."""
    tm = _MODELS.get(scenario.digest)
    if tm is None:
        tm = _MODELS[scenario.digest] = build_time_model(scenario)
    return tm


def _job(args: tuple) -> list[tuple[tuple, np.ndarray]]:
    """One engine job (picklable): a scenario variant (its time model built once) and each redial level."""
    name, scenario, setup, windows, design, levels, root, tag = args
    model = time_model(scenario)
    return [((name, p), run_windows(model, setup, windows, design, p, root, tag + i)) for i, p in levels]


@dataclass(frozen=True, eq=False)
class KnotValues:
    """Calls lost per outage at the knots: ``values[(capacity key, redial)]`` is (2, n, M).

    Row 0 unreachable callers, row 1 failed attempts; column ``m`` = knot ``m`` of the
    outage (``knots[j]``); the last used column of each row is w = repair time (the whole
    outage with no platform serving), padded to width M with that value.
    """

    values: dict[tuple[str, float], np.ndarray]
    knots: np.ndarray  # (n, M) padded with +inf beyond the repair time
    n_knots: np.ndarray  # (n,) knots below the repair time (the next column is w = repair)
    calls_simulated: int
    seconds: float
    runs: int


def knot_values(setup: Setup, design: Design, seed: np.random.SeedSequence, workers: int = 1) -> KnotValues:
    """Engine replays of the pieces for every capacity level and redial level; knot values per outage."""
    t0 = time.perf_counter()
    total_w, cap_w, terms = _windows(setup, design)
    scen = {c.key: capacity_scenario(setup, c) for c in setup.capacities}
    levels = list(enumerate(setup.redial_levels))
    # one job per time model; the same seeds for every capacity: common random numbers
    jobs = [("total", scen["status_quo"], setup, total_w, design, levels, seed, 1000)]
    jobs += [(c.key, scen[c.key], setup, cap_w, design, levels, seed, 2000) for c in setup.capacities]
    results: dict[tuple, np.ndarray] = {}
    if workers > 1 and _job.__module__ == "__main__":  # worker processes re-import the script by path
        ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
        with cf.ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
            for part in pool.map(_job, jobs):
                results.update(part)
    else:
        for job in jobs:
            results.update(_job(job))
    n = design.start.size
    width = max(k.size for k in design.knots) + 1
    kn = np.full((n, width), np.inf)
    nk = np.array([k.size for k in design.knots])
    for j in range(n):
        kn[j, : nk[j]] = design.knots[j]
        kn[j, nk[j]] = design.repair[j]
    values: dict[tuple[str, float], np.ndarray] = {}
    for p in setup.redial_levels:
        tot = results[("total", p)]
        for c in setup.capacities:
            cw = results[(c.key, p)]
            v = np.zeros((2, n, width))
            for j in range(n):
                t = terms[j]

                def val(items, tot=tot, cw=cw) -> np.ndarray:
                    acc = np.zeros(2)
                    for grp, w, sign in items:
                        acc += sign * (tot[:2, w] if grp == "t" else cw[:2, w])
                    return acc

                for m in range(nk[j]):
                    v[:, j, m] = val(t[f"m{m}"])
                v[:, j, nk[j] :] = val(t["R"])[:, None]
            values[(c.key, p)] = v
    calls = int(sum(v[2].sum() for v in results.values()))
    n_runs = sum(len(levels) for _ in jobs)
    return KnotValues(values, kn, nk, calls, time.perf_counter() - t0, n_runs)


# ----------------------------------------------------------------------------- switch delays
@dataclass(frozen=True, eq=False)
class DelayDesign:
    """Fixed uniforms (common random numbers) for switch delays: unit-mean shapes and attempt outcomes."""

    det: np.ndarray  # (n_d,) detection delay / its mean
    sw: np.ndarray  # (n_d, k) attempt durations / their mean
    att: np.ndarray  # (n_d, k) uniforms deciding whether each attempt fails
    auto: np.ndarray  # (n_d,) automatic delay / its mean


def delay_design(setup: Setup, n: int, seed: np.random.SeedSequence) -> DelayDesign:
    k = setup.max_attempts
    u = qmc.Sobol(d=2 + 2 * k, scramble=True, bits=64, rng=np.random.default_rng(seed)).random(n)
    u = np.clip(u, 1e-9, 1 - 1e-9)
    det = np.asarray(setup.det_shape.quantile(u[:, 0]), float) / setup.det_mean
    auto = np.asarray(setup.auto_shape.quantile(u[:, 1]), float) / setup.auto_shape.mean
    sw = np.asarray(setup.sw_shape.quantile(u[:, 2 : 2 + k]), float) / setup.sw_mean
    return DelayDesign(det, sw, u[:, 2 + k :], auto)


def manual_delays(
    dd: DelayDesign, det_mean: np.ndarray, sw_mean: np.ndarray, p_fail: np.ndarray
) -> np.ndarray:
    """Switch delays (n_theta, n_d) of the manual policy, as
    :func:`model.processes.outages.switch_delays` draws them.

    Detection, then attempts until one succeeds (each fails with ``p_fail``); ``inf``
    when all ``max_attempts`` fail (traffic waits for the repair).
    """
    det_mean, sw_mean, p_fail = (np.asarray(x, float).reshape(-1, 1) for x in (det_mean, sw_mean, p_fail))
    fails = dd.att[None, :, :] < p_fail[:, :, None]  # (T, n_d, k)
    k = fails.shape[2]
    ok = ~fails
    first_ok = np.where(ok.any(axis=2), np.argmax(ok, axis=2), k)
    made = np.minimum(first_ok + 1, k)
    used = np.arange(k)[None, None, :] < made[:, :, None]
    total = det_mean * dd.det[None, :] + sw_mean * np.sum(np.where(used, dd.sw[None], 0.0), axis=2)
    return np.where(first_ok >= k, np.inf, total)


def window_weights(kv: KnotValues, delays: np.ndarray, batch_elems: int = 1 << 21) -> np.ndarray:
    """E over the delay draws of the linear-interpolation weights of w = min(D, repair): (T, n, M).

    ``delays`` is (T, n_d): T parameter sets × the shared delay draws. The calls lost at
    any w are then ``weights @ knot values`` (linear interpolation is linear in the
    values), for every capacity and redial level at once.
    """
    delays = np.asarray(delays, float)
    t_n, n_d = delays.shape
    n, width = kv.knots.shape
    out = np.zeros((t_n, n, width))
    step = max(1, batch_elems // max(n * n_d, 1))
    rep = kv.knots[np.arange(n), kv.n_knots]
    big = 1e7
    flat_knots = (np.minimum(kv.knots, 1e6) + big * np.arange(n)[:, None]).ravel()
    for lo_t in range(0, t_n, step):  # batches of parameter sets bound the memory
        d = delays[lo_t : lo_t + step]
        tb = d.shape[0]
        w = np.minimum(d[:, None, :], rep[None, :, None]).ravel()  # (tb, n, n_d)
        rows = np.broadcast_to(np.arange(n)[None, :, None], (tb, n, n_d)).ravel()
        pos = np.searchsorted(flat_knots, w + big * rows, side="right") - 1
        col = np.clip(pos - width * rows, 0, width - 1)
        nxt = np.minimum(col + 1, width - 1)
        a = kv.knots[rows, col]
        b = kv.knots[rows, nxt]
        span = b - a
        ok = np.isfinite(span) & (span > 0)
        frac = np.clip(np.where(ok, (w - a) / np.where(ok, span, 1.0), 0.0), 0.0, 1.0)
        base = (np.repeat(np.arange(tb), n * n_d) * n + rows) * width
        acc = np.bincount(base + col, weights=1 - frac, minlength=tb * n * width)
        acc += np.bincount(base + nxt, weights=frac, minlength=tb * n * width)
        out[lo_t : lo_t + tb] = acc.reshape(tb, n, width) / n_d
    return out


def _level_weights(levels: Sequence[float], x: np.ndarray, what: str) -> np.ndarray:
    """One-hot weights (len(x), len(levels)) of values that must be replayed levels."""
    lv = np.asarray(levels, float)
    x = np.asarray(x, float).reshape(-1)
    i = np.abs(x[:, None] - lv[None, :]).argmin(axis=1)
    if np.any(np.abs(lv[i] - x) > 1e-9 * np.maximum(1.0, np.abs(x))):
        bad = sorted(set(x[np.abs(lv[i] - x) > 1e-9 * np.maximum(1.0, np.abs(x))].tolist()))[:5]
        raise ValueError(f"{what} {bad} not among the replayed levels {lv.tolist()}")
    w = np.zeros((x.size, lv.size))
    w[np.arange(x.size), i] = 1.0
    return w


@dataclass(frozen=True, eq=False)
class Model:
    """The conditional estimator: knot values × delay weights × outage rates."""

    setup: Setup
    kv: KnotValues
    dd: DelayDesign | None

    def per_outage(
        self,
        weights: np.ndarray,
        cap_key: str | None,
        calls: np.ndarray | None,
        redial: np.ndarray,
        row: int = 0,
    ) -> np.ndarray:
        """Calls lost per primary outage for each outage of the design: (T, n).

        ``cap_key`` names a replayed capacity; None takes the backup's concurrent ``calls``
        (one of the replayed levels at the scenario's queue limit) per parameter set.
        """
        s = self.setup
        wp = _level_weights(s.redial_levels, redial, "redial probability")  # (T, P)
        if cap_key is not None:
            keys = [cap_key]
            wc = np.ones((weights.shape[0], 1))
        else:
            keys = [c.key for c in s.capacities[: len(s.cap_levels)]]
            wc = _level_weights(s.cap_levels, calls, "backup concurrent calls")
        out = np.zeros(weights.shape[:2])
        for a, ck in enumerate(keys):
            for b, p in enumerate(s.redial_levels):
                coef = wc[:, a] * wp[:, b]
                if not coef.any():
                    continue
                v = self.kv.values[(ck, p)][row]  # (n, M)
                out += coef[:, None] * np.einsum("tnm,nm->tn", weights, v)
        return out

    def full_outage(self, redial: np.ndarray, row: int = 0) -> np.ndarray:
        """Calls lost when no platform serves for the whole repair (common cause): (T, n)."""
        wp = _level_weights(self.setup.redial_levels, redial, "redial probability")
        kv = self.kv
        n = kv.knots.shape[0]
        out = np.zeros((wp.shape[0], n))
        for b, p in enumerate(self.setup.redial_levels):
            v = kv.values[("status_quo", p)][row][np.arange(n), kv.n_knots]
            out += wp[:, b : b + 1] * v[None, :]
        return out

    def per_year(
        self,
        per_outage: np.ndarray,
        full: np.ndarray,
        rate: np.ndarray,
        beta: np.ndarray,
        rate_backup: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Expected calls lost a year and its standard error over the design's outages: (T,), (T,).

        Primary-only outages at ``rate (1 - beta)``; common-cause outages of both
        platforms at ``beta × mean(rate, rate_backup)``.
        """
        rate = np.asarray(rate, float).reshape(-1, 1)
        beta = np.asarray(beta, float).reshape(-1, 1)
        rb = rate if rate_backup is None else np.asarray(rate_backup, float).reshape(-1, 1)
        g = rate * (1 - beta) * per_outage + beta * (rate + rb) / 2 * full
        n = g.shape[1]
        return g.mean(axis=1), g.std(axis=1, ddof=1) / math.sqrt(n)


# ----------------------------------------------------------------------------- study pieces
def evaluate_points(
    model: Model,
    policies: Sequence[dict[str, Any]],
    rate: float,
    rate_backup: float,
    beta: float,
    redial: float,
    p_fail: float,
    row: int = 0,
) -> list[dict[str, Any]]:
    """Base-parameter estimates (per year, per outage, with standard errors) at policy × capacity points."""
    s = model.setup
    out = []
    for pol in policies:
        if pol["policy"] == "manual":
            d = manual_delays(model.dd, [pol["det"]], [pol["sw"]], [p_fail])
        else:
            d = pol["auto"] * model.dd.auto[None, :]
        wts = window_weights(model.kv, d)
        full = model.full_outage(np.array([redial]), row)
        for c in s.capacities:
            per = model.per_outage(wts, c.key, None, np.array([redial]), row)
            y, se = model.per_year(per, full, np.array([rate]), np.array([beta]), np.array([rate_backup]))
            n = per.shape[1]
            out.append(
                {
                    **pol,
                    "capacity": c.key,
                    "per_year": float(y[0]),
                    "per_year_se": float(se[0]),
                    "per_outage": float(per.mean()),
                    "per_outage_se": float(per.std(ddof=1) / math.sqrt(n)),
                }
            )
    return out


def direct_check(
    setup: Setup,
    model: Model,
    design: Design,
    scenario: Scenario,
    cap_key: str,
    label: str,
    root: np.random.SeedSequence,
    tag: int,
    predicted_policy: dict[str, Any],
    replicates: int = 1,
    calls: float | None = None,
    redial: float | None = None,
) -> dict[str, Any]:
    """Replay the design's outages whole, with switch delays drawn by the engine; compare with the estimator.

    Each outage is replayed ``replicates`` times (independent delays and calls); the
    comparison is paired by outage. ``cap_key`` names a replayed capacity, or is None to
    take the backup's concurrent ``calls`` (a replayed level); ``redial`` defaults to the
    scenario's (the replayed ``scenario`` must match both).
    """
    tm = time_model(scenario)
    ip, _ = _events(tm, setup)
    n = design.start.size
    k = n * replicates
    rng = np.random.default_rng(
        np.random.SeedSequence(entropy=root.entropy, spawn_key=(*root.spawn_key, tag))
    )
    st = np.tile(design.start, replicates)
    prim = Outages(
        np.arange(k),
        np.full(k, ip),
        st,
        st + np.tile(design.repair, replicates),
        k,
        float((design.start + design.repair).max()) + setup.tau + 1.0,
    )
    out = prim.concat(failover_windows(prim, tm.switch_policies, rng))
    tally = run_intervals(tm, out, _seed_of(root, tag, 1))
    direct = tally.column("unreachable").reshape(replicates, n).mean(axis=0)
    if predicted_policy["policy"] == "manual":
        d = manual_delays(model.dd, [predicted_policy["det"]], [predicted_policy["sw"]], [setup.p_fail])
    else:
        d = predicted_policy["auto"] * model.dd.auto[None, :]
    p = setup.callers.redial_probability if redial is None else redial
    c = None if calls is None else np.array([calls])
    pred = model.per_outage(window_weights(model.kv, d), cap_key, c, np.array([p]))[0]
    diff = direct - pred
    se = float(diff.std(ddof=1) / math.sqrt(n))
    z = float(diff.mean() / se) if se > 0 else 0.0
    return {
        "check": label,
        "capacity": cap_key if cap_key is not None else f"{calls:g} calls",
        "redial_probability": p,
        "direct_per_outage": float(direct.mean()),
        "direct_se": float(direct.std(ddof=1) / math.sqrt(n)),
        "estimator_per_outage": float(pred.mean()),
        "paired_difference": float(diff.mean()),
        "difference_se": se,
        "z": z,
        "outages": n,
        "replicates": replicates,
    }


def heatmap_figure(x_labels: Sequence[str], y_labels: Sequence[str], z: np.ndarray, title: str) -> go.Figure:
    """Expected failed calls a year over delay settings × backup capacities (log colour scale)."""
    import html

    zz = np.asarray(z, float)
    logz = np.log10(np.maximum(zz, 1e-3))
    text = [[format_number(v, 3) for v in row] for row in zz]
    xl = [html.escape(str(v)) for v in x_labels]
    yl = [html.escape(str(v)) for v in y_labels]
    decades = np.arange(math.floor(logz.min()), math.ceil(logz.max()) + 1)
    ticks = np.log10(np.outer(10.0**decades, [1, 2, 5]).ravel())
    ticks = ticks[(ticks >= logz.min() - 1e-9) & (ticks <= logz.max() + 1e-9)]
    if ticks.size < 2:
        ticks = np.array([logz.min(), logz.max()])
    fig = go.Figure(
        go.Heatmap(
            x=xl,
            y=yl,
            z=logz,
            text=text,
            texttemplate="%{text}",
            colorscale="YlOrRd",
            hovertemplate="%{y}<br>%{x}<br>%{text} failed calls a year<extra></extra>",
            colorbar={
                "title": {"text": "failed calls/yr"},
                "tickvals": ticks.tolist(),
                "ticktext": [format_number(10.0**t, 3) for t in ticks],
            },
        )
    )
    fig.update_layout(
        template=nines_template(),
        title={"text": html.escape(title)},
        height=430,
        xaxis={"title": {"text": "failover: policy and mean delay"}, "type": "category"},
        yaxis={"title": {"text": "backup (DR) capacity"}, "type": "category", "autorange": "reversed"},
        margin={"t": 60, "l": 230},
    )
    return fig


def sobol_figure(rows: Sequence[dict[str, Any]], title: str) -> go.Figure:
    """Grouped horizontal bars: first-order and total Sobol indices with their bootstrap intervals."""
    import html

    names = [html.escape(r["parameter"]) for r in rows]
    traces = []
    for key, ci, label, colour in (
        ("first_order", "first_ci", "first-order", PALETTE[0]),
        ("total_order", "total_ci", "total", PALETTE[1]),
    ):
        v = np.array([r[key] for r in rows])
        lo = np.array([r[ci][0] for r in rows])
        hi = np.array([r[ci][1] for r in rows])
        traces.append(
            go.Bar(
                x=v,
                y=names,
                orientation="h",
                name=label,
                marker={"color": colour},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": np.maximum(hi - v, 0),
                    "arrayminus": np.maximum(v - lo, 0),
                    "color": "#334155",
                    "thickness": 1.2,
                    "width": 3,
                },
                hovertemplate="%{y}<br>" + label + " index %{x:.3f}<extra></extra>",
            )
        )
    fig = go.Figure(traces)
    fig.update_layout(
        template=nines_template(),
        title={"text": html.escape(title)},
        barmode="group",
        height=int(70 + 48 * len(rows)),
        xaxis={"title": {"text": "Sobol index (share of variance)"}},
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "bgcolor": "rgba(0,0,0,0)"},
        margin={"t": 90, "l": 200},
    )
    return fig


def _fmt_delay(h: float) -> str:
    if h < 1 / 60:
        return f"{h * 3600:.0f} s"
    if h < 1:
        return f"{h * 60:.0f} min"
    return f"{h:.3g} h"


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = study_parser(NAME, __doc__.splitlines()[0])
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes for the engine replays when run as a script (default: 2, or 1 on a single "
        "core); results do not depend on it",
    )
    args = parser.parse_args(argv)
    study = Study(NAME, args)
    cfg = QUICK if args.quick else FULL
    workers = args.workers if args.workers is not None else min(2, os.cpu_count() or 1)
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    scenario = load_scenario(args.scenario)
    setup = make_setup(scenario, cfg["cap_fractions"], cfg["redial_levels"])
    root = np.random.SeedSequence(args.seed)
    ss_design, ss_delay, ss_engine, ss_sobol, ss_band, ss_check, ss_base = root.spawn(7)
    timings: dict[str, float] = {}

    # 1. engine replays of sampled platform outages at the knots (all capacity and redial levels)
    t0 = time.perf_counter()
    design = outage_design(setup, cfg["outages"], ss_design)
    kv = knot_values(setup, design, ss_engine, workers=workers)
    dd = delay_design(setup, cfg["delay_draws"], ss_delay)
    model = Model(setup, kv, dd)
    timings["engine_replays"] = time.perf_counter() - t0

    # 2. the rest of the network (independent of the levers): plain simulated years without platform failures
    t0 = time.perf_counter()
    rate_par = setup.params[4]
    no_platform = apply_parameters(scenario, [rate_par], [0.0])
    base_res = simulate(
        no_platform,
        years=cfg["baseline_years"],
        seed=_seed_of(ss_base, 0),
        chunk_years=max(10, cfg["baseline_years"] // 4),
    )
    base_sim = base_res.to_dict()
    genuine = float(base_sim["genuine_calls_per_year"])
    baseline = {**base_sim["failed_calls_per_year"], "yearly": base_res.tally.column("unreachable").tolist()}
    timings["baseline_years"] = time.perf_counter() - t0

    # 3. curves at the base parameters: manual sweep (detection and switch time scaled together) and automatic
    b = setup.base
    manual = [
        {
            "policy": "manual",
            "factor": f,
            "det": b["detection delay (mean)"] * f,
            "sw": b["switch attempt time (mean)"] * f,
            "delay_h": (b["detection delay (mean)"] + b["switch attempt time (mean)"]) * f,
        }
        for f in MANUAL_FACTORS
    ]
    auto = [{"policy": "automatic", "auto": h, "delay_h": h} for h in AUTO_DELAYS_H]
    policies = auto + manual
    rate0, beta0, p0, pf0 = (
        b["platform failure rate"],
        b["common-cause beta"],
        b["redial probability"],
        b["switch failure probability"],
    )
    points = evaluate_points(model, policies, rate0, setup.rate_backup, beta0, p0, pf0)
    attempts = evaluate_points(model, policies, rate0, setup.rate_backup, beta0, p0, pf0, row=1)
    for pt, at in zip(points, attempts, strict=True):
        pt["attempts_per_year"] = at["per_year"]
        pt["attempts_per_year_se"] = at["per_year_se"]

    # 4. bands: the other uncertain inputs propagated (two-level Monte Carlo) at every curve point
    t0 = time.perf_counter()
    band_params = [setup.params[i] for i in (2, 4, 5, 6)]  # switch failure p, rate, beta, redial
    curve_caps = ("status_quo", "queue_now", "full")

    def band_func(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pf, rate, beta, redial = x
        vals, ses = [], []
        full = model.full_outage(redial)
        for pol in policies:
            if pol["policy"] == "manual":
                d = manual_delays(dd, np.full(pf.size, pol["det"]), np.full(pf.size, pol["sw"]), pf)
            else:
                d = np.repeat(pol["auto"] * dd.auto[None, :], pf.size, axis=0)
            wts = window_weights(kv, d)
            for ck in curve_caps:
                per = model.per_outage(wts, ck, None, redial)
                y, se = model.per_year(per, full, rate, beta)
                vals.append(y)
                ses.append(se)
        return np.array(vals), np.array(ses)

    band_names = [f"{p['policy']}:{p['delay_h']:.6g}:{c}" for p in policies for c in curve_caps]
    prop = propagate(band_func, band_params, cfg["bands"], ss_band, output_names=band_names)
    timings["bands"] = time.perf_counter() - t0

    # 5. Sobol indices and tornado over all seven uncertain inputs (status quo policy shape, 2023 queue)
    t0 = time.perf_counter()

    def sobol_func(x: np.ndarray) -> np.ndarray:
        det, sw, pf, calls, rate, beta, redial = x
        out_y, out_o = np.zeros(det.size), np.zeros(det.size)
        for lo in range(0, det.size, 256):  # batches bound the memory of the weights
            sl = slice(lo, lo + 256)
            wts = window_weights(kv, manual_delays(dd, det[sl], sw[sl], pf[sl]))
            per = model.per_outage(wts, None, calls[sl], redial[sl])
            y, _ = model.per_year(per, model.full_outage(redial[sl]), rate[sl], beta[sl])
            out_y[sl] = y
            out_o[sl] = per.mean(axis=1)
        return np.stack([out_y, out_o])

    sob = sobol_indices(
        sobol_func,
        setup.params,
        cfg["sobol_n"],
        ss_sobol,
        output_names=["failed calls per year (platform outages)", "failed calls per primary-platform outage"],
    )

    def tornado_func(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        det, sw, pf, calls, rate, beta, redial = x
        wts = window_weights(kv, manual_delays(dd, det, sw, pf))
        per = model.per_outage(wts, None, calls, redial)
        return model.per_year(per, model.full_outage(redial), rate, beta)

    torn = tornado_data(tornado_func, setup.params, b)
    timings["sobol_and_tornado"] = time.perf_counter() - t0

    # 6. checks: direct engine replays with the engine's own switch delays vs the estimator (paired)
    t0 = time.perf_counter()
    sq_pol = next(p for p in manual if p["factor"] == 1.0)
    auto_pol = {"policy": "automatic", "auto": setup.auto_shape.mean, "delay_h": setup.auto_shape.mean}
    auto_scen = apply_strategies(scenario, [load_strategy("automatic_failover")])
    cap = {c.key: c for c in setup.capacities}
    frac, check_redial = cfg["check_point"]
    check_calls = max(1, round(setup.cap_levels[-1] * frac))
    check_runs = [
        (
            "manual switch, 49/50 (status quo)",
            capacity_scenario(setup, cap["status_quo"]),
            "status_quo",
            sq_pol,
            None,
            None,
        ),
        (
            "automatic failover, 49/50",
            capacity_scenario(setup, cap["status_quo"], auto_scen),
            "status_quo",
            auto_pol,
            None,
            None,
        ),
        ("manual switch, full capacity", capacity_scenario(setup, cap["full"]), "full", sq_pol, None, None),
        # another replayed level of the capacity and the redial probability (the Sobol and band inputs)
        (
            f"manual switch, {check_calls} calls/queue {cap['status_quo'].queue}, redial {check_redial:g}",
            apply_parameters(scenario, [setup.params[3], setup.params[6]], [check_calls, check_redial]),
            None,
            sq_pol,
            check_calls,
            check_redial,
        ),
    ]
    checks = [
        direct_check(
            setup,
            model,
            design,
            scen,
            key,
            label,
            ss_check,
            i + 1,
            pol,
            cfg["check_replicates"],
            calls=calls,
            redial=redial,
        )
        for i, (label, scen, key, pol, calls, redial) in enumerate(check_runs)
    ]
    plain = None
    if cfg["check_years"]:
        res = simulate(
            scenario, years=cfg["check_years"], seed=_seed_of(ss_check, 9), chunk_years=250
        ).to_dict()
        plain = {
            "years": cfg["check_years"],
            "failed_calls_per_year": res["failed_calls_per_year"],
            "seconds": res["seconds"],
        }
    timings["checks"] = time.perf_counter() - t0

    results = assemble(
        setup,
        cfg,
        design,
        kv,
        points,
        prop,
        band_names,
        sob,
        torn,
        checks,
        baseline,
        base_sim,
        genuine,
        plain,
        policies,
        timings,
    )
    prov = study.provenance(
        scenario,
        method="conditional replays of platform outages (time engine) + plain "
        "years for the rest of the network",
        workers=workers,
    )
    results["provenance"] = prov
    rep = build_report(setup, results, design, kv, prov)
    results["compliance"] = study.compliance(rep, scenario)
    html_path, json_path = study.write(rep, results)
    sq = results["key_numbers"]
    print(f"wrote {html_path} and {json_path}")
    print(
        f"status quo: {sq['status_quo_platform_failed_calls_per_year']['estimate']:.1f} failed calls a year "
        f"from platform outages; automatic failover "
        f"{sq['automatic_platform_failed_calls_per_year']['estimate']:.1f}; "
        f"runtime {prov['runtime_seconds']:.1f} s"
    )
    return 0


def _est(value: float, se: float) -> dict[str, float]:
    return {
        "estimate": value,
        "std_error": se,
        "ci_low": max(0.0, value - 1.96 * se),
        "ci_high": value + 1.96 * se,
    }


def assemble(
    setup,
    cfg,
    design,
    kv,
    points,
    prop,
    band_names,
    sob,
    torn,
    checks,
    baseline,
    base_sim,
    genuine,
    plain,
    policies,
    timings,
) -> dict[str, Any]:
    """The JSON document."""
    cap_label = {c.key: c.label for c in setup.capacities}
    base_rate = base_sim["unreachable_call_rate"]
    grid = []
    band_of = {name: prop.band(k) for k, name in enumerate(band_names)}
    for pt in points:
        y, se = pt["per_year"], pt["per_year_se"]
        key = f"{pt['policy']}:{pt['delay_h']:.6g}:{pt['capacity']}"
        row = {
            "policy": pt["policy"],
            "delay_hours": pt["delay_h"],
            "capacity": pt["capacity"],
            "capacity_label": cap_label[pt["capacity"]],
            "detection_mean_hours": pt.get("det"),
            "switch_time_mean_hours": pt.get("sw"),
            "automatic_delay_mean_hours": pt.get("auto"),
            "platform_failed_calls_per_year": _est(y, se),
            "platform_failed_attempts_per_year": _est(pt["attempts_per_year"], pt["attempts_per_year_se"]),
            "platform_unreachable_call_rate": _est(y / genuine, se / genuine),
            "failed_calls_per_platform_outage": _est(pt["per_outage"], pt["per_outage_se"]),
            "total_unreachable_call_rate": _est(
                (y + baseline["mean"]) / genuine, math.hypot(se, baseline["std_error"]) / genuine
            ),
            "total_failed_calls_per_year": _est(y + baseline["mean"], math.hypot(se, baseline["std_error"])),
        }
        if key in band_of:
            row["band_platform_failed_calls_per_year"] = band_of[key]
        grid.append(row)

    def pick(policy: str, delay: float, cap: str) -> dict:
        return next(
            r
            for r in grid
            if r["policy"] == policy and abs(r["delay_hours"] - delay) < 1e-9 and r["capacity"] == cap
        )

    b = setup.base
    sq_delay = b["detection delay (mean)"] + b["switch attempt time (mean)"]
    sq = pick("manual", sq_delay, "status_quo")
    au = pick("automatic", 30 / 3600, "status_quo")
    fu = pick("manual", sq_delay, "full")
    st_names = sob.outputs
    top = sob.rows(0)[0]
    return {
        "scenario": setup.scenario.name,
        "quick": cfg is QUICK,
        "settings": dict(cfg),
        "key_numbers": {
            "status_quo_platform_failed_calls_per_year": sq["platform_failed_calls_per_year"],
            "status_quo_total_unreachable_call_rate": sq["total_unreachable_call_rate"],
            "automatic_platform_failed_calls_per_year": au["platform_failed_calls_per_year"],
            "full_capacity_platform_failed_calls_per_year": fu["platform_failed_calls_per_year"],
            "status_quo_failed_calls_per_platform_outage": sq["failed_calls_per_platform_outage"],
            "top_sobol_parameter": {
                "parameter": top["parameter"],
                "total_order": top["total_order"],
                "total_ci": top["total_ci"],
            },
        },
        "grid": grid,
        "capacities": [dataclasses.asdict(c) for c in setup.capacities],
        "baseline_rest_of_network": {
            "failed_calls_per_year": baseline,
            "unreachable_call_rate": base_rate,
            "years": base_sim["years"],
            "genuine_calls_per_year": genuine,
            "method": "plain simulated years of the scenario with both platforms made failure-free",
        },
        "uncertain_parameters": [p.to_dict() | {"base": b[p.name]} for p in setup.params],
        "sobol": sob.to_dict() | {"output_names": list(st_names)},
        "tornado": torn.to_dict() | {"output": "failed calls per year (platform outages)"},
        "bands": prop.to_dict(),
        "checks": {"direct_replays": checks, "plain_years": plain},
        "per_outage_curves": _per_outage_curves(setup, kv),
        "engine": {
            "outages": int(design.start.size),
            "runs": kv.runs,
            "seconds": round(kv.seconds, 3),
            "knots_hours": KNOTS.tolist(),
            "delay_draws": int(cfg["delay_draws"]),
            "redial_levels": list(setup.redial_levels),
            "capacity_levels": list(setup.cap_levels),
        },
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
        "policies": policies,
    }


def _per_outage_curves(setup: Setup, kv: KnotValues) -> dict[str, Any]:
    """Mean calls lost per primary outage for a fixed window w (no delay distribution), with CIs."""
    ws = np.array([0.0, 1 / 120, 1 / 30, 1 / 6, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0])
    d = np.repeat(ws[:, None], 4, axis=1)  # a fixed window: every delay draw equal
    wts = window_weights(kv, d)
    p0 = np.full(ws.size, setup.callers.redial_probability)
    out = {"window_hours": ws.tolist()}
    m = Model(setup, kv, None)  # delay design not needed for fixed windows
    for c in setup.capacities:
        per = m.per_outage(wts, c.key, None, p0)
        n = per.shape[1]
        mean = per.mean(axis=1)
        se = per.std(axis=1, ddof=1) / math.sqrt(n)
        out[c.key] = {
            "mean": mean.tolist(),
            "ci_low": np.maximum(mean - 1.96 * se, 0).tolist(),
            "ci_high": (mean + 1.96 * se).tolist(),
        }
    return out


def build_report(setup: Setup, res: dict[str, Any], design: Design, kv: KnotValues, prov: dict) -> Report:
    s = setup.scenario
    kn = res["key_numbers"]
    grid = res["grid"]
    rep = Report(
        f"Failover delay and backup capacity — {s.label}",
        subtitle="Calls lost to call-handling platform outages against the time to fail over and the "
        "backup's capacity, with Sobol indices and uncertainty bands",
    )

    def est_card(key, label, e, note="", fmt=format_number):
        rep.key_number(key, label, e["estimate"], ci=(e["ci_low"], e["ci_high"]), note=note, fmt=fmt)

    est_card(
        "status_quo",
        "Failed calls a year from platform outages (2023 set-up)",
        kn["status_quo_platform_failed_calls_per_year"],
        note="manual switch as on 25 Jun 2023; backup 49 calls, queue 50; 95% CI (Monte Carlo)",
    )
    est_card(
        "automatic",
        "… with automatic failover (mean 30 s)",
        kn["automatic_platform_failed_calls_per_year"],
        note="same backup capacity",
    )
    est_card(
        "full_capacity",
        "… with a full-capacity backup (manual switch)",
        kn["full_capacity_platform_failed_calls_per_year"],
        note="backup = primary: 98 calls, queue 1000",
    )
    est_card(
        "per_outage",
        "Failed calls per primary-platform outage (2023 set-up)",
        kn["status_quo_failed_calls_per_platform_outage"],
    )
    est_card(
        "total_rate",
        "Unreachable-call rate, whole network (2023 set-up)",
        kn["status_quo_total_unreachable_call_rate"],
        fmt=lambda v: format_percent(v, 3),
        note="platform outages + every other component",
    )
    top = kn["top_sobol_parameter"]
    rep.key_number(
        "top_driver",
        f"Largest Sobol total index: {top['parameter']}",
        f"{top['total_order']:.2f}",
        ci=f"95% CI {top['total_ci'][0]:.2f}–{top['total_ci'][1]:.2f}",
        note="share of the variance of failed calls a year it accounts for, interactions included",
    )

    caps = {c.key: c.label for c in setup.capacities}
    curve_caps = ("status_quo", "queue_now", "full")

    def curves(policy: str):
        rows = [r for r in grid if r["policy"] == policy]
        xs = sorted({r["delay_hours"] for r in rows})
        med, lo, hi, names = [], [], [], []
        for ck in curve_caps:
            by = {r["delay_hours"]: r for r in rows if r["capacity"] == ck}
            bands = [by[x]["band_platform_failed_calls_per_year"] for x in xs]
            med.append([bd["median"] for bd in bands])
            lo.append([bd["p05"] for bd in bands])
            hi.append([bd["p95"] for bd in bands])
            names.append(caps[ck])
        return np.array(xs), np.array(med), np.array(lo), np.array(hi), names

    rep.section(
        "Failed calls a year against the failover delay",
        "Lines: median over the uncertain inputs that are not on the axes (platform failure rate, "
        "common-cause beta, redial probability and, for the manual switch, the chance a switch attempt "
        "fails); shaded: 5th–95th percentile. The platform failure rate alone spans two orders of "
        "magnitude (one event in 86 years), hence the log scale.",
    )
    x, med, lo, hi, names = curves("manual")
    rep.figure(
        band_chart(
            x,
            med,
            lo,
            hi,
            names=names,
            band_label="90% band",
            log_x=True,
            log_y=True,
            x_title="manual switch: mean detection + one attempt (hours)",
            y_title="failed calls a year (platform outages)",
            title="Manual switch: detection delay and attempt time scaled together",
        ),
        caption="x = 1.79 h is 25 June 2023 (69 min detection, 38.5 min per attempt, half the attempts "
        "fail, at most 3 attempts).",
    )
    x, med, lo, hi, names = curves("automatic")
    rep.figure(
        band_chart(
            x * 3600,
            med,
            lo,
            hi,
            names=names,
            band_label="90% band",
            log_x=True,
            log_y=True,
            x_title="automatic switch: mean delay (seconds)",
            y_title="failed calls a year (platform outages)",
            title="Automatic failover: delay of the switch",
        ),
        caption="An automatic switch never fails here (the automatic_failover strategy); what remains is "
        "the backup's capacity.",
    )
    b = setup.base
    sq_delay = b["detection delay (mean)"] + b["switch attempt time (mean)"]
    sq_row = next(
        r
        for r in grid
        if r["policy"] == "manual"
        and abs(r["delay_hours"] - sq_delay) < 1e-9
        and r["capacity"] == "status_quo"
    )
    bd = sq_row["band_platform_failed_calls_per_year"]
    point = sq_row["platform_failed_calls_per_year"]["estimate"]
    rate_p = setup.params[4]
    rep.paragraph(
        f"At the 2023 set-up the band runs from {format_number(bd['p05'])} to {format_number(bd['p95'])} "
        f"failed calls a year (median {format_number(bd['median'])}; at the scenario's own values "
        f"{format_number(point)}: the log-uniform failure rate has median {rate_p.median:.2g}/yr, below "
        f"the point value {setup.rate_primary:.3g}). Monte Carlo noise of the conditional estimate is "
        f"{100 * bd['share_noise']:.1f}% of the band's variance; the rest is parameter uncertainty (the "
        "same sampled outages serve every parameter draw, so that error shifts the band rather than "
        "widening it)."
    )

    # heat map at base parameters: delay settings x all capacity levels
    pols = [p for p in res["policies"]]
    xl = [f"{'auto' if p['policy'] == 'automatic' else 'manual'} {_fmt_delay(p['delay_h'])}" for p in pols]
    yl = [c.label for c in setup.capacities]
    z = np.array(
        [
            [
                next(
                    r
                    for r in grid
                    if r["policy"] == p["policy"]
                    and abs(r["delay_hours"] - p["delay_h"]) < 1e-9
                    and r["capacity"] == c.key
                )["platform_failed_calls_per_year"]["estimate"]
                for p in pols
            ]
            for c in setup.capacities
        ]
    )
    rep.section(
        "Delay × capacity",
        "Expected failed calls a year from platform outages at the scenario's "
        "parameter values, for every failover setting and backup capacity.",
    )
    rep.figure(
        heatmap_figure(xl, yl, z, "Failed calls a year: failover delay × backup capacity"),
        caption="Manual settings scale the 2023 detection delay and attempt time together; the delay "
        "shown is their sum.",
    )
    curves_po = res["per_outage_curves"]
    ws = np.array(curves_po["window_hours"])
    wpos = np.maximum(ws, 1 / 3600)
    rep.figure(
        band_chart(
            wpos * 60,
            [curves_po[c]["mean"] for c in curve_caps],
            [curves_po[c]["ci_low"] for c in curve_caps],
            [curves_po[c]["ci_high"] for c in curve_caps],
            names=[caps[c] for c in curve_caps],
            band_label="95% CI",
            log_x=True,
            x_title="failover window: minutes with no platform serving (0 shown at 1 s)",
            y_title="failed calls per primary outage",
            title="Calls lost in one primary-platform outage, by failover window",
        ),
        caption="The engine's direct output: mean over the sampled outages (start time across the week, "
        "repair time from the scenario), with its Monte Carlo 95% CI.",
    )

    sob = res["sobol"]
    out0, out1 = sob["output_names"]
    rep.section(
        "What drives the uncertainty: Sobol indices",
        f"Variance-based indices over the seven uncertain inputs ({sob['n']} base samples, "
        f"{sob['evaluations']:,} evaluations of the conditional estimator; 95% bootstrap intervals). "
        "First-order: the share of the output's variance explained by the input alone; total: including "
        "its interactions.",
    )
    rep.figure(
        sobol_figure(sob["outputs"][out0]["indices"], f"Sobol indices: {out0}"),
        caption="Manual switch; the DR's queue limit kept at 50.",
    )
    rep.figure(
        sobol_figure(sob["outputs"][out1]["indices"], f"Sobol indices: {out1}"),
        caption="Given an outage, the failure rate and beta cannot matter (their indices are exactly 0: a "
        "check); this ranks the levers.",
    )
    t = res["tornado"]
    rows = t["rows"]
    rep.section("Tornado: one input at a time")
    rep.figure(
        tornado(
            [r["name"] for r in rows],
            [r["output_low"] for r in rows],
            [r["output_high"] for r in rows],
            t["base_output"],
            x_title="failed calls a year (platform outages)",
            title="Each input at the ends of its range, the others at the scenario's values",
        ),
        caption="Base: the scenario's values (2023 set-up).",
    )
    rep.table(
        [
            {
                "parameter": r["name"],
                "low": r["low"],
                "high": r["high"],
                "output at low": r["output_low"],
                "output at high": r["output_high"],
                "swing": r["swing"],
            }
            for r in rows
        ],
        caption="Tornado data (failed calls a year from platform outages).",
    )

    rep.section("Grid results")
    table_rows = []
    for r in grid:
        if r["capacity"] not in curve_caps:
            continue
        e = r["platform_failed_calls_per_year"]
        bd = r.get("band_platform_failed_calls_per_year")
        table_rows.append(
            {
                "policy": r["policy"],
                "mean delay": _fmt_delay(r["delay_hours"]),
                "backup": r["capacity_label"],
                "failed calls/yr": e["estimate"],
                "95% CI": f"{format_number(e['ci_low'])}–{format_number(e['ci_high'])}",
                "band p05–p95": f"{format_number(bd['p05'])}–{format_number(bd['p95'])}" if bd else "—",
                "per outage": r["failed_calls_per_platform_outage"]["estimate"],
                "total rate": r["total_unreachable_call_rate"]["estimate"],
            }
        )
    rep.table(
        table_rows,
        formats={"failed calls/yr": ".4g", "per outage": ",.0f", "total rate": ".3e"},
        caption="Platform-related failed calls a year (CI: Monte Carlo at the scenario's values; band: "
        "5th–95th percentile over uncertain inputs), calls lost per primary outage, and the whole "
        "network's unreachable-call rate (adds the rest of the network). The other backup capacities are "
        "in the heat map and the JSON.",
    )

    rep.section("Checks")
    ch = res["checks"]
    rep.table(
        [
            {
                "check": c["check"],
                "direct replays": c["direct_per_outage"],
                "estimator": c["estimator_per_outage"],
                "difference": c["paired_difference"],
                "SE": c["difference_se"],
                "z": c["z"],
            }
            for c in ch["direct_replays"]
        ],
        formats={
            "direct replays": ",.1f",
            "estimator": ",.1f",
            "difference": ",.1f",
            "SE": ",.1f",
            "z": ".2f",
        },
        caption="Calls lost per primary outage: the same sampled outages replayed whole by the engine, with "
        "switch delays drawn by the engine itself, against the conditional estimator (knots, "
        "interpolation in w, delay integration). Paired difference and its z-score.",
    )
    base = res["baseline_rest_of_network"]
    text = (
        f"Rest of the network (every component except the two platforms), {base['years']} plain simulated "
        f"years: {base['failed_calls_per_year']['mean']:.0f} failed calls a year "
        f"(95% CI {base['failed_calls_per_year']['ci_low']:.0f}–"
        f"{base['failed_calls_per_year']['ci_high']:.0f})."
    )
    if ch["plain_years"]:
        pl = ch["plain_years"]
        f = pl["failed_calls_per_year"]
        pred = (
            base["failed_calls_per_year"]["mean"]
            + kn["status_quo_platform_failed_calls_per_year"]["estimate"]
        )
        text += (
            f" Plain simulation of the whole scenario, {pl['years']} years ({pl['seconds']:.0f} s): "
            f"{f['mean']:.0f} failed calls a year (95% CI {f['ci_low']:.0f}–{f['ci_high']:.0f}) against "
            f"{pred:.0f} = rest of network + the conditional estimate; its platform part rests on about "
            f"{pl['years'] * setup.rate_primary:.0f} platform outages, so it is far less precise than the "
            "conditional estimate."
        )
    rep.paragraph(text)

    rep.section("Method", "")
    rep.paragraph(
        METHOD_TEXT.format(
            n=design.start.size,
            knots=", ".join(_fmt_delay(k) for k in KNOTS),
            runs=kv.runs,
            secs=kv.seconds,
            draws=res["engine"]["delay_draws"],
        )
    )
    rep.paragraph(LIMITS_TEXT, note=True)
    rows_a = [
        (
            p["name"],
            f"{p['low']:g} – {p['high']:g} {p['unit']} ({p['distribution']}); base {p['base']:g}",
            p["source"],
        )
        for p in res["uncertain_parameters"]
    ]
    g = s.redundancy_groups[setup.group]
    rows_a += [
        (
            "Platform repair time",
            f"{setup.repair!r}",
            s.call_handling_platforms[setup.primary].failure.source,
        ),
        ("Switch attempts before waiting for repair", str(g.max_attempts), g.source),
        (
            "Automatic failover delay",
            f"{setup.auto_shape!r}",
            "automatic_failover strategy: traffic-and-capacity.md s.4 (H) VRRP 3-4 s to SIP Timer B 32 s",
        ),
        ("Backup queue limit since 2023", str(QUEUE_NOW), "SIMWOOD_2024 (M)"),
        (
            "Caller patience / redial delay / attempts",
            f"{s.callers.patience_s:g} s / {s.callers.redial_delay_s:g} s / {s.callers.max_attempts}",
            s.callers.source,
        ),
        (
            "Public advice to use 101/111",
            f"{s.callers.advice_delay_hours:g} h after the outage starts",
            s.callers.source,
        ),
    ]
    rep.section("The network", "Callers → originating networks → BT platforms → centres → control rooms; "
                "colour: share of national demand a single outage of that element cuts.")
    rep.figure(network_diagram(build_network(setup.scenario)), height=720)
    rep.convergence(running_mean_figure(res["baseline_rest_of_network"]["failed_calls_per_year"]["yearly"],
                                        x_title="plain simulated years (rest of the network)",
                                        y_title="failed calls a year"),
                    caption="Running mean of the rest of the network's failed calls a year, 95% interval.")
    rep.assumptions(rows_a)
    rep.provenance(prov)
    return rep


METHOD_TEXT = """Estimate. Failed calls a year from platform outages = λ(1 − β) · E[calls lost in a \
primary outage] + β · λ · E[calls lost when both platforms fail together], with λ the platforms' failure \
rate and β the common-cause share (the engine's beta-factor model). Outages of the backup alone lose no \
calls (it carries no traffic then) and are left out.

Calls lost per outage. {n} primary outages are sampled on a scrambled Sobol design over the hour of the \
week the outage starts (the arrival profile is weekly) and the repair time (the scenario's lognormal). \
The time engine replays each outage with its caller simulation (redials, patience, public advice to use \
101/111 and their capacity, the backup's capacity as an M/M/c/K loss with the redial fixed point) for \
failover windows w at the knots {knots} and at w = repair time: no platform serves during [0, w), the \
backup serves from w to the repair. To replay all knots without replaying each outage once per knot, \
each outage is cut into pieces at the knots; a piece is replayed with a tail of one caller patience in \
the state that follows it, and a replay of the tail alone is subtracted, so every caller who arrived in \
the piece meets exactly the states it would meet in the whole outage (the engine's capacity losses \
depend only on the time of day and the state, not on history). Window parts up to 1 hour are replayed \
whole; for longer windows the outage pieces are summed and only the callers of the last patience before \
the switch (the only ones who can still reach the backup by redialling) are replayed again with the \
switch, so the switch boundary is exact throughout. Public advice starts at its scenario delay after the \
outage start in every piece. {runs} engine runs took {secs:.1f} s. The same random numbers are used for \
every backup capacity, so differences between capacities are sharp.

Switch policies. For a policy, the window is w = min(D, repair) with D the switch delay: for the manual \
switch, detection plus switch attempts until one succeeds (each fails with the stated probability; after \
the last failure traffic waits for the repair), drawn as the engine draws it; for the automatic switch, \
its delay. The calls lost are interpolated linearly in w between knots and averaged over {draws} delay \
draws (a scrambled Sobol design shared by all policies: common random numbers). Varying a delay's mean \
keeps its shape (sd = mean).

Uncertainty. Confidence intervals are Monte Carlo intervals at the scenario's parameter values: the \
spread of the per-outage results over the sampled outages (treated as independent; the scrambled design \
makes this conservative). Bands are two-level Monte Carlo: outer draws of the uncertain inputs \
(scrambled Sobol), the conditional estimate at each; they show the 5th–95th percentiles. Sobol indices \
use scipy.stats.sobol_indices on the same estimator. The backup's concurrent calls and the redial \
probability take the replayed levels only (equally likely), because the losses change steeply between \
them (the backup stops losing calls once it covers the peak load) and interpolating would be wrong. The \
rest of the network is simulated in plain years with both platforms failure-free and added for the \
whole-network rate."""

LIMITS_TEXT = """Assumptions and limits: a platform outage is replayed on its own. A second platform \
failure within it is ignored (about 2e-5 chance per outage). Outages of other components that overlap it \
(about 0.1 control-room outage per platform outage) are counted in the rest-of-network part as if the \
platforms were up, so calls both would lose are counted twice: a small overstatement. Losses between \
knots are interpolated linearly in w; the common-cause repair time is the primary's. A single 2023 \
incident underlies the switch parameters and the failure rate, which is why their ranges are wide. The \
engine's capacity model is quasi-stationary (M/M/c/K with a redial fixed point at each hour's load), not \
a queue simulation."""


if __name__ == "__main__":
    sys.exit(run_study(main))
