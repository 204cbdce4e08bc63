"""The DNS RPO writer against the sandbox's real DNS server on 127.0.0.1 (RFC 2136 updates, TCP reads)."""

from __future__ import annotations

import re
import time

import dns.message
import dns.query
import dns.rdatatype
import pytest

from gamedays.model.playbook import DataWriter
from gamedays.sandbox.dns import ZoneServer
from gamedays.sli.writers import WriterError, writer_for
from gamedays.sli.writers.dns import PER_NAME, DnsWriter
from tests.sli.fixtures import zone  # noqa: F401 - a fixture
from tests.sli.writers.support import (
    an_outage_fails_writes_within_the_timeout,
    closed_port,
    losing_some_is_counted,
    silent_port,
    write_some,
)

ZONE = "shop.internal"


def dns_writer(server: ZoneServer, run: str = "run-1") -> DnsWriter:
    spec = DataWriter(kind="dns", target="${SANDBOX_DNS}", zone="${SANDBOX_DNS_ZONE}")
    writer = writer_for(spec, {"SANDBOX_DNS": server.address, "SANDBOX_DNS_ZONE": ZONE}, run)
    assert isinstance(writer, DnsWriter)
    writer.prepare()
    return writer


def txt_values(server: ZoneServer, name: str) -> list[str]:
    """What any resolver asking the server sees: the TXT strings of ``name``."""
    response = dns.query.tcp(dns.message.make_query(name, "TXT"), "127.0.0.1", port=server.port, timeout=2)
    return sorted(
        b"".join(r.strings).decode() for rrset in response.answer if rrset.rdtype == dns.rdatatype.TXT for r in rrset
    )


def test_acknowledged_writes_are_txt_records_anyone_can_resolve(zone: ZoneServer):
    writer = dns_writer(zone)
    write_some(writer, 4)
    assert writer.name_for(1) == f"_gameday-rpo-run-1-0.{ZONE}."
    assert txt_values(zone, writer.name_for(1)) == ["1", "2", "3", "4"]
    assert writer.survivors() == {1, 2, 3, 4}


def test_records_deleted_on_the_server_are_missing_and_counted_lost(zone: ZoneServer):
    writer = dns_writer(zone)

    def delete(seqs: list[int]) -> None:  # as a botched restore would: the set loses some records
        name = writer.name_for(seqs[0]).removesuffix(f".{ZONE}.")
        kept = [v for v in txt_values(zone, writer.name_for(seqs[0])) if int(v) not in seqs]
        zone.set_records(name, "TXT", [f'"{v}"' for v in kept])

    losing_some_is_counted(writer, delete)


def test_many_writes_spread_over_names_so_every_answer_stays_small(zone: ZoneServer):
    writer = dns_writer(zone)
    write_some(writer, 3, start=PER_NAME - 1)  # 499, 500, 501: two names
    assert writer.name_for(PER_NAME - 1) != writer.name_for(PER_NAME)
    assert txt_values(zone, writer.name_for(PER_NAME)) == ["500", "501"]
    assert writer.survivors() == {499, 500, 501}


def test_two_runs_never_see_each_others_writes_and_cleanup_removes_only_its_own(zone: ZoneServer):
    first, second = dns_writer(zone, "run-a"), dns_writer(zone, "run-b")
    write_some(first, 3)
    write_some(second, 2, start=10)
    assert first.survivors() == {1, 2, 3} and second.survivors() == {10, 11}
    assert first.cleanup() is None
    assert first.survivors() == set() and txt_values(zone, first.name_for(1)) == []
    assert second.survivors() == {10, 11}
    assert second.cleanup() is None and second.survivors() == set()


def test_a_writer_made_again_after_its_process_died_cleans_up_every_name_of_the_run(zone: ZoneServer):
    """`gameday recover` knows the run id only: the writer it makes has written nothing itself."""
    dead, other = dns_writer(zone, "run-a"), dns_writer(zone, "run-b")
    write_some(dead, 3, start=2 * PER_NAME - 1)  # 999, 1000, 1001: names 1 and 2
    write_some(dead, 2)  # and name 0
    write_some(other, 1, start=PER_NAME)
    again = dns_writer(zone, "run-a")
    assert again.cleanup() is None
    assert [txt_values(zone, dead.name_for(seq)) for seq in (1, 999, 1000)] == [[], [], []]
    assert dead.survivors() == set()
    assert other.survivors() == {PER_NAME}  # another run's names are not its own


def test_a_run_id_that_is_no_dns_label_still_gets_its_own_names(zone: ZoneServer):
    writer = dns_writer(zone, "2024-05 / DR: database_cluster")
    write_some(writer, 2)
    label = writer.name_for(1).split(".")[0]
    assert re.fullmatch(r"_gameday-rpo-2024-05-dr-database-clu-[0-9a-f]{8}-0", label), label
    assert writer.survivors() == {1, 2}


def test_prepare_refuses_a_zone_the_server_does_not_serve(zone: ZoneServer):
    writer = writer_for(DataWriter(kind="dns", target=zone.address, zone="other.example"), {}, "run-1")
    with pytest.raises(WriterError) as error:
        writer.prepare()
    assert str(error.value) == (
        f"dns {zone.address} zone other.example.: the server does not serve the zone (REFUSED, no SOA for other.example.)"
    )


def test_a_stopped_server_fails_writes_at_once_and_cleanup_reports_instead_of_raising():
    port = closed_port()
    writer = writer_for(DataWriter(kind="dns", target=f"127.0.0.1:{port}", zone=ZONE), {}, "run-1")
    started = time.monotonic()
    with pytest.raises(WriterError) as error:
        writer.write(1, time.time())
    assert time.monotonic() - started < 1.0
    assert str(error.value).startswith(f"dns 127.0.0.1:{port} zone {ZONE}.: cannot write 1: ")
    assert "Connection refused" in str(error.value)
    problem = writer.cleanup()
    assert problem is not None and problem.startswith(f"dns 127.0.0.1:{port} zone {ZONE}.: cannot delete this run's records")
    with pytest.raises(WriterError, match="cannot read"):
        writer.survivors()


def test_a_silent_server_fails_each_write_after_the_timeout_without_blocking_the_recorder():
    with silent_port() as port:
        writer = writer_for(DataWriter(kind="dns", target=f"127.0.0.1:{port}", zone=ZONE), {}, "run-1", timeout=0.5)
        an_outage_fails_writes_within_the_timeout(writer, 0.5, "no answer within 0.5s (trying to write")


def test_writes_resume_when_the_server_comes_back(zone: ZoneServer):
    writer = dns_writer(zone)
    write_some(writer, 2)
    port = zone.port
    zone.stop()
    with pytest.raises(WriterError):
        writer.write(3, time.time())
    with ZoneServer(port=port) as again:  # an empty zone: what was written before is lost
        writer.write(4, time.time())
        assert writer.survivors() == {4}
        assert again.port == port
