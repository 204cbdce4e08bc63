"""Fixtures of the shop tests: two PostgreSQL servers for the session; DNS, replicas and balancer per test."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Iterator

import pytest

from gamedays import processes
from gamedays.sandbox.dns import ZoneServer, default_records
from gamedays.sandbox.ports import wait_for_port
from gamedays.sandbox.postgres import single_server
from tests.sandbox.postgres.helpers import processes_under
from tests.sandbox.shop.parts import Postgres, Shop


@pytest.fixture(scope="session")
def postgres_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Postgres, Postgres]]:
    """Two independent PostgreSQL servers: the primary, and another one to fail over to."""
    workdir = tmp_path_factory.mktemp("shop-postgres")
    pids: list[int] = []
    runtimes: list[Path] = []
    with ExitStack() as stack:
        servers = [stack.enter_context(single_server(workdir, name=name)) for name in ("pg1", "pg2")]
        for server in servers:
            pid = server.postmaster_pid()
            assert pid is not None
            pids.append(pid)
            runtimes.append(server.folder.parent)
        yield Postgres(servers[0]), Postgres(servers[1])
    assert processes.wait_gone(pids, 5.0), "PostgreSQL outlived its fixture"
    for runtime in runtimes:
        assert processes_under(runtime) == [], f"processes left in {runtime}"
        assert not runtime.exists(), f"{runtime} left behind"


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
