"""Aurora PostgreSQL: wait until the writer endpoint reaches a given instance and takes writes.

After ``failover_db_cluster`` the RDS API names the new writer at once, but the cluster's
writer endpoint follows later (its DNS record moves, the new writer finishes promoting).
:func:`wait_for_writer` is the probe an experiment puts after the failover so that what
follows (the hypothesis, the rollback) sees the failover done, not asked for: it writes
through ``dsn`` (the writer endpoint, e.g. ``DATABASE_URL``) until the server that takes the
write names itself ``instance``, with Aurora PostgreSQL's ``aurora_db_instance_identifier()``.
The sandbox's AWS twin defines that function on its local servers, so the same probe runs
against the twin and against a real cluster.
"""

from __future__ import annotations

import logging
import time

import psycopg

from gamedays.model.reach import Reach, acts_on

__all__ = ["wait_for_writer", "writer_identity"]

log = logging.getLogger(__name__)

_WHO_WRITES = "SELECT aurora_db_instance_identifier(), pg_current_xact_id()::text"  # a standby refuses the xact id


@acts_on(Reach.POSTGRES)
def writer_identity(dsn: str, timeout_seconds: float = 2.0) -> str:
    """The instance that took a write through ``dsn`` now (ActivityFailed when none did)."""
    try:
        return _who_writes(dsn, timeout_seconds)
    except psycopg.Error as exc:
        raise _failed(f"no write went through the writer endpoint: {_first_line(exc)}") from None


@acts_on(Reach.POSTGRES)
def wait_for_writer(dsn: str, instance: str, timeout_seconds: float = 60.0) -> float:
    """Probe: wait until a write through ``dsn`` is taken by ``instance``; returns the seconds it took."""
    if not isinstance(instance, str) or not instance.strip():
        raise _failed(f"instance must be a DB instance identifier, got {instance!r}")
    began = time.monotonic()
    deadline = began + float(timeout_seconds)
    last = "no attempt"
    while time.monotonic() < deadline:
        try:
            found = _who_writes(dsn, 2.0)
            if found == instance:
                took = round(time.monotonic() - began, 3)
                log.info("%s takes the writes after %.2fs", instance, took)
                return took
            last = f"the writes went to {found}"
        except psycopg.Error as exc:
            last = _first_line(exc)
        time.sleep(0.1)
    raise _failed(f"{instance} did not take the writes within {timeout_seconds:g}s; the last attempt: {last}")


def _who_writes(dsn: str, timeout: float) -> str:
    connect_timeout = max(1, round(timeout))
    with psycopg.connect(dsn, autocommit=True, connect_timeout=connect_timeout, application_name="gameday-probe") as conn:
        row = conn.execute(_WHO_WRITES).fetchone()
    return str(row[0]) if row else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed (imported late: chaoslib is heavy)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
