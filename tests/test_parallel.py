"""Parallel runner: the same bits on one core, two processes or a Dask cluster; checkpoints; errors."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from model.network.compiled import compile_graph
from model.network.graphs import random_layered
from model.run.runner import fingerprint, run_chunks
from model.run.seeds import chunk_rng
from model.static.montecarlo import crude_monte_carlo, run_chunk

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


# --------------------------------------------------------------- chunk functions
# Module level, so that worker processes import them by reference.
def float_chunk(task, index, size, seed):
    """A floating-point tally whose sum depends on the order of addition."""
    x = chunk_rng(seed, index).standard_normal(size) * task["scale"]
    return np.array([x.sum(), (x * x).sum(), x.max()]) * 10.0 ** (index % 7 - 3)


def failing_chunk(task, index, size, seed):
    if index == task["fail_at"]:
        raise ValueError(f"bad input in chunk {index}")
    return run_chunk(task["net"], index, size, seed)


def dying_chunk(task, index, size, seed):
    if index == task["die_at"]:
        os._exit(7)  # a worker killed without a word (as by the OOM killer)
    return run_chunk(task["net"], index, size, seed)


def slow_chunk(net, index, size, seed, *, pause):
    time.sleep(pause)
    return run_chunk(net, index, size, seed)


def small_net():
    g, dem = random_layered([4, 5, 4, 3], np.random.default_rng(11), q_node=0.04, q_arc=0.03)
    return compile_graph(g, demands=dem)


GROUPS = {"first": [0, 1, 2, 3], "rest": list(range(4, 16))}


def stable(d):
    """A result dict without wall times, creation times and run descriptions."""
    if isinstance(d, dict):
        return {k: stable(v) for k, v in d.items() if k not in ("seconds", "provenance")}
    if isinstance(d, list):
        return [stable(v) for v in d]
    return d


def as_json(res) -> str:
    return json.dumps(stable(res.to_dict()), sort_keys=True)


@pytest.fixture(scope="module")
def net():
    return small_net()


@pytest.fixture(scope="module")
def cluster():
    import distributed  # part of the test extra: a missing install must fail, not skip

    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=":0", silence_logs=40) as lc, \
            distributed.Client(lc, set_as_default=False) as client:
        yield client


# ----------------------------------------------------------------- identical bits
def test_same_json_one_two_workers_and_local_cluster(net, cluster):
    opts = {"chunk_size": 4096, "groups": GROUPS, "progress": False}
    ref = crude_monte_carlo(net, 40_000, seed=5, chunk_size=4096, groups=GROUPS)
    assert ref.overall.value > 0 and ref.tally.any_unreachable > 100  # a result worth comparing
    runs = {
        "serial": crude_monte_carlo(net, 40_000, 5, backend="serial", **opts),
        "1 process": crude_monte_carlo(net, 40_000, 5, backend="processes", workers=1, **opts),
        "2 processes": crude_monte_carlo(net, 40_000, 5, backend="processes", workers=2, **opts),
        "dask": crude_monte_carlo(net, 40_000, 5, backend=cluster, **opts),
    }
    for name, res in runs.items():
        assert as_json(res) == as_json(ref), name
    run = {k: r.provenance["run"] for k, r in runs.items()}
    assert run["2 processes"]["workers"] == 2 and run["2 processes"]["backend"] == "processes"
    assert run["dask"]["workers"] == 2 and run["dask"]["backend"].startswith("dask tcp://127.0.0.1")
    assert run["serial"]["n_chunks"] == 10 and run["serial"]["seed_entropy"] == 5
    prov = runs["dask"].provenance
    assert prov["nines_version"] and "git_commit" in prov and run["dask"]["seconds"] > 0


def test_float_sums_bit_identical_across_backends(cluster):
    task = {"scale": math.pi}
    plan = [1000 + 37 * i for i in range(23)]
    serial, _ = run_chunks(float_chunk, task, plan, 9, backend="serial", progress=False)
    in_order = float_chunk(task, 0, plan[0], 9)
    for i in range(1, len(plan)):
        in_order = in_order + float_chunk(task, i, plan[i], 9)
    reverse = sum(float_chunk(task, i, plan[i], 9) for i in reversed(range(len(plan))))
    assert serial.tobytes() == in_order.tobytes()
    assert serial.tobytes() != reverse.tobytes()  # so the order really matters for this tally
    procs, info = run_chunks(float_chunk, task, plan, 9, backend="processes", workers=2, progress=False)
    dask, _ = run_chunks(float_chunk, task, plan, 9, backend=cluster.scheduler.address, progress=False)
    assert procs.tobytes() == serial.tobytes() == dask.tobytes()
    assert info.chunks_run == 23 and info.units_done == sum(plan)


def test_target_rse_stops_at_the_same_chunk_everywhere(net, cluster):
    target = 0.06
    opts = {"chunk_size": 2048, "target_rse": target, "progress": False}
    runs = [crude_monte_carlo(net, 2048 * 60, 3, backend=b, workers=2, **opts)
            for b in ("serial", "processes", cluster)]
    k = runs[0].provenance["run"]["chunks_run"]
    assert 1 < k < 60 and runs[0].provenance["run"]["stopped_early"]
    for r in runs:
        assert as_json(r) == as_json(runs[0])
        assert r.provenance["run"]["chunks_run"] == k
    assert runs[0].overall.relative_error <= target
    # the first such boundary: one chunk fewer is not precise enough
    before = crude_monte_carlo(net, 2048 * (k - 1), seed=3, chunk_size=2048)
    assert before.overall.relative_error > target
    full = crude_monte_carlo(net, 2048 * 3, 3, chunk_size=2048, target_rse=1e-9, progress=False)
    assert not full.provenance["run"]["stopped_early"] and full.samples == 2048 * 3


# -------------------------------------------------------------------- checkpoints
def test_kill_and_resume_gives_the_identical_result(net, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    n_chunks, size, seed, pause = 14, 1500, 21, 0.1
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(TESTS)!r})
        from test_parallel import slow_chunk, small_net
        from model.run.runner import run_chunks
        run_chunks(slow_chunk, small_net(), [{size}] * {n_chunks}, {seed}, backend="serial",
                   checkpoint={str(ckpt)!r}, checkpoint_interval=0, chunk_kwargs={{"pause": {pause}}},
                   progress=False)
        print("finished")
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if ckpt.exists() and json.loads(ckpt.read_text())["chunks_done"] >= 3:
                break
            time.sleep(0.005)
        assert proc.poll() is None, proc.communicate()
    finally:
        proc.kill()  # SIGKILL: no chance to clean up or write anything more
        out, _ = proc.communicate(timeout=30)
    assert "finished" not in out
    state = json.loads(ckpt.read_text())
    assert 3 <= state["chunks_done"] < n_chunks
    assert not [p for p in tmp_path.iterdir() if p.name != ckpt.name]  # no temporary file left behind
    # the same command again, here on two worker processes: it resumes and ends with the same bits
    tally, info = run_chunks(slow_chunk, small_net(), [size] * n_chunks, seed, backend="processes", workers=2,
                             checkpoint=ckpt, chunk_kwargs={"pause": pause}, progress=False)
    assert info.chunks_resumed == state["chunks_done"] and info.chunks_run == n_chunks
    assert tally == crude_monte_carlo(net, size * n_chunks, seed=seed, chunk_size=size).tally
    assert json.loads(ckpt.read_text())["chunks_done"] == n_chunks


def test_checkpoint_resume_and_complete_rerun(net, tmp_path):
    ckpt = tmp_path / "c.json"
    first = crude_monte_carlo(net, 30_000, 4, chunk_size=3000, checkpoint=ckpt, backend="serial",
                              progress=False)
    again = crude_monte_carlo(net, 30_000, 4, chunk_size=3000, checkpoint=ckpt, workers=2, progress=False)
    assert as_json(again) == as_json(first)
    assert again.provenance["run"]["chunks_resumed"] == 10 == again.provenance["run"]["chunks_run"]
    # an interrupted prefix: a stopped run's checkpoint is continued by a run without the target
    ck2 = tmp_path / "d.json"
    part = crude_monte_carlo(net, 30_000, 4, chunk_size=3000, checkpoint=ck2, target_rse=0.2, progress=False)
    k = part.provenance["run"]["chunks_run"]
    assert k < 10 and json.loads(ck2.read_text())["chunks_done"] == k
    rest = crude_monte_carlo(net, 30_000, 4, chunk_size=3000, checkpoint=ck2, workers=2, progress=False)
    assert rest.provenance["run"]["chunks_resumed"] == k
    assert as_json(rest) == as_json(first)
    # seed None takes the checkpoint's seed
    same = crude_monte_carlo(net, 30_000, None, chunk_size=3000, checkpoint=ckpt, progress=False)
    assert same.seed == 4 and as_json(same) == as_json(first)


def test_checkpoint_of_another_run_is_refused(net, tmp_path):
    ckpt = tmp_path / "x.ckpt"
    crude_monte_carlo(net, 9000, 1, chunk_size=3000, checkpoint=ckpt, backend="serial", progress=False)
    before = ckpt.read_bytes()
    other = net.with_q(net.q * 0.5)  # same structure, other failure probabilities
    cases = [
        ({"seed": 2}, "seed"),
        ({"samples": 12_000}, "chunk plan"),
        ({"net": other}, "task"),
        ({"groups": GROUPS}, "options"),
    ]
    for change, what in cases:
        kw = {"net": net, "samples": 9000, "seed": 1, **change}
        msg = rf"checkpoint {re.escape(str(ckpt))} belongs to another run: its {what}"
        with pytest.raises(ValueError, match=msg):
            crude_monte_carlo(kw.pop("net"), kw.pop("samples"), kw.pop("seed"), chunk_size=3000,
                              checkpoint=ckpt, backend="serial", progress=False, **kw)
    assert ckpt.read_bytes() == before  # a refused checkpoint is left as it was
    junk = tmp_path / "junk.ckpt"
    junk.write_text("{not json")
    with pytest.raises(ValueError, match=r"junk\.ckpt: not a nines checkpoint"):
        crude_monte_carlo(net, 9000, 1, chunk_size=3000, checkpoint=junk, progress=False)


def test_fingerprint_sees_content_not_caches(net):
    a = fingerprint(net)
    net.unreachable_demands([0])  # fills adjacency caches kept in __dict__
    assert fingerprint(net) == a
    assert fingerprint(net.with_q(net.q * 0.5)) != a


# ------------------------------------------------------------------------- errors
@pytest.mark.parametrize("backend", ["serial", "processes", "dask"])
@pytest.mark.parametrize("fail_at", [3, 61])  # early: one chunk a task; late: inside a batch of chunks
def test_a_chunk_that_raises_is_a_clear_error(net, backend, fail_at, cluster, tmp_path):
    be = cluster if backend == "dask" else backend
    ckpt = tmp_path / "e.ckpt"
    task = {"net": net, "fail_at": fail_at}
    msg = rf"chunk {fail_at} of 80 failed: ValueError: bad input in chunk {fail_at}$"
    with pytest.raises(RuntimeError, match=msg):
        run_chunks(failing_chunk, task, [200] * 80, 1, backend=be, workers=2, checkpoint=ckpt,
                   checkpoint_interval=3600, progress=False)
    # what completed before the failure is kept, nothing after it
    state = json.loads(ckpt.read_text())
    assert state["chunks_done"] == fail_at
    assert state["units_done"] == 200 * fail_at


def test_auto_backend_keeps_short_runs_here(net, monkeypatch):
    import model.run.runner as par

    ref = crude_monte_carlo(net, 8 * 1000, seed=6, chunk_size=1000)
    short = crude_monte_carlo(net, 8 * 1000, 6, chunk_size=1000, workers=2, progress=False)
    assert short.provenance["run"]["backend"] == "serial"
    monkeypatch.setattr(par, "AUTO_SERIAL_SECONDS", 0.0)
    long = crude_monte_carlo(net, 8 * 1000, 6, chunk_size=1000, workers=2, progress=False)
    assert long.provenance["run"]["backend"] == "processes" and long.provenance["run"]["workers"] == 2
    assert as_json(short) == as_json(long) == as_json(ref)
    one = crude_monte_carlo(net, 8 * 1000, 6, chunk_size=1000, workers=1, progress=False)
    assert one.provenance["run"]["backend"] == "serial" and as_json(one) == as_json(ref)


def test_fine_chunks_are_batched_into_fewer_tasks(net):
    plan = [256] * 200
    tally, info = run_chunks(run_chunk, net, plan, 2, backend="processes", workers=2, progress=False)
    assert info.extra["tasks"] < len(plan) / 4  # tiny chunks travel in batches ...
    assert tally == crude_monte_carlo(net, 256 * 200, seed=2, chunk_size=256).tally  # ... adding up the same


def test_a_worker_that_dies_is_a_clear_error(net):
    with pytest.raises(RuntimeError, match=r"worker process died abruptly while chunks"):
        run_chunks(dying_chunk, {"net": net, "die_at": 2}, [500] * 6, 1, backend="processes", workers=2,
                   progress=False)


def test_bad_options(net, tmp_path):
    with pytest.raises(ValueError, match="target_rse needs estimate_fn"):
        run_chunks(run_chunk, net, [10], 1, target_rse=0.1)
    with pytest.raises(ValueError, match="positive"):
        crude_monte_carlo(net, 100, 1, target_rse=0.0)
    with pytest.raises(ValueError, match="backend must be"):
        run_chunks(run_chunk, net, [10, 10], 1, backend="threads")
    with pytest.raises(ValueError, match="workers must be >= 1"):
        run_chunks(run_chunk, net, [10, 10], 1, workers=0)
    with pytest.raises(ValueError, match="module level"):
        run_chunks(lambda *a: 1, net, [10, 10], 1, backend="processes", workers=2)


# ----------------------------------------------------------------------- progress
def test_progress_only_when_asked_or_on_a_terminal(net, capsys):
    crude_monte_carlo(net, 8000, 1, chunk_size=2000, backend="serial")  # stderr is captured: not a tty
    assert capsys.readouterr().err == ""
    crude_monte_carlo(net, 8000, 1, chunk_size=2000, backend="serial", progress=True, quiet=True)
    assert capsys.readouterr().err == ""
    crude_monte_carlo(net, 8000, 1, chunk_size=2000, backend="serial", progress=True)
    err = capsys.readouterr().err
    assert "8.00k/8.00k" in err and "±" in err and "rse" in err


# ------------------------------------------------------------------ time engine
class InterruptAfter:
    """An estimate function that raises KeyboardInterrupt (as Ctrl-C would) after ``k`` chunks."""

    def __init__(self, k: int) -> None:
        self.k = k

    def __call__(self, tally):
        self.k -= 1
        if self.k == 0:
            raise KeyboardInterrupt
        from model.results.estimate import Estimate

        return Estimate(0.0, 0.0, 1.0, 1.0, 1, "test")


def test_simulate_same_json_and_interrupt_resume(cluster, tiny_path, tmp_path):
    import model.sim.engine as sim
    from model.sim.engine import simulate

    model = sim.as_time_model(tiny_path)
    years, cy, seed = 120, 20, 8

    def js(res):
        d = stable(res.to_dict())
        d.pop("states_evaluated")  # how many states this process evaluated: depends on its cache
        return json.dumps(d, sort_keys=True)

    ref = sim.simulate(model, years, seed=seed, chunk_years=cy)
    assert ref.tally.column("unreachable").sum() > 0  # something to compare
    for be in ("serial", "processes", cluster):
        res = simulate(model, years, seed, chunk_years=cy, backend=be, workers=2, progress=False)
        assert js(res) == js(ref), be
    # Ctrl-C after 3 chunks: the prefix is saved; the same call again resumes and ends with the same bits
    ckpt = tmp_path / "sim.ckpt"
    kwargs = {"start": "stationary", "warmup_hours": 0.0, "chunk_years": cy, "callers": None}
    with pytest.raises(KeyboardInterrupt):
        run_chunks(sim.run_chunk, model, [cy] * (years // cy), seed, backend="serial", checkpoint=ckpt,
                   checkpoint_interval=3600, estimate_fn=InterruptAfter(3), chunk_kwargs=kwargs,
                   progress=False)
    assert json.loads(ckpt.read_text())["chunks_done"] == 3
    res = simulate(model, years, seed, chunk_years=cy, backend="processes", workers=2,
                            checkpoint=ckpt, progress=False)
    assert res.prov["run"]["chunks_resumed"] == 3 and res.prov["run"]["backend"] == "processes"
    assert js(res) == js(ref)
