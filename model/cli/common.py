"""What every ``nines`` subcommand shares: exit codes, the usage error, argument types, output.

Bad input raises :class:`UsageError` (or a :class:`~model.scenario.schema.ScenarioError`);
:func:`model.cli.main.main` prints it as one line on stderr and exits 2, never with a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["EXIT_FAIL", "EXIT_OK", "EXIT_USAGE", "DefaultsFormatter", "Parser", "UsageError", "load_network",
           "positive_float", "positive_int", "print_json", "seed_arg"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: printed without a traceback, exit code 2."""


class DefaultsFormatter(argparse.HelpFormatter):
    """Help text that ends with the option's default, where it has a meaningful one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        d = action.default
        if "%(default)" in text or d is None or d is False or d == argparse.SUPPRESS:
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


def print_json(obj: Any) -> None:
    from model.results.estimate import jsonable

    print(json.dumps(jsonable(obj), indent=2))


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

