"""Real servers for the SLI tests: the sandbox's DNS, PostgreSQL and Kubernetes on 127.0.0.1.

Test modules import the fixtures they use from here (``from tests.sli.fixtures import zone``).
Every fixture proves its teardown: the DNS port is free and its threads are gone, no
PostgreSQL process is left in the cluster's folder, every pod process is gone and the
Kubernetes API port refuses connections.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gamedays.sandbox.dns import ZoneServer
from gamedays.sandbox.kube import KubeSandbox, ProcessRuntime
from gamedays.sandbox.postgres import PostgresCluster
from gamedays.processes import wait_gone
from tests.sandbox.dns.dnsclient import served_zone
from tests.sandbox.kube.support import pod_command
from tests.sandbox.postgres.helpers import processes_under

ORPHAN_GRACE = 2.0


def wait_until(check: Callable[[], bool], timeout: float = 5.0, step: float = 0.05) -> bool:
    """Poll ``check`` until it holds, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


# -- DNS -------------------------------------------------------------------------------------------


@pytest.fixture
def zone() -> Iterator[ZoneServer]:
    """The default sandbox zone (``db`` SRV to port 5432 and A), served for one test."""
    yield from served_zone()


# -- PostgreSQL ------------------------------------------------------------------------------------


MakeCluster = Callable[[], PostgresCluster]


def _cluster_factory(workdir: Path) -> tuple[MakeCluster, Callable[[], None]]:
    made: list[tuple[PostgresCluster, Path]] = []

    def make() -> PostgresCluster:
        cluster = PostgresCluster(workdir / f"cluster{len(made)}", orphan_grace=ORPHAN_GRACE)
        cluster.create()
        assert cluster.runtime_dir is not None
        made.append((cluster, cluster.runtime_dir))
        return cluster

    def stop_all() -> None:
        for cluster, runtime in made:
            cluster.stop()
            assert processes_under(runtime) == [], f"PostgreSQL processes left in {runtime}"
            assert not runtime.exists(), f"{runtime} not removed"

    return make, stop_all


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster]:
    """A primary and a streaming replica shared by a module's tests that leave both running."""
    make, stop_all = _cluster_factory(tmp_path_factory.mktemp("pg"))
    try:
        yield make()
    finally:
        stop_all()


@pytest.fixture
def make_pg(tmp_path: Path) -> Iterator[MakeCluster]:
    """Fresh clusters for tests that break them (kill the primary, stop the replica)."""
    make, stop_all = _cluster_factory(tmp_path)
    try:
        yield make
    finally:
        stop_all()


# -- Kubernetes ------------------------------------------------------------------------------------


@dataclass
class Kube:
    """A started sandbox Kubernetes, the kubeconfig written for it, and every pod pid seen."""

    sandbox: KubeSandbox
    kubeconfig: Path
    seen_pids: set[int]

    @property
    def env(self) -> dict[str, str]:
        """The environment an SLI sample reads its kubeconfig from (never this process's KUBECONFIG)."""
        return {"KUBECONFIG": str(self.kubeconfig)}

    def remember_pids(self) -> None:
        self.seen_pids.update(p.pid for p in self.sandbox.pods() if p.pid is not None)


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kube]:
    """A sandbox Kubernetes (pods are podserver.py processes) for a module; each test uses its own namespace."""
    root = tmp_path_factory.mktemp("kube")
    runtime = ProcessRuntime(pod_command(), log_dir=root / "logs", env=dict(os.environ))
    sandbox = KubeSandbox(runtime, nodes=2)
    sandbox.start()
    cluster = Kube(sandbox, sandbox.write_kubeconfig(root / "kubeconfig"), set())
    try:
        yield cluster
    finally:
        port = sandbox.port
        cluster.remember_pids()
        sandbox.stop()
        assert wait_gone(sorted(cluster.seen_pids), 5.0), "a pod process outlived the sandbox"
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
