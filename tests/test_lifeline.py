"""No orphans: after ``kill -9`` of a ``--workers 2`` run, its workers, fork server and tracker end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEADLINE_S = 120.0  # generous: a loaded machine; the processes normally end within a second


def _children() -> dict[int, int]:
    """pid -> parent pid of every live (not zombie) process."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            out[int(d.name)] = int(fields[1])
    return out


def _descendants(root: int) -> set[int]:
    procs = _children()
    found, frontier = set(), {root}
    while frontier:
        nxt = {p for p, pp in procs.items() if pp in frontier} - found
        found |= nxt
        frontier = nxt
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
def test_kill_9_of_the_parent_leaves_no_process_behind(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "model", "simulate", str(ROOT / "tests" / "data" / "tiny.toml"),
           "--years", "100000000", "--workers", "2", "--quiet"]
    err = tmp_path / "stderr.txt"
    with open(err, "wb") as fh:
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=fh)
    try:
        t0 = time.monotonic()
        kids: set[int] = set()
        while time.monotonic() - t0 < DEADLINE_S and proc.poll() is None:
            kids = _descendants(proc.pid)
            # fork server + 2 workers (+ resource tracker) once the pool has started its workers
            if len(kids) >= 3 and any(pp in kids for pp in (_children().get(k) for k in kids)):
                break
            time.sleep(0.2)
        assert proc.poll() is None, err.read_text()[-2000:]
        assert len(kids) >= 3, f"the pool did not start: {kids}"
        time.sleep(1.0)  # let every worker initialise (the lifeline starts in the initializer)
        kids = _descendants(proc.pid)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    t0 = time.monotonic()
    left = kids
    while left and time.monotonic() - t0 < DEADLINE_S:
        live = _children()
        left = {k for k in kids if k in live}
        time.sleep(0.2)
    for k in left:  # do not leave them to the next test either
        os.kill(k, signal.SIGKILL)
    assert not left, f"processes left after kill -9 of the parent: {sorted(left)}"
