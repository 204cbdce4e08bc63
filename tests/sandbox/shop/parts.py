"""The real parts the shop tests run: PostgreSQL servers of the sandbox's own making, and replica/balancer processes.

PostgreSQL is :func:`gamedays.sandbox.postgres.single_server`: the sandbox's primary alone, run as
``nobody`` when we are root, on 127.0.0.1 only, on a free port, with the ``shop`` role and database.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from gamedays.sandbox import processes
from gamedays.sandbox.dns import ZoneServer
from gamedays.sandbox.ports import free_port, wait_for_port
from gamedays.sandbox.postgres import PostgresServer
from gamedays.sandbox.shop import BalancerSpec, ReplicaSpec, write_backends_file
from tests.sandbox.shop.client import get, wait_until

START_TIMEOUT = 10.0


@dataclass(frozen=True)
class Postgres:
    """One running PostgreSQL server with a ``shop`` role and database, as the shop tests read it."""

    server: PostgresServer

    @property
    def port(self) -> int:
        return self.server.port

    def connect(self, dbname: str = "shop", user: str = "shop") -> psycopg.Connection[Any]:
        return self.server.connect(dbname, user, timeout=3.0)

    def items(self) -> set[str]:
        """The item of every order stored in this server (no table yet: none)."""
        with self.connect() as conn:
            if conn.execute("SELECT to_regclass('orders')").fetchone() == (None,):
                return set()
            return {row[0] for row in conn.execute("SELECT item FROM orders")}


@dataclass
class Shop:
    """Starts replica and balancer processes for one test; stops them all, and checks, at teardown."""

    zone: ZoneServer
    folder: Path
    started: list[tuple[subprocess.Popen[bytes], int]] = field(default_factory=list)

    def replica(self, name: str) -> Replica:
        spec = ReplicaSpec(port=free_port(), dns=self.zone.address, name=name)
        process = self._spawn(spec.argv(), spec.port, name)
        return Replica(spec, process)

    def balancer(self, backends: list[str], health_interval: float = 0.2) -> Balancer:
        backends_file = self.folder / "backends.json"
        write_backends_file(backends_file, backends)
        spec = BalancerSpec(port=free_port(), backends_file=backends_file, health_interval=health_interval)
        process = self._spawn(spec.argv(), spec.port, "balancer")
        return Balancer(spec, process)

    def stop_one(self, process: subprocess.Popen[bytes]) -> None:
        processes.stop(process, timeout=3.0)

    def stop_all(self) -> None:
        for process, _ in self.started:
            processes.stop(process, timeout=3.0)

    def _spawn(self, argv: list[str], port: int, name: str) -> subprocess.Popen[bytes]:
        process = processes.spawn(argv, log=self.folder / f"{name}.log")
        self.started.append((process, port))
        if not wait_for_port(port, START_TIMEOUT):
            raise AssertionError(f"{name} did not listen on {port}: {(self.folder / f'{name}.log').read_text()}")
        return process


@dataclass(frozen=True)
class Replica:
    spec: ReplicaSpec
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://{self.spec.address}"


@dataclass(frozen=True)
class Balancer:
    spec: BalancerSpec
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return self.spec.url

    def wait_healthy(self, count: int, timeout: float = 5.0) -> None:
        def enough() -> bool:
            status, _, body = get(f"{self.url}/-/backends")
            return status == 200 and sum(1 for b in body["backends"] if b["healthy"]) == count

        wait_until(enough, timeout, f"{count} healthy backend(s) behind the balancer")
