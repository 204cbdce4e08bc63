"""A detached sandbox for the disaster-recovery functions, shared by the folder.

Each test breaks the sandbox, recovers it with the functions under test, and leaves it
in its normal shape (checked by the test itself); at the end the sandbox goes down with
nothing of PostgreSQL left, including the servers the recovery functions started.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gamedays.sandbox import registry
from tests.catalog.support import Target, postgres_processes, wait_until


@pytest.fixture(scope="package")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The sandbox's exports merged into this environment."""
    directory = tmp_path_factory.mktemp("home") / "sandboxes" / "dr"
    running = registry.up_detached(directory, timeout=90)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "GAMEDAY_", "PG"))}
    env.update(running.info.env)
    data_dirs = (Path(env["SANDBOX_PG_PRIMARY_DATA"]), Path(env["SANDBOX_PG_REPLICA_DATA"]))
    try:
        yield env
    finally:
        assert registry.down(directory, timeout=60), "the sandbox was not running any more at the end"
        assert wait_until(lambda: not postgres_processes(data_dirs), 10), postgres_processes(data_dirs)
        assert not data_dirs[0].parent.parent.exists(), "the PostgreSQL runtime folder outlived the sandbox"


@pytest.fixture
def target(sandbox: dict[str, str]) -> Target:
    """The sandbox's parts, read with ordinary clients, settled: the shop takes orders."""
    found = Target(sandbox)
    found.shop_takes_orders(timeout=30)
    return found


@pytest.fixture(autouse=True)
def _in_a_scratch_folder(tmp_path, monkeypatch):
    """Relative files the DR functions write by default (their logs) land in the test's folder, not the repo."""
    monkeypatch.chdir(tmp_path)
