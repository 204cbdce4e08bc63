"""The values of the sandbox zone: record sets, snapshots, the resolver fault, and the default zone.

Names and values are checked and put in canonical form here, once, with dnspython's
parser, so the rest of the server only ever sees valid, absolute, lower-case data.
Values are written in zone-file presentation format (``"0 0 5432 pg-0.shop.internal."``
for SRV, ``'"some text"'`` for a TXT string); names inside values may be relative
to the zone (``pg-0`` means ``pg-0.shop.internal.``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from gamedays.model.dnsrecords import RecordSet
from gamedays.sandbox.ports import LOOPBACK

DEFAULT_ZONE = "shop.internal"
DEFAULT_TTL = 1
FAULT_LABEL = "_gameday-fault"
"""The reserved name, under the zone apex, whose TXT record carries the resolver fault."""
MAX_FAULT_DELAY = 30.0
SUPPORTED_TYPES = frozenset({"SOA", "NS", "A", "AAAA", "CNAME", "SRV", "TXT"})
NAMESERVER_LABEL = "ns1"


@dataclass(frozen=True)
class ResolverFault:
    """Resolver slowdown or outage: every query answered ``delay_seconds`` late, or not at all (``drop``)."""

    delay_seconds: float = 0.0
    drop: bool = False

    def __post_init__(self) -> None:
        if not math.isfinite(self.delay_seconds) or not 0.0 <= self.delay_seconds <= MAX_FAULT_DELAY:
            raise ValueError(f"fault delay must be between 0 and {MAX_FAULT_DELAY:g} seconds, got {self.delay_seconds!r}")

    @property
    def active(self) -> bool:
        return self.drop or self.delay_seconds > 0.0

    def to_txt(self) -> str:
        """The TXT rdata (presentation format) that sets this fault over the wire."""
        return f'"delay={self.delay_seconds:g}" "drop={"true" if self.drop else "false"}"'

    @classmethod
    def from_txt_strings(cls, strings: Iterable[str]) -> ResolverFault:
        """Parse ``key=value`` strings (``delay=0.5``, ``drop=true``); raises ValueError on anything else."""
        seen: dict[str, str] = {}
        for item in strings:
            key, sep, value = item.strip().partition("=")
            key, value = key.strip().lower(), value.strip().lower()
            if not sep or key not in ("delay", "drop"):
                raise ValueError(f"fault setting {item!r} is not delay=<seconds> or drop=<true|false>")
            if seen.get(key, value) != value:
                raise ValueError(f"fault setting {key} given twice with different values")
            seen[key] = value
        drop_text = seen.get("drop", "false")
        if drop_text not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"drop={drop_text!r} is not true or false")
        try:
            delay = float(seen.get("delay", "0"))
        except ValueError:
            raise ValueError(f"delay={seen['delay']!r} is not a number of seconds") from None
        return cls(delay_seconds=delay, drop=drop_text in ("true", "1", "yes"))


@dataclass(frozen=True)
class ZoneSnapshot:
    """An immutable copy of the whole zone at one serial (the SOA included)."""

    zone: str
    serial: int
    records: tuple[RecordSet, ...]
    fault: ResolverFault

    def get(self, name: str, rdtype: str) -> RecordSet | None:
        """The record set of ``name`` (relative to the zone, or absolute) and ``rdtype``, if any."""
        wanted = absolute_name(name, dns.name.from_text(self.zone)).to_text()
        kind = rdtype.upper()
        return next((r for r in self.records if r.name == wanted and r.rdtype == kind), None)

    def values(self, name: str, rdtype: str) -> tuple[str, ...]:
        found = self.get(name, rdtype)
        return found.values if found is not None else ()


def zone_origin(zone: str) -> dns.name.Name:
    """The zone apex as an absolute, lower-case name; raises ValueError for an unusable zone."""
    try:
        origin = dns.name.from_text(zone.strip() or ".").canonicalize()
    except dns.exception.DNSException as exc:
        raise ValueError(f"zone {zone!r} is not a valid DNS name: {exc}") from None
    if origin == dns.name.root:
        raise ValueError("the zone must not be the DNS root")
    return origin


def absolute_name(name: str, origin: dns.name.Name) -> dns.name.Name:
    """``name`` made absolute: ``@`` is the apex, a trailing dot or the zone suffix means absolute, else relative."""
    text = name.strip()
    if text in ("", "@"):
        return origin
    try:
        if text.endswith("."):
            return dns.name.from_text(text).canonicalize()
        as_absolute = dns.name.from_text(text).canonicalize()
        if as_absolute.is_subdomain(origin):
            return as_absolute
        return dns.name.from_text(text, origin=origin).canonicalize()
    except dns.exception.DNSException as exc:
        raise ValueError(f"{name!r} is not a valid DNS name: {exc}") from None


def rdtype_of(rdtype: str) -> dns.rdatatype.RdataType:
    """The type code of ``rdtype``; raises ValueError for a type the sandbox zone does not serve."""
    kind = rdtype.strip().upper()
    if kind not in SUPPORTED_TYPES:
        raise ValueError(f"record type {rdtype!r} is not served; use one of {', '.join(sorted(SUPPORTED_TYPES))}")
    return dns.rdatatype.from_text(kind)


def parse_values(rdtype: dns.rdatatype.RdataType, values: Iterable[str], origin: dns.name.Name) -> tuple[dns.rdata.Rdata, ...]:
    """Presentation-format values parsed to rdata (names made absolute), duplicates dropped, order kept."""
    parsed: list[dns.rdata.Rdata] = []
    for value in values:
        try:
            rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype, value, origin=origin, relativize=False)
        except (dns.exception.DNSException, ValueError) as exc:
            kind = dns.rdatatype.to_text(rdtype)
            raise ValueError(f"{value!r} is not a valid {kind} value: {exc}") from None
        if rdata not in parsed:
            parsed.append(rdata)
    return tuple(parsed)


def check_ttl(ttl: int) -> int:
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= 2**31 - 1:
        raise ValueError(f"TTL must be a whole number of seconds >= 0, got {ttl!r}")
    return ttl


def record(name: str, rdtype: str, values: Iterable[str], ttl: int = DEFAULT_TTL, *, zone: str = DEFAULT_ZONE) -> RecordSet:
    """A checked, canonical :class:`RecordSet` (``name`` and names in ``values`` may be relative to ``zone``)."""
    origin = zone_origin(zone)
    kind = rdtype_of(rdtype)
    rdatas = parse_values(kind, values, origin)
    if not rdatas:
        raise ValueError(f"a {rdtype.upper()} record set needs at least one value")
    return RecordSet(
        name=absolute_name(name, origin).to_text(),
        rdtype=dns.rdatatype.to_text(kind),
        ttl=check_ttl(ttl),
        values=tuple(r.to_text() for r in rdatas),
    )


def srv_value(port: int, target: str, *, priority: int = 0, weight: int = 0) -> str:
    """An SRV value in presentation format: ``"0 0 5432 pg-0"`` (target relative to the zone, or absolute)."""
    return f"{priority} {weight} {port} {target}"


def default_records(postgres_primary_port: int, *, zone: str = DEFAULT_ZONE, ttl: int = DEFAULT_TTL) -> tuple[RecordSet, ...]:
    """The sandbox zone: ``db`` (SRV to ``pg-0`` on the primary's port, and A), ``pg-0``, ``pg-1``, ``api``, ``ns1``.

    Everything lives on 127.0.0.1, so a failover moves the *port*: point ``db``'s SRV
    record at ``pg-1`` and the replica's port (``srv_value(port, "pg-1")``).
    """
    if not 0 < postgres_primary_port < 65536:
        raise ValueError(f"PostgreSQL port must be 1-65535, got {postgres_primary_port!r}")
    return (
        record("@", "NS", [f"{NAMESERVER_LABEL}"], ttl, zone=zone),
        record(NAMESERVER_LABEL, "A", [LOOPBACK], ttl, zone=zone),
        record("db", "SRV", [srv_value(postgres_primary_port, "pg-0")], ttl, zone=zone),
        record("db", "A", [LOOPBACK], ttl, zone=zone),
        record("pg-0", "A", [LOOPBACK], ttl, zone=zone),
        record("pg-1", "A", [LOOPBACK], ttl, zone=zone),
        record("api", "A", [LOOPBACK], ttl, zone=zone),
    )
