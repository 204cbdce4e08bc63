"""Test helpers for the sandbox's PostgreSQL: a /proc scan of our own, bounded polling, a shop connection."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

import psycopg

from gamedays.sandbox.postgres import PostgresCluster

MakeCluster = Callable[..., PostgresCluster]


def processes_under(folder: Path) -> list[int]:
    """Pids of live processes working in, or started with a path inside, ``folder`` (a /proc scan of its own)."""
    prefix = str(folder) + "/"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone, or a zombie: holds nothing any more
            continue
        if f"{cwd}/".startswith(prefix) or prefix in cmdline:
            found.append(int(entry.name))
    return found


def wait_until(check: Callable[[], bool], timeout: float = 5.0, interval: float = 0.02) -> bool:
    """Poll ``check`` until true, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


def connect(conninfo: str, **options: Any) -> psycopg.Connection[Any]:
    """An autocommit psycopg connection, as a client of the sandbox would open it."""
    return psycopg.connect(conninfo, autocommit=True, connect_timeout=5, **options)
