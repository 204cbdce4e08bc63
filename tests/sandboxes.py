"""Detached sandboxes for test fixtures: one place that starts one, yields its environment and takes it down.

Each fixture that needs a sandbox delegates to one of these generators, with its own scope
(package or module): every folder still gets a sandbox of its own.

- :func:`registered` starts it through :mod:`gamedays.sandbox.registry` (in-process) and, at
  the end, checks that nothing of PostgreSQL outlived it;
- :func:`through_the_cli` starts it as a user does, with ``gameday sandbox up --detach`` in a
  GAMEDAY_HOME of its own, and reads the ``export`` lines it prints.

:func:`target` is a fixture for folders whose ``sandbox`` fixture yields its environment:
import it into their conftest.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from gamedays.sandbox import registry
from tests.catalog.support import Target, postgres_processes, wait_until

START_TIMEOUT = 90  # seconds for the sandbox to come up
STOP_TIMEOUT = 60
CLI_TIMEOUT = 120  # `gameday sandbox up|down` as a subprocess


def registered(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[dict[str, str]]:
    """A sandbox named ``name``: its exports merged into this environment (without AWS_*, GAMEDAY_*, PG*).

    At the end it goes down with nothing of PostgreSQL left: no server working in its data
    directories (also none that a test or a rollback started again: those are not the
    supervisor's children, down() must stop them too) and no PostgreSQL runtime folder.
    """
    directory = tmp_path_factory.mktemp("home") / "sandboxes" / name
    running = registry.up_detached(directory, timeout=START_TIMEOUT)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "GAMEDAY_", "PG"))}
    env.update(running.info.env)
    data_dirs = (Path(env["SANDBOX_PG_PRIMARY_DATA"]), Path(env["SANDBOX_PG_REPLICA_DATA"]))
    try:
        yield env
    finally:
        assert registry.down(directory, timeout=STOP_TIMEOUT), "the sandbox was not running any more at the end"
        assert wait_until(lambda: not postgres_processes(data_dirs), 10), postgres_processes(data_dirs)
        assert not data_dirs[0].parent.parent.exists(), "the PostgreSQL runtime folder outlived the sandbox"


@pytest.fixture
def target(sandbox: dict[str, str]) -> Target:
    """The sandbox's parts, read with ordinary clients, settled: the shop takes orders, steadily."""
    found = Target(sandbox)
    found.shop_is_steady(timeout=30)
    return found


def through_the_cli(home: Path, base: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """``gameday sandbox up --detach`` with ``base`` and GAMEDAY_HOME=``home``; yields ``base`` plus the exports.

    ``gameday sandbox down`` at the end, with the same environment.
    """
    env = {**base, "GAMEDAY_HOME": str(home)}
    up = _gameday(env, "sandbox", "up", "--detach")
    assert up.returncode == 0, up.stderr
    try:
        yield {**env, **exports(up.stdout)}
    finally:
        _gameday(env, "sandbox", "down")


def exports(printed: str) -> dict[str, str]:
    """``{NAME: value}`` of the ``export NAME=value`` lines ``gameday sandbox up --detach`` prints (shell-quoted values)."""
    found = {}
    for line in printed.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        found[name] = shlex.split(value)[0]
    return found


def _gameday(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gamedays", *args], env=dict(env), capture_output=True, text=True, timeout=CLI_TIMEOUT)
