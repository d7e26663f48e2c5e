"""Shared fixtures: paths to test scenarios and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def tiny_path() -> Path:
    return DATA / "tiny.toml"


@pytest.fixture
def run_cli(capsys):
    """Run ``nines`` in-process; returns (exit code, stdout, stderr)."""
    from model.cli.main import main

    def run(*argv: str):
        code = main([str(a) for a in argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print what the fuzz suite tried and how each case ended (and save it to $NINES_FUZZ_COUNTS)."""
    import json
    import os

    try:
        from fuzzing import COUNTS, summary
    except ImportError:
        return
    table = summary()
    if not table:
        return
    terminalreporter.section("fuzz cases (kind of input x outcome)")
    terminalreporter.write_line(table)
    target = os.environ.get("NINES_FUZZ_COUNTS")
    if target:
        with open(target, "w", encoding="utf-8") as fh:
            json.dump({k: dict(v) for k, v in COUNTS.items()}, fh, indent=2, sort_keys=True)
