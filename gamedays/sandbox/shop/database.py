"""How a shop replica reaches PostgreSQL: through the sandbox DNS on every request, then a pool.

The database is found as the SRV record of ``db.shop.internal`` (priority, then
weight), then the A record of the SRV target: nothing is cached beyond the records'
TTL (dnspython's cache keeps an answer until its TTL runs out, 1 s in the sandbox).
So removing the record breaks requests within a second, and moving it (failover)
moves them. The pool keeps idle connections of the current target only: when DNS
answers with another host:port, the old connections are closed, never reused.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TypeVar

import dns.exception
import dns.rdtypes.IN.SRV
import dns.resolver
import psycopg
import psycopg.errors
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

logger = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id bigserial PRIMARY KEY,
    item text NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, order=True)
class DatabaseTarget:
    """Where DNS says the database is right now: ``host:port``, found through SRV ``target``."""

    host: str
    port: int
    target: str

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class DatabaseUnresolvable(Exception):
    """DNS gave no usable answer for the database (NXDOMAIN, no record, timeout)."""


class DatabaseUnavailable(Exception):
    """The database DNS points at cannot be reached, or failed the statement."""


class DatabaseLocator:
    """Resolves the database's SRV and A records with dnspython against one DNS server."""

    def __init__(self, dns_server: tuple[str, int], srv_name: str, lifetime: float) -> None:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns_server[0]]
        resolver.port = dns_server[1]
        resolver.timeout = lifetime
        resolver.lifetime = lifetime
        resolver.cache = dns.resolver.Cache(cleaning_interval=30.0)
        self._resolver = resolver
        self.srv_name = srv_name if srv_name.endswith(".") else srv_name + "."

    def locate(self) -> DatabaseTarget:
        try:
            answer = self._resolver.resolve(self.srv_name, "SRV", search=False)
            records: list[dns.rdtypes.IN.SRV.SRV] = list(answer)  # type: ignore[arg-type]
            best = min(records, key=lambda r: (r.priority, -r.weight, r.target.to_text(), r.port))
            target = best.target.to_text()
            address = self._resolver.resolve(best.target, "A", search=False)[0].to_text()
        except dns.resolver.NXDOMAIN as exc:
            raise DatabaseUnresolvable(f"{exc.qnames()[0] if exc.qnames() else self.srv_name} does not exist (NXDOMAIN)") from None
        except dns.resolver.NoAnswer as exc:
            raise DatabaseUnresolvable(f"no record for the database: {exc}") from None
        except dns.exception.DNSException as exc:
            raise DatabaseUnresolvable(f"DNS did not answer for {self.srv_name}: {exc}") from None
        return DatabaseTarget(address, int(best.port), target)


class ConnectionPool:
    """A few idle connections to the *current* target; connections to any other target are closed."""

    def __init__(self, user: str, dbname: str, connect_timeout: int, statement_timeout_ms: int, max_idle: int = 4) -> None:
        self._params: dict[str, Any] = {
            "user": user,
            "dbname": dbname,
            "connect_timeout": connect_timeout,
            "options": f"-c statement_timeout={statement_timeout_ms}",
            "application_name": "shop",
            "autocommit": True,
        }
        self._max_idle = max_idle
        self._lock = threading.Lock()
        self._idle: dict[DatabaseTarget, list[psycopg.Connection[Any]]] = {}
        self._schema_ready: set[DatabaseTarget] = set()

    @contextmanager
    def connection(self, target: DatabaseTarget) -> Iterator[tuple[psycopg.Connection[Any], bool]]:
        """A connection to ``target`` and whether it was reused; back to the pool only if clean."""
        conn = self._take(target)
        reused = conn is not None
        if conn is None:
            conn = psycopg.connect(host=target.host, port=target.port, **self._params)
        healthy = False
        try:
            yield conn, reused
            healthy = True
        finally:
            if healthy and not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE:
                self._give(target, conn)
            else:
                conn.close()

    def ensure_schema(self, target: DatabaseTarget, conn: psycopg.Connection[Any]) -> None:
        """Create the ``orders`` table on ``target`` once (replicas racing to create it is fine)."""
        if target in self._schema_ready:
            return
        try:
            conn.execute(SCHEMA)
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable, psycopg.errors.DuplicateObject):
            logger.debug("another replica created the orders table on %s first", target)
        except psycopg.errors.ReadOnlySqlTransaction:
            logger.info("the database at %s is read-only: reads only, and the table must come from the primary", target)
            return
        with self._lock:
            self._schema_ready.add(target)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for conn in connections:
                conn.close()

    def _take(self, target: DatabaseTarget) -> psycopg.Connection[Any] | None:
        with self._lock:
            stale = [conn for other, conns in self._idle.items() if other != target for conn in conns]
            self._idle = {target: self._idle.get(target, [])}
            conn = self._idle[target].pop() if self._idle[target] else None
        for old in stale:
            old.close()  # DNS moved: connections to the old target are never reused
        if stale:
            logger.info("database moved to %s: closed %d connection(s) to the old target", target, len(stale))
        return conn

    def _give(self, target: DatabaseTarget, conn: psycopg.Connection[Any]) -> None:
        with self._lock:
            pool = self._idle.get(target)
            if pool is not None and len(pool) < self._max_idle:
                pool.append(conn)
                return
        conn.close()


class Orders:
    """The orders table, reached through DNS on every call."""

    def __init__(self, locator: DatabaseLocator, pool: ConnectionPool) -> None:
        self._locator = locator
        self._pool = pool

    def create(self, item: str, quantity: int) -> tuple[dict[str, Any], DatabaseTarget]:
        def insert(conn: psycopg.Connection[Any]) -> dict[str, Any]:
            with conn.cursor(row_factory=dict_row) as cur:
                cur.execute(
                    "INSERT INTO orders (item, quantity) VALUES (%s, %s) RETURNING id, item, quantity, created_at",
                    (item, quantity),
                )
                row = cur.fetchone()
            assert row is not None
            return row

        return self._run(insert, schema=True)

    def get(self, order_id: int) -> tuple[dict[str, Any] | None, DatabaseTarget]:
        def select(conn: psycopg.Connection[Any]) -> dict[str, Any] | None:
            with conn.cursor(row_factory=dict_row) as cur:
                cur.execute("SELECT id, item, quantity, created_at FROM orders WHERE id = %s", (order_id,))
                return cur.fetchone()

        return self._run(select, schema=True)

    def ping(self) -> DatabaseTarget:
        return self._run(lambda conn: conn.execute("SELECT 1").fetchone(), schema=False)[1]

    def _run(self, work: Callable[[psycopg.Connection[Any]], T], *, schema: bool) -> tuple[T, DatabaseTarget]:
        """Resolve, then run ``work``; a reused connection that turns out dead is replaced once."""
        for attempt in range(2):
            target = self._locator.locate()
            try:
                with self._pool.connection(target) as (conn, reused):
                    try:
                        if schema:
                            self._pool.ensure_schema(target, conn)
                        return work(conn), target
                    except psycopg.OperationalError:
                        if reused and attempt == 0:
                            conn.close()
                            continue
                        raise
            except psycopg.errors.ReadOnlySqlTransaction:
                raise DatabaseUnavailable(f"the database at {target} is read-only (a standby?)") from None
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                raise DatabaseUnavailable(f"cannot use the database at {target} ({target.target}): {_first_line(exc)}") from None
        raise DatabaseUnavailable("the database connection failed twice")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
