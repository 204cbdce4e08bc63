"""The sandbox scheduler: binds pending pods to schedulable nodes, spreading them.

A node takes new pods when it is Ready, not cordoned (``spec.unschedulable``), carries no
NoSchedule/NoExecute taint the pod does not tolerate and matches the pod's
``nodeSelector``; among those the node running the fewest pods wins (ties by name), so
replicas spread. A pod no node can take stays Pending with ``PodScheduled=False`` and a
``FailedScheduling`` warning event (repeated at most every ``retry_seconds``).
"""

from __future__ import annotations

import time
from functools import partial
from collections import Counter

from gamedays.sandbox.kube.events import EventRecorder
from gamedays.sandbox.kube.objects import condition, find_condition, is_terminating
from gamedays.sandbox.kube.resources import JsonObject
from gamedays.sandbox.kube.store import Store, now_rfc3339


class Scheduler:
    """Assigns ``spec.nodeName`` to pods that have none."""

    def __init__(self, store: Store, recorder: EventRecorder, retry_seconds: float = 5.0) -> None:
        self._store = store
        self._recorder = recorder
        self._retry_seconds = retry_seconds
        self._last_failure: dict[str, float] = {}

    def schedule(self) -> None:
        pods, _ = self._store.list("pods")
        pending = [p for p in pods if not p["spec"].get("nodeName") and not is_terminating(p)]
        self._last_failure = {
            uid: t for uid, t in self._last_failure.items() if any(p["metadata"]["uid"] == uid for p in pending)
        }
        if not pending:
            return
        nodes, _ = self._store.list("nodes")
        load = Counter(p["spec"]["nodeName"] for p in pods if p["spec"].get("nodeName") and not is_terminating(p))
        for pod in sorted(pending, key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"])):
            fits = [n for n in nodes if _fits(pod, n)]
            if not fits:
                self._unschedulable(pod, nodes)
                continue
            chosen = min(fits, key=lambda n: (load[n["metadata"]["name"]], n["metadata"]["name"]))
            name = chosen["metadata"]["name"]
            bound = self._store.mutate(
                "pods",
                pod["metadata"]["namespace"],
                pod["metadata"]["name"],
                partial(_bind, uid=pod["metadata"]["uid"], node=name),
            )
            if bound is not None and bound["spec"].get("nodeName") == name:
                load[name] += 1
                meta = pod["metadata"]
                self._recorder.emit(
                    bound,
                    "Scheduled",
                    f"Successfully assigned {meta['namespace']}/{meta['name']} to {name}",
                    component="default-scheduler",
                )

    def _unschedulable(self, pod: JsonObject, nodes: list[JsonObject]) -> None:
        meta = pod["metadata"]
        cordoned = sum(1 for n in nodes if n["spec"].get("unschedulable"))
        reasons = [f"{cordoned} node(s) were unschedulable"] if cordoned else []
        if len(nodes) - cordoned:
            reasons.append(f"{len(nodes) - cordoned} node(s) didn't match Pod's node affinity/selector or taints")
        message = f"0/{len(nodes)} nodes are available: {', '.join(reasons) or 'no nodes available'}."
        now = now_rfc3339()

        def mark(p: JsonObject) -> JsonObject | None:
            if p["metadata"].get("uid") != meta["uid"] or p["spec"].get("nodeName"):
                return None
            status = p.setdefault("status", {})
            others = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
            status["conditions"] = [
                *others,
                condition("PodScheduled", False, now, "Unschedulable", message, find_condition(p, "PodScheduled")),
            ]
            status["phase"] = "Pending"
            return p

        marked = self._store.mutate("pods", meta["namespace"], meta["name"], mark)
        clock = time.monotonic()
        last = self._last_failure.get(meta["uid"])
        if marked is not None and (last is None or clock - last >= self._retry_seconds):
            self._last_failure[meta["uid"]] = clock
            self._recorder.emit(marked, "FailedScheduling", message, warning=True, component="default-scheduler")


def _bind(pod: JsonObject, uid: str, node: str) -> JsonObject | None:
    if pod["metadata"].get("uid") != uid or pod["spec"].get("nodeName") or is_terminating(pod):
        return None
    pod["spec"]["nodeName"] = node
    status = pod.setdefault("status", {})
    others = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
    status["conditions"] = [*others, condition("PodScheduled", True, now_rfc3339())]
    return pod


def _fits(pod: JsonObject, node: JsonObject) -> bool:
    if node["spec"].get("unschedulable") or is_terminating(node):
        return False
    ready = find_condition(node, "Ready")
    if not ready or ready.get("status") != "True":
        return False
    labels = node["metadata"].get("labels") or {}
    selector = pod["spec"].get("nodeSelector") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        return False
    tolerations = pod["spec"].get("tolerations") or []
    for taint in node["spec"].get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not any(_tolerates(t, taint) for t in tolerations):
            return False
    return True


def _tolerates(toleration: JsonObject, taint: JsonObject) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("operator") == "Exists":
        return not toleration.get("key") or toleration["key"] == taint.get("key")
    return toleration.get("key") == taint.get("key") and toleration.get("value", "") == taint.get("value", "")
