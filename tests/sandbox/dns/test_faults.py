"""The DNS fault functions and their rollbacks, judged by resolving (never by the server's own state)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import dns.exception
import dns.resolver
import pytest
from chaoslib.exceptions import ActivityFailed

from gamedays.faults.dns import records as faults
from gamedays.faults.local import resolver as resolver_faults
from gamedays.sandbox.dns import ZoneServer
from gamedays.sandbox.ports import free_tcp_udp_port
from tests.sandbox.dns.dnsclient import PG_PORT, ZONE, resolver

DB_SRV = f"0 0 {PG_PORT} pg-0.shop.internal."


def _resolve(zone: ZoneServer, name: str, rdtype: str) -> list[str]:
    try:
        return sorted(r.to_text() for r in resolver(zone).resolve(f"{name}.{ZONE}", rdtype))
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []


def test_remove_record_then_restore_from_the_backup_file(zone: ZoneServer, tmp_path: Path):
    backup = tmp_path / "state" / "db-srv.json"
    removed = faults.remove_record(zone.address, ZONE, "db", "SRV", backup=str(backup))
    assert removed["values"] == [DB_SRV] and removed["ttl"] == 1 and removed["name"] == "db.shop.internal."
    assert _resolve(zone, "db", "SRV") == []
    assert _resolve(zone, "db", "A") == ["127.0.0.1"]  # only the SRV went
    assert json.loads(backup.read_text())["values"] == [DB_SRV]
    restored = faults.restore_record(zone.address, ZONE, "db", "SRV", backup=str(backup))
    assert restored["values"] == [DB_SRV]
    assert _resolve(zone, "db", "SRV") == [DB_SRV]
    faults.restore_record(zone.address, ZONE, "db", "SRV", backup=str(backup))  # a rollback may run twice
    assert _resolve(zone, "db", "SRV") == [DB_SRV]


def test_restore_record_with_explicit_values(zone: ZoneServer):
    removed = faults.remove_record(zone.address, ZONE, "api.shop.internal")
    assert _resolve(zone, "api", "A") == []
    faults.restore_record(zone.address, ZONE, "api", "A", values=removed["values"], ttl=removed["ttl"])
    assert _resolve(zone, "api", "A") == ["127.0.0.1"]


def test_point_record_to_a_wrong_address_and_back(zone: ZoneServer, tmp_path: Path):
    backup = str(tmp_path / "pg0.json")
    previous = faults.point_record(zone.address, ZONE, "pg-0", "A", ["192.0.2.1"], backup=backup)
    assert previous["values"] == ["127.0.0.1"]
    assert _resolve(zone, "pg-0", "A") == ["192.0.2.1"]
    faults.restore_record(zone.address, ZONE, "pg-0", "A", backup=backup)
    assert _resolve(zone, "pg-0", "A") == ["127.0.0.1"]


def test_pointing_a_record_that_did_not_exist_is_undone_by_deleting_it(zone: ZoneServer, tmp_path: Path):
    backup = str(tmp_path / "ghost.json")
    faults.point_record(zone.address, ZONE, "ghost", "A", ["192.0.2.7"], backup=backup)
    assert _resolve(zone, "ghost", "A") == ["192.0.2.7"]
    faults.restore_record(zone.address, ZONE, "ghost", "A", backup=backup)
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver(zone).resolve(f"ghost.{ZONE}", "A")


def test_resolver_fault_slows_then_black_holes_then_clears(zone: ZoneServer):
    resolver_faults.resolver_fault(zone.address, ZONE, delay=0.4)
    started = time.monotonic()
    assert _resolve(zone, "api", "A") == ["127.0.0.1"]
    assert time.monotonic() - started >= 0.4
    resolver_faults.resolver_fault(zone.address, ZONE, drop=True)
    with pytest.raises(dns.exception.Timeout):
        resolver(zone, lifetime=0.5).resolve(f"api.{ZONE}", "A")
    resolver_faults.clear_resolver_fault(zone.address, ZONE)
    started = time.monotonic()
    assert _resolve(zone, "api", "A") == ["127.0.0.1"]
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda a: faults.remove_record(a, "example.com", "www"), "refused to answer for www.example.com. A: REFUSED"),
        (lambda a: resolver_faults.clear_resolver_fault(a, "example.com"), "refused to set the resolver fault in zone example.com.: NOTAUTH"),
        (lambda a: faults.point_record(a, ZONE, "www.example.com.", "A", ["192.0.2.1"]), "refused to answer for www.example.com. A: REFUSED"),
        (lambda a: faults.point_record(a, ZONE, "api", "MX", ["10 mx"]), "refused to set api.shop.internal. MX in zone shop.internal.: REFUSED"),
        (lambda a: faults.remove_record(a, ZONE, "nothing-here"), "nothing-here.shop.internal. has no A record"),
        (lambda a: resolver_faults.resolver_fault(a, ZONE, delay=31), "delay must be between 0 and 30 seconds"),
        (lambda a: faults.restore_record(a, ZONE, "api"), "needs the values to restore, or the backup file"),
        (lambda a: faults.restore_record(a, ZONE, "api", backup="/nonexistent/b.json"), "does not exist: the fault did not run"),
        (lambda a: faults.point_record(a, ZONE, "api", "A", ["not-an-ip"]), "bad A value"),
        (lambda a: faults.remove_record("localhost:notaport", ZONE, "api"), "is not host:port"),
    ],
)
def test_refusals_and_mistakes_raise_activity_failed_with_the_reason(zone: ZoneServer, call, message: str):
    before = zone.snapshot()
    with pytest.raises(ActivityFailed) as caught:
        call(zone.address)
    assert message in str(caught.value)
    assert zone.snapshot().records == before.records


def test_a_backup_of_another_record_is_not_restored_elsewhere(zone: ZoneServer, tmp_path: Path):
    backup = str(tmp_path / "db.json")
    faults.remove_record(zone.address, ZONE, "db", "SRV", backup=backup)
    with pytest.raises(ActivityFailed, match="holds db.shop.internal. SRV, not api.shop.internal. A"):
        faults.restore_record(zone.address, ZONE, "api", "A", backup=backup)


def test_an_unreachable_server_fails_fast_with_its_address():
    address = f"127.0.0.1:{free_tcp_udp_port()}"
    with pytest.raises(ActivityFailed, match=f"cannot reach DNS server {address}"):
        faults.remove_record(address, ZONE, "db", "SRV", timeout=1.0)


def test_a_chaos_toolkit_experiment_removes_and_rolls_back_the_record(zone: ZoneServer, tmp_path: Path):
    """The functions as Chaos Toolkit runs them: ``chaos run`` in its own process, python providers."""
    backup = str(tmp_path / "db-srv.json")
    args = {"server": zone.address, "zone": ZONE, "name": "db", "rdtype": "SRV", "backup": backup}
    experiment = {
        "version": "1.0.0",
        "title": "The shop survives losing its database record",
        "description": "remove db SRV, then roll back",
        "method": [
            {"type": "action", "name": "remove-db-record",
             "provider": {"type": "python", "module": "gamedays.faults.dns.records", "func": "remove_record", "arguments": args}},
        ],
        "rollbacks": [
            {"type": "action", "name": "restore-db-record",
             "provider": {"type": "python", "module": "gamedays.faults.dns.records", "func": "restore_record", "arguments": args}},
        ],
    }  # fmt: skip
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(experiment))
    chaos = Path(sys.executable).with_name("chaos")
    result = subprocess.run(
        [str(chaos), "--no-version-check", "--log-file", str(tmp_path / "chaos.log"), "--settings", str(tmp_path / "settings.yaml"),
         "run", "--journal-path", str(tmp_path / "journal.json"), str(path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["status"] == "completed"
    assert journal["run"][0]["status"] == "succeeded" and journal["run"][0]["output"]["values"] == [DB_SRV]
    assert journal["rollbacks"][0]["status"] == "succeeded"
    assert json.loads(Path(backup).read_text())["values"] == [DB_SRV]  # the fault really ran in that process
    assert _resolve(zone, "db", "SRV") == [DB_SRV]
