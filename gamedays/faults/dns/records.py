"""DNS faults for Chaos Toolkit experiments, each with its rollback, over RFC 2136 DNS UPDATE.

Use them from a ``python`` provider (``"module": "gamedays.faults.dns.records"``). They speak
RFC 2136 (dnspython, TCP), so they work against any server that takes dynamic updates for
the zone: BIND, Knot, PowerDNS, the sandbox's. Updates are signed with a TSIG key when the
environment holds one (``tsig_key``, a reference, ``env:DNS_TSIG_KEY`` by default, see
:mod:`gamedays.model.tsig`); unsigned otherwise, as ``nsupdate`` without a key sends.

    fault                                   rollback
    remove_record(..., backup=F)            restore_record(..., backup=F)
    point_record(..., values, backup=F)     restore_record(..., backup=F)

``server`` is ``"host:port"`` (``"127.0.0.1:5353"``; ``"host"`` alone means port 53).
``name`` is relative to ``zone`` (``"db"``), or absolute (``"db.shop.internal"``).
Values are in zone-file presentation format (``"0 0 5432 pg-0.shop.internal."``).

Rollback without knowing the old values: a Chaos Toolkit rollback cannot see the
output of the method's actions, so ``remove_record`` and ``point_record`` take an
optional ``backup`` path and write the record set they replace there, as JSON
(``{"zone", "name", "rdtype", "ttl", "values"}``), *before* changing anything; then
``restore_record`` with the same ``backup`` puts it back. A backup of a record that
did not exist holds ``"values": []``, and restoring it deletes the record again. The
file is left in place, so running the rollback twice is harmless.

Every refusal (REFUSED, NOTZONE, NOTAUTH...), timeout or unreachable server raises
chaoslib's ``ActivityFailed`` with a message naming the server, the record and why.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataset
import dns.rdatatype
import dns.update
from chaoslib.exceptions import ActivityFailed

from gamedays.atomicfile import write_atomically
from gamedays.model.address import host_port
from gamedays.model.reach import Reach, acts_on
from gamedays.model.tsig import (
    DEFAULT_REFERENCE,
    TsigKey,
    TsigKeyError,
    exchange_problem,
    key_from,
    refusal_hint,
)

__all__ = ["point_record", "remove_record", "restore_record"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 3.0
_ATTEMPTS = 3


@acts_on(Reach.RFC2136)
def remove_record(
    server: str,
    zone: str,
    name: str,
    rdtype: str = "A",
    backup: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    tsig_key: str = DEFAULT_REFERENCE,
) -> dict[str, Any]:
    """Delete the ``rdtype`` record set of ``name``; returns what was removed (and saves it to ``backup``).

    The delete is conditional on the record set still holding what was read (an RFC 2136
    prerequisite), so what is returned and saved is exactly what was removed.
    """
    target = RecordTarget.of(server, zone, name, rdtype, timeout, tsig_key)
    for _ in range(_ATTEMPTS):
        current = target.read()
        if current is None:
            raise ActivityFailed(f"{target.fqdn} has no {target.rdtype} record on {server}: nothing to remove")
        if backup is not None:
            _write_backup(backup, target, current)
        update = target.update()
        update.present(target.name, _with_ttl_zero(current))  # RFC 2136 2.4.2: prerequisites carry TTL 0
        update.delete(target.name, target.rdtype)
        if target.send(update, f"remove {target.fqdn} {target.rdtype}", retry_on=dns.rcode.NXRRSET):
            logger.info("removed %s %s %s from %s", target.fqdn, target.rdtype, _values(current), server)
            return target.describe(current.ttl, _values(current))
    raise ActivityFailed(f"{target.fqdn} {target.rdtype} kept changing on {server}: gave up after {_ATTEMPTS} attempts")


@acts_on(Reach.RFC2136)
def point_record(
    server: str,
    zone: str,
    name: str,
    rdtype: str,
    values: list[str],
    ttl: int = 1,
    backup: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    tsig_key: str = DEFAULT_REFERENCE,
) -> dict[str, Any]:
    """Replace the ``rdtype`` record set of ``name`` with ``values`` (a wrong address); returns the previous one."""
    if not values:
        raise ActivityFailed("point_record needs at least one value; use remove_record to delete a record")
    target = RecordTarget.of(server, zone, name, rdtype, timeout, tsig_key)
    current = target.read()
    if backup is not None:
        _write_backup(backup, target, current)
    target.replace(list(values), _ttl(ttl))
    previous = target.describe(current.ttl, _values(current)) if current is not None else target.describe(0, [])
    logger.info("pointed %s %s at %s on %s (was %s)", target.fqdn, target.rdtype, values, server, previous["values"])
    return previous


@acts_on(Reach.RFC2136)
def restore_record(
    server: str,
    zone: str,
    name: str,
    rdtype: str = "A",
    values: list[str] | None = None,
    ttl: int | None = None,
    backup: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    tsig_key: str = DEFAULT_REFERENCE,
) -> dict[str, Any]:
    """Set the ``rdtype`` record set of ``name`` to ``values``, or to what ``backup`` saved; returns what it set.

    Explicit ``values`` win over the backup; an empty list (or a backup of a record that
    did not exist) deletes the record set.
    """
    target = RecordTarget.of(server, zone, name, rdtype, timeout, tsig_key)
    if values is None:
        if backup is None:
            raise ActivityFailed("restore_record needs the values to restore, or the backup file the fault wrote")
        saved = _read_backup(backup, target)
        values = list(saved["values"])
        ttl = ttl if ttl is not None else int(saved["ttl"])
    final_ttl = _ttl(ttl if ttl is not None else 1)
    if values:
        target.replace(list(values), final_ttl)
    else:
        update = target.update()
        update.delete(target.name, target.rdtype)
        target.send(update, f"delete {target.fqdn} {target.rdtype}")
    logger.info("restored %s %s to %s on %s", target.fqdn, target.rdtype, values, server)
    return target.describe(final_ttl, list(values))


def read_rdataset(
    server: str, zone: str, name: str, rdtype: str, timeout: float = DEFAULT_TIMEOUT
) -> dns.rdataset.Rdataset | None:
    """The record set ``name`` (relative to ``zone``, or absolute) as ``server`` holds it now, or None."""
    return RecordTarget.of(server, zone, name, rdtype, timeout, None).read()


def absolute_name(name: str, zone: str) -> str:
    """``name`` as an absolute name, by the sandbox server's rule (``@`` apex, trailing dot or zone suffix)."""
    try:
        return _absolute(name, dns.name.from_text(zone)).to_text()
    except (dns.exception.DNSException, ValueError) as exc:
        raise ActivityFailed(f"bad DNS name {name!r} in zone {zone!r}: {exc}") from None


