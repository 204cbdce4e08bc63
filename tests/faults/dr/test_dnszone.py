"""DNS disaster recovery against the sandbox's DNS server: back the zone up, lose it, restore it."""

from __future__ import annotations

import json
from pathlib import Path

import dns.message
import dns.query
import pytest
from chaoslib.exceptions import ActivityFailed

from gamedays.faults.dns import records as dns_faults
from gamedays.faults.dns import zone as dnszone
from gamedays.sandbox.ports import free_port
from tests.catalog.support import Target, wait_until

ZONE = "shop.internal"
#: Owner names to cover, for the functions' ``names`` argument (a server refusing AXFR needs them).
NAMES = ["@", "ns1", "db", "pg-0", "pg-1", "api"]


def answer(target: Target, name: str, rdtype: str) -> tuple[int, list[str]] | None:
    """(ttl, sorted values) of ``name`` as the server answers it now, None when it has none."""
    host, _, port = target.env["SANDBOX_DNS"].rpartition(":")
    response = dns.query.tcp(dns.message.make_query(name, rdtype), host, port=int(port), timeout=2)
    for rrset in response.answer:
        if rrset.name.to_text() == name and dns.rdatatype.to_text(rrset.rdtype) == rdtype:
            return rrset.ttl, sorted(r.to_text() for r in rrset)
    return None


def test_a_lost_zone_comes_back_from_its_backup(target: Target, tmp_path: Path):
    server, backup = target.env["SANDBOX_DNS"], tmp_path / "zone.json"
    srv_before = answer(target, "db.shop.internal.", "SRV")
    assert srv_before is not None

    taken = dnszone.backup_zone(server, ZONE, str(backup), names=NAMES)
    saved = json.loads(backup.read_text())["records"]
    assert taken["method"] == "axfr" and taken["record_sets"] == len(saved)  # AXFR first, names only if refused
    by_key = {(r["name"], r["rdtype"]): r for r in saved}
    assert by_key[("db.shop.internal.", "SRV")]["values"] == srv_before[1]
    assert {("shop.internal.", "SOA"), ("shop.internal.", "NS"), ("pg-1.shop.internal.", "A")} <= set(by_key)

    lost = dnszone.delete_zone_records(server, ZONE, names=NAMES)
    assert "db.shop.internal. SRV" in lost["deleted"] and "shop.internal. NS" not in lost["deleted"]
    assert answer(target, "db.shop.internal.", "SRV") is None
    assert answer(target, "pg-0.shop.internal.", "A") is None
    assert answer(target, "shop.internal.", "NS") is not None  # the apex survives the disaster
    # the shop cannot find its database any more, once its 1 s DNS cache runs out
    assert wait_until(lambda: target.order() is None, 10)
    # written after the backup: the restore removes it
    dns_faults.restore_record(server, ZONE, "stray", "A", values=["127.0.0.9"], ttl=5)

    done = dnszone.restore_zone(server, ZONE, str(backup), names=["stray"])
    assert done["removed"] == ["stray.shop.internal. A"]
    assert answer(target, "stray.shop.internal.", "A") is None
    for record in saved:
        if record["rdtype"] != "SOA":
            assert answer(target, record["name"], record["rdtype"]) == (record["ttl"], record["values"]), record

    again = dnszone.restore_zone(server, ZONE, str(backup))
    assert again["restored"] == [] and again["removed"] == [] and again["unchanged"] == len(saved) - 1
    target.shop_takes_orders(timeout=30)
    assert answer(target, "db.shop.internal.", "SRV") == srv_before


def test_without_names_a_server_refusing_transfers_is_named(target: Target, tmp_path: Path):
    server = target.env["SANDBOX_DNS"]
    with pytest.raises(ActivityFailed, match=rf"DNS server {server} refused a zone transfer \(AXFR\) of other.example.: REFUSED; "
                       r"allow AXFR from this host, or give the owner names to cover as names=\[\.\.\.\]"):
        dnszone.backup_zone(server, "other.example", str(tmp_path / "zone.json"))
    assert not (tmp_path / "zone.json").exists()


def test_bad_arguments_name_the_thing_and_what_is_expected(target: Target, tmp_path: Path):
    server = target.env["SANDBOX_DNS"]
    missing = tmp_path / "none.json"
    with pytest.raises(ActivityFailed, match=f"zone backup {missing} does not exist: take one with backup_zone before the disaster"):
        dnszone.restore_zone(server, ZONE, str(missing))
    with pytest.raises(ActivityFailed, match=rf"DNS server {server} refused to answer for other.example.: REFUSED; "
                       r"is it authoritative for the zone other.example.\?"):
        dnszone.backup_zone(server, "other.example", str(tmp_path / "other.json"), names=["www"])
    with pytest.raises(ActivityFailed, match=r"zone must be a DNS zone name such as 'shop.internal', got ''"):
        dnszone.delete_zone_records(server, "")
    closed = f"127.0.0.1:{free_port()}"
    with pytest.raises(ActivityFailed, match=f"cannot reach DNS server {closed} for a zone transfer of shop.internal.: "):
        dnszone.backup_zone(closed, ZONE, str(tmp_path / "zone.json"), names=NAMES)
    dnszone.backup_zone(server, ZONE, str(tmp_path / "zone.json"), names=NAMES)
    with pytest.raises(ActivityFailed, match="zone backup .*zone.json holds the zone shop.internal., not other.example."):
        dnszone.restore_zone(server, "other.example", str(tmp_path / "zone.json"))


def test_a_restore_holds_while_a_writer_keeps_adding_to_a_txt_set(target: Target, tmp_path: Path):
    """The DR dns check's RPO writer stamps TXT values into one set during the restore: the restore still holds.

    A set of another type must be exactly the backup's; a TXT set may have grown since (the demo once
    failed here, reading the zone back between the restore and a writer's next stamp).
    """
    import threading

    import dns.update

    server, backup = target.env["SANDBOX_DNS"], tmp_path / "zone.json"
    name = "_gameday-test-writer.shop.internal."
    host, _, port = server.rpartition(":")
    stop = threading.Event()

    def stamp(value: int) -> None:
        update = dns.update.UpdateMessage(ZONE)
        update.add(name, 60, "TXT", f'"{value}"')
        dns.query.tcp(update, host, port=int(port), timeout=2)

    stamp(0)
    dnszone.backup_zone(server, ZONE, str(backup), names=NAMES)

    def writer() -> None:
        value = 1
        while not stop.is_set() and value < 2000:
            stamp(value)
            value += 1

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        for _ in range(20):  # the writer adds between the restore's update and its read-back, often
            dnszone.restore_zone(server, ZONE, str(backup), names=[name])
    finally:
        stop.set()
        thread.join(10)
        cleanup = dns.update.UpdateMessage(ZONE)
        cleanup.delete(name)
        dns.query.tcp(cleanup, host, port=int(port), timeout=2)
    assert answer(target, name, "TXT") is None
