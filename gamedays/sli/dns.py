"""DNS resolution: a name resolves through a given server within the timeout."""

from __future__ import annotations

import time
from typing import Mapping

from gamedays.model.measurement import Measurement
from gamedays.model.slo import DnsSLI
from gamedays.sli.expand import expand


def parse_server(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        return text, 53
    return host, int(port)


def measure(sli: DnsSLI, env: Mapping[str, str], timeout: float) -> Measurement:
    import dns.exception
    import dns.resolver

    host, port = parse_server(expand(sli.server, env))
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = port
    resolver.cache = None
    limit = min(timeout, sli.timeout.seconds)
    resolver.timeout = limit
    resolver.lifetime = limit
    start = time.perf_counter()
    try:
        answer = resolver.resolve(sli.name, sli.rdtype, raise_on_no_answer=True)
    except dns.resolver.NXDOMAIN:
        return Measurement.failed(f"{sli.name} {sli.rdtype}: NXDOMAIN from {host}:{port}", time.perf_counter() - start)
    except dns.resolver.NoAnswer:
        return Measurement.failed(f"{sli.name} {sli.rdtype}: no answer from {host}:{port}", time.perf_counter() - start)
    except dns.exception.Timeout:
        return Measurement.failed(f"{sli.name} {sli.rdtype}: no answer within {limit:g}s from {host}:{port}", time.perf_counter() - start)
    except (dns.exception.DNSException, OSError) as exc:
        return Measurement.failed(f"{sli.name} {sli.rdtype}: {exc}", time.perf_counter() - start)
    elapsed = time.perf_counter() - start
    return Measurement(good=len(answer) > 0, value=elapsed, elapsed=elapsed)
