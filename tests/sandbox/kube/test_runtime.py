"""ProcessRuntime on its own: real processes on 127.0.0.1 ports, readiness over HTTP, SIGTERM then SIGKILL."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gamedays.model.errors import SandboxError
from gamedays.sandbox.kube import PodHandle, PodInfo, ProcessRuntime
from gamedays.processes import alive as pid_alive
from tests.sandbox.kube.support import pod_command, wait_until

STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[tuple[ProcessRuntime, PodHandle]]]:
    """Handles started by a test; whatever is still running afterwards is killed and checked gone."""
    handles: list[tuple[ProcessRuntime, PodHandle]] = []
    yield handles
    for runtime, handle in handles:
        runtime.stop(handle, 0)
        assert not pid_alive(handle.pid)


def _pod(name: str = "p1", port: int | None = None) -> PodInfo:
    return PodInfo("ns", name, f"uid-{name}", "sandbox-node-1", "img:1", {"app": "x"}, port)


def test_start_ready_logs_and_stop(tmp_path: Path, started: list):
    runtime = ProcessRuntime(pod_command(), log_dir=tmp_path)
    handle = runtime.start(_pod())
    started.append((runtime, handle))
    assert runtime.is_alive(handle) and handle.address == f"127.0.0.1:{handle.port}"
    assert wait_until(lambda: runtime.is_ready(handle), timeout=5.0)
    assert "pod p1 listening on 127.0.0.1" in runtime.read_log(handle)
    assert runtime.stop(handle, 5.0) == -15  # SIGTERM was enough
    assert not runtime.is_alive(handle) and not pid_alive(handle.pid)
    assert not runtime.is_ready(handle)


def test_restart_reuses_the_pods_port(tmp_path: Path, started: list):
    runtime = ProcessRuntime(pod_command())
    first = runtime.start(_pod())
    started.append((runtime, first))
    assert wait_until(lambda: runtime.is_ready(first), timeout=5.0)
    runtime.stop(first, 0)
    second = runtime.start(_pod(port=first.port))
    started.append((runtime, second))
    assert second.port == first.port and second.pid != first.pid
    assert wait_until(lambda: runtime.is_ready(second), timeout=5.0)


def test_sigkill_after_the_grace_period(started: list):
    runtime = ProcessRuntime([sys.executable, "-c", STUBBORN, "{port}"])
    handle = runtime.start(_pod())
    started.append((runtime, handle))
    assert wait_until(lambda: runtime.is_alive(handle)) and not runtime.is_ready(handle)  # no HTTP: never ready
    time.sleep(0.3)  # let it install its SIGTERM handler
    began = time.monotonic()
    assert runtime.stop(handle, 1.0) == -9
    assert 1.0 <= time.monotonic() - began < 3.0


def test_bad_templates_are_refused():
    with pytest.raises(SandboxError, match=r"unknown placeholder\(s\) \['prot'\]"):
        ProcessRuntime(["server", "--port", "{prot}"])
    with pytest.raises(SandboxError, match="empty"):
        ProcessRuntime([])
    with pytest.raises(SandboxError, match="must start with '/'"):
        ProcessRuntime(["server"], health_path="healthz")


def test_a_missing_binary_is_a_sandbox_error():
    runtime = ProcessRuntime(["/nonexistent/gameday-shop", "{port}"])
    with pytest.raises(SandboxError, match="cannot start /nonexistent/gameday-shop"):
        runtime.start(_pod())
