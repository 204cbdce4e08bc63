"""Put the TCP fault proxy in front of a service that clients find through an SRV record, and take it out.

:mod:`gamedays.faults.local.proxy` makes network faults (latency, blackhole, reset) with a proxy
process; clients only suffer them once they connect to the proxy instead of the service.
When they find the service through an SRV record (the sandbox's shop finds PostgreSQL
through ``db.shop.internal``), :func:`route_through_proxy` does it in one step: it reads
where the record points now, starts a proxy on a free port of 127.0.0.1 forwarding there,
and moves the record to the proxy's port (saving the old record to ``backup``).
:func:`route_back` is its rollback: the record back first (new connections go straight to
the service again), then the proxy stopped (connections still through it are closed)::

    method                                              rollbacks
    route_through_proxy(server, zone, name,             route_back(server, zone, name,
                        state_file, backup)                        state_file, backup)
    proxy.add_latency(state_file, latency_ms) / proxy.blackhole(state_file) / proxy.reset_connections(...)

The proxy listens on 127.0.0.1 of the machine running the experiment, so the record's
target name must resolve to a loopback address; otherwise name one that does as
``proxy_target``. Both functions are idempotent: ``route_back`` without a backup (the
method never moved the record) only stops a proxy if one is recorded, and it removes the
backup once restored, so a later run never restores a stale record.
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Any

from gamedays.faults.dns import records as dns_faults
from gamedays.faults.dns import srv
from gamedays.faults.local import proxy
from gamedays.model.reach import Reach, acts_on
from gamedays.model.tsig import DEFAULT_REFERENCE

__all__ = ["route_back", "route_through_proxy"]

logger = logging.getLogger(__name__)


@acts_on(Reach.LOCAL_HOST, Reach.RFC2136)
def route_through_proxy(
    server: str,
    zone: str,
    name: str,
    state_file: str,
    backup: str,
    proxy_target: str | None = None,
    timeout: float = srv.DEFAULT_TIMEOUT,
    tsig_key: str = DEFAULT_REFERENCE,
) -> dict[str, Any]:
    """Start a proxy to where the SRV record ``name`` points, and move the record to it.

    Returns the proxy (``pid``, ``listen_port``, ``target``...) and the record it replaced.
    Once it returns the old record's TTL has run out: new connections go through the proxy.
    """
    current = srv.read_srv(server, zone, name, timeout)
    best = current.best
    address = srv.resolve_address(server, best.target, timeout)
    if proxy_target is None and not ipaddress.ip_address(address).is_loopback:
        raise _failed(
            f"{best.target} resolves to {address}, not to this machine where the proxy listens (127.0.0.1): "
            "give proxy_target, a name that resolves to 127.0.0.1"
        )
    started = proxy.start_proxy(0, f"{address}:{best.port}", state_file)
    try:
        moved = srv.move_srv(server, zone, name, int(started["listen_port"]), target=proxy_target, backup=backup, timeout=timeout, tsig_key=tsig_key)
    except BaseException:
        proxy.stop_proxy(state_file)  # the record did not move: no proxy may be left behind
        raise
    logger.info("%s now goes through the proxy on port %d", current.name, started["listen_port"])
    return {"proxy": started, "record": moved}


@acts_on(Reach.LOCAL_HOST, Reach.RFC2136)
def route_back(
    server: str, zone: str, name: str, state_file: str, backup: str, tsig_key: str = DEFAULT_REFERENCE
) -> dict[str, Any]:
    """Rollback of :func:`route_through_proxy`: restore the record from ``backup`` if saved, then stop the proxy."""
    restored = None
    if Path(backup).exists():
        restored = dns_faults.restore_record(server, zone, name, "SRV", backup=backup, tsig_key=tsig_key)
        Path(backup).unlink()
    else:
        logger.info("no record backup %s: the record was not moved", backup)
    stopped = proxy.stop_proxy(state_file)
    return {"record": restored, "proxy": stopped}


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed (imported late, as in the other fault modules)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
