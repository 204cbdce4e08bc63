"""The shop: the demo service of the sandbox, which the faults must really hurt.

Several replica processes (:mod:`.replica`, an orders API on PostgreSQL, finding the
database through the sandbox DNS on every request) behind a load balancer process
(:mod:`.balancer`, round-robin to the replicas whose ``/healthz`` passes). The
sandbox starts them with :func:`gamedays.sandbox.processes.spawn` and the command
lines below, waits for their port (``wait_for_port``), and keeps the balancer's
backends file up to date with :func:`write_backends_file` as replicas come and go.

This module stays light (no psycopg, no dnspython): the supervisor imports it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from gamedays.atomicfile import write_atomically
from gamedays.sandbox.ports import LOOPBACK


@dataclass(frozen=True)
class ReplicaSpec:
    """How to start one replica: ``spawn(spec.argv(), log=...)``, then ``wait_for_port(spec.port, ...)``."""

    port: int
    dns: str
    name: str = ""
    db_srv: str = "db.shop.internal"
    db_user: str = "shop"
    database: str = "shop"
    dns_timeout: float = 1.0

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, the form the balancer's backends file takes."""
        return f"{LOOPBACK}:{self.port}"

    def argv(self, python: str = sys.executable) -> list[str]:
        return [
            python, "-m", "gamedays.sandbox.shop.replica",
            "--port", str(self.port),
            "--dns", self.dns,
            "--db-srv", self.db_srv,
            "--db-user", self.db_user,
            "--database", self.database,
            "--name", self.name or f"replica-{self.port}",
            "--dns-timeout", f"{self.dns_timeout:g}",
        ]  # fmt: skip


@dataclass(frozen=True)
class BalancerSpec:
    """How to start the balancer in front of the replicas listed in ``backends_file``."""

    port: int
    backends_file: Path
    health_interval: float = 0.5
    health_timeout: float = 2.0

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def argv(self, python: str = sys.executable) -> list[str]:
        return [
            python, "-m", "gamedays.sandbox.shop.balancer",
            "--port", str(self.port),
            "--backends-file", str(self.backends_file),
            "--health-interval", f"{self.health_interval:g}",
            "--health-timeout", f"{self.health_timeout:g}",
        ]  # fmt: skip


def write_backends_file(path: Path, backends: Iterable[str]) -> None:
    """Write the balancer's backend list atomically (temp file, fsync, rename): it never sees half a file."""
    write_atomically(path, json.dumps(list(backends)))


__all__ = ["BalancerSpec", "ReplicaSpec", "write_backends_file"]
