"""One immutable version of a zone's content, and the rules every version must satisfy.

The zone is published as a new :class:`ZoneState` on every change (copy-on-write), so
query threads read a consistent zone without locks while a change is being made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from gamedays.sandbox.dns.records import DEFAULT_TTL, NAMESERVER_LABEL, RecordSet, ResolverFault

SOA, NS, A, CNAME, TXT = (dns.rdatatype.SOA, dns.rdatatype.NS, dns.rdatatype.A, dns.rdatatype.CNAME, dns.rdatatype.TXT)


@dataclass(frozen=True)
class Entry:
    """The records of one (name, type): one TTL for the set, rdata in insertion order."""

    ttl: int
    rdatas: tuple[dns.rdata.Rdata, ...]


Key = tuple[dns.name.Name, dns.rdatatype.RdataType]
Entries = Mapping[Key, Entry]


@dataclass(frozen=True)
class ZoneState:
    """One published version of the zone; never changed after publication."""

    origin: dns.name.Name
    entries: Entries
    serial: int
    fault: ResolverFault

    def soa(self) -> Entry:
        """The SOA of the apex, made from the serial (negative answers are cached for 1 s at most)."""
        ns = dns.name.Name((NAMESERVER_LABEL.encode(),)).concatenate(self.origin)
        text = f"{ns} hostmaster.{self.origin} {self.serial} 60 10 3600 {DEFAULT_TTL}"
        return Entry(DEFAULT_TTL, (dns.rdata.from_text(dns.rdataclass.IN, SOA, text),))

    def at(self, name: dns.name.Name) -> dict[dns.rdatatype.RdataType, Entry]:
        """Every record set owned by ``name``, the SOA included at the apex."""
        found = {rdtype: entry for (owner, rdtype), entry in self.entries.items() if owner == name}
        if name == self.origin:
            found[SOA] = self.soa()
        return found

    def name_exists(self, name: dns.name.Name) -> bool:
        """True when ``name`` owns records or has names below it (an empty non-terminal)."""
        return name == self.origin or any(owner.is_subdomain(name) for owner, _ in self.entries)


def check_entries(entries: Entries, origin: dns.name.Name, fault_name: dns.name.Name) -> str | None:
    """What makes ``entries`` an invalid zone (a CNAME beside other data, a bad fault record), or None."""
    types_by_name: dict[dns.name.Name, set[dns.rdatatype.RdataType]] = {}
    for name, kind in entries:
        types_by_name.setdefault(name, set()).add(kind)
    for name, kinds in types_by_name.items():
        if CNAME in kinds and (len(kinds) > 1 or name == origin):
            return f"{name} has a CNAME, so it cannot have other records"
        if CNAME in kinds and len(entries[(name, CNAME)].rdatas) > 1:
            return f"{name} has more than one CNAME"
        if name == fault_name and kinds != {TXT}:
            return f"{name} is reserved for the resolver fault and holds one TXT record set only"
    if (origin, NS) not in entries:
        return f"the apex {origin} needs an NS record"
    try:
        fault_of(entries, fault_name)
    except ValueError as exc:
        return f"bad resolver fault in {fault_name} TXT: {exc}"
    return None


def fault_of(entries: Entries, fault_name: dns.name.Name) -> ResolverFault:
    """The resolver fault that the TXT record of ``fault_name`` sets (no record: no fault)."""
    entry = entries.get((fault_name, TXT))
    if entry is None:
        return ResolverFault()
    strings = [part.decode("utf-8", "replace") for rdata in entry.rdatas for part in rdata.strings]  # type: ignore[attr-defined]
    return ResolverFault.from_txt_strings(strings)


def to_record_set(name: dns.name.Name, kind: dns.rdatatype.RdataType, entry: Entry) -> RecordSet:
    return RecordSet(name.to_text(), dns.rdatatype.to_text(kind), entry.ttl, tuple(r.to_text() for r in entry.rdatas))
