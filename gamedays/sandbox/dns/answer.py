"""Authoritative answers to standard queries, built with dnslib from one published zone state.

The rules of an authoritative server without delegations or wildcards: records of the
name and type; NOERROR with no answer (SOA in authority) for a known name without that
type; NXDOMAIN (SOA in authority) for an unknown name; a CNAME is followed inside the
zone; REFUSED for a name outside the zone. Rdata goes from dnspython to dnslib in wire
form, so no value is ever re-parsed from text.
"""

from __future__ import annotations

from typing import Callable

import dns.name
import dns.rdatatype
from dnslib import QTYPE, RCODE, RDMAP, RR, DNSLabel, DNSRecord
from dnslib.dns import RD
from dnslib.label import DNSBuffer

from gamedays.sandbox.dns.state import CNAME, NS, SOA, Entry, ZoneState

MAX_CNAME_CHAIN = 8
_ANY = int(dns.rdatatype.ANY)
_ADDRESS_TYPES = (dns.rdatatype.A, dns.rdatatype.AAAA)
_TRANSFERS = (int(dns.rdatatype.AXFR), int(dns.rdatatype.IXFR))


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
        reply.header.rcode = RCODE.NOTIMP  # no zone transfers: the zone lives in one process
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


def question_name(request: DNSRecord) -> dns.name.Name:
    """The question's name as an absolute, lower-case dnspython name."""
    labels = tuple(bytes(label) for label in request.q.qname.label)
    return dns.name.Name((*labels, b"")).canonicalize()


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
