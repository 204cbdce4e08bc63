"""A PostgreSQL failover and its way back, for a primary and a replica on this machine (local only).

The failover experiment (``experiments/local/postgres-primary-failover.yaml``) is::

    method                                                  rollbacks
    postmaster.kill_postmaster(primary)                     fail_back(primary, replica, dns..., backup)
    postmaster.promote(replica)                             pglocal.rejoin_as_replica(replica, primary)
    point_srv_at_server(dns..., replica, backup)
    postgres.writes.wait_for_writes(dsn)
    sli.probes.http_seconds_until_good(shop)

The rollbacks *fail back*: they leave the original roles, ports and record exactly as they
were before the fault, so everything that names them (the sandbox's
``DATABASE_PRIMARY_URL``, ``SANDBOX_PG_PRIMARY_DATA``, the next experiment of the gameday)
is still right. Nothing written to the promoted replica during the fault is lost:

1. ``fail_back`` rewinds the killed primary (``pg_rewind``: crash recovery, then the
   replica's history) and starts it as a standby of the promoted replica; once it streams,
   the replica is stopped cleanly (its last WAL reaches the standby before it exits; this
   is checked against ``pg_controldata``), the original primary is promoted, and the DNS
   record is put back from the backup the method saved;
2. ``rejoin_as_replica`` turns the stopped replica into a standby of the primary again.

Both are idempotent and find out where they are from the servers themselves, so they also
finish a failover that stopped half way (primary killed but never promoted: it is simply
started again) or a rollback that was interrupted.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any

from gamedays.faults.dns import records as dns_faults
from gamedays.faults.dns import srv
from gamedays.faults.local import postmaster
from gamedays.faults.local.pgcontrol import (
    rebuild,
    run_as_owner,
    start,
    stop,
    wait_streaming,
)
from gamedays.faults.local.pglocal import DEFAULT_LOG
from gamedays.faults.local.pgserver import LocalServer, Role
from gamedays.model.reach import Reach, acts_on
from gamedays.model.tsig import DEFAULT_REFERENCE

__all__ = ["fail_back", "point_srv_at_server"]

log = logging.getLogger(__name__)

_LSN = re.compile(r"^Latest checkpoint location:\s+([0-9A-F]+/[0-9A-F]+)\s*$", re.MULTILINE)


@acts_on(Reach.LOCAL_HOST, Reach.RFC2136)
def point_srv_at_server(
    server: str,
    zone: str,
    name: str,
    data_dir: str,
    target: str | None = None,
    backup: str | None = None,
    timeout: float = srv.DEFAULT_TIMEOUT,
    tsig_key: str = DEFAULT_REFERENCE,
) -> dict[str, Any]:
    """Move the SRV record ``name`` to the port of the local server on ``data_dir`` (a promoted replica).

    ``target`` is the SRV target name to use (``pg-1``), else the current one is kept. The
    old record set goes to ``backup`` first. Returns once the old record's TTL has run out.
    """
    local = LocalServer.of(data_dir)
    if local.pid() is None:
        raise _failed(f"no server runs on {local.data_dir}: there is nothing to point {name} at")
    port, _hosts = local.address()
    return srv.move_srv(server, zone, name, port, target=target, backup=backup, timeout=timeout, tsig_key=tsig_key)


@acts_on(Reach.LOCAL_HOST, Reach.RFC2136)
def fail_back(
    primary_data_dir: str,
    replica_data_dir: str,
    server: str | None = None,
    zone: str | None = None,
    name: str | None = None,
    backup: str | None = None,
    user: str = "postgres",
    log_file: str = DEFAULT_LOG,
    timeout_seconds: float = 60.0,
    tsig_key: str = DEFAULT_REFERENCE,
) -> dict[str, Any]:
    """Make ``primary_data_dir``'s server the primary again, with every write the replica took; restore the record.

    ``server``/``zone``/``name``/``backup`` are those given to :func:`point_srv_at_server`:
    the record is restored from ``backup`` if the file exists (and the file is then removed,
    so a later run never restores a stale one). The replica is left stopped when it was
    failed back from: follow with ``rejoin_as_replica(replica, primary)``. Returns the steps taken.
    """
    deadline = time.monotonic() + float(timeout_seconds)
    primary, replica = LocalServer.of(primary_data_dir), LocalServer.of(replica_data_dir)
    logs = Path(log_file)
    steps: list[str] = []
    for _ in range(4):  # each pass moves one state further; four cover the longest path
        mine, theirs = primary.role(user), replica.role(user)
        if mine is Role.PRIMARY:
            if theirs is Role.PRIMARY:
                raise _failed(
                    f"both {primary.data_dir} and {replica.data_dir} run as primaries (split brain): "
                    "decide which one holds the data to keep, and rebuild the other by hand"
                )
            break
        if mine is Role.STOPPED and theirs is Role.PRIMARY:
            method = _rejoin(primary, replica, user, logs, deadline)
            steps.append(f"rejoined {primary.name()} as a standby of {replica.name()} ({method})")
        elif mine is Role.STOPPED:
            start(primary, logs, _left(deadline))  # never promoted: it is still the primary's data
            steps.append(f"started {primary.name()} again")
        elif theirs is Role.PRIMARY:
            _switch_over(replica, primary, user, logs, deadline)
            steps.append(f"stopped {replica.name()} cleanly and promoted {primary.name()}")
        else:
            postmaster.promote(str(primary.data_dir), user=user, timeout_seconds=_left(deadline))
            steps.append(f"promoted {primary.name()} (no other primary ran)")
    else:
        raise _failed(f"{primary.data_dir} did not become the primary; steps taken: {'; '.join(steps) or 'none'}")
    restored = _restore_record(server, zone, name, backup, tsig_key)
    if restored is not None:
        steps.append(f"restored the {name} record")
    port, _hosts = primary.address()
    log.info("%s is the primary again on port %d: %s", primary.name(), port, "; ".join(steps) or "nothing to do")
    return {"primary": primary.name(), "port": port, "steps": steps, "record": restored}


def _rejoin(server: LocalServer, primary: LocalServer, user: str, logs: Path, deadline: float) -> str:
    """The stopped ``server`` rewound (or rebuilt) and started as a standby of ``primary``, streaming."""
    method = rebuild(server, primary, user, True, logs, _left(deadline))
    start(server, logs, _left(deadline))
    if not wait_streaming(primary, server.name(), user, _left(deadline)):
        raise _failed(f"{server.name()} does not stream from {primary.name()}; see {logs}")
    return method


def _switch_over(old: LocalServer, new: LocalServer, user: str, logs: Path, deadline: float) -> None:
    """Stop the primary ``old`` cleanly once ``new`` streams from it, check ``new`` got all of it, promote ``new``."""
    if not wait_streaming(old, new.name(), user, _left(deadline)):
        raise _failed(f"{new.name()} does not stream from {old.name()}: switching over now would lose writes")
    stop(old, timeout=_left(deadline))
    checkpoint = _latest_checkpoint(old)
    received = _wait_received(new, user, checkpoint, min(10.0, _left(deadline)))
    if not received:
        start(old, logs, _left(deadline))  # keep serving from the old primary rather than lose data
        raise _failed(
            f"{new.name()} did not receive {old.name()}'s last WAL ({checkpoint}); {old.name()} was started again"
        )
    postmaster.promote(str(new.data_dir), user=user, timeout_seconds=_left(deadline))


def _latest_checkpoint(server: LocalServer) -> str:
    """The stopped server's last checkpoint LSN, from ``pg_controldata``."""
    output = run_as_owner(
        server, [server.program("pg_controldata"), "-D", str(server.data_dir)], Path("/dev/null"), 30.0,
        f"pg_controldata of {server.data_dir}",
    )  # fmt: skip
    found = _LSN.search(output)
    if found is None:
        raise _failed(f"pg_controldata of {server.data_dir} names no latest checkpoint")
    return found.group(1)


def _wait_received(standby: LocalServer, user: str, lsn: str, timeout: float) -> bool:
    """True once the standby has received WAL past ``lsn`` (the old primary's shutdown checkpoint)."""
    deadline = time.monotonic() + timeout
    while True:
        with standby.connect(user) as conn:
            row = conn.execute(
                "SELECT pg_wal_lsn_diff(greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), %s::pg_lsn) > 0",
                (lsn,),
            ).fetchone()
        if row and row[0]:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _restore_record(
    server: str | None, zone: str | None, name: str | None, backup: str | None, tsig_key: str
) -> dict[str, Any] | None:
    if backup is None:
        return None
    if not Path(backup).exists():
        log.info("no record backup %s: the record was not moved", backup)
        return None
    if not (server and zone and name):
        raise _failed("restoring the record needs server, zone and name along with backup")
    restored = dns_faults.restore_record(server, zone, name, "SRV", backup=backup, tsig_key=tsig_key)
    Path(backup).unlink()
    return restored


def _left(deadline: float) -> float:
    return max(1.0, deadline - time.monotonic())


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed (imported late: chaoslib is heavy)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
