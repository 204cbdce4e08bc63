"""Slow down or black-hole the sandbox's DNS server: its fault record, the sandbox's own convention (sandbox only).

    fault                                   rollback
    resolver_fault(delay=, drop=)           clear_resolver_fault()

``resolver_fault`` writes the sandbox server's fault record (the TXT record set of
``_gameday-fault.<zone>``, see :mod:`gamedays.sandbox.dns`) with a DNS UPDATE; a server
without that convention just stores the TXT record and is not slowed down, so these work
only on the sandbox. A real resolver outage needs a fault on the network or the resolver
itself (for the sandbox's database, :mod:`gamedays.faults.local.proxy`).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from chaoslib.exceptions import ActivityFailed

from gamedays.faults.dns.records import DEFAULT_TIMEOUT, RecordTarget
from gamedays.model.reach import Reach, acts_on

__all__ = ["clear_resolver_fault", "resolver_fault"]

logger = logging.getLogger(__name__)

FAULT_LABEL = "_gameday-fault"
MAX_FAULT_DELAY = 30.0


@acts_on(Reach.SANDBOX)
def resolver_fault(
    server: str, zone: str, delay: float = 0.0, drop: bool = False, timeout: float = DEFAULT_TIMEOUT
) -> dict[str, Any]:
    """Slow down (``delay`` seconds on every answer) or black-hole (``drop``) the zone's DNS server."""
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not math.isfinite(delay):
        raise ActivityFailed(f"delay must be a number of seconds, got {delay!r}")
    if not 0.0 <= float(delay) <= MAX_FAULT_DELAY:
        raise ActivityFailed(f"delay must be between 0 and {MAX_FAULT_DELAY:g} seconds, got {delay!r}")
    target = RecordTarget.of(server, zone, FAULT_LABEL, "TXT", timeout, None)  # the sandbox convention: never signed
    update = target.update()
    update.delete(target.name, "TXT")
    if delay > 0 or drop:
        update.add(target.name, 1, "TXT", f'"delay={float(delay):g}" "drop={"true" if drop else "false"}"')
    target.send(update, "set the resolver fault")
    logger.info("resolver fault on %s: delay=%gs drop=%s", server, delay, drop)
    return {"server": server, "zone": target.zone.to_text(), "delay": float(delay), "drop": bool(drop)}


@acts_on(Reach.SANDBOX)
def clear_resolver_fault(server: str, zone: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Remove the resolver fault: answers come at full speed again."""
    return resolver_fault(server, zone, delay=0.0, drop=False, timeout=timeout)
