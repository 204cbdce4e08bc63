"""``host:port`` as written, the one parser of the DNS SLI, the DNS writer and the DNS faults."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamedays.model.address import host_port


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        ("[::1]", ("::1", 53)),
        ("::1", ("::1", 53)),
        ("fe80::1:2", ("fe80::1:2", 53)),  # a bare IPv6 address: every colon is its own
        (" 10.0.0.1:53 ", ("10.0.0.1", 53)),
        ("ns1.shop.internal:5353", ("ns1.shop.internal", 5353)),
        ("ns1.shop.internal", ("ns1.shop.internal", 53)),
    ],
)
def test_addresses_are_read_as_written(text: str, expected: tuple[str, int]):
    assert host_port(text, 53) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "'' names no host"),
        (":53", "':53' names no host"),
        ("[]:53", "'[]:53' names no host"),
        ("127.0.0.1:", "'127.0.0.1:' has no port of 1-65535"),
        ("127.0.0.1:0", "'127.0.0.1:0' has no port of 1-65535"),
        ("127.0.0.1:65536", "'127.0.0.1:65536' has no port of 1-65535"),
        ("127.0.0.1:x53", "'127.0.0.1:x53' has no port of 1-65535"),
        ("127.0.0.1:+53", "'127.0.0.1:+53' has no port of 1-65535"),
        ("[::1]:abc", "'[::1]:abc' has no port of 1-65535"),
        ("[::1", "'[::1' is not [address]:port"),
        ("[::1]53", "'[::1]53' is not [address]:port"),
    ],
)
def test_a_bad_address_says_what_is_wrong(text: str, message: str):
    with pytest.raises(ValueError) as raised:
        host_port(text, 53)
    assert str(raised.value) == message


@given(st.ip_addresses(v=4).map(str), st.integers(1, 65535))
def test_any_ipv4_address_and_port_round_trip(ip: str, port: int):
    assert host_port(f"{ip}:{port}", 53) == (ip, port)


@given(st.ip_addresses(v=6).map(str), st.integers(1, 65535))
def test_any_bracketed_ipv6_address_and_port_round_trip(ip: str, port: int):
    assert host_port(f"[{ip}]:{port}", 53) == (ip, port)
    assert host_port(ip, 7) == (ip, 7)
