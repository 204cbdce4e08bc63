"""Nodes: cordon, drain (eviction) and uncordon through chaosk8s move real processes between nodes."""

from __future__ import annotations

from chaosk8s.event.probes import get_events
from chaosk8s.node.actions import cordon_node, drain_nodes, uncordon_node
from chaosk8s.node.probes import all_nodes_must_be_ready_to_schedule, get_nodes, nodes_must_be_healthy
from chaosk8s.pod.actions import terminate_pods
from chaosk8s.pod.probes import pods_in_conditions, pods_in_phase
from kubernetes import client as k8s
from kubernetes.config import new_client_from_config

from gamedays.processes import alive as pid_alive, wait_gone
from tests.sandbox.kube.support import Cluster, wait_until

NS = "nodes"


def _placement(kube: Cluster) -> dict[str, str]:
    return {p.name: p.node for p in kube.sandbox.pods(NS) if not p.terminating}


def _all_ready(kube: Cluster, count: int) -> bool:
    pods = [p for p in kube.sandbox.pods(NS) if not p.terminating]
    return len(pods) == count and all(p.ready for p in pods)


def test_cordon_drain_uncordon_moves_pods_off_the_drained_node(private_kube: Cluster):
    kube = private_kube
    before = kube.deploy(NS, "web", replicas=3)
    placement = _placement(kube)
    assert sorted(placement.values()) == ["sandbox-node-1", "sandbox-node-2", "sandbox-node-3"]  # spread
    assert nodes_must_be_healthy() is True and all_nodes_must_be_ready_to_schedule() is True

    assert cordon_node(name="sandbox-node-1") == ["sandbox-node-1"]
    api = new_client_from_config(config_file=str(kube.kubeconfig))
    core = k8s.CoreV1Api(api)
    node = wait_until(lambda: next((n for n in [core.read_node("sandbox-node-1")] if n.spec.taints), None))
    assert node.spec.unschedulable is True
    assert [(t.key, t.effect) for t in node.spec.taints] == [("node.kubernetes.io/unschedulable", "NoSchedule")]
    on_first = next(name for name, where in placement.items() if where == "sandbox-node-1")
    assert pid_alive(before[on_first])  # cordoning does not evict

    on_second = next(name for name, where in placement.items() if where == "sandbox-node-2")
    assert drain_nodes(name="sandbox-node-2", timeout=30) == ["sandbox-node-2"]
    assert not pid_alive(before[on_second])  # evicted: its process is gone
    assert wait_until(lambda: _all_ready(kube, 3), timeout=5.0)
    now = _placement(kube)
    assert on_second not in now
    assert sorted(now.values()) == ["sandbox-node-1", "sandbox-node-3", "sandbox-node-3"]  # only node 3 took pods
    kube.pids(NS)

    assert uncordon_node(label_selector="kubernetes.io/os=linux") == [
        "sandbox-node-1",
        "sandbox-node-2",
        "sandbox-node-3",
    ]
    assert wait_until(lambda: not any(n.spec.taints for n in core.list_node().items))
    assert not any(n.spec.unschedulable for n in core.list_node().items)
    victim = next(name for name, where in now.items() if where == "sandbox-node-3")
    terminate_pods(name_pattern=victim, ns=NS)
    assert wait_until(lambda: _all_ready(kube, 3) and "sandbox-node-2" in _placement(kube).values(), timeout=5.0)
    assert sorted(_placement(kube).values()) == ["sandbox-node-1", "sandbox-node-2", "sandbox-node-3"]
    assert {i["metadata"]["name"] for i in get_nodes()["items"]} == {
        "sandbox-node-1",
        "sandbox-node-2",
        "sandbox-node-3",
    }
    kube.pids(NS)
    api.close()


def test_no_schedulable_node_leaves_pods_pending_until_uncordon(private_kube: Cluster):
    kube = private_kube
    before = kube.deploy(NS, "api", replicas=1)
    cordon_node(label_selector="kubernetes.io/os=linux")
    terminate_pods(label_selector="app=api", ns=NS, grace_period=0)
    assert wait_gone(list(before.values()), 2.0)
    assert wait_until(lambda: pods_in_phase("app=api", phase="Pending", ns=NS, raise_on_invalid_phase=False))
    assert pods_in_conditions("app=api", [{"type": "PodScheduled", "status": "False"}], ns=NS) is True
    assert [p.pid for p in kube.sandbox.pods(NS)] == [None]
    events = wait_until(lambda: get_events(field_selector=f"regarding.namespace={NS},reason=FailedScheduling")["items"])
    assert events and events[0]["type"] == "Warning"
    assert "3 node(s) were unschedulable" in events[0]["note"]
    uncordon_node(name="sandbox-node-3")
    assert wait_until(lambda: _all_ready(kube, 1), timeout=5.0)
    assert [p.node for p in kube.sandbox.pods(NS)] == ["sandbox-node-3"]
    kube.pids(NS)


def test_a_deleted_node_takes_its_pods_with_it(private_kube: Cluster):
    kube = private_kube
    before = kube.deploy(NS, "db", replicas=3)
    lost = next(name for name, where in _placement(kube).items() if where == "sandbox-node-3")
    # chaosk8s' delete_nodes reads `.status` of the answer, but kubernetes client 37 types it as a plain
    # dict ("object"), so that action fails against any cluster; the client call it makes works:
    api = new_client_from_config(config_file=str(kube.kubeconfig))
    answer = k8s.CoreV1Api(api).delete_node("sandbox-node-3")
    api.close()
    assert (answer["kind"], answer["status"], answer["details"]["name"]) == ("Status", "Success", "sandbox-node-3")
    assert wait_gone([before[lost]], 5.0)
    assert wait_until(lambda: _all_ready(kube, 3) and lost not in _placement(kube), timeout=5.0)
    assert set(_placement(kube).values()) == {"sandbox-node-1", "sandbox-node-2"}
    kube.pids(NS)


def test_a_node_patched_not_ready_through_its_status_takes_no_pods_until_ready(private_kube: Cluster):
    kube = private_kube
    core = k8s.CoreV1Api(new_client_from_config(config_file=str(kube.kubeconfig)))
    node = core.read_node("sandbox-node-1")
    ready = next(c for c in node.status.conditions if c.type == "Ready")
    conditions = [{"type": c.type, "status": c.status, "reason": c.reason, "message": c.message} for c in node.status.conditions]
    down = [{**c, "status": "Unknown", "reason": "NodeStatusUnknown"} if c["type"] == "Ready" else c for c in conditions]
    patched = core.patch_node_status("sandbox-node-1", {"status": {"conditions": down}, "spec": {"unschedulable": True}})
    assert next(c for c in patched.status.conditions if c.type == "Ready").status == "Unknown"
    assert patched.spec.unschedulable is not True  # the status subresource changes the status only
    assert nodes_must_be_healthy() is False
    kube.deploy(NS, "late", replicas=3)
    assert "sandbox-node-1" not in {p.node for p in kube.sandbox.pods(NS) if not p.terminating}  # a NotReady node takes none
    core.patch_node_status("sandbox-node-1", {"status": {"conditions": conditions}})
    assert next(c for c in core.read_node("sandbox-node-1").status.conditions if c.type == "Ready").status == ready.status == "True"
    assert nodes_must_be_healthy() is True
