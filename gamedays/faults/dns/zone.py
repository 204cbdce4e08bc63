"""DNS disaster recovery: back a zone up, lose its records, restore them from the backup.

The DNS playbook's disaster is "the zone's records are gone": every record set but the
apex SOA and NS is deleted (:func:`delete_zone_records`); the recovery puts the zone back
as :func:`backup_zone` saved it before the disaster (:func:`restore_zone`).

    backup                                  disaster                          recovery
    backup_zone(server, zone, path)         delete_zone_records(server, zone) restore_zone(server, zone, path)

The zone is read with a zone transfer (AXFR over TCP). A server that does not allow one
can still be handled when the caller names the owner
names to cover (``names``: relative to the zone, or absolute): each is then read with an
ANY query, which the sandbox answers with every record set of the name. Changes go out as
one RFC 2136 update each (all or nothing), through the helpers of
:mod:`gamedays.faults.dns.records` (``server`` is ``"host:port"``, TCP). The transfer and the updates
are signed with the TSIG key ``tsig_key`` names when the environment holds it
(``env:DNS_TSIG_KEY`` by default, :mod:`gamedays.model.tsig`).

The backup is JSON, written atomically: ``{"zone", "server", "taken_at", "method",
"records": [{"name", "rdtype", "ttl", "values"}]}``, names absolute, values in
presentation format. Failures raise chaoslib's ``ActivityFailed`` naming the server, the
zone and what is expected.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.update
import dns.xfr
import dns.zone
from chaoslib.exceptions import ActivityFailed

from gamedays.atomicfile import write_atomically
from gamedays.faults.dns import records as dns_faults
from gamedays.model.dnsrecords import RecordSet
from gamedays.model.reach import Reach, acts_on
from gamedays.model.tsig import DEFAULT_REFERENCE, exchange_problem

__all__ = ["backup_zone", "delete_zone_records", "restore_zone"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 3.0
FORMAT = "gameday-zone-backup/1"
_KEPT = (dns.rdatatype.SOA, dns.rdatatype.NS)  # at the apex: what the disaster leaves and the restore never touches


@acts_on(Reach.RFC2136)
def backup_zone(
    server: str,
    zone: str,
    path: str,
    names: list[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    tsig_key: str = DEFAULT_REFERENCE,
) -> dict[str, Any]:
    """Save every record set of ``zone`` on ``server`` to ``path`` (JSON, atomically); returns a summary.

    ``method`` says how the zone was read: ``axfr``, or ``names`` (the server refused a
    transfer and ``names`` were read one by one).
    """
    origin = _origin(zone)
    method, records = _read_zone(server, origin, names, float(timeout), tsig_key)
    data = {
        "format": FORMAT, "zone": origin.to_text(), "server": server, "taken_at": time.time(), "method": method,
        "records": [r.as_json() for r in records],
    }  # fmt: skip
    try:
        write_atomically(Path(path), json.dumps(data, indent=2) + "\n")
    except OSError as exc:
        raise ActivityFailed(f"cannot write the zone backup {path}: {exc.strerror or exc}") from None
    logger.info("backed up %d record set(s) of %s from %s to %s (%s)", len(records), origin, server, path, method)
    return {"zone": origin.to_text(), "path": str(path), "method": method, "record_sets": len(records)}


@acts_on(Reach.RFC2136)
def delete_zone_records(
    server: str,
    zone: str,
    names: list[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    tsig_key: str = DEFAULT_REFERENCE,
) -> dict[str, Any]:
    """The disaster: delete every record set of ``zone`` but the apex SOA and NS, in one update. Returns what went."""
    origin = _origin(zone)
    _method, records = _read_zone(server, origin, names, float(timeout), tsig_key)
    doomed = [r for r in records if not _kept(r, origin)]
    if doomed:
        update = dns.update.UpdateMessage(origin)
        for record in doomed:
            update.delete(dns.name.from_text(record.name), record.rdtype)
        dns_faults.send_update(server, origin.to_text(), update, f"delete {len(doomed)} record set(s)", float(timeout), tsig_key)
    logger.info("deleted %d record set(s) of %s on %s", len(doomed), origin, server)
    return {"zone": origin.to_text(), "deleted": [f"{r.name} {r.rdtype}" for r in doomed]}


@acts_on(Reach.RFC2136)
def restore_zone(
    server: str,
    zone: str,
    path: str,
    names: list[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    tsig_key: str = DEFAULT_REFERENCE,
) -> dict[str, Any]:
    """Make ``zone`` on ``server`` hold exactly what the backup at ``path`` holds (SOA aside). Idempotent.

    Record sets not in the backup are deleted, the backup's are put back with their TTLs,
    all in one update; the zone is then read again and checked against the backup.
    Returns the record sets ``restored`` (changed or re-created), ``removed`` and ``unchanged``.
    """
    origin = _origin(zone)
    saved = _read_backup(Path(path), origin)
    covered = sorted({r.name for r in saved} | set(names or ()))
    _method, current = _read_zone(server, origin, covered, float(timeout), tsig_key)
    wanted = {r.key: r for r in saved if r.rdtype != "SOA"}
    present = {r.key: r for r in current if r.rdtype != "SOA"}
    update = dns.update.UpdateMessage(origin)
    removed = [key for key in present if key not in wanted and not _kept(present[key], origin)]
    for name, rdtype in removed:
        update.delete(dns.name.from_text(name), rdtype)
    restored = [key for key, record in wanted.items() if present.get(key) != record]
    for key in restored:
        record = wanted[key]
        try:
            update.replace(dns.name.from_text(record.name), record.ttl, record.rdtype, *record.values)
        except (dns.exception.DNSException, ValueError) as exc:
            raise ActivityFailed(f"zone backup {path}: bad {record.rdtype} value in {list(record.values)}: {exc}") from None
    if removed or restored:
        dns_faults.send_update(server, origin.to_text(), update, f"restore zone {origin} from {path}", float(timeout), tsig_key)
    _check_restored(server, origin, covered, wanted, float(timeout), tsig_key)
    logger.info("restored %s on %s from %s: %d put back, %d removed", origin, server, path, len(restored), len(removed))
    return {
        "zone": origin.to_text(),
        "restored": [f"{n} {t}" for n, t in restored],
        "removed": [f"{n} {t}" for n, t in removed],
        "unchanged": len(wanted) - len(restored),
    }


def _holds(found: RecordSet | None, restored: RecordSet) -> bool:
    """The server holds the restored record set: exactly, or for TXT with more values added since.

    A TXT set may grow while the zone is restored (an RPO writer keeps stamping writes into
    it); every other type must be exactly what the backup held.
    """
    if found is None or found.ttl != restored.ttl:
        return False
    if restored.rdtype == "TXT":
        return set(restored.values) <= set(found.values)
    return found == restored


def _check_restored(
    server: str,
    origin: dns.name.Name,
    names: list[str],
    wanted: dict[tuple[str, str], RecordSet],
    timeout: float,
    tsig_key: str | None,
) -> None:
    _method, after = _read_zone(server, origin, names, timeout, tsig_key)
    found = {r.key: r for r in after}
    wrong = [f"{n} {t}" for (n, t), record in wanted.items() if not _holds(found.get((n, t)), record)]
    if wrong:
        raise ActivityFailed(f"DNS server {server} does not hold what was restored to {origin}: {', '.join(sorted(wrong))}")


def _read_zone(
    server: str, origin: dns.name.Name, names: list[str] | None, timeout: float, tsig_key: str | None
) -> tuple[str, list[RecordSet]]:
    """("axfr" | "names", every record set of the zone), by zone transfer, else by the ANY records of ``names``."""
    key = dns_faults.signing_key(tsig_key)
    host, port = dns_faults.server_address(server)
    transferred = dns.zone.Zone(origin, relativize=False)
    query = dns.message.make_query(origin, dns.rdatatype.AXFR)
    if key is not None:
        key.sign(query)
    try:
        dns.query.inbound_xfr(host, transferred, query=query, port=port, timeout=timeout, lifetime=timeout * 5)
    except dns.xfr.TransferError as exc:
        if names is None:
            raise ActivityFailed(
                f"DNS server {server} refused a zone transfer (AXFR) of {origin}: {dns.rcode.to_text(exc.rcode)}; "
                "allow AXFR from this host, or give the owner names to cover as names=[...]"
            ) from None
        logger.info("no AXFR of %s from %s (%s): reading %d name(s)", origin, server, dns.rcode.to_text(exc.rcode), len(names))
        return "names", _read_names(server, origin, names, timeout)
    except dns.exception.Timeout:
        raise ActivityFailed(f"DNS server {server} did not answer a zone transfer of {origin} within {timeout * 5:g}s") from None
    except (OSError, EOFError, dns.exception.DNSException) as exc:
        problem = exchange_problem(exc, key)
        if problem is not None:
            raise ActivityFailed(f"DNS server {server}, zone transfer of {origin}: {problem}") from None
        raise ActivityFailed(f"cannot reach DNS server {server} for a zone transfer of {origin}: {exc}") from None
    records = []
    for name, node in transferred.nodes.items():
        for rdataset in node.rdatasets:
            records.append(_record(name, rdataset))
    return "axfr", sorted(records)


def _read_names(server: str, origin: dns.name.Name, names: list[str], timeout: float) -> list[RecordSet]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ActivityFailed(f"names must be a list of owner names in {origin}, got {names!r}")
    owners = {origin} | {dns.name.from_text(dns_faults.absolute_name(n, origin.to_text())) for n in names}
    records: list[RecordSet] = []
    for owner in sorted(owners):
        if not owner.is_subdomain(origin):
            raise ActivityFailed(f"{owner} is not in zone {origin}: names must be owner names inside the zone")
        query = dns.message.make_query(owner, dns.rdatatype.ANY)
        response = dns_faults.exchange(server, origin.to_text(), query, f"read {owner} ANY", timeout)
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            continue
        if rcode != dns.rcode.NOERROR:
            raise ActivityFailed(
                f"DNS server {server} refused to answer for {owner}: {dns.rcode.to_text(rcode)}; "
                f"is it authoritative for the zone {origin}?"
            )
        records.extend(_record(owner, rrset) for rrset in response.answer if rrset.name == owner)
    return sorted(records)


def _record(name: dns.name.Name, rdataset: Any) -> RecordSet:
    values = tuple(sorted(rdata.to_text() for rdata in rdataset))
    return RecordSet(name.canonicalize().to_text(), dns.rdatatype.to_text(rdataset.rdtype), int(rdataset.ttl), values)


def _kept(record: RecordSet, origin: dns.name.Name) -> bool:
    return record.name == origin.to_text() and dns.rdatatype.from_text(record.rdtype) in _KEPT


def _origin(zone: str) -> dns.name.Name:
    if not isinstance(zone, str) or not zone.strip() or zone.strip() == ".":
        raise ActivityFailed(f"zone must be a DNS zone name such as 'shop.internal', got {zone!r}")
    try:
        return dns.name.from_text(zone.strip()).canonicalize()
    except dns.exception.DNSException as exc:
        raise ActivityFailed(f"zone {zone!r} is not a DNS name: {exc}") from None


def _read_backup(path: Path, origin: dns.name.Name) -> list[RecordSet]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ActivityFailed(
            f"zone backup {path} does not exist: take one with backup_zone before the disaster"
        ) from None
    except (OSError, ValueError) as exc:
        raise ActivityFailed(f"cannot read the zone backup {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("records"), list):
        raise ActivityFailed(f"{path} is not a zone backup written by gamedays.faults.dns.zone.backup_zone")
    if data.get("zone") != origin.to_text():
        raise ActivityFailed(f"zone backup {path} holds the zone {data.get('zone')}, not {origin}")
    try:
        return [
            RecordSet(str(r["name"]), str(r["rdtype"]), int(r["ttl"]), tuple(str(v) for v in r["values"]))
            for r in data["records"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise ActivityFailed(f"zone backup {path} has a malformed record ({exc}); take a new backup") from None
