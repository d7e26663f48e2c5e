"""Run a fixed chunk plan anywhere: one core, all cores or a Dask cluster, with the same bits.

An engine splits its work into a *chunk plan* (a list of chunk sizes) and offers a
pure *chunk function* ``chunk_fn(task, chunk_index, chunk_size, seed, **kwargs) ->
tally`` whose result depends only on its arguments (chunk ``i`` draws from child
``(i,)`` of the root ``SeedSequence``). :func:`run_chunks` farms the chunks out and
adds the tallies **always in chunk-index order** (results that finish early wait
for their turn), so the sum, even a floating-point one, is bit-identical for any
backend and any number of workers.

Backends
    ``"serial"`` (this process), ``"processes"`` (a ``ProcessPoolExecutor`` with the
    ``forkserver`` start method, or ``spawn``; default: all cores), a
    ``dask.distributed.Client`` or a scheduler address ``"tcp://host:port"``.
    The task (e.g. a :class:`~model.network.compiled.CompiledNetwork`) is shipped once per
    worker (pool initializer, or ``Client.scatter(..., broadcast=True)``), never
    per chunk.
Checkpoints
    After a completed prefix of chunks (at most once a second by default, and
    always at the end, on a stop, an error or an interrupt) the run's identity
    (chunk function, seed, plan, fingerprints of the task and options) and the
    summed tally of chunks ``0..k`` are written atomically (temporary file, then
    ``os.replace``). Running the same call again resumes at chunk ``k + 1`` and
    ends with the identical result; a checkpoint of another run is refused with a
    ``ValueError`` naming the file and what differs.
Stop on precision
    With ``target_rse`` the run stops at the first prefix boundary where the
    running estimate's relative standard error is at most the target. The rule
    looks only at the prefix, so every backend stops at the same chunk.
Failures
    A chunk that raises, or a worker process that dies, ends the run with a
    ``RuntimeError`` naming the chunk and the cause; never a partial answer.

Examples
--------
A chunk function counts heads in its chunk's own stream; the sum is the same for any backend:

>>> from model.run.seeds import chunk_plan, chunk_rng
>>> def heads(p, i, n, seed):
...     return int((chunk_rng(seed, i).random(n) < p).sum())
>>> tally, info = run_chunks(heads, 0.5, chunk_plan(200_000, 50_000), 7, backend="serial", progress=False)
>>> tally == sum(heads(0.5, i, 50_000, 7) for i in range(4))
True
>>> info.n_chunks, info.backend
(4, 'serial')
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import hashlib
import math
import multiprocessing as mp
import os
import pickle
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model.results.estimate import Estimate, provenance
from model.run.checkpoint import CHECKPOINT_FORMAT, Checkpoint, rle
from model.run.lifeline import follow_parent
from model.run.progress import ProgressBar

__all__ = [
    "AUTO_SERIAL_SECONDS",
    "CHECKPOINT_FORMAT",
    "ChunkError",
    "RunInfo",
    "fingerprint",
    "run_chunks",
]

#: With ``backend="auto"``, a run whose remaining chunks would take less than this
#: many seconds here (timed on its first chunk) stays in this process.
AUTO_SERIAL_SECONDS = 2.0

ChunkFn = Callable[..., Any]


# ------------------------------------------------------------------------ fingerprint
def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', type(obj).__qualname__)}"


def _feed(h: Any, obj: Any) -> None:
    """Feed a canonical byte form of ``obj`` into the hash ``h``."""
    if obj is None or isinstance(obj, bool | int | float | complex | str | bytes):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
    elif isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        h.update(f"nd:{a.dtype.str}:{a.shape};".encode())
        h.update(a.tobytes() if a.dtype != object else pickle.dumps(a.tolist(), protocol=5))
    elif isinstance(obj, np.generic):
        _feed(h, obj.item())
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(f"dc:{_qualname(type(obj))}{{".encode())
        for f in dataclasses.fields(obj):
            h.update(f"{f.name}=".encode())
            _feed(h, getattr(obj, f.name))
        h.update(b"}")
    elif isinstance(obj, Mapping):
        h.update(b"map{")
        for k in sorted(obj, key=repr):
            _feed(h, k)
            _feed(h, obj[k])
        h.update(b"}")
    elif isinstance(obj, list | tuple):
        h.update(f"{type(obj).__name__}[".encode())
        for x in obj:
            _feed(h, x)
        h.update(b"]")
    elif isinstance(obj, set | frozenset):
        _feed(h, sorted(obj, key=repr))
    elif callable(obj) and hasattr(obj, "__qualname__"):
        h.update(f"fn:{_qualname(obj)};".encode())
    else:
        h.update(f"pk:{_qualname(type(obj))}:".encode())
        h.update(pickle.dumps(obj, protocol=5))


def fingerprint(obj: Any) -> str:
    """A short SHA-256 hex digest of the content of ``obj``.

    Dataclasses are hashed by their fields (caches kept in ``__dict__`` do not
    count), numpy arrays by dtype, shape and bytes, mappings independently of
    their order, functions by their qualified name; anything else by its pickle.

    Examples
    --------
    >>> import numpy as np
    >>> fingerprint({"a": np.arange(3), "b": 1}) == fingerprint({"b": 1, "a": np.arange(3)})
    True
    >>> fingerprint(np.arange(3)) == fingerprint(np.arange(3.0))
    False
    """
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()[:24]


# --------------------------------------------------------------------------- run info
@dataclass(frozen=True)
class RunInfo:
    """How a chunk plan was run: the provenance of a parallel result.

    Attributes
    ----------
    nines_version, git_commit : str, str or None
    seed_entropy : int
        Entropy of the root ``SeedSequence``.
    chunk_size : int
        Size of the plan's first (largest) chunk.
    n_chunks, chunks_run, chunks_resumed : int
        Chunks in the plan, chunks in the result, of which restored from a checkpoint.
    units_planned, units_done : int
        Trials (or simulated years) in the plan and in the result.
    backend : str
        ``"serial"``, ``"processes"`` or ``"dask <scheduler address>"``.
    workers : int
        Worker processes (or Dask worker threads) used.
    seconds : float
        Wall time of this call.
    seconds_total : float
        Wall time including the runs a checkpoint was resumed from.
    chunk_cpu_seconds : float
        CPU time spent in the chunk functions of this call, summed over workers
        (thread time; with ``seconds`` it shows parallel efficiency and contention).
    stopped_early : bool
        Stopped by ``target_rse`` before the end of the plan.
    target_rse : float or None
    checkpoint : str or None
    """

    nines_version: str
    git_commit: str | None
    seed_entropy: int
    chunk_size: int
    n_chunks: int
    chunks_run: int
    chunks_resumed: int
    units_planned: int
    units_done: int
    backend: str
    workers: int
    seconds: float
    seconds_total: float
    chunk_cpu_seconds: float
    stopped_early: bool
    target_rse: float | None = None
    checkpoint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the seed as an integer, which JSON keeps exactly)."""
        d = dataclasses.asdict(self)
        d.update(d.pop("extra"))
        return d


