"""The sandbox API through the official ``kubernetes`` client: objects, errors, selectors, watch, discovery."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client import ApiClient
from kubernetes.client.rest import ApiException

from tests.sandbox.kube.support import Cluster, wait_until


def _status(error: ApiException) -> dict:
    return json.loads(error.body)


def test_version_deserialises_with_every_field(client: ApiClient):
    info = k8s.VersionApi(client).get_code()
    assert (info.major, info.minor) == ("1", "30")
    assert info.git_version.startswith("v1.30") and info.platform == "linux/amd64" and info.go_version


def test_discovery_lists_groups_and_resources(client: ApiClient):
    assert k8s.CoreApi(client).get_api_versions().versions == ["v1"]
    groups = {g.name for g in k8s.ApisApi(client).get_api_versions().groups}
    assert {"apps", "networking.k8s.io", "events.k8s.io"} <= groups
    core = {r.name for r in k8s.CoreV1Api(client).get_api_resources().resources}
    assert {"pods", "pods/eviction", "pods/log", "nodes", "namespaces", "events", "services", "endpoints"} <= core
    apps = {r.name: r for r in k8s.AppsV1Api(client).get_api_resources().resources}
    assert apps["deployments/scale"].kind == "Scale" and apps["deployments/scale"].group == "autoscaling"
    assert "replicasets" in apps


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_discovers_and_lists(kube: Cluster, namespace: str):
    kube.deploy(namespace, "cli", replicas=1)
    run = subprocess.run(
        ["kubectl", "--kubeconfig", str(kube.kubeconfig), "get", "pods", "-n", namespace, "-o", "name"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().startswith("pod/cli-")
    version = subprocess.run(
        ["kubectl", "--kubeconfig", str(kube.kubeconfig), "version", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert json.loads(version.stdout)["serverVersion"]["gitVersion"] == "v1.30.0-gameday-sandbox"


def test_objects_carry_identity_owners_and_non_null_fields(kube: Cluster, client: ApiClient, namespace: str):
    kube.deploy(namespace, "shape", replicas=2)
    core, apps = k8s.CoreV1Api(client), k8s.AppsV1Api(client)
    deployment = apps.read_namespaced_deployment("shape", namespace)
    replicasets = apps.list_namespaced_replica_set(namespace).items
    pods = core.list_namespaced_pod(namespace).items
    assert len(replicasets) == 1 and len(pods) == 2
    rs = replicasets[0]
    assert rs.metadata.owner_references[0].uid == deployment.metadata.uid
    assert rs.metadata.owner_references[0].kind == "Deployment" and rs.metadata.owner_references[0].controller
    for pod in pods:
        owner = pod.metadata.owner_references[0]
        assert (owner.kind, owner.name, owner.uid) == ("ReplicaSet", rs.metadata.name, rs.metadata.uid)
        assert (
            pod.metadata.name.startswith(f"{rs.metadata.name}-") and len(pod.metadata.name) == len(rs.metadata.name) + 6
        )
        assert pod.spec.volumes == [] and pod.spec.containers[0].name == "app" and pod.spec.containers[0].image
        assert pod.metadata.uid and int(pod.metadata.resource_version) > 0 and pod.metadata.creation_timestamp
        assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "True"
        assert pod.status.container_statuses[0].ready and pod.status.container_statuses[0].restart_count == 0
        assert pod.status.phase == "Running" and pod.spec.node_name.startswith("sandbox-node-")
    assert deployment.metadata.generation == 1 and deployment.status.observed_generation == 1
    assert (
        deployment.status.replicas,
        deployment.status.ready_replicas,
        deployment.status.available_replicas,
        deployment.status.updated_replicas,
    ) == (2, 2, 2, 2)
    assert {c.type: c.status for c in deployment.status.conditions} == {"Available": "True", "Progressing": "True"}
    assert len({p.spec.node_name for p in pods}) == 2  # the two replicas are spread over two nodes
    versions = [int(o.metadata.resource_version) for o in (deployment, rs, *pods)]
    assert len(set(versions)) == len(versions)
    nodes = core.list_node().items
    assert [n.metadata.name for n in nodes] == ["sandbox-node-1", "sandbox-node-2", "sandbox-node-3"]
    assert all(n.status.node_info.kubelet_version and not n.spec.unschedulable for n in nodes)
    service = core.read_namespaced_service("shape", namespace)
    assert service.spec.selector == {"app": "shape"}
    endpoints = wait_until(lambda: core.read_namespaced_endpoints("shape", namespace).subsets or None)
    ports = sorted(s.ports[0].port for s in endpoints)
    assert ports == sorted(p.port for p in kube.sandbox.pods(namespace))


def test_errors_are_status_objects(kube: Cluster, client: ApiClient, namespace: str):
    core, apps = k8s.CoreV1Api(client), k8s.AppsV1Api(client)
    kube.deploy(namespace, "errs", replicas=1)
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod("nope", namespace)
    assert missing.value.status == 404
    assert _status(missing.value) | {"metadata": {}} == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "nope" not found',
        "reason": "NotFound",
        "code": 404,
        "details": {"name": "nope", "kind": "pods"},
    }
    body = apps.read_namespaced_deployment("errs", namespace).to_dict(serialize=True)
    body["metadata"] = {"name": "errs"}
    with pytest.raises(ApiException) as duplicate:
        apps.create_namespaced_deployment(namespace, body)
    assert (duplicate.value.status, _status(duplicate.value)["reason"]) == (409, "AlreadyExists")
    body["metadata"] = {"name": "broken"}
    body["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(ApiException) as bad:
        apps.create_namespaced_deployment(namespace, body)
    assert (bad.value.status, _status(bad.value)["reason"]) == (422, "Invalid")
    assert "selector` does not match template `labels`" in _status(bad.value)["message"]
    stale = apps.read_namespaced_deployment("errs", namespace).to_dict(serialize=True)
    stale["metadata"]["resourceVersion"] = "1"
    with pytest.raises(ApiException) as conflict:
        apps.replace_namespaced_deployment("errs", namespace, stale)
    assert (conflict.value.status, _status(conflict.value)["reason"]) == (409, "Conflict")
    pod = core.list_namespaced_pod(namespace).items[0].metadata.name
    request = urllib.request.Request(f"{kube.sandbox.url}/api/v1/namespaces/{namespace}/pods/{pod}/log", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as not_allowed:
        urllib.request.urlopen(request, timeout=5)
    assert not_allowed.value.code == 405
    assert json.loads(not_allowed.value.read())["reason"] == "MethodNotAllowed"
    with pytest.raises(ApiException) as selector:
        core.list_namespaced_pod(namespace, label_selector="app in (")
    assert selector.value.status == 400
    with pytest.raises(ApiException) as unknown_field:
        core.list_namespaced_pod(namespace, field_selector="spec.bogus=1")
    assert unknown_field.value.status == 400 and "field label not supported" in _status(unknown_field.value)["message"]
    with pytest.raises(ApiException) as no_namespace:
        apps.create_namespaced_deployment("does-not-exist", body)
    assert no_namespace.value.status == 404


def test_label_and_field_selectors(kube: Cluster, client: ApiClient, namespace: str):
    core = k8s.CoreV1Api(client)
    kube.deploy(namespace, "sel-a", replicas=2)
    kube.deploy(namespace, "sel-b", replicas=1)
    names = lambda **kw: sorted(p.metadata.name for p in core.list_namespaced_pod(namespace, **kw).items)  # noqa: E731
    assert len(names(label_selector="app=sel-a")) == 2
    assert len(names(label_selector="app in (sel-a,sel-b)")) == 3
    assert len(names(label_selector="app!=sel-a,pod-template-hash")) == 1
    assert names(label_selector="!app") == []
    first = names(label_selector="app=sel-a")[0]
    assert names(field_selector=f"metadata.name={first}") == [first]
    assert len(names(field_selector="status.phase=Running")) == 3
    node = core.read_namespaced_pod(first, namespace).spec.node_name
    on_node = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
    assert first in {p.metadata.name for p in on_node} and all(p.spec.node_name == node for p in on_node)
    assert [n.metadata.name for n in core.list_node(field_selector="metadata.name=sandbox-node-2").items] == [
        "sandbox-node-2"
    ]
    page = core.list_namespaced_pod(namespace, limit=2)
    rest = core.list_namespaced_pod(namespace, limit=2, _continue=page.metadata._continue)
    assert len(page.items) == 2 and len(rest.items) == 1 and page.metadata.remaining_item_count == 1


def test_watch_streams_added_and_deleted(kube: Cluster, client: ApiClient, namespace: str):
    core = k8s.CoreV1Api(client)
    kube.deploy(namespace, "watched", replicas=2)
    listed = core.list_namespaced_pod(namespace)
    victim = listed.items[0].metadata.name
    core.delete_namespaced_pod(victim, namespace, grace_period_seconds=0)
    seen: list[tuple[str, str]] = []
    stream = watch.Watch()
    started = time.monotonic()
    for event in stream.stream(
        core.list_namespaced_pod, namespace, resource_version=listed.metadata.resource_version, timeout_seconds=10
    ):
        seen.append((event["type"], event["object"].metadata.name))
        assert isinstance(event["object"], k8s.V1Pod)
        if ("DELETED", victim) in seen and any(t == "ADDED" and n != victim for t, n in seen):
            stream.stop()
    assert ("DELETED", victim) in seen
    assert any(t == "ADDED" and n != victim for t, n in seen)
    assert time.monotonic() - started < 5
    initial = [e["type"] for e in watch.Watch().stream(core.list_namespaced_pod, namespace, timeout_seconds=1)]
    assert initial[:2] == ["ADDED", "ADDED"]


def test_watch_ends_after_timeout_seconds(kube: Cluster, client: ApiClient, namespace: str):
    kube.sandbox.create_namespace(namespace)
    started = time.monotonic()
    events = list(watch.Watch().stream(k8s.CoreV1Api(client).list_namespaced_pod, namespace, timeout_seconds=1))
    assert events == [] and 0.9 <= time.monotonic() - started < 3.0
