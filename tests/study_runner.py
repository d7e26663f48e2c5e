"""Run a study script as a user would: ``python studies/<name>.py ...`` in a fresh process.

Tests of studies only run the script and read its JSON and HTML; they never import
a study's internals. The package under test comes first on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_study_script(name: str, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``studies/<name>.py`` with ``args``; with ``check`` a non-zero exit fails with its stderr."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    r = subprocess.run([sys.executable, str(ROOT / "studies" / f"{name}.py"), *map(str, args)],
                       capture_output=True, text=True, check=False, env=env, cwd=ROOT)
    if check and r.returncode != 0:
        raise AssertionError(f"studies/{name}.py exited {r.returncode}:\n{r.stderr[-4000:]}")
    return r
