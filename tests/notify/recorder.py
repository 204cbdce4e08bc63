"""A real webhook on 127.0.0.1 that records every request it receives, and answers as scripted."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from tests.httpserver import QuietHandler, running


@dataclass(frozen=True)
class Received:
    at: float  # time.monotonic() when the request arrived
    path: str
    content_type: str
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return str(self.json.get("text", ""))


@dataclass
class Recorder:
    url: str = ""
    statuses: list[int] = field(default_factory=list)  # answered in order; then ``status``
    status: int = 200
    delay: float = 0.0  # seconds before answering (longer than a client's timeout: a timeout)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def texts(self) -> list[str]:
        with self.lock:
            return [r.text for r in self.received]

    def wait_for(self, count: int, timeout: float) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} requests within {timeout}s, received {len(self.received)}")


def serve(path: str = "/hooks/s3cr3t-hook-key") -> Iterator[Recorder]:
    recorder = Recorder()

    class Handler(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.read_body()
            with recorder.lock:
                recorder.received.append(Received(time.monotonic(), self.path, self.headers.get("Content-Type", ""), body))
                status = recorder.statuses.pop(0) if recorder.statuses else recorder.status
                delay = recorder.delay
            time.sleep(delay)
            answer = b"ok" if status < 300 else b"no"
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:  # the client gave up waiting
                pass

    with running(Handler) as base:
        recorder.url = base + path
        yield recorder
