"""TcpProxy without faults: bytes go through unchanged, both ways, over many connections, with half-closes."""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gamedays.faults.local.tcpproxy import ProxyFault, TcpProxy
from gamedays.model.errors import SandboxError
from tests.faults.proxy.conftest import MakeProxy, port_refuses, threads_of
from tests.faults.proxy.echo import (
    EchoServer,
    connect,
    recv_exactly,
    recv_until_eof,
    round_trip,
)


def test_bytes_round_trip_unchanged(proxy: TcpProxy, echo: EchoServer):
    payload = bytes(range(256)) * 4
    with connect(proxy.port) as sock:
        sock.sendall(payload)
        assert recv_exactly(sock, len(payload)) == payload
        sock.sendall(b"\x00")
        assert recv_exactly(sock, 1) == b"\x00"
    assert echo.accepted == 1


def test_a_large_payload_goes_both_ways_at_once(proxy: TcpProxy):
    """8 MiB sent while the echo streams back: neither direction waits for the other (no deadlock on full buffers)."""
    payload = os.urandom(8 << 20)
    with connect(proxy.port, timeout=10) as sock:
        sender = threading.Thread(target=sock.sendall, args=(payload,), daemon=True)
        started = time.monotonic()
        sender.start()
        received = recv_exactly(sock, len(payload))
        sender.join(10)
        assert received == payload
        assert time.monotonic() - started < 10


def test_half_close_is_passed_on_and_the_rest_still_arrives(proxy: TcpProxy, echo: EchoServer):
    payload = os.urandom(300_000)
    with connect(proxy.port) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)  # the target sees EOF, echoes what is left, then closes its side
        assert recv_until_eof(sock) == payload
    assert echo.eofs == 1 and echo.resets == 0


def test_many_concurrent_connections(proxy: TcpProxy, echo: EchoServer):
    def exchange(number: int) -> bool:
        payload = f"connection {number} ".encode() * 500
        with connect(proxy.port) as sock:
            for _ in range(3):
                sock.sendall(payload)
                if recv_exactly(sock, len(payload)) != payload:
                    return False
        return True

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(exchange, range(100)))
    assert all(results)
    assert echo.accepted == 100 and proxy.accepted == 100


def test_the_target_is_asked_for_each_connection(make_proxy: MakeProxy, echo: EchoServer):
    other = EchoServer(greeting=b"other:")
    try:
        targets = [echo.address, other.address]
        proxy = make_proxy(lambda: targets[0])
        assert round_trip(proxy.port) >= 0
        targets[0] = other.address  # e.g. the DNS record moved after a failover
        with connect(proxy.port) as sock:
            assert recv_exactly(sock, 6) == b"other:"
        assert (echo.accepted, other.accepted) == (1, 1)
    finally:
        other.stop()


def test_two_proxies_run_side_by_side(make_proxy: MakeProxy):
    first, second = make_proxy(), make_proxy()
    assert first.port != second.port
    assert round_trip(first.port) < 1 and round_trip(second.port) < 1


def test_a_port_in_use_is_a_clear_error(proxy: TcpProxy, echo: EchoServer):
    taken = TcpProxy(lambda: echo.address, port=proxy.port)
    with pytest.raises(SandboxError, match=rf"cannot listen on 127\.0\.0\.1:{proxy.port}: Address already in use"):
        taken.start()
    taken.stop()  # harmless after a failed start


def test_it_listens_on_loopback_only(proxy: TcpProxy):
    listening = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port = local.split(":")
        if state == "0A" and int(port, 16) == proxy.port:  # 0A: LISTEN
            listening.append(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    assert listening == ["127.0.0.1"]


def test_stop_with_open_connections_is_prompt_and_leaves_no_thread(echo: EchoServer):
    proxy = TcpProxy(lambda: echo.address).start()
    clients = [connect(proxy.port) for _ in range(10)]
    try:
        for sock in clients:
            sock.sendall(b"hello")
            assert recv_exactly(sock, 5) == b"hello"
        proxy.set_fault(ProxyFault(latency=5.0))  # bytes waiting for their delay do not hold stop() up
        for sock in clients:
            sock.sendall(b"slow")
        started = time.monotonic()
        proxy.stop()
        assert time.monotonic() - started < 1.0
        assert threads_of(proxy) == []
        assert port_refuses(proxy.port)
        for sock in clients:  # every client sees its connection end, none hangs
            try:
                rest = sock.recv(10)
            except ConnectionResetError:
                rest = b""
            assert rest == b""
    finally:
        for sock in clients:
            sock.close()
        proxy.stop()


def test_fault_values_are_checked():
    with pytest.raises(ValueError, match="latency must be a number of seconds >= 0, got -1"):
        ProxyFault(latency=-1)
    with pytest.raises(ValueError, match="jitter must be"):
        ProxyFault(jitter=float("nan"))
    with pytest.raises(ValueError, match="bandwidth must be a whole number of bytes per second > 0, got 0"):
        ProxyFault(bandwidth=0)
    with pytest.raises(ValueError, match="blackhole must be true or false"):
        ProxyFault(blackhole="yes")  # type: ignore[arg-type]
    delays = [ProxyFault(latency=0.3, jitter=0.1).one_way_delay(random.Random(seed)) for seed in range(50)]
    assert all(0.15 <= delay <= 0.2 for delay in delays) and len(set(delays)) > 1
