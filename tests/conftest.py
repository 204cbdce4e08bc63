"""Fixtures shared by every test folder."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from gamedays.cli import main

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def gameday(capsys: pytest.CaptureFixture[str]):
    """Run the real `gameday` entry point in-process; returns exit code, stdout and stderr."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        else:  # pragma: no cover - main always exits
            raise AssertionError("gameday main() returned without exiting")
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def python() -> str:
    return sys.executable
