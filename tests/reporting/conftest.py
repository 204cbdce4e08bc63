"""Fixtures of the report tests: report folders holding a realistic journal (see journals.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from tests.reporting.journals import SCENARIOS


@pytest.fixture
def make(tmp_path: Path) -> Callable[..., Path]:
    """make(name, folder=None): a report folder holding the journal of scenario ``name``."""

    def build(name: str, folder: str | None = None) -> Path:
        where = tmp_path / (folder or name)
        SCENARIOS[name](where)
        return where

    return build
