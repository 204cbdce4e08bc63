"""A real TCP echo server on 127.0.0.1 for the proxy tests, and small bounded client helpers.

``round_trip`` is also used as a Chaos Toolkit python probe by the ``chaos run`` test.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Callable

LOOPBACK = "127.0.0.1"


class EchoServer:
    """Echoes every byte back; counts connections, bytes received and resets seen, for the tests to check.

    ``greeting`` is sent first on every connection (a server that speaks first). After
    the client's half-close, the server sends what is left and closes its side too.
    """

    def __init__(self, greeting: bytes = b"") -> None:
        self.greeting = greeting
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((LOOPBACK, 0))
        self._listener.listen(128)
        self._listener.settimeout(0.05)
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._open: set[socket.socket] = set()
        self.accepted = 0
        self.received = 0
        self.resets = 0
        self.eofs = 0
        self.last_error: OSError | None = None
        self._accepter = threading.Thread(target=self._accept, name=f"echo-{self.port}-accept", daemon=True)
        self._accepter.start()

    @property
    def address(self) -> tuple[str, int]:
        return (LOOPBACK, self.port)

    def stop(self) -> None:
        self._stopping.set()
        self._accepter.join(5)
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):  # already closed by its peer
                    sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in recv
            threads = list(self._threads)
        for thread in threads:
            thread.join(5)
        assert not any(thread.is_alive() for thread in threads), "echo threads left"

    def _accept(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    conn, _ = self._listener.accept()
                except TimeoutError:
                    continue
                with self._lock:
                    self.accepted += 1
                    self._open.add(conn)
                    name = f"echo-{self.port}-conn"
                    thread = threading.Thread(target=self._serve, args=(conn,), name=name, daemon=True)
                    self._threads.append(thread)
                thread.start()
        finally:
            self._listener.close()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(None)
        try:
            if self.greeting:
                conn.sendall(self.greeting)
            while not self._stopping.is_set():
                data = conn.recv(65536)
                if not data:
                    with self._lock:
                        self.eofs += 1
                    break
                with self._lock:
                    self.received += len(data)
                conn.sendall(data)
        except ConnectionResetError:
            with self._lock:
                self.resets += 1
        except OSError as exc:  # a broken pipe while echoing: the client went away
            self.last_error = exc
        finally:
            with self._lock:
                self._open.discard(conn)
            conn.close()


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection((LOOPBACK, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    """``size`` bytes, or AssertionError if the stream ends first (the socket's own timeout bounds each read)."""
    parts: list[bytes] = []
    got = 0
    while got < size:
        chunk = sock.recv(min(1 << 20, size - got))
        assert chunk, f"the stream ended after {got} of {size} bytes"
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def recv_until_eof(sock: socket.socket, limit: int = 64 << 20) -> bytes:
    parts: list[bytes] = []
    got = 0
    while got <= limit:
        chunk = sock.recv(1 << 20)
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        got += len(chunk)
    raise AssertionError(f"more than {limit} bytes before the end of the stream")


def round_trip(port: int, payload: str = "ping", timeout: float = 5.0) -> float:
    """Seconds for one fresh connection to send ``payload`` and read it back (a Chaos Toolkit probe too)."""
    with connect(port, timeout) as sock:
        data = payload.encode()
        started = time.monotonic()
        sock.sendall(data)
        assert recv_exactly(sock, len(data)) == data
        return time.monotonic() - started


def wait_until(check: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01) -> bool:
    """Poll ``check`` until true, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return bool(check())
