"""Zone transfers (AXFR over TCP) from the sandbox's DNS server, read with dnspython as a secondary would."""

from __future__ import annotations

import json
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.update
import dns.xfr
import dns.zone
import pytest

from gamedays.faults.dns import zone as dnszone
from gamedays.sandbox.dns import ZoneServer
from gamedays.sandbox.dns.answer import MAX_TRANSFER_MESSAGE
from gamedays.sandbox.ports import LOOPBACK
from tests.sandbox.dns.dnsclient import ZONE, query, update


def transfer(server: ZoneServer) -> tuple[list[dns.message.Message], dns.zone.Zone]:
    """(every message of one AXFR of the zone, the zone dnspython builds from them)."""
    messages = list(dns.query.xfr(LOOPBACK, ZONE, port=server.port, timeout=3, lifetime=10, relativize=False))
    return messages, dns.zone.from_xfr(iter(messages), relativize=False)


def record_sets(zone: dns.zone.Zone) -> dict[tuple[str, str], tuple[int, list[str]]]:
    """{(name, type): (ttl, sorted values)} of a transferred zone."""
    found = {}
    for name, node in zone.nodes.items():
        for rdataset in node.rdatasets:
            key = (name.to_text(), dns.rdatatype.to_text(rdataset.rdtype))
            found[key] = (rdataset.ttl, sorted(r.to_text() for r in rdataset))
    return found


def served(server: ZoneServer, name: str, rdtype: str) -> tuple[int, list[str]] | None:
    """(ttl, sorted values) of ``name``/``rdtype`` as a plain query gets them, None when it gets none."""
    for rrset in query(server, name, rdtype).answer:
        if rrset.name.to_text() == name and dns.rdatatype.to_text(rrset.rdtype) == rdtype:
            return rrset.ttl, sorted(r.to_text() for r in rrset)
    return None


def test_the_transfer_holds_exactly_what_the_server_answers_to_queries(zone: ZoneServer):
    messages, transferred = transfer(zone)
    first, last = messages[0].answer[0], messages[-1].answer[-1]
    assert first.rdtype == last.rdtype == dns.rdatatype.SOA and first[0].serial == last[0].serial == zone.serial
    assert all(m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AA for m in messages)
    sets = record_sets(transferred)
    assert {("db.shop.internal.", "SRV"), ("shop.internal.", "NS"), ("pg-1.shop.internal.", "A")} <= set(sets)
    for (name, rdtype), content in sets.items():
        assert served(zone, name, rdtype) == content, (name, rdtype)
    # nothing served is missing: every type an ANY query finds at each name was transferred
    for name in {n for n, _ in sets}:
        kinds = {(name, dns.rdatatype.to_text(rr.rdtype)) for rr in query(zone, name, "ANY").answer}
        assert kinds <= set(sets), name
    snapshot = {(r.name, r.rdtype): (r.ttl, sorted(r.values)) for r in zone.snapshot().records}
    assert sets == snapshot


def test_the_transfer_follows_rfc2136_updates_and_python_changes(zone: ZoneServer):
    _, before = transfer(zone)
    serial = zone.serial
    change = dns.update.UpdateMessage(ZONE)
    change.replace("db", 5, "SRV", "0 0 5433 pg-1.shop.internal.")
    change.add("cache", 30, "A", "127.0.0.7")
    change.delete("pg-0", "A")
    assert update(zone, change).rcode() == dns.rcode.NOERROR
    zone.set_records("api", "TXT", ['"v=2"'])

    messages, after = transfer(zone)
    sets = record_sets(after)
    assert messages[0].answer[0][0].serial == zone.serial > serial
    assert sets[("db.shop.internal.", "SRV")] == (5, ["0 0 5433 pg-1.shop.internal."])
    assert sets[("cache.shop.internal.", "A")] == (30, ["127.0.0.7"])
    assert sets[("api.shop.internal.", "TXT")] == (1, ['"v=2"'])
    assert ("pg-0.shop.internal.", "A") not in sets and ("pg-0.shop.internal.", "A") in record_sets(before)
    assert served(zone, "pg-0.shop.internal.", "A") is None


def test_a_large_zone_comes_in_several_messages(zone: ZoneServer):
    for index in range(300):
        zone.set_records(f"host-{index}", "TXT", [f'"{"x" * 100}-{index}"', f'"second-{index}"'])
    messages, transferred = transfer(zone)
    assert len(messages) > 1
    assert all(len(m.to_wire()) <= MAX_TRANSFER_MESSAGE for m in messages)
    sets = record_sets(transferred)
    assert len([key for key in sets if key[0].startswith("host-")]) == 300
    assert sets[("host-299.shop.internal.", "TXT")] == (1, sorted([f'"{"x" * 100}-299"', '"second-299"']))
    assert len(sets) == len(zone.snapshot().records)


def test_the_resolver_fault_record_is_not_transferred(zone: ZoneServer):
    zone.set_fault(delay_seconds=0.05)
    _, transferred = transfer(zone)
    assert served(zone, "_gameday-fault.shop.internal.", "TXT") is not None
    assert not [key for key in record_sets(transferred) if key[0].startswith("_gameday-fault.")]
    assert ("db.shop.internal.", "SRV") in record_sets(transferred)


def test_a_transfer_over_udp_or_below_the_apex_or_outside_the_zone_is_refused(zone: ZoneServer):
    over_udp = query(zone, ZONE, "AXFR")
    assert over_udp.rcode() == dns.rcode.NOTIMP and not over_udp.answer
    assert query(zone, ZONE, "IXFR", tcp=True).rcode() == dns.rcode.NOTIMP  # no incremental transfers
    below = query(zone, "db.shop.internal", "AXFR", tcp=True)
    assert below.rcode() == dns.rcode.NOTAUTH and not below.answer and not below.flags & dns.flags.AA
    assert query(zone, "other.example", "AXFR", tcp=True).rcode() == dns.rcode.REFUSED
    with pytest.raises(dns.xfr.TransferError, match="NOTAUTH"):
        list(dns.query.xfr(LOOPBACK, "pg-0.shop.internal", port=zone.port, timeout=3, lifetime=10))
    assert transfer(zone)[1] is not None  # and the apex still transfers


def test_backup_zone_without_names_reads_the_zone_by_axfr(zone: ZoneServer, tmp_path: Path):
    path = tmp_path / "zone.json"
    done = dnszone.backup_zone(zone.address, ZONE, str(path))
    saved = json.loads(path.read_text())
    assert done["method"] == saved["method"] == "axfr"
    backed_up = {(r["name"], r["rdtype"]): (r["ttl"], r["values"]) for r in saved["records"]}
    assert backed_up == {(r.name, r.rdtype): (r.ttl, sorted(r.values)) for r in zone.snapshot().records}
    assert done["record_sets"] == len(backed_up)

    lost = dnszone.delete_zone_records(zone.address, ZONE)
    assert "db.shop.internal. SRV" in lost["deleted"] and served(zone, "db.shop.internal.", "SRV") is None
    restored = dnszone.restore_zone(zone.address, ZONE, str(path))
    assert "db.shop.internal. SRV" in restored["restored"]
    assert served(zone, "db.shop.internal.", "SRV") == backed_up[("db.shop.internal.", "SRV")]