# ---------------------------------------------------------------------------- workers
Payload = tuple[ChunkFn, Any, dict[str, Any], str]
Batch = list[tuple[int, int]]  # (chunk index, chunk size) of consecutive chunks
Done = tuple[list[Any], float, float]  # tallies of a batch, its wall seconds, its CPU seconds
_PAYLOAD: Payload | None = None


class ChunkError(Exception):
    """Raised in a worker when a chunk fails: the chunk index, the cause, and the tallies of the
    chunks of the same batch that were done before it (picklable, so it crosses processes)."""

    def __init__(self, index: int, message: str, done: Sequence[Any] = ()) -> None:
        super().__init__(index, message, list(done))
        self.index = index
        self.message = message
        self.done = list(done)

    def __str__(self) -> str:
        return f"chunk {self.index}: {self.message}"


def _version() -> str:
    from model.version import __version__

    return __version__


def _call_batch(payload: Payload, batch: Batch, seed: int) -> Done:
    """Run consecutive chunks: their tallies (not summed: the client adds them in order), wall, CPU time."""
    fn, task, kwargs, version = payload
    if version != _version():
        raise ChunkError(batch[0][0], f"this worker runs nines {_version()} but the run was started by "
                                      f"nines {version}; install the same version everywhere")
    t0, c0 = time.perf_counter(), time.thread_time()
    out = []
    for index, size in batch:
        try:
            out.append(fn(task, index, size, seed, **kwargs))
        except Exception as exc:
            raise ChunkError(index, f"{type(exc).__name__}: {exc}", out) from exc
    return out, time.perf_counter() - t0, time.thread_time() - c0


