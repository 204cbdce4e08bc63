"""The session's shared sandbox for the catalog's experiments, and ``chaos run`` against it.

One sandbox serves the session's worker (it takes a few seconds to start); every test
leaves its target as it found it and checks so (and the fixture checks it again after
each test), and ``ChaosRunner.run`` waits, before each experiment, until the shop takes
orders steadily after the previous one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import sandboxes
from tests.catalog.support import ChaosRunner
from tests.sandboxes import target  # noqa: F401 - a fixture

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def sandbox(shared_sandbox: sandboxes.SharedSandbox) -> Iterator[dict[str, str]]:
    """The shared sandbox's exports merged into this environment; the test must leave it as it found it."""
    yield shared_sandbox.registered_env()
    shared_sandbox.check_as_found()


@pytest.fixture
def chaos(sandbox: dict[str, str], tmp_path: Path) -> ChaosRunner:
    """``chaos run`` of a catalog file, unmodified, in this test's folder (backups and logs land there)."""
    return ChaosRunner(sandbox, tmp_path, REPO / "experiments")
