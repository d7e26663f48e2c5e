"""Incident replays on several worker processes, with the same result for any number of workers.

Replications are cut into chunks of :data:`CHUNK_REPLICATIONS` (fixed, so the plan
does not depend on the workers); chunk ``i`` is
:func:`~model.sim.engine.replay_incident` with ``stream=i`` and its slice of the
caller parameter sets; the per-replication counts are concatenated in chunk order
and every summary is recomputed from them.

Examples
--------
>>> a = replay("uk999", "bt_2023_06_25", replications=6, seed=3, workers=1, chunk=4)
>>> b = replay("uk999", "bt_2023_06_25", replications=6, seed=3, workers=2, chunk=4)
>>> a["per_replication"]["failed_callers"] == b["per_replication"]["failed_callers"]
True
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from model.sim.engine import as_time_model, outcome_summaries, replay_incident
from model.sim.timemodel import CallerParams

__all__ = ["CHUNK_REPLICATIONS", "replay"]

CHUNK_REPLICATIONS = 50
_COUNTS = ("failed_attempts", "failed_callers", "connected_via_fallback", "connected_after_redial",
           "genuine_calls", "simulated_calls")


def _dist(x: np.ndarray) -> dict[str, float]:
    return {"median": float(np.median(x)), "p05": float(np.percentile(x, 5)),
            "p95": float(np.percentile(x, 95)), "mean": float(x.mean())}


def _chunk(scenario: Any, incident: str, n: int, seed: int, stream: int,
           callers: Sequence[CallerParams] | None, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    return replay_incident(as_time_model(scenario), incident, replications=n, seed=seed, stream=stream,
                           callers=callers, overrides=overrides)


def replay(scenario: Any, incident: str, replications: int = 200, seed: int | None = None, *,
           workers: int = 1, callers: Sequence[CallerParams] | None = None,
           overrides: Mapping[str, Any] | None = None, chunk: int = CHUNK_REPLICATIONS) -> dict[str, Any]:
    """Replay ``incident`` of ``scenario`` (see :func:`~model.sim.engine.replay_incident`) in chunks.

    ``callers[i % len(callers)]`` is the behaviour of replication ``i`` (e.g. a posterior sample).
    """
    if replications < 1:
        raise ValueError("replications must be >= 1")
    if workers < 1:
        raise ValueError("workers must be >= 1")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    t0 = time.perf_counter()
    model = as_time_model(scenario if not isinstance(scenario, Path) else str(scenario))
    if incident not in model.incidents:
        known = ", ".join(sorted(model.incidents)) or "none"
        raise KeyError(f"no incident named {incident!r} (scenario has: {known})")
    sizes = [min(chunk, replications - lo) for lo in range(0, replications, chunk)]
    starts = np.cumsum([0, *sizes[:-1]]).tolist()
    per_chunk_callers = [None if not callers else [callers[(s + i) % len(callers)] for i in range(n)]
                         for s, n in zip(starts, sizes, strict=True)]
    jobs = [(model, incident, n, int(seed), i, per_chunk_callers[i], dict(overrides or {}) or None)
            for i, n in enumerate(sizes)]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as ex:
            parts = list(ex.map(_chunk, *zip(*jobs, strict=True)))
    else:
        parts = [_chunk(*j) for j in jobs]
    first = parts[0]
    per: dict[str, Any] = {k: [v for p in parts for v in p["per_replication"][k]] for k in _COUNTS}
    per["outcomes"] = {f: [v for p in parts for v in p["per_replication"]["outcomes"][f]]
                       for f in first["per_replication"]["outcomes"]}
    per["parameters"] = {k: [v for p in parts for v in p["per_replication"]["parameters"][k]]
                         for k in first["per_replication"]["parameters"]}
    out = {k: v for k, v in first.items() if k not in ("per_replication", "seconds", "calls_simulated")}
    out.update({k: _dist(np.asarray(per[k], float)) for k in _COUNTS})
    out["outcomes_by_definition"] = outcome_summaries(lambda f: np.asarray(per["outcomes"][f], float), _dist)
    out["parameters"] = {k: _dist(np.asarray(v, float)) for k, v in per["parameters"].items()}
    out.update(replications=replications, seed=int(seed), workers=workers, chunks=len(sizes),
               chunk_replications=chunk, per_replication=per, seconds=time.perf_counter() - t0,
               calls_simulated=int(sum(p["calls_simulated"] for p in parts)))
    return out
