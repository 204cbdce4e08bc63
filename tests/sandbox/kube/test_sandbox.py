"""KubeSandbox as the supervisor uses it: side by side instances, clean failures, nothing left behind."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.config import new_client_from_config

from gamedays.model.errors import SandboxError
from gamedays.sandbox.kube import KubeSandbox, ProcessRuntime, write_kubeconfig
from gamedays.processes import wait_gone
from tests.sandbox.kube.support import pod_command, wait_until


def _kube_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("kube-")}


def test_two_sandboxes_side_by_side_and_nothing_left_after_stop(tmp_path: Path):
    threads_before = _kube_threads()
    first = KubeSandbox(ProcessRuntime(pod_command()), nodes=["a", "b"])
    second = KubeSandbox(ProcessRuntime(pod_command()), nodes=1)
    pids: list[int] = []
    with first, second:
        assert first.port != second.port
        first.create_deployment("one", "web", replicas=2)
        second.create_deployment("two", "api", replicas=1)
        assert first.wait_ready("one", "web", 10.0) and second.wait_ready("two", "api", 10.0)
        assert {p.node for p in first.pods()} == {"a", "b"} and [p.node for p in second.pods()] == ["sandbox-node-1"]
        pids = [p.pid for p in first.pods() + second.pods() if p.pid is not None]
        assert len(pids) == 3
        for sandbox, expected in ((first, ["web"]), (second, ["api"])):
            api = new_client_from_config(config_file=str(sandbox.write_kubeconfig(tmp_path / f"{sandbox.port}.yaml")))
            names = [d.metadata.name for d in k8s.AppsV1Api(api).list_deployment_for_all_namespaces().items]
            api.close()
            assert names == expected
        ports = (first.port, second.port)
    assert wait_gone(pids, 5.0)
    assert wait_until(lambda: _kube_threads() <= threads_before, timeout=5.0), _kube_threads() - threads_before
    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_port_in_use_is_a_clear_error_and_start_leaves_nothing():
    threads_before = _kube_threads()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sandbox = KubeSandbox(ProcessRuntime(pod_command()), port=port)
        with pytest.raises(SandboxError, match=f"cannot listen on 127.0.0.1:{port}.*choose another port"):
            sandbox.start()
    assert _kube_threads() <= threads_before
    sandbox.stop()  # stopping again is harmless


def test_a_pod_whose_command_cannot_start_waits_with_an_error(tmp_path: Path):
    with KubeSandbox(ProcessRuntime(["/nonexistent/shop-binary", "{port}"]), nodes=1) as sandbox:
        sandbox.create_deployment("broken", "shop", replicas=1)
        api = new_client_from_config(config_file=str(sandbox.write_kubeconfig(tmp_path / "kubeconfig")))
        try:
            core = k8s.CoreV1Api(api)
            state = wait_until(
                lambda: next(
                    iter(
                        [
                            s.state.waiting
                            for p in core.list_namespaced_pod("broken").items
                            for s in (p.status.container_statuses or [])
                            if s.state.waiting and s.state.waiting.reason == "CreateContainerError"
                        ]
                    ),
                    None,
                )
            )
            assert state is not None and "cannot start /nonexistent/shop-binary" in state.message
            pod = core.list_namespaced_pod("broken").items[0]
            assert pod.status.phase == "Pending"
            reasons = [e.reason for e in core.list_namespaced_event("broken").items]
            assert "Failed" in reasons
        finally:
            api.close()
        assert not sandbox.wait_ready("broken", "shop", 0.3)


def test_kubeconfig_is_an_ordinary_one(tmp_path: Path):
    path = write_kubeconfig(tmp_path / "nested" / "config", "http://127.0.0.1:6443", namespace="shop")
    document = yaml.safe_load(path.read_text())
    assert document["current-context"] == "gameday-sandbox"
    assert document["clusters"] == [{"name": "gameday-sandbox", "cluster": {"server": "http://127.0.0.1:6443"}}]
    assert document["contexts"][0]["context"] == {
        "cluster": "gameday-sandbox",
        "user": "gameday-sandbox",
        "namespace": "shop",
    }
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    api = new_client_from_config(config_file=str(path))
    assert api.configuration.host == "http://127.0.0.1:6443"
    api.close()
