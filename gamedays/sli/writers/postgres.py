"""The PostgreSQL RPO writer: one autocommitted row per write in ``gameday_rpo``.

Rows are ``(run, seq, at)``; ``run`` is the run id, so parallel runs never see each
other's rows. Writes share one connection, made again after any failure (a failover
kills connections). Each statement is bounded twice: ``statement_timeout`` on the
server, and a watchdog that shuts the socket down when the server (or the network)
does not answer at all, so a black-holed connection fails within the timeout too.
Connecting is bounded by libpq's ``connect_timeout``, which is at least 2 seconds. With
``read_back``, the rows are written through the DSN and read back from another one after
recovery (a cluster restored to a point in time holds what was written before that point).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
from typing import Any

from gamedays.model.redact import dsn_secrets, safe_dsn, scrub
from gamedays.sli.writers.base import DEFAULT_TIMEOUT, WriterError, check_timeout

logger = logging.getLogger(__name__)

TABLE = "gameday_rpo"
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "run text NOT NULL, seq bigint NOT NULL, at double precision NOT NULL, PRIMARY KEY (run, seq))"
)


class PostgresWriter:
    def __init__(self, dsn: str, run_id: str, timeout: float = DEFAULT_TIMEOUT, read_back: str | None = None) -> None:
        import psycopg.conninfo

        self._secrets = dsn_secrets(dsn) + (dsn_secrets(read_back) if read_back else ())
        for given in filter(None, (dsn, read_back)):
            try:
                psycopg.conninfo.conninfo_to_dict(given)
            except psycopg.Error as exc:
                raise WriterError(f"postgres writer: bad connection string {safe_dsn(given)}: {self._say(exc)}") from None
        self._dsn, self._run, self._timeout = dsn, run_id, check_timeout(timeout)
        self._read_back = read_back
        self._conn: Any = None

    @property
    def describe(self) -> str:
        return safe_dsn(self._dsn)

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._secrets

    def prepare(self) -> None:
        self._run_once("create the table " + TABLE, lambda conn: conn.execute(_CREATE))

    def write(self, seq: int, at: float) -> None:
        import psycopg

        try:
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            with _Watchdog(self._conn, self._timeout):
                self._conn.execute(f"INSERT INTO {TABLE} (run, seq, at) VALUES (%s, %s, %s)", (self._run, seq, at))
        except psycopg.Error as exc:
            self._drop()
            raise WriterError(f"{self.describe}: write {seq} failed: {self._say(exc)}") from None

    def survivors(self) -> set[int]:
        rows = self._run_once(
            "read the rows", lambda conn: conn.execute(f"SELECT seq FROM {TABLE} WHERE run = %s", (self._run,)).fetchall(),
            dsn=self._read_back or self._dsn,
        )
        return {int(row[0]) for row in rows}

    def cleanup(self) -> str | None:
        """Delete this run's rows where they were written; also where they were read back, if that still answers."""
        def delete(conn: Any) -> Any:
            return conn.execute(f"DELETE FROM {TABLE} WHERE run = %s", (self._run,))

        if self._read_back and self._read_back != self._dsn:
            try:  # a restored cluster: it may be gone already, or not there yet (a recover), and is deleted anyway
                self._run_once("delete the rows", delete, dsn=self._read_back)
            except WriterError as exc:
                logger.info("postgres writer: the rows where they were read back stay: %s", exc)
        try:
            self._run_once("delete the rows", delete)
        except WriterError as exc:
            return str(exc)
        return None

    def close(self) -> None:
        self._drop()

    def _run_once(self, what: str, action: Any, dsn: str | None = None) -> Any:
        """``action(conn)`` on a connection of its own to ``dsn`` (default: the writes' DSN), closed afterwards."""
        import psycopg

        try:
            with self._connect(dsn) as conn, _Watchdog(conn, max(self._timeout, 5.0)):
                return action(conn)
        except psycopg.Error as exc:
            raise WriterError(f"{safe_dsn(dsn or self._dsn)}: cannot {what}: {self._say(exc)}") from None

    def _connect(self, dsn: str | None = None) -> Any:
        import psycopg

        return psycopg.connect(
            dsn or self._dsn,
            autocommit=True,
            connect_timeout=max(2, math.ceil(self._timeout)),
            application_name="gameday-rpo",
            options=f"-c statement_timeout={max(1, int(self._timeout * 1000))}",
        )

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:  # the socket is already gone: nothing left to release
                return

    def _say(self, exc: BaseException) -> str:
        lines = str(exc).strip().splitlines()
        return scrub(lines[0] if lines else type(exc).__name__, self._secrets)


class _Watchdog:
    """Shuts the connection's socket down if the block takes longer than ``timeout`` seconds.

    A server that does not answer at all (a black hole) never trips ``statement_timeout``;
    shutting the socket down makes the waiting call fail at once with a connection error.
    """

    def __init__(self, conn: Any, timeout: float) -> None:
        self._conn, self._timer = conn, threading.Timer(timeout, self._cut)
        self._timer.daemon = True
        self._lock, self._done = threading.Lock(), False

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:  # a block that finished in time is never cut afterwards
            self._done = True
        self._timer.cancel()
        self._timer.join()

    def _cut(self) -> None:
        import psycopg

        with self._lock:
            if self._done:
                return
            try:
                twin = socket.socket(fileno=os.dup(self._conn.pgconn.socket))
            except (psycopg.Error, OSError):  # the connection is closed already: nothing to cut
                return
            with twin:
                try:
                    twin.shutdown(socket.SHUT_RDWR)
                except OSError as exc:  # already disconnected: the waiting call fails by itself
                    logger.debug("shutting down a stuck PostgreSQL connection: %s", exc)
