"""What every ``nines`` subcommand shares: exit codes, the usage error, argument types, output.

Bad input raises :class:`UsageError` (or a :class:`~model.scenario.schema.ScenarioError`);
:func:`model.cli.main.main` prints it as one line on stderr and exits 2, never with a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from typing import Any, TextIO

__all__ = ["EXIT_FAIL", "EXIT_OK", "EXIT_USAGE", "DefaultsFormatter", "EscapingWriter", "Parser",
           "UsageError", "escape_controls", "fmt", "in_words", "load_network", "positive_float",
           "positive_int", "print_json", "seed_arg"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: printed without a traceback, exit code 2."""


class DefaultsFormatter(argparse.HelpFormatter):
    """Help text that ends with the option's default, where it has a meaningful one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        d = action.default
        if "%(default)" in text or "(default" in text or d is None or d is False or d == argparse.SUPPRESS:
            return text
        if not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An argument parser that shows every option's default and reports errors as :class:`UsageError`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # argparse exits 2 already; keep its message short
        self.print_usage(sys.stderr)
        raise UsageError(f"{self.prog}: {message}")


# C0/C1 control characters (but newline and tab) and the bidirectional-text controls
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def escape_controls(text: str) -> str:
    """``text`` with control characters shown as escapes, so names cannot drive the terminal.

    >>> print(escape_controls("police\x1b[2J room\u202e"))
    police\\x1b[2J room\\u202e
    """
    return _CONTROLS.sub(lambda m: repr(m.group())[1:-1] if ord(m.group()) < 0x100
                         else f"\\u{ord(m.group()):04x}", text)


class EscapingWriter:
    """A text stream that escapes control characters (see :func:`escape_controls`) before writing."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(escape_controls(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def in_words(x: Any) -> Any:
    """JSON-ready ``x`` with no null and no NaN: an undefined number says so in words.

    NaN becomes ``"undefined"``, infinities ``"unbounded"`` (``"-unbounded"``), None (an option not
    set) ``"not set"``.

    >>> in_words({"a": float("nan"), "b": [1.5, float("inf")], "c": None})
    {'a': 'undefined', 'b': [1.5, 'unbounded'], 'c': 'not set'}
    """
    import numpy as np

    if isinstance(x, dict):
        return {str(k): in_words(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [in_words(v) for v in x]
    if isinstance(x, np.ndarray):
        return in_words(x.tolist())
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        x = float(x)
        if math.isnan(x):
            return "undefined"
        return x if math.isfinite(x) else ("unbounded" if x > 0 else "-unbounded")
    if x is None:
        return "not set"
    return x


def fmt(x: Any, spec: str = ".4g") -> str:
    """A number formatted with ``spec``, or the words that say why there is none.

    >>> fmt(0.000123456), fmt(float("nan")), fmt("undefined: no calls"), fmt(None)
    ('0.0001235', 'undefined', 'undefined: no calls', 'not set')
    """
    w = in_words(x)
    return w if isinstance(w, str) else format(w, spec)


def print_json(obj: Any) -> None:
    from model.results.estimate import jsonable

    print(json.dumps(in_words(jsonable(obj)), indent=2, allow_nan=False))


def load_network(ref: str):
    from model.network.callnetwork import build_network
    from model.scenario.loader import load_scenario

    return build_network(load_scenario(ref))


def positive_int(text: str) -> int:
    try:
        v = int(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if v <= 0 or v != float(text):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive whole number")
    return v


def seed_arg(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return v


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return v

