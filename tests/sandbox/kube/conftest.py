"""Fixtures of the sandbox Kubernetes tests: real sandboxes on 127.0.0.1 whose pods are podserver.py processes.

``kube`` is one sandbox for the whole session (each test works in its own namespace);
``private_kube`` is a fresh one for tests that change the whole cluster (cordon, drain,
chaos runs). Both point ``KUBECONFIG`` at a kubeconfig written for them, and on teardown
prove that every pod process they ever saw is gone and the API port is free again.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes.client import ApiClient
from kubernetes.config import kube_config, new_client_from_config

from gamedays.sandbox.kube import KubeSandbox, ProcessRuntime
from gamedays.processes import wait_gone
from tests.sandbox.kube.support import Cluster, EndpointsLog, pod_command


@pytest.fixture(scope="session")
def _session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kube")


def _start(root: Path, nodes: int = 3) -> Cluster:
    log = EndpointsLog()
    flags = root / "flags"
    flags.mkdir()
    runtime = ProcessRuntime(
        pod_command(), log_dir=root / "logs", env={**os.environ, "SANDBOX_TEST_FLAGS_DIR": str(flags)}
    )
    sandbox = KubeSandbox(runtime, nodes=nodes, on_endpoints=log)
    sandbox.start()
    kubeconfig = sandbox.write_kubeconfig(root / "kubeconfig")
    return Cluster(sandbox, kubeconfig, log, flags, set())


def _stop(cluster: Cluster) -> None:
    port = cluster.sandbox.port
    cluster.seen_pids.update(p.pid for p in cluster.sandbox.pods() if p.pid is not None)
    cluster.sandbox.stop()
    assert wait_gone(sorted(cluster.seen_pids), 5.0), "a pod process outlived the sandbox"
    with pytest.raises(ConnectionRefusedError):  # nothing listens on the API port any more
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    with socket.socket() as probe:  # and it can be bound again (connections it closed may be in TIME_WAIT)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def _point_kubeconfig_at(patch: pytest.MonkeyPatch, cluster: Cluster) -> None:
    """KUBECONFIG for chaosk8s (and `chaos run` children), and the kubernetes client's default path.

    The kubernetes package reads KUBECONFIG once, when ``kubernetes.config.kube_config`` is
    imported, and chaosk8s calls ``load_kube_config()`` without a path. A `chaos run`
    process starts with KUBECONFIG set; in this long-lived test process the package
    was imported before the sandbox existed, so its default path is set here too.
    """
    patch.setenv("KUBECONFIG", str(cluster.kubeconfig))
    patch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(cluster.kubeconfig))


@pytest.fixture(scope="session")
def kube(_session_root: Path) -> Iterator[Cluster]:
    cluster = _start(_session_root)
    with pytest.MonkeyPatch.context() as patch:
        _point_kubeconfig_at(patch, cluster)
        try:
            yield cluster
        finally:
            _stop(cluster)


@pytest.fixture
def private_kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    cluster = _start(tmp_path)
    _point_kubeconfig_at(monkeypatch, cluster)
    try:
        yield cluster
    finally:
        _stop(cluster)


@pytest.fixture
def client(kube: Cluster) -> Iterator[ApiClient]:
    """An official-client ApiClient loaded from the session sandbox's kubeconfig file."""
    api = new_client_from_config(config_file=str(kube.kubeconfig))
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def namespace(request: pytest.FixtureRequest) -> str:
    """A namespace name of this test's own (DNS-1123, short)."""
    base = request.node.name.lower().replace("_", "-")
    cleaned = "".join(c for c in base if c.isalnum() or c == "-").strip("-")
    return f"t-{cleaned[-40:].strip('-')}-{os.getpid() % 1000}"
