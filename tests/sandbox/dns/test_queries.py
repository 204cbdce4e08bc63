"""Standard queries against the real server: what dnspython resolves, and the shape of each answer."""

from __future__ import annotations

import dataclasses
import socket
import struct

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.resolver
import pytest

from gamedays.sandbox.dns import RecordSet, ZoneServer
from gamedays.sandbox.ports import LOOPBACK
from tests.sandbox.dns.dnsclient import PG_PORT, query, resolver, rrset_texts


def test_the_default_zone_resolves_a_srv_soa_and_ns(zone: ZoneServer):
    stub = resolver(zone)
    srv = stub.resolve("db.shop.internal", "SRV")
    assert [r.to_text() for r in srv] == [f"0 0 {PG_PORT} pg-0.shop.internal."]
    assert srv.rrset is not None and srv.rrset.ttl == 1
    for name in ("db", "pg-0", "pg-1", "api", "ns1"):
        assert [r.to_text() for r in stub.resolve(f"{name}.shop.internal", "A")] == ["127.0.0.1"]
    soa = stub.resolve("shop.internal", "SOA")[0]
    assert (soa.mname.to_text(), soa.serial, soa.minimum) == ("ns1.shop.internal.", 1, 1)
    assert [r.to_text() for r in stub.resolve("shop.internal", "NS")] == ["ns1.shop.internal."]


def test_answers_are_authoritative_and_srv_brings_the_target_address(zone: ZoneServer):
    response = query(zone, "db.shop.internal", "SRV")
    assert response.flags & dns.flags.AA and not response.flags & dns.flags.RA
    assert rrset_texts(response, "additional") == ["pg-0.shop.internal. 1 IN A 127.0.0.1"]


def test_unknown_name_is_nxdomain_with_the_soa_in_authority(zone: ZoneServer):
    response = query(zone, "nope.shop.internal", "A")
    assert response.rcode() == dns.rcode.NXDOMAIN
    assert response.answer == []
    assert [rr.rdtype for rr in response.authority] == [dns.rdatatype.SOA]
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver(zone).resolve("nope.shop.internal", "A")


def test_known_name_without_the_type_is_an_empty_noerror(zone: ZoneServer):
    response = query(zone, "api.shop.internal", "AAAA")
    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer == []
    assert [rr.rdtype for rr in response.authority] == [dns.rdatatype.SOA]
    with pytest.raises(dns.resolver.NoAnswer):
        resolver(zone).resolve("api.shop.internal", "AAAA")


def test_an_empty_non_terminal_exists(zone: ZoneServer):
    zone.set_records("a.b", "A", ["127.0.0.9"])
    assert query(zone, "b.shop.internal", "A").rcode() == dns.rcode.NOERROR
    assert query(zone, "c.b.shop.internal", "A").rcode() == dns.rcode.NXDOMAIN


def test_names_outside_the_zone_are_refused(zone: ZoneServer):
    for name in ("example.com", "internal", "shop.internal.example"):
        response = query(zone, name, "A")
        assert response.rcode() == dns.rcode.REFUSED, name
        assert not response.flags & dns.flags.AA


def test_a_cname_is_followed_inside_the_zone(zone: ZoneServer):
    zone.set_records("www", "CNAME", ["shop"])
    zone.set_records("shop", "CNAME", ["api"])
    answer = resolver(zone).resolve("www.shop.internal", "A")
    assert [r.to_text() for r in answer] == ["127.0.0.1"]
    assert answer.canonical_name.to_text() == "api.shop.internal."
    response = query(zone, "www.shop.internal", "A")
    assert rrset_texts(response) == [
        "api.shop.internal. 1 IN A 127.0.0.1",
        "shop.shop.internal. 1 IN CNAME api.shop.internal.",
        "www.shop.internal. 1 IN CNAME shop.shop.internal.",
    ]


def test_a_cname_to_a_missing_name_is_nxdomain_and_a_loop_ends(zone: ZoneServer):
    zone.set_records("dangling", "CNAME", ["gone"])
    assert query(zone, "dangling.shop.internal", "A").rcode() == dns.rcode.NXDOMAIN
    zone.set_records("loop-a", "CNAME", ["loop-b"])
    zone.set_records("loop-b", "CNAME", ["loop-a"])
    response = query(zone, "loop-a.shop.internal", "A")
    assert response.rcode() == dns.rcode.NOERROR and len(response.answer) == 2


def test_aaaa_txt_and_any(zone: ZoneServer):
    zone.set_records("v6", "AAAA", ["0:0::1"])
    zone.set_records("v6", "TXT", ['"hello world"', '"second"'])
    stub = resolver(zone)
    assert [r.to_text() for r in stub.resolve("v6.shop.internal", "AAAA")] == ["::1"]
    assert sorted(r.to_text() for r in stub.resolve("v6.shop.internal", "TXT")) == ['"hello world"', '"second"']
    kinds = {rr.rdtype for rr in query(zone, "v6.shop.internal", "ANY").answer}
    assert kinds == {dns.rdatatype.AAAA, dns.rdatatype.TXT}


