"""The shop's load balancer: an HTTP reverse proxy on 127.0.0.1 in front of the healthy replicas.

    python -m gamedays.sandbox.shop.balancer --port 8000 --backends-file backends.json \\
        [--health-interval 0.5] [--health-timeout 2.0] [--backend-timeout 10]

Backends: the file holds a JSON list of ``"127.0.0.1:PORT"`` strings. It is re-read
whenever it changes (mtime, size or inode: write it atomically, temp file + rename, as
:func:`gamedays.sandbox.shop.write_backends_file` does); a missing file means no backend,
a broken one is ignored (the previous list stays, an error is logged).

Health: every ``--health-interval`` seconds each backend's ``GET /healthz`` must answer 200
within ``--health-timeout``; a new backend is unhealthy until its first check passes.
Requests go round-robin to healthy backends only; none healthy: 503. A backend that
refuses the connection is marked down at once and the request goes to the next one
(it never reached the backend, so even a POST is safe to retry).

The balancer's own endpoints live under ``/-/`` (never proxied):
    /-/metrics    Prometheus text: balancer_requests_total{method,status}, balancer_errors_total{reason},
                  balancer_request_duration_seconds, balancer_backend_requests_total{backend},
                  balancer_backends, balancer_healthy_backends, balancer_up
    /-/healthz    200 when at least one backend is healthy, else 503
    /-/backends   JSON: every backend and whether it is healthy
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Sequence

from gamedays.sandbox.ports import LOOPBACK
from gamedays.sandbox.shop.metrics import CONTENT_TYPE, Registry
from gamedays.sandbox.shop.serving import LoopbackHTTPServer, parse_host_port, serve_until_signalled

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
FILE_POLL_SECONDS = 0.1
HOP_BY_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
        "transfer-encoding", "upgrade", "host", "content-length",
    }
)  # fmt: skip
_SET_HERE = frozenset({"content-type", "server", "date"})  # _reply writes these itself


@dataclass(frozen=True)
class BalancerConfig:
    """Everything the balancer is told on its command line."""

    port: int
    backends_file: Path
    health_interval: float = 0.5
    health_timeout: float = 2.0
    backend_timeout: float = 10.0


class Backends:
    """The backend list (from the file) and their health, checked by one background thread."""

    def __init__(self, config: BalancerConfig, registry: Registry) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._backends: tuple[str, ...] = ()
        self._healthy: dict[str, bool] = {}
        self._file_stamp: tuple[int, int, int] | None = None
        self._next = 0
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")
        self._thread = threading.Thread(target=self._run, name="backends", daemon=True)
        self._count = registry.gauge("balancer_backends", "Backends listed in the backends file.")
        self._healthy_count = registry.gauge("balancer_healthy_backends", "Backends whose last health check passed.")

    def start(self) -> None:
        self._reload()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self._config.health_timeout + 1.0)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def pick(self, exclude: set[str]) -> str | None:
        """The next healthy backend round-robin, skipping ``exclude``; None when there is none."""
        with self._lock:
            healthy = [b for b in self._backends if self._healthy.get(b) and b not in exclude]
            if not healthy:
                return None
            self._next += 1
            return healthy[self._next % len(healthy)]

    def mark_down(self, backend: str, why: str) -> None:
        with self._lock:
            if self._healthy.get(backend):
                logger.warning("backend %s is down: %s", backend, why)
            if backend in self._healthy:
                self._healthy[backend] = False
            self._publish()

    def status(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"backend": b, "healthy": bool(self._healthy.get(b))} for b in self._backends]

    def healthy_count(self) -> int:
        with self._lock:
            return sum(1 for b in self._backends if self._healthy.get(b))

    def _run(self) -> None:
        next_check = 0.0
        while not self._stop.is_set():
            changed = self._reload()
            if changed or time.monotonic() >= next_check:
                self._check_all()
                next_check = time.monotonic() + self._config.health_interval
            self._stop.wait(FILE_POLL_SECONDS)

    def _reload(self) -> bool:
        """Re-read the backends file if it changed; True when the list changed."""
        path = self._config.backends_file
        try:
            info = os.stat(path)
            stamp: tuple[int, int, int] | None = (info.st_mtime_ns, info.st_size, info.st_ino)
        except FileNotFoundError:
            stamp = None
        if stamp == self._file_stamp:
            return False
        self._file_stamp = stamp
        try:
            backends = _read_backends(path) if stamp is not None else ()
        except (OSError, ValueError) as exc:
            logger.error("ignoring the backends file %s: %s", path, exc)
            return False
        with self._lock:
            if backends == self._backends:
                return False
            self._backends = backends
            self._healthy = {b: self._healthy.get(b, False) for b in backends}
            self._publish()
        logger.info("backends: %s", ", ".join(backends) or "none")
        return True

    def _check_all(self) -> None:
        with self._lock:
            backends = self._backends
        futures = {self._pool.submit(self._check, b): b for b in backends}
        wait(futures, timeout=self._config.health_timeout + 0.5)
        with self._lock:
            for future, backend in futures.items():
                ok = future.done() and not future.cancelled() and future.result()
                if backend in self._healthy and self._healthy[backend] != ok:
                    logger.info("backend %s is %s", backend, "healthy" if ok else "unhealthy")
                if backend in self._healthy:
                    self._healthy[backend] = bool(ok)
            self._publish()

    def _check(self, backend: str) -> bool:
        host, port = parse_host_port(backend)
        conn = http.client.HTTPConnection(host, port, timeout=self._config.health_timeout)
        try:
            conn.request("GET", "/healthz", headers={"Connection": "close"})
            response = conn.getresponse()
            response.read()
            return response.status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def _publish(self) -> None:
        self._count.set(len(self._backends))
        self._healthy_count.set(sum(1 for b in self._backends if self._healthy.get(b)))


class BalancerApp:
    """Routing and metrics of the balancer."""

    def __init__(self, config: BalancerConfig) -> None:
        self.config = config
        self.registry = Registry()
        self.requests = self.registry.counter(
            "balancer_requests_total", "Requests answered by the balancer, by method and status.", ("method", "status")
        )
        self.errors = self.registry.counter(
            "balancer_errors_total", "Requests the balancer could not serve (no healthy backend, backend failure).", ("reason",)
        )
        self.latency = self.registry.histogram("balancer_request_duration_seconds", "Time to answer a proxied request, in seconds.")
        self.per_backend = self.registry.counter(
            "balancer_backend_requests_total", "Requests proxied to each backend.", ("backend",)
        )
        self.registry.gauge("balancer_up", "1 while the balancer serves requests.", initial=1.0)
        self.backends = Backends(config, self.registry)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "shop-balancer/1"
    timeout = 30
    _started: float | None = None  # while a proxied request is not counted yet
    server: LoopbackHTTPServer[BalancerApp]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET  # noqa: N815

    def _serve(self) -> None:
        app = self.server.app
        if self.path.startswith("/-/"):
            self._own(app)
            return
        self._started = time.perf_counter()
        try:
            self._proxy(app)
        except OSError as exc:  # the client went away while we answered
            logger.debug("could not answer %s %s: %s", self.command, self.path, exc)
            self.close_connection = True
            self._count(app, 499)

    def _count(self, app: BalancerApp, status: int) -> None:
        """Count a proxied request once, before its answer is sent: a client that has it finds it in /-/metrics."""
        if self._started is None:
            return
        app.requests.inc(self.command, str(status))
        app.latency.observe(time.perf_counter() - self._started)
        self._started = None

    def _own(self, app: BalancerApp) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/-/metrics":
            self._reply(200, app.registry.render().encode(), CONTENT_TYPE)
        elif path == "/-/healthz":
            healthy = app.backends.healthy_count()
            self._json(200 if healthy else 503, {"healthy_backends": healthy})
        elif path == "/-/backends":
            self._json(200, {"backends": app.backends.status()})
        else:
            self._json(404, {"error": "not found", "detail": f"no balancer endpoint {path}"})

    def _proxy(self, app: BalancerApp) -> int:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return self._json(411, {"error": "length required", "detail": "send Content-Length, not chunked"})
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            return self._json(413, {"error": "bad length", "detail": f"Content-Length must be 0 to {MAX_BODY}"})
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-For"] = self.client_address[0]
        tried: set[str] = set()
        while True:
            backend = app.backends.pick(tried)
            if backend is None:
                app.errors.inc("no_healthy_backend")
                detail = f"tried {sorted(tried)}" if tried else "none is healthy"
                return self._json(503, {"error": "no healthy backend", "detail": detail})
            tried.add(backend)
            host, port = parse_host_port(backend)
            conn = http.client.HTTPConnection(host, port, timeout=app.config.backend_timeout)
            try:
                try:
                    conn.connect()
                except OSError as exc:  # never reached the backend: safe to try the next one
                    app.backends.mark_down(backend, f"connect failed: {exc}")
                    continue
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    app.errors.inc("backend_error")
                    logger.warning("backend %s failed on %s %s: %s", backend, self.command, self.path, exc)
                    return self._json(502, {"error": "bad gateway", "detail": f"backend {backend}: {exc}"})
            finally:
                conn.close()
            app.per_backend.inc(backend)
            extra = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP | _SET_HERE]
            content_type = response.getheader("Content-Type", "application/octet-stream")
            return self._reply(response.status, payload, content_type, [*extra, ("X-Shop-Backend", backend)])

    def _json(self, status: int, payload: dict[str, Any]) -> int:
        return self._reply(status, json.dumps(payload).encode(), "application/json")

    def _reply(self, status: int, body: bytes, content_type: str, headers: Sequence[tuple[str, str]] = ()) -> int:
        self._count(self.server.app, status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return status

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        logger.debug("%s %s", self.address_string(), format % args)


def _read_backends(path: Path) -> tuple[str, ...]:
    data = json.loads(path.read_text(encoding="utf-8") or "[]")
    if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
        raise ValueError('expected a JSON list of "127.0.0.1:PORT" strings')
    for item in data:
        parse_host_port(item)
    return tuple(dict.fromkeys(data))


def parse_args(argv: Sequence[str] | None) -> BalancerConfig:
    parser = argparse.ArgumentParser(prog="python -m gamedays.sandbox.shop.balancer", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="HTTP port on 127.0.0.1")
    parser.add_argument("--backends-file", type=Path, required=True, help='JSON list of "127.0.0.1:PORT" backends')
    parser.add_argument("--health-interval", type=float, default=0.5, help="seconds between health checks")
    parser.add_argument("--health-timeout", type=float, default=2.0, help="seconds a /healthz check may take")
    parser.add_argument("--backend-timeout", type=float, default=10.0, help="seconds a proxied request may take")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return BalancerConfig(args.port, args.backends_file, args.health_interval, args.health_timeout, args.backend_timeout)


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    app = BalancerApp(config)
    try:
        server = LoopbackHTTPServer(config.port, _Handler, app)
    except OSError as exc:
        logger.error("cannot listen on %s:%d: %s", LOOPBACK, config.port, exc.strerror or exc)
        return 2
    app.backends.start()
    try:
        serve_until_signalled(server, "shop balancer")
    finally:
        app.backends.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
