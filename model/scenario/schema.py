"""Declarative schema machinery: one dataclass definition gives validation and JSON Schema.

Scenario tables are frozen dataclasses whose fields carry metadata made with :func:`spec`
(documentation, numeric range, allowed strings, the section a name must refer to).
:func:`convert` turns a parsed TOML table into the dataclass, collecting *every*
problem (unknown keys, wrong types, out-of-range values, bad choices) as a
:class:`Problem` naming the file, key path, value and what is allowed.
:func:`json_schema` turns the same dataclasses into a JSON Schema for editors.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Pump:
...     q: float = spec(0.0, "failure probability", ge=0, le=1)
>>> problems = []
>>> convert(Pump, {"q": 2.0, "colour": "red"}, ("pumps", "p1"), problems, lambda p: "f.toml")
Pump(q=2.0)
>>> for p in problems: print(p)
f.toml: pumps.p1.q = 2.0: must be <= 1
f.toml: pumps.p1.colour: unknown key; allowed keys: q
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

__all__ = ["Problem", "ScenarioError", "convert", "json_schema", "spec"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file."""

    file: str
    path: tuple[str, ...]
    value: Any
    message: str

    @property
    def key(self) -> str:
        return ".".join(self.path) if self.path else "(top level)"

    def __str__(self) -> str:
        shown = "" if self.value is NOVALUE else f" = {_short(self.value)}"
        if not self.path:
            return f"{self.file}: {self.message}"
        return f"{self.file}: {self.key}{shown}: {self.message}"


class _NoValue:
    def __repr__(self) -> str:
        return "<no value>"


NOVALUE: Any = _NoValue()


def _short(v: Any, n: int = 60) -> str:
    s = repr(v)
    return s if len(s) <= n else s[: n - 3] + "..."


