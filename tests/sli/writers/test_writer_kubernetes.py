"""The Kubernetes RPO writer against the sandbox Kubernetes API on 127.0.0.1, read back with the official client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.config import new_client_from_config

from gamedays.model.playbook import DataWriter
from gamedays.sandbox.kube import write_kubeconfig
from gamedays.sli.writers import WriterError, writer_for
from gamedays.sli.writers.kubernetes import RUN_LABEL, KubernetesWriter
from tests.sli.fixtures import Kube, kube  # noqa: F401 - a fixture
from tests.sli.writers.support import (
    an_outage_fails_writes_within_the_timeout,
    closed_port,
    losing_some_is_counted,
    silent_port,
    write_some,
)

NS = "rpo-writer"


@pytest.fixture(scope="module")
def namespace(kube: Kube) -> str:
    kube.sandbox.create_namespace(NS)
    return NS


@pytest.fixture
def core(kube: Kube) -> Iterator[client.CoreV1Api]:
    """The official client, as an operator would use it."""
    api = new_client_from_config(config_file=str(kube.kubeconfig))
    try:
        yield client.CoreV1Api(api)
    finally:
        api.close()


def kube_writer(kube: Kube, run: str = "run-1", namespace: str = NS, **kwargs: float) -> KubernetesWriter:
    writer = writer_for(DataWriter(kind="kubernetes", target="${NS}"), {**kube.env, "NS": namespace}, run, **kwargs)
    assert isinstance(writer, KubernetesWriter)
    return writer


def services(core: client.CoreV1Api, run: str) -> list[str]:
    return sorted(s.metadata.name for s in core.list_namespaced_service(NS, label_selector=f"{RUN_LABEL}={run}").items)


def test_acknowledged_writes_are_labelled_services(kube: Kube, namespace: str, core: client.CoreV1Api):
    writer = kube_writer(kube)
    writer.prepare()
    acked = write_some(writer, 3)
    assert services(core, "run-1") == ["gameday-rpo-run-1-1", "gameday-rpo-run-1-2", "gameday-rpo-run-1-3"]
    stamped = core.read_namespaced_service("gameday-rpo-run-1-2", NS)
    assert float(stamped.metadata.annotations["gameday.rpo/at"]) == acked[1][1]
    assert writer.survivors() == {1, 2, 3}
    assert writer.cleanup() is None and services(core, "run-1") == []
    writer.close()


def test_services_deleted_behind_its_back_are_missing_and_counted_lost(kube: Kube, namespace: str, core: client.CoreV1Api):
    writer = kube_writer(kube, "run-lost")

    def delete(seqs: list[int]) -> None:
        for seq in seqs:
            raw = core.delete_namespaced_service(writer.name_for(seq), NS, _preload_content=False)
            assert raw.status == 200
            raw.read()
            raw.release_conn()

    try:
        losing_some_is_counted(writer, delete)
    finally:
        assert writer.cleanup() is None
        writer.close()


def test_two_runs_never_see_each_others_services(kube: Kube, namespace: str, core: client.CoreV1Api):
    first, second = kube_writer(kube, "run-a"), kube_writer(kube, "run-b")
    write_some(first, 2)
    write_some(second, 2)
    assert first.survivors() == second.survivors() == {1, 2}
    assert first.cleanup() is None
    assert first.survivors() == set() and services(core, "run-a") == []
    assert second.survivors() == {1, 2}
    assert second.cleanup() is None and services(core, "run-b") == []


def test_prepare_says_when_the_namespace_does_not_exist(kube: Kube):
    writer = kube_writer(kube, namespace="no-such-ns")
    with pytest.raises(WriterError) as error:
        writer.prepare()
    assert str(error.value) == f"kubernetes http://127.0.0.1:{kube.sandbox.port} namespace no-such-ns: the namespace no-such-ns does not exist"


def test_a_namespace_that_cannot_be_one_is_refused(kube: Kube):
    with pytest.raises(WriterError) as error:
        kube_writer(kube, namespace="Shop_NS")
    assert str(error.value) == (
        "kubernetes writer: 'Shop_NS' is not a namespace name "
        "(lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit)"
    )


def test_a_missing_kubeconfig_is_named(tmp_path: Path):
    missing = tmp_path / "nope"
    with pytest.raises(WriterError) as error:
        writer_for(DataWriter(kind="kubernetes", target="shop"), {"KUBECONFIG": str(missing)}, "run-1")
    assert str(error.value) == f"kubernetes writer: cannot load the kubeconfig {missing}: no such file (set KUBECONFIG)"


def test_an_api_that_is_down_fails_writes_at_once_and_cleanup_reports(tmp_path: Path):
    port = closed_port()
    config = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}")
    writer = writer_for(DataWriter(kind="kubernetes", target="shop"), {"KUBECONFIG": str(config)}, "run-1")
    started = time.monotonic()
    with pytest.raises(WriterError) as error:
        writer.write(1, time.time())
    assert time.monotonic() - started < 1.0
    assert str(error.value) == (
        f"kubernetes http://127.0.0.1:{port} namespace shop: cannot write 1: cannot reach the API: Connection refused"
    )
    assert writer.cleanup() == (
        f"kubernetes http://127.0.0.1:{port} namespace shop: cannot list this run's services: "
        "cannot reach the API: Connection refused"
    )


def test_a_silent_api_fails_each_write_after_the_timeout_without_blocking_the_recorder(tmp_path: Path):
    with silent_port() as port:
        config = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}")
        writer = writer_for(
            DataWriter(kind="kubernetes", target="shop"), {"KUBECONFIG": str(config)}, "run-1", timeout=0.5
        )
        an_outage_fails_writes_within_the_timeout(writer, 0.5, "cannot reach the API: timed out")
