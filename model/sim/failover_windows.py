"""The conditional failover-window estimator: calls lost to outages of a standby pair, by switch delay.

Outages of a call-handling platform are rare (about one in 86 years), so plain
simulated years spend almost all their time on years without one. This estimator
replays *sampled primary outages only* with the time engine and measures the calls
lost in each as a function of the failover window ``w`` (no platform serves during
``[0, w)``, the backup serves from ``w`` to the repair) at a grid of knots; any
switch policy is then integrated over its delay distribution, and the yearly figure
is ``rate of outages × expected calls lost per outage``.

Pieces, in the order a study uses them:

1. :func:`make_setup` finds the manual standby pair of platforms in a scenario and
   the levels of the backup's capacity and the redial probability to replay;
2. :func:`outage_design` samples primary outages (start in the week, repair time)
   on a scrambled Sobol design;
3. :func:`knot_values` replays the window decomposition (:func:`window_pieces`) of
   every outage with the engine, for every capacity and redial level (on any
   backend of :func:`model.run.runner.run_chunks`: the same bits for any number of
   workers);
4. :func:`delay_design` fixes the uniforms of the switch delays (common random
   numbers), :func:`manual_delays` turns them into delays of the manual procedure
   (:func:`model.processes.failover.manual_switch_delay`) and :func:`window_weights`
   into linear-interpolation weights over the knots;
5. :class:`WindowModel` combines knot values, weights and outage rates into calls
   lost per outage and per year, with Monte Carlo standard errors;
6. :func:`direct_check` replays the same outages whole, with the engine's own switch
   delays, and compares (paired) with the estimator.

Random numbers: every engine run draws from child ``(tag, group)`` of the root
``SeedSequence`` passed in, so results depend only on the root and never on the
backend or the number of workers.

Examples
--------
>>> from model.processes.distributions import LogNormal
>>> from model.scenario.loader import load_scenario
>>> setup = make_setup(load_scenario("uk999"), LogNormal(30 / 3600, 30 / 3600))
>>> setup.primary, setup.backup, setup.cap_levels, setup.redial_levels
('bt_primary', 'bt_dr', (24, 49, 98), (0.5, 0.85, 0.95))
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from scipy.stats import qmc

from model.processes.distributions import Distribution, parse_distribution
from model.processes.failover import manual_switch_delay
from model.processes.outages import Outages, failover_windows
from model.run.runner import run_chunks
from model.run.seeds import child_rng, child_seed
from model.scenario.loader import Scenario
from model.sim.engine import as_time_model, run_intervals
from model.sim.timemodel import CallerParams, TimeModel

__all__ = [
    "KNOTS",
    "SPLIT",
    "Capacity",
    "DelayDesign",
    "Design",
    "FailoverSetup",
    "KnotValues",
    "WindowModel",
    "capacity_scenario",
    "check_verdict",
    "delay_design",
    "direct_check",
    "evaluate_points",
    "knot_values",
    "make_setup",
    "manual_delays",
    "normal_estimate",
    "outage_design",
    "per_outage_curves",
    "run_windows",
    "window_pieces",
    "window_weights",
]

#: Knots of the failover window w (hours): losses per outage are measured by the engine at these
#: window lengths (and at w = repair time) and interpolated linearly between them.
SMALL_KNOTS = (0.0, 1 / 120, 1 / 30, 1 / 6, 0.5, 1.0)  # 0, 30 s, 2 min, 10 min, 30 min, 1 h
LARGE_KNOTS = (2.0, 3.0, 4.5, 6.5, 9.5, 14.0, 20.0, 30.0, 45.0, 70.0, 110.0, 170.0)
KNOTS = np.array(SMALL_KNOTS + LARGE_KNOTS)
SPLIT = 1.0  # window parts up to here are replayed whole; beyond, summed from pieces


# ----------------------------------------------------------------------------- setup
@dataclass(frozen=True)
class Capacity:
    """One capacity of the backup replayed by the engine: concurrent calls and queue places."""

    key: str
    label: str
    calls: int
    queue: int


@dataclass(frozen=True, eq=False)
class FailoverSetup:
    """Everything fixed for one estimate: scenario ids, rates, delay shapes, the replayed levels."""

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
    tau: float  # tail after each piece, hours (caller patience)
    week: float  # period of the arrival profile, hours
    backup_calls: int  # the scenario's capacities of the backup and the primary
    backup_queue: int
    primary_calls: int
    primary_queue: int


def make_setup(
    scenario: Scenario,
    automatic_delay: Distribution,
    cap_fractions: Sequence[float] = (0.25, 0.5, 1.0),
    redial_levels: Sequence[float] = (0.5, 0.95),
) -> FailoverSetup:
    """Find the manual standby pair of call-handling platforms and the levels to replay.

    The backup's concurrent calls are replayed at ``cap_fractions`` of the primary's (and
    at the scenario's own value, key ``"status_quo"``), at the scenario's queue limit; the
    redial probability at ``redial_levels`` and the scenario's own value. These are the
    values an uncertain capacity and redial probability may take: the engine is not
    asked for values in between. ``automatic_delay`` is the delay of an automatic switch
    (for automatic policies and :func:`delay_design`).

    Parameters
    ----------
    scenario : Scenario
        Needs a redundancy group of call-handling platforms with policy "manual", a
        failure rate and repair of the primary, capacities of both, and ``[callers]``.
    automatic_delay : Distribution
        Delay distribution of an automatic switch.
    cap_fractions, redial_levels : sequence of float
        Levels replayed besides the scenario's own values.

    Returns
    -------
    FailoverSetup

    Raises
    ------
    ValueError
        Naming the scenario and what is missing.

    Examples
    --------
    >>> from model.processes.distributions import LogNormal
    >>> from model.scenario.loader import load_scenario
    >>> s = make_setup(load_scenario("uk999"), LogNormal(30 / 3600, 30 / 3600), (0.5, 1.0), (0.5,))
    >>> [(c.key, c.calls, c.queue) for c in s.capacities]
    [('status_quo', 49, 50), ('dr_98', 98, 50)]
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
            f"scenario {scenario.name!r}: the failover-window estimator needs a redundancy group of "
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
        raise ValueError(
            f"scenario {scenario.name!r}: the failover-window estimator needs a [callers] table (redial "
            "behaviour)"
        )
    gpath = f"redundancy_groups.{group}"
    q0 = int(cap_b.queue_limit) if cap_b.queue_limit is not None else 0
    c0, cp = int(cap_b.concurrent_calls), int(cap_p.concurrent_calls)
    qp = int(cap_p.queue_limit) if cap_p.queue_limit is not None else 1000
    levels = tuple(sorted({max(1, round(cp * f)) for f in cap_fractions} | {c0}))
    caps = tuple(
        Capacity("status_quo" if c == c0 else f"dr_{c}", f"{c} calls, queue {q0}", c, q0) for c in levels
    )
    p0 = float(s.callers.redial_probability)
    redial = tuple(sorted({float(x) for x in redial_levels} | {p0}))
    det = parse_distribution(grp.detection_delay, f"{gpath}.detection_delay")
    sw = parse_distribution(grp.switch_time, f"{gpath}.switch_time")
    return FailoverSetup(
        scenario=scenario,
        group=group,
        primary=primary,
        backup=backup,
        ccf=ccf,
        rate_primary=float(fp.failures_per_year),
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
        auto_shape=automatic_delay,
        repair=parse_distribution(fp.repair, f"call_handling_platforms.{primary}.failure.repair"),
        callers=CallerParams.from_scenario(s.callers),
        capacities=caps,
        cap_levels=levels,
        redial_levels=redial,
        tau=float(s.callers.patience_s) / 3600 * 1.0001 + 1e-6,
        week=168.0,
        backup_calls=c0,
        backup_queue=q0,
        primary_calls=cp,
        primary_queue=qp,
    )


def capacity_scenario(setup: FailoverSetup, cap: Capacity, scenario: Scenario | None = None) -> Scenario:
    """The scenario (default: the setup's) with the backup's concurrent calls and queue limit set.

    Examples
    --------
    >>> from model.processes.distributions import LogNormal
    >>> from model.scenario.loader import load_scenario
    >>> s = make_setup(load_scenario("uk999"), LogNormal(30 / 3600, 30 / 3600))
    >>> v = capacity_scenario(s, Capacity("x", "x", 60, 420))
    >>> cap = v.call_handling_platforms["bt_dr"].capacity
    >>> cap.concurrent_calls, cap.queue_limit
    (60, 420)
    """
    base = scenario or setup.scenario
    old = base.raw["call_handling_platforms"][setup.backup]["capacity"]

    def value(key: str, v: float) -> float:  # integers stay integers, as in the scenario file
        cur = old.get(key)
        return round(v) if isinstance(cur, int) and not isinstance(cur, bool) else float(v)

    overlay = {
        "call_handling_platforms": {
            setup.backup: {
                "capacity": {
                    "concurrent_calls": value("concurrent_calls", cap.calls),
                    "queue_limit": value("queue_limit", cap.queue),
                }
            }
        }
    }
    return base.extend(overlay, where="<parameters: calls, queue>")


# ----------------------------------------------------------------------------- outage design
@dataclass(frozen=True, eq=False)
class Design:
    start: np.ndarray  # (n,) hour of the week the primary fails
    repair: np.ndarray  # (n,) hours until it is back
    knots: list[np.ndarray]  # per outage: knots below its repair time


def outage_design(setup: FailoverSetup, n: int, seed: np.random.SeedSequence) -> Design:
    """``n`` primary outages: scrambled Sobol points over (start in the week, repair quantile).

    Examples
    --------
    >>> from model.processes.distributions import LogNormal
    >>> from model.scenario.loader import load_scenario
    >>> s = make_setup(load_scenario("uk999"), LogNormal(30 / 3600, 30 / 3600))
    >>> d = outage_design(s, 8, np.random.SeedSequence(1))
    >>> d.start.shape, bool((d.start < 168).all()), bool(all(k[-1] < r for k, r in zip(d.knots, d.repair)))
    ((8,), True, True)
    """
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


def window_pieces(setup: FailoverSetup, design: Design) -> tuple[list[_Window], list[_Window], list[dict]]:
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


def _events(model: TimeModel, setup: FailoverSetup) -> tuple[int, int]:
    return model.events.index(setup.primary), model.events.index(f"failover:{setup.group}")


def run_windows(
    model: TimeModel,
    setup: FailoverSetup,
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
        tally = run_intervals(model, outages, child_seed(root, tag, g), callers=callers)
        out[0, idx] = tally.column("unreachable")
        out[1, idx] = tally.column("failed_attempts")
        out[2, idx] = tally.column("simulated")
    return out


def _job(args: tuple) -> list[tuple[tuple, np.ndarray]]:
    """One engine job (picklable): a scenario variant (its time model built once) and each redial level."""
    name, scenario, setup, windows, design, levels, root, tag = args
    model = as_time_model(scenario)
    return [((name, p), run_windows(model, setup, windows, design, p, root, tag + i)) for i, p in levels]


def _job_chunk(jobs: Sequence[tuple], index: int, size: int, seed: int) -> list[tuple[tuple, np.ndarray]]:
    """Chunk function for :func:`~model.run.runner.run_chunks`: job ``index`` (its results, a list).

    Lists add by concatenation, so the runner's in-order sum is every job's results in
    job order. The jobs draw from their own streams under the root they carry, so the
    runner's chunk seed is not used.
    """
    return _job(jobs[index])


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
    backend: str = "serial"  # where the engine runs ran (provenance; the values do not depend on it)


def knot_values(
    setup: FailoverSetup,
    design: Design,
    seed: np.random.SeedSequence,
    workers: int | None = 1,
    backend: Any = "auto",
) -> KnotValues:
    """Engine replays of the pieces for every capacity level and redial level; knot values per outage.

    One job per time model (a capacity variant, or the no-platform-serving runs) runs
    through :func:`model.run.runner.run_chunks` on ``backend`` with ``workers``; every job
    draws from its own child of ``seed``, so the values are bit-identical for any
    backend and number of workers. The same seeds serve every capacity (common random
    numbers).
    """
    t0 = time.perf_counter()
    total_w, cap_w, terms = window_pieces(setup, design)
    scen = {c.key: capacity_scenario(setup, c) for c in setup.capacities}
    levels = list(enumerate(setup.redial_levels))
    # one job per time model; the same seeds for every capacity: common random numbers
    jobs = [("total", scen["status_quo"], setup, total_w, design, levels, seed, 1000)]
    jobs += [(c.key, scen[c.key], setup, cap_w, design, levels, seed, 2000) for c in setup.capacities]
    parts, info = run_chunks(_job_chunk, tuple(jobs), [1] * len(jobs), int(seed.entropy), backend=backend,
                          workers=workers, progress=None, unit="jobs", desc="failover windows")
    results: dict[tuple, np.ndarray] = dict(parts)
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
    backend = info.backend if info.workers == 1 else f"{info.backend} ({info.workers} workers)"
    return KnotValues(values, kn, nk, calls, time.perf_counter() - t0, n_runs, backend)


# ----------------------------------------------------------------------------- switch delays
@dataclass(frozen=True, eq=False)
class DelayDesign:
    """Fixed uniforms (common random numbers) for switch delays: unit-mean shapes and attempt outcomes."""

    det: np.ndarray  # (n_d,) detection delay / its mean
    sw: np.ndarray  # (n_d, k) attempt durations / their mean
    att: np.ndarray  # (n_d, k) uniforms deciding whether each attempt fails
    auto: np.ndarray  # (n_d,) automatic delay / its mean


def delay_design(setup: FailoverSetup, n: int, seed: np.random.SeedSequence) -> DelayDesign:
    """``n`` scrambled Sobol draws of unit-mean detection, attempt and automatic delays and attempt outcomes.

    Examples
    --------
    >>> from model.processes.distributions import LogNormal
    >>> from model.scenario.loader import load_scenario
    >>> s = make_setup(load_scenario("uk999"), LogNormal(30 / 3600, 30 / 3600))
    >>> dd = delay_design(s, 64, np.random.SeedSequence(2))
    >>> dd.sw.shape == (64, s.max_attempts), round(float(dd.det.mean()), 1)
    (True, 1.0)
    """
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
    """Switch delays (n_theta, n_d) of the manual policy for parameter sets × the shared draws.

    Detection, then attempts until one succeeds (each fails with ``p_fail``); ``inf``
    when all ``max_attempts`` fail (traffic waits for the repair): the one procedure of
    :func:`model.processes.failover.manual_switch_delay`, with the means scaling the
    unit-mean draws.

    Examples
    --------
    >>> dd = DelayDesign(np.array([1.0, 1.0]), np.array([[1.0, 1.0], [1.0, 1.0]]),
    ...                  np.array([[0.9, 0.9], [0.1, 0.1]]), np.array([1.0, 1.0]))
    >>> manual_delays(dd, [0.5], [0.25], [0.5]).tolist()   # first attempt succeeds; both fail
    [[0.75, inf]]
    """
    det_mean, sw_mean, p_fail = (np.asarray(x, float).reshape(-1, 1) for x in (det_mean, sw_mean, p_fail))
    fails = dd.att[None, :, :] < p_fail[:, :, None]  # (T, n_d, k)
    return manual_switch_delay(det_mean * dd.det[None, :], dd.sw[None], fails, duration_scale=sw_mean)


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
class WindowModel:
    """The conditional estimator: knot values × delay weights × outage rates."""

    setup: FailoverSetup
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

    def policy_delays(self, policy: dict[str, Any], p_fail: np.ndarray) -> np.ndarray:
        """Switch delays (T, n_d) of a policy over the shared draws, one row per switch failure probability.

        ``policy["policy"]`` is "manual" (mean detection ``det`` and attempt time ``sw``,
        hours) or "automatic" (mean delay ``auto``; it never fails).
        """
        p_fail = np.asarray(p_fail, float).reshape(-1)
        t = p_fail.size
        if policy["policy"] == "manual":
            return manual_delays(self.dd, np.full(t, policy["det"]), np.full(t, policy["sw"]), p_fail)
        return np.repeat(policy["auto"] * self.dd.auto[None, :], t, axis=0)

    def manual_per_year(
        self,
        det: np.ndarray,
        sw: np.ndarray,
        p_fail: np.ndarray,
        calls: np.ndarray,
        rate: np.ndarray,
        beta: np.ndarray,
        redial: np.ndarray,
        batch: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Manual switch at T parameter sets: calls lost a year, its standard error, per outage: (T,) each.

        ``calls`` are the backup's concurrent calls (replayed levels) and ``redial`` the
        redial probability (replayed levels) of each set; ``batch`` parameter sets at a
        time bound the memory of the weights (None: all at once).
        """
        det = np.asarray(det, float)
        y, se, po = np.zeros(det.size), np.zeros(det.size), np.zeros(det.size)
        step = det.size if batch is None else batch
        for lo in range(0, det.size, max(step, 1)):
            sl = slice(lo, lo + step)
            wts = window_weights(self.kv, manual_delays(self.dd, det[sl], sw[sl], p_fail[sl]))
            per = self.per_outage(wts, None, calls[sl], redial[sl])
            y[sl], se[sl] = self.per_year(per, self.full_outage(redial[sl]), rate[sl], beta[sl])
            po[sl] = per.mean(axis=1)
        return y, se, po


# ----------------------------------------------------------------------------- estimates and checks
def evaluate_points(
    model: WindowModel,
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
        wts = window_weights(model.kv, model.policy_delays(pol, [p_fail]))
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
    setup: FailoverSetup,
    model: WindowModel,
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
    tm = as_time_model(scenario)
    ip, _ = _events(tm, setup)
    n = design.start.size
    k = n * replicates
    rng = child_rng(root, tag)
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
    tally = run_intervals(tm, out, child_seed(root, tag, 1))
    direct = tally.column("unreachable").reshape(replicates, n).mean(axis=0)
    d = model.policy_delays(predicted_policy, [setup.p_fail])
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


def check_verdict(direct: float, estimator: float, z: float) -> str:
    """Verdict of a :func:`direct_check`: the two agree in size, not just within a wide interval.

    "agree" needs ``|z| < 3`` and the two within 20 % of each other; a small ``z`` with a
    larger gap is "inconclusive" (too few replays to tell); ``|z| >= 3`` is "disagree".

    Examples
    --------
    >>> check_verdict(100.0, 95.0, 1.0), check_verdict(100.0, 60.0, 1.0), check_verdict(100.0, 99.0, 3.5)
    ('agree', 'inconclusive', 'disagree')
    """
    if not np.isfinite(z) or abs(z) >= 3:
        return "disagree"
    lo, hi = sorted((abs(direct), abs(estimator)))
    return "agree" if hi == 0 or lo / hi >= 1 / 1.2 else "inconclusive"


def normal_estimate(value: float, se: float, confidence: float = 0.95) -> dict[str, float]:
    """A non-negative estimate with its standard error and normal interval (lower end at 0 or above).

    Examples
    --------
    >>> e = normal_estimate(10.0, 2.0)
    >>> e["estimate"], round(e["ci_low"], 4), round(e["ci_high"], 4)
    (10.0, 6.0801, 13.9199)
    """
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return {
        "estimate": value,
        "std_error": se,
        "ci_low": max(0.0, value - z * se),
        "ci_high": value + z * se,
    }


def per_outage_curves(setup: FailoverSetup, kv: KnotValues) -> dict[str, Any]:
    """Mean calls lost per primary outage for a fixed window w (no delay distribution), with CIs."""
    ws = np.array([0.0, 1 / 120, 1 / 30, 1 / 6, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0])
    d = np.repeat(ws[:, None], 4, axis=1)  # a fixed window: every delay draw equal
    wts = window_weights(kv, d)
    p0 = np.full(ws.size, setup.callers.redial_probability)
    out = {"window_hours": ws.tolist()}
    m = WindowModel(setup, kv, None)  # delay design not needed for fixed windows
    for c in setup.capacities:
        per = m.per_outage(wts, c.key, None, p0)
        n = per.shape[1]
        mean = per.mean(axis=1)
        se = per.std(axis=1, ddof=1) / math.sqrt(n)
        z = float(stats.norm.ppf(0.975))
        out[c.key] = {
            "mean": mean.tolist(),
            "ci_low": np.maximum(mean - z * se, 0).tolist(),
            "ci_high": (mean + z * se).tolist(),
        }
    return out