class ScenarioError(ValueError):
    """A scenario could not be loaded; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in scenario:"
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))


def spec(default: Any = MISSING, doc: str = "", *, ge: float | None = None, le: float | None = None,
         gt: float | None = None, ref: str | None = None, key: str | None = None,
         default_factory: Any = MISSING) -> Any:
    """A dataclass field with schema metadata.

    ``ref`` names the scenario section whose ids the value (or its keys/items) must be;
    ``key`` is the TOML key when it differs from the attribute name (``from``).
    """
    md = {"doc": doc, "ge": ge, "le": le, "gt": gt, "ref": ref, "key": key}
    if default_factory is not MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=md)
    return dataclasses.field(default=default, metadata=md)


def _field_key(f: dataclasses.Field) -> str:
    return f.metadata.get("key") or f.name


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if tp is float:
        return "a number"
    if tp is int:
        return "a whole number"
    if tp is bool:
        return "true or false"
    if tp is str:
        return "a string"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (tuple, list):
        return "a list of " + _type_name(get_args(tp)[0]).removeprefix("a ").removeprefix("an ")
    if origin in (dict, Mapping) or origin is typing.Mapping:
        return "a table of " + _type_name(get_args(tp)[1]).removeprefix("a ")
    if dataclasses.is_dataclass(tp):
        return "a table"
    if _is_union(tp):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
    return str(tp)


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _check_range(value: float, md: Mapping[str, Any]) -> str | None:
    if not math.isfinite(value):
        return "must be a finite number"
    if md.get("ge") is not None and value < md["ge"]:
        return f"must be >= {md['ge']}"
    if md.get("gt") is not None and value <= md["gt"]:
        return f"must be > {md['gt']}"
    if md.get("le") is not None and value > md["le"]:
        return f"must be <= {md['le']}"
    return None


@functools.cache
def _dataclass_schema(tp: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field]]:
    """Type hints and fields (by file key) of a schema dataclass, worked out once per class."""
    return get_type_hints(tp), {_field_key(f): f for f in dataclasses.fields(tp)}


def convert(tp: Any, value: Any, path: tuple[str, ...], problems: list[Problem],
            origin: Callable[[tuple[str, ...]], str], md: Mapping[str, Any] | None = None) -> Any:
    """Convert ``value`` to type ``tp``; append problems; return a best-effort value."""
    md = md or {}

    def bad(msg: str, v: Any = value) -> None:
        problems.append(Problem(origin(path), path, v, msg))

    if _is_union(tp):
        args = [a for a in get_args(tp) if a is not type(None)]
        if value is None:
            return None
        if len(args) == 1:
            return convert(args[0], value, path, problems, origin, md)
        for a in args:  # first alternative that converts without problems
            trial: list[Problem] = []
            out = convert(a, value, path, trial, origin, md)
            if not trial:
                return out
        bad(f"must be {_type_name(tp)}")
        return None
    orig = get_origin(tp)
    if tp is bool:
        if not isinstance(value, bool):
            bad("must be true or false")
        return value
    if tp in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                tp is int and isinstance(value, float) and not value.is_integer()):
            bad(f"must be {_type_name(tp)}")
            return value
        try:
            v = tp(value)
            fv = float(v)
        except OverflowError:
            bad("must be a finite number (this one is beyond the floating-point range)")
            return math.inf
        msg = _check_range(fv, md)
        if msg:
            bad(msg)
        return v
    if tp is str:
        if not isinstance(value, str):
            bad("must be a string")
        return value
    if orig is Literal:
        if value not in get_args(tp):
            bad(f"must be {_type_name(tp)}")
        return value
    if orig in (tuple, list):
        (item_tp, *_rest) = get_args(tp)
        if isinstance(value, str) and item_tp is str:
            value = [value]
        if not isinstance(value, list):
            bad(f"must be {_type_name(tp)}")
            return ()
        return tuple(convert(item_tp, v, (*path, str(i)), problems, origin, md) for i, v in enumerate(value))
    if orig in (dict, Mapping) or orig is typing.Mapping:
        _k, val_tp = get_args(tp)
        if not isinstance(value, dict):
            bad(f"must be {_type_name(tp)}")
            return {}
        return {k: convert(val_tp, v, (*path, k), problems, origin, md) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            bad("must be a table")
            return None
        hints, fields = _dataclass_schema(tp)
        kwargs: dict[str, Any] = {}
        for k, v in value.items():
            f = fields.get(k)
            if f is None:
                allowed = ", ".join(sorted(fields))
                problems.append(Problem(origin((*path, k)), (*path, k), NOVALUE,
                                        f"unknown key; allowed keys: {allowed}"))
                continue
            kwargs[f.name] = convert(hints[f.name], v, (*path, k), problems, origin, f.metadata)
        for key, f in fields.items():
            if f.name not in kwargs and f.default is MISSING and f.default_factory is MISSING:
                problems.append(Problem(origin(path), (*path, key), NOVALUE,
                                        f"required key missing ({_type_name(hints[f.name])})"))
                kwargs[f.name] = None
        return tp(**kwargs)
    raise TypeError(f"unsupported schema type {tp!r}")  # programming error, not user input


def json_schema(tp: Any, md: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """JSON Schema (draft 2020-12 subset) for a schema dataclass or type."""
    md = md or {}
    out: dict[str, Any]
    orig = get_origin(tp)
    if _is_union(tp):
        args = [a for a in get_args(tp) if a is not type(None)]
        out = json_schema(args[0], md) if len(args) == 1 else {"anyOf": [json_schema(a, md) for a in args]}
    elif tp is bool:
        out = {"type": "boolean"}
    elif tp in (int, float):
        out = {"type": "integer" if tp is int else "number"}
        for k, jk in (("ge", "minimum"), ("le", "maximum"), ("gt", "exclusiveMinimum")):
            if md.get(k) is not None:
                out[jk] = md[k]
    elif tp is str:
        out = {"type": "string"}
    elif orig is Literal:
        out = {"enum": list(get_args(tp))}
    elif orig in (tuple, list):
        item = json_schema(get_args(tp)[0], md)
        out = {"anyOf": [{"type": "array", "items": item}, item]} if get_args(tp)[0] is str else {
            "type": "array", "items": item}
    elif orig in (dict, Mapping) or orig is typing.Mapping:
        out = {"type": "object", "additionalProperties": json_schema(get_args(tp)[1], md)}
    elif dataclasses.is_dataclass(tp):
        hints = get_type_hints(tp)
        props = {}
        required = []
        for f in dataclasses.fields(tp):
            p = json_schema(hints[f.name], f.metadata)
            if f.metadata.get("doc"):
                p["description"] = f.metadata["doc"]
            if f.metadata.get("ref"):
                p["description"] = (p.get("description", "") + f" (ids from [{f.metadata['ref']}])").strip()
            props[_field_key(f)] = p
            if f.default is MISSING and f.default_factory is MISSING:
                required.append(_field_key(f))
        out = {"type": "object", "properties": props, "additionalProperties": False}
        if required:
            out["required"] = required
        if tp.__doc__:
            out["description"] = " ".join(tp.__doc__.split())
    else:
        raise TypeError(f"unsupported schema type {tp!r}")
    if md.get("doc") and "description" not in out and not dataclasses.is_dataclass(tp):
        out["description"] = md["doc"]
    return out
