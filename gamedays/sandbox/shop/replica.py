"""One replica of the shop: a small HTTP/1.1 orders API on 127.0.0.1 that faults can really hurt.

    python -m gamedays.sandbox.shop.replica --port 8001 --dns 127.0.0.1:5353 \\
        [--db-srv db.shop.internal] [--db-user shop] [--database shop] [--name replica-0]

Routes:
    POST /orders        {"item": str, "quantity": int} -> 201 {"id", "item", "quantity", "created_at", "database"}
    GET  /orders/{id}   200 the order, 404 if absent
    GET  /healthz       200 when the database (found through DNS) answers ``SELECT 1``, else 503
    GET  /metrics       Prometheus text: shop_requests_total{method,route,status},
                        shop_errors_total{route,reason}, shop_request_duration_seconds{route}, shop_up

Every request finds the database through the sandbox DNS (see :mod:`.database`), so DNS
faults and failovers act on it for real; a failure is a 503 (or 500) with a JSON
``{"error", "detail"}`` body. SIGTERM or SIGINT stop it within a fraction of a second.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Sequence

import psycopg

from gamedays.sandbox.ports import LOOPBACK
from gamedays.sandbox.shop.database import (
    ConnectionPool,
    DatabaseLocator,
    DatabaseUnavailable,
    DatabaseUnresolvable,
    Orders,
)
from gamedays.sandbox.shop.metrics import CONTENT_TYPE, Registry
from gamedays.sandbox.shop.serving import LoopbackHTTPServer, parse_host_port, serve_until_signalled

logger = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_ITEM = 200
MAX_QUANTITY = 10_000
_ORDER_PATH = re.compile(r"^/orders/([0-9]{1,18})$")


@dataclass(frozen=True)
class ReplicaConfig:
    """Everything a replica is told on its command line."""

    port: int
    dns_server: tuple[str, int]
    db_srv: str = "db.shop.internal"
    db_user: str = "shop"
    database: str = "shop"
    name: str = "replica"
    dns_timeout: float = 1.0
    connect_timeout: int = 2
    statement_timeout: float = 2.0


@dataclass(frozen=True)
class Response:
    """What one request gets back; ``reason`` names the cause of a 5xx for the errors counter."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = field(default=())
    reason: str = ""


