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
