"""TSIG end to end: a DNS server that takes updates and zone transfers signed with its key only.

The faults, the zone backup and restore and the RPO writer sign with the key their
reference names (``env:DNS_TSIG_KEY`` by default), read from the environment; judged by
what the server answers afterwards, never by what the functions return.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import dns.message
import dns.query
import dns.rdatatype
import pytest
from chaoslib.exceptions import ActivityFailed

from gamedays.faults.dns import records as faults
from gamedays.faults.dns import zone as dnszone
from gamedays.model.playbook import DataWriter
from gamedays.model.tsig import TsigKey
from gamedays.sandbox.dns import ZoneServer, default_records
from gamedays.sandbox.ports import LOOPBACK
from gamedays.sli.writers import WriterError, writer_for
from tests.sandbox.dns.dnsclient import PG_PORT, ZONE

SECRET = base64.b64encode(b"the sandbox test key, not a secret").decode()  # fixed: xdist workers must collect the same ids
KEY = TsigKey("gameday-key", "hmac-sha256", SECRET)
DB_SRV = f"0 0 {PG_PORT} pg-0.shop.internal."


@pytest.fixture
def keyed() -> Iterator[ZoneServer]:
    """The sandbox zone on a server that requires KEY for updates and transfers."""
    server = ZoneServer(records=default_records(PG_PORT), tsig_key=KEY).start()
    yield server
    server.stop()


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DNS_TSIG_KEY", raising=False)


@pytest.fixture
def with_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DNS_TSIG_KEY", f"hmac-sha256:gameday-key:{SECRET}")


def answered(server: ZoneServer, name: str, rdtype: str) -> list[str]:
    """What any client asking the server sees now."""
    response = dns.query.tcp(dns.message.make_query(f"{name}.{ZONE}.", rdtype), LOOPBACK, port=server.port, timeout=2)
    kind = dns.rdatatype.from_text(rdtype)
    return sorted(r.to_text() for rrset in response.answer if rrset.rdtype == kind for r in rrset)


def test_a_signed_fault_and_its_signed_rollback_change_what_the_server_answers(keyed: ZoneServer, with_key, tmp_path):
    backup = str(tmp_path / "db.json")
    faults.remove_record(keyed.address, ZONE, "db", "SRV", backup=backup)
    assert answered(keyed, "db", "SRV") == []
    faults.restore_record(keyed.address, ZONE, "db", "SRV", backup=backup)
    assert answered(keyed, "db", "SRV") == [DB_SRV]


def test_an_unsigned_update_is_refused_and_the_error_says_which_variable_to_set(keyed: ZoneServer, no_key):
    with pytest.raises(ActivityFailed) as failed:
        faults.point_record(keyed.address, ZONE, "pg-0", "A", ["192.0.2.1"])
    assert str(failed.value) == (
        f"DNS server {keyed.address} refused to set pg-0.shop.internal. A in zone shop.internal.: REFUSED "
        "(the update was unsigned: if the server requires a TSIG key, set DNS_TSIG_KEY to "
        "[algorithm:]name:secret (as nsupdate -y takes it), the secret in base64)"
    )
    assert answered(keyed, "pg-0", "A") == ["127.0.0.1"]


def test_a_wrong_secret_is_refused_without_the_secret_in_the_message(keyed: ZoneServer, monkeypatch):
    wrong = base64.b64encode(b"not the server's secret, 32 bytes").decode()
    monkeypatch.setenv("DNS_TSIG_KEY", f"gameday-key:{wrong}")
    with pytest.raises(ActivityFailed) as failed:
        faults.point_record(keyed.address, ZONE, "pg-0", "A", ["192.0.2.1"])
    message = str(failed.value)
    assert message == (
        f"DNS server {keyed.address} (trying to set pg-0.shop.internal. A): the server's answer does not carry "
        "a valid signature with TSIG key gameday-key: it does not know the key, or the secret differs"
    )
    assert wrong not in message and SECRET not in message
    assert answered(keyed, "pg-0", "A") == ["127.0.0.1"]


def test_a_reference_of_its_own_names_another_variable(keyed: ZoneServer, no_key, monkeypatch, tmp_path):
    monkeypatch.setenv("ZONE_UPDATE_KEY", f"gameday-key:{SECRET}")
    backup = str(tmp_path / "pg0.json")
    faults.point_record(keyed.address, ZONE, "pg-0", "A", ["192.0.2.1"], backup=backup, tsig_key="env:ZONE_UPDATE_KEY")
    assert answered(keyed, "pg-0", "A") == ["192.0.2.1"]
    faults.restore_record(keyed.address, ZONE, "pg-0", "A", backup=backup, tsig_key="env:ZONE_UPDATE_KEY")
    assert answered(keyed, "pg-0", "A") == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("gameday-key", "the TSIG key in DNS_TSIG_KEY is not [algorithm:]name:secret (as nsupdate -y takes it), the secret in base64"),
        (f"hmac-sha3:gameday-key:{SECRET}", "the TSIG key in DNS_TSIG_KEY names algorithm 'hmac-sha3'; allowed: hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5"),
        ("gameday-key:not*base64", "the secret of the TSIG key in DNS_TSIG_KEY is not base64: expected [algorithm:]name:secret (as nsupdate -y takes it), the secret in base64"),
    ],
)
def test_an_unusable_key_is_named_by_its_variable_and_nothing_is_sent(keyed: ZoneServer, monkeypatch, value, expected):
    monkeypatch.setenv("DNS_TSIG_KEY", value)
    with pytest.raises(ActivityFailed) as failed:
        faults.remove_record(keyed.address, ZONE, "db", "SRV")
    assert str(failed.value) == expected
    assert answered(keyed, "db", "SRV") == [DB_SRV]


def test_a_key_written_in_place_of_its_reference_is_refused_and_not_echoed(keyed: ZoneServer, no_key):
    with pytest.raises(ActivityFailed) as failed:
        faults.remove_record(keyed.address, ZONE, "db", "SRV", tsig_key=f"gameday-key:{SECRET}")
    assert str(failed.value) == "tsig_key must be a reference such as env:DNS_TSIG_KEY (the key itself is never written down)"
    assert answered(keyed, "db", "SRV") == [DB_SRV]


def test_the_zone_is_backed_up_lost_and_restored_over_signed_transfers_and_updates(keyed: ZoneServer, with_key, tmp_path):
    backup = tmp_path / "zone.json"
    taken = dnszone.backup_zone(keyed.address, ZONE, str(backup))
    assert taken["method"] == "axfr"
    assert {"name": f"db.{ZONE}.", "rdtype": "SRV"}.items() <= next(
        r for r in json.loads(backup.read_text())["records"] if r["rdtype"] == "SRV"
    ).items()
    dnszone.delete_zone_records(keyed.address, ZONE)
    assert answered(keyed, "db", "SRV") == [] and answered(keyed, "pg-0", "A") == []
    dnszone.restore_zone(keyed.address, ZONE, str(backup))
    assert answered(keyed, "db", "SRV") == [DB_SRV] and answered(keyed, "pg-0", "A") == ["127.0.0.1"]


def test_an_unsigned_zone_transfer_is_refused(keyed: ZoneServer, no_key, tmp_path):
    with pytest.raises(ActivityFailed) as failed:
        dnszone.backup_zone(keyed.address, ZONE, str(tmp_path / "zone.json"))
    assert str(failed.value) == (
        f"DNS server {keyed.address} refused a zone transfer (AXFR) of shop.internal.: REFUSED; "
        "allow AXFR from this host, or give the owner names to cover as names=[...]"
    )
    assert not (tmp_path / "zone.json").exists()


def test_the_rpo_writer_signs_its_writes_and_its_cleanup(keyed: ZoneServer, with_key):
    spec = DataWriter(kind="dns", target="${SANDBOX_DNS}", zone=ZONE)
    writer = writer_for(spec, {"SANDBOX_DNS": keyed.address, "DNS_TSIG_KEY": f"gameday-key:{SECRET}"}, "run-tsig")
    writer.prepare()
    for seq in (1, 2, 3):
        writer.write(seq, 0.0)
    assert writer.survivors() == {1, 2, 3}
    assert writer.secrets == (SECRET,)  # scrubbed from every error the recorder keeps
    assert writer.cleanup() is None
    assert writer.survivors() == set()


def test_an_unsigned_rpo_writer_is_refused_with_the_hint(keyed: ZoneServer):
    spec = DataWriter(kind="dns", target="${SANDBOX_DNS}", zone=ZONE, tsig_key="env:WRITER_KEY")
    writer = writer_for(spec, {"SANDBOX_DNS": keyed.address}, "run-tsig")
    with pytest.raises(WriterError) as failed:
        writer.write(1, 0.0)
    assert str(failed.value) == (
        f"dns {keyed.address} zone shop.internal.: the server refused to write 1: REFUSED "
        "(the update was unsigned: if the server requires a TSIG key, set WRITER_KEY to "
        "[algorithm:]name:secret (as nsupdate -y takes it), the secret in base64)"
    )
