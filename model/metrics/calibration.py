"""Calibrate caller behaviour on the incident library's published counts.

The parameters (:data:`PRIORS`) are the caller behaviour of
:class:`~model.sim.timemodel.CallerParams`: the chance of a second attempt after a
failed first one, of each later attempt, the time between attempts, patience, the
share who try another phone or number, and the redial chance of non-genuine
callers. Each has a prior range with its source or reason.

Method (likelihood on counts, with an emulator):

1. **Design.** ``M`` scrambled-Sobol points of the prior cube; every calibration
   incident is replayed at every point (all points in one vectorised replay, ``R``
   replications each, common random numbers across points).
2. **Emulator.** For each published count, ``log(mean + 1/2)`` of the replayed
   count is regressed on a quadratic polynomial of the unit-cube coordinates; its
   residual variance ``s²`` (Monte-Carlo noise and misfit) is kept.
3. **Likelihood.** Each published count ``y`` is negative binomial with the
   emulated mean and shape ``k``: variance ``μ + μ²/k_eff`` with
   ``1/k_eff = 1/k + s²``. ``k`` is the *between-incident* overdispersion (the
   inputs' exposure and drop shares are rough, ±50 % in incidents.md); it gets a
   log-uniform prior on [0.5, 200] and is integrated out on a grid.
4. **Posterior.** Importance weights on ``N`` Sobol points of the prior (uniform on
   the unit cube) times the ``k`` grid; a posterior sample is drawn from them.
   Leave-one-out drops one incident's counts from the likelihood and predicts them
   (negative-binomial predictive over the posterior).

:func:`identifiability` compares the posterior spread of each parameter with its
prior's: a parameter whose spread shrinks by less than half is reported as not
identified by these data.

Examples
--------
>>> p = prior("redial_first")
>>> float(p.ppf(0.0)), float(p.ppf(1.0))
(0.2, 0.99)
>>> c = callers_from({"redial_first": 0.9, "redial_later": 0.5, "redial_delay_s": 30.0,
...                   "patience_s": 600.0, "compliance": 0.1, "non_genuine_redial": 0.1})
>>> c.redial_by_attempt, round(c.patience_h * 3600)
((0.9, 0.5), 600)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special
from scipy.stats import qmc

from model.scenario.calibrated import load_posterior
from model.scenario.incidents import IncidentCase, ObservedCount
from model.sim.engine import as_time_model, replay_incident
from model.sim.timemodel import CallerParams

__all__ = [
    "PRIORS",
    "Calibration",
    "Prior",
    "calibrate",
    "callers_from",
    "callers_overlay",
    "count_values",
    "fit",
    "identifiability",
    "posterior_callers",
    "posterior_median",
    "prior",
    "simulate_design",
    "write_posterior",
]


@dataclass(frozen=True)
class Prior:
    """Prior range of one caller-behaviour parameter (uniform, on a log scale when ``log``)."""

    name: str
    low: float
    high: float
    log: bool
    source: str

    def ppf(self, u: Any) -> np.ndarray:
        """Value at unit-cube coordinate ``u``."""
        u = np.asarray(u, float)
        if self.log:
            return np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
        return self.low + u * (self.high - self.low)

    def cdf(self, x: Any) -> np.ndarray:
        x = np.asarray(x, float)
        if self.log:
            return (np.log(x) - np.log(self.low)) / (np.log(self.high) - np.log(self.low))
        return (x - self.low) / (self.high - self.low)


PRIORS: tuple[Prior, ...] = (
    Prior("redial_first", 0.2, 0.99, False,
          "assumption: chance of a second attempt after a failed first; Simwood 2020 '6 callers making 21 "
          "attempts' under instant rejection (H), T-Mobile 2020 '2-3 call attempts' (M), Graphitti 0.85 "
          "(L, uncalibrated); incidents.md, caller behaviour"),
    Prior("redial_later", 0.1, 0.99, False,
          "assumption: chance of each later attempt; no published attempt-by-attempt series (Liu 1980 not "
          "read; traffic-and-capacity.md, Retrials)"),
    Prior("redial_delay_s", 5.0, 600.0, True,
          "assumption: mean time between attempts (lognormal, cv 1); no published distribution; fast busy "
          "invites instant redial, ringing holds the caller (incidents.md, spacing)"),
    Prior("patience_s", 60.0, 7200.0, True,
          "assumption: mean patience (exponential); an Optus caller got through after ~15 min of tries, "
          "Dallas 2017 holds up to ~30 min (incidents.md, giving up); no published distribution"),
    Prior("compliance", 0.0, 0.5, False,
          "assumption: share of failing genuine callers who try another phone, network or number; 'switching "
          "phone worked for some' (Optus 2025, incidents.md); no outage published the share"),
    Prior("non_genuine_redial", 0.0, 0.5, False,
          "assumption: redial chance of silent/accidental/hoax callers; Dapto 2025: 2 of 9 failed calls "
          "accidental (incidents.md, block 3b); no published rate"),
)
K_GRID = np.exp(np.linspace(math.log(0.5), math.log(200.0), 24))  # NB shape grid, log-uniform prior


def prior(name: str) -> Prior:
    """The prior called ``name``."""
    for p in PRIORS:
        if p.name == name:
            return p
    raise KeyError(f"no calibrated parameter {name!r}; known: {', '.join(p.name for p in PRIORS)}")


def callers_from(theta: Mapping[str, float], base: CallerParams | None = None,
                 max_attempts: int = 10) -> CallerParams:
    """Caller behaviour for one parameter point (laws: lognormal delay with cv 1, exponential patience)."""
    b = base or CallerParams()
    return dataclasses.replace(
        b, redial_probability=float(theta["redial_first"]),
        redial_by_attempt=(float(theta["redial_first"]), float(theta["redial_later"])),
        redial_delay_h=float(theta["redial_delay_s"]) / 3600, redial_delay_law="lognormal",
        redial_delay_cv=1.0,
        max_attempts=max_attempts, patience_h=float(theta["patience_s"]) / 3600, patience_law="exponential",
        patience_cv=1.0, compliance=float(theta["compliance"]),
        non_genuine_redial_probability=float(theta["non_genuine_redial"]))


def _theta_rows(u: np.ndarray) -> list[dict[str, float]]:
    vals = np.column_stack([p.ppf(u[:, i]) for i, p in enumerate(PRIORS)])
    return [dict(zip([p.name for p in PRIORS], row.tolist(), strict=True)) for row in vals]


def count_values(per_replication: Mapping[str, Sequence[float]], count: ObservedCount) -> np.ndarray:
    """Replayed values of a published count, replication by replication (its outcome and split)."""
    g = np.asarray(per_replication[f"{count.outcome}_genuine"], float)
    ng = np.asarray(per_replication[f"{count.outcome}_non_genuine"], float)
    return {"all": g + ng, "genuine": g, "non_genuine": ng}[count.split]


def _replay_case(case: IncidentCase, callers: list[CallerParams], seed: int) -> list[np.ndarray]:
    out = replay_incident(as_time_model(case.scenario), case.incident, replications=len(callers), seed=seed,
                          callers=callers)
    per = out["per_replication"]["outcomes"]
    return [count_values(per, c) for c in case.counts]


def simulate_design(cases: Sequence[IncidentCase], thetas: Sequence[Mapping[str, float]], *,
                    replications: int = 2, seed: int = 0, workers: int = 1) -> np.ndarray:
    """(M, J) mean replayed value of every published count (J over the cases' counts) at each design point.

    All points of one case run in one vectorised replay (replication ``m·R + r`` uses point ``m``); case ``i``
    draws from seed ``seed + i``, so the result does not depend on ``workers``.
    """
    callers = [callers_from(t) for t in thetas for _ in range(replications)]
    jobs = [(case, callers, seed + i) for i, case in enumerate(cases)]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as ex:
            parts = list(ex.map(_replay_case, *zip(*jobs, strict=True)))
    else:
        parts = [_replay_case(*j) for j in jobs]
    m = len(thetas)
    cols = [v.reshape(m, replications).mean(axis=1) for part in parts for v in part]
    return np.column_stack(cols) if cols else np.zeros((m, 0))


def _features(u: np.ndarray, quadratic: bool = True) -> np.ndarray:
    """Polynomial features of unit-cube points: intercept and linear terms, and (``quadratic``) squares
    and interactions."""
    x = 2 * np.asarray(u, float) - 1
    d = x.shape[1]
    cols = [np.ones(x.shape[0]), *(x[:, i] for i in range(d))]
    if quadratic:
        cols += [x[:, i] ** 2 for i in range(d)]
        cols += [x[:, i] * x[:, j] for i in range(d) for j in range(i + 1, d)]
    return np.column_stack(cols)


@dataclass(frozen=True)
class Emulator:
    """Quadratic emulators of ``log(mean count + 1/2)`` over the prior cube, one per published count."""

    coef: np.ndarray  # (F, J)
    resid_var: np.ndarray  # (J,)
    quadratic: bool = True

    @staticmethod
    def fit(u: np.ndarray, means: np.ndarray) -> Emulator:
        """Least squares; quadratic with at least twice as many design points as terms, else linear."""
        d = u.shape[1]
        quadratic = u.shape[0] >= 2 * (1 + 2 * d + d * (d - 1) // 2)
        f = _features(u, quadratic)
        y = np.log(np.maximum(means, 0.0) + 0.5)
        coef, *_ = np.linalg.lstsq(f, y, rcond=None)
        resid = y - f @ coef
        dof = max(f.shape[0] - f.shape[1], 1)
        return Emulator(coef, (resid ** 2).sum(axis=0) / dof, quadratic)

    def log_mean(self, u: np.ndarray) -> np.ndarray:
        return _features(u, self.quadratic) @ self.coef


def _nb_logpmf(y: np.ndarray, mu: np.ndarray, k: np.ndarray) -> np.ndarray:
    """log NB(y | mean mu, shape k), broadcasting."""
    return (special.gammaln(y + k) - special.gammaln(k) - special.gammaln(y + 1)
            + k * np.log(k / (k + mu)) + y * np.log(mu / (k + mu)))


@dataclass(frozen=True)
class Calibration:
    """A fitted calibration: design, emulator, importance sample of the posterior, and the data used."""

    count_labels: tuple[str, ...]  # "<incident>:<outcome>:<split>" per count
    count_case: np.ndarray  # (J,) index of the case of each count
    cases: tuple[str, ...]
    observed: np.ndarray  # (J,)
    design_u: np.ndarray
    design_means: np.ndarray
    emulator: Emulator
    u: np.ndarray  # (N, d) prior points
    log_w: np.ndarray  # (N, K) log posterior weights (normalised)
    seed: int
    replications: int
    info: dict[str, Any] = field(default_factory=dict)

    def weights(self) -> np.ndarray:
        return np.exp(self.log_w)

    def ess(self) -> float:
        """Effective sample size of the importance weights."""
        w = self.weights().ravel()
        return float(1.0 / (w ** 2).sum())

    def sample(self, n: int, rng: np.random.Generator | None = None) -> list[dict[str, float]]:
        """``n`` posterior draws (parameter dicts with their NB shape ``k``), systematic resampling."""
        rng = rng or np.random.default_rng(self.seed)
        w = self.weights().ravel()
        pos = (rng.random() + np.arange(n)) / n
        idx = np.minimum(np.searchsorted(np.cumsum(w), pos), w.size - 1)
        pts, ks = np.unravel_index(idx, self.log_w.shape)
        rows = _theta_rows(self.u[pts])
        for r, kk in zip(rows, ks.tolist(), strict=True):
            r["k"] = float(K_GRID[kk])
        return rows

    def summary(self) -> dict[str, dict[str, float]]:
        """Posterior median and 5-95 % interval of every parameter (and ``k``)."""
        w = self.weights()
        wu = w.sum(axis=1)
        out: dict[str, dict[str, float]] = {}
        for i, p in enumerate(PRIORS):
            vals = p.ppf(self.u[:, i])
            out[p.name] = _weighted_quantiles(vals, wu)
        out["k"] = _weighted_quantiles(K_GRID, w.sum(axis=0))
        return out

    def predictive(self, j: int, log_w: np.ndarray | None = None, n: int = 4000,
                   rng: np.random.Generator | None = None) -> dict[str, float]:
        """Posterior predictive (NB over the posterior) of published count ``j``: median, p05, p95, mean."""
        rng = rng or np.random.default_rng(self.seed + 7 + j)
        lw = self.log_w if log_w is None else log_w
        w = np.exp(lw - special.logsumexp(lw)).ravel()
        idx = rng.choice(w.size, size=n, p=w / w.sum())
        pts, ks = np.unravel_index(idx, lw.shape)
        mu = np.exp(self.emulator.log_mean(self.u[pts])[:, j]) - 0.5
        mu = np.maximum(mu, 1e-6)
        k_eff = 1.0 / (1.0 / K_GRID[ks] + self.emulator.resid_var[j])
        y = rng.negative_binomial(k_eff, k_eff / (k_eff + mu))
        return {"median": float(np.median(y)), "p05": float(np.percentile(y, 5)),
                "p95": float(np.percentile(y, 95)), "mean": float(y.mean()),
                "mean_of_model": float(mu.mean())}

    def leave_one_out(self) -> dict[str, list[dict[str, Any]]]:
        """Each case's counts predicted from the others' (weights refitted without it)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for ci, case in enumerate(self.cases):
            keep = self.count_case != ci
            lw = _log_posterior(self.emulator, self.u, self.observed, keep)
            rows = []
            for j in np.flatnonzero(~keep).tolist():
                pred = self.predictive(j, lw)
                obs = float(self.observed[j])
                rows.append({"count": self.count_labels[j], "observed": obs, **pred,
                             "inside_band": bool(pred["p05"] <= obs <= pred["p95"]),
                             "within_factor_2": bool(pred["median"] / 2 <= obs
                                                     <= 2 * max(pred["median"], 0.5))})
            out[case] = rows
        return out


def _weighted_quantiles(vals: np.ndarray, w: np.ndarray) -> dict[str, float]:
    order = np.argsort(vals)
    cw = np.cumsum(w[order]) / w.sum()
    q = {f"p{int(p * 100):02d}": float(vals[order][min(np.searchsorted(cw, p), vals.size - 1)])
         for p in (0.05, 0.5, 0.95)}
    mean = float((vals * w).sum() / w.sum())
    sd = float(math.sqrt(max(((vals - mean) ** 2 * w).sum() / w.sum(), 0.0)))
    return {"median": q["p50"], "p05": q["p05"], "p95": q["p95"], "mean": mean, "sd": sd}


def _log_posterior(em: Emulator, u: np.ndarray, observed: np.ndarray, use: np.ndarray | None = None
                   ) -> np.ndarray:
    """(N, K) normalised log weights of prior points x NB shapes given the counts in ``use``."""
    use = np.ones(observed.size, dtype=bool) if use is None else use
    mu = np.maximum(np.exp(em.log_mean(u)[:, use]) - 0.5, 1e-6)  # (N, J')
    y = observed[use][None, :, None]
    k_eff = 1.0 / (1.0 / K_GRID[None, None, :] + em.resid_var[use][None, :, None])  # (1, J', K)
    ll = _nb_logpmf(y, mu[:, :, None], k_eff).sum(axis=1)  # (N, K)
    return ll - special.logsumexp(ll)


def fit(cases: Sequence[IncidentCase], *, design_points: int = 64, replications: int = 2, seed: int = 0,
        posterior_points: int = 1 << 14, workers: int = 1,
        observed_override: Mapping[str, float] | None = None) -> Calibration:
    """Replay the design, fit the emulators and the posterior (see the module notes).

    ``observed_override`` maps count labels ``"<incident>:<outcome>:<split>"`` to values used instead of the
    published ones (synthetic incidents for identifiability tests).
    """
    cases = [c for c in cases if c.counts]
    if not cases:
        raise ValueError("calibration needs at least one incident with published counts")
    d = len(PRIORS)
    if design_points < 2 or design_points & (design_points - 1):
        raise ValueError(f"design_points must be a power of 2 (Sobol balance), got {design_points}")
    if posterior_points < 2 or posterior_points & (posterior_points - 1):
        raise ValueError(f"posterior_points must be a power of 2 (Sobol balance), got {posterior_points}")
    design = qmc.Sobol(d, scramble=True, seed=seed).random(design_points)
    means = simulate_design(cases, _theta_rows(design), replications=replications, seed=seed, workers=workers)
    labels, case_of, obs = [], [], []
    for ci, c in enumerate(cases):
        for cnt in c.counts:
            label = f"{c.name}:{cnt.outcome}:{cnt.split}"
            labels.append(label)
            case_of.append(ci)
            obs.append(float((observed_override or {}).get(label, cnt.value)))
    em = Emulator.fit(design, means)
    u = qmc.Sobol(d, scramble=True, seed=seed + 1).random(posterior_points)
    observed = np.array(obs)
    lw = _log_posterior(em, u, observed)
    return Calibration(tuple(labels), np.array(case_of), tuple(c.name for c in cases), observed, design,
                       means, em, u, lw, seed, replications,
                       {"design_points": design_points, "posterior_points": posterior_points,
                        "method": "negative-binomial likelihood on published counts; quadratic emulator of "
                                  "log mean replayed counts over a scrambled-Sobol design; importance "
                                  "sampling "
                                  "of the prior; NB shape integrated on a log-uniform grid"})


def calibrate(cases: Sequence[IncidentCase], **kw: Any) -> Calibration:
    """The calibration of the library's ``calibration`` incidents (see :func:`fit`)."""
    return fit([c for c in cases if c.role == "calibration"], **kw)


def identifiability(cal: Calibration, shrink: float = 0.5) -> dict[str, dict[str, Any]]:
    """Per parameter: prior and posterior spread on the unit scale, and whether the data identify it.

    A uniform prior on [0, 1] has sd ``1/sqrt(12)``; a parameter is *identified* when its posterior sd is
    below ``shrink`` times that.
    """
    w = cal.weights().sum(axis=1)
    out = {}
    prior_sd = 1 / math.sqrt(12)
    for i, p in enumerate(PRIORS):
        x = cal.u[:, i]
        mean = float((x * w).sum() / w.sum())
        sd = float(math.sqrt(max(((x - mean) ** 2 * w).sum() / w.sum(), 0.0)))
        out[p.name] = {"prior_sd_unit": prior_sd, "posterior_sd_unit": sd, "ratio": sd / prior_sd,
                       "identified": bool(sd < shrink * prior_sd)}
    return out


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(float(v)) if isinstance(v, float) else str(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_posterior(cal: Calibration, path: str | Path, n: int = 200) -> Path:
    """Write ``n`` posterior draws and the fit's provenance as TOML (temporary file, then rename)."""
    path = Path(path)
    ident = identifiability(cal)
    lines = ["# Calibrated caller behaviour: a posterior sample written by studies/calibration.py",
             "# (model/metrics/calibration.py). Do not edit by hand; re-run the study.",
             f"method = {_toml_value(cal.info.get('method', ''))}",
             f"seed = {cal.seed}",
             f"design_points = {int(cal.info.get('design_points', 0))}",
             f"replications = {cal.replications}",
             f"posterior_points = {int(cal.info.get('posterior_points', 0))}",
             f"effective_sample_size = {_toml_value(round(cal.ess(), 1))}",
             f"incidents = {_toml_value(list(cal.cases))}",
             f"counts = {_toml_value(list(cal.count_labels))}",
             f"identified = {_toml_value([k for k, v in ident.items() if v['identified']])}",
             f"not_identified = {_toml_value([k for k, v in ident.items() if not v['identified']])}",
             ""]
    for d in cal.sample(n):
        lines.append("[[draws]]")
        lines.extend(f"{k} = {_toml_value(float(v))}" for k, v in d.items())
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(path)
    return path


def posterior_callers(base: CallerParams | None = None, path: str | Path | None = None,
                      n: int | None = None) -> list[CallerParams]:
    """The calibrated posterior sample as caller behaviour (the default of replays and the flagship).

    ``base`` supplies what the calibration does not fit (advice delay); ``n`` keeps the first ``n`` draws.
    """
    post = load_posterior(path) if path is not None else load_posterior()
    draws = post.draws[:n] if n else post.draws
    return [callers_from(d, base) for d in draws]


def callers_overlay(theta: Mapping[str, float], max_attempts: int = 10) -> dict[str, Any]:
    """A scenario overlay (``[callers]`` table) with the calibrated caller behaviour of one parameter point.

    The fallback lines keep their own compliance: the calibrated share (callers who try another phone or
    number abroad) is not the share who follow UK advice to ring 101 or 111.

    Examples
    --------
    >>> o = callers_overlay({"redial_first": 0.7, "redial_later": 0.6, "redial_delay_s": 20.0,
    ...                      "patience_s": 300.0, "compliance": 0.2, "non_genuine_redial": 0.3})
    >>> o["callers"]["redial_by_attempt"], o["callers"]["patience_distribution"]
    ([0.7, 0.6], 'exponential')
    """
    return {"callers": {
        "redial_probability": float(theta["redial_first"]),
        "redial_by_attempt": [float(theta["redial_first"]), float(theta["redial_later"])],
        "redial_delay_s": float(theta["redial_delay_s"]), "redial_delay_distribution": "lognormal",
        "redial_delay_cv": 1.0, "max_attempts": int(max_attempts), "patience_s": float(theta["patience_s"]),
        "patience_distribution": "exponential", "patience_cv": 1.0,
        "non_genuine_redial_probability": float(theta["non_genuine_redial"]),
        "source": "calibrated posterior (model/data/calibration/callers_posterior.toml, "
                  "studies/calibration.py)"}}


def posterior_median(draws: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Parameter-by-parameter median of posterior draws (a representative point for a headline run)."""
    return {p.name: float(np.median([d[p.name] for d in draws])) for p in PRIORS}