def _proc_init(payload: bytes, parent: int | None = None) -> None:
    """Pool initializer: end with the parent (even after kill -9); unpickle the chunk function, task and
    options once per worker."""
    global _PAYLOAD
    if parent is not None:
        follow_parent(parent)
    _PAYLOAD = pickle.loads(payload)


def _proc_run(batch: Batch, seed: int) -> Done:
    assert _PAYLOAD is not None, "worker was not initialised"
    return _call_batch(_PAYLOAD, batch, seed)


def _dask_run(payload: Payload, batch: Batch, seed: int) -> Done:
    return _call_batch(payload, batch, seed)


def _chunk_error(index: int, n: int, exc: BaseException) -> RuntimeError:
    if isinstance(exc, ChunkError):
        return RuntimeError(f"chunk {exc.index} of {n} failed: {exc.message}")
    return RuntimeError(f"chunk {index} of {n} failed: {type(exc).__name__}: {exc}")


def _start_method() -> str:
    return "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"


class _Pool:
    """Process-pool backend: futures, waiting, clear errors."""

    #: Aim for tasks of about this many seconds (IPC costs well under a millisecond a task).
    task_seconds = 0.1

    def __init__(self, workers: int, payload: bytes, preload: str) -> None:
        ctx = mp.get_context(_start_method())
        if ctx.get_start_method() == "forkserver":
            ctx.set_forkserver_preload([preload])  # no effect once the fork server runs
        self.workers = workers
        self.window = 2 * workers + 1
        self.exe = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_proc_init,
                                          initargs=(payload, os.getpid()))
        self.name = "processes"

    def submit(self, batch: Batch, seed: int) -> cf.Future:
        return self.exe.submit(_proc_run, batch, seed)

    def wait(self, futures: Sequence[Any]) -> list[Any]:
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def result(self, fut: cf.Future, first: int, n: int, running: Sequence[int]) -> Done:
        exc = fut.exception()
        if exc is None:
            return fut.result()
        if isinstance(exc, BrokenProcessPool):
            lo, hi = min(running, default=first), max(running, default=first)
            raise RuntimeError(
                f"a worker process died abruptly while chunks {lo}..{hi} of {n} were running "
                f"(killed by a signal, out of memory, or a crash in native code); no result was produced. "
                f"Cause: {exc}") from exc
        raise _chunk_error(first, n, exc) from exc

    def close(self, futures: Sequence[Any]) -> None:
        for f in futures:
            f.cancel()
        self.exe.shutdown(wait=True, cancel_futures=True)


class _Dask:
    """Dask backend: the payload is scattered (broadcast) once; batches of chunks are submitted."""

    #: Aim for tasks of about this many seconds (a task costs the scheduler about a millisecond).
    task_seconds = 0.5

    def __init__(self, client_or_address: Any, payload: Payload) -> None:
        from distributed import Client, as_completed

        self.own = isinstance(client_or_address, str)
        self.client = Client(client_or_address, set_as_default=False) if self.own else client_or_address
        try:
            self.client.wait_for_workers(1, timeout=60)
            nthreads = self.client.nthreads()
            self.workers = max(1, int(sum(nthreads.values())))
            self.window = 3 * self.workers + 2
            self.name = f"dask {self.client.scheduler.address}"
            [self.payload] = self.client.scatter([payload], broadcast=True, hash=False)
        except BaseException:
            if self.own:
                self.client.close()
            raise
        self.token = hashlib.sha256(os.urandom(16)).hexdigest()[:12]
        self.completed = as_completed(loop=self.client.loop)

    def submit(self, batch: Batch, seed: int) -> Any:
        fut = self.client.submit(_dask_run, self.payload, batch, seed, pure=False,
                                 key=f"nines-chunks-{batch[0][0]}-{len(batch)}-{self.token}")
        self.completed.add(fut)
        return fut

    def wait(self, futures: Sequence[Any]) -> list[Any]:
        return list(self.completed.next_batch(block=True))

    def result(self, fut: Any, first: int, n: int, running: Sequence[int]) -> Done:
        try:
            return fut.result()
        except Exception as exc:
            raise _chunk_error(first, n, exc) from exc

    def close(self, futures: Sequence[Any]) -> None:
        try:
            if futures:
                self.client.cancel(list(futures))
            self.client.cancel([self.payload])
        finally:
            if self.own:
                self.client.close()


