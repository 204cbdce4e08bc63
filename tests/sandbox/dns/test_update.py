"""RFC 2136 DNS UPDATE with dnspython's ``dns.update``, checked by resolving afterwards."""

from __future__ import annotations

import ipaddress
from typing import Iterator

import dns.rcode
import dns.rdataset
import dns.resolver
import dns.update
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gamedays.sandbox.dns import ZoneServer, default_records
from tests.sandbox.dns.dnsclient import PG_PORT, ZONE, resolver, update


def _addresses(zone: ZoneServer, name: str, rdtype: str = "A") -> list[str]:
    try:
        return sorted(r.to_text() for r in resolver(zone).resolve(f"{name}.{ZONE}", rdtype))
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []


def _rcode(zone: ZoneServer, message: dns.update.UpdateMessage, *, tcp: bool = True) -> str:
    return dns.rcode.to_text(update(zone, message, tcp=tcp).rcode())


@pytest.mark.parametrize("tcp", [True, False], ids=["tcp", "udp"])
def test_add_then_replace_changes_the_answer(zone: ZoneServer, tcp: bool):
    add = dns.update.UpdateMessage(ZONE)
    add.add("new", 1, "A", "127.0.0.10")
    add.add("new", 1, "A", "127.0.0.11")
    assert _rcode(zone, add, tcp=tcp) == "NOERROR"
    assert _addresses(zone, "new") == ["127.0.0.10", "127.0.0.11"]
    move = dns.update.UpdateMessage(ZONE)
    move.replace("db", 1, "SRV", "0 0 6543 pg-1.shop.internal.")
    assert _rcode(zone, move, tcp=tcp) == "NOERROR"
    assert _addresses(zone, "db", "SRV") == ["0 0 6543 pg-1.shop.internal."]


def test_delete_an_rrset_one_rr_and_a_whole_name(zone: ZoneServer):
    zone.set_records("multi", "A", ["127.0.0.1", "127.0.0.2"])
    zone.set_records("multi", "TXT", ['"note"'])
    one = dns.update.UpdateMessage(ZONE)
    one.delete("multi", "A", "127.0.0.1")  # class NONE
    assert _rcode(zone, one) == "NOERROR"
    assert _addresses(zone, "multi") == ["127.0.0.2"]
    rrset = dns.update.UpdateMessage(ZONE)
    rrset.delete("multi", "A")  # class ANY, one type
    assert _rcode(zone, rrset) == "NOERROR"
    assert _addresses(zone, "multi") == [] and _addresses(zone, "multi", "TXT") == ['"note"']
    name = dns.update.UpdateMessage(ZONE)
    name.delete("multi")  # class ANY, type ANY
    assert _rcode(zone, name) == "NOERROR"
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver(zone).resolve(f"multi.{ZONE}", "TXT")


def test_refusals_change_nothing(zone: ZoneServer):
    before = zone.snapshot()
    outside = dns.update.UpdateMessage(ZONE)
    outside.add("fine", 1, "A", "127.0.0.3")  # would be valid on its own: the update is all-or-nothing
    outside.add("www.example.com.", 1, "A", "127.0.0.3")
    assert _rcode(zone, outside) == "NOTZONE"
    other_zone = dns.update.UpdateMessage("example.com")
    other_zone.add("www", 1, "A", "127.0.0.3")
    assert _rcode(zone, other_zone) == "NOTAUTH"
    unserved = dns.update.UpdateMessage(ZONE)
    unserved.add("mail", 1, "MX", "10 mx.shop.internal.")
    assert _rcode(zone, unserved) == "REFUSED"
    assert zone.snapshot() == before
    assert _addresses(zone, "fine") == []


def test_prerequisites_are_checked_before_any_change(zone: ZoneServer):
    stale = dns.update.UpdateMessage(ZONE)
    stale.present("db", dns.rdataset.from_text("IN", "SRV", 0, "0 0 1111 pg-0.shop.internal."))
    stale.delete("db", "SRV")
    assert _rcode(zone, stale) == "NXRRSET"
    assert _addresses(zone, "db", "SRV") == [f"0 0 {PG_PORT} pg-0.shop.internal."]
    current = dns.update.UpdateMessage(ZONE)
    current.present("db", dns.rdataset.from_text("IN", "SRV", 0, f"0 0 {PG_PORT} pg-0.shop.internal."))
    current.delete("db", "SRV")
    assert _rcode(zone, current) == "NOERROR"
    checks = [
        (lambda u: u.present("nope"), "NXDOMAIN"),
        (lambda u: u.present("api", "AAAA"), "NXRRSET"),
        (lambda u: u.absent("api"), "YXDOMAIN"),
        (lambda u: u.absent("api", "A"), "YXRRSET"),
        (lambda u: u.present("other.example.", "A"), "NOTZONE"),
    ]
    for build, expected in checks:
        message = dns.update.UpdateMessage(ZONE)
        build(message)
        message.add("never", 1, "A", "127.0.0.4")
        assert _rcode(zone, message) == expected
    assert _addresses(zone, "never") == []


def test_the_server_keeps_its_soa_and_apex_ns_and_cname_rules(zone: ZoneServer):
    serial = zone.serial
    message = dns.update.UpdateMessage(ZONE)
    message.delete("@", "NS")
    message.delete("@", "SOA")
    message.add("@", 1, "SOA", "evil. evil. 99999 1 1 1 1")
    message.add("api", 1, "CNAME", "db.shop.internal.")  # api has an A record: ignored (RFC 2136 3.4.2.2)
    assert _rcode(zone, message) == "NOERROR"
    stub = resolver(zone)
    assert [r.to_text() for r in stub.resolve(ZONE, "NS")] == ["ns1.shop.internal."]
    assert stub.resolve(ZONE, "SOA")[0].mname.to_text() == "ns1.shop.internal."
    assert _addresses(zone, "api") == ["127.0.0.1"]
    assert zone.serial == serial  # nothing changed


def test_every_change_bumps_the_serial_seen_over_the_wire(zone: ZoneServer):
    def wire_serial() -> int:
        return int(resolver(zone).resolve(ZONE, "SOA")[0].serial)

    start = wire_serial()
    for index in range(3):
        message = dns.update.UpdateMessage(ZONE)
        message.replace("api", 1, "A", f"127.0.1.{index}")
        assert _rcode(zone, message) == "NOERROR"
        assert wire_serial() == start + index + 1


@pytest.fixture(scope="module")
def shared_zone() -> Iterator[ZoneServer]:
    with ZoneServer(records=default_records(PG_PORT)) as server:
        yield server


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.ip_addresses(v=4), min_size=1, max_size=6, unique=True))
def test_any_address_set_written_by_update_is_resolved_back_exactly(shared_zone: ZoneServer, addresses: list[ipaddress.IPv4Address]):
    message = dns.update.UpdateMessage(ZONE)
    message.replace("prop", 1, "A", *[str(a) for a in addresses])
    assert _rcode(shared_zone, message) == "NOERROR"
    assert _addresses(shared_zone, "prop") == sorted(str(a) for a in addresses)