def test_tcp_answers_like_udp_and_serves_several_messages_per_connection(zone: ZoneServer):
    assert rrset_texts(query(zone, "db.shop.internal", "SRV", tcp=True)) == rrset_texts(query(zone, "db.shop.internal", "SRV"))
    first = dns.message.make_query("api.shop.internal", "A").to_wire()
    second = dns.message.make_query("pg-1.shop.internal", "A").to_wire()
    with socket.create_connection((LOOPBACK, zone.port), timeout=2) as conn:
        conn.sendall(struct.pack("!H", len(first)) + first + struct.pack("!H", len(second)) + second)
        replies = [_read_tcp_message(conn), _read_tcp_message(conn)]
    assert [r.question[0].name.to_text() for r in replies] == ["api.shop.internal.", "pg-1.shop.internal."]


def test_malformed_and_unsupported_messages(zone: ZoneServer):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        notify = dns.message.make_query("shop.internal", "SOA")
        notify.set_opcode(dns.opcode.NOTIFY)
        sock.sendto(notify.to_wire(), (LOOPBACK, zone.port))
        reply = dns.message.from_wire(sock.recv(512))
        assert (reply.id, reply.rcode()) == (notify.id, dns.rcode.NOTIMP)
        garbage = struct.pack("!HHHHHH", 4242, 0x0100, 1, 0, 0, 0) + b"\x03abc"  # a question cut short
        sock.sendto(garbage, (LOOPBACK, zone.port))
        header = sock.recv(512)
        assert struct.unpack("!H", header[:2])[0] == 4242 and header[3] & 0x0F == dns.rcode.FORMERR
    assert query(zone, "api.shop.internal", "A").rcode() == dns.rcode.NOERROR  # and it still serves


def test_records_change_live_from_python_and_every_change_bumps_the_serial(zone: ZoneServer):
    stub = resolver(zone)
    serial = zone.serial
    zone.set_records("api", "A", ["127.0.0.2", "127.0.0.3"], ttl=30)
    answer = stub.resolve("api.shop.internal", "A")
    assert sorted(r.to_text() for r in answer) == ["127.0.0.2", "127.0.0.3"]
    assert answer.rrset is not None and answer.rrset.ttl == 30
    assert stub.resolve("shop.internal", "SOA")[0].serial == serial + 1
    removed = zone.remove_records("api")
    assert [(r.name, r.rdtype, r.values) for r in removed] == [("api.shop.internal.", "A", ("127.0.0.2", "127.0.0.3"))]
    with pytest.raises(dns.resolver.NXDOMAIN):
        stub.resolve("api.shop.internal", "A")
    assert zone.serial == serial + 2
    assert zone.remove_records("api") == ()
    assert zone.serial == serial + 2  # nothing changed, no new serial


def test_a_snapshot_is_an_immutable_copy(zone: ZoneServer):
    before = zone.snapshot()
    assert before.values("db", "SRV") == (f"0 0 {PG_PORT} pg-0.shop.internal.",)
    assert before.get("shop.internal.", "SOA") is not None
    zone.set_records("db", "SRV", ["0 0 6000 pg-1"])
    assert before.values("db", "SRV") == (f"0 0 {PG_PORT} pg-0.shop.internal.",)
    assert zone.snapshot().values("db.shop.internal", "SRV") == ("0 0 6000 pg-1.shop.internal.",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.serial = 99  # type: ignore[misc]
    assert isinstance(before.records, tuple) and all(isinstance(r, RecordSet) for r in before.records)


@pytest.mark.parametrize(
    ("name", "rdtype", "values", "message"),
    [
        ("api", "MX", ["10 mail"], "record type 'MX' is not served"),
        ("api", "A", ["not-an-address"], "'not-an-address' is not a valid A value"),
        ("x.example.", "A", ["127.0.0.1"], "x.example. is outside the zone shop.internal."),
        ("api", "CNAME", ["db"], "api.shop.internal. has a CNAME, so it cannot have other records"),
        ("@", "SOA", ["ns1 hostmaster 5 60 10 3600 1"], "the SOA is managed by the server"),
        ("api", "A", [], "use remove_records() to delete records"),
        ("_gameday-fault", "TXT", ['"delay=forever"'], "delay='forever' is not a number of seconds"),
    ],
)
def test_bad_records_are_rejected_with_a_clear_message(zone: ZoneServer, name: str, rdtype: str, values: list[str], message: str):
    serial = zone.serial
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(").replace(")", r"\)")):
        zone.set_records(name, rdtype, values)
    assert zone.serial == serial


def test_the_apex_ns_cannot_be_removed(zone: ZoneServer):
    with pytest.raises(ValueError, match="apex NS"):
        zone.remove_records("@", "NS")
    assert [r.to_text() for r in resolver(zone).resolve("shop.internal", "NS")] == ["ns1.shop.internal."]


def _read_tcp_message(conn: socket.socket) -> dns.message.Message:
    size = struct.unpack("!H", _read_exactly(conn, 2))[0]
    return dns.message.from_wire(_read_exactly(conn, size))


def _read_exactly(conn: socket.socket, count: int) -> bytes:
    data = b""
    for _ in range(100):
        if len(data) == count:
            return data
        chunk = conn.recv(count - len(data))
        assert chunk, "connection closed early"
        data += chunk
    raise AssertionError("message never completed")
