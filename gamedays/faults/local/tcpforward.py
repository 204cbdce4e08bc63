"""One proxied TCP connection: connect to the target, then move bytes both ways under a :class:`ProxyFault`.

Each connection runs in one thread with non-blocking sockets and a selector, so a delay
in one direction never stalls the other. Each direction (a :class:`Pipe`) queues what it
reads with the time it may be sent: latency is pipelined like on a real link (each chunk
waits from the moment it was read, order is kept), bandwidth is a token bucket of
``BURST_SECONDS`` worth of bytes, a blackhole holds everything (up to ``MAX_BUFFERED``
bytes per direction, then reading stops and TCP pushes back on the sender), and a reset
closes both sockets with SO_LINGER 0 so both peers get a RST.

A half-close (FIN) is passed on as a half-close once the bytes before it are sent; a
broken socket on one side (RST, EPIPE) is passed on to the other side as a reset.
The thread looks at the stop flag and the fault at least every ``POLL`` seconds.
"""

from __future__ import annotations

import errno
import logging
import random
import select
import selectors
import socket
import struct
import threading
import time
from collections import deque
from typing import Callable

from gamedays.faults.local.proxyfault import ProxyFault

__all__ = ["Connection", "TargetUnavailable", "close_quietly", "reset"]

logger = logging.getLogger(__name__)

#: Bytes read at once from a socket.
CHUNK = 64 * 1024
#: Bytes a direction holds (waiting for their delay, or in a blackhole) before it stops reading.
MAX_BUFFERED = 1024 * 1024
#: How often a waiting thread looks at the stop flag and the fault, in seconds.
POLL = 0.05
#: The bandwidth token bucket holds this many seconds' worth of bytes.
BURST_SECONDS = 0.05


class TargetUnavailable(Exception):
    """Raised by a target callable that cannot say where to forward a connection (e.g. its DNS record is gone)."""


class Pipe:
    """One direction of a connection: bytes read from ``source`` wait in a queue until due, then go to ``sink``."""

    def __init__(self, source: socket.socket, sink: socket.socket) -> None:
        self.source = source
        self.sink = sink
        self.queue: deque[tuple[float, memoryview]] = deque()  # (due, bytes); empty bytes: the end of the stream
        self.buffered = 0
        self.read_closed = False
        self.done = False
        self._last_due = 0.0
        self._tokens = 0.0
        self._refilled = time.monotonic()

    def wants_read(self) -> bool:
        return not self.read_closed and self.buffered < MAX_BUFFERED

    def receive(self, now: float, fault: ProxyFault, rng: random.Random) -> None:
        """Read what is there and queue it with its delay; raises OSError if the source is broken."""
        try:
            data = self.source.recv(CHUNK)
        except BlockingIOError:
            return
        due = max(now + fault.one_way_delay(rng), self._last_due)  # never overtake an earlier chunk
        self._last_due = due
        if not data:
            self.read_closed = True
        self.queue.append((due, memoryview(data)))
        self.buffered += len(data)

    def wait(self, now: float, fault: ProxyFault) -> float | None:
        """Seconds until the head of the queue may be sent (0.0: now); None when nothing may go."""
        if not self.queue or fault.blackhole:
            return None
        due, data = self.queue[0]
        wait = max(0.0, due - now)
        if data and fault.bandwidth:
            self._refill(now, fault.bandwidth)
            need = min(len(data), _burst(fault.bandwidth))
            if self._tokens < need:
                wait = max(wait, (need - self._tokens) / fault.bandwidth)
        return wait

    def send(self, now: float, fault: ProxyFault) -> None:
        """Send (part of) the head of the queue if it is due; raises OSError if the sink is broken."""
        if self.wait(now, fault) != 0.0:
            return
        due, data = self.queue[0]
        if not data:
            self.sink.shutdown(socket.SHUT_WR)
            self.queue.popleft()
            self.done = True
            return
        size = len(data)
        if fault.bandwidth:
            size = min(size, max(1, int(self._tokens)))
        try:
            sent = self.sink.send(data[:size])
        except BlockingIOError:
            return
        if fault.bandwidth:
            self._tokens -= sent
        self.buffered -= sent
        if sent == len(data):
            self.queue.popleft()
        else:
            self.queue[0] = (due, data[sent:])

    def _refill(self, now: float, bandwidth: int) -> None:
        self._tokens = min(float(_burst(bandwidth)), self._tokens + (now - self._refilled) * bandwidth)
        self._refilled = now


