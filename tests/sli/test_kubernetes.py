"""The Kubernetes SLI source against the sandbox Kubernetes API (pods are processes) on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Iterator

import pytest
from kubernetes import client
from kubernetes.config import new_client_from_config

from gamedays.model.measurement import Measurement
from gamedays.model.slo import KubernetesSLI
from gamedays.sandbox.kube import write_kubeconfig
from gamedays.sandbox.ports import LOOPBACK, free_port
from gamedays.sli.measure import measure
from tests.sli.fixtures import Kube, kube, wait_until  # noqa: F401 - a fixture

NS = "sli-kube"


def kube_sli(deployment: str = "web", namespace: str = NS, min_ready: int = 1) -> KubernetesSLI:
    return KubernetesSLI(source="kubernetes", namespace=namespace, deployment=deployment, min_ready=min_ready)


@pytest.fixture(scope="module")
def web(kube: Kube) -> str:
    """Deployment ``web`` with 3 ready pods in namespace ``sli-kube``, left as it is by the tests using it."""
    kube.sandbox.create_deployment(NS, "web", replicas=3)
    assert kube.sandbox.wait_ready(NS, "web", timeout=15.0), "web did not become ready"
    kube.remember_pids()
    return "web"


@pytest.fixture
def apps(kube: Kube) -> Iterator[client.AppsV1Api]:
    """The official client, as an operator would use it to change the cluster."""
    api = new_client_from_config(config_file=str(kube.kubeconfig))
    try:
        yield client.AppsV1Api(api)
    finally:
        api.close()


def scale(apps: client.AppsV1Api, name: str, replicas: int) -> None:
    apps.patch_namespaced_deployment_scale(name, NS, {"spec": {"replicas": replicas}})


def test_three_ready_pods_meet_min_ready_and_the_value_is_the_count(kube: Kube, web: str):
    m = measure(kube_sli(web, min_ready=3), kube.env, timeout=2)
    assert m.good and m.value == 3.0 and m.error is None and m.elapsed < 2


def test_asking_for_more_ready_pods_than_there_are_is_bad(kube: Kube, web: str):
    m = measure(kube_sli(web, min_ready=4), kube.env, timeout=2)
    assert not m.good and m.value == 3.0
    assert m.error == f"deployment {NS}/web: 3 ready pods, fewer than 4"


def test_scaled_down_to_one_pod_is_bad_against_min_ready_2(kube: Kube, apps: client.AppsV1Api):
    kube.sandbox.create_deployment(NS, "api", replicas=3)
    assert kube.sandbox.wait_ready(NS, "api", timeout=15.0)
    kube.remember_pids()
    sli = kube_sli("api", min_ready=2)
    assert measure(sli, kube.env, timeout=2).good
    scale(apps, "api", 1)
    readings: list[Measurement] = []

    def bad() -> bool:
        readings.append(measure(sli, kube.env, timeout=2))
        return not readings[-1].good

    assert wait_until(bad, timeout=10.0), readings[-1]
    assert readings[-1].value == 1.0 and readings[-1].error == f"deployment {NS}/api: 1 ready pods, fewer than 2"
    scale(apps, "api", 0)
    assert wait_until(lambda: measure(kube_sli("api", min_ready=0), kube.env, 2).value == 0.0, timeout=10.0)
    assert measure(kube_sli("api", min_ready=0), kube.env, timeout=2).good  # min_ready 0 asks for nothing


def test_an_unknown_deployment_is_bad_with_a_clear_error(kube: Kube, web: str):
    m = measure(kube_sli("nosuch"), kube.env, timeout=2)
    assert not m.good and m.value is None
    assert m.error == f"deployment {NS}/nosuch not found (HTTP 404 from {kube.sandbox.url})"
    m = measure(kube_sli(web, namespace="elsewhere"), kube.env, timeout=2)
    assert m.error == f"deployment elsewhere/web not found (HTTP 404 from {kube.sandbox.url})"


def test_an_unreachable_api_is_bad_at_once_with_a_clear_error(tmp_path: Path):
    port = free_port()
    config = write_kubeconfig(tmp_path / "kubeconfig", f"http://{LOOPBACK}:{port}")
    started = time.monotonic()
    m = measure(kube_sli(), {"KUBECONFIG": str(config)}, timeout=2)
    assert not m.good and m.value is None
    assert m.error == f"deployment {NS}/web: cannot reach the Kubernetes API at http://{LOOPBACK}:{port}: Connection refused"
    assert time.monotonic() - started < 1.0


def test_a_silent_api_costs_one_timeout_not_one_per_retry(tmp_path: Path):
    """A listener that never answers: the client's default 3 retries would make this 4 timeouts long."""
    with socket.socket() as silent:
        silent.bind((LOOPBACK, 0))
        silent.listen(8)  # the kernel accepts the connection; nobody ever reads or answers
        url = f"http://{LOOPBACK}:{silent.getsockname()[1]}"
        config = write_kubeconfig(tmp_path / "kubeconfig", url)
        started = time.monotonic()
        m = measure(kube_sli(), {"KUBECONFIG": str(config)}, timeout=0.5)
        took = time.monotonic() - started
    assert not m.good and m.error == f"deployment {NS}/web: cannot reach the Kubernetes API at {url}: timed out"
    assert 0.45 <= took < 1.2


def test_a_missing_kubeconfig_is_bad_and_named(tmp_path: Path):
    missing = tmp_path / "nope" / "kubeconfig"
    m = measure(kube_sli(), {"KUBECONFIG": str(missing)}, timeout=2)
    assert not m.good and m.error == f"cannot load the kubeconfig {missing}: no such file (set KUBECONFIG)"


def test_the_kubeconfig_is_read_from_the_given_environment_on_every_sample(
    kube: Kube, web: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A long-lived process: neither its own KUBECONFIG nor the one the client saw at import counts."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "stale-kubeconfig"))  # this process's is wrong
    switching = tmp_path / "kubeconfig"
    write_kubeconfig(switching, kube.sandbox.url)
    env = {"KUBECONFIG": str(switching)}
    assert measure(kube_sli(web, min_ready=3), env, timeout=2).good
    dead = free_port()
    write_kubeconfig(switching, f"http://{LOOPBACK}:{dead}")  # the same file, now elsewhere
    m = measure(kube_sli(web, min_ready=3), env, timeout=2)
    assert not m.good and f"http://{LOOPBACK}:{dead}: Connection refused" in m.error
    write_kubeconfig(switching, kube.sandbox.url)
    assert measure(kube_sli(web, min_ready=3), env, timeout=2).good


def test_several_kubeconfig_files_are_merged_as_kubectl_does(kube: Kube, web: str, tmp_path: Path):
    listed = f"{tmp_path / 'missing'}:{kube.kubeconfig}"
    assert measure(kube_sli(web, min_ready=3), {"KUBECONFIG": listed}, timeout=2).good


def test_without_kubeconfig_in_the_environment_the_home_kubeconfig_is_read(
    kube: Kube, web: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HOME", str(tmp_path))
    m = measure(kube_sli(web), {}, timeout=2)
    assert not m.good and m.error == f"cannot load the kubeconfig {tmp_path}/.kube/config: no such file (set KUBECONFIG)"
    write_kubeconfig(tmp_path / ".kube" / "config", kube.sandbox.url)
    assert measure(kube_sli(web), {}, timeout=2).good
