"""The hosted zone's record sets are the sandbox DNS zone's records: what changes in Route53 changes what DNS answers.

On attach, the sandbox zone's records are written into the hosted zone, so both hold the same
names: ``db`` (SRV and A), ``pg-0``, ``pg-1``, ``api``, ``ns1``. Route53's own apex SOA and NS
are left as they are, and so is the sandbox zone's apex. Then, after each accepted
``ChangeResourceRecordSets`` on that zone (the endpoint's trail tells the worker), the hosted
zone's record sets are listed and compared with the last listing; each record set that changed
is written to the sandbox DNS with an RFC 2136 update (:mod:`gamedays.faults.dns.records`), the way any
client changes it. A record set the sandbox DNS cannot serve (an alias, a routing policy) is
reported in the log and skipped. Changes made straight to the sandbox DNS are not copied back,
except the writer endpoint's moves, which the Aurora twin reports (:meth:`Route53Twin.mirror`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gamedays.model.dnsrecords import RecordSet

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (absolute lower-case name, type)


@dataclass(frozen=True)
class RecordValues:
    """What a record set holds, compared between listings."""

    ttl: int
    values: tuple[str, ...]


class Route53Twin:
    """Makes the sandbox DNS follow the hosted zone's record sets."""

    def __init__(self, hosted_zone_id: str, zone: str, dns_server: str, route53: Any) -> None:
        self._hosted_zone_id = hosted_zone_id
        self._zone = _absolute(zone)
        self._dns_server = dns_server
        self._route53 = route53
        self._seen: dict[Key, RecordValues] = {}
        self._skipped: set[Key] = set()

    @property
    def hosted_zone_id(self) -> str:
        return self._hosted_zone_id

    def attach(self, records: Sequence[RecordSet]) -> None:
        """Write the sandbox zone's ``records`` into the hosted zone; take what it then holds as seen."""
        changes = [
            _change("UPSERT", (_absolute(r.name), r.rdtype.upper()), RecordValues(r.ttl, r.values))
            for r in records
            if self._mirrored((_absolute(r.name), r.rdtype.upper()))
        ]
        if changes:
            self._route53.change_resource_record_sets(
                HostedZoneId=self._hosted_zone_id,
                ChangeBatch={"Comment": "gameday twin: the sandbox DNS zone's records", "Changes": changes},
            )
        self._seen = self._listed()
        log.info("hosted zone %s holds the %d record sets of %s", self._hosted_zone_id, len(self._seen), self._zone)

    def reconcile(self) -> None:
        """Every record set changed in Route53 since the last listing is written to the sandbox DNS."""
        from gamedays.faults.dns import (
            records as dns_faults,  # dnspython: loaded at the first change, not at attach
        )

        now = self._listed()
        for key in sorted(set(now) | set(self._seen)):
            before, after = self._seen.get(key), now.get(key)
            if before == after:
                continue
            name, rdtype = key
            try:
                if after is None:
                    dns_faults.remove_record(self._dns_server, self._zone, name, rdtype)
                    log.info("Route53 deleted %s %s: removed from the sandbox DNS", name, rdtype)
                else:
                    values = list(after.values)
                    dns_faults.point_record(self._dns_server, self._zone, name, rdtype, values, ttl=after.ttl)
                    log.info("Route53 set %s %s to %s: the sandbox DNS answers it", name, rdtype, values)
            except Exception as exc:  # noqa: BLE001 - one record the sandbox DNS refuses must not stop the others
                log.error("the sandbox DNS did not take Route53's %s %s: %s", name, rdtype, exc)
            if after is None:
                self._seen.pop(key, None)
            else:
                self._seen[key] = after  # not retried: the same refusal would come back on the next change

    def mirror(self, name: str, rdtype: str, values: Sequence[str], ttl: int) -> None:
        """A change the twin itself made to the sandbox DNS, written to Route53 too (and not played back)."""
        key = (_absolute(name), rdtype.upper())
        wanted = RecordValues(ttl, tuple(values))
        self._route53.change_resource_record_sets(
            HostedZoneId=self._hosted_zone_id,
            ChangeBatch={"Comment": "gameday twin: the writer endpoint moved", "Changes": [_change("UPSERT", key, wanted)]},
        )
        self._seen[key] = wanted

    def _mirrored(self, key: Key) -> bool:
        """Route53 keeps its own apex SOA and NS; the sandbox keeps its own."""
        name, rdtype = key
        return not (rdtype == "SOA" or (rdtype == "NS" and name == self._zone))

    def _listed(self) -> dict[Key, RecordValues]:
        found: dict[Key, RecordValues] = {}
        pages = self._route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=self._hosted_zone_id)
        for page in pages:
            for rrset in page["ResourceRecordSets"]:
                key = (_absolute(rrset["Name"]), str(rrset["Type"]).upper())
                if not self._mirrored(key):
                    continue
                if "ResourceRecords" not in rrset or "SetIdentifier" in rrset:
                    if key not in self._skipped:
                        log.warning("%s %s is an alias or has a routing policy: the sandbox DNS cannot serve it", *key)
                        self._skipped.add(key)
                    continue
                values = tuple(str(r["Value"]) for r in rrset["ResourceRecords"])
                found[key] = RecordValues(int(rrset.get("TTL", 0)), values)
        return found


def _change(action: str, key: Key, record: RecordValues) -> dict[str, Any]:
    name, rdtype = key
    return {
        "Action": action,
        "ResourceRecordSet": {
            "Name": name, "Type": rdtype, "TTL": record.ttl, "ResourceRecords": [{"Value": v} for v in record.values],
        },
    }  # fmt: skip


def _absolute(name: str) -> str:
    lowered = name.strip().lower().replace("\\052", "*")
    return lowered if lowered.endswith(".") else lowered + "."
