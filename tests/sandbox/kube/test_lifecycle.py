"""Pod life cycle details: grace periods, readiness, subresources, patches, namespaces, API-created workloads."""

from __future__ import annotations

import json
import time
from pathlib import Path

from chaosk8s.deployment.actions import create_deployment
from chaosk8s.namespace.actions import create_namespace, delete_namespace
from chaosk8s.namespace.probes import namespace_exists
from chaosk8s.pod.actions import terminate_pods
from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client import ApiClient

from gamedays.processes import alive as pid_alive, wait_gone
from tests.sandbox.kube.support import Cluster, wait_until


def test_grace_period_sigterm_then_sigkill(kube: Cluster):
    namespace = "stubborn-grace"  # podserver ignores SIGTERM here
    before = kube.deploy(namespace, "slow", replicas=2)
    first, second = sorted(before)
    started = time.monotonic()
    terminate_pods(name_pattern=first, ns=namespace, grace_period=1)
    took = time.monotonic() - started
    assert not pid_alive(before[first]) and 1.0 <= took < 3.0, took  # SIGTERM ignored, SIGKILL after 1 s
    started = time.monotonic()
    terminate_pods(name_pattern=second, ns=namespace, grace_period=0)
    assert not pid_alive(before[second]) and time.monotonic() - started < 0.9  # 0: killed at once
    assert wait_until(
        lambda: len(kube.pids(namespace)) == 2 and kube.sandbox.wait_ready(namespace, "slow", 0.1), timeout=5.0
    )


def test_readiness_follows_the_health_check(kube: Cluster, namespace: str):
    before = kube.deploy(namespace, "probe", replicas=2)
    name = sorted(before)[0]
    flag = kube.flags / f"{name}.unready"
    flag.touch()
    try:
        assert wait_until(lambda: not next(p for p in kube.sandbox.pods(namespace) if p.name == name).ready, 5.0)
        assert kube.endpoints.wait_for(namespace, "probe", lambda a: len(a) == 1) is not None
        assert pid_alive(before[name])  # not ready is not dead: no restart
    finally:
        flag.unlink()
    assert kube.endpoints.wait_for(namespace, "probe", lambda a: len(a) == 2) is not None
    assert next(p for p in kube.sandbox.pods(namespace) if p.name == name).restarts == 0


def test_scale_subresource_and_json_patch(kube: Cluster, client: ApiClient, namespace: str):
    apps = k8s.AppsV1Api(client)
    before = kube.deploy(namespace, "sub", replicas=3)
    scale = apps.read_namespaced_deployment_scale("sub", namespace)
    assert (scale.spec.replicas, scale.status.replicas, scale.status.selector) == (3, 3, "app=sub")
    apps.patch_namespaced_deployment_scale("sub", namespace, {"spec": {"replicas": 1}})
    assert wait_until(lambda: len(kube.pids(namespace)) == 1 and kube.sandbox.wait_ready(namespace, "sub", 0.1))
    assert sum(pid_alive(pid) for pid in before.values()) == 1
    apps.patch_namespaced_deployment("sub", namespace, [{"op": "replace", "path": "/spec/replicas", "value": 2}])
    assert kube.sandbox.wait_ready(namespace, "sub", 5.0)
    deployment = apps.read_namespaced_deployment("sub", namespace)
    assert deployment.spec.replicas == 2 and deployment.metadata.generation == 3
    assert len(kube.pids(namespace)) == 2


def test_eviction_api_deletes_the_pod(kube: Cluster, client: ApiClient, namespace: str):
    core = k8s.CoreV1Api(client)
    before = kube.deploy(namespace, "evict", replicas=1)
    ((name, pid),) = before.items()
    body = k8s.V1Eviction(
        metadata=k8s.V1ObjectMeta(name=name, namespace=namespace),
        delete_options=k8s.V1DeleteOptions(grace_period_seconds=0),
    )
    core.create_namespaced_pod_eviction(name, namespace, body)
    assert not pid_alive(pid)
    assert wait_until(lambda: set(kube.pids(namespace)) - {name})


def test_a_relabelled_pod_leaves_the_selector_watch_and_is_replaced(kube: Cluster, client: ApiClient, namespace: str):
    core = k8s.CoreV1Api(client)
    kube.deploy(namespace, "relabel", replicas=1)
    listed = core.list_namespaced_pod(namespace, label_selector="app=relabel")
    name = listed.items[0].metadata.name
    core.patch_namespaced_pod(name, namespace, {"metadata": {"labels": {"app": "quarantined"}}})
    seen: list[tuple[str, str]] = []
    stream = watch.Watch()
    for event in stream.stream(
        core.list_namespaced_pod,
        namespace,
        label_selector="app=relabel",
        timeout_seconds=5,
        resource_version=listed.metadata.resource_version,
    ):
        seen.append((event["type"], event["object"].metadata.name))
        if ("DELETED", name) in seen and any(kind == "ADDED" for kind, _ in seen):
            stream.stop()
    assert ("DELETED", name) in seen  # it stopped matching the selector
    assert any(kind == "ADDED" and other != name for kind, other in seen)  # the replicaset replaced it
    released = core.read_namespaced_pod(name, namespace)
    assert released.metadata.owner_references == [] and released.status.phase == "Running"
    assert kube.sandbox.wait_ready(namespace, "relabel", 5.0)
    kube.pids(namespace)


def test_namespaces_and_api_created_deployments(kube: Cluster, tmp_path: Path):
    create_namespace(name="made-by-chaosk8s")
    assert namespace_exists("made-by-chaosk8s") is True
    spec = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"run": "nginx"}},
            "template": {
                "metadata": {"labels": {"run": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]},
            },
        },
    }
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps(spec))
    create_deployment(str(path), ns="made-by-chaosk8s")
    assert kube.sandbox.wait_ready("made-by-chaosk8s", "nginx", 10.0)
    pids = kube.pids("made-by-chaosk8s")
    assert len(pids) == 2
    delete_namespace("made-by-chaosk8s")
    assert wait_gone(list(pids.values()), 5.0)
    assert wait_until(lambda: not namespace_exists("made-by-chaosk8s"), timeout=5.0)