def exchange(
    server: str, zone: str, message: dns.message.Message, what: str, timeout: float = DEFAULT_TIMEOUT
) -> dns.message.Message:
    """Send ``message`` (a query for ``zone``) to ``server`` over TCP, unsigned; its response, whatever the rcode.

    ActivityFailed names the server and ``what`` was tried when it is unreachable or silent.
    """
    return RecordTarget.of(server, zone, "@", "SOA", timeout, None)._exchange(message, what)


def send_update(
    server: str,
    zone: str,
    update: dns.update.UpdateMessage,
    what: str,
    timeout: float = DEFAULT_TIMEOUT,
    tsig_key: str = DEFAULT_REFERENCE,
) -> None:
    """Send a prepared RFC 2136 ``update`` of ``zone`` (signed when the key is set); ActivityFailed unless NOERROR."""
    RecordTarget.of(server, zone, "@", "SOA", timeout, tsig_key).send(update, what)


def signing_key(tsig_key: str | None) -> TsigKey | None:
    """The TSIG key ``tsig_key`` names (read from the environment now), None when unset; ActivityFailed when unusable."""
    if tsig_key is None:
        return None
    try:
        return key_from(tsig_key, os.environ)
    except TsigKeyError as exc:
        raise ActivityFailed(str(exc)) from None


def signed_exchange(
    message: dns.message.Message, host: str, port: int, server: str, what: str, timeout: float, key: TsigKey | None
) -> dns.message.Message:
    """``message`` to ``host:port`` over TCP, signed with ``key`` if any; ActivityFailed naming ``server`` and ``what``."""
    if key is not None:
        key.sign(message)
    try:
        return dns.query.tcp(message, host, port=port, timeout=timeout)
    except dns.exception.Timeout:
        raise ActivityFailed(f"DNS server {server} did not answer within {timeout:g}s (trying to {what})") from None
    except (OSError, dns.exception.DNSException) as exc:
        problem = exchange_problem(exc, key)
        if problem is not None:
            raise ActivityFailed(f"DNS server {server} (trying to {what}): {problem}") from None
        raise ActivityFailed(f"cannot reach DNS server {server} (trying to {what}): {exc}") from None


