"""The ``status`` of a pod, computed from what the kubelet knows of its process.

Phase Pending until the process first starts, Running afterwards (a crash-looping pod
stays Running, as on a real node), Succeeded or Failed once a pod whose restartPolicy is
Never (OnFailure: after exit 0) has exited, its exit then its container's state; the Ready and ContainersReady conditions follow the
readiness probe; every container of the spec gets a ``containerStatuses`` entry with
the fields the official client requires (name, image, imageID, ready, restartCount).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gamedays.sandbox.kube.objects import condition, find_condition
from gamedays.sandbox.kube.resources import JsonObject
from gamedays.sandbox.ports import LOOPBACK

if TYPE_CHECKING:
    from gamedays.sandbox.kube.kubelet import Container


def pod_status(pod: JsonObject, record: Container, now: str) -> JsonObject:
    """The status to write for ``pod`` given its kubelet ``record``."""
    running = record.handle is not None
    started_once = running or record.restarts > 0
    ready = running and record.ready
    old = pod.get("status") or {}

    def cond(kind: str, status: bool, reason: str = "") -> JsonObject:
        return condition(kind, status, now, reason, old=find_condition(pod, kind))

    not_ready_reason = "" if ready else "ContainersNotReady"
    conditions = [
        cond("PodReadyToStartContainers", True),
        cond("Initialized", True),
        cond("Ready", ready, not_ready_reason),
        cond("ContainersReady", ready, not_ready_reason),
        cond("PodScheduled", True),
    ]
    phase = "Running" if started_once else "Pending"
    if record.finished:
        code = ((record.last_exit or {}).get("terminated") or {}).get("exitCode")
        phase = "Succeeded" if code == 0 else "Failed"
    status: JsonObject = {
        "phase": phase,
        "conditions": conditions,
        "hostIP": LOOPBACK,
        "hostIPs": [{"ip": LOOPBACK}],
        "podIP": LOOPBACK,
        "podIPs": [{"ip": LOOPBACK}],
        "qosClass": "BestEffort",
        "containerStatuses": [_container_status(c, record, ready) for c in pod["spec"].get("containers") or []],
    }
    start = record.first_started or old.get("startTime")
    if start:
        status["startTime"] = start
    return status


def _container_status(container: JsonObject, record: Container, ready: bool) -> JsonObject:
    image = str(container.get("image", ""))
    if record.handle is not None:
        state: JsonObject = {"running": {"startedAt": record.started_at}}
    elif record.finished and record.last_exit:
        state = dict(record.last_exit)  # exited for good: its exit is its state, not its last state
    else:
        waiting: JsonObject = {"reason": record.waiting_reason or "ContainerCreating"}
        if record.waiting_message:
            waiting["message"] = record.waiting_message
        state = {"waiting": waiting}
    found: JsonObject = {
        "name": container.get("name", ""),
        "image": image,
        "imageID": f"sandbox://{image}",
        "ready": ready,
        "restartCount": record.restarts,
        "started": record.handle is not None,
        "state": state,
        "lastState": {} if record.finished else record.last_exit or {},
    }
    if record.handle is not None:
        found["containerID"] = f"process://{record.handle.pid}"
    return found
