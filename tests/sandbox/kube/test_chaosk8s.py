"""chaosk8s' own actions and probes, unmodified, against the sandbox: real processes die and come back."""

from __future__ import annotations

import os
import signal
import time

from chaosk8s.deployment.actions import rollout_deployment, scale_deployment
from chaosk8s.deployment.probes import (
    deployment_available_and_healthy,
    deployment_fully_available,
    deployment_partially_available,
)
from chaosk8s.event.probes import get_events
from chaosk8s.networking.actions import (
    create_network_policy,
    deny_all_ingress,
    remove_deny_all_ingress,
    remove_network_policy,
)
from chaosk8s.pod.actions import terminate_pods
from chaosk8s.pod.probes import count_pods, pods_in_conditions, pods_in_phase, read_pod_logs
from chaosk8s.replicaset.actions import delete_replica_set

from gamedays.processes import alive as pid_alive, wait_gone
from tests.sandbox.kube.support import Cluster, wait_until


def _ready_names(kube: Cluster, namespace: str) -> set[str]:
    return {p.name for p in kube.sandbox.pods(namespace) if p.ready and not p.terminating}


def test_terminate_pods_kills_the_process_and_a_new_pod_is_ready_within_3s(kube: Cluster, namespace: str):
    before = kube.deploy(namespace, "web")
    started = time.monotonic()
    killed = terminate_pods(label_selector="app=web", qty=1, rand=True, ns=namespace)
    assert len(killed) == 1 and killed[0] in before
    assert not pid_alive(before[killed[0]])  # the DELETE returned after the process was gone
    replaced = wait_until(lambda: len(_ready_names(kube, namespace) - set(before)) == 1, timeout=3.0)
    elapsed = time.monotonic() - started
    assert replaced, f"no new Ready pod within 3 s: {kube.sandbox.pods(namespace)}"
    assert elapsed < 3.0
    after = kube.pids(namespace)
    assert killed[0] not in after and len(after) == 3
    assert set(before.values()) - {before[killed[0]]} <= set(after.values())


def test_pod_probes_and_deployment_probes(kube: Cluster, namespace: str):
    kube.deploy(namespace, "api", replicas=2)
    assert pods_in_phase(label_selector="app=api", phase="Running", ns=namespace) is True
    assert count_pods(label_selector="app=api", phase="Running", ns=namespace) == 2
    assert count_pods(label_selector="app=nothing", ns=namespace) == 0
    assert (
        pods_in_conditions(label_selector="app=api", conditions=[{"type": "Ready", "status": "True"}], ns=namespace)
        is True
    )
    assert deployment_available_and_healthy("api", ns=namespace) is True
    assert deployment_partially_available("api", ns=namespace) is True
    logs = read_pod_logs(label_selector="app=api", ns=namespace)
    assert len(logs) == 2 and all("listening on 127.0.0.1" in text for text in logs.values())


def test_scale_to_zero_stops_every_process_and_back_starts_new_ones(kube: Cluster, namespace: str):
    before = kube.deploy(namespace, "scaled")
    scale_deployment("scaled", 0, ns=namespace)
    assert wait_gone(list(before.values()), 5.0), "processes survived a scale to 0"
    assert wait_until(lambda: count_pods(label_selector="app=scaled", ns=namespace) == 0)
    assert wait_until(lambda: deployment_available_and_healthy("scaled", ns=namespace, raise_on_unavailable=False))
    scale_deployment("scaled", 2, ns=namespace)
    assert deployment_fully_available("scaled", ns=namespace, timeout=10) is True  # a watch, through chaosk8s
    assert kube.sandbox.wait_ready(namespace, "scaled", 5.0)
    after = kube.pids(namespace)
    assert len(after) == 2 and not set(after) & set(before)
    assert all(pid_alive(pid) for pid in after.values())


def test_a_process_killed_from_outside_is_restarted_in_the_same_pod(kube: Cluster, namespace: str):
    before = kube.deploy(namespace, "crash", replicas=1)
    ((name, pid),) = before.items()
    os.kill(pid, signal.SIGKILL)
    restarted = wait_until(lambda: next((p for p in kube.sandbox.pods(namespace) if p.restarts == 1 and p.ready), None))
    assert restarted is not None, kube.sandbox.pods(namespace)
    assert restarted.name == name and restarted.pid != pid and pid_alive(restarted.pid)
    kube.seen_pids.add(restarted.pid)
    events = get_events(field_selector=f"regarding.namespace={namespace},reason=BackOff")
    assert [e["regarding"]["name"] for e in events["items"]] == [name]


def test_deny_all_ingress_empties_the_endpoints_and_removal_restores_them(kube: Cluster, namespace: str):
    kube.deploy(namespace, "shop")
    full = kube.endpoints.wait_for(namespace, "shop", lambda a: len(a) == 3)
    assert full is not None and all(a.startswith("127.0.0.1:") for a in full)
    deny_all_ingress(label_selectors={"app": "shop"}, ns=namespace)
    assert kube.endpoints.wait_for(namespace, "shop", lambda a: a == ()) == ()
    assert kube.sandbox.endpoints(namespace, "shop") == ()
    remove_deny_all_ingress(ns=namespace)
    assert kube.endpoints.wait_for(namespace, "shop", lambda a: len(a) == 3) == full
    allow = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow-web"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "shop"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"port": 8080}]}],
        },
    }
    create_network_policy(spec=allow, ns=namespace)
    time.sleep(0.5)  # several control-loop passes: the allowing policy must not isolate anything
    assert kube.sandbox.endpoints(namespace, "shop") == full
    remove_network_policy("allow-web", ns=namespace)


def test_rollout_replaces_every_pod_through_a_new_replicaset(kube: Cluster, namespace: str):
    before = kube.deploy(namespace, "roll", replicas=2)
    rollout_deployment("roll", ns=namespace)
    assert wait_until(
        lambda: len(_ready_names(kube, namespace) - set(before)) == 2 and not set(kube.pids(namespace)) & set(before),
        timeout=10.0,
    )
    assert wait_gone(list(before.values()), 5.0)
    assert kube.sandbox.wait_ready(namespace, "roll", 5.0)
    assert deployment_available_and_healthy("roll", ns=namespace) is True


def test_deleting_the_replicaset_brings_the_pods_back(kube: Cluster, namespace: str):
    before = kube.deploy(namespace, "rsdel", replicas=2)
    delete_replica_set(label_selector="app=rsdel", ns=namespace)
    assert wait_gone(list(before.values()), 5.0)
    assert wait_until(lambda: len(_ready_names(kube, namespace) - set(before)) == 2, timeout=10.0)
    kube.pids(namespace)


def test_events_record_scheduling_killing_and_scaling(kube: Cluster, namespace: str):
    kube.deploy(namespace, "ev", replicas=1)
    terminate_pods(label_selector="app=ev", ns=namespace)
    assert wait_until(lambda: len(_ready_names(kube, namespace)) == 1)
    reasons = {e["reason"] for e in get_events(field_selector=f"regarding.namespace={namespace}")["items"]}
    assert {"Scheduled", "Started", "Killing", "SuccessfulCreate", "ScalingReplicaSet"} <= reasons
    kube.pids(namespace)
