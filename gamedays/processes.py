"""Processes of this host: is a pid alive, wait for pids to go, stop or kill a child and its group.

Below every layer (like :mod:`gamedays.atomicfile`): the engine stops its experiment
processes with it, the faults of this host wait for PostgreSQL's processes and the TCP
proxy with it, the sandbox stops its parts with it. Linux ``/proc`` is read where it is
mounted; without it the signal check (``kill(pid, 0)``) decides.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Sequence

PROC = Path("/proc")
POLL = 0.02  # seconds between two looks at the process table


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie.

    A zombie (exited, not reaped) holds no socket, memory or lock any more; an orphan is
    re-parented to PID 1, which in a container may never reap it, so it counts as gone.
    """
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except FileNotFoundError:
        return False if PROC.joinpath("self").exists() else _signal_says_alive(pid)
    except OSError:  # e.g. gone between the lookup and the read
        return False
    return stat.rpartition(")")[2].split()[:1] not in (["Z"], ["X"])


def wait_gone(pids: Sequence[int], timeout: float) -> bool:
    """True once none of ``pids`` is alive, False when some still are after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)
    return True


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group led by ``pid``, if it is still there."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop(process: subprocess.Popen[bytes], timeout: float = 5.0) -> int | None:
    """Stop ``process`` and its group: SIGTERM, then SIGKILL after ``timeout`` seconds. Returns its exit code."""
    if process.poll() is None:
        signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout)
    signal_group(process.pid, signal.SIGKILL)  # stragglers of the group, if any
    return process.returncode


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process (no chance to clean up) and reap it."""
    if process.poll() is None:
        try:
            os.kill(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(5)


def _signal_says_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True
