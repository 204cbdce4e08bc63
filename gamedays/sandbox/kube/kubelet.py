"""The sandbox kubelet: runs every scheduled pod as a process and reports its status.

On each :meth:`Kubelet.sync` it starts the processes of pods bound to a node, restarts
those that died on their own (``restartCount`` + 1, Ready false until healthy again,
with a crash-loop back-off), probes readiness through the runtime and writes the pod
status (phase, conditions, container statuses) back to the store. Deleting a pod goes
through :meth:`Kubelet.delete_pod`: the pod is marked terminating, its process gets
SIGTERM and SIGKILL after the grace period, and only then the object is removed.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from functools import partial

from gamedays.model.errors import SandboxError
from gamedays.sandbox.kube.events import EventRecorder
from gamedays.sandbox.kube.podstatus import pod_status
from gamedays.sandbox.kube.objects import (
    DEFAULT_GRACE_SECONDS,
    PID_ANNOTATION,
    PORT_ANNOTATION,
    condition,
    find_condition,
)
from gamedays.sandbox.kube.resources import JsonObject
from gamedays.sandbox.kube.runtime import PodHandle, PodInfo, PodRuntime
from gamedays.sandbox.kube.store import Closed, Store, now_rfc3339

logger = logging.getLogger(__name__)

QUICK_EXIT_SECONDS = 10.0
"""A process that dies sooner than this after its start counts towards the crash-loop back-off."""


@dataclass(frozen=True)
class Container:
    """What the kubelet knows of one pod's process (one record per pod uid)."""

    uid: str
    namespace: str
    name: str
    node: str
    handle: PodHandle | None = None
    port: int | None = None
    restarts: int = 0
    ready: bool = False
    first_started: str = ""
    started_at: str = ""
    started_clock: float = 0.0
    last_exit: JsonObject | None = None
    waiting_reason: str = "ContainerCreating"
    waiting_message: str = ""
    next_start: float = 0.0
    backoff: float = 0.0
    next_probe: float = 0.0
    restart_policy: str = "Always"  # the pod's spec.restartPolicy: Never (and OnFailure after exit 0) ends it
    finished: bool = False  # exited for good: its last exit is its state, it never starts again


