"""Kubernetes disaster recovery against the sandbox's API: back the shop's namespace up, lose its workloads, restore them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from chaoslib.exceptions import ActivityFailed

from gamedays.faults.kubernetes import backup as kubebackup
from gamedays.sandbox.ports import free_port
from tests.catalog.support import Target, wait_until

DROPPED = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation")


@pytest.fixture
def kube(target: Target, monkeypatch: pytest.MonkeyPatch) -> Target:
    monkeypatch.setenv("KUBECONFIG", target.env["KUBECONFIG"])  # read when called, as under chaos run
    return target


def deployments(target: Target) -> list[str]:
    from kubernetes import client, config

    apps = client.AppsV1Api(config.new_client_from_config(config_file=target.env["KUBECONFIG"]))
    return [d.metadata.name for d in apps.list_namespaced_deployment("shop").items]


def test_lost_workloads_come_back_from_the_manifest_backup(kube: Target, tmp_path: Path):
    backup = tmp_path / "shop.yaml"
    services_before = sorted(s.metadata.name for s in kube.core().list_namespaced_service("shop").items)
    taken = kubebackup.backup_namespace("shop", str(backup))
    assert "Deployment/shop-api" in taken["objects"]
    saved = yaml.safe_load(backup.read_text())
    assert saved["namespace"] == "shop"
    assert sorted(i["metadata"]["name"] for i in saved["items"] if i["kind"] == "Service") == services_before
    for item in saved["items"]:
        assert "status" not in item and not set(DROPPED) & set(item["metadata"]), item
        assert "ownerReferences" not in item["metadata"]
    deployment = next(i for i in saved["items"] if i["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 3 and "creationTimestamp" not in deployment["spec"]["template"]["metadata"]

    lost = kubebackup.delete_workloads("shop")
    assert "shop-api" in lost["deleted"]["deployments"] and lost["deleted"]["pods"]
    assert kube.shop_pods() == [] and deployments(kube) == []
    assert kube.core().list_namespaced_service("shop").items == []
    assert wait_until(lambda: kube.order() is None, 10), "the shop still takes orders without its pods"

    done = kubebackup.restore_namespace(str(backup), wait_seconds=60)
    assert "Deployment/shop-api" in done["created"] and done["existing"] == []
    kube.ready_pods(3)
    kube.shop_takes_orders(timeout=30)
    assert sorted(s.metadata.name for s in kube.core().list_namespaced_service("shop").items) == services_before

    again = kubebackup.restore_namespace(str(backup))
    assert again["created"] == [] and sorted(again["existing"]) == sorted(taken["objects"])


def test_a_json_backup_is_written_when_the_path_says_so(kube: Target, tmp_path: Path):
    backup = tmp_path / "shop.json"
    kubebackup.backup_namespace("shop", str(backup))
    assert json.loads(backup.read_text())["format"] == "gameday-namespace-backup/1"
    assert kubebackup.restore_namespace(str(backup))["created"] == []  # everything is there: nothing to do


def test_bad_arguments_name_the_thing_and_what_is_expected(kube: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    missing = tmp_path / "none.yaml"
    with pytest.raises(ActivityFailed, match=f"namespace backup {missing} does not exist: take one with backup_namespace"):
        kubebackup.restore_namespace(str(missing))
    with pytest.raises(ActivityFailed, match=r"namespace 'nowhere' does not exist on http://127.0.0.1:\d+: name an existing namespace"):
        kubebackup.backup_namespace("nowhere", str(tmp_path / "x.yaml"))
    with pytest.raises(ActivityFailed, match=r"namespace must be a Kubernetes namespace name \(lower-case letters, digits, '-'\), got 'Shop_1'"):
        kubebackup.delete_workloads("Shop_1")
    (tmp_path / "other.yaml").write_text("just: text\n")
    with pytest.raises(ActivityFailed, match="other.yaml is not a namespace backup written by gamedays.faults.kubernetes.backup"):
        kubebackup.restore_namespace(str(tmp_path / "other.yaml"))
    config = yaml.safe_load(Path(kube.env["KUBECONFIG"]).read_text())
    port = free_port()
    config["clusters"][0]["cluster"]["server"] = f"http://127.0.0.1:{port}"
    (tmp_path / "closed.kubeconfig").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "closed.kubeconfig"))
    with pytest.raises(ActivityFailed, match=rf"cannot reach the Kubernetes API at http://127.0.0.1:{port} \(trying to read namespace shop\)"):
        kubebackup.backup_namespace("shop", str(tmp_path / "x.yaml"))
    assert not (tmp_path / "x.yaml").exists()
