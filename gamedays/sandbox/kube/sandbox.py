"""The sandbox Kubernetes: an API server on 127.0.0.1 and a control plane whose pods are processes.

:class:`KubeSandbox` is what the sandbox supervisor composes: ``start()`` serves the API
and runs the control loop (controllers, scheduler, kubelet, endpoints) in one thread that
wakes on every change and at least every ``tick_seconds``; ``stop()`` stops every pod
process, the loop and the server threads, leaving no process and no port behind (also
when ``start()`` fails halfway).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Mapping, Sequence

from gamedays.model.errors import SandboxError
from gamedays.sandbox.kube.api import Api
from gamedays.sandbox.kube.controllers import Controllers
from gamedays.sandbox.kube.endpoints import EndpointsController, EndpointsHook
from gamedays.sandbox.kube.errors import ApiError
from gamedays.sandbox.kube.events import EventRecorder
from gamedays.sandbox.kube.kubeconfig import DEFAULT_CONTEXT, write_kubeconfig
from gamedays.sandbox.kube.kubelet import Kubelet
from gamedays.sandbox.kube.objects import PID_ANNOTATION, PORT_ANNOTATION, is_ready, namespace, node, service_for
from gamedays.sandbox.kube.resources import JsonObject, find
from gamedays.sandbox.kube.runtime import PodRuntime
from gamedays.sandbox.kube.scheduler import Scheduler
from gamedays.sandbox.kube.server import ApiServer
from gamedays.sandbox.kube.store import Closed, Store, now_rfc3339
from gamedays.sandbox.kube.validation import admit

logger = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@dataclass(frozen=True)
class PodView:
    """One pod as the supervisor and the tests see it: where it runs and which process it is."""

    namespace: str
    name: str
    uid: str
    node: str
    phase: str
    ready: bool
    terminating: bool
    restarts: int
    pid: int | None
    port: int | None


class KubeSandbox:
    """A Kubernetes API whose pods are local processes started by ``runtime``."""

    def __init__(
        self,
        runtime: PodRuntime,
        *,
        nodes: int | Sequence[str] = 3,
        on_endpoints: EndpointsHook | None = None,
        port: int = 0,
        tick_seconds: float = 0.1,
        shutdown_grace: float = 2.0,
    ) -> None:
        names = [f"sandbox-node-{i}" for i in range(1, nodes + 1)] if isinstance(nodes, int) else list(nodes)
        if not names:
            raise SandboxError("the sandbox Kubernetes needs at least one node")
        self._runtime = runtime
        self._node_names = tuple(names)
        self._hook = on_endpoints
        self._port = port
        self._tick = tick_seconds
        self._shutdown_grace = shutdown_grace
        self._store = Store()
        self._recorder = EventRecorder(self._store)
        self._kubelet = Kubelet(self._store, runtime, self._recorder)
        self._endpoints = EndpointsController(self._store, on_endpoints)
        self._controllers = Controllers(self._store, self._kubelet, self._recorder)
        self._scheduler = Scheduler(self._store, self._recorder)
        self._server: ApiServer | None = None
        self._loop: threading.Thread | None = None
        self._stopping = threading.Event()

    # ----------------------------------------------------------------------------- life cycle

    def start(self) -> None:
        if self._server is not None:
            raise SandboxError("the sandbox Kubernetes is already started")
        try:
            for name in SYSTEM_NAMESPACES:
                self._store.create("namespaces", namespace(name))
            for name in self._node_names:
                self._store.create("nodes", node(name, now_rfc3339()))
            server = ApiServer(Api(self._store, self._kubelet, lambda: f"127.0.0.1:{self.port}"), self._port)
            self._server = server
            server.start()
            self._loop = threading.Thread(target=self._run, name="kube-control-loop", daemon=True)
            self._loop.start()
        except BaseException:
            self.stop()
            raise
        logger.info("sandbox Kubernetes API on %s with nodes %s", self.url, ", ".join(self._node_names))

    def stop(self) -> None:
        """Stop the loop, every pod process, then the server; safe to call twice."""
        self._stopping.set()
        if self._loop is not None:
            self._loop.join(timeout=30.0)
            self._loop = None
        self._kubelet.shutdown(self._shutdown_grace)
        self._store.close()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> KubeSandbox:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self) -> None:
        version = -1
        last = 0.0
        while not self._stopping.is_set():
            self._store.wait_change(version, self._tick)
            pause = 0.05 - (time.monotonic() - last)
            if pause > 0 and self._stopping.wait(pause):
                break
            last = time.monotonic()
            version = self._store.resource_version
            try:
                self._controllers.reconcile()
                self._scheduler.schedule()
                self._kubelet.sync()
                self._endpoints.sync()
            except Closed:
                break
            except Exception:  # noqa: BLE001 - a failed pass is logged and retried; the control plane goes on
                logger.exception("sandbox Kubernetes control loop pass failed")

    # ----------------------------------------------------------------------------- for the supervisor

    @property
    def url(self) -> str:
        if self._server is None:
            raise SandboxError("the sandbox Kubernetes is not started")
        return self._server.url

    @property
    def port(self) -> int:
        if self._server is None:
            raise SandboxError("the sandbox Kubernetes is not started")
        return self._server.port

    @property
    def nodes(self) -> tuple[str, ...]:
        return self._node_names

    def write_kubeconfig(self, path: Path | str, namespace: str = "default", context: str = DEFAULT_CONTEXT) -> Path:
        return write_kubeconfig(path, self.url, namespace, context)

    def create_namespace(self, name: str) -> None:
        """Create ``name`` unless it exists."""
        if self._store.get("namespaces", "", name) is None:
            self._create("namespaces", namespace(name))

    def create_deployment(
        self,
        namespace_name: str,
        name: str,
        *,
        labels: Mapping[str, str] | None = None,
        replicas: int = 3,
        image: str = "gameday/app:sandbox",
        service_port: int = 80,
        grace_seconds: int = 5,
        service: bool = True,
    ) -> JsonObject:
        """Create a deployment (and a headless Service of the same name); the stored deployment."""
        self.create_namespace(namespace_name)
        chosen = dict(labels or {"app": name})
        deployment = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace_name, "labels": dict(chosen)},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": dict(chosen)},
                "template": {
                    "metadata": {"labels": dict(chosen)},
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": image,
                                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                            }
                        ],
                        "terminationGracePeriodSeconds": grace_seconds,
                    },
                },
            },
        }
        created = self._create("deployments", deployment)
        if service and self._store.get("services", namespace_name, name) is None:
            self._create("services", service_for(namespace_name, name, chosen, service_port))
        return created

    def _create(self, plural: str, obj: JsonObject) -> JsonObject:
        group = "apps" if plural in ("deployments", "replicasets") else ""
        resource = find(group, "v1", plural)
        assert resource is not None, plural
        try:
            return self._store.create(resource.store_key, admit(resource, obj))
        except ApiError as error:
            raise SandboxError(f"cannot create {plural} {obj['metadata'].get('name')!r}: {error.message}") from None

    def wait_ready(self, namespace_name: str, name: str, timeout: float = 10.0) -> bool:
        """True once every replica of the deployment is updated and available, False after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self._store.get("deployments", namespace_name, name)
            if found is not None and _rolled_out(found):
                return True
            self._store.wait_change(self._store.resource_version, min(0.1, max(0.0, deadline - time.monotonic())))
        return False

    def endpoints(self, namespace_name: str, deployment: str) -> tuple[str, ...]:
        """The addresses (``127.0.0.1:port``) last handed to the endpoints hook for this deployment."""
        return self._endpoints.addresses(namespace_name, deployment)

    def pods(self, namespace_name: str | None = None) -> list[PodView]:
        found, _ = self._store.list("pods", namespace_name)
        return [_view(p) for p in found]


def _rolled_out(deployment: JsonObject) -> bool:
    spec, status = deployment["spec"], deployment.get("status") or {}
    desired = spec.get("replicas", 1)
    return bool(
        status.get("observedGeneration") == deployment["metadata"].get("generation")
        and status.get("updatedReplicas") == desired
        and status.get("availableReplicas") == desired
        and status.get("replicas") == desired
    )


def _view(pod: JsonObject) -> PodView:
    meta = pod["metadata"]
    annotations = meta.get("annotations") or {}
    pid, port = annotations.get(PID_ANNOTATION, ""), annotations.get(PORT_ANNOTATION, "")
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return PodView(
        meta["namespace"],
        meta["name"],
        meta["uid"],
        pod["spec"].get("nodeName", ""),
        (pod.get("status") or {}).get("phase", "Pending"),
        is_ready(pod),
        bool(meta.get("deletionTimestamp")),
        int(statuses[0].get("restartCount", 0)),
        int(pid) if pid.isdigit() else None,
        int(port) if port.isdigit() else None,
    )
