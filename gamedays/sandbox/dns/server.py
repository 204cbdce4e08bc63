"""The DNS server of the sandbox: one zone on 127.0.0.1, UDP and TCP on one free port, in threads.

Each datagram and each TCP connection gets its own thread (``socketserver``), so a
delayed answer (the resolver-slowdown fault) does not hold up the others. Every
thread is joined on :meth:`ZoneServer.stop`; delays and idle TCP connections wake
up on the stop event instead of sleeping on.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import struct
import threading
import time
from types import TracebackType
from typing import Iterable

import dns.exception
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.update
from dnslib import DNSError, DNSRecord

from gamedays.model.errors import SandboxError
from gamedays.model.tsig import TsigKey
from gamedays.sandbox.dns.answer import answer, question_name
from gamedays.sandbox.dns.records import DEFAULT_TTL, DEFAULT_ZONE, RecordSet, ResolverFault, ZoneSnapshot
from gamedays.sandbox.dns.signing import ServerKey
from gamedays.sandbox.dns.zone import Zone
from gamedays.sandbox.ports import LOOPBACK, free_tcp_udp_port

logger = logging.getLogger(__name__)

TCP_POLL_SECONDS = 0.2
TCP_IDLE_SECONDS = 10.0
BIND_ATTEMPTS = 20
_OPT = 41


class ZoneServer:
    """An authoritative server for ``zone`` on 127.0.0.1:``port`` (UDP and TCP; a free port when None).

    Records change live from Python (:meth:`set_records`, :meth:`remove_records`) or over
    the wire with RFC 2136 updates; :meth:`set_fault` slows down or drops every query.
    Over the wire, the fault is the TXT record of ``_gameday-fault.<zone>`` (see the
    package documentation). After :meth:`stop`, :meth:`start` serves again on the same port.
    With ``tsig_key``, updates and zone transfers must be signed with it (:mod:`.signing`).
    """

    def __init__(
        self,
        zone: str = DEFAULT_ZONE,
        records: Iterable[RecordSet] | None = None,
        port: int | None = None,
        tsig_key: TsigKey | None = None,
    ) -> None:
        self.zone = Zone(zone, records if records is not None else ())
        self._port = port
        self._key = ServerKey(tsig_key) if tsig_key is not None else None
        self._stopping = threading.Event()
        self._servers: list[_UDPServer | _TCPServer] = []
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> ZoneServer:
        """Bind UDP and TCP on 127.0.0.1 and serve in background threads; raises SandboxError if it cannot."""
        if self._servers:
            raise SandboxError(f"the DNS server of {self.zone.origin} is already running on {self.address}")
        self._stopping.clear()
        self._servers = list(self._bind())
        try:
            for server in self._servers:
                kind = "udp" if isinstance(server, _UDPServer) else "tcp"
                thread = threading.Thread(
                    target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"dns-{kind}-{self._port}", daemon=True
                )
                thread.start()
                self._threads.append(thread)
        except RuntimeError as exc:
            self.stop()
            raise SandboxError(f"cannot start the DNS server threads: {exc}") from None
        logger.info("DNS server for %s listening on %s (UDP and TCP)", self.zone.origin, self.address)
        return self

    def stop(self) -> None:
        """Stop serving, close both sockets and join every thread (safe to call twice)."""
        self._stopping.set()
        # shutdown() waits for serve_forever (only call it when that was started): both at once
        stoppers = [threading.Thread(target=server.shutdown) for server in self._servers[: len(self._threads)]]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join(timeout=5.0)
        for server in self._servers:
            server.server_close()  # joins the request threads (block_on_close)
        for thread in self._threads:
            thread.join(timeout=5.0)
        self._servers, self._threads = [], []

    def __enter__(self) -> ZoneServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def stopping(self) -> threading.Event:
        """Set by :meth:`stop`: request threads waiting out a delay or an idle client give up on it."""
        return self._stopping

    @property
    def running(self) -> bool:
        return bool(self._servers)

    @property
    def port(self) -> int:
        if self._port is None:
            raise SandboxError("the DNS server has no port yet: call start() first")
        return self._port

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, the form the fault functions and the shop replicas take."""
        return f"{LOOPBACK}:{self.port}"

    # -- records and faults ----------------------------------------------------------------------

    def set_records(self, name: str, rdtype: str, values: Iterable[str], ttl: int = DEFAULT_TTL) -> RecordSet:
        """Replace the records of ``name`` (relative to the zone, or absolute) and ``rdtype``."""
        return self.zone.set_records(name, rdtype, values, ttl)

    def remove_records(self, name: str, rdtype: str | None = None) -> tuple[RecordSet, ...]:
        """Remove the records of ``name`` of ``rdtype`` (every type when None); returns what was removed."""
        return self.zone.remove_records(name, rdtype)

    def snapshot(self) -> ZoneSnapshot:
        """An immutable copy of every record (SOA included), the serial and the fault."""
        return self.zone.snapshot()

    @property
    def serial(self) -> int:
        return self.zone.state.serial

    @property
    def fault(self) -> ResolverFault:
        return self.zone.state.fault

    def set_fault(self, delay_seconds: float = 0.0, drop: bool = False) -> None:
        """Delay every answer by ``delay_seconds``, or drop every query (``drop``); both 0/False clears it."""
        self.zone.set_fault(ResolverFault(delay_seconds=float(delay_seconds), drop=bool(drop)))

    def clear_fault(self) -> None:
        self.zone.set_fault(ResolverFault())

    # -- the wire --------------------------------------------------------------------------------

    def handle(self, data: bytes, *, tcp: bool) -> list[bytes]:
        """The replies to one DNS message: one, several (a zone transfer), or none (dropped, or too broken to answer)."""
        if len(data) < 12:
            return []
        opcode = (data[2] >> 3) & 0x0F
        if opcode == dns.opcode.UPDATE:
            return [self._update(data)]
        if opcode != dns.opcode.QUERY:
            return [_header_only(data, dns.rcode.NOTIMP)]
        try:
            request = DNSRecord.parse(data)
        except DNSError as exc:
            logger.debug("malformed DNS query: %s", exc)
            return [_header_only(data, dns.rcode.FORMERR)]
        if self._key is not None and tcp and any(q.qtype == dns.rdatatype.AXFR for q in request.questions):
            return self._signed_transfer(data, request)
        fault = self.zone.state.fault
        if fault.active and request.questions and question_name(request) != self.zone.fault_name:
            if fault.drop or self._stopping.wait(fault.delay_seconds):
                return []
        replies = answer(request, self.zone.state, tcp=tcp)
        if tcp:
            return [reply.pack() for reply in replies]
        (reply,) = replies  # over UDP, one reply only: no zone transfers
        wire = reply.pack()
        if len(wire) > _udp_limit(request):
            truncated = reply.truncate()  # header only, TC set: the client retries over TCP
            for question in reply.questions:
                truncated.add_question(question)  # dnspython rejects a reply without its question
            wire = truncated.pack()
        return [wire]

    def _signed_transfer(self, data: bytes, request: DNSRecord) -> list[bytes]:
        assert self._key is not None
        verified = self._key.verify(data, "zone transfer")
        if verified.message is None:
            assert verified.refusal is not None
            return [_header_only(data, verified.refusal)]
        replies = [reply.pack() for reply in answer(request, self.zone.state, tcp=True)]
        return self._key.sign(verified.message, replies, stream=True)

    def _update(self, data: bytes) -> bytes:
        if self._key is not None:
            verified = self._key.verify(data, "update")
            if verified.message is None:
                assert verified.refusal is not None
                return _header_only(data, verified.refusal)
            message = verified.message
        else:
            try:
                message = dns.message.from_wire(data)
            except dns.message.UnknownTSIGKey:
                return _header_only(data, dns.rcode.NOTAUTH)
            except dns.exception.DNSException as exc:
                logger.info("malformed DNS update: %s", exc)
                return _header_only(data, dns.rcode.FORMERR)
        if not isinstance(message, dns.update.UpdateMessage):
            return _header_only(data, dns.rcode.FORMERR)
        rcode = self.zone.apply_update(message)
        response = dns.message.make_response(message)
        response.set_rcode(rcode)
        return response.to_wire()

    def _bind(self) -> tuple[_UDPServer, _TCPServer]:
        requested = self._port
        for _ in range(1 if requested is not None else BIND_ATTEMPTS):
            port = requested if requested is not None else free_tcp_udp_port()
            try:
                udp = _UDPServer((LOOPBACK, port), self)
            except OSError as exc:
                if requested is not None:
                    raise _port_error(port, "UDP", exc) from None
                continue
            try:
                tcp = _TCPServer((LOOPBACK, port), self)
            except OSError as exc:
                udp.server_close()
                if requested is not None:
                    raise _port_error(port, "TCP", exc) from None
                continue
            self._port = port
            return udp, tcp
        raise SandboxError(f"found no port free for both UDP and TCP on {LOOPBACK} after {BIND_ATTEMPTS} attempts")