class ShopApp:
    """The replica's routes and metrics, independent of the HTTP plumbing."""

    def __init__(self, config: ReplicaConfig) -> None:
        self.config = config
        self.pool = ConnectionPool(
            config.db_user, config.database, config.connect_timeout, int(config.statement_timeout * 1000)
        )
        self.orders = Orders(DatabaseLocator(config.dns_server, config.db_srv, config.dns_timeout), self.pool)
        self.registry = Registry()
        self.requests = self.registry.counter(
            "shop_requests_total", "HTTP requests answered, by method, route and status.", ("method", "route", "status")
        )
        self.errors = self.registry.counter(
            "shop_errors_total", "Requests that failed on the server side (5xx), by route and reason.", ("route", "reason")
        )
        self.latency = self.registry.histogram(
            "shop_request_duration_seconds", "Time to answer a request, in seconds, by route.", ("route",)
        )
        self.registry.gauge("shop_up", "1 while this replica serves requests.", initial=1.0)

    def handle(self, method: str, path: str, body: bytes) -> tuple[str, Response]:
        """The route label and the response for one request."""
        path = path.split("?", 1)[0]
        match = _ORDER_PATH.match(path)
        if path == "/orders":
            return "/orders", self._only(method, "POST") or self._guard(lambda: self._create(body))
        if match:
            return "/orders/{id}", self._only(method, "GET") or self._guard(lambda: self._read(int(match.group(1))))
        if path == "/healthz":
            return "/healthz", self._only(method, "GET") or self._health()
        if path == "/metrics":
            return "/metrics", self._only(method, "GET") or Response(200, self.registry.render().encode(), CONTENT_TYPE)
        return "other", _json(404, {"error": "not found", "detail": f"no route for {path}"})

    def record(self, method: str, route: str, response: Response, seconds: float) -> None:
        self.requests.inc(method, route, str(response.status))
        self.latency.observe(seconds, route)
        if response.status >= 500:
            self.errors.inc(route, response.reason or "internal")

    def _create(self, body: bytes) -> Response:
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            return _json(400, {"error": "bad request", "detail": "the body is not JSON"})
        problem = _order_problem(payload)
        if problem:
            return _json(400, {"error": "bad request", "detail": problem})
        row, target = self.orders.create(payload["item"], payload["quantity"])
        return _json(201, {**_order(row), "database": str(target)}, ("X-Shop-Database", str(target)))

    def _read(self, order_id: int) -> Response:
        row, target = self.orders.get(order_id)
        if row is None:
            return _json(404, {"error": "not found", "detail": f"no order {order_id}"}, ("X-Shop-Database", str(target)))
        return _json(200, {**_order(row), "database": str(target)}, ("X-Shop-Database", str(target)))

    def _health(self) -> Response:
        try:
            target = self.orders.ping()
        except (DatabaseUnresolvable, DatabaseUnavailable) as exc:
            return _json(503, {"status": "unavailable", "detail": str(exc)}, reason="health")
        return _json(200, {"status": "ok", "database": str(target)})

    def _guard(self, work: Callable[[], Response]) -> Response:
        try:
            return work()
        except DatabaseUnresolvable as exc:
            return _json(503, {"error": "database unresolvable", "detail": str(exc)}, reason="dns")
        except DatabaseUnavailable as exc:
            return _json(503, {"error": "database unavailable", "detail": str(exc)}, reason="database")
        except psycopg.Error as exc:
            logger.error("database error: %s", exc)
            return _json(500, {"error": "database error", "detail": str(exc).strip()}, reason="database_error")

    @staticmethod
    def _only(method: str, allowed: str) -> Response | None:
        if method == allowed:
            return None
        return _json(405, {"error": "method not allowed", "detail": f"use {allowed}"}, ("Allow", allowed))


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive: every response carries Content-Length."""

    protocol_version = "HTTP/1.1"
    server_version = "shop/1"
    timeout = 30  # an idle keep-alive connection gives its thread back after this
    server: LoopbackHTTPServer[ShopApp]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET  # noqa: N815

    def _serve(self) -> None:
        app = self.server.app
        started = time.perf_counter()
        route, response = "other", _json(500, {"error": "internal error"}, reason="internal")
        try:
            body = self._body()
            if isinstance(body, Response):
                response = body
            else:
                route, response = app.handle(self.command, self.path, body)
        except Exception:  # a bug must cost one request a 500, never the replica
            logger.exception("unexpected error on %s %s", self.command, self.path)
        # counted before it is sent: a client that has its answer finds it in /metrics
        app.record(self.command, route, response, time.perf_counter() - started)
        try:
            self._send(response, app.config.name)
        except OSError as exc:  # the client went away; the request still counts
            logger.debug("could not answer %s %s: %s", self.command, self.path, exc)
            self.close_connection = True

    def _body(self) -> bytes | Response:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return _json(411, {"error": "length required", "detail": "send Content-Length, not chunked"})
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return _json(400, {"error": "bad request", "detail": "bad Content-Length"})
        if length > MAX_BODY or length < 0:
            self.close_connection = True
            return _json(413, {"error": "too large", "detail": f"at most {MAX_BODY} bytes"})
        return self.rfile.read(length) if length else b""

    def _send(self, response: Response, replica: str) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("X-Shop-Replica", replica)
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        logger.debug("%s %s", self.address_string(), format % args)


def _json(status: int, payload: dict[str, Any], *headers: tuple[str, str], reason: str = "") -> Response:
    return Response(status, json.dumps(payload, default=str).encode(), "application/json", tuple(headers), reason)


def _order(row: dict[str, Any]) -> dict[str, Any]:
    created = row["created_at"]
    return {
        "id": row["id"],
        "item": row["item"],
        "quantity": row["quantity"],
        "created_at": created.isoformat() if isinstance(created, datetime) else str(created),
    }


def _order_problem(payload: object) -> str | None:
    if not isinstance(payload, dict):
        return 'the body must be a JSON object {"item": str, "quantity": int}'
    item, quantity = payload.get("item"), payload.get("quantity")
    if not isinstance(item, str) or not item.strip() or len(item) > MAX_ITEM:
        return f"item must be a non-empty string of at most {MAX_ITEM} characters"
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= MAX_QUANTITY:
        return f"quantity must be a whole number from 1 to {MAX_QUANTITY}"
    return None


def parse_args(argv: Sequence[str] | None) -> ReplicaConfig:
    parser = argparse.ArgumentParser(prog="python -m gamedays.sandbox.shop.replica", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="HTTP port on 127.0.0.1")
    parser.add_argument("--dns", type=parse_host_port, required=True, help="the sandbox DNS server, HOST:PORT")
    parser.add_argument("--db-srv", default="db.shop.internal", help="SRV record naming the database (default %(default)s)")
    parser.add_argument("--db-user", default="shop", help="PostgreSQL user (default %(default)s)")
    parser.add_argument("--database", default="shop", help="PostgreSQL database (default %(default)s)")
    parser.add_argument("--name", default=None, help="replica name in headers and logs (default replica-PORT)")
    parser.add_argument("--dns-timeout", type=float, default=1.0, help="seconds per DNS resolution (default %(default)s)")
    parser.add_argument("--connect-timeout", type=int, default=2, help="PostgreSQL connect timeout, s (libpq minimum 2)")
    parser.add_argument("--statement-timeout", type=float, default=2.0, help="PostgreSQL statement timeout, s")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return ReplicaConfig(
        port=args.port,
        dns_server=args.dns,
        db_srv=args.db_srv,
        db_user=args.db_user,
        database=args.database,
        name=args.name or f"replica-{args.port}",
        dns_timeout=args.dns_timeout,
        connect_timeout=args.connect_timeout,
        statement_timeout=args.statement_timeout,
    )


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    app = ShopApp(config)
    try:
        server = LoopbackHTTPServer(config.port, _Handler, app)
    except OSError as exc:
        logger.error("cannot listen on %s:%d: %s", LOOPBACK, config.port, exc.strerror or exc)
        return 2
    try:
        serve_until_signalled(server, f"shop {config.name}")
    finally:
        app.pool.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