class RecordTarget:
    """One record set on one server: reads it, and sends updates for it."""

    def __init__(
        self,
        host: str,
        port: int,
        server: str,
        zone: dns.name.Name,
        name: dns.name.Name,
        rdtype: str,
        timeout: float,
        key: TsigKey | None,
    ) -> None:
        self.host, self.port, self.server = host, port, server
        self.zone, self.name, self.rdtype, self.timeout = zone, name, rdtype, timeout
        self.key = key

    @classmethod
    def of(cls, server: str, zone: str, name: str, rdtype: str, timeout: float, tsig_key: str | None) -> RecordTarget:
        """``tsig_key``: the key reference updates are signed with when it is set (None: never signed)."""
        key = signing_key(tsig_key)
        host, port = server_address(server)
        try:
            origin = dns.name.from_text(zone)
            owner = _absolute(name, origin)
            kind = dns.rdatatype.to_text(dns.rdatatype.from_text(rdtype.strip().upper()))
        except (dns.exception.DNSException, ValueError) as exc:
            raise ActivityFailed(f"bad DNS record {name!r} {rdtype!r} in zone {zone!r}: {exc}") from None
        return cls(host, port, server, origin, owner, kind, float(timeout), key)

    @property
    def fqdn(self) -> str:
        return self.name.to_text()

    def describe(self, ttl: int, values: list[str]) -> dict[str, Any]:
        return {
            "server": self.server, "zone": self.zone.to_text(), "name": self.fqdn,
            "rdtype": self.rdtype, "ttl": ttl, "values": values,
        }  # fmt: skip

    def update(self) -> dns.update.UpdateMessage:
        return dns.update.UpdateMessage(self.zone)

    def read(self) -> dns.rdataset.Rdataset | None:
        """The record set as the server holds it now (asked directly: no cache in between), or None."""
        query = dns.message.make_query(self.name, self.rdtype)
        response = self._exchange(query, f"read {self.fqdn} {self.rdtype}")
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return None
        if rcode != dns.rcode.NOERROR:
            raise ActivityFailed(
                f"DNS server {self.server} refused to answer for {self.fqdn} {self.rdtype}: {dns.rcode.to_text(rcode)}"
            )
        kind = dns.rdatatype.from_text(self.rdtype)
        for rrset in response.answer:
            if rrset.name == self.name and rrset.rdtype == kind:
                return rrset.to_rdataset()
        return None

    def replace(self, values: list[str], ttl: int) -> None:
        update = self.update()
        try:
            update.replace(self.name, ttl, self.rdtype, *values)
        except (dns.exception.DNSException, ValueError) as exc:
            raise ActivityFailed(f"bad {self.rdtype} value in {values!r}: {exc}") from None
        self.send(update, f"set {self.fqdn} {self.rdtype}")

    def send(self, update: dns.update.UpdateMessage, what: str, retry_on: int | None = None) -> bool:
        """Send ``update``; True on NOERROR, False on ``retry_on``, ActivityFailed on anything else."""
        rcode = signed_exchange(update, self.host, self.port, self.server, what, self.timeout, self.key).rcode()
        if rcode == dns.rcode.NOERROR:
            return True
        if retry_on is not None and rcode == retry_on:
            return False
        text = dns.rcode.to_text(rcode)
        raise ActivityFailed(f"DNS server {self.server} refused to {what} in zone {self.zone}: {text}{refusal_hint(text, self.key)}")

    def _exchange(self, message: dns.message.Message, what: str) -> dns.message.Message:
        """A read: never signed (the record sets a fault reads are the ones every client reads)."""
        return signed_exchange(message, self.host, self.port, self.server, what, self.timeout, None)


def server_address(server: str) -> tuple[str, int]:
    """``server`` (``"host:port"``, ``"[v6]:port"`` or ``"host"``: port 53) as an IP address and a port (a host name is resolved)."""
    try:
        host, port = host_port(server, 53)
    except ValueError:
        raise ActivityFailed(f"DNS server {server!r} is not host:port with a port of 1-65535") from None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        try:
            host = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)[0][4][0]
        except OSError as exc:
            raise ActivityFailed(f"cannot resolve the DNS server host {host!r}: {exc}") from None
    return host, port


def _absolute(name: str, origin: dns.name.Name) -> dns.name.Name:
    """Same rule as the sandbox server: ``@`` is the apex; trailing dot or zone suffix: absolute; else relative."""
    text = name.strip()
    if text in ("", "@"):
        return origin
    as_absolute = dns.name.from_text(text)
    if text.endswith(".") or as_absolute.is_subdomain(origin):
        return as_absolute
    return dns.name.from_text(text, origin=origin)


def _with_ttl_zero(rdataset: dns.rdataset.Rdataset) -> dns.rdataset.Rdataset:
    copy = dns.rdataset.Rdataset(rdataset.rdclass, rdataset.rdtype)
    for rdata in rdataset:
        copy.add(rdata, 0)
    return copy


def _values(rdataset: dns.rdataset.Rdataset) -> list[str]:
    return sorted(rdata.to_text() for rdata in rdataset)


def _ttl(ttl: int) -> int:
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
        raise ActivityFailed(f"ttl must be a whole number of seconds >= 0, got {ttl!r}")
    return ttl


def _write_backup(path: str, target: RecordTarget, current: dns.rdataset.Rdataset | None) -> None:
    """Save the record set atomically, so a crash never leaves half a backup."""
    data = target.describe(current.ttl if current is not None else 0, _values(current) if current is not None else [])
    try:
        write_atomically(Path(path), json.dumps(data, indent=2))
    except OSError as exc:
        raise ActivityFailed(f"cannot write the DNS backup {path}: {exc}") from None


def _read_backup(path: str, target: RecordTarget) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ActivityFailed(f"DNS backup {path} does not exist: the fault did not run, or wrote it elsewhere") from None
    except (OSError, ValueError) as exc:
        raise ActivityFailed(f"cannot read the DNS backup {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("values"), list) or not isinstance(data.get("ttl"), int):
        raise ActivityFailed(f"DNS backup {path} is not a record set saved by gamedays.faults.dns.records")
    if dns.name.from_text(str(data.get("name"))) != target.name or str(data.get("rdtype")) != target.rdtype:
        raise ActivityFailed(
            f"DNS backup {path} holds {data.get('name')} {data.get('rdtype')}, not {target.fqdn} {target.rdtype}"
        )
    return data
