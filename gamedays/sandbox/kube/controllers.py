"""The controllers of the sandbox control plane: deployments, replicasets, garbage, namespaces, nodes.

- deployment: one replicaset per pod-template revision (``<deployment>-<pod-template-hash>``);
  the current one is scaled to ``spec.replicas``, older ones down as new pods become
  available (rolling update; Recreate waits for the old pods to go); status and the
  Available / Progressing conditions are computed from the pods.
- replicaset: creates pods (``<replicaset>-<5 random chars>``) while fewer than
  ``spec.replicas`` are active, terminates the surplus (unscheduled, then not ready, then
  newest first).
- garbage collector: dependents whose controlling owner is gone are deleted (cascading
  deployment -> replicaset -> pod deletion).
- namespace: a namespace being deleted is emptied, then removed.
- node: a cordoned node carries the ``node.kubernetes.io/unschedulable`` taint.

Pod deletions go through the :class:`PodTerminator` (the kubelet), never straight to the store.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Protocol

from gamedays.sandbox.kube.events import EventRecorder
from gamedays.sandbox.kube.objects import (
    REVISION_ANNOTATION,
    TEMPLATE_HASH_LABEL,
    controller_uid,
    is_ready,
    is_terminating,
    pod_for,
    random_suffix,
    replicaset_for,
    template_hash,
)
from gamedays.sandbox.kube.resources import RESOURCES, JsonObject
from gamedays.sandbox.kube.selectors import LabelSelector
from gamedays.sandbox.kube.store import Store, now_rfc3339
from gamedays.sandbox.kube.workloads import deployment_status, replicaset_status

UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


class PodTerminator(Protocol):
    def delete_pod(self, namespace: str, name: str, grace: int | None, *, wait: bool) -> JsonObject | None: ...


class Controllers:
    """Every controller of the sandbox, run one after the other by :meth:`reconcile`."""

    def __init__(self, store: Store, terminator: PodTerminator, recorder: EventRecorder) -> None:
        self._store = store
        self._terminator = terminator
        self._recorder = recorder

    def reconcile(self) -> None:
        self.namespaces()
        self.garbage()
        self.nodes()
        self.deployments()
        self.replicasets()

    # ----------------------------------------------------------------------------- deployments

    def deployments(self) -> None:
        deployments, _ = self._store.list("deployments")
        replicasets, _ = self._store.list("replicasets")
        pods, _ = self._store.list("pods")
        for deployment in deployments:
            if is_terminating(deployment):
                continue
            uid = deployment["metadata"]["uid"]
            owned = [rs for rs in replicasets if controller_uid(rs) == uid]
            current = self._current_replicaset(deployment, owned)
            self._roll(
                deployment, current, [rs for rs in owned if rs["metadata"]["uid"] != current["metadata"]["uid"]], pods
            )
            rs_uids = {rs["metadata"]["uid"] for rs in owned} | {current["metadata"]["uid"]}
            owned_pods = [p for p in pods if controller_uid(p) in rs_uids]
            current_pods = [p for p in owned_pods if controller_uid(p) == current["metadata"]["uid"]]
            status = deployment_status(deployment, owned_pods, current_pods, current["metadata"]["name"], now_rfc3339())
            self._store.mutate(
                "deployments",
                deployment["metadata"]["namespace"],
                deployment["metadata"]["name"],
                partial(_with_status, status=status, uid=uid),
            )

    def _current_replicaset(self, deployment: JsonObject, owned: list[JsonObject]) -> JsonObject:
        pod_hash = template_hash(deployment["spec"]["template"])
        for rs in owned:
            if rs["metadata"].get("labels", {}).get(TEMPLATE_HASH_LABEL) == pod_hash:
                return rs
        revision = 1 + max(
            (int(rs["metadata"].get("annotations", {}).get(REVISION_ANNOTATION, "0")) for rs in owned), default=0
        )
        first = not any(rs["spec"].get("replicas", 0) for rs in owned)
        recreate = deployment["spec"].get("strategy", {}).get("type") == "Recreate"
        replicas = deployment["spec"]["replicas"] if first and not recreate else 0
        created = self._store.create("replicasets", replicaset_for(deployment, pod_hash, replicas, revision))
        if replicas:
            self._recorder.emit(
                deployment,
                "ScalingReplicaSet",
                f"Scaled up replica set {created['metadata']['name']} to {replicas}",
                component="deployment-controller",
            )
        return created

    def _roll(self, deployment: JsonObject, current: JsonObject, old: list[JsonObject], pods: list[JsonObject]) -> None:
        desired = int(deployment["spec"]["replicas"])
        recreate = deployment["spec"].get("strategy", {}).get("type") == "Recreate"
        old_uids = {rs["metadata"]["uid"] for rs in old}
        old_alive = sum(1 for p in pods if controller_uid(p) in old_uids)
        new_ready = sum(
            1 for p in pods if controller_uid(p) == current["metadata"]["uid"] and is_ready(p) and not is_terminating(p)
        )
        if recreate:
            targets = {rs["metadata"]["uid"]: 0 for rs in old}
            new_target = desired if old_alive == 0 else 0
        else:
            surge = _percent(deployment, "maxSurge", desired, round_up=True)
            unavailable = _percent(deployment, "maxUnavailable", desired, round_up=False)
            keep_old = max(0, desired - new_ready - unavailable) if any(rs["spec"]["replicas"] for rs in old) else 0
            new_target = desired
            if old and keep_old:
                new_target = min(desired, max(1, desired + surge - keep_old))
            targets = {}
            for rs in sorted(old, key=lambda r: r["metadata"]["creationTimestamp"], reverse=True):
                share = min(rs["spec"]["replicas"], keep_old)
                targets[rs["metadata"]["uid"]] = share
                keep_old -= share
        self._scale(deployment, current, new_target)
        for rs in old:
            self._scale(deployment, rs, targets[rs["metadata"]["uid"]])
        self._prune_history(deployment, old)

    def _scale(self, deployment: JsonObject, rs: JsonObject, replicas: int) -> None:
        if rs["spec"].get("replicas") == replicas:
            return
        meta = rs["metadata"]

        def change(found: JsonObject) -> JsonObject | None:
            if found["metadata"]["uid"] != meta["uid"]:
                return None
            found["spec"]["replicas"] = replicas
            found["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = str(
                deployment["spec"]["replicas"]
            )
            return found

        if self._store.mutate("replicasets", meta["namespace"], meta["name"], change) is not None:
            way = "up" if replicas > rs["spec"].get("replicas", 0) else "down"
            self._recorder.emit(
                deployment,
                "ScalingReplicaSet",
                f"Scaled {way} replica set {meta['name']} to {replicas}",
                component="deployment-controller",
            )

    def _prune_history(self, deployment: JsonObject, old: list[JsonObject]) -> None:
        limit = int(deployment["spec"].get("revisionHistoryLimit", 10))
        idle = sorted(
            (rs for rs in old if rs["spec"]["replicas"] == 0 and rs["status"].get("replicas", 0) == 0),
            key=lambda r: r["metadata"]["creationTimestamp"],
        )
        for rs in idle[: max(0, len(idle) - limit)]:
            self._store.delete(
                "replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"], rs["metadata"]["uid"]
            )

    # ----------------------------------------------------------------------------- replicasets

    def replicasets(self) -> None:
        replicasets, _ = self._store.list("replicasets")
        pods, _ = self._store.list("pods")
        for rs in replicasets:
            if is_terminating(rs):
                continue
            uid = rs["metadata"]["uid"]
            owned = self._release_strays(rs, [p for p in pods if controller_uid(p) == uid])
            active = [
                p for p in owned if not is_terminating(p) and p["status"].get("phase") not in ("Succeeded", "Failed")
            ]
            missing = int(rs["spec"].get("replicas", 0)) - len(active)
            for _ in range(max(0, missing)):
                created = self._create_pod(rs)
                active.append(created)
            if missing < 0:
                for victim in sorted(active, key=_deletion_cost)[:-missing]:
                    self._terminator.delete_pod(
                        victim["metadata"]["namespace"], victim["metadata"]["name"], None, wait=False
                    )
                    self._recorder.emit(
                        rs,
                        "SuccessfulDelete",
                        f"Deleted pod: {victim['metadata']['name']}",
                        component="replicaset-controller",
                    )
                    active.remove(victim)
            status = replicaset_status(rs, active)
            self._store.mutate(
                "replicasets",
                rs["metadata"]["namespace"],
                rs["metadata"]["name"],
                partial(_with_status, status=status, uid=uid),
            )

    def _release_strays(self, rs: JsonObject, owned: list[JsonObject]) -> list[JsonObject]:
        """Orphan the pods whose labels no longer match the selector (a relabelled pod leaves its set)."""
        selector = LabelSelector.from_object(rs["spec"].get("selector"))
        kept = []
        for pod in owned:
            if selector.matches(pod["metadata"].get("labels")):
                kept.append(pod)
                continue

            def release(found: JsonObject, uid: str = rs["metadata"]["uid"]) -> JsonObject:
                found["metadata"]["ownerReferences"] = [
                    r for r in found["metadata"].get("ownerReferences") or [] if r.get("uid") != uid
                ]
                return found

            self._store.mutate("pods", pod["metadata"]["namespace"], pod["metadata"]["name"], release)
        return kept

    def _create_pod(self, rs: JsonObject) -> JsonObject:
        base = rs["metadata"]["name"]
        for _ in range(20):
            name = f"{base}-{random_suffix()}"
            if self._store.get("pods", rs["metadata"]["namespace"], name) is None:
                break
        pod = pod_for(rs, name)
        pod["status"] = {"phase": "Pending", "conditions": [], "qosClass": "BestEffort"}
        created = self._store.create("pods", pod)
        self._recorder.emit(rs, "SuccessfulCreate", f"Created pod: {name}", component="replicaset-controller")
        return created

    # ----------------------------------------------------------------------------- garbage, namespaces, nodes

    def garbage(self) -> None:
        """Delete dependents whose controlling owner no longer exists (cascading deletion)."""
        alive: set[str] = set()
        for resource in ("deployments", "replicasets", "jobs"):  # the owners this cluster knows (a Job's pods too)
            alive |= {o["metadata"]["uid"] for o in self._store.list(resource)[0] if not is_terminating(o)}
        for resource in ("replicasets", "pods"):
            for obj in self._store.list(resource)[0]:
                owner = controller_uid(obj)
                if owner is None or owner in alive or is_terminating(obj):
                    continue
                meta = obj["metadata"]
                if resource == "pods":
                    self._terminator.delete_pod(meta["namespace"], meta["name"], None, wait=False)
                else:
                    self._store.delete(resource, meta["namespace"], meta["name"], meta["uid"])

    def namespaces(self) -> None:
        for ns in self._store.list("namespaces")[0]:
            if not is_terminating(ns):
                continue
            name = ns["metadata"]["name"]
            left = 0
            for resource in sorted({r.store_key for r in RESOURCES if r.namespaced}):
                for obj in self._store.list(resource, name)[0]:
                    left += 1
                    meta = obj["metadata"]
                    if resource == "pods":
                        if not is_terminating(obj):
                            self._terminator.delete_pod(name, meta["name"], None, wait=False)
                    else:
                        self._store.delete(resource, name, meta["name"], meta["uid"])
            if left == 0:
                self._store.delete("namespaces", "", name, ns["metadata"]["uid"])

    def nodes(self) -> None:
        """Keep the unschedulable taint in step with ``spec.unschedulable`` (cordon / uncordon)."""
        for node in self._store.list("nodes")[0]:
            cordoned = bool(node["spec"].get("unschedulable"))
            tainted = any(t.get("key") == UNSCHEDULABLE_TAINT for t in node["spec"].get("taints") or [])
            if cordoned == tainted:
                continue
            name = node["metadata"]["name"]

            def change(found: JsonObject, on: bool = cordoned) -> JsonObject | None:
                taints = [t for t in found["spec"].get("taints") or [] if t.get("key") != UNSCHEDULABLE_TAINT]
                if on:
                    taints.append(
                        {
                            "key": UNSCHEDULABLE_TAINT,
                            "effect": "NoSchedule",
                            "timeAdded": found["metadata"].get("creationTimestamp"),
                        }
                    )
                found["spec"]["taints"] = taints
                return found

            updated = self._store.mutate("nodes", "", name, change)
            if updated is not None:
                reason = "NodeNotSchedulable" if cordoned else "NodeSchedulable"
                self._recorder.emit(
                    updated, reason, f"Node {name} status is now: {reason}", component="kubelet", node=name
                )


def _with_status(obj: JsonObject, status: JsonObject, uid: str) -> JsonObject | None:
    if obj["metadata"].get("uid") != uid:
        return None
    obj["status"] = status
    return obj


def _deletion_cost(pod: JsonObject) -> tuple[int, int, int, str]:
    """Which surplus pod goes first: unscheduled, then pending, then not ready, then the newest."""
    scheduled = 1 if pod["spec"].get("nodeName") else 0
    running = 1 if pod["status"].get("phase") == "Running" else 0
    ready = 1 if is_ready(pod) else 0
    created = pod["metadata"].get("creationTimestamp", "")
    return (scheduled, running, ready, _reverse(created))


def _reverse(text: str) -> str:
    return "".join(chr(0x10FFFF - ord(c)) for c in text)


def _percent(deployment: JsonObject, field: str, desired: int, round_up: bool) -> int:
    value = deployment["spec"].get("strategy", {}).get("rollingUpdate", {}).get(field, "25%")
    if isinstance(value, str) and value.endswith("%"):
        amount = desired * float(value[:-1]) / 100
        return math.ceil(amount) if round_up else math.floor(amount)
    return int(value)
