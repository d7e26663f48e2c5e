"""Harness of the fuzz suite: run one ``nines`` command in-process under a time limit and judge it.

Every case is run through :func:`model.cli.main.main` (no subprocess: thousands of cases in a few
minutes) with a per-case wall-clock limit enforced by ``SIGALRM``. A case passes when

* it ends within the limit (else: ``hang``),
* no exception escapes ``main`` (else: ``traceback``),
* its exit code is 0 or 2 (else: ``exit_code``),
* a refusal (exit 2) names the input file and, for a scenario problem, the key
  (else: ``unnamed_message``),
* printed JSON has no null, NaN or infinity (else: ``null_or_nan``), and every probability or share
  in it lies in [0, 1] (else: ``probability_range``).

Each outcome is counted per kind of input in :data:`COUNTS`; ``tests/conftest.py`` prints the table
at the end of the run and writes it to ``$NINES_FUZZ_COUNTS`` when that is set.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import signal
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Wall-clock limit of one case, seconds (a case normally takes well under one second).
CASE_LIMIT_S = 30.0

#: kind of input -> Counter of "tried", "exit 0", "exit 2" and of each failure kind.
COUNTS: dict[str, Counter] = defaultdict(Counter)
FAILURE_KINDS = ("traceback", "exit_code", "hang", "unnamed_message", "null_or_nan", "probability_range")

# file-level problems (a whole file is refused): they name the file, there is no key to name
FILE_LEVEL = (
    "no such file",
    "is not valid TOML",
    "is empty",
    "is a binary file",
    "is not UTF-8",
    "tables or arrays are nested",
    "is a directory",
    "is a character device",
    "is a FIFO",
    "is a block device",
    "is a socket",
    "is not a regular file",
    "is larger than",
    "the limit for this",
    "more than 32 files",
    "cycle of extends",
    "components; a scenario may have at most",
    "cannot be read",
    "nothing can fail",
)


class _Hang(BaseException):
    """Raised by the alarm: the case ran past its limit (BaseException: no engine catches it)."""


@dataclass
class Result:
    argv: list[str]
    code: int | None
    out: str
    err: str
    seconds: float
    failure: str | None = None
    detail: str = ""
    data: Any = field(default=None, repr=False)


def _alarm(_signum: int, _frame: Any) -> None:
    raise _Hang()


def _walk(x: Any, path: tuple[str, ...] = ()):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _walk(v, (*path, str(k)))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _walk(v, (*path, str(i)))
    else:
        yield path, x


_PROB_PARENT = re.compile(r"(probability|unreachable_call_rate|^unavailability$|^by_)")
_PROB_LEAF = {"estimate", "value", "ci_low", "ci_high"}


def json_problem(data: Any) -> tuple[str, str] | None:
    """(failure kind, where) for the first null/NaN or out-of-range probability in ``data``."""
    for path, v in _walk(data):
        if v is None:
            return "null_or_nan", ".".join(path)
        if isinstance(v, float) and not math.isfinite(v):
            return "null_or_nan", ".".join(path)
        if isinstance(v, int | float) and not isinstance(v, bool) and path:
            leaf = path[-1]
            parents = path[:-1]
            is_prob = (
                leaf in _PROB_LEAF
                and any(_PROB_PARENT.search(p) for p in parents)
                and not any(p.startswith("expected_") for p in parents)
            ) or leaf == "share_cut"
            if is_prob and not 0.0 <= v <= 1.0:
                return "probability_range", f"{'.'.join(path)} = {v!r}"
    return None


def _names_file_and_key(err: str, files: Sequence[str]) -> str | None:
    """What is missing from a refusal message (None: it names a file and, where one applies, a key)."""
    text = err.strip()
    if not text:
        return "empty message"
    names = [str(f) for f in files] + [Path(f).name for f in files]
    if not any(n and n in text for n in names):
        return "names no input file"
    for line in text.splitlines():
        if line.startswith("  - "):
            m = re.match(r"^  - (.+?\.toml): (.+)$", line)
            if not m:
                return f"problem line without file: {line[:120]!r}"
            rest = m.group(2)
            if not any(rest.startswith(p) or p in rest for p in FILE_LEVEL) and not re.match(
                r"^[^\s:=][^:=]*?( = .+?)?: .+", rest
            ):
                return f"problem line without key: {line[:120]!r}"
    return None


def run(
    kind: str,
    argv: Sequence[str],
    files: Sequence[str | Path],
    *,
    limit: float = CASE_LIMIT_S,
    expect_json: bool = False,
) -> Result:
    """Run ``nines argv`` in-process, judge it and count the outcome under ``kind``."""
    from model.cli.main import main

    argv = [str(a) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    t0 = time.perf_counter()
    code: int | None = None
    failure, detail = None, ""
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except _Hang:
        failure, detail = "hang", f"over {limit:g} s"
    except BaseException as exc:  # anything escaping main is a traceback for the user
        failure, detail = "traceback", "".join(traceback.format_exception(exc))[-3000:]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    res = Result(argv, code, out.getvalue(), err.getvalue(), time.perf_counter() - t0)
    if failure is None and "Traceback (most recent call last)" in res.err + res.out:
        failure, detail = "traceback", res.err[-3000:]
    if failure is None and code not in (0, 2):
        failure, detail = "exit_code", f"exit {code}: {res.err[-2000:]}"
    if failure is None and code == 2:
        why = _names_file_and_key(res.err, [str(f) for f in files])
        if why:
            failure, detail = "unnamed_message", f"{why}: {res.err[-2000:]}"
    if failure is None and code == 0 and expect_json:
        try:
            res.data = json.loads(res.out, parse_constant=lambda c: float(c))
        except json.JSONDecodeError as exc:
            failure, detail = "null_or_nan", f"not JSON ({exc})"
        else:
            found = json_problem(res.data)
            if found:
                failure, detail = found
    res.failure, res.detail = failure, detail
    c = COUNTS[kind]
    c["tried"] += 1
    if failure:
        c[failure] += 1
    elif code is not None:
        c[f"exit {code}"] += 1
    return res


def check(res: Result) -> None:
    """Fail the test with everything needed to reproduce the case (also appended to $NINES_FUZZ_LOG)."""
    log = os.environ.get("NINES_FUZZ_LOG")
    if log and res.failure:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"=== {res.failure}: nines {' '.join(res.argv)}\n{res.detail}\n")
            for a in res.argv:
                if a.endswith(".toml") and Path(a).is_file():
                    fh.write(f"--- {a}\n{Path(a).read_text(errors='replace')}\n")
    assert res.failure is None, (
        f"{res.failure} for nines {' '.join(res.argv)} ({res.seconds:.1f} s):\n"
        f"{res.detail}\n--- stdout ---\n{res.out[-1500:]}"
    )


def summary() -> str:
    """The counts table (one row per kind of input)."""
    if not COUNTS:
        return ""
    cols = ["tried", "exit 0", "exit 2", *FAILURE_KINDS]
    rows = [f"{'kind':<22}" + "".join(f"{c:>18}" for c in cols)]
    total: Counter = Counter()
    for kind in sorted(COUNTS):
        total.update(COUNTS[kind])
        rows.append(f"{kind:<22}" + "".join(f"{COUNTS[kind][c]:>18}" for c in cols))
    rows.append(f"{'all':<22}" + "".join(f"{total[c]:>18}" for c in cols))
    return "\n".join(rows)


def toml_value(v: Any) -> str:
    """``v`` as a TOML value (floats beyond range as ``inf``/``nan``, tables inline)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def dump(doc: dict) -> str:
    """A scenario document as TOML text (top-level keys as ``key = value`` lines)."""
    return "\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in doc.items()) + "\n"