class Kubelet:
    """Pod processes for every node of the sandbox (one kubelet plays all the nodes)."""

    def __init__(
        self,
        store: Store,
        runtime: PodRuntime,
        recorder: EventRecorder,
        *,
        probe_period: float = 0.1,
        ready_probe_period: float = 0.5,
        max_backoff: float = 10.0,
    ) -> None:
        self._store = store
        self._runtime = runtime
        self._recorder = recorder
        self._probe_period = probe_period
        self._ready_probe_period = ready_probe_period
        self._max_backoff = max_backoff
        self._lock = threading.Lock()
        self._containers: dict[str, Container] = {}
        self._terminating: dict[str, threading.Event] = {}
        self._threads: set[threading.Thread] = set()
        self._closed = False

    # ----------------------------------------------------------------------------- queries

    def containers(self) -> list[Container]:
        with self._lock:
            return list(self._containers.values())

    def read_log(self, uid: str) -> str | None:
        with self._lock:
            found = self._containers.get(uid)
        if found is None or found.handle is None:
            return None
        return self._runtime.read_log(found.handle)

    # ----------------------------------------------------------------------------- the sync loop

    def sync(self) -> None:
        """One pass: stop orphans, start bound pods, restart dead ones, probe, write statuses."""
        with self._lock:
            if self._closed:
                return
        pods, _ = self._store.list("pods")
        nodes = {n["metadata"]["name"] for n in self._store.list("nodes")[0]}
        by_uid = {p["metadata"]["uid"]: p for p in pods}
        self._stop_orphans(by_uid)
        for pod in pods:
            node = pod["spec"].get("nodeName")
            if node and node not in nodes and not pod["metadata"].get("deletionTimestamp"):
                self.delete_pod(pod["metadata"]["namespace"], pod["metadata"]["name"], 0, wait=False)
        self._reap_dead()
        for pod in pods:
            if pod["spec"].get("nodeName") in nodes and not pod["metadata"].get("deletionTimestamp"):
                self._ensure_started(pod)
        self._probe()
        with self._lock:
            records = dict(self._containers)
            terminating = set(self._terminating)
        for uid, record in records.items():
            if uid in by_uid and uid not in terminating:
                self._write_status(record)

    def _stop_orphans(self, by_uid: dict[str, JsonObject]) -> None:
        with self._lock:
            orphans = [c for uid, c in self._containers.items() if uid not in by_uid and uid not in self._terminating]
            for orphan in orphans:
                del self._containers[orphan.uid]
        for orphan in orphans:
            if orphan.handle is not None:
                logger.debug("stopping the process of vanished pod %s/%s", orphan.namespace, orphan.name)
                self._runtime.stop(orphan.handle, 0)

    def _ensure_started(self, pod: JsonObject) -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        now = time.monotonic()
        with self._lock:
            if self._closed or uid in self._terminating:
                return
            record = self._containers.get(uid)
            if record is None:
                port = meta.get("annotations", {}).get(PORT_ANNOTATION)
                record = Container(
                    uid,
                    meta["namespace"],
                    meta["name"],
                    pod["spec"]["nodeName"],
                    port=int(port) if port and port.isdigit() else None,
                    restart_policy=str(pod["spec"].get("restartPolicy") or "Always"),
                )
            if record.handle is not None or record.finished or now < record.next_start:
                self._containers[uid] = record
                return
            containers = pod["spec"]["containers"]
            info = PodInfo(
                record.namespace,
                record.name,
                uid,
                record.node,
                str(containers[0].get("image", "")),
                dict(meta.get("labels") or {}),
                record.port,
            )
            try:
                handle = self._runtime.start(info)
            except SandboxError as exc:
                backoff = min(max(0.5, record.backoff * 2), self._max_backoff)
                self._containers[uid] = replace(
                    record,
                    waiting_reason="CreateContainerError",
                    waiting_message=str(exc),
                    backoff=backoff,
                    next_start=now + backoff,
                )
                failed = str(exc)
            else:
                stamp = now_rfc3339()
                self._containers[uid] = replace(
                    record,
                    handle=handle,
                    port=handle.port,
                    ready=False,
                    started_at=stamp,
                    started_clock=now,
                    first_started=record.first_started or stamp,
                    waiting_reason="",
                    waiting_message="",
                    next_probe=now,
                )
                failed = ""
        name = containers[0].get("name", "app")
        if failed:
            self._recorder.emit(pod, "Failed", f"Error: {failed}", warning=True, node=record.node)
            return
        self._recorder.emit(
            pod, "Pulled", f'Container image "{info.image}" already present on machine', node=record.node
        )
        self._recorder.emit(pod, "Created", f"Created container {name}", node=record.node)
        self._recorder.emit(pod, "Started", f"Started container {name}", node=record.node)

    def _reap_dead(self) -> None:
        """Processes that died on their own: record the exit and schedule the restart."""
        now = time.monotonic()
        died: list[tuple[Container, int | None, bool]] = []  # the record, its exit code, exited for good
        with self._lock:
            for uid, record in list(self._containers.items()):
                if uid in self._terminating or record.handle is None or self._runtime.is_alive(record.handle):
                    continue
                code = self._runtime.exit_code(record.handle)
                ran = now - record.started_clock
                backoff = (
                    0.0
                    if ran >= QUICK_EXIT_SECONDS or record.restarts == 0
                    else (min(max(0.5, record.backoff * 2), self._max_backoff))
                )
                exited = {
                    "terminated": {
                        "exitCode": code if code is not None else -1,
                        "reason": "Completed" if code == 0 else "Error",
                        "startedAt": record.started_at,
                        "finishedAt": now_rfc3339(),
                        "containerID": f"process://{record.handle.pid}",
                    }
                }
                if record.restart_policy == "Never" or (record.restart_policy == "OnFailure" and code == 0):
                    self._containers[uid] = replace(record, handle=None, ready=False, last_exit=exited, finished=True)
                    died.append((record, code, True))
                    continue
                self._containers[uid] = replace(
                    record,
                    handle=None,
                    ready=False,
                    restarts=record.restarts + 1,
                    last_exit=exited,
                    backoff=backoff,
                    next_start=now + backoff,
                    waiting_reason="CrashLoopBackOff" if backoff else "",
                    waiting_message=(f"back-off {backoff:.1f}s restarting failed container" if backoff else ""),
                )
                died.append((record, code, False))
        for record, code, finished in died:
            assert record.handle is not None
            self._runtime.stop(record.handle, 0)  # reap it and sweep its process group
            pod = self._store.get("pods", record.namespace, record.name)
            if finished:
                logger.info("pod %s/%s: process %d exited with %s, for good (restartPolicy %s)",
                            record.namespace, record.name, record.handle.pid, code, record.restart_policy)
                continue
            logger.info(
                "pod %s/%s: process %d exited with %s, restarting",
                record.namespace,
                record.name,
                record.handle.pid,
                code,
            )
            if pod is not None:
                self._recorder.emit(
                    pod,
                    "BackOff",
                    f"Back-off restarting failed container (exit code {code})",
                    warning=True,
                    node=record.node,
                )

    def _probe(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [
                r
                for uid, r in self._containers.items()
                if r.handle is not None and now >= r.next_probe and uid not in self._terminating
            ]
        for record in due:
            assert record.handle is not None
            ready = self._runtime.is_alive(record.handle) and self._runtime.is_ready(record.handle)
            with self._lock:
                current = self._containers.get(record.uid)
                if current is None or current.handle != record.handle:
                    continue
                period = self._ready_probe_period if ready else self._probe_period
                self._containers[record.uid] = replace(current, ready=ready, next_probe=time.monotonic() + period)
            if current.ready and not ready:
                pod = self._store.get("pods", record.namespace, record.name)
                if pod is not None:
                    self._recorder.emit(pod, "Unhealthy", "Readiness probe failed", warning=True, node=record.node)

    def _write_status(self, record: Container) -> None:
        def change(pod: JsonObject) -> JsonObject | None:
            if pod["metadata"].get("uid") != record.uid or pod["metadata"].get("deletionTimestamp"):
                return None
            annotations = pod["metadata"].setdefault("annotations", {})
            if record.port is not None:
                annotations[PORT_ANNOTATION] = str(record.port)
            if record.handle is not None:
                annotations[PID_ANNOTATION] = str(record.handle.pid)
            else:
                annotations.pop(PID_ANNOTATION, None)
            pod["status"] = pod_status(pod, record, now_rfc3339())
            return pod

        try:
            self._store.mutate("pods", record.namespace, record.name, change)
        except Closed:
            return

    # ----------------------------------------------------------------------------- deletion

    def delete_pod(self, namespace: str, name: str, grace: int | None, *, wait: bool) -> JsonObject | None:
        """Terminate a pod: mark it, stop its process within ``grace`` seconds, then remove it.

        ``grace`` None means the pod's ``terminationGracePeriodSeconds``. With ``wait`` the
        call returns once the process is gone and the object removed (an API DELETE);
        without, the work goes on in a thread (a controller scaling down). Returns the
        pod as marked for deletion, or None when there is no such pod.
        """
        pod = self._store.get("pods", namespace, name)
        if pod is None:
            return None
        uid = pod["metadata"]["uid"]
        if grace is None:
            grace = int(pod["spec"].get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS))
        grace = max(0, grace)
        record: Container | None = None
        done = threading.Event()
        with self._lock:
            running = self._terminating.get(uid)
            if running is None:
                self._terminating[uid] = done
                record = self._containers.get(uid)
        if running is not None:
            if wait:
                running.wait(grace + 10.0)
            return pod
        marked = self._store.mutate("pods", namespace, name, partial(_mark_terminating, uid=uid, grace=grace)) or pod
        handle = record.handle if record is not None else None
        if wait:
            self._terminate(marked, handle, grace, done)
        else:
            thread = threading.Thread(
                target=self._terminate, args=(marked, handle, grace, done), name=f"kube-terminate-{name}", daemon=True
            )
            with self._lock:
                self._threads = {t for t in self._threads if t.is_alive()} | {thread}
            thread.start()
        return marked

    def _terminate(self, pod: JsonObject, handle: PodHandle | None, grace: int, done: threading.Event) -> None:
        meta = pod["metadata"]
        try:
            if handle is not None:
                container = pod["spec"]["containers"][0].get("name", "app")
                self._recorder.emit(
                    pod, "Killing", f"Stopping container {container}", node=pod["spec"].get("nodeName", "")
                )
                self._runtime.stop(handle, grace)
            self._store.delete("pods", meta["namespace"], meta["name"], uid=meta["uid"])
        finally:
            with self._lock:
                self._containers.pop(meta["uid"], None)
                self._terminating.pop(meta["uid"], None)
            done.set()

    def shutdown(self, grace: float = 2.0) -> None:
        """Stop every pod process at once (SIGTERM, SIGKILL after ``grace``) and wait for pending terminations."""
        with self._lock:
            self._closed = True
            records = list(self._containers.values())
            self._containers.clear()
            threads = list(self._threads)
        stoppers = [
            threading.Thread(target=self._runtime.stop, args=(r.handle, grace), name=f"kube-stop-{r.name}", daemon=True)
            for r in records
            if r.handle is not None
        ]
        for thread in stoppers:
            thread.start()
        for thread in [*stoppers, *threads]:
            thread.join(timeout=grace + 30.0)


def _mark_terminating(pod: JsonObject, uid: str, grace: int) -> JsonObject | None:
    if pod["metadata"].get("uid") != uid:
        return None
    now = now_rfc3339()
    pod["metadata"]["deletionTimestamp"] = now
    pod["metadata"]["deletionGracePeriodSeconds"] = grace
    status = pod.setdefault("status", {})
    conditions = [c for c in status.get("conditions") or [] if c.get("type") not in ("Ready", "ContainersReady")]
    for kind in ("Ready", "ContainersReady"):
        conditions.append(condition(kind, False, now, "PodTerminating", old=find_condition(pod, kind)))
    status["conditions"] = conditions
    for container in status.get("containerStatuses") or []:
        container["ready"] = False
    return pod
