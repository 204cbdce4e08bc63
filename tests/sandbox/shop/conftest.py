"""Fixtures of the shop tests: two PostgreSQL servers for the session; DNS, replicas and balancer per test."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest

from gamedays.sandbox import processes
from gamedays.sandbox.dns import ZoneServer, default_records
from gamedays.sandbox.ports import wait_for_port
from tests.sandbox.shop.parts import Postgres, Shop, start_postgres, stop_postgres


@pytest.fixture(scope="session")
def postgres_pair() -> Iterator[tuple[Postgres, Postgres]]:
    """Two independent PostgreSQL servers: the primary, and another one to fail over to."""
    servers: list[Postgres] = []
    try:
        for _ in range(2):
            servers.append(start_postgres())
        yield servers[0], servers[1]
    finally:
        for server in servers:
            stop_postgres(server.process)
            assert processes.wait_gone([server.process.pid], 5.0), "PostgreSQL outlived its fixture"
            shutil.rmtree(server.base, ignore_errors=True)


@pytest.fixture
def postgres(postgres_pair: tuple[Postgres, Postgres]) -> Postgres:
    return postgres_pair[0]


@pytest.fixture
def zone(postgres: Postgres) -> Iterator[ZoneServer]:
    """The sandbox zone, ``db`` pointing at the primary's port."""
    with ZoneServer(records=default_records(postgres.port)) as server:
        yield server


@pytest.fixture
def shop(zone: ZoneServer, tmp_path: Path) -> Iterator[Shop]:
    launcher = Shop(zone, tmp_path)
    try:
        yield launcher
    finally:
        launcher.stop_all()
    pids = [process.pid for process, _ in launcher.started]
    assert processes.wait_gone(pids, 5.0), "a shop process outlived the test"
    for _, port in launcher.started:
        assert not wait_for_port(port, 0.05), f"port {port} still accepts connections after teardown"
