"""The SRV record clients find a service by: read it, and move it to another port.

The sandbox's shop (and its ``DATABASE_URL`` endpoint) finds PostgreSQL through the SRV
record ``db.shop.internal``: priority, weight, port and a target name whose A record is
the host. Moving the database (a failover, a proxy put in front of it) means changing
the port, and sometimes the target, of that record; :func:`move_srv` does that with an
RFC 2136 update through :func:`gamedays.faults.dns.records.point_record`, which saves the record
set it replaces to ``backup`` first, so ``gamedays.faults.dns.records.restore_record`` (same
``backup``) undoes it.

``server`` is ``"host:port"`` (``"host"`` alone: port 53), as in :mod:`gamedays.faults.dns.records`;
answers are read over TCP straight from that server, never from a cache.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from gamedays.faults.dns import records as dns_faults
from gamedays.model.reach import Reach, acts_on
from gamedays.model.tsig import DEFAULT_REFERENCE

__all__ = ["move_srv"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 3.0
#: The longest TTL :func:`move_srv` waits out (a record with a longer one is reported, not waited for).
MAX_TTL_WAIT = 30.0


@dataclass(frozen=True)
class SrvRecord:
    """One SRV record: priority, weight, port and the (absolute) target name."""

    priority: int
    weight: int
    port: int
    target: str

    def value(self) -> str:
        """The record in presentation format, as :func:`gamedays.faults.dns.records.point_record` takes it."""
        return f"{self.priority} {self.weight} {self.port} {self.target}"


@dataclass(frozen=True)
class SrvSet:
    """The SRV record set of a name, with its TTL; ``best`` is the one a client tries first."""

    name: str
    ttl: int
    records: tuple[SrvRecord, ...]

    @property
    def best(self) -> SrvRecord:
        return min(self.records, key=lambda r: (r.priority, -r.weight, r.target, r.port))


@acts_on(Reach.RFC2136)
def move_srv(
    server: str,
    zone: str,
    name: str,
    port: int,
    target: str | None = None,
    backup: str | None = None,
    wait_ttl: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    tsig_key: str = DEFAULT_REFERENCE,
) -> dict[str, Any]:
    """Point the SRV record ``name`` at ``port`` (and ``target``, else the current target); returns the old set.

    The record set becomes one record with the priority and weight of the current best
    one. With ``wait_ttl`` it returns only after the old record's TTL has run out, so
    every resolver that honours TTLs sees the move when the next activity starts.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise _failed(f"port must be 1-65535, got {port!r}")
    current = read_srv(server, zone, name, timeout)
    best = current.best
    moved = SrvRecord(best.priority, best.weight, port, dns_faults.absolute_name(target, zone) if target else best.target)
    previous = dns_faults.point_record(
        server, zone, name, "SRV", [moved.value()], ttl=current.ttl, backup=backup, timeout=timeout, tsig_key=tsig_key
    )
    logger.info("moved SRV %s from %s to %s", current.name, best.value(), moved.value())
    if wait_ttl and current.ttl > 0:
        waited = min(float(current.ttl), MAX_TTL_WAIT)
        time.sleep(waited + 0.1)  # bounded: at most MAX_TTL_WAIT
    return {**previous, "moved_to": moved.value()}


def read_srv(server: str, zone: str, name: str, timeout: float = DEFAULT_TIMEOUT) -> SrvSet:
    """The SRV record set of ``name`` (relative to ``zone``, or absolute) as ``server`` holds it now."""
    fqdn = dns_faults.absolute_name(name, zone)
    found = dns_faults.read_rdataset(server, zone, name, "SRV", timeout)
    records = tuple(
        SrvRecord(rdata.priority, rdata.weight, rdata.port, rdata.target.to_text())  # type: ignore[attr-defined]
        for rdata in found or ()
    )
    if not records:
        raise _failed(f"{fqdn} has no SRV record on {server}: there is nothing to move")
    assert found is not None
    return SrvSet(fqdn, int(found.ttl), records)


def resolve_address(server: str, name: str, timeout: float = DEFAULT_TIMEOUT) -> str:
    """The first A record of the absolute ``name`` on ``server``."""
    found = dns_faults.read_rdataset(server, ".", name, "A", timeout)
    if not found:
        raise _failed(f"{name} has no A record on {server}")
    return str(next(iter(found)).to_text())


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed (imported late, as in the other fault modules)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
