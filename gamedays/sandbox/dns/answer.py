"""Authoritative answers to standard queries, built with dnslib from one published zone state.

The rules of an authoritative server without delegations or wildcards: records of the
name and type; NOERROR with no answer (SOA in authority) for a known name without that
type; NXDOMAIN (SOA in authority) for an unknown name; a CNAME is followed inside the
zone; REFUSED for a name outside the zone. Rdata goes from dnspython to dnslib in wire
form, so no value is ever re-parsed from text.

Zone transfers: an AXFR of the apex over TCP is answered (RFC 5936) with the SOA, every
record set of one published state, and the SOA again, split into messages of at most
:data:`MAX_TRANSFER_MESSAGE` bytes. The resolver-fault record (``_gameday-fault``) is the
server's control channel, not zone data, so it is left out. An AXFR over UDP, and any
IXFR, get NOTIMP; an AXFR of a name below the apex gets NOTAUTH (no zone starts there).
"""

from __future__ import annotations

from typing import Callable

import dns.name
import dns.rdatatype
from dnslib import QTYPE, RCODE, RDMAP, RR, DNSLabel, DNSRecord
from dnslib.dns import RD
from dnslib.label import DNSBuffer

from gamedays.sandbox.dns.records import FAULT_LABEL
from gamedays.sandbox.dns.state import CNAME, NS, SOA, Entry, ZoneState

MAX_CNAME_CHAIN = 8
_ANY = int(dns.rdatatype.ANY)
_ADDRESS_TYPES = (dns.rdatatype.A, dns.rdatatype.AAAA)
_AXFR = int(dns.rdatatype.AXFR)
_TRANSFERS = (_AXFR, int(dns.rdatatype.IXFR))
MAX_TRANSFER_MESSAGE = 16384
"""Upper bound, in bytes, of one message of a zone transfer (the TCP limit is 65535)."""
_HEADER_SIZE = 12
_RR_FIXED_SIZE = 10  # type, class, TTL and rdata length of one resource record


def answer(request: DNSRecord, state: ZoneState, *, tcp: bool) -> list[DNSRecord]:
    """Every reply message to a standard query: one, or several for a zone transfer over TCP."""
    if tcp and _is_zone_transfer(request, state):
        return transfer(request, state)
    return [answer_query(request, state)]


def answer_query(request: DNSRecord, state: ZoneState) -> DNSRecord:
    """The authoritative reply to ``request`` (a standard query) from ``state``."""
    reply = request.reply(ra=0, aa=1)
    if len(request.questions) != 1:
        reply.header.rcode = RCODE.FORMERR
        return reply
    question = request.q
    qname = question_name(request)
    if question.qclass not in (1, 255) or not qname.is_subdomain(state.origin):
        reply.header.aa = 0
        reply.header.rcode = RCODE.REFUSED
        return reply
    qtype = int(question.qtype)
    if qtype in _TRANSFERS:
        # AXFR of the apex over TCP goes to transfer(); here: over UDP, IXFR, or not a zone's apex
        reply.header.rcode = RCODE.NOTIMP if qname == state.origin else RCODE.NOTAUTH
        reply.header.aa = int(qname == state.origin)
        return reply
    name, seen = qname, {qname}
    for _ in range(MAX_CNAME_CHAIN):
        records = state.at(name)
        if not records:
            if not state.name_exists(name):
                reply.header.rcode = RCODE.NXDOMAIN
            _add_soa(reply, state)
            return reply
        if qtype == _ANY:
            for kind, entry in sorted(records.items()):
                _add(reply.add_answer, name, kind, entry)
            return reply
        if qtype in records:
            kind = dns.rdatatype.RdataType.make(qtype)
            _add(reply.add_answer, name, kind, records[kind])
            _add_glue(reply, state, kind, records[kind])
            return reply
        if CNAME in records:
            entry = records[CNAME]
            _add(reply.add_answer, name, CNAME, entry)
            target: dns.name.Name = entry.rdatas[0].target.canonicalize()  # type: ignore[attr-defined]
            if target in seen or not target.is_subdomain(state.origin):
                return reply  # a loop, or out of zone: the resolver follows it from here
            name = target
            seen.add(target)
            continue
        _add_soa(reply, state)
        return reply
    return reply


