"""A data disaster by DSN: a faulty migration deletes a table's rows, the moment recorded for a point-in-time restore.

:func:`delete_rows` is the disaster of the point-in-time restore playbook
(``playbooks/aurora-cluster-pitr.yaml``): every row of ``table`` is deleted through ``dsn``, as a
migration with a missing ``WHERE`` would. Before it deletes anything it writes the time to
``restore_point`` (UTC, ISO 8601), the point the recovery restores the cluster to, less a margin
(:func:`gamedays.faults.aws.aurora.restore_cluster_to_point_in_time`). There is no rollback:
the rows come back only by the restore, which is what the playbook proves. Works against any
PostgreSQL by DSN (Aurora, RDS, the sandbox's); the role needs DELETE on the table.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path

import psycopg
from psycopg import sql

from gamedays.atomicfile import write_atomically
from gamedays.faults.postgres.connections import connect
from gamedays.model.reach import Reach, acts_on

__all__ = ["delete_rows"]

log = logging.getLogger(__name__)


@acts_on(Reach.POSTGRES)
def delete_rows(dsn: str, table: str, restore_point: str | None = None) -> dict[str, object]:
    """Delete every row of ``table`` (``name`` or ``schema.name``) through ``dsn``; returns ``deleted`` and ``at``."""
    parts = table.split(".") if isinstance(table, str) else []
    if not 1 <= len(parts) <= 2 or not all(p.strip() for p in parts):
        raise _failed(f"table must be a table name, or schema.name, got {table!r}")
    at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    if restore_point is not None:
        try:
            write_atomically(Path(restore_point), json.dumps({"at": at}) + "\n")
        except OSError as exc:
            raise _failed(f"cannot write the restore point {restore_point}: {exc.strerror or exc}") from None
    statement = sql.SQL("DELETE FROM {}").format(sql.Identifier(*parts))
    with connect(dsn) as conn:
        try:
            deleted = conn.execute(statement).rowcount
        except psycopg.Error as exc:
            raise _failed(f"cannot delete the rows of {table}: {str(exc).strip().splitlines()[0]}") from None
    log.info("deleted %d rows of %s at %s", deleted, table, at)
    return {"deleted": deleted, "at": at, "table": table}


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed, imported lazily (chaoslib is heavy and not needed to import this module)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
