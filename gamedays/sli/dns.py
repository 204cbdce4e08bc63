"""DNS resolution: a name resolves through a given server within the timeout.

One query per sample, over UDP (and again over TCP when the answer is truncated),
sent straight to the server with :mod:`dns.query` rather than through a stub
resolver: ``dns.resolver`` retries after a back-off sleep that does not count
against its lifetime, so a silent server made a 0.5 s sample last 0.6 s. Here a
sample lasts at most its timeout. CNAME chains in the answer are followed, as a
resolver would; the query offers EDNS0 answers of up to 1232 bytes over UDP.
"""

from __future__ import annotations

import time
from typing import Mapping

from gamedays.model.address import host_port
from gamedays.model.measurement import Measurement
from gamedays.model.slo import DnsSLI
from gamedays.sli.expand import expand

DEFAULT_PORT = 53
EDNS_PAYLOAD = 1232
"""The UDP answer size offered (EDNS0), as resolvers do since the DNS flag day 2020."""


def server_address(text: str) -> tuple[str, int] | None:
    """``ip:port``, ``[v6]:port``, a bare IPv4 or IPv6 address (port 53) as (ip, port); None when it is none of these."""
    import dns.inet

    try:
        host, port = host_port(text, DEFAULT_PORT)
    except ValueError:
        return None
    return (host, port) if dns.inet.is_address(host) else None


def measure(sli: DnsSLI, env: Mapping[str, str], timeout: float) -> Measurement:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode

    server = expand(sli.server, env)
    address = server_address(server)
    if address is None:
        return Measurement.failed(
            f"DNS server {server!r} is not an IP address with an optional port, e.g. 127.0.0.1:5353"
        )
    host, port = address
    where = f"{host}:{port}"
    what = f"{sli.name} {sli.rdtype}"
    limit = min(timeout, sli.timeout.seconds)
    start = time.perf_counter()
    try:
        query = dns.message.make_query(sli.name, sli.rdtype, use_edns=0, payload=EDNS_PAYLOAD)
        response = dns.query.udp(query, host, timeout=limit, port=port, ignore_unexpected=True)
        if response.flags & dns.flags.TC:
            left = limit - (time.perf_counter() - start)
            if left <= 0:
                raise dns.exception.Timeout()
            response = dns.query.tcp(query, host, timeout=left, port=port)
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return Measurement.failed(f"{what}: NXDOMAIN from {where}", time.perf_counter() - start)
        if rcode != dns.rcode.NOERROR:
            return Measurement.failed(f"{what}: {dns.rcode.to_text(rcode)} from {where}", time.perf_counter() - start)
        answer = response.resolve_chaining().answer
    except dns.exception.Timeout:
        return Measurement.failed(f"{what}: no answer within {limit:g}s from {where}", time.perf_counter() - start)
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        return Measurement.failed(f"{what}: {exc} (server {where})", time.perf_counter() - start)
    elapsed = time.perf_counter() - start
    if not answer:
        return Measurement.failed(f"{what}: no answer from {where}", elapsed)
    return Measurement(good=True, value=elapsed, elapsed=elapsed)
