"""A PostgreSQL server on this machine, known by its data directory: what it is, where it listens.

Everything here is read from the data directory and the process table, never from a
configuration of ours: ``postmaster.opts`` holds the command line the server last ran
with (its binary, port, socket folder, ``cluster_name``), ``postmaster.pid`` the running
postmaster and its address, ``/proc`` the processes working in the directory. Local only
(Linux ``/proc``): see :mod:`gamedays.faults.pglocal` for the functions built on it.
"""

from __future__ import annotations

import enum
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo


class Role(enum.Enum):
    """What a local server is right now."""

    STOPPED = "stopped"
    PRIMARY = "primary"
    STANDBY = "standby"


@dataclass(frozen=True)
class LocalServer:
    """A PostgreSQL server on this machine, known by its data directory."""

    data_dir: Path

    @classmethod
    def of(cls, data_dir: str) -> LocalServer:
        """The server of ``data_dir`` (an experiment's argument), checked to be a data directory."""
        if not isinstance(data_dir, str) or not data_dir.strip():
            raise _failed(f"data_dir must be a data directory path, got {data_dir!r}")
        folder = Path(data_dir).resolve()
        if not (folder / "PG_VERSION").is_file():
            raise _failed(f"{folder} is not a PostgreSQL data directory (no PG_VERSION)")
        return cls(folder)

    def command_line(self) -> list[str]:
        """The server's last command line, from ``postmaster.opts`` (binary first)."""
        path = self.data_dir / "postmaster.opts"
        try:
            argv = shlex.split(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise _failed(f"cannot read {path}: {exc.strerror or exc}; start the server once with postgres or pg_ctl") from None
        if not argv:
            raise _failed(f"{path} is empty: the server's command line is unknown")
        return argv

    def program(self, name: str) -> str:
        """``name`` (pg_ctl, pg_rewind...) from the installation the server runs from."""
        path = Path(self.command_line()[0]).with_name(name)
        if not os.access(path, os.X_OK):
            raise _failed(f"{name} is not next to the server's binary ({path})")
        return str(path)

    def setting(self, name: str) -> str | None:
        """A ``-c name=value`` (or ``--name=value``) of the last command line."""
        argv = self.command_line()
        for index, word in enumerate(argv):
            if word == "-c" and index + 1 < len(argv) and argv[index + 1].startswith(f"{name}="):
                return argv[index + 1].split("=", 1)[1]
            if word.startswith(f"--{name.replace('_', '-')}="):
                return word.split("=", 1)[1]
        return None

    def port(self) -> int:
        """The port of the last command line (``-p``), else 5432."""
        argv = self.command_line()
        for index, word in enumerate(argv):
            if word == "-p" and index + 1 < len(argv) and argv[index + 1].isdigit():
                return int(argv[index + 1])
        found = self.setting("port")
        return int(found) if found and found.isdigit() else 5432

    def socket_locks(self) -> list[Path]:
        """The lock files of the server's Unix sockets (``unix_socket_directories`` of the command line)."""
        folders = [f.strip() for f in (self.setting("unix_socket_directories") or "").split(",") if f.strip()]
        return [Path(folder) / f".s.PGSQL.{self.port()}.lock" for folder in folders]

    def name(self) -> str:
        """How the server calls itself as a replica: its ``cluster_name``, else the folder's name."""
        return self.setting("cluster_name") or self.data_dir.parent.name

    def pid(self) -> int | None:
        """The live postmaster of this data directory (from ``postmaster.pid``), or None."""
        lines = self._pid_lines()
        if not lines or not lines[0].strip().isdigit():
            return None
        pid = int(lines[0].strip())
        return pid if pid in processes_in(self.data_dir) else None

    def address(self) -> tuple[int, list[str]]:
        """(port, hosts) of the running server: its socket folder, then its TCP listen address."""
        lines = self._pid_lines()
        if len(lines) < 6 or not lines[3].strip().isdigit():
            raise _failed(f"{self.data_dir / 'postmaster.pid'} names no port: is the server running?")
        hosts = [lines[4].strip()] if lines[4].strip() else []
        listen = lines[5].strip().split(",")[0].strip()
        if listen:
            hosts.append("127.0.0.1" if listen in ("*", "0.0.0.0") else listen)
        return int(lines[3].strip()), hosts

    def tcp_conninfo(self, user: str, **options: str) -> str:
        """A libpq connection string to the running server over TCP (what a replica uses)."""
        port, hosts = self.address()
        tcp = [h for h in hosts if not h.startswith("/")] or ["127.0.0.1"]
        return make_conninfo(host=tcp[0], port=str(port), user=user, dbname="postgres", **options)

    def connect(self, user: str) -> psycopg.Connection[Any]:
        port, hosts = self.address()
        conninfo = make_conninfo(host=",".join(hosts), port=",".join([str(port)] * len(hosts)), user=user, dbname="postgres")
        try:
            return psycopg.connect(conninfo, autocommit=True, connect_timeout=5, application_name="gameday-fault")
        except psycopg.Error as exc:
            raise _failed(f"cannot connect to the server on {self.data_dir} as {user}: {str(exc).strip()}") from None

    def role(self, user: str) -> Role:
        if self.pid() is None:
            return Role.STOPPED
        with self.connect(user) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        return Role.STANDBY if row and row[0] else Role.PRIMARY

    def _pid_lines(self) -> list[str]:
        try:
            return (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return []


def processes_in(data_dir: Path) -> list[int]:
    """Live (non-zombie) processes working in ``data_dir``: a server's postmaster and every backend."""
    target = str(data_dir)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd.removesuffix(" (deleted)") == target and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def lock_pid(lock: Path) -> int | None:
    """The pid a PostgreSQL lock file (``postmaster.pid``, ``.s.PGSQL.<port>.lock``) names, if readable."""
    try:
        first = lock.read_text().splitlines()[:1]
    except OSError:
        return None
    text = first[0].strip().lstrip("-") if first else ""
    return int(text) if text.isdigit() else None


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie: a zombie holds no socket, memory or lock any more."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] not in (["Z"], ["X"])


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed (imported late: chaoslib is heavy)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
