"""One PostgreSQL server of the sandbox: its data directory, its port on 127.0.0.1, its postmaster.

The postmaster is started directly (not through ``pg_ctl``) as a child in its own session, so
the sandbox holds its process handle, reaps it, and can SIGKILL exactly it as a fault. Stopping
follows PostgreSQL's own protocol: SIGINT (fast shutdown), then SIGQUIT (immediate), then SIGKILL.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, LiteralString

import psycopg
from psycopg.conninfo import make_conninfo

from gamedays.faults.local.pgserver import PostmasterPid
from gamedays.model.errors import SandboxError
from gamedays.processes import wait_gone
from gamedays.sandbox import processes
from gamedays.sandbox.ports import LOOPBACK
from gamedays.sandbox.postgres import commands, proctable
from gamedays.sandbox.postgres.binaries import PostgresBinaries

log = logging.getLogger(__name__)

POLL = 0.02
ORPHAN_GRACE = 10.0


class PostgresServer:
    """One server: ``folder/data`` is its data directory, ``folder`` holds its Unix socket.

    It listens on 127.0.0.1:``port`` only. Not thread-safe; one owner drives it.
    """

    host = LOOPBACK

    def __init__(
        self,
        name: str,
        folder: Path,
        *,
        port: int,
        binaries: PostgresBinaries,
        log_file: Path,
        superuser: str = "postgres",
        orphan_grace: float = ORPHAN_GRACE,
    ) -> None:
        self.name = name
        self.folder = folder
        self.port = port
        self.log_file = log_file
        self.superuser = superuser
        self.orphan_grace = orphan_grace
        self._binaries = binaries
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"PostgresServer({self.name!r}, port={self.port}, data_dir={str(self.data_dir)!r})"

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        return self.folder

    @property
    def dsn(self) -> str:
        """libpq connection string for the superuser on the ``postgres`` database."""
        return self.conninfo()

    def conninfo(self, dbname: str = "postgres", user: str | None = None, **options: str) -> str:
        """libpq connection string to this server over TCP on 127.0.0.1 (trust authentication)."""
        return make_conninfo(
            host=self.host, port=str(self.port), dbname=dbname, user=user or self.superuser, **options
        )

    def connect(self, dbname: str = "postgres", user: str | None = None, timeout: float = 5.0) -> psycopg.Connection[Any]:
        """An autocommit connection to this server; the caller closes it."""
        return psycopg.connect(
            self.conninfo(dbname, user), autocommit=True, connect_timeout=max(1, round(timeout))
        )

    def is_initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def postmaster_pid(self) -> int | None:
        """Pid of the running postmaster of this data directory, None when it is not running.

        Our own child first; else the pid in ``postmaster.pid`` if that process runs in the data
        directory (a postmaster someone else started on it).
        """
        if self._process is not None and self._process.poll() is None:
            return self._process.pid
        found = PostmasterPid.of(self.data_dir)
        pid = found.pid if found is not None else None
        if pid is not None and pid in proctable.processes_in(self.data_dir):
            return pid
        return None

    def is_running(self) -> bool:
        return self.postmaster_pid() is not None

    def start(self, timeout: float = 30.0) -> None:
        """Start the postmaster and wait until it accepts connections (a no-op when already running).

        Orphans of a SIGKILLed postmaster are waited for first (and SIGKILLed after
        ``orphan_grace`` seconds): they hold the old shared memory and block a new postmaster.
        """
        if self.is_running():
            return
        if not self.is_initialized():
            raise SandboxError(f"PostgreSQL server {self.name}: {self.data_dir} is not an initialized data directory")
        proctable.clear(self.data_dir, grace=self.orphan_grace)
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        self._process = processes.spawn(self._argv(), log=self.log_file, env=commands.server_env(), as_unprivileged=True)
        try:
            self._wait_ready(timeout, offset)
        except BaseException:
            self.stop()
            raise
        log.info("PostgreSQL %s started on %s:%d (pid %d)", self.name, self.host, self.port, self._process.pid)

    def stop(self, timeout: float = 10.0) -> None:
        """Fast shutdown (SIGINT), immediate (SIGQUIT) after ``timeout`` s, SIGKILL last; no process is left."""
        pid = self.postmaster_pid()
        if pid is not None:
            for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
                self._signal(pid, sig)
                if self._wait_exit(pid, wait):
                    break
                log.warning("PostgreSQL %s (pid %d) still running %.0fs after %s", self.name, pid, wait, sig.name)
        if self._process is not None:
            self._process.poll()  # reap
            self._process = None
        proctable.clear(self.data_dir, grace=5.0)

    def kill(self) -> int:
        """SIGKILL the postmaster, a fault: its backends are orphaned and exit on their own. Returns its pid."""
        pid = self.postmaster_pid()
        if pid is None:
            raise SandboxError(f"PostgreSQL server {self.name} is not running: nothing to kill")
        self._signal(pid, signal.SIGKILL)
        if not self._wait_exit(pid, 5.0):
            raise SandboxError(f"PostgreSQL server {self.name}: postmaster {pid} survived SIGKILL")
        log.info("PostgreSQL %s: postmaster %d killed", self.name, pid)
        return pid

    def restart(self, timeout: float = 30.0) -> None:
        self.stop()
        self.start(timeout)

    def is_in_recovery(self) -> bool:
        """True on a standby (replica), False on a primary; SQL ``pg_is_in_recovery()``."""
        row = self._query_one("SELECT pg_is_in_recovery()")
        return bool(row and row[0])

    def promote(self, timeout: float = 30.0) -> None:
        """Promote this standby to a primary and wait until it accepts writes (SQL ``pg_promote``)."""
        if not self.is_in_recovery():
            raise SandboxError(f"PostgreSQL server {self.name} is not a replica: there is nothing to promote")
        row = self._query_one("SELECT pg_promote(true, %s)", (max(1, round(timeout)),))
        if not (row and row[0]):
            raise SandboxError(f"PostgreSQL server {self.name} was not promoted within {timeout:g}s; see {self.log_file}")
        log.info("PostgreSQL %s promoted to primary", self.name)

    def _query_one(self, query: LiteralString, params: tuple[object, ...] = ()) -> tuple[Any, ...] | None:
        """The first row of ``query`` as the superuser; SandboxError when the server does not answer."""
        try:
            with self.connect() as conn:
                return conn.execute(query, params).fetchone()
        except psycopg.Error as exc:
            raise SandboxError(
                f"PostgreSQL server {self.name} on {self.host}:{self.port} failed to answer {query!r}: {str(exc).strip()}"
            ) from None

    def _argv(self) -> list[str]:
        return [
            self._binaries.postgres,
            "-D", str(self.data_dir),
            "-p", str(self.port),
            "-c", f"listen_addresses={self.host}",
            "-c", f"unix_socket_directories={self.socket_dir}",
            "-c", f"cluster_name={self.name}",
        ]  # fmt: skip

    def _wait_ready(self, timeout: float, log_offset: int) -> None:
        """Wait until ``postmaster.pid`` says "ready" and a connection works, or the postmaster exits.

        The connection is tried only once the postmaster says it listens: until then the port
        may belong to someone else, who would keep a client waiting for its connect timeout.
        """
        assert self._process is not None
        deadline = time.monotonic() + timeout
        last_error = "not ready yet"
        while True:
            code = self._process.poll()
            if code is not None:
                raise SandboxError(self._start_failure(code, log_offset))
            found = PostmasterPid.of(self.data_dir)
            if found is not None and found.status == "ready":
                try:
                    with self.connect(timeout=2.0) as conn:
                        conn.execute("SELECT 1")
                    return
                except psycopg.OperationalError as exc:  # e.g. "the database system is starting up"
                    last_error = str(exc).strip()
            if time.monotonic() >= deadline:
                raise SandboxError(
                    f"PostgreSQL server {self.name} did not accept connections on {self.host}:{self.port} "
                    f"within {timeout:g}s ({last_error}); see {self.log_file}"
                )
            time.sleep(POLL)

    def _start_failure(self, code: int, log_offset: int) -> str:
        try:
            with self.log_file.open("rb") as out:
                out.seek(log_offset)
                text = out.read().decode("utf-8", errors="replace")
        except OSError:
            text = ""
        if "Address already in use" in text:
            return (
                f"PostgreSQL server {self.name} cannot listen on {self.host}:{self.port}: the port is in use; "
                "stop whatever listens there or let the sandbox pick a free port"
            )
        lines = "\n".join(f"  {line}" for line in text.splitlines()[-commands.TAIL_LINES :])
        return f"PostgreSQL server {self.name} exited with code {code} while starting:\n{lines}\n(full log: {self.log_file})"

    def _signal(self, pid: int, sig: signal.Signals) -> None:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the postmaster to exit (reaping it when it is our child)."""
        if self._process is not None and self._process.pid == pid:
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        return wait_gone([pid], timeout)
