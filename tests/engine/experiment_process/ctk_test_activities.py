"""Python activities for the experiments of these tests; the child imports them through PYTHONPATH.

Each leaves a trace on the target the test checks afterwards: a file, a process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def touch(path: str) -> str:
    """Create ``path``: the proof that this activity ran."""
    Path(path).write_text(str(time.time()))
    return path


def exists(path: str) -> bool:
    """A probe: does ``path`` exist?"""
    return Path(path).exists()


def fail(message: str) -> None:
    """An activity that fails the way extensions fail."""
    from chaoslib.exceptions import ActivityFailed

    raise ActivityFailed(message)


def crash(code: int = 9, say: str = "") -> None:
    """Hard-crash the experiment process: no exception handler, no journal, no rollback."""
    if say:
        sys.stderr.write(say + "\n")
        sys.stderr.flush()
    os._exit(code)


def write_env(name: str, path: str) -> str:
    """Write the value of environment variable ``name`` to ``path``."""
    value = os.environ.get(name, "")
    Path(path).write_text(value)
    return value


def spawn_sleeper(pidfile: str) -> int:
    """Start a long ``sleep`` that the experiment process leaves behind; its pid goes to ``pidfile``."""
    sleeper = subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    Path(pidfile).write_text(str(sleeper.pid))
    return sleeper.pid


def garble_events() -> None:
    """Write malformed lines onto the child's event channel (found from its own command line)."""
    fd = int(sys.argv[sys.argv.index("--events-fd") + 1])
    os.write(fd, b"this is not json\n")
    os.write(fd, b'{"kind": "no-such-kind", "at": 1}\n')
    os.write(fd, b'{"kind": "started", "at": "yesterday"}\n')


def slow_touch(started: str, path: str, seconds: float) -> str:
    """Say it started (``started``), take ``seconds``, then create ``path``: an action still running when interrupted."""
    Path(started).write_text(str(time.time()))
    time.sleep(seconds)
    Path(path).write_text(str(time.time()))
    return path
