"""RFC 2136 DNS UPDATE: zone check, prerequisites, prescan and the changes themselves.

dnspython parses the message (dnslib refuses the empty RRs that mean "delete an
RRset"); dnspython gives every update RR the zone's class and puts the wire class
(ANY: delete an RRset / every RRset of a name, NONE: delete one RR) in ``deleting``.
The changes go to a private copy of the zone's entries; the caller publishes them
only when the whole message succeeded, so an update is all-or-nothing.

Policy where RFC 2136 leaves room: the SOA is managed by the server (changes to it
are ignored, section 3.4.2.2), the apex NS set is never emptied, a CNAME beside
other data is ignored (3.4.2.2), adding a type the zone does not serve is REFUSED.
"""

from __future__ import annotations

import logging

import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.update

from gamedays.sandbox.dns.records import SUPPORTED_TYPES
from gamedays.sandbox.dns.state import CNAME, NS, SOA, Entry, Key, ZoneState

logger = logging.getLogger(__name__)

ANY, NONE = dns.rdataclass.ANY, dns.rdataclass.NONE
_SERVED = frozenset(dns.rdatatype.from_text(t) for t in SUPPORTED_TYPES)


def apply_update(message: dns.update.UpdateMessage, state: ZoneState, entries: dict[Key, Entry]) -> dns.rcode.Rcode:
    """Check and apply ``message`` to ``entries`` (a private copy of ``state.entries``); returns the rcode."""
    zone_rcode = _check_zone(message, state.origin)
    if zone_rcode != dns.rcode.NOERROR:
        return zone_rcode
    for check in (_check_prerequisites, _prescan):
        rcode = check(message, state, entries)
        if rcode != dns.rcode.NOERROR:
            return rcode
    for rrset in message.update:
        _apply(rrset, state.origin, entries)
    logger.info("applied DNS update of %d record set(s) to %s", len(message.update), state.origin)
    return dns.rcode.NOERROR


def _check_zone(message: dns.update.UpdateMessage, origin: dns.name.Name) -> dns.rcode.Rcode:
    if len(message.zone) != 1 or message.zone[0].rdtype != SOA:
        return dns.rcode.FORMERR
    zone = message.zone[0]
    if zone.rdclass != dns.rdataclass.IN or zone.name != origin:
        logger.info("refused DNS update for zone %s: this server is authoritative for %s only", zone.name, origin)
        return dns.rcode.NOTAUTH
    return dns.rcode.NOERROR


def _check_prerequisites(message: dns.update.UpdateMessage, state: ZoneState, entries: dict[Key, Entry]) -> dns.rcode.Rcode:
    """RFC 2136 section 3.2, against the zone as it is before this update."""
    for rrset in message.prerequisite:
        if rrset.ttl != 0:
            return dns.rcode.FORMERR
        if not rrset.name.is_subdomain(state.origin):
            return dns.rcode.NOTZONE
        in_use = {kind for (name, kind) in entries if name == rrset.name}
        if rrset.name == state.origin:
            in_use.add(SOA)
        if rrset.deleting == ANY:  # "name is in use" / "RRset exists (value independent)"
            if len(rrset) != 0:
                return dns.rcode.FORMERR
            if rrset.rdtype == dns.rdatatype.ANY and not in_use:
                return dns.rcode.NXDOMAIN
            if rrset.rdtype != dns.rdatatype.ANY and rrset.rdtype not in in_use:
                return dns.rcode.NXRRSET
        elif rrset.deleting == NONE:  # "name is not in use" / "RRset does not exist"
            if len(rrset) != 0:
                return dns.rcode.FORMERR
            if rrset.rdtype == dns.rdatatype.ANY and in_use:
                return dns.rcode.YXDOMAIN
            if rrset.rdtype != dns.rdatatype.ANY and rrset.rdtype in in_use:
                return dns.rcode.YXRRSET
        else:  # "RRset exists (value dependent)": dnspython has already gathered the RRs of one set
            if dns.rdatatype.is_metatype(rrset.rdtype):
                return dns.rcode.FORMERR
            key = (rrset.name, rrset.rdtype)
            current = state.soa() if key == (state.origin, SOA) else entries.get(key)
            if current is None or set(current.rdatas) != set(rrset):
                return dns.rcode.NXRRSET
    return dns.rcode.NOERROR


def _prescan(message: dns.update.UpdateMessage, state: ZoneState, entries: dict[Key, Entry]) -> dns.rcode.Rcode:
    """RFC 2136 section 3.4.1: reject the whole message before changing anything."""
    for rrset in message.update:
        if not rrset.name.is_subdomain(state.origin):
            logger.info("refused DNS update: %s is outside the zone %s", rrset.name, state.origin)
            return dns.rcode.NOTZONE
        if rrset.deleting is None:
            if dns.rdatatype.is_metatype(rrset.rdtype) or rrset.rdtype == dns.rdatatype.ANY:
                return dns.rcode.FORMERR
            if rrset.rdtype not in _SERVED:
                logger.info("refused DNS update: type %s is not served", dns.rdatatype.to_text(rrset.rdtype))
                return dns.rcode.REFUSED
        elif rrset.deleting == ANY:
            if rrset.ttl != 0 or len(rrset) != 0:
                return dns.rcode.FORMERR
            if dns.rdatatype.is_metatype(rrset.rdtype) and rrset.rdtype != dns.rdatatype.ANY:
                return dns.rcode.FORMERR
        elif rrset.deleting == NONE:
            if rrset.ttl != 0 or dns.rdatatype.is_metatype(rrset.rdtype) or rrset.rdtype == dns.rdatatype.ANY:
                return dns.rcode.FORMERR
        else:
            return dns.rcode.FORMERR
    return dns.rcode.NOERROR


def _apply(rrset: dns.rrset.RRset, origin: dns.name.Name, entries: dict[Key, Entry]) -> None:
    """RFC 2136 section 3.4.2 for one RRset of the update section."""
    name, kind = rrset.name.canonicalize(), rrset.rdtype
    if kind == SOA:
        return  # the server owns the SOA
    if rrset.deleting is None:
        _add(name, kind, rrset, entries)
    elif rrset.deleting == ANY:
        for key in [k for k in entries if k[0] == name and (kind == dns.rdatatype.ANY or k[1] == kind)]:
            if key != (origin, NS):
                del entries[key]
    else:
        key = (name, kind)
        current = entries.get(key)
        if current is None:
            return
        kept = tuple(r for r in current.rdatas if r not in set(rrset))
        if key == (origin, NS) and not kept:
            return  # the apex keeps its last NS
        if kept:
            entries[key] = Entry(current.ttl, kept)
        else:
            del entries[key]


def _add(name: dns.name.Name, kind: dns.rdatatype.RdataType, rrset: dns.rrset.RRset, entries: dict[Key, Entry]) -> None:
    others = {k for (n, k) in entries if n == name}
    if kind == CNAME:
        if others - {CNAME}:
            return  # a CNAME cannot sit beside other data
        entries[(name, kind)] = Entry(rrset.ttl, (next(iter(rrset)),))  # a name has one CNAME: replace it
        return
    if CNAME in others:
        return  # the name is an alias: other data is ignored
    current = entries.get((name, kind))
    rdatas = list(current.rdatas) if current is not None else []
    rdatas.extend(r for r in rrset if r not in rdatas)
    entries[(name, kind)] = Entry(rrset.ttl, tuple(rdatas))
