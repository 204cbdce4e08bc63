"""A detached sandbox for the catalog's experiments, and ``chaos run`` against it.

One sandbox serves the whole folder (it takes a few seconds to start); every test
leaves its target as it found it and checks so, and ``settled`` waits, before each
experiment, until the shop takes orders again after the previous one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gamedays.sandbox import registry
from tests.catalog.support import ChaosRunner, Target, postgres_processes, wait_until

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="package")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The sandbox's exports merged into this environment; down at the end, with nothing of PostgreSQL left."""
    directory = tmp_path_factory.mktemp("home") / "sandboxes" / "catalog"
    running = registry.up_detached(directory, timeout=90)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "GAMEDAY_", "PG"))}
    env.update(running.info.env)
    data_dirs = (Path(env["SANDBOX_PG_PRIMARY_DATA"]), Path(env["SANDBOX_PG_REPLICA_DATA"]))
    try:
        yield env
    finally:
        assert registry.down(directory, timeout=60), "the sandbox was not running any more at the end"
        # servers the rollbacks started again are not the supervisor's children: down() must stop them too
        assert wait_until(lambda: not postgres_processes(data_dirs), 10), postgres_processes(data_dirs)
        assert not data_dirs[0].parent.parent.exists(), "the PostgreSQL runtime folder outlived the sandbox"


@pytest.fixture
def target(sandbox: dict[str, str]) -> Target:
    """The sandbox's parts, read with ordinary clients, settled: the shop takes orders."""
    found = Target(sandbox)
    found.shop_takes_orders(timeout=30)
    return found


@pytest.fixture
def chaos(sandbox: dict[str, str], tmp_path: Path) -> ChaosRunner:
    """``chaos run`` of a catalog file, unmodified, in this test's folder (backups and logs land there)."""
    return ChaosRunner(sandbox, tmp_path, REPO / "experiments")
