"""Statuses of deployments and replicasets, computed from their pods.

Counts are always written, zeros included (the real API omits zeros, which makes
chaosk8s' ``deployment_partially_available`` compare None with 1); conditions keep
their timestamps while their status, reason and message stay the same, so an unchanged
workload is never rewritten.
"""

from __future__ import annotations

import math

from gamedays.sandbox.kube.objects import is_ready, is_terminating
from gamedays.sandbox.kube.resources import JsonObject


def replicaset_status(rs: JsonObject, active: list[JsonObject]) -> JsonObject:
    ready = sum(1 for p in active if is_ready(p))
    return {
        "replicas": len(active),
        "fullyLabeledReplicas": len(active),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "observedGeneration": rs["metadata"].get("generation", 1),
    }


def deployment_status(
    deployment: JsonObject, owned: list[JsonObject], current: list[JsonObject], current_rs: str, now: str
) -> JsonObject:
    """The status of ``deployment`` from its pods (``owned``) and those of its current replicaset."""
    active = [p for p in owned if not is_terminating(p)]
    ready = sum(1 for p in active if is_ready(p))
    updated = sum(1 for p in current if not is_terminating(p))
    desired = int(deployment["spec"]["replicas"])
    strategy = deployment["spec"].get("strategy", {})
    max_unavailable = 0
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        value = strategy.get("rollingUpdate", {}).get("maxUnavailable", "25%")
        max_unavailable = math.floor(desired * float(value[:-1]) / 100) if isinstance(value, str) else int(value)
    old = {c.get("type"): c for c in (deployment.get("status") or {}).get("conditions") or []}
    available = ready >= desired - max_unavailable
    progressed = updated == desired and ready >= desired
    conditions = [
        _condition(
            old.get("Available"),
            "Available",
            available,
            now,
            "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
            "Deployment has minimum availability." if available else "Deployment does not have minimum availability.",
        ),
        _condition(
            old.get("Progressing"),
            "Progressing",
            True,
            now,
            "NewReplicaSetAvailable" if progressed else "ReplicaSetUpdated",
            f'ReplicaSet "{current_rs}" has successfully progressed.'
            if progressed
            else f'ReplicaSet "{current_rs}" is progressing.',
        ),
    ]
    return {
        "observedGeneration": deployment["metadata"].get("generation", 1),
        "replicas": len(active),
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "unavailableReplicas": max(0, desired - ready),
        "conditions": conditions,
    }


def _condition(old: JsonObject | None, kind: str, status: bool, now: str, reason: str, message: str) -> JsonObject:
    text = "True" if status else "False"
    if old and (old.get("status"), old.get("reason"), old.get("message")) == (text, reason, message):
        return old
    since = old.get("lastTransitionTime") if old and old.get("status") == text else now
    return {
        "type": kind,
        "status": text,
        "lastUpdateTime": now,
        "lastTransitionTime": since,
        "reason": reason,
        "message": message,
    }
