"""Probe: wait until a PostgreSQL, by DSN, takes writes again (after a failover, a restart, a restore)."""

from __future__ import annotations

import logging
import time

import psycopg

from gamedays.model.reach import Reach, acts_on

__all__ = ["wait_for_writes"]

log = logging.getLogger(__name__)


@acts_on(Reach.POSTGRES)
def wait_for_writes(dsn: str, timeout_seconds: float = 30.0) -> float:
    """Probe: wait until a write through ``dsn`` commits; returns the seconds it took (ActivityFailed after timeout)."""
    began = time.monotonic()
    deadline = began + float(timeout_seconds)
    last = "no attempt"
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=2, application_name="gameday-probe") as conn:
                conn.execute("SELECT pg_current_xact_id()")  # takes a transaction id: refused by a standby
            took = time.monotonic() - began
            log.info("writes go through after %.2fs", took)
            return round(took, 3)
        except psycopg.Error as exc:
            last = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        time.sleep(0.1)
    raise _failed(f"no write went through within {timeout_seconds:g}s; the last error: {last}")


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed, imported lazily (chaoslib is heavy and not needed to import this module)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