# ------------------------------------------------------------------------------ runner
def _resolve_workers(workers: int | None) -> int:
    if workers is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)
    if int(workers) < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return int(workers)


def run_chunks(
    chunk_fn: ChunkFn,
    task: Any,
    plan: Sequence[int],
    seed: int | None,
    *,
    backend: Any = "auto",
    workers: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float = 1.0,
    target_rse: float | None = None,
    estimate_fn: Callable[[Any], Estimate] | None = None,
    progress: bool | None = None,
    quiet: bool = False,
    chunk_kwargs: Mapping[str, Any] | None = None,
    unit: str = "trials",
    desc: str = "nines",
) -> tuple[Any, RunInfo]:
    """Run every chunk of ``plan`` and add the tallies in chunk-index order.

    Parameters
    ----------
    chunk_fn : callable
        ``chunk_fn(task, chunk_index, chunk_size, seed, **chunk_kwargs) -> tally``; a
        module-level function (it is pickled by reference) whose result depends only
        on its arguments. Tallies must support ``+``; to be checkpointed they need
        ``to_dict`` and a class method ``from_dict`` (or be numbers or numeric arrays).
    task : object
        What every chunk works on (e.g. a :class:`~model.network.compiled.CompiledNetwork`);
        picklable; shipped once per worker.
    plan : sequence of int
        Units (trials, years) per chunk, e.g. :func:`model.run.seeds.chunk_plan`.
    seed : int or None
        Entropy of the root ``SeedSequence``. None: the checkpoint's seed when
        resuming, else fresh entropy (recorded in the :class:`RunInfo`).
    backend : "auto", "serial", "processes", dask Client or "tcp://host:port"
        "auto" (default): "serial" when one worker is asked for or one chunk is left;
        otherwise the first chunk runs here, and the rest on worker processes unless
        it shows they would take less than :data:`AUTO_SERIAL_SECONDS` here.
    workers : int, optional
        Worker processes for "processes" (default: all cores available to this
        process; never more than the chunks left). Ignored by Dask (the cluster's size).
    checkpoint : path, optional
        Resume from this file when it exists and write it after each completed prefix.
    checkpoint_interval : float
        Seconds between checkpoint writes at least (0: after every chunk), and at
        least 20 times the last write's duration (for large tallies). The last
        prefix is always written when the run ends, stops, fails or is interrupted.
    target_rse : float, optional
        Stop at the first prefix whose estimate has ``relative_error <= target_rse``
        (needs ``estimate_fn``).
    estimate_fn : callable, optional
        ``estimate_fn(prefix_tally) -> Estimate`` for the progress postfix and stopping.
    progress : bool or None
        Draw a tqdm bar; None: only when standard error is a terminal.
    quiet : bool
        Never draw a bar.
    chunk_kwargs : mapping, optional
        Keyword arguments of every chunk call (part of the checkpoint fingerprint).
    unit, desc : str
        Labels of the progress bar.

    Returns
    -------
    (tally, RunInfo)
        The sum of the tallies of chunks ``0..k`` (``k`` the last chunk of the plan,
        or the stopping chunk) and how the run went.

    Raises
    ------
    RuntimeError
        A chunk raised or a worker died (the message names the chunk and the cause).
    ValueError
        Bad options, or a checkpoint that belongs to another run.

    Examples
    --------
    >>> import numpy as np
    >>> from model.run.runner import run_chunks
    >>> from model.run.seeds import chunk_rng
    >>> def draw(task, i, size, seed):  # in real use: a module-level function
    ...     return chunk_rng(seed, i).random(size).sum()
    >>> total, info = run_chunks(draw, None, [1000] * 5, seed=3, backend="serial", progress=False)
    >>> bool(total == sum(draw(None, i, 1000, 3) for i in range(5))), info.chunks_run, info.stopped_early
    (True, 5, False)
    """
    start = time.perf_counter()
    plan = [int(s) for s in plan]
    if not plan or min(plan) < 1:
        raise ValueError("plan must list at least one chunk, each of at least one unit")
    if target_rse is not None:
        if not (target_rse > 0 and math.isfinite(target_rse)):
            raise ValueError(f"target_rse must be a positive number, got {target_rse}")
        if estimate_fn is None:
            raise ValueError("target_rse needs estimate_fn (tally -> Estimate)")
    kwargs = dict(chunk_kwargs or {})
    n = len(plan)
    offsets = np.concatenate([[0], np.cumsum(plan)]).tolist()

    keep = checkpoint is not None  # fingerprints cost tens of ms on a large task: only for a checkpoint
    identity = {"chunk_fn": _qualname(chunk_fn), "seed": None if seed is None else int(seed),
                "plan": rle(plan), "task": fingerprint(task) if keep else None,
                "options": fingerprint(kwargs) if keep else None}
    ckpt = Checkpoint(checkpoint, identity) if checkpoint is not None else None
    state = ckpt.load() if ckpt is not None else None
    if seed is None:
        seed = int(state["seed"]) if state is not None else int(np.random.SeedSequence().entropy)
    seed = int(seed)
    if ckpt is not None:
        ckpt.identity = {**identity, "seed": seed}

    prefix: Any = None
    k = 0
    seconds_before = 0.0
    if state is not None:
        prefix = state["tally"]
        k = int(state["chunks_done"])
        seconds_before = float(state.get("seconds_total", 0.0))
        if ckpt is not None:
            ckpt.last_written = k
    resumed = k

    def stop_now(est: Estimate | None) -> bool:
        return target_rse is not None and est is not None and est.relative_error <= target_rse

    est = estimate_fn(prefix) if (estimate_fn is not None and prefix is not None) else None
    stopped = k < n and stop_now(est)

    # backend
    w_asked = _resolve_workers(workers)
    auto = isinstance(backend, str) and backend == "auto"
    if auto:
        backend = "serial" if (w_asked == 1 or n - k <= 1) else "processes"
    runner: _Pool | _Dask | None = None
    tasks = 0
    chunk_cpu = 0.0  # CPU seconds spent in chunk functions (wherever they ran)
    if isinstance(backend, str) and backend == "serial":
        backend_name, n_workers = "serial", 1
    elif isinstance(backend, str) and backend == "processes":
        backend_name, n_workers = "processes", max(1, min(w_asked, n - k))
    elif (isinstance(backend, str) and "://" in backend) or type(backend).__name__ == "Client":
        backend_name, n_workers = "dask", 0
    else:
        raise ValueError(f"backend must be 'auto', 'serial', 'processes', a dask Client or "
                         f"'tcp://host:port', got {backend!r}")
    if backend_name != "serial":
        try:
            pickle.dumps(chunk_fn)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise ValueError(f"chunk_fn {_qualname(chunk_fn)} cannot be sent to workers: define it at module "
                             f"level ({exc})") from None

    bar = ProgressBar(offsets[-1], initial=offsets[k], unit=unit, desc=desc, progress=progress, quiet=quiet)

    last_save, save_cost = time.perf_counter(), 0.0

    def save(force: bool = True) -> None:
        # at most every checkpoint_interval seconds, and never more than ~5% of the time on writing
        nonlocal last_save, save_cost
        now = time.perf_counter()
        due = now - last_save >= max(checkpoint_interval, 20 * save_cost)
        if ckpt is not None and prefix is not None and (force or due):
            ckpt.write(k, offsets[k], prefix, seconds_before + now - start, seed)
            last_save = time.perf_counter()
            save_cost = last_save - now

    def advance(t: Any) -> None:
        nonlocal prefix, k, est, stopped
        prefix = t if prefix is None else prefix + t
        k += 1
        if estimate_fn is not None:
            est = estimate_fn(prefix)
        bar.advance(plan[k - 1], est)
        stopped = k < n and stop_now(est)

    try:
        if auto and backend_name == "processes" and not stopped:
            # time one chunk here; a run that would end soon anyway is not worth starting workers
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                t = chunk_fn(task, k, plan[k], seed, **kwargs)
            except Exception as exc:
                raise _chunk_error(k, n, exc) from exc
            chunk_cpu += time.thread_time() - c0
            advance(t)
            if (time.perf_counter() - t0) * (n - k) < AUTO_SERIAL_SECONDS:
                backend_name = "serial"
        if backend_name == "serial" and not stopped:
            while k < n and not stopped:
                c0 = time.thread_time()
                try:
                    t = chunk_fn(task, k, plan[k], seed, **kwargs)
                except Exception as exc:
                    raise _chunk_error(k, n, exc) from exc
                chunk_cpu += time.thread_time() - c0
                advance(t)
                save(force=False)
        elif k < n and not stopped:
            if backend_name == "processes":
                payload = pickle.dumps((chunk_fn, task, kwargs, _version()), protocol=5)
                runner = _Pool(n_workers, payload, chunk_fn.__module__)
            else:
                runner = _Dask(backend, (chunk_fn, task, kwargs, _version()))
                n_workers = runner.workers
                backend_name = runner.name
            inflight: dict[Any, tuple[int, int]] = {}  # future -> (first chunk, chunks)
            ready: dict[int, Any] = {}
            nxt = k
            per_chunk = 0.0  # running mean of seconds per chunk in a worker
            failure: tuple[int, RuntimeError] | None = None

            def batch_size() -> int:
                if per_chunk <= 0:
                    return 1
                fair = -(-(n - nxt) // (2 * runner.workers))  # keep the tail balanced
                return max(1, min(int(runner.task_seconds / per_chunk), fair, 1024))

            try:
                while k < n and not stopped:
                    if failure is None:
                        while nxt < n and len(inflight) < runner.window:
                            m = min(batch_size(), n - nxt)
                            batch = [(i, plan[i]) for i in range(nxt, nxt + m)]
                            inflight[runner.submit(batch, seed)] = (nxt, m)
                            nxt += m
                            tasks += 1
                    elif not any(first < failure[0] for first, _m in inflight.values()):
                        break
                    for fut in runner.wait(list(inflight)):
                        first, m = inflight.pop(fut)
                        running = [first, first + m - 1,
                                   *(f + j for f, mm in inflight.values() for j in (0, mm - 1))]
                        try:
                            tallies, secs, cpu = runner.result(fut, first, n, running)
                        except RuntimeError as exc:  # finish the chunks before it, then report it
                            cause = exc.__cause__
                            bad = cause.index if isinstance(cause, ChunkError) else first
                            if isinstance(cause, ChunkError):
                                ready.update(zip(range(first, bad), cause.done, strict=True))
                            if failure is None or bad < failure[0]:
                                failure = (bad, exc)
                            continue
                        ready.update(zip(range(first, first + m), tallies, strict=True))
                        chunk_cpu += cpu
                        per_chunk = secs / m if per_chunk == 0 else 0.8 * per_chunk + 0.2 * secs / m
                    before = k
                    while k in ready and not stopped:
                        advance(ready.pop(k))
                    if k != before:
                        save(force=False)
                if failure is not None:
                    raise failure[1]
            finally:
                runner.close(list(inflight))
        save()
    except BaseException:
        with contextlib.suppress(Exception):  # never hide the original error
            save()  # keep the completed prefix (e.g. on Ctrl-C or a worker error)
        raise
    finally:
        if stopped:
            bar.note(f"stopped: rse {est.relative_error:.3g} <= {target_rse}" if est else "stopped")
        bar.close()

    prov = provenance()
    seconds = time.perf_counter() - start
    info = RunInfo(
        nines_version=prov["nines_version"], git_commit=prov["git_commit"], seed_entropy=seed,
        chunk_size=max(plan), n_chunks=n, chunks_run=k, chunks_resumed=resumed, units_planned=offsets[-1],
        units_done=offsets[k], backend=backend_name, workers=n_workers if backend_name != "serial" else 1,
        seconds=seconds, seconds_total=seconds_before + seconds, chunk_cpu_seconds=chunk_cpu,
        stopped_early=k < n,
        target_rse=target_rse, checkpoint=None if checkpoint is None else str(checkpoint),
        extra=({"tasks": tasks} if backend_name != "serial" else {})
        | ({"start_method": _start_method()} if backend_name == "processes" else {}),
    )
    return prefix, info
