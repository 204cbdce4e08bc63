"""A real sandbox DNS server on 127.0.0.1 per test, torn down (port free, threads gone) after it."""

from __future__ import annotations

import threading
from typing import Iterator

import pytest

from gamedays.sandbox.dns import ZoneServer, default_records
from tests.sandbox.dns.dnsclient import PG_PORT, port_is_free


@pytest.fixture
def zone() -> Iterator[ZoneServer]:
    """The default sandbox zone (``db`` SRV to port 5432), served for one test, torn down after it."""
    before = {t.ident for t in threading.enumerate()}
    server = ZoneServer(records=default_records(PG_PORT)).start()
    yield server
    port = server.port
    server.stop()
    assert port_is_free(port), f"port {port} still bound after stop()"
    left = [t.name for t in threading.enumerate() if t.ident not in before]
    assert not left, f"threads left running after stop(): {left}"
