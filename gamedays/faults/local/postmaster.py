"""A local PostgreSQL server's postmaster, found by its data directory: kill it, promote its standby (local only).

Both read the server's ``postmaster.pid``: they act on a server *on this machine*, so they are
meant for the sandbox, or for a gameday run on the database host. For any PostgreSQL by DSN,
see :mod:`gamedays.faults.postgres.connections`. Every failure raises chaoslib's
``ActivityFailed`` with a message that says what to fix.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from gamedays.faults.local.pgserver import POSTMASTER_PID, PostmasterPid
from gamedays.faults.postgres.connections import connect
from gamedays.model.reach import Reach, acts_on
from gamedays.processes import alive, wait_gone

__all__ = ["kill_postmaster", "promote"]

log = logging.getLogger(__name__)


@acts_on(Reach.LOCAL_HOST)
def kill_postmaster(data_dir: str) -> int:
    """SIGKILL the postmaster of the local server on ``data_dir`` (local only). Returns its pid.

    Its backends are orphaned and exit by themselves; whoever restarts the server must wait
    for them (the sandbox does).
    """
    folder = Path(data_dir)
    pid = _running_postmaster(folder)
    try:
        os.kill(pid, signal.SIGKILL)
    except PermissionError:
        raise _failed(f"not allowed to signal the postmaster {pid} of {folder}: run as its user or root") from None
    except ProcessLookupError:
        return pid
    if not wait_gone([pid], 5.0):
        raise _failed(f"the postmaster {pid} of {folder} survived SIGKILL")
    log.info("killed postmaster %d of %s", pid, folder)
    return pid


@acts_on(Reach.LOCAL_HOST)
def promote(data_dir: str, user: str = "postgres", timeout_seconds: float = 30.0) -> int:
    """Promote the local standby on ``data_dir`` (local only) with ``pg_promote``; returns its port.

    The server is reached through the socket folder and address its ``postmaster.pid`` names,
    as ``user`` (a superuser; trust or a ``.pgpass`` must let it in). Waits up to
    ``timeout_seconds`` for the promotion to finish.
    """
    folder = Path(data_dir)
    _running_postmaster(folder)
    port, hosts = _address_of(folder)
    conninfo = make_conninfo(
        host=",".join(hosts), port=",".join([str(port)] * len(hosts)), user=user, dbname="postgres"
    )
    with connect(conninfo) as conn:
        try:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            if not (row and row[0]):
                raise _failed(f"the server on {folder} is not a standby: there is nothing to promote")
            row = conn.execute("SELECT pg_promote(true, %s)", (max(1, round(float(timeout_seconds))),)).fetchone()
        except psycopg.Error as exc:
            raise _failed(f"promoting the server on {folder} failed: {exc}") from None
    if not (row and row[0]):
        raise _failed(f"the server on {folder} was not promoted within {timeout_seconds:g}s")
    log.info("promoted the server on %s (port %d)", folder, port)
    return port


def _postmaster_pid(folder: Path) -> PostmasterPid:
    try:
        return PostmasterPid.read(folder / POSTMASTER_PID)
    except FileNotFoundError:
        raise _failed(f"no postmaster.pid in {folder}: no server runs on that data directory") from None
    except OSError as exc:
        raise _failed(f"cannot read {folder / 'postmaster.pid'}: {exc.strerror}") from None


def _running_postmaster(folder: Path) -> int:
    """The pid in ``postmaster.pid``, checked to be a live process working in ``folder``."""
    pid = _postmaster_pid(folder).pid
    if pid is None:
        raise _failed(f"{folder / 'postmaster.pid'} holds no pid")
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except PermissionError:
        raise _failed(f"not allowed to inspect process {pid} of {folder}: run as its user or root") from None
    except OSError:  # no such process
        cwd = ""
    if not alive(pid) or cwd != str(folder.resolve()):
        raise _failed(f"the postmaster.pid in {folder} is stale: process {pid} is not its server")
    return pid


def _address_of(folder: Path) -> tuple[int, list[str]]:
    """(port, hosts to try) from ``postmaster.pid``: the socket folder first, then the listen address."""
    found = _postmaster_pid(folder)
    if found.port is None:
        raise _failed(f"{folder / 'postmaster.pid'} does not name a port yet: is the server still starting?")
    port, hosts = found.port, found.hosts()
    if not hosts:
        raise _failed(f"the server on {folder} listens neither on a socket nor on an address")
    return port, hosts


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed, imported lazily (chaoslib is heavy and not needed to import this module)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
