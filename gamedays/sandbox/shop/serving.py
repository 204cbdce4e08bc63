"""Running one small HTTP server process: bound to 127.0.0.1, stopped cleanly by SIGTERM/SIGINT.

Shared by the shop replica and the balancer, which are separate processes started
by the sandbox (``python -m ...``); their ``main`` returns the exit code.
"""

from __future__ import annotations

import logging
import signal
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Generic, TypeVar

from gamedays.sandbox.ports import LOOPBACK

logger = logging.getLogger(__name__)

AppT = TypeVar("AppT")


class LoopbackHTTPServer(ThreadingHTTPServer, Generic[AppT]):
    """A threading HTTP server on 127.0.0.1:``port`` whose handlers reach ``app`` as ``self.server.app``.

    ``server_bind`` skips the reverse DNS lookup of ``HTTPServer`` (it can stall start-up).
    """

    daemon_threads = True  # a stuck client never delays the process exit
    allow_reuse_address = True  # restart on the same port despite TIME_WAIT; a live listener still conflicts

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler], app: AppT) -> None:
        self.app = app
        super().__init__((LOOPBACK, port), handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = LOOPBACK, int(self.server_address[1])


def parse_host_port(text: str) -> tuple[str, int]:
    """``"127.0.0.1:5353"`` to ``("127.0.0.1", 5353)``; argparse turns the ValueError into a usage error."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def serve_until_signalled(server: ThreadingHTTPServer, what: str) -> None:
    """Serve in a thread until SIGTERM or SIGINT, then shut down and close the socket."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # the serving thread (and the request threads it starts) block the signals, so the kernel
    # delivers them to this thread, which then wakes at once; the short wait is the fallback
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="http", daemon=True)
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    logger.info("%s listening on %s:%d", what, LOOPBACK, server.server_address[1])
    while not stop.wait(0.2):
        if not thread.is_alive():
            break
    server.shutdown()
    server.server_close()
    thread.join(2.0)
    logger.info("%s stopped", what)
