"""Checkpoints of a chunked run, treated as data: validated, checked, never trusted.

A checkpoint holds the identity of a run (chunk function, seed, chunk plan,
fingerprints of the task and options), the number of chunks done and the summed
tally of those chunks. It is JSON in a versioned layout (:data:`CHECKPOINT_FORMAT`),
written atomically (temporary file, ``fsync``, ``os.replace``).

Loading never imports or calls anything the file names: a tally of a class is
rebuilt only when that class was registered with :func:`register_tally` by the
engine that runs (the file's type name is looked up in that table, nothing else).
Every field is checked against the schema; a keyed digest (HMAC-SHA256 over the
content, keyed with the run's identity) detects any edit or corruption; and the
tally's own counts (trials, simulated years, chunk indices) must match the chunks
done. A file that fails any check is refused with a ``ValueError`` naming the file
and what is wrong, and left as it is.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "run.ckpt"
>>> ident = {"chunk_fn": "m:f", "seed": 1, "plan": [[10, 3]], "task": "t", "options": "o"}
>>> Checkpoint(path, ident).write(2, 20, 7, 0.5, 1)
>>> Checkpoint(path, ident).load()["tally"]
7
>>> _ = path.write_text(path.read_text().replace('"data": 7', '"data": 8'))
>>> Checkpoint(path, ident).load()  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: checkpoint ...run.ckpt: its content does not match its digest (edited or corrupt); ...
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.scenario.files import MAX_CHECKPOINT_BYTES, InputFileError, read_input

__all__ = ["CHECKPOINT_FORMAT", "Checkpoint", "register_tally", "rle"]

#: Identifies nines checkpoint files; the number is the layout version (bumped when it changes).
CHECKPOINT_FORMAT = "nines-checkpoint-2"
_FORMAT_PREFIX = "nines-checkpoint-"

#: Deepest JSON nesting a checkpoint may have (tallies are at most 5 deep).
MAX_DEPTH = 16

@dataclass(frozen=True)
class _TallyType:
    cls: type
    check: Callable[[Any, int, int], str | None] | None


_REGISTRY: dict[str, _TallyType] = {}


def _type_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def register_tally(cls: type, check: Callable[[Any, int, int], str | None] | None = None) -> type:
    """Allow tallies of ``cls`` in checkpoints (it needs ``to_dict`` and a ``from_dict`` class method).

    ``check(tally, chunks_done, units_done)`` returns what is inconsistent (a short text) or None;
    e.g. a tally of trials must count exactly ``units_done`` trials. Returns ``cls`` (usable as a
    decorator).

    Examples
    --------
    >>> class Count(int):
    ...     def to_dict(self): return {"n": int(self)}
    ...     @classmethod
    ...     def from_dict(cls, d): return cls(d["n"])
    >>> register_tally(Count, lambda t, k, units: None if t == units else f"counts {t}, not {units}")
    <class 'model.run.checkpoint.Count'>
    """
    if not (hasattr(cls, "to_dict") and hasattr(cls, "from_dict")):
        raise TypeError(f"{cls.__qualname__} needs to_dict and from_dict to be checkpointed")
    _REGISTRY[_type_name(cls)] = _TallyType(cls, check)
    return cls


def rle(plan: Sequence[int]) -> list[list[int]]:
    """Run-length form ``[[size, count], ...]`` of a chunk plan.

    >>> rle([5, 5, 5, 2])
    [[5, 3], [2, 1]]
    """
    out: list[list[int]] = []
    for s in plan:
        if out and out[-1][0] == s:
            out[-1][1] += 1
        else:
            out.append([int(s), 1])
    return out


# ------------------------------------------------------------------------- tally codec
def _encode_tally(t: Any) -> dict[str, Any]:
    if type(t).__module__ != "builtins" and hasattr(t, "to_dict") and hasattr(type(t), "from_dict"):
        name = _type_name(type(t))
        if name not in _REGISTRY:
            raise TypeError(f"cannot checkpoint a tally of type {type(t).__qualname__}: register it with "
                            "model.run.checkpoint.register_tally")
        return {"kind": "object", "type": name, "data": t.to_dict()}
    if isinstance(t, np.ndarray) and t.dtype.kind in "biuf":
        return {"kind": "ndarray", "dtype": t.dtype.str, "shape": list(t.shape), "data": t.ravel().tolist()}
    if isinstance(t, bool | int | float):
        return {"kind": type(t).__name__, "data": t}
    raise TypeError(f"cannot checkpoint a tally of type {type(t).__qualname__}: give it to_dict/from_dict")


class _Bad(Exception):
    """A checkpoint field that breaks the schema (caught and reported with the file name)."""


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise _Bad(what)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _decode_tally(d: Any) -> Any:
    _need(isinstance(d, dict) and set(d) >= {"kind", "data"}, "tally must be a table with kind and data")
    kind = d["kind"]
    if kind == "object":
        entry = _REGISTRY.get(d.get("type")) if isinstance(d.get("type"), str) else None
        _need(entry is not None, f"tally type {str(d.get('type'))[:80]!r} is not one this run can read "
                                 f"(allowed: {', '.join(sorted(_REGISTRY)) or 'none'})")
        _need(isinstance(d["data"], dict), "tally data must be a table")
        try:
            return entry.cls.from_dict(d["data"])
        except Exception as exc:  # any malformed field of the tally: refused, never half-read
            raise _Bad(f"tally data do not fit a {entry.cls.__qualname__} ({type(exc).__name__}: "
                       f"{str(exc)[:120]})") from None
    if kind == "ndarray":
        dtype, shape, data = d.get("dtype"), d.get("shape"), d["data"]
        try:
            numeric = isinstance(dtype, str) and len(dtype) <= 4 and np.dtype(dtype).kind in "biuf"
        except TypeError:
            numeric = False
        _need(numeric, f"tally dtype {str(dtype)[:20]!r} is not numeric")
        _need(isinstance(shape, list) and len(shape) <= 4 and all(_is_int(s) and s >= 0 for s in shape),
              "tally shape must be a list of sizes")
        _need(isinstance(data, list) and len(data) == math.prod(shape)
              and all(isinstance(x, int | float) and not isinstance(x, bool) for x in data),
              "tally data must be a flat list of numbers of the stated shape")
        return np.array(data, dtype=np.dtype(dtype)).reshape(shape)
    types = {"bool": bool, "int": int, "float": float}
    _need(kind in types, f"tally kind {str(kind)[:20]!r} is not one of object, ndarray, bool, int, float")
    data = d["data"]
    ok = isinstance(data, bool) if kind == "bool" else (
        not isinstance(data, bool) and (_is_int(data) if kind == "int" else isinstance(data, int | float)))
    _need(ok, f"tally data must be a {kind}")
    return types[kind](data)


# ------------------------------------------------------------------------- the file
_FIELDS: dict[str, Callable[[Any], bool]] = {
    "format": lambda v: isinstance(v, str),
    "chunk_fn": lambda v: isinstance(v, str),
    "seed": lambda v: _is_int(v) and v >= 0,
    "plan": lambda v: isinstance(v, list) and all(
        isinstance(r, list) and len(r) == 2 and all(_is_int(x) and x >= 1 for x in r) for r in v),
    "task": lambda v: isinstance(v, str),
    "options": lambda v: isinstance(v, str),
    "chunks_done": _is_int,
    "units_done": _is_int,
    "seconds_total": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    and v >= 0,
    "written_utc": lambda v: isinstance(v, str),
    "tally": lambda v: isinstance(v, dict),
    "digest": lambda v: isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v),
}


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True).encode()


def _digest(identity: Mapping[str, Any], content: Mapping[str, Any]) -> str:
    key = _canonical({k: identity[k] for k in ("chunk_fn", "seed", "plan", "task", "options")})
    body = _canonical({k: v for k, v in content.items() if k != "digest"})
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _depth_ok(obj: Any) -> bool:
    stack = [(obj, 0)]
    while stack:
        node, d = stack.pop()
        if d > MAX_DEPTH:
            return False
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, d + 1) for v in node if isinstance(v, dict | list))
    return True


def _short(x: Any) -> str:
    s = json.dumps(x) if not isinstance(x, str) else x
    return s if len(s) <= 60 else s[:57] + "..."


class Checkpoint:
    """Reads, checks and atomically writes the checkpoint of one run.

    Parameters
    ----------
    path : path
    identity : dict
        ``chunk_fn`` (qualified name), ``seed`` (int, or None: take the file's),
        ``plan`` (:func:`rle` form), ``task`` and ``options`` (fingerprints).
    """

    def __init__(self, path: str | os.PathLike[str], identity: dict[str, Any]) -> None:
        self.path = Path(path)
        self.identity = identity
        self.last_written = -1

    def _fail(self, what: str) -> ValueError:
        return ValueError(f"checkpoint {self.path}: {what}; remove it or choose another checkpoint file")

    def load(self) -> dict[str, Any] | None:
        """The stored state (``tally`` decoded), or None when there is no file.

        Raises
        ------
        ValueError
            The file is not a readable regular file, not a nines checkpoint, of another layout
            version, breaks the schema, does not match its digest, belongs to another run, or
            its tally does not match the chunks done.
        """
        if not self.path.exists() and not self.path.is_symlink():
            return None
        try:
            raw = read_input(self.path, limit=MAX_CHECKPOINT_BYTES, shown=f"checkpoint {self.path}")
        except InputFileError as exc:
            raise ValueError(str(exc)) from None
        try:
            data = json.loads(raw.decode("utf-8"))
        except json.JSONDecodeError as exc:
            raise self._fail(f"not a nines checkpoint (invalid JSON: {exc.msg} at line {exc.lineno})"
                             ) from None
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise self._fail(f"not a nines checkpoint ({type(exc).__name__})") from None
        fmt = data.get("format") if isinstance(data, dict) else None
        if not isinstance(fmt, str) or not fmt.startswith(_FORMAT_PREFIX):
            raise self._fail(f"not a nines checkpoint (expected format {CHECKPOINT_FORMAT!r})")
        if data["format"] != CHECKPOINT_FORMAT:
            raise self._fail(f"written in layout {_short(fmt)}, this nines reads {CHECKPOINT_FORMAT}")
        if not _depth_ok(data):
            raise self._fail(f"nested more than {MAX_DEPTH} deep (corrupt)")
        unknown = sorted(set(data) - set(_FIELDS))
        missing = sorted(set(_FIELDS) - set(data))
        if unknown or missing:
            parts = ([f"unknown keys {', '.join(unknown)[:80]}"] if unknown else []) + (
                [f"missing keys {', '.join(missing)}"] if missing else [])
            raise self._fail(f"does not follow the checkpoint schema ({'; '.join(parts)})")
        for key, ok in _FIELDS.items():
            if not ok(data[key]):
                raise self._fail(f"field {key} = {_short(data[key])} does not follow the checkpoint schema")
        ident = dict(self.identity)
        if ident.get("seed") is None:
            ident["seed"] = data["seed"]
        if not hmac.compare_digest(data["digest"], _digest(ident, data)):
            # say which identity field differs when that is why; else the content was edited
            labels = {"chunk_fn": "chunk function", "seed": "seed", "plan": "chunk plan",
                      "task": "task (network) fingerprint", "options": "options fingerprint"}
            for key, label in labels.items():
                if data.get(key) != ident[key]:
                    raise ValueError(
                        f"checkpoint {self.path} belongs to another run: its {label} differs "
                        f"(file: {_short(data.get(key))}; this run: {_short(ident[key])}); "
                        "remove the file or choose another checkpoint path")
            raise self._fail("its content does not match its digest (edited or corrupt)")
        plan = [s for s, n in ident["plan"] for _ in range(n)]
        k = data["chunks_done"]
        if not 0 < k <= len(plan):
            raise self._fail(f"chunks_done = {k} is outside 1..{len(plan)}")
        if data["units_done"] != sum(plan[:k]):
            raise self._fail(f"units_done = {data['units_done']} is not the {sum(plan[:k])} of {k} chunks")
        try:
            tally = _decode_tally(data["tally"])
        except _Bad as exc:
            raise self._fail(str(exc)) from None
        entry = _REGISTRY.get(_type_name(type(tally)))
        problem = entry.check(tally, k, data["units_done"]) if entry is not None and entry.check else None
        if problem:
            raise self._fail(f"its tally does not match the {k} chunks done ({problem})")
        return {**data, "tally": tally}

    def write(self, chunks_done: int, units_done: int, tally: Any, seconds_total: float, seed: int) -> None:
        """Write the state after ``chunks_done`` chunks (no-op when that prefix is already written)."""
        if chunks_done == self.last_written:
            return
        ident = {**self.identity, "seed": int(seed)}
        data = {"format": CHECKPOINT_FORMAT, **ident, "chunks_done": int(chunks_done),
                "units_done": int(units_done), "seconds_total": float(seconds_total),
                "written_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "tally": _encode_tally(tally)}
        data["digest"] = _digest(ident, data)
        text = json.dumps(data, allow_nan=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.last_written = chunks_done
