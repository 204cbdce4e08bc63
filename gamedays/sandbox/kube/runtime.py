"""The container runtime of the sandbox: a pod is a local process on its own 127.0.0.1 port.

:class:`PodRuntime` is what the sandbox kubelet needs from a runtime (start, is alive,
is ready, stop, logs). :class:`ProcessRuntime` runs one command per pod, from an argv
template whose ``{port}`` (and ``{pod}``, ``{namespace}``, ``{node}``, ``{image}``,
``{host}``) placeholders are filled for each pod, in its own session through
:mod:`gamedays.sandbox.processes`, and calls it Ready only when
``GET http://127.0.0.1:{port}{health_path}`` answers 200.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Protocol, Sequence

from gamedays.model.errors import SandboxError
from gamedays.sandbox import processes
from gamedays.sandbox.ports import LOOPBACK, free_port

logger = logging.getLogger(__name__)

_PLACEHOLDERS = frozenset({"port", "pod", "namespace", "node", "image", "host"})


@dataclass(frozen=True)
class PodInfo:
    """What a runtime knows of the pod it starts; ``port`` is the one to reuse on a restart."""

    namespace: str
    name: str
    uid: str
    node: str
    image: str
    labels: Mapping[str, str] = field(default_factory=dict)
    port: int | None = None


@dataclass(frozen=True)
class PodHandle:
    """A started pod: its process id and the 127.0.0.1 port it serves on."""

    pid: int
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, compare=False, repr=False)
    log: Path | None = None

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"


class PodRuntime(Protocol):
    """What the sandbox kubelet asks of a container runtime."""

    def start(self, pod: PodInfo) -> PodHandle:
        """Start the pod's process; raise SandboxError when it cannot start."""
        ...

    def is_alive(self, handle: PodHandle) -> bool:
        """True while the process runs."""
        ...

    def is_ready(self, handle: PodHandle) -> bool:
        """True when the pod answers its readiness check."""
        ...

    def stop(self, handle: PodHandle, grace_seconds: float) -> int | None:
        """SIGTERM, then SIGKILL after ``grace_seconds`` (0: SIGKILL at once); the exit code."""
        ...

    def exit_code(self, handle: PodHandle) -> int | None:
        """The exit code of a process that has ended, None while it runs."""
        ...

    def read_log(self, handle: PodHandle) -> str:
        """What the process wrote to stdout/stderr so far ("" when not kept)."""
        ...


class ProcessRuntime:
    """Pods as processes of one command, each on a free 127.0.0.1 port.

    ``argv`` is a template: ``["python", "-m", "shop", "--port", "{port}"]``. The process
    also gets ``PORT``, ``POD_NAME``, ``POD_NAMESPACE`` and ``NODE_NAME`` in its environment
    (the downward API). Output goes to ``log_dir/<namespace>_<pod>.log`` when ``log_dir``
    is given, and is discarded otherwise.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        health_path: str = "/healthz",
        env: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
        cwd: Path | None = None,
        as_unprivileged: bool = False,
        probe_timeout: float = 0.5,
    ) -> None:
        if not argv:
            raise SandboxError("the pod command is empty")
        for part in argv:
            unknown = set(re.findall(r"{(\w*)}", part)) - _PLACEHOLDERS
            if unknown:
                raise SandboxError(
                    f"the pod command {list(argv)} uses unknown placeholder(s) {sorted(unknown)}; "
                    f"allowed: {sorted(_PLACEHOLDERS)}"
                )
        if not health_path.startswith("/"):
            raise SandboxError(f"the health path {health_path!r} must start with '/'")
        self._argv = tuple(argv)
        self._health_path = health_path
        self._env = dict(env) if env is not None else None
        self._log_dir = log_dir
        self._cwd = cwd
        self._as_unprivileged = as_unprivileged
        self._probe_timeout = probe_timeout

    def start(self, pod: PodInfo) -> PodHandle:
        port = pod.port if pod.port is not None and _port_free(pod.port) else free_port()
        values = {
            "port": str(port),
            "pod": pod.name,
            "namespace": pod.namespace,
            "node": pod.node,
            "image": pod.image,
            "host": LOOPBACK,
        }
        argv = [part.format_map(values) for part in self._argv]
        env = dict(os.environ if self._env is None else self._env)
        env.update({"PORT": str(port), "POD_NAME": pod.name, "POD_NAMESPACE": pod.namespace, "NODE_NAME": pod.node})
        log = None
        if self._log_dir is not None:
            self._log_dir.mkdir(parents=True, exist_ok=True)
            log = self._log_dir / f"{pod.namespace}_{pod.name}.log"
        process = processes.spawn(argv, log=log, env=env, cwd=self._cwd, as_unprivileged=self._as_unprivileged)
        logger.debug("pod %s/%s started as pid %d on port %d", pod.namespace, pod.name, process.pid, port)
        return PodHandle(process.pid, port, process, log)

    def is_alive(self, handle: PodHandle) -> bool:
        return handle.process is not None and handle.process.poll() is None

    def exit_code(self, handle: PodHandle) -> int | None:
        return handle.process.poll() if handle.process is not None else None

    def is_ready(self, handle: PodHandle) -> bool:
        connection = http.client.HTTPConnection(LOOPBACK, handle.port, timeout=self._probe_timeout)
        try:
            connection.request("GET", self._health_path, headers={"User-Agent": "kube-probe/1.30"})
            response = connection.getresponse()
            response.read()
            return response.status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def stop(self, handle: PodHandle, grace_seconds: float) -> int | None:
        if handle.process is None:
            return None
        if grace_seconds <= 0:
            processes.kill(handle.process)
            return processes.stop(handle.process, 1.0)  # the process is reaped: this only sweeps its group
        return processes.stop(handle.process, grace_seconds)

    def read_log(self, handle: PodHandle) -> str:
        if handle.log is None or not handle.log.exists():
            return ""
        return handle.log.read_text(encoding="utf-8", errors="replace")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True
