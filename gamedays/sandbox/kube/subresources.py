"""Subresources: ``scale`` of deployments and replicasets, ``eviction`` and ``log`` of pods.

The scale subresource reads and writes ``spec.replicas`` through an ``autoscaling/v1``
``Scale`` object; an eviction (policy/v1) deletes the pod like a DELETE, honouring its
``deleteOptions.gracePeriodSeconds``; the log is what the pod's process wrote.
"""

from __future__ import annotations

from typing import Any, Protocol

from gamedays.sandbox.kube.errors import Cause, bad_request, invalid, not_found
from gamedays.sandbox.kube.patch import apply_patch
from gamedays.sandbox.kube.resources import JsonObject, Resource
from gamedays.sandbox.kube.store import Store


class PodOperations(Protocol):
    """What the API needs from the kubelet."""

    def delete_pod(self, namespace: str, name: str, grace: int | None, *, wait: bool) -> JsonObject | None: ...

    def read_log(self, uid: str) -> str | None: ...


def scale_of(obj: JsonObject) -> JsonObject:
    meta = obj["metadata"]
    selector = obj["spec"].get("selector", {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: meta[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in meta
        },
        "spec": {"replicas": obj["spec"].get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        },
    }


def write_scale(
    store: Store, resource: Resource, namespace: str, name: str, body: Any, content_type: str | None
) -> JsonObject:
    """PUT (``content_type`` None) or PATCH the scale of a deployment/replicaset; the new Scale."""
    current = store.get(resource.store_key, namespace, name)
    if current is None:
        raise not_found(resource.plural, name, resource.group)
    if not isinstance(body, (dict, list)):
        raise bad_request("the body must be a JSON object")
    scale = scale_of(current)
    wanted = apply_patch(scale, body, content_type) if content_type is not None else body
    replicas = (wanted.get("spec") or {}).get("replicas") if isinstance(wanted, dict) else None
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise invalid(
            "Scale",
            name,
            (Cause("spec.replicas", f"Invalid value: {replicas!r}: must be greater than or equal to 0"),),
            "autoscaling",
        )

    def change(obj: JsonObject) -> JsonObject:
        obj["spec"]["replicas"] = replicas
        return obj

    updated = store.mutate(resource.store_key, namespace, name, change)
    if updated is None:
        raise not_found(resource.plural, name, resource.group)
    return scale_of(updated)


def evict(pods: PodOperations, namespace: str, name: str, body: Any) -> JsonObject:
    """Delete the pod as an eviction; the Status the API answers with 201."""
    options = body.get("deleteOptions") or {} if isinstance(body, dict) else {}
    grace = options.get("gracePeriodSeconds") if isinstance(options, dict) else None
    if pods.delete_pod(namespace, name, grace if isinstance(grace, int) else None, wait=True) is None:
        raise not_found("pods", name)
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def pod_log(store: Store, pods: PodOperations, namespace: str, name: str, tail_lines: str | None) -> str:
    pod = store.get("pods", namespace, name)
    if pod is None:
        raise not_found("pods", name)
    text = pods.read_log(pod["metadata"]["uid"]) or ""
    if tail_lines is not None and tail_lines.isdigit():
        lines = text.splitlines(keepends=True)
        text = "".join(lines[len(lines) - int(tail_lines) :]) if int(tail_lines) else ""
    return text
