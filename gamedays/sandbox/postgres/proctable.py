"""The processes of one PostgreSQL data directory, found in the process table (Linux ``/proc``).

Every process of a PostgreSQL server (the postmaster and each backend or auxiliary process)
has the data directory as its working directory, and each child calls ``setsid()``, so neither
the process group nor the parent finds them once the postmaster is gone. After a SIGKILL of
the postmaster its children live on for a moment as orphans: they keep the shared memory
segment attached and a new postmaster on the same data directory refuses to start until they
are gone. :func:`clear` waits for them, with a deadline.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

from gamedays.model.errors import SandboxError

log = logging.getLogger(__name__)

PROC = Path("/proc")
_DELETED = " (deleted)"


def processes_in(data_dir: Path) -> list[int]:
    """Pids of the live processes whose working directory is ``data_dir`` (zombies excluded).

    Processes this user may not inspect are skipped: an unprivileged caller sees its own only,
    which are the only ones it could have started.
    """
    target = str(data_dir.resolve())
    found: list[int] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:  # gone meanwhile, a zombie, or not ours to inspect
            continue
        if cwd.removesuffix(_DELETED) == target and is_alive(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def is_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a zombie holds no resources any more).

    Zombies matter here: an orphan is re-parented to PID 1, which in a container may never reap it.
    """
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    state = stat.rpartition(")")[2].split()[:1]
    return state != ["Z"] and state != ["X"]


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait up to ``timeout`` seconds for ``pids`` to exit; returns those still alive."""
    deadline = time.monotonic() + timeout
    remaining = [pid for pid in pids if is_alive(pid)]
    while remaining and time.monotonic() < deadline:
        time.sleep(0.02)
        remaining = [pid for pid in remaining if is_alive(pid)]
    return remaining


def signal_all(pids: list[int], sig: signal.Signals) -> None:
    """Send ``sig`` to each of ``pids`` that still exists."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            continue


def clear(data_dir: Path, grace: float, kill_timeout: float = 5.0) -> None:
    """Make sure no process runs in ``data_dir``: wait ``grace`` seconds for them to exit, then SIGKILL.

    Orphaned backends notice the postmaster's death and exit on their own, usually within
    milliseconds; the SIGKILL is for one stuck in a long query. Raises :class:`SandboxError`
    if any is still there after that.
    """
    pids = processes_in(data_dir)
    if not pids:
        return
    log.info("waiting for %d orphaned process(es) of %s: %s", len(pids), data_dir, pids)
    remaining = wait_gone(pids, grace)
    if remaining:
        log.warning("SIGKILL to %d process(es) of %s still there after %.1fs", len(remaining), data_dir, grace)
        signal_all(remaining, signal.SIGKILL)
        remaining = wait_gone(remaining, kill_timeout)
    late = [pid for pid in processes_in(data_dir) if pid not in pids]
    if remaining or late:
        raise SandboxError(
            f"processes {sorted(remaining + late)} still run in {data_dir} after SIGKILL; "
            "stop them before starting PostgreSQL on this data directory again"
        )