def transfer(request: DNSRecord, state: ZoneState, max_size: int = MAX_TRANSFER_MESSAGE) -> list[DNSRecord]:
    """The AXFR of ``state`` (RFC 5936): SOA, every record set but the fault record, SOA; as few messages as fit."""
    fault_name = dns.name.from_text(FAULT_LABEL, origin=state.origin).canonicalize()
    soa = state.soa()
    record_sets = [(state.origin, SOA, soa)]
    record_sets += [(owner, kind, entry) for (owner, kind), entry in sorted(state.entries.items()) if owner != fault_name]
    record_sets.append((state.origin, SOA, soa))
    empty_size = _HEADER_SIZE + _wire_size(state.origin) + 4  # the header and the question
    messages, size = [request.reply(ra=0, aa=1)], empty_size
    for owner, kind, entry in record_sets:
        for rdata in entry.rdatas:
            # uncompressed: an upper bound of the size the record takes in the packed message
            needed = _wire_size(owner) + _RR_FIXED_SIZE + len(rdata.to_wire())
            if size + needed > max_size and messages[-1].rr:
                messages.append(request.reply(ra=0, aa=1))
                size = empty_size
            _add(messages[-1].add_answer, owner, kind, Entry(entry.ttl, (rdata,)))
            size += needed
    return messages


def question_name(request: DNSRecord) -> dns.name.Name:
    """The question's name as an absolute, lower-case dnspython name."""
    labels = tuple(bytes(label) for label in request.q.qname.label)
    return dns.name.Name((*labels, b"")).canonicalize()


def _wire_size(name: dns.name.Name) -> int:
    """Bytes of ``name`` in uncompressed wire form (each label with its length byte; the root's is 1)."""
    return sum(len(label) + 1 for label in name.labels)


def _is_zone_transfer(request: DNSRecord, state: ZoneState) -> bool:
    """True for a well-formed AXFR of the zone's apex (class IN or ANY)."""
    if len(request.questions) != 1:
        return False
    question = request.q
    return int(question.qtype) == _AXFR and question.qclass in (1, 255) and question_name(request) == state.origin


def _add_soa(reply: DNSRecord, state: ZoneState) -> None:
    _add(reply.add_auth, state.origin, SOA, state.soa())


def _add_glue(reply: DNSRecord, state: ZoneState, kind: dns.rdatatype.RdataType, entry: Entry) -> None:
    """Addresses of in-zone SRV and NS targets in the additional section (saves the client a query)."""
    if kind not in (dns.rdatatype.SRV, NS):
        return
    targets = {rdata.target.canonicalize() for rdata in entry.rdatas}  # type: ignore[attr-defined]
    for target in sorted(targets):
        if target.is_subdomain(state.origin):
            found = state.at(target)
            for address_type in _ADDRESS_TYPES:
                if address_type in found:
                    _add(reply.add_ar, target, address_type, found[address_type])


def _add(section: Callable[[RR], None], name: dns.name.Name, kind: dns.rdatatype.RdataType, entry: Entry) -> None:
    label = DNSLabel([bytes(part) for part in name.labels if part])
    rdtype_text = dns.rdatatype.to_text(kind)
    parser = RDMAP.get(rdtype_text, RD)
    for rdata in entry.rdatas:
        wire = rdata.to_wire()
        rd = parser.parse(DNSBuffer(wire), len(wire))
        section(RR(rname=label, rtype=getattr(QTYPE, rdtype_text), rclass=1, ttl=entry.ttl, rdata=rd))
