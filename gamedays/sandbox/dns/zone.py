"""The live, thread-safe content of one zone: record sets, SOA serial and resolver fault.

Copy-on-write: a change is made on a private copy under a lock and then published
as a new immutable :class:`ZoneState` in one assignment, so the threads answering
queries read a consistent zone without taking the lock, and an RFC 2136 update is
applied all-or-nothing.
"""

from __future__ import annotations

import logging
import threading
from types import MappingProxyType
from typing import Callable, Iterable

import dns.name
import dns.rcode
import dns.rdatatype
import dns.update

from gamedays.sandbox.dns.records import (
    DEFAULT_TTL,
    FAULT_LABEL,
    NAMESERVER_LABEL,
    RecordSet,
    ResolverFault,
    ZoneSnapshot,
    absolute_name,
    check_ttl,
    parse_values,
    rdtype_of,
    zone_origin,
)
from gamedays.sandbox.dns.state import A, NS, SOA, TXT, Entry, Key, ZoneState, check_entries, fault_of, to_record_set
from gamedays.sandbox.dns.update import apply_update
from gamedays.sandbox.ports import LOOPBACK

logger = logging.getLogger(__name__)


class Zone:
    """The records of one zone, changed from Python or by RFC 2136 updates, read by query threads."""

    def __init__(self, zone: str, records: Iterable[RecordSet] = ()) -> None:
        self.origin = zone_origin(zone)
        self.fault_name = dns.name.from_text(FAULT_LABEL, origin=self.origin).canonicalize()
        entries: dict[Key, Entry] = {}
        for item in records:
            name = self._inside(item.name)
            kind = rdtype_of(item.rdtype)
            if kind == SOA:
                continue  # the SOA is made from the serial, never stored
            entries[(name, kind)] = Entry(check_ttl(item.ttl), parse_values(kind, item.values, self.origin))
        if (self.origin, NS) not in entries:
            ns = dns.name.from_text(NAMESERVER_LABEL, origin=self.origin)
            entries[(self.origin, NS)] = Entry(DEFAULT_TTL, parse_values(NS, [ns.to_text()], self.origin))
            entries.setdefault((ns, A), Entry(DEFAULT_TTL, parse_values(A, [LOOPBACK], self.origin)))
        problem = check_entries(entries, self.origin, self.fault_name)
        if problem is not None:
            raise ValueError(problem)
        self._lock = threading.Lock()
        self._state = ZoneState(self.origin, MappingProxyType(entries), 1, fault_of(entries, self.fault_name))

    @property
    def state(self) -> ZoneState:
        return self._state

    def snapshot(self) -> ZoneSnapshot:
        state = self._state
        records = [to_record_set(name, kind, entry) for (name, kind), entry in state.entries.items()]
        records.append(to_record_set(state.origin, SOA, state.soa()))
        return ZoneSnapshot(state.origin.to_text(), state.serial, tuple(sorted(records)), state.fault)

    def set_records(self, name: str, rdtype: str, values: Iterable[str], ttl: int = DEFAULT_TTL) -> RecordSet:
        """Replace the record set of ``name``/``rdtype`` with ``values``; returns it in canonical form."""
        owner, kind = self._inside(name), rdtype_of(rdtype)
        if kind == SOA:
            raise ValueError("the SOA is managed by the server (its serial grows on every change)")
        rdatas = parse_values(kind, list(values), self.origin)
        if not rdatas:
            raise ValueError(f"no values for {owner} {rdtype.upper()}: use remove_records() to delete records")
        entry = Entry(check_ttl(ttl), rdatas)

        def change(entries: dict[Key, Entry]) -> None:
            entries[(owner, kind)] = entry

        self._commit(change)
        return to_record_set(owner, kind, entry)

    def remove_records(self, name: str, rdtype: str | None = None) -> tuple[RecordSet, ...]:
        """Remove the record set of ``name``/``rdtype`` (every type when None); returns what was removed."""
        owner = self._inside(name)
        kind = rdtype_of(rdtype) if rdtype is not None else None
        if owner == self.origin and kind in (SOA, NS):
            raise ValueError(f"the apex {dns.rdatatype.to_text(kind)} records cannot be removed")
        removed: list[RecordSet] = []

        def change(entries: dict[Key, Entry]) -> None:
            for key in [k for k in entries if k[0] == owner and (kind is None or k[1] == kind)]:
                if key == (self.origin, NS):
                    continue  # removing every type at the apex keeps its NS
                removed.append(to_record_set(key[0], key[1], entries.pop(key)))

        self._commit(change)
        return tuple(sorted(removed))

    def set_fault(self, fault: ResolverFault) -> None:
        """Publish ``fault`` as the TXT record of the reserved fault name (removed when inactive)."""
        rdatas = parse_values(TXT, [fault.to_txt()], self.origin)

        def change(entries: dict[Key, Entry]) -> None:
            if fault.active:
                entries[(self.fault_name, TXT)] = Entry(DEFAULT_TTL, rdatas)
            else:
                entries.pop((self.fault_name, TXT), None)

        self._commit(change)

    def apply_update(self, message: dns.update.UpdateMessage) -> dns.rcode.Rcode:
        """Apply an RFC 2136 update all-or-nothing; returns the response code."""
        with self._lock:
            state = self._state
            entries = dict(state.entries)
            rcode = apply_update(message, state, entries)
            if rcode != dns.rcode.NOERROR:
                return rcode
            problem = check_entries(entries, self.origin, self.fault_name)
            if problem is not None:
                logger.warning("refused DNS update: %s", problem)
                return dns.rcode.REFUSED
            self._publish(state, entries)
            return dns.rcode.NOERROR

    def _commit(self, change: Callable[[dict[Key, Entry]], None]) -> None:
        with self._lock:
            state = self._state
            entries = dict(state.entries)
            change(entries)
            problem = check_entries(entries, self.origin, self.fault_name)
            if problem is not None:
                raise ValueError(problem)
            self._publish(state, entries)

    def _publish(self, state: ZoneState, entries: dict[Key, Entry]) -> None:
        if entries == dict(state.entries):
            return
        fault = fault_of(entries, self.fault_name)
        self._state = ZoneState(self.origin, MappingProxyType(entries), state.serial + 1, fault)
        logger.debug("zone %s now at serial %d", self.origin, state.serial + 1)

    def _inside(self, name: str) -> dns.name.Name:
        owner = absolute_name(name, self.origin)
        if not owner.is_subdomain(self.origin):
            raise ValueError(f"{owner} is outside the zone {self.origin}")
        return owner
