"""PostgreSQL: a write/read round trip, a read, or the replication lag seen from the primary.

One connection per sample, closed after it. libpq (and psycopg) wait at least 2 s to
connect whatever the timeout, so a server that does not answer at all costs a sample
about max(2 s, timeout); a refused connection is bad at once. The lag check needs a
role allowed to read ``pg_stat_replication`` (superuser, or a member of ``pg_monitor``).
"""

from __future__ import annotations

import time
from typing import Mapping

from gamedays.model.measurement import Measurement
from gamedays.model.slo import PostgresSLI
from gamedays.sli.expand import expand
from gamedays.model.redact import safe_dsn

PROBE_TABLE = "gameday_probe"


def measure(sli: PostgresSLI, env: Mapping[str, str], timeout: float) -> Measurement:
    import psycopg

    dsn = expand(sli.dsn, env)
    limit = min(timeout, sli.timeout.seconds)
    start = time.perf_counter()
    try:
        with psycopg.connect(
            dsn, connect_timeout=max(1, round(limit)), autocommit=True, application_name="gameday-sli",
            options=f"-c statement_timeout={max(1, int(limit * 1000))}",
        ) as conn:
            if sli.check == "read":
                conn.execute("SELECT 1").fetchone()
                value = None
            elif sli.check == "write":
                value = _round_trip(conn)
            else:
                return _lag(sli, conn, time.perf_counter() - start)
    except psycopg.Error as exc:
        return Measurement.failed(f"{safe_dsn(dsn)}: {_first_line(exc)}", time.perf_counter() - start)
    elapsed = time.perf_counter() - start
    if elapsed > limit:
        return Measurement(False, elapsed, f"{safe_dsn(dsn)}: {elapsed:.2f}s over {limit:g}s", elapsed)
    return Measurement(True, elapsed if value is None else value, None, elapsed)


def _round_trip(conn: object) -> float:
    start = time.perf_counter()
    conn.execute(  # type: ignore[attr-defined]
        f"CREATE TABLE IF NOT EXISTS {PROBE_TABLE} (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())"
    )
    row = conn.execute(f"INSERT INTO {PROBE_TABLE} DEFAULT VALUES RETURNING id").fetchone()  # type: ignore[attr-defined]
    conn.execute(f"SELECT id FROM {PROBE_TABLE} WHERE id = %s", (row[0],)).fetchone()  # type: ignore[attr-defined]
    conn.execute(f"DELETE FROM {PROBE_TABLE} WHERE id < %s", (row[0] - 1000,))  # type: ignore[attr-defined]
    return time.perf_counter() - start


def _lag(sli: PostgresSLI, conn: object, elapsed: float) -> Measurement:
    """The largest ``replay_lag`` of the streaming replicas (0 when caught up and idle).

    A role without ``pg_read_all_stats`` (``pg_monitor``) sees the rows of
    ``pg_stat_replication`` with every column but the pid NULL: that is said as such,
    not mistaken for a missing replica.
    """
    rows = conn.execute(  # type: ignore[attr-defined]
        "SELECT state, extract(epoch FROM replay_lag)::float8, current_user FROM pg_stat_replication"
    ).fetchall()
    streaming = [row for row in rows if row[0] == "streaming"]
    if not streaming:
        if rows and all(row[0] is None for row in rows):
            user = rows[0][2]
            return Measurement(
                False, None,
                f"role {user} may not read the replication state (pg_stat_replication): GRANT pg_monitor TO {user}",
                elapsed,
            )  # fmt: skip
        return Measurement(False, None, "no streaming replica is connected to this server", elapsed)
    lag = max(float(row[1] or 0.0) for row in streaming)
    if sli.max_lag is not None and lag > sli.max_lag.seconds:
        return Measurement(False, lag, f"replication lag {lag:.2f}s over {sli.max_lag}", elapsed)
    return Measurement(True, lag, None, elapsed)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
