"""The sandbox DNS server: authoritative for one zone (``shop.internal``) on 127.0.0.1.

Queries are answered with dnslib; RFC 2136 updates are parsed with dnspython. Types
served: SOA, NS, A, AAAA, CNAME, SRV, TXT. The SOA is made by the server; its serial
grows on every change. NXDOMAIN and empty answers carry the SOA in authority (negative
TTL 1 s); names outside the zone are REFUSED; CNAMEs are followed inside the zone.

Changing records
    From Python: :meth:`ZoneServer.set_records`, :meth:`ZoneServer.remove_records`.
    Over the wire: RFC 2136 UPDATE (``dns.update`` or ``nsupdate``), UDP or TCP,
    unsigned, or signed when the server was given a TSIG key (then only signed, see
    :mod:`.signing`): add (class IN), delete an RRset (class ANY), delete every RRset of a
    name (class ANY, type ANY), delete one RR (class NONE), and the prerequisites of
    section 3.2. A zone section naming another zone gets NOTAUTH; a name outside the
    zone NOTZONE; a type not served, or a bad fault record, REFUSED.

The resolver fault, over the wire
    The TXT record set of ``_gameday-fault.<zone>`` *is* the fault: its strings are
    ``delay=<seconds>`` (0 to 30) and ``drop=<true|false>``, for example::

        update.delete("_gameday-fault", "TXT")
        update.add("_gameday-fault", 1, "TXT", '"delay=0.5" "drop=false"')

    sets a 0.5 s delay on every answer; deleting the record set clears the fault.
    Strings of several TXT records add up; a key given twice with different values,
    an unknown key or a bad value is REFUSED. Queries for the fault name itself are
    never delayed or dropped (``dig TXT _gameday-fault.shop.internal`` shows the fault),
    and updates are never delayed or dropped, so a fault can always be cleared.
    :meth:`ZoneServer.set_fault` writes the same record, so both views agree.
"""

from __future__ import annotations

from gamedays.sandbox.dns.records import (
    DEFAULT_TTL,
    DEFAULT_ZONE,
    FAULT_LABEL,
    SUPPORTED_TYPES,
    RecordSet,
    ResolverFault,
    ZoneSnapshot,
    default_records,
    record,
    srv_value,
)
from gamedays.sandbox.dns.server import ZoneServer

__all__ = [
    "DEFAULT_TTL",
    "DEFAULT_ZONE",
    "FAULT_LABEL",
    "SUPPORTED_TYPES",
    "RecordSet",
    "ResolverFault",
    "ZoneServer",
    "ZoneSnapshot",
    "default_records",
    "record",
    "srv_value",
]