class _UDPServer(socketserver.ThreadingMixIn, socketserver.UDPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = False  # on UDP, SO_REUSEADDR would let two servers share the port

    def __init__(self, address: tuple[str, int], owner: ZoneServer) -> None:
        self.owner = owner
        super().__init__(address, _UDPHandler)


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True  # rebinding after stop() despite TIME_WAIT; a listener still conflicts

    def __init__(self, address: tuple[str, int], owner: ZoneServer) -> None:
        self.owner = owner
        super().__init__(address, _TCPHandler)


class _UDPHandler(socketserver.BaseRequestHandler):
    server: _UDPServer

    def handle(self) -> None:
        data, sock = self.request
        for reply in self.server.owner.handle(data, tcp=False):
            try:
                sock.sendto(reply, self.client_address)
            except OSError as exc:  # the socket is closed by stop() while a delayed answer was pending
                logger.debug("could not send a DNS answer: %s", exc)


class _TCPHandler(socketserver.BaseRequestHandler):
    """Length-prefixed messages (RFC 1035 4.2.2), several per connection, until EOF, idle or stop."""

    server: _TCPServer

    def handle(self) -> None:
        owner = self.server.owner
        conn: socket.socket = self.request
        conn.settimeout(TCP_POLL_SECONDS)
        pending = b""
        idle_until = time.monotonic() + TCP_IDLE_SECONDS
        while not owner.stopping.is_set() and time.monotonic() < idle_until:
            try:
                chunk = conn.recv(65537)
            except socket.timeout:
                continue
            except OSError:
                return
            if not chunk:
                return
            pending += chunk
            idle_until = time.monotonic() + TCP_IDLE_SECONDS
            while len(pending) >= 2 and len(pending) >= 2 + struct.unpack("!H", pending[:2])[0]:
                length = struct.unpack("!H", pending[:2])[0]
                message, pending = pending[2 : 2 + length], pending[2 + length :]
                for reply in owner.handle(message, tcp=True):
                    try:
                        conn.sendall(struct.pack("!H", len(reply)) + reply)
                    except OSError:
                        return


def _header_only(data: bytes, rcode: int) -> bytes:
    """A bare response header with ``rcode``, for a message we cannot or will not parse."""
    return data[:2] + bytes([0x80 | (data[2] & 0x79), rcode & 0x0F]) + bytes(8)


def _udp_limit(request: DNSRecord) -> int:
    sizes = [int(rr.rclass) for rr in request.ar if rr.rtype == _OPT]
    return max(512, *sizes) if sizes else 512


def _port_error(port: int, transport: str, exc: OSError) -> SandboxError:
    return SandboxError(
        f"cannot serve DNS on {LOOPBACK}:{port} ({transport}): {exc.strerror or exc}; "
        "another program holds the port: stop it, or leave the port unset to take a free one"
    )
