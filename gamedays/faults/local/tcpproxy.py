"""A userspace TCP proxy with network faults: latency, jitter, bandwidth, blackhole, reset.

There is no netem or iptables here, so network faults are made by a proxy placed
between a client and its dependency: the client connects to the proxy, the proxy
connects to the target and forwards the bytes both ways. The target is asked for
each new connection (a callable), so a proxy can follow a DNS record across a failover.

    proxy = TcpProxy(lambda: ("127.0.0.1", 5432)).start()    # proxy.port: where clients connect
    proxy.set_fault(ProxyFault(latency=0.3))                   # every round trip 300 ms slower
    proxy.clear_fault()
    proxy.stop()                                               # every socket closed, every thread joined

Faults change live with :meth:`TcpProxy.set_fault` and apply to every byte read from
then on (bytes already read keep the delay they were given):

- ``latency`` seconds (+ up to ``jitter`` more, random) are added to every round trip:
  half on the way to the target, half on the way back. Latency is pipelined like on a
  real link: each chunk waits from the moment it was read, so ten messages sent at
  once arrive together, not one after the other. Order is kept.
- ``bandwidth`` bytes per second, per direction (a token bucket of 1/20 s worth of
  bytes): a transfer of N bytes takes at least about N / bandwidth seconds.
- ``blackhole``: connections are accepted and nothing is forwarded either way, not even
  a new connection to the target; clients hang until their own timeout, like packets
  dropped on the floor. Bytes already read wait (up to 1 MiB per direction, then the
  proxy stops reading), and flow again when the blackhole is lifted, as TCP would
  retransmit them: the streams stay intact. A connection accepted during the blackhole
  whose client closed before it was lifted is dropped: it never reaches the target.
- ``reset``: open connections are reset (RST, both sides) within 50 ms, and new ones
  are reset as soon as they are accepted, until the fault is cleared.

A connection whose target cannot be found (``target()`` raised) or reached is reset,
so the client sees ``ECONNRESET`` at once instead of hanging. How each connection is
forwarded is in :mod:`gamedays.faults.local.tcpforward`; the process that runs a proxy for
Chaos Toolkit experiments is :mod:`gamedays.faults.local.proxy`.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from typing import Callable

from gamedays.faults.local.proxyfault import NO_FAULT, ProxyFault
from gamedays.faults.local.tcpforward import (
    POLL,
    Connection,
    TargetUnavailable,
    close_quietly,
    reset,
)
from gamedays.model.errors import SandboxError

__all__ = ["NO_FAULT", "ProxyFault", "TargetUnavailable", "TcpProxy"]

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
#: How long :meth:`TcpProxy.stop` waits for the threads, in seconds.
STOP_TIMEOUT = 5.0
_ACCEPT_RETRYABLE = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM, errno.ECONNABORTED, errno.EPROTO)


class TcpProxy:
    """Accepts on 127.0.0.1:``port`` (0: a free port) and forwards each connection to ``target()``.

    ``target`` returns ``(host, port)``; it is called once per connection, in that
    connection's thread, so it should answer quickly. If it raises (e.g.
    :class:`TargetUnavailable`), or the target does not accept within ``connect_timeout``
    seconds, the client's connection is reset. One thread accepts; one thread per
    connection forwards; :meth:`stop` joins them all.
    """

    def __init__(self, target: Callable[[], tuple[str, int]], port: int = 0, connect_timeout: float = 2.0) -> None:
        self._target = target
        self._requested_port = port
        self._connect_timeout = connect_timeout
        self._fault = NO_FAULT
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._port: int | None = None
        self._accepter: threading.Thread | None = None
        self._threads: list[threading.Thread] = []
        self._accepted = 0

    @property
    def port(self) -> int:
        """The port the proxy listens on (known once started)."""
        if self._port is None:
            raise RuntimeError("the proxy is not started")
        return self._port

    @property
    def fault(self) -> ProxyFault:
        return self._fault

    @property
    def thread_prefix(self) -> str:
        """Every thread of this proxy has a name starting with this, so a test can prove none is left."""
        return f"tcpproxy-{self._port}-"

    @property
    def accepted(self) -> int:
        """How many connections were accepted and handed to a thread so far."""
        return self._accepted

    def set_fault(self, fault: ProxyFault) -> None:
        """Apply ``fault`` from now on, to open and new connections (it replaces the previous one)."""
        if not isinstance(fault, ProxyFault):
            raise TypeError(f"set_fault takes a ProxyFault, got {type(fault).__name__}")
        self._fault = fault  # one reference assignment: every connection thread sees the old or the new value
        logger.info("proxy on port %s: %s", self._port, fault)

    def clear_fault(self) -> None:
        """Forward untouched again; data held by a blackhole or a delay flows on."""
        self.set_fault(NO_FAULT)

    def start(self) -> TcpProxy:
        """Listen and start accepting; raises :class:`SandboxError` if the port cannot be had."""
        if self._listener is not None or self._stopping.is_set():
            raise RuntimeError("a TcpProxy starts once")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((LOOPBACK, self._requested_port))
            listener.listen(128)
            listener.settimeout(POLL)
        except OSError as exc:
            listener.close()
            raise SandboxError(
                f"the TCP proxy cannot listen on {LOOPBACK}:{self._requested_port}: {exc.strerror or exc}"
            ) from None
        self._listener = listener
        self._port = int(listener.getsockname()[1])
        self._accepter = threading.Thread(target=self._accept_loop, name=f"{self.thread_prefix}accept", daemon=True)
        self._accepter.start()
        logger.info("proxy listening on %s:%d", LOOPBACK, self._port)
        return self

    def stop(self) -> None:
        """Stop accepting, close every connection and join every thread (at most ~5 s). Idempotent."""
        self._stopping.set()
        deadline = time.monotonic() + STOP_TIMEOUT
        if self._accepter is not None:
            self._accepter.join(STOP_TIMEOUT)  # it closes the listener on its way out
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        left = [thread.name for thread in threads if thread.is_alive()]
        if left:  # only a target() callable that does not return can hold a thread this long
            logger.warning("proxy on port %s: %d connection threads did not stop: %s", self._port, len(left), left)
        with self._lock:
            self._threads = [thread for thread in self._threads if thread.is_alive()]

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        try:
            while not self._stopping.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError as exc:
                    if exc.errno in _ACCEPT_RETRYABLE:
                        logger.warning("proxy on port %s cannot accept: %s", self._port, exc)
                        self._stopping.wait(POLL)
                        continue
                    logger.error("proxy on port %s stops accepting: %s", self._port, exc)
                    return
                self._admit(client)
        finally:
            listener.close()

    def _admit(self, client: socket.socket) -> None:
        """Reset the client (reset fault), or hand it to a new connection thread."""
        if self._fault.reset:
            reset(client)
            return
        connection = Connection(
            client,
            target=self._target,
            fault=lambda: self._fault,
            stopping=self._stopping,
            connect_timeout=self._connect_timeout,
            label=f"proxy on port {self._port}",
        )
        with self._lock:
            if self._stopping.is_set():
                close_quietly(client)
                return
            self._accepted += 1
            thread = threading.Thread(
                target=connection.run, name=f"{self.thread_prefix}conn-{self._accepted}", daemon=True
            )
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            thread.start()