class Connection:
    """One accepted client connection; :meth:`run` (in its own thread) serves it, then closes both sockets.

    ``fault`` is read at every step, so a change applies at once; ``stopping`` ends the
    connection within ``POLL`` seconds. ``label`` names the proxy in log messages.
    """

    def __init__(
        self,
        client: socket.socket,
        *,
        target: Callable[[], tuple[str, int]],
        fault: Callable[[], ProxyFault],
        stopping: threading.Event,
        connect_timeout: float,
        label: str,
    ) -> None:
        self._client = client
        self._target = target
        self._fault = fault
        self._stopping = stopping
        self._connect_timeout = connect_timeout
        self._label = label
        self._rng = random.Random()

    def run(self) -> None:
        client = self._client
        upstream: socket.socket | None = None
        try:
            client.setblocking(False)
            upstream = self._connect()
            if upstream is not None:
                self._pump(client, upstream)
        except OSError as exc:  # a broken socket on either side: pass the break on as a reset
            logger.debug("%s: connection ended by %s", self._label, exc)
            reset(client)
            if upstream is not None:
                reset(upstream)
        finally:
            close_quietly(client)
            if upstream is not None:
                close_quietly(upstream)

    def _halted(self) -> bool:
        """True if the proxy stops (both sockets are closed) or resets (both are reset)."""
        return self._stopping.is_set() or self._fault().reset

    def _connect(self) -> socket.socket | None:
        """A connected, non-blocking socket to the target; None (the client reset or closed) if there is none."""
        held = False
        while self._fault().blackhole and not self._halted():  # a blackhole lets no SYN through either
            held = True
            self._stopping.wait(POLL)
        if self._halted():
            self._end_client()
            return None
        if held and _hung_up(self._client):  # the client gave up behind the blackhole: its "SYN" never arrived
            logger.info("%s: a client closed while held by the blackhole; dropping it", self._label)
            close_quietly(self._client)
            return None
        try:
            host, port = self._target()
        except Exception as exc:  # noqa: BLE001 - whatever target() raises, the client is reset, never left hanging
            why = f"{type(exc).__name__}: {exc}"
            logger.warning("%s: no target for a connection (%s); resetting it", self._label, why)
            reset(self._client)
            return None
        try:
            upstream = self._open(host, port)
        except OSError as exc:
            logger.info("%s: cannot reach %s:%s (%s); resetting the client", self._label, host, port, exc)
            reset(self._client)
            return None
        if upstream is None:
            self._end_client()
        return upstream

    def _open(self, host: str, port: int) -> socket.socket | None:
        """Connect to the first address of ``host`` that accepts; None if the proxy halted meanwhile."""
        failure = OSError(errno.EADDRNOTAVAIL, f"{host} has no address")
        for family, kind, proto, _, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
            try:
                return self._open_one(socket.socket(family, kind, proto), address)
            except OSError as exc:
                failure = exc
        raise failure

    def _open_one(self, upstream: socket.socket, address: tuple[object, ...]) -> socket.socket | None:
        """Non-blocking connect (so stop and reset are seen while it waits); None if halted meanwhile."""
        timeout = self._connect_timeout
        try:
            upstream.setblocking(False)
            code = upstream.connect_ex(address)
            if code not in (0, errno.EINPROGRESS):
                raise OSError(code, errno.errorcode.get(code, str(code)))
            deadline = time.monotonic() + timeout
            with selectors.DefaultSelector() as selector:
                selector.register(upstream, selectors.EVENT_WRITE)
                while not selector.select(min(POLL, max(0.0, deadline - time.monotonic()))):
                    if self._halted():
                        close_quietly(upstream)
                        return None
                    if time.monotonic() >= deadline:
                        raise TimeoutError(errno.ETIMEDOUT, f"no answer within {timeout:g}s")
            code = upstream.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise OSError(code, errno.errorcode.get(code, str(code)))
        except OSError:
            close_quietly(upstream)
            raise
        return upstream

    def _end_client(self) -> None:
        if self._fault().reset:
            reset(self._client)
        else:
            close_quietly(self._client)

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        pipes = (Pipe(client, upstream), Pipe(upstream, client))
        reader = {pipe.source: pipe for pipe in pipes}
        writer = {pipe.sink: pipe for pipe in pipes}
        registered: dict[socket.socket, int] = {}
        with selectors.DefaultSelector() as selector:
            while not self._stopping.is_set():
                fault = self._fault()
                if fault.reset:
                    reset(client)
                    reset(upstream)
                    return
                if all(pipe.done for pipe in pipes):
                    return
                now = time.monotonic()
                timeout = POLL
                wanted = {client: 0, upstream: 0}
                for pipe in pipes:
                    if pipe.wants_read():
                        wanted[pipe.source] |= selectors.EVENT_READ
                    wait = pipe.wait(now, fault)
                    if wait == 0.0:
                        wanted[pipe.sink] |= selectors.EVENT_WRITE
                    elif wait is not None:
                        timeout = min(timeout, max(wait, 0.001))
                _register(selector, registered, wanted)
                ready = selector.select(timeout)
                now, fault = time.monotonic(), self._fault()  # what arrived during the wait gets today's fault
                for key, events in ready:
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if events & selectors.EVENT_READ:
                        reader[sock].receive(now, fault, self._rng)
                    if events & selectors.EVENT_WRITE:
                        writer[sock].send(now, fault)


def _register(
    selector: selectors.BaseSelector, registered: dict[socket.socket, int], wanted: dict[socket.socket, int]
) -> None:
    """Bring the selector's interest in each socket in line with ``wanted`` (epoll refuses an empty interest)."""
    for sock, events in wanted.items():
        current = registered.get(sock, 0)
        if events == current:
            continue
        if not events:
            selector.unregister(sock)
            del registered[sock]
        elif not current:
            selector.register(sock, events)
            registered[sock] = events
        else:
            selector.modify(sock, events)
            registered[sock] = events


def _hung_up(sock: socket.socket) -> bool:
    """True if the peer has closed (FIN or RST), even with bytes still unread (Linux: POLLRDHUP)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN | getattr(select, "POLLRDHUP", 0))
    gone = select.POLLHUP | select.POLLERR | getattr(select, "POLLRDHUP", 0)
    return any(events & gone for _, events in poller.poll(0))


def _burst(bandwidth: int) -> int:
    """The token bucket's size: BURST_SECONDS worth of bytes, at least one byte, at most a chunk."""
    return max(1, min(CHUNK, int(bandwidth * BURST_SECONDS)))


def reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer gets a RST, not a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError as exc:
        logger.debug("cannot set SO_LINGER before a reset (%s); closing anyway", exc)
    close_quietly(sock)


def close_quietly(sock: socket.socket) -> None:
    """Close ``sock``; a close that fails (the peer is long gone) is only logged at debug level."""
    try:
        sock.close()
    except OSError as exc:
        logger.debug("closing a proxy socket: %s", exc)
