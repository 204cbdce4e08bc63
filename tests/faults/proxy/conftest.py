"""Fixtures for the TCP fault proxy: a real echo server, proxies that are always stopped and proven gone."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from gamedays.faults.local import proxy as ctk
from gamedays.faults.local.tcpproxy import TcpProxy
from gamedays.processes import wait_gone
from tests.faults.proxy.echo import LOOPBACK, EchoServer

MakeProxy = Callable[..., TcpProxy]


def port_refuses(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1.0):
            return False
    except ConnectionRefusedError:
        return True


def threads_of(proxy: TcpProxy) -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith(proxy.thread_prefix)]


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.stop()


@pytest.fixture
def make_proxy(echo: EchoServer) -> Iterator[MakeProxy]:
    """Start proxies (to the echo server unless told otherwise); on teardown stop them and prove nothing is left."""
    made: list[TcpProxy] = []

    def make(target: Callable[[], tuple[str, int]] | None = None, **kwargs: object) -> TcpProxy:
        proxy = TcpProxy(target or (lambda: echo.address), **kwargs)  # type: ignore[arg-type]
        made.append(proxy)
        return proxy.start()

    yield make
    for proxy in made:
        started = time.monotonic()
        proxy.stop()
        assert time.monotonic() - started < 6.0
        assert threads_of(proxy) == []
        assert port_refuses(proxy.port)


@pytest.fixture
def proxy(make_proxy: MakeProxy) -> TcpProxy:
    return make_proxy()


@pytest.fixture
def state_file(tmp_path: Path) -> Iterator[str]:
    """Where a test's proxy process is recorded; on teardown a proxy still recorded there is stopped, proven gone."""
    path = tmp_path / "proxy.json"
    yield str(path)
    if path.exists():
        pid = int(json.loads(path.read_text())["pid"])
        ctk.stop_proxy(str(path))
        assert wait_gone([pid], 5.0), f"proxy process {pid} left running"
