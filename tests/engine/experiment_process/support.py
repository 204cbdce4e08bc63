"""Helpers of the experiment-process tests: experiments made of python activities, a launched child, the shop."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from gamedays.engine.experiment_process import ChildEvent, ExperimentProcess, ExperimentResult, ExperimentSpec
from gamedays.processes import alive as pid_alive

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
ACTIVITIES = "ctk_test_activities"  # the module next to this file, on the child's PYTHONPATH


def activity(kind: str, name: str, func: str, /, *, module: str = ACTIVITIES, pause_after: float = 0, **arguments: Any) -> dict:
    """A Chaos Toolkit python activity."""
    found: dict[str, Any] = {"type": kind, "name": name, "provider": {"type": "python", "module": module, "func": func, "arguments": arguments}}
    if pause_after:
        found["pauses"] = {"after": pause_after}
    return found


def experiment(method: list[dict], rollbacks: list[dict] | None = None, probes: list[dict] | None = None, **configuration: Any) -> dict:
    found: dict[str, Any] = {"title": "an experiment of the tests", "description": "see the test", "method": method, "rollbacks": rollbacks or []}
    if probes:
        found["steady-state-hypothesis"] = {"title": "steady", "probes": probes}
    if configuration:
        found["configuration"] = configuration
    return found


@dataclass
class Launched:
    """A started child, the events it delivered, and its spec."""

    process: ExperimentProcess
    spec: ExperimentSpec
    events: list[ChildEvent] = field(default_factory=list)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def wait_for(self, kind: str, timeout: float = 60) -> ChildEvent:  # a child's start-up (chaoslib's imports) on a loaded machine
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if event.kind == kind:
                    return event
            time.sleep(0.02)
        raise AssertionError(f"no {kind} event after {timeout}s; got {self.kinds()}")

    def result(self, timeout: float = 60) -> ExperimentResult:
        """Wait for the child, then prove it is gone (no zombie, no process left in its group)."""
        result = self.process.wait(timeout)
        pid = self.process.pid
        assert pid is not None and not pid_alive(pid)
        return result


Launch = Callable[..., Launched]


def child_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(HERE), **extra}


@dataclass(frozen=True)
class Shop:
    """The shop-api deployment of the sandbox, seen through the official Kubernetes client."""

    core: Any
    apps: Any
    namespace: str = "shop"
    name: str = "shop-api"

    def pods(self) -> list[Any]:
        items = self.core.list_namespaced_pod(self.namespace, label_selector=f"app={self.name}").items
        return [p for p in items if p.metadata.deletion_timestamp is None]

    def pod_names(self) -> set[str]:
        return {p.metadata.name for p in self.pods()}

    def ready(self) -> int:
        def is_ready(pod: Any) -> bool:
            return pod.status.phase == "Running" and any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])

        return sum(1 for p in self.pods() if is_ready(p))

    def replicas(self) -> int:
        return int(self.apps.read_namespaced_deployment(self.name, self.namespace).spec.replicas)

    def scale(self, replicas: int) -> None:
        self.apps.patch_namespaced_deployment(self.name, self.namespace, {"spec": {"replicas": replicas}})

    def wait_until(self, check: Callable[[], bool], timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.1)
        return check()

    def wait_ready(self, count: int = 3, timeout: float = 60) -> bool:  # polled: returns as soon as they are
        return self.wait_until(lambda: self.ready() == count and len(self.pods()) == count, timeout)
