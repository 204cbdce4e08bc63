"""Plain dnspython clients for the DNS tests: every call is a real query over 127.0.0.1.

Also :func:`served_zone`, the default sandbox zone served for one test, which the DNS
fixtures of tests/sandbox/dns and tests/sli delegate to.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import dns.message
import dns.query
import dns.resolver
import dns.update

from gamedays.sandbox.dns import ZoneServer, default_records
from gamedays.sandbox.ports import LOOPBACK

PG_PORT = 5432
ZONE = "shop.internal"


def port_is_free(port: int) -> bool:
    """True when nothing holds ``port`` on 127.0.0.1: UDP binds, and a TCP listener can start.

    TCP is checked as servers bind (SO_REUSEADDR), so a connection of the past in
    TIME_WAIT does not count as the port being held.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            udp.bind((LOOPBACK, port))
            tcp.bind((LOOPBACK, port))
            tcp.listen()
        except OSError:
            return False
    return True


def served_zone() -> Iterator[ZoneServer]:
    """The default sandbox zone (``db`` SRV to port 5432 and A) served on 127.0.0.1; stopped after the ``yield``.

    The stop is checked: the port is free again and every thread the server started is gone.
    """
    before = {t.ident for t in threading.enumerate()}
    server = ZoneServer(records=default_records(PG_PORT)).start()
    yield server
    port = server.port
    server.stop()
    assert port_is_free(port), f"DNS port {port} still bound after stop()"
    left = [t.name for t in threading.enumerate() if t.ident not in before]
    assert not left, f"DNS threads left running after stop(): {left}"


def resolver(server: ZoneServer, lifetime: float = 2.0) -> dns.resolver.Resolver:
    """A stub resolver pointed at ``server`` only, without cache: every call is a real query."""
    stub = dns.resolver.Resolver(configure=False)
    stub.nameservers = [LOOPBACK]
    stub.port = server.port
    stub.lifetime = lifetime
    stub.timeout = lifetime
    stub.cache = None
    return stub


def query(server: ZoneServer, name: str, rdtype: str, *, tcp: bool = False, timeout: float = 2.0) -> dns.message.Message:
    message = dns.message.make_query(name, rdtype)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(message, LOOPBACK, port=server.port, timeout=timeout)


def update(server: ZoneServer, message: dns.update.UpdateMessage, *, tcp: bool = True) -> dns.message.Message:
    send = dns.query.tcp if tcp else dns.query.udp
    return send(message, LOOPBACK, port=server.port, timeout=2.0)


def rrset_texts(response: dns.message.Message, section: str = "answer") -> list[str]:
    return sorted(rr.to_text() for rr in getattr(response, section))
