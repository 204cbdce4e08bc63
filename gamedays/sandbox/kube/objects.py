"""Builders of the API objects the sandbox itself creates: nodes, replicasets, pods, services.

Each builder returns the object the way the real control plane writes it, with the
fields the official client needs to deserialise it (non-null ``spec.volumes``,
``ownerReferences``, container names and images, status conditions), so chaosk8s
reads them exactly as it reads a real cluster's.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
from typing import Any, Mapping

from gamedays.sandbox.kube.resources import JsonObject
from gamedays.sandbox.ports import LOOPBACK

SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""The alphabet of generated name suffixes and template hashes (no vowels, no look-alikes)."""

TEMPLATE_HASH_LABEL = "pod-template-hash"
PORT_ANNOTATION = "sandbox.gameday.dev/port"
PID_ANNOTATION = "sandbox.gameday.dev/pid"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
DEFAULT_GRACE_SECONDS = 30


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(SAFE_ALPHABET) for _ in range(length))


def template_hash(template: Mapping[str, Any], collisions: int = 0) -> str:
    """The stable ``pod-template-hash`` of a pod template (10 characters of the safe alphabet)."""
    digest = hashlib.sha256((json.dumps(template, sort_keys=True) + f"/{collisions}").encode()).digest()
    return "".join(SAFE_ALPHABET[b % len(SAFE_ALPHABET)] for b in digest[:10])


def owner_reference(owner: JsonObject) -> JsonObject:
    """The controller reference a dependent carries to ``owner``."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_uid(obj: JsonObject) -> str | None:
    """The uid of the object's controlling owner, if it has one."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid"))
    return None


def condition(
    kind: str, status: bool, now: str, reason: str = "", message: str = "", old: JsonObject | None = None
) -> JsonObject:
    """A status condition whose ``lastTransitionTime`` moves only when its status flips."""
    text = "True" if status else "False"
    since = old.get("lastTransitionTime") if old and old.get("status") == text else now
    found: JsonObject = {"type": kind, "status": text, "lastProbeTime": None, "lastTransitionTime": since}
    if reason:
        found["reason"] = reason
    if message:
        found["message"] = message
    return found


def find_condition(obj: JsonObject, kind: str) -> JsonObject | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), None)


def is_ready(pod: JsonObject) -> bool:
    found = find_condition(pod, "Ready")
    return bool(found and found.get("status") == "True")


def is_terminating(obj: JsonObject) -> bool:
    return bool(obj.get("metadata", {}).get("deletionTimestamp"))


def node(name: str, now: str) -> JsonObject:
    """A Ready node of the sandbox, all on 127.0.0.1."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": "sandbox",
            },
            "annotations": {},
        },
        "spec": {"unschedulable": False, "podCIDR": "10.244.0.0/24", "taints": []},
        "status": node_status(now, None),
    }


def node_status(now: str, old: JsonObject | None) -> JsonObject:
    def cond(kind: str, status: bool, reason: str, message: str) -> JsonObject:
        previous = next((c for c in (old or {}).get("conditions") or [] if c.get("type") == kind), None)
        found = condition(kind, status, now, reason, message, previous)
        found["lastHeartbeatTime"] = found.pop("lastProbeTime") or now
        return found

    return {
        "conditions": [
            cond("MemoryPressure", False, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            cond("DiskPressure", False, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            cond("PIDPressure", False, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            cond("Ready", True, "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [{"type": "InternalIP", "address": LOOPBACK}, {"type": "Hostname", "address": "localhost"}],
        "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110", "ephemeral-storage": "20Gi"},
        "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110", "ephemeral-storage": "20Gi"},
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "architecture": "amd64",
            "bootID": "gameday-sandbox",
            "containerRuntimeVersion": "process://1.0",
            "kernelVersion": "sandbox",
            "kubeProxyVersion": "v1.30.0-gameday-sandbox",
            "kubeletVersion": "v1.30.0-gameday-sandbox",
            "machineID": "gameday-sandbox",
            "operatingSystem": "linux",
            "osImage": "gameday sandbox",
            "systemUUID": "00000000-0000-0000-0000-000000000000",
        },
        "images": [],
    }


def namespace(name: str) -> JsonObject:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def replicaset_for(deployment: JsonObject, pod_hash: str, replicas: int, revision: int) -> JsonObject:
    """The replicaset that runs one template revision of ``deployment``."""
    spec = deployment["spec"]
    template = copy.deepcopy(spec["template"])
    labels = dict(template.get("metadata", {}).get("labels") or {})
    labels[TEMPLATE_HASH_LABEL] = pod_hash
    template.setdefault("metadata", {})["labels"] = labels
    selector = copy.deepcopy(spec["selector"])
    selector.setdefault("matchLabels", {})[TEMPLATE_HASH_LABEL] = pod_hash
    meta = deployment["metadata"]
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{pod_hash}",
            "namespace": meta["namespace"],
            "labels": labels,
            "annotations": {
                REVISION_ANNOTATION: str(revision),
                "deployment.kubernetes.io/desired-replicas": str(spec.get("replicas", 1)),
            },
            "ownerReferences": [owner_reference(deployment)],
        },
        "spec": {
            "replicas": replicas,
            "minReadySeconds": spec.get("minReadySeconds", 0),
            "selector": selector,
            "template": template,
        },
        "status": {
            "replicas": 0,
            "fullyLabeledReplicas": 0,
            "readyReplicas": 0,
            "availableReplicas": 0,
            "observedGeneration": 0,
        },
    }


def pod_for(replicaset: JsonObject, name: str) -> JsonObject:
    """A new, unscheduled pod of ``replicaset`` named ``name``."""
    template = copy.deepcopy(replicaset["spec"]["template"])
    template_meta = template.get("metadata") or {}
    meta = replicaset["metadata"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "generateName": f"{meta['name']}-",
            "namespace": meta["namespace"],
            "labels": dict(template_meta.get("labels") or {}),
            "annotations": dict(template_meta.get("annotations") or {}),
            "ownerReferences": [owner_reference(replicaset)],
        },
        "spec": template.get("spec") or {},
    }
    return pod


def service_for(namespace_name: str, name: str, selector: Mapping[str, str], port: int) -> JsonObject:
    """A headless service selecting the deployment's pods (their ports differ: no virtual IP)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace_name, "labels": dict(selector)},
        "spec": {
            "selector": dict(selector),
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
            "type": "ClusterIP",
            "clusterIP": "None",
            "clusterIPs": ["None"],
            "sessionAffinity": "None",
        },
        "status": {"loadBalancer": {}},
    }
