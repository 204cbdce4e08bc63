"""The DNS SLI source against the sandbox's real DNS server on 127.0.0.1."""

from __future__ import annotations

import socket
import time

import pytest

from gamedays.model.slo import DnsSLI
from gamedays.model.units import Duration
from gamedays.sandbox.dns import ZoneServer
from gamedays.sandbox.ports import free_tcp_udp_port
from gamedays.sli.dns import server_address
from gamedays.sli.measure import measure
from tests.sli.fixtures import zone  # noqa: F401 - a fixture

SLACK = 0.5  # scheduling slack on a busy 2-core machine (a timeout, not a speed, is what is checked)


def dns_sli(server: str, name: str = "db.shop.internal", **extra: object) -> DnsSLI:
    return DnsSLI(source="dns", server=server, name=name, **extra)


def test_a_name_that_resolves_is_good_and_the_value_is_the_seconds_it_took(zone: ZoneServer):
    m = measure(dns_sli(zone.address), {}, timeout=2)
    assert m.good and m.error is None
    assert m.value is not None and 0 < m.value < 1.0 and m.value == m.elapsed


@pytest.mark.parametrize("rdtype", ["A", "SRV"])
def test_each_record_type_of_the_name_resolves(zone: ZoneServer, rdtype: str):
    assert measure(dns_sli(zone.address, rdtype=rdtype), {}, timeout=2).good


def test_a_cname_is_followed_to_its_address(zone: ZoneServer):
    zone.set_records("www", "CNAME", ["api"])
    assert measure(dns_sli(zone.address, "www.shop.internal"), {}, timeout=2).good
    zone.remove_records("api")
    m = measure(dns_sli(zone.address, "www.shop.internal"), {}, timeout=2)
    assert not m.good and m.error == f"www.shop.internal A: NXDOMAIN from {zone.address}"


def test_a_removed_record_is_a_bad_sample_that_says_nxdomain(zone: ZoneServer):
    assert measure(dns_sli(zone.address), {}, timeout=2).good
    zone.remove_records("db")
    m = measure(dns_sli(zone.address), {}, timeout=2)
    assert not m.good and m.value is None
    assert m.error == f"db.shop.internal A: NXDOMAIN from {zone.address}"
    zone.set_records("db", "A", ["127.0.0.1"])  # and back: the next sample is good again
    assert measure(dns_sli(zone.address), {}, timeout=2).good


def test_a_name_without_records_of_the_type_is_a_bad_sample_with_no_answer(zone: ZoneServer):
    m = measure(dns_sli(zone.address, rdtype="TXT"), {}, timeout=2)
    assert not m.good and m.error == f"db.shop.internal TXT: no answer from {zone.address}"


def test_a_name_outside_the_zone_is_refused(zone: ZoneServer):
    m = measure(dns_sli(zone.address, "example.com"), {}, timeout=2)
    assert not m.good and m.error == f"example.com A: REFUSED from {zone.address}"


def test_dropped_queries_give_a_bad_sample_within_the_timeout(zone: ZoneServer):
    zone.set_fault(drop=True)
    started = time.monotonic()
    m = measure(dns_sli(zone.address, timeout=Duration(0.5)), {}, timeout=5)
    took = time.monotonic() - started
    assert not m.good and m.value is None
    assert m.error == f"db.shop.internal A: no answer within 0.5s from {zone.address}"
    assert 0.45 <= took < 0.5 + SLACK
    zone.clear_fault()
    assert measure(dns_sli(zone.address), {}, timeout=2).good


def test_the_callers_timeout_bounds_the_sample_too(zone: ZoneServer):
    zone.set_fault(drop=True)
    started = time.monotonic()
    m = measure(dns_sli(zone.address, timeout=Duration(5.0)), {}, timeout=0.3)
    assert not m.good and "no answer within 0.3s" in m.error
    assert time.monotonic() - started < 0.3 + SLACK


def test_a_delay_above_the_timeout_is_bad_and_below_it_is_good_but_slow(zone: ZoneServer):
    zone.set_fault(delay_seconds=0.8)
    started = time.monotonic()
    m = measure(dns_sli(zone.address, timeout=Duration(0.3)), {}, timeout=5)
    assert not m.good and "no answer within 0.3s" in m.error
    assert time.monotonic() - started < 0.3 + SLACK
    zone.set_fault(delay_seconds=0.2)
    m = measure(dns_sli(zone.address, timeout=Duration(1.0)), {}, timeout=5)
    assert m.good and 0.2 <= m.value < 1.0


def test_the_server_comes_from_the_environment(zone: ZoneServer):
    sli = dns_sli("${SANDBOX_DNS}")
    assert measure(sli, {"SANDBOX_DNS": zone.address}, timeout=2).good
    m = measure(sli, {}, timeout=2)
    assert not m.good and m.error == "environment variable SANDBOX_DNS is not set (the SLI refers to ${SANDBOX_DNS})"


def test_nothing_listening_is_a_bad_sample_in_time():
    port = free_tcp_udp_port()
    started = time.monotonic()
    m = measure(dns_sli(f"127.0.0.1:{port}", timeout=Duration(0.3)), {}, timeout=2)
    assert not m.good and m.error == f"db.shop.internal A: no answer within 0.3s from 127.0.0.1:{port}"
    assert time.monotonic() - started < 0.3 + SLACK


@pytest.mark.parametrize("server", ["ns1.example.com:53", "127.0.0.1:99999", "not a server"])
def test_a_server_that_is_not_an_address_is_a_bad_sample_not_an_exception(server: str):
    # the catalog refuses such a server written literally: it can still come from the environment
    m = measure(dns_sli("${SANDBOX_DNS}"), {"SANDBOX_DNS": server}, timeout=1)
    assert not m.good
    assert m.error == f"DNS server {server!r} is not an IP address with an optional port, e.g. 127.0.0.1:5353"


def test_an_answer_over_512_bytes_comes_over_udp_with_edns(zone: ZoneServer):
    zone.set_records("big", "TXT", [f'"{"x" * 200} {i}"' for i in range(4)])  # ~850 bytes
    m = measure(dns_sli(zone.address, "big.shop.internal", rdtype="TXT"), {}, timeout=2)
    assert m.good, m.error


def test_a_truncated_udp_answer_is_retried_over_tcp(zone: ZoneServer):
    zone.set_records("big", "TXT", [f'"{"x" * 200} {i}"' for i in range(8)])  # ~1.7 kB: over the EDNS size
    m = measure(dns_sli(zone.address, "big.shop.internal", rdtype="TXT"), {}, timeout=2)
    assert m.good, m.error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        ("::1", ("::1", 53)),
        (" 10.0.0.1:53 ", ("10.0.0.1", 53)),
        ("ns1.shop.internal:53", None),  # an IP address, not a name: a sample never waits on a resolver
        ("127.0.0.1:70000", None),
        ("[::1]:abc", None),
    ],
)
def test_server_addresses_are_read_as_written(text: str, expected: tuple[str, int] | None):
    assert server_address(text) == expected


def test_the_sample_asks_the_server_it_is_given(zone: ZoneServer):
    """Two servers side by side: removing the record from one does not change the other's samples."""
    other = ZoneServer(records=()).start()
    try:
        other.set_records("db", "A", ["127.0.0.1"])
        zone.remove_records("db")
        assert measure(dns_sli(other.address), {}, timeout=2).good
        assert not measure(dns_sli(zone.address), {}, timeout=2).good
    finally:
        port = other.port
        other.stop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", port))  # freed by stop()
