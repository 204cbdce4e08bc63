"""Fixtures for the experiment process: a launcher that reaps every child, the sandbox, its shop deployment.

Everything is checked on the target: the Kubernetes API through the sandbox's
kubeconfig with the official client, files an activity wrote, the process table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from gamedays.engine.experiment_process import ExperimentProcess, ExperimentSpec
from gamedays.processes import wait_gone
from tests.engine.experiment_process.support import Launch, Launched, Shop, child_env


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launch]:
    """Start experiments in child processes; any child still there at teardown is killed and reaped."""
    started: list[Launched] = []

    def start(body: dict, configuration: dict | None = None, *, env: dict[str, str] | None = None, dry: bool = False, name: str = "run") -> Launched:
        folder = tmp_path / name
        spec = ExperimentSpec(
            experiment=body,
            configuration=configuration or {},
            journal_path=folder / "journal.json",
            log_path=folder / "chaostoolkit.log",
            env=env if env is not None else child_env(),
            dry=dry,
        )
        launched = Launched(ExperimentProcess(spec, lambda e: launched.events.append(e)), spec)
        started.append(launched)
        launched.process.start()
        return launched

    yield start
    for launched in started:
        if launched.process.pid is not None:
            launched.process.kill()
            launched.process.wait(10)
    assert wait_gone([pid for pid in (launched.process.pid for launched in started) if pid is not None], 5)


# --- the sandbox --------------------------------------------------------------------------------------------------


@pytest.fixture
def sandbox(shared_sandbox) -> Iterator[dict[str, str]]:
    """The session's shared sandbox (3 shop replicas): its exports; the test must leave it as it found it."""
    yield shared_sandbox.exports
    shared_sandbox.check_as_found()


@pytest.fixture
def shop_api(sandbox: dict[str, str]) -> Iterator[Shop]:
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=sandbox["KUBECONFIG"])
    try:
        yield Shop(client.CoreV1Api(api), client.AppsV1Api(api))
    finally:
        api.close()


@pytest.fixture
def shop(shop_api: Shop) -> Iterator[Shop]:
    """The deployment at 3 ready pods before the test, and put back to 3 after it, whatever the test did."""
    assert shop_api.wait_ready(3), f"the shop is not at 3 ready pods before the test: {shop_api.ready()}"
    yield shop_api
    if shop_api.replicas() != 3:
        shop_api.scale(3)
    assert shop_api.wait_ready(3), "the shop did not get back to 3 ready pods after the test"


@pytest.fixture
def sandbox_env(sandbox: dict[str, str]) -> dict[str, str]:
    return child_env(**sandbox)
