"""The ``nines`` command line: one parser, subcommands from five modules.

Subcommands: ``validate``, ``describe``, ``schema``, ``whatif`` (:mod:`model.cli.scenario_commands`),
``estimate``, ``reliability``, ``simulate``, ``replay`` (:mod:`model.cli.engines`), ``compare``
(:mod:`model.cli.compare_commands`), ``check`` (:mod:`model.cli.check`) and ``export``
(:mod:`model.cli.exchange`). SCENARIO is a path or a bundled name.
Bad input gets one clear message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from model.cli import check, compare_commands, engines, exchange, scenario_commands
from model.cli.common import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_USAGE,
    EscapingWriter,
    Parser,
    UsageError,
    escape_controls,
)
from model.version import __version__

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``nines`` argument parser with every subcommand."""
    p = Parser(prog="nines", description="Probabilistic resilience modelling of emergency call networks.")
    p.add_argument("--version", action="version", version=f"nines {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    scenario_commands.register(sub)
    engines.register(sub)
    compare_commands.register(sub)
    check.register(sub)
    exchange.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 failure, 2 bad input).

    Everything printed has its control characters escaped (names from a file cannot drive the terminal).
    """
    stdout = sys.stdout
    sys.stdout = EscapingWriter(stdout)  # type: ignore[assignment]
    try:
        return _main(argv)
    finally:
        sys.stdout = stdout


def _error(exc: BaseException | str) -> None:
    print(f"error: {escape_controls(str(exc))}", file=sys.stderr)


def _main(argv: Sequence[str] | None) -> int:
    from model.scenario.schema import ScenarioError

    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.func(args))
    except UsageError as exc:
        _error(exc)
        return EXIT_USAGE
    except ScenarioError as exc:
        _error(exc)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except (ValueError, OSError) as exc:  # bad files, graphs, sizes, unreachable schedulers
        _error(exc)
        return EXIT_USAGE
    except ImportError as exc:  # an optional extra (dask) that is not installed
        _error(f"{exc}; install it with pip install 'nines[dask]'")
        return EXIT_USAGE
    except RuntimeError as exc:  # a failed worker or chunk: the run did not complete
        _error(exc)
        return EXIT_FAIL
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # argparse --help / --version
        return int(exc.code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
