"""A userspace TCP proxy with network faults: latency, jitter, blackhole, reset, bandwidth.

There is no netem or iptables here, so network faults are made by a proxy
placed between a client and its dependency. The target is asked for each new
connection (a callable), so a proxy can follow a DNS record across a failover.

Faults change live with :meth:`TcpProxy.set_fault` and apply to every byte
forwarded from then on, in both directions:

- ``latency`` (+ random ``jitter``) seconds before each chunk is forwarded;
- ``bandwidth`` bytes per second per direction;
- ``blackhole``: connections are accepted and nothing is forwarded (clients hang
  until their own timeout), like packets dropped on the floor;
- ``reset``: new and open connections are reset (RST) at once.
"""

from __future__ import annotations

import logging
import random
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Callable

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
CHUNK = 64 * 1024


@dataclass(frozen=True)
class ProxyFault:
    latency: float = 0.0
    jitter: float = 0.0
    bandwidth: int | None = None  # bytes per second, per direction
    blackhole: bool = False
    reset: bool = False

    def __post_init__(self) -> None:
        if self.latency < 0 or self.jitter < 0:
            raise ValueError("latency and jitter must be >= 0 seconds")
        if self.bandwidth is not None and self.bandwidth <= 0:
            raise ValueError("bandwidth must be a positive number of bytes per second")

    def delay(self, size: int, rng: random.Random) -> float:
        wait = self.latency + (rng.uniform(0, self.jitter) if self.jitter else 0.0)
        if self.bandwidth:
            wait += size / self.bandwidth
        return wait


NO_FAULT = ProxyFault()


class TargetUnavailable(Exception):
    """The proxy could not find where to forward a connection (e.g. the DNS record is gone)."""


class TcpProxy:
    """Accepts on 127.0.0.1:``port`` and forwards each connection to ``target()``."""

    def __init__(self, target: Callable[[], tuple[str, int]], port: int = 0, connect_timeout: float = 2.0) -> None:
        self._target = target
        self._requested_port = port
        self._connect_timeout = connect_timeout
        self._fault = NO_FAULT
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._open: set[socket.socket] = set()
        self._rng = random.Random()

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("the proxy is not started")
        return int(self._listener.getsockname()[1])

    @property
    def fault(self) -> ProxyFault:
        return self._fault

    def set_fault(self, fault: ProxyFault) -> None:
        self._fault = fault
        if fault.reset:
            with self._lock:
                for sock in list(self._open):
                    _reset(sock)

    def clear_fault(self) -> None:
        self._fault = NO_FAULT

    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((LOOPBACK, self._requested_port))
        except OSError as exc:
            listener.close()
            raise OSError(f"cannot listen on {LOOPBACK}:{self._requested_port}: {exc.strerror}") from None
        listener.listen(128)
        listener.settimeout(0.1)
        self._listener = listener
        self._spawn(self._accept_loop, "tcpproxy-accept")
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            for sock in list(self._open):
                _close(sock)
            self._open.clear()
        for thread in list(self._threads):
            thread.join(5)
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            if self._fault.reset:
                _reset(client)
                continue
            self._spawn(self._serve, "tcpproxy-conn", client)

    def _serve(self, client: socket.socket) -> None:
        try:
            host, port = self._target()
            upstream = socket.create_connection((host, port), timeout=self._connect_timeout)
        except (TargetUnavailable, OSError) as exc:
            logger.info("no upstream for a connection: %s", exc)
            _reset(client)
            return
        with self._lock:
            if self._stopping.is_set():
                _close(client)
                _close(upstream)
                return
            self._open.update((client, upstream))
        try:
            self._pump(client, upstream)
        finally:
            with self._lock:
                self._open.discard(client)
                self._open.discard(upstream)
            _close(client)
            _close(upstream)

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        for sock in peers:
            sock.setblocking(True)
            sock.settimeout(None)
        while not self._stopping.is_set():
            readable, _, _ = select.select(list(peers), [], [], 0.1)
            for sock in readable:
                try:
                    data = sock.recv(CHUNK)
                except OSError:
                    return
                if not data:
                    return
                fault = self._fault
                if fault.reset:
                    _reset(client)
                    return
                if fault.blackhole:
                    continue  # swallowed: the other side never sees it
                wait = fault.delay(len(data), self._rng)
                if wait and self._stopping.wait(wait):
                    return
                try:
                    peers[sock].sendall(data)
                except OSError:
                    return


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    _close(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass
