"""TcpProxy faults against a real echo server: latency, jitter, bandwidth, blackhole, reset, unreachable targets."""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Iterator

import pytest

from gamedays.faults.local.tcpproxy import ProxyFault, TargetUnavailable, TcpProxy
from tests.faults.proxy.conftest import MakeProxy, threads_of
from tests.faults.proxy.echo import (
    LOOPBACK,
    EchoServer,
    connect,
    recv_exactly,
    round_trip,
    wait_until,
)


def _ended(sock: socket.socket) -> str:
    """How the proxy ended a connection: 'reset' or 'closed'; a hang fails through the socket's timeout."""
    try:
        data = sock.recv(10)
    except ConnectionResetError:
        return "reset"
    assert data == b"", f"expected the end of the stream, got {data!r}"
    return "closed"


def _reset_on_arrival(port: int) -> str:
    """Connect, send, read: 'reset' when the proxy resets the connection at any of the three."""
    try:
        with connect(port, timeout=2) as sock:
            sock.sendall(b"hello")
            return _ended(sock)
    except (ConnectionResetError, BrokenPipeError):
        return "reset"  # the RST can beat connect() or send() back


def test_latency_is_added_to_every_round_trip_and_removed_by_clearing(proxy: TcpProxy):
    assert round_trip(proxy.port) < 0.1
    proxy.set_fault(ProxyFault(latency=0.3))
    with connect(proxy.port) as sock:  # an open connection is slowed down...
        for _ in range(2):
            started = time.monotonic()
            sock.sendall(b"ping")
            assert recv_exactly(sock, 4) == b"ping"
            assert 0.3 <= time.monotonic() - started < 0.6
        assert 0.3 <= round_trip(proxy.port) < 0.6  # ...and so is a new one
        proxy.clear_fault()
        started = time.monotonic()
        sock.sendall(b"pong")
        assert recv_exactly(sock, 4) == b"pong"
        assert time.monotonic() - started < 0.1
    assert round_trip(proxy.port) < 0.1


def test_latency_is_pipelined_not_added_per_message(proxy: TcpProxy):
    """Ten messages 30 ms apart each come back ~latency after they were sent, in order: not latency after latency."""
    proxy.set_fault(ProxyFault(latency=0.3))
    messages = [f"message {number:02d};".encode() for number in range(10)]
    with connect(proxy.port) as sock:

        def send_spaced() -> None:
            for message in messages:
                sock.sendall(message)
                time.sleep(0.03)  # separate segments: each one is a chunk of its own at the proxy

        sender = threading.Thread(target=send_spaced, daemon=True)
        started = time.monotonic()
        sender.start()
        assert recv_exactly(sock, sum(map(len, messages))) == b"".join(messages)
        spent = time.monotonic() - started
        sender.join(5)
    assert 0.3 + 0.27 <= spent < 0.9, spent  # serialised delays would take 10 x 0.3 s


def test_jitter_adds_a_random_share_on_top_of_the_latency(proxy: TcpProxy):
    proxy.set_fault(ProxyFault(latency=0.1, jitter=0.2))
    with connect(proxy.port) as sock:
        times = []
        for _ in range(6):
            started = time.monotonic()
            sock.sendall(b"j")
            assert recv_exactly(sock, 1) == b"j"
            times.append(time.monotonic() - started)
    assert all(0.1 <= spent < 0.45 for spent in times), times
    assert max(times) - min(times) > 0.01, times  # it varies


@pytest.fixture
def ticker() -> Iterator[tuple[str, int]]:
    """A server that sends b"tick" every 50 ms for 2 s, and reads (and drops) whatever it gets meanwhile."""
    listener = socket.create_server((LOOPBACK, 0))
    listener.settimeout(5)
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        conn.settimeout(0.05)
        with conn:
            for _ in range(40):
                if stop.is_set():
                    return
                try:
                    conn.sendall(b"tick")
                    conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()
    stop.set()
    thread.join(5)
    listener.close()
    assert not thread.is_alive()


def test_a_throttled_upload_does_not_stall_the_other_direction(make_proxy: MakeProxy, ticker: tuple[str, int]):
    proxy = make_proxy(lambda: ticker)
    proxy.set_fault(ProxyFault(bandwidth=20_000))
    with connect(proxy.port) as sock:
        uploader = threading.Thread(target=_send_ignoring_errors, args=(sock, os.urandom(2_000_000)), daemon=True)
        uploader.start()  # 2 MB at 20 kB/s: 100 s of backlog in the client->target direction
        started = time.monotonic()
        assert recv_exactly(sock, 4 * 10) == b"tick" * 10  # ten ticks, 50 ms apart, arrive on time anyway
        assert time.monotonic() - started < 1.5
    uploader.join(5)
    assert not uploader.is_alive()


def _send_ignoring_errors(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:  # the test closed the socket before the upload was through: expected
        return


def test_bandwidth_is_roughly_honoured(proxy: TcpProxy):
    """100 kB at 50 kB/s takes about 2 s (the echo comes back pipelined, at the same rate)."""
    payload = os.urandom(100_000)
    proxy.set_fault(ProxyFault(bandwidth=50_000))
    with connect(proxy.port, timeout=10) as sock:
        sender = threading.Thread(target=sock.sendall, args=(payload,), daemon=True)
        started = time.monotonic()
        sender.start()
        assert recv_exactly(sock, len(payload)) == payload
        spent = time.monotonic() - started
        sender.join(5)
        assert 1.9 <= spent < 5.0, spent
        proxy.clear_fault()
        started = time.monotonic()
        sock.sendall(payload)
        assert recv_exactly(sock, len(payload)) == payload
        assert time.monotonic() - started < 0.5


def test_blackhole_forwards_nothing_and_the_held_bytes_flow_once_cleared(proxy: TcpProxy, echo: EchoServer):
    with connect(proxy.port) as sock:
        sock.sendall(b"before")
        assert recv_exactly(sock, 6) == b"before"
        proxy.set_fault(ProxyFault(blackhole=True))
        sock.sendall(b"during")
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(10)  # the client's read times out...
        assert echo.received == 6  # ...and the target got nothing
        with connect(proxy.port) as quitter:  # gives up before the blackhole lifts: never reaches the target
            quitter.sendall(b"gave up")
        with connect(proxy.port) as late:  # the proxy accepts, but no connection reaches the target
            late.sendall(b"late")
            late.settimeout(0.3)
            with pytest.raises(TimeoutError):
                late.recv(10)
            assert echo.accepted == 1
            proxy.clear_fault()
            late.settimeout(2)
            assert recv_exactly(late, 4) == b"late"
        sock.settimeout(2)
        assert recv_exactly(sock, 6) == b"during"  # the stream is intact, like after TCP retransmission
    assert wait_until(lambda: echo.accepted == 2 and echo.received == 16)
    time.sleep(0.2)  # the quitter would have been let through within 50 ms of the blackhole lifting
    assert (echo.accepted, echo.received) == (2, 16)


def test_reset_resets_open_and_new_connections_on_both_sides(proxy: TcpProxy, echo: EchoServer):
    with connect(proxy.port, timeout=2) as sock:
        sock.sendall(b"hello")
        assert recv_exactly(sock, 5) == b"hello"
        proxy.set_fault(ProxyFault(reset=True))
        with pytest.raises(ConnectionResetError):
            sock.recv(10)  # within the socket's 2 s timeout: the RST comes within 50 ms
    assert wait_until(lambda: echo.resets == 1)  # the target's side of the connection was reset too
    assert _reset_on_arrival(proxy.port) == "reset"
    assert echo.accepted == 1
    proxy.clear_fault()
    assert round_trip(proxy.port) < 0.5


def test_a_target_that_raises_resets_the_client_instead_of_hanging_it(make_proxy: MakeProxy):
    def nowhere() -> tuple[str, int]:
        raise TargetUnavailable("db.shop.internal has no SRV record")

    def broken() -> tuple[str, int]:
        raise KeyError("anything at all")

    for target in (nowhere, broken):
        proxy = make_proxy(target)
        assert _reset_on_arrival(proxy.port) == "reset"


def test_an_unreachable_target_resets_the_client(make_proxy: MakeProxy):
    with socket.create_server((LOOPBACK, 0)) as placeholder:
        closed = placeholder.getsockname()
    proxy = make_proxy(lambda: closed)  # nothing listens there any more: connection refused
    assert _reset_on_arrival(proxy.port) == "reset"


def test_stop_during_a_blackhole_is_prompt(echo: EchoServer):
    proxy = TcpProxy(lambda: echo.address).start()
    try:
        proxy.set_fault(ProxyFault(blackhole=True))
        clients = [connect(proxy.port) for _ in range(5)]  # all waiting to reach the target
        assert wait_until(lambda: len(threads_of(proxy)) == 6)
        started = time.monotonic()
        proxy.stop()
        assert time.monotonic() - started < 1.0
        assert threads_of(proxy) == []
        for sock in clients:
            sock.settimeout(2)
            assert _ended(sock) == "closed"
            sock.close()
        assert echo.accepted == 0
    finally:
        proxy.stop()
