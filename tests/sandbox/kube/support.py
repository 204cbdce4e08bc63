"""Helpers of the sandbox Kubernetes tests: the cluster under test, the endpoints log, bounded waits."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from gamedays.sandbox.kube import Endpoints, KubeSandbox

PODSERVER = Path(__file__).with_name("podserver.py")


class EndpointsLog:
    """Every call of the endpoints hook, in order (the hook runs on the control loop thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Endpoints] = []

    def __call__(self, change: Endpoints) -> None:
        with self._lock:
            self._calls.append(change)

    def latest(self, namespace: str, deployment: str) -> tuple[str, ...] | None:
        with self._lock:
            found = [c for c in self._calls if (c.namespace, c.deployment) == (namespace, deployment)]
        return found[-1].addresses if found else None

    def wait_for(
        self, namespace: str, deployment: str, predicate: Callable[[tuple[str, ...]], bool], timeout: float = 5.0
    ) -> tuple[str, ...] | None:
        """The latest addresses once ``predicate`` holds for them, None after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            latest = self.latest(namespace, deployment)
            if latest is not None and predicate(latest):
                return latest
            time.sleep(0.05)
        return None


@dataclass
class Cluster:
    """A started sandbox, its kubeconfig, its endpoints log and every pod pid it ran."""

    sandbox: KubeSandbox
    kubeconfig: Path
    endpoints: EndpointsLog
    flags: Path
    seen_pids: set[int]

    def pids(self, namespace: str) -> dict[str, int]:
        """Pod name -> pid of the running pods of ``namespace`` (and remember them for teardown)."""
        found = {p.name: p.pid for p in self.sandbox.pods(namespace) if p.pid is not None and not p.terminating}
        self.seen_pids.update(found.values())
        return found

    def deploy(self, namespace: str, name: str, replicas: int = 3, timeout: float = 10.0) -> dict[str, int]:
        self.sandbox.create_deployment(namespace, name, replicas=replicas)
        assert self.sandbox.wait_ready(namespace, name, timeout), f"{namespace}/{name} did not become ready"
        return self.pids(namespace)


def pod_command() -> list[str]:
    return [sys.executable, str(PODSERVER), "{port}"]


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, step: float = 0.05) -> Any:
    """The first truthy value of ``predicate()`` within ``timeout`` seconds, else its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(step)
        value = predicate()
    return value
