"""Start, stop, ports and threads: two servers side by side, a taken port, nothing left behind."""

from __future__ import annotations

import socket
import threading
import time

import dns.exception
import dns.rcode
import pytest

from gamedays.model.errors import SandboxError
from gamedays.sandbox.dns import ZoneServer, default_records, record
from gamedays.sandbox.ports import LOOPBACK, free_tcp_udp_port
from tests.sandbox.dns.dnsclient import port_is_free, query, resolver


def test_two_servers_run_side_by_side_with_their_own_records():
    first = ZoneServer(records=default_records(5432)).start()
    try:
        second = ZoneServer(zone="other.test", records=[record("api", "A", ["127.0.0.7"], zone="other.test")]).start()
        try:
            assert first.port != second.port
            assert first.address == f"127.0.0.1:{first.port}"
            first.set_records("api", "A", ["127.0.0.5"])
            assert [r.to_text() for r in resolver(first).resolve("api.shop.internal", "A")] == ["127.0.0.5"]
            assert [r.to_text() for r in resolver(second).resolve("api.other.test", "A")] == ["127.0.0.7"]
            assert query(second, "api.shop.internal", "A").rcode() == dns.rcode.REFUSED
        finally:
            second.stop()
    finally:
        first.stop()
    assert port_is_free(first.port) and port_is_free(second.port)


@pytest.mark.parametrize("kind", [socket.SOCK_DGRAM, socket.SOCK_STREAM])
def test_a_taken_port_is_a_clear_sandbox_error(kind: int):
    port = free_tcp_udp_port()
    with socket.socket(socket.AF_INET, kind) as squatter:
        squatter.bind((LOOPBACK, port))
        if kind == socket.SOCK_STREAM:
            squatter.listen()
        server = ZoneServer(port=port)
        with pytest.raises(SandboxError, match=f"cannot serve DNS on 127.0.0.1:{port} .*another program holds the port"):
            server.start()
        assert not server.running
    assert port_is_free(port), "the half-started server kept the other transport's socket"


def test_stop_frees_the_port_and_joins_every_thread_and_start_serves_again_on_the_same_port():
    before = {t.ident for t in threading.enumerate()}
    with ZoneServer(records=default_records(5432)) as server:
        port = server.port
        assert query(server, "db.shop.internal", "A", tcp=True).rcode() == dns.rcode.NOERROR
    assert port_is_free(port)
    assert not [t for t in threading.enumerate() if t.ident not in before]
    server.stop()  # twice is fine
    server.start()
    try:
        assert server.port == port
        assert [r.to_text() for r in resolver(server).resolve("db.shop.internal", "A")] == ["127.0.0.1"]
    finally:
        server.stop()
    assert port_is_free(port)


def test_stop_does_not_wait_for_a_delayed_answer_or_an_idle_tcp_client(zone: ZoneServer):
    zone.set_fault(delay_seconds=20.0)
    outcome: list[BaseException] = []

    def ask() -> None:
        try:
            query(zone, "api.shop.internal", "A", timeout=2.0)
        except (dns.exception.Timeout, OSError) as exc:
            outcome.append(exc)

    asker = threading.Thread(target=ask)
    asker.start()
    idle = socket.create_connection((LOOPBACK, zone.port), timeout=2)
    try:
        time.sleep(0.2)  # the query is now waiting out its delay in a server thread
        started = time.monotonic()
        zone.stop()
        assert time.monotonic() - started < 2.0
    finally:
        idle.close()
    asker.join(5)
    assert outcome, "the delayed query was answered although the server stopped"


def test_the_port_property_needs_a_started_server():
    with pytest.raises(SandboxError, match="call start"):
        ZoneServer().port  # noqa: B018 - reading it raises
