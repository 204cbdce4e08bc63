"""Real HTTP servers on 127.0.0.1 for tests.

:func:`running` serves any request handler on a free port in a thread and stops it at the
end; :func:`serve` is the recording server whose answers a test can change (status, delay,
body) and keeps every request it receives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Behaviour:
    status: int = 200
    delay: float = 0.0
    body: bytes = b"ok"
    content_type: str = "text/plain"
    received: list[Request] = field(default_factory=list)

    @property
    def requests(self) -> list[tuple[str, str, bytes]]:
        """(method, path, body) of every request received, in order."""
        return [(r.method, r.path, r.body) for r in self.received]


@contextmanager
def running(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served on a free port of 127.0.0.1 (a thread per request); yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that logs nothing to stderr, with the request's body at hand."""

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, *args: object) -> None:
        pass


def serve() -> Iterator[tuple[str, Behaviour]]:
    behaviour = Behaviour()

    class Handler(QuietHandler):
        def _answer(self) -> None:
            behaviour.received.append(Request(self.command, self.path, dict(self.headers), self.read_body()))
            time.sleep(behaviour.delay)
            self.send_response(behaviour.status)
            self.send_header("Content-Type", behaviour.content_type)
            self.send_header("Content-Length", str(len(behaviour.body)))
            self.end_headers()
            self.wfile.write(behaviour.body)

        do_GET = do_POST = _answer

    with running(Handler) as url:
        yield url, behaviour
