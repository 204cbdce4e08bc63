"""Named sandboxes on this machine: where each lives, whether it runs, how to start and stop one.

A sandbox named NAME lives in ``$GAMEDAY_HOME/sandboxes/NAME`` (``GAMEDAY_HOME``
defaults to ``~/.local/state/gameday``); its ``state.json`` holds the
supervisor's pid and the environment to export. Two names run side by side.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from gamedays.home import home
from gamedays.model.errors import SandboxError
from gamedays.processes import alive, wait_gone
from gamedays.sandbox import processes
from gamedays.sandbox.environment import SandboxInfo
from gamedays.sandbox.supervisor import ERROR, STATE

DEFAULT_NAME = "default"


@dataclass(frozen=True)
class Running:
    info: SandboxInfo
    pid: int


def directory_of(name: str, env: Mapping[str, str] = os.environ) -> Path:
    if not name or "/" in name or name.startswith("."):
        raise SandboxError(f"bad sandbox name {name!r}: use letters, digits, '-' or '_'")
    return home(env) / "sandboxes" / name


def running(directory: Path) -> Running | None:
    """The sandbox in ``directory`` if its supervisor is alive and ready."""
    try:
        data = json.loads((directory / STATE).read_text(encoding="utf-8"))
        pid = int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not alive(pid):
        return None
    return Running(SandboxInfo.from_json(json.dumps(data)), pid)


def find_running(env: Mapping[str, str] = os.environ) -> Running | None:
    """The detached sandbox a run should use: ``$GAMEDAY_SANDBOX`` if set, else the default one."""
    pointed = env.get("GAMEDAY_SANDBOX")
    if pointed:
        return running(Path(pointed))
    return running(directory_of(DEFAULT_NAME, env))


def up_detached(directory: Path, *, replicas: int = 3, timeout: float = 60.0) -> Running:
    """Start a supervisor in the background; return once the sandbox is healthy."""
    already = running(directory)
    if already is not None:
        raise SandboxError(
            f"a sandbox is already running in {directory} (pid {already.pid}): "
            "stop it with `gameday sandbox down` or choose another --name"
        )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / ERROR).unlink(missing_ok=True)
    (directory / STATE).unlink(missing_ok=True)
    argv = [sys.executable, "-m", "gamedays.sandbox.supervisor", str(directory), "--replicas", str(replicas)]
    process = processes.spawn(argv, log=directory / "supervisor.log")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = running(directory)
        if found is not None:
            return found
        if process.poll() is not None:
            reason = _read(directory / ERROR) or f"the supervisor exited with {process.returncode}"
            raise SandboxError(f"the sandbox did not start: {reason} (log: {directory / 'supervisor.log'})")
        time.sleep(0.05)
    processes.stop(process, timeout=30)
    raise SandboxError(f"the sandbox was not healthy after {timeout:g}s (log: {directory / 'supervisor.log'})")


def down(directory: Path, *, timeout: float = 60.0) -> bool:
    """Stop the sandbox in ``directory``; False if none was running."""
    found = running(directory)
    if found is None:
        return False
    try:
        os.kill(found.pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    if not wait_gone([found.pid], timeout):
        raise SandboxError(f"the sandbox supervisor (pid {found.pid}) did not stop within {timeout:g}s")
    return True


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""
