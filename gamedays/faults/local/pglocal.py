"""Local PostgreSQL servers, found by their data directory: start one again, rejoin one as a replica.

Local only: like ``kill_postmaster`` and ``promote`` in :mod:`gamedays.faults.postgres`,
these functions act on a server *on this machine*, found by its data directory. They are
meant for the sandbox, or for a gameday run on the database host itself.

    fault                                           rollback
    postgres.kill_postmaster(data_dir)              start_server(data_dir)
    a failover left the old primary behind          rejoin_as_replica(data_dir, primary_data_dir)

How a server is started again: with the command line it last ran with, which PostgreSQL
keeps in ``postmaster.opts`` (the port, the socket folder, the cluster name...), through
``pg_ctl`` of the same installation, as the user that owns the data directory (PostgreSQL
refuses root: as root, ``setpriv`` drops to the owner). The server gets a session of its
own and outlives the experiment; whoever owns the server (the sandbox) stops it later, as
it finds it through ``postmaster.pid``. Backends orphaned by a killed postmaster are waited
for first, and killed after a grace: they would keep the new postmaster from starting.

Rejoining: ``pg_rewind --write-recovery-conf`` from the primary (it also recovers a
crashed data directory first); if that fails, and ``allow_base_backup`` is set, the data
directory is *replaced* by a fresh ``pg_basebackup``. The replica's ``primary_conninfo``
names it by its ``cluster_name``, so the primary's ``pg_stat_replication`` shows it under
that name. Output of the programs and servers goes to ``log_file`` (relative paths land in
the experiment's working directory). Failures raise chaoslib's ``ActivityFailed``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from gamedays.faults.local.pgcontrol import rebuild, start, stop, wait_streaming
from gamedays.faults.local.pgserver import LocalServer, Role
from gamedays.model.reach import Reach, acts_on

__all__ = ["rejoin_as_replica", "start_server"]

log = logging.getLogger(__name__)

DEFAULT_LOG = "postgres-rollback.log"
#: How long a running standby gets to (re)connect to its primary before it is rebuilt.
RECONNECT_GRACE = 10.0


@acts_on(Reach.LOCAL_HOST)
def start_server(data_dir: str, log_file: str = DEFAULT_LOG, timeout_seconds: float = 60.0) -> dict[str, Any]:
    """Start the server on ``data_dir`` again, as it last ran (rollback of ``kill_postmaster``). Idempotent.

    Returns ``started`` (False when it already ran), ``pid`` and ``port``.
    """
    server = LocalServer.of(data_dir)
    pid = server.pid()
    started = pid is None
    if started:
        pid = start(server, Path(log_file), float(timeout_seconds))
    port, _hosts = server.address()
    log.info("server on %s %s (pid %s, port %d)", server.data_dir, "started" if started else "already ran", pid, port)
    return {"started": started, "pid": pid, "port": port, "data_dir": str(server.data_dir)}


@acts_on(Reach.LOCAL_HOST)
def stop_server(data_dir: str, timeout_seconds: float = 30.0) -> dict[str, Any]:
    """Shut the server on ``data_dir`` down cleanly (a fast shutdown). Idempotent.

    A primary's WAL senders send everything it wrote to its streaming standbys before
    it exits, so a standby promoted afterwards has every acknowledged write: the loss
    of a primary without the loss of data, unlike ``postgres.kill_postmaster``.
    Returns ``stopped`` (False when it was not running) and the ``pid`` it had.
    """
    server = LocalServer.of(data_dir)
    pid = server.pid()
    if pid is not None:
        stop(server, float(timeout_seconds))
    log.info("server on %s %s", server.data_dir, "stopped" if pid is not None else "was not running")
    return {"stopped": pid is not None, "pid": pid, "data_dir": str(server.data_dir)}


@acts_on(Reach.LOCAL_HOST)
def rejoin_as_replica(
    data_dir: str,
    primary_data_dir: str,
    user: str = "postgres",
    allow_base_backup: bool = True,
    log_file: str = DEFAULT_LOG,
    timeout_seconds: float = 60.0,
) -> dict[str, Any]:
    """Make the server on ``data_dir`` a streaming replica of the primary on ``primary_data_dir``. Idempotent.

    A standby that streams from that primary (or starts to within a few seconds) is left
    alone; anything else (stopped, crashed, a diverged old primary) is stopped, rewound
    (or rebuilt) and started as a standby. Returns once the primary shows it streaming:
    ``method`` is ``none``, ``pg_rewind`` or ``pg_basebackup``.
    """
    deadline = time.monotonic() + float(timeout_seconds)
    replica, primary = LocalServer.of(data_dir), LocalServer.of(primary_data_dir)
    if replica.data_dir == primary.data_dir:
        raise _failed(f"{replica.data_dir} cannot be a replica of itself")
    if primary.role(user) is not Role.PRIMARY:
        raise _failed(f"the server on {primary.data_dir} is not a running primary: fail over or back first")
    name = replica.name()
    method = "none"
    role = replica.role(user)
    if role is Role.STANDBY and wait_streaming(primary, name, user, min(RECONNECT_GRACE, _left(deadline))):
        log.info("%s already streams from %s", name, primary.data_dir)
    else:
        if role is not Role.STOPPED:
            stop(replica, timeout=_left(deadline))
        method = rebuild(replica, primary, user, allow_base_backup, Path(log_file), _left(deadline))
        start(replica, Path(log_file), _left(deadline))
        if not wait_streaming(primary, name, user, _left(deadline)):
            raise _failed(
                f"{name} ({replica.data_dir}) does not stream from {primary.data_dir} after {timeout_seconds:g}s; "
                f"see {log_file}"
            )
    port, _hosts = replica.address()
    log.info("%s streams from %s (%s)", name, primary.data_dir, method)
    return {"replica": name, "port": port, "method": method, "streaming": True}


def _left(deadline: float) -> float:
    return max(1.0, deadline - time.monotonic())


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed (imported late: chaoslib is heavy)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
