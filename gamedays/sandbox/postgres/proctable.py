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
from pathlib import Path

from gamedays.faults.local.pgserver import processes_in
from gamedays.model.errors import SandboxError
from gamedays.processes import alive, wait_gone

__all__ = ["clear", "processes_in", "signal_all"]

log = logging.getLogger(__name__)


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
    if not wait_gone(pids, grace):
        stuck = [pid for pid in pids if alive(pid)]
        log.warning("SIGKILL to %d process(es) of %s still there after %.1fs", len(stuck), data_dir, grace)
        signal_all(stuck, signal.SIGKILL)
        wait_gone(stuck, kill_timeout)
    remaining = [pid for pid in pids if alive(pid)]
    late = [pid for pid in processes_in(data_dir) if pid not in pids]
    if remaining or late:
        raise SandboxError(
            f"processes {sorted(remaining + late)} still run in {data_dir} after SIGKILL; "
            "stop them before starting PostgreSQL on this data directory again"
        )
