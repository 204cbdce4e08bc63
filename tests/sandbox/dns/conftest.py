"""A real sandbox DNS server on 127.0.0.1 per test, torn down (port free, threads gone) after it."""

from __future__ import annotations

from typing import Iterator

import pytest

from gamedays.sandbox.dns import ZoneServer
from tests.sandbox.dns.dnsclient import served_zone


@pytest.fixture
def zone() -> Iterator[ZoneServer]:
    """The default sandbox zone (``db`` SRV to port 5432), served for one test, torn down after it."""
    yield from served_zone()
