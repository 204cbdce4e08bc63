"""The HTTP/1.1 server of the sandbox API on 127.0.0.1: threads, keep-alive, chunked watches.

One thread per connection (``http.server`` threading server). Complete answers carry a
Content-Length so the official client's connection pool can keep the connection; a
watch is sent with ``Transfer-Encoding: chunked``, one JSON event per line, like the real
API. :meth:`ApiServer.stop` shuts down every open connection before joining the
threads, so an idle keep-alive connection or a watch never holds the server up.
"""

from __future__ import annotations

import json
import logging
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from gamedays.model.errors import SandboxError
from gamedays.sandbox.kube.api import Api, Reply, Request, Streamed
from gamedays.sandbox.ports import LOOPBACK

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 1024 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True  # a restart on the same port must not wait for TIME_WAIT connections

    def __init__(self, address: tuple[str, int], api: Api) -> None:
        self.api = api
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        try:
            body = self._read_body()
        except ValueError as exc:
            self._send(Reply(400, _status(400, "BadRequest", str(exc))))
            return
        request = Request(
            method,
            url.path,
            dict(parse_qsl(url.query, keep_blank_values=True)),
            body,
            self.headers.get("Content-Type", "application/json"),
        )
        try:
            answer = self.server.api.handle(request, self._client_alive)
        except Exception:  # noqa: BLE001 - one broken request must not kill the server; it is logged
            logger.exception("internal error answering %s %s", method, self.path)
            answer = Reply(500, _status(500, "InternalError", "an internal error occurred"))
        if isinstance(answer, Streamed):
            self._stream(answer)
        else:
            self._send(answer)

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ValueError("the request body is too large")
        if not length:
            return None
        raw = self.rfile.read(length)
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the request body is not JSON: {exc}") from None

    def _send(self, reply: Reply) -> None:
        if isinstance(reply.body, str):
            data, kind = reply.body.encode(), "text/plain; charset=utf-8"
        else:
            data, kind = json.dumps(reply.body).encode(), "application/json"
        self.send_response(reply.code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, streamed: Streamed) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        try:
            self.wfile.flush()
            for event in streamed.events:
                line = json.dumps(event).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            close = getattr(streamed.events, "close", None)
            if close is not None:
                close()

    def _client_alive(self) -> bool:
        """False once the client has closed its side (a watch with nobody left to read it)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return True
            return bool(self.connection.recv(1, socket.MSG_PEEK) != b"")
        except (OSError, ValueError):
            return False


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class ApiServer:
    """The API on ``http://127.0.0.1:<port>`` (a free port unless one is given)."""

    def __init__(self, api: Api, port: int = 0) -> None:
        self._api = api
        self._wanted_port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise SandboxError("the sandbox Kubernetes API is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        try:
            self._server = _Server((LOOPBACK, self._wanted_port), self._api)
        except OSError as exc:
            raise SandboxError(
                f"the sandbox Kubernetes API cannot listen on {LOOPBACK}:{self._wanted_port}: {exc.strerror or exc}; "
                "choose another port or stop what uses it"
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"kube-api-{self.port}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, close every connection, join every thread; the port is free afterwards."""
        server, thread = self._server, self._thread
        if server is None:
            return
        if thread is not None:
            server.shutdown()
            thread.join(timeout=10.0)
        server.close_connections()
        server.server_close()
        self._server = self._thread = None
