"""A detached sandbox for the catalog's experiments, and ``chaos run`` against it.

One sandbox serves the whole folder (it takes a few seconds to start); every test
leaves its target as it found it and checks so, and ``settled`` waits, before each
experiment, until the shop takes orders again after the previous one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import sandboxes
from tests.catalog.support import ChaosRunner
from tests.sandboxes import target  # noqa: F401 - a fixture

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="package")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The sandbox's exports merged into this environment; down at the end, with nothing of PostgreSQL left."""
    yield from sandboxes.registered(tmp_path_factory, "catalog")


@pytest.fixture
def chaos(sandbox: dict[str, str], tmp_path: Path) -> ChaosRunner:
    """``chaos run`` of a catalog file, unmodified, in this test's folder (backups and logs land there)."""
    return ChaosRunner(sandbox, tmp_path, REPO / "experiments")
