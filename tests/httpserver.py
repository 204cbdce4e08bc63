"""A real HTTP server on 127.0.0.1 whose answers a test can change (status, delay, body)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator


@dataclass
class Behaviour:
    status: int = 200
    delay: float = 0.0
    body: bytes = b"ok"
    content_type: str = "text/plain"
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)


def serve() -> Iterator[tuple[str, "Behaviour"]]:
    behaviour = Behaviour()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            behaviour.requests.append((self.command, self.path, self.rfile.read(length)))
            time.sleep(behaviour.delay)
            self.send_response(behaviour.status)
            self.send_header("Content-Type", behaviour.content_type)
            self.send_header("Content-Length", str(len(behaviour.body)))
            self.end_headers()
            self.wfile.write(behaviour.body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", behaviour
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
