"""Making a new PostgreSQL server of the sandbox: its private folder, initdb, start, the application database.

:class:`~gamedays.sandbox.postgres.cluster.PostgresCluster` builds its primary with these, and
:func:`single_server` builds one server alone (no replica) for whoever needs just a database::

    with single_server(workdir) as server:   # initdb, start, `shop` role and database
        server.conninfo("shop", "shop")
    # stopped, every process waited for, data deleted; the logs stay in workdir

Data directories live in a private temporary folder (``gameday-pg-*`` under the system temp
dir), not in ``workdir``: its path is short enough for the Unix sockets kept next to the data,
and when we run as root the unprivileged server user can reach it (a pytest ``tmp_path`` or a
``mkdtemp`` workdir is root-only).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psycopg
from psycopg import sql

from gamedays.model.errors import SandboxError
from gamedays.sandbox.ports import free_port
from gamedays.sandbox.postgres import commands
from gamedays.sandbox.postgres.binaries import PostgresBinaries, locate_binaries
from gamedays.sandbox.postgres.server import ORPHAN_GRACE, PostgresServer
from gamedays.sandbox.postgres.settings import PostgresSettings

log = logging.getLogger(__name__)

SETUP_LOG = "postgres-setup.log"
#: Unix socket paths are limited to 107 bytes; ``/.s.PGSQL.65535`` takes 16 of them.
MAX_SOCKET_DIR = 107 - len("/.s.PGSQL.65535")


def make_runtime_dir() -> Path:
    """A new private folder for data directories and sockets; the server user may pass through, not list."""
    runtime = Path(tempfile.mkdtemp(prefix="gameday-pg-"))
    runtime.chmod(0o711)
    return runtime


def new_server(
    name: str,
    runtime: Path,
    *,
    port: int,
    binaries: PostgresBinaries,
    workdir: Path,
    settings: PostgresSettings,
    orphan_grace: float = ORPHAN_GRACE,
) -> PostgresServer:
    """A (not yet initialized) server in ``runtime/name``, owned by the server user, logging to ``workdir``."""
    folder = runtime / name
    if len(str(folder)) > MAX_SOCKET_DIR:
        raise SandboxError(
            f"the temporary folder {folder} is too long for a Unix socket path; set TMPDIR to a shorter folder"
        )
    commands.make_server_dir(folder)
    return PostgresServer(
        name,
        folder,
        port=port,
        binaries=binaries,
        log_file=workdir / f"postgres-{name}.log",
        superuser=settings.superuser,
        orphan_grace=orphan_grace,
    )


def initialize(
    server: PostgresServer, binaries: PostgresBinaries, settings: PostgresSettings, *, log_file: Path, timeout: float
) -> None:
    """initdb ``server``'s data directory, start it, create the application role and database."""
    argv = [
        binaries.initdb,
        "-D", str(server.data_dir),
        "-U", settings.superuser,
        "--auth=trust",  # local socket and 127.0.0.1, replication included
        "--encoding=UTF8",
        "--no-locale",
        "--no-sync",
        "--no-instructions",
        *settings.initdb_options(),
    ]  # fmt: skip
    commands.run(argv, log=log_file, timeout=timeout, what=f"initdb of {server.name}")
    server.start(timeout)
    _create_application_database(server, settings)


@contextmanager
def single_server(
    workdir: Path,
    *,
    settings: PostgresSettings | None = None,
    bin_dir: Path | None = None,
    port: int | None = None,
    name: str = "pg1",
    orphan_grace: float = ORPHAN_GRACE,
    timeout: float = 30.0,
) -> Iterator[PostgresServer]:
    """One running server on 127.0.0.1 with the application role and database, no replica; logs in ``workdir``.

    On exit (or when the creation fails) the server is stopped, every one of its processes
    waited for, and its data deleted. ``port`` defaults to a free one.
    """
    settings = settings or PostgresSettings()
    binaries = locate_binaries(bin_dir)
    workdir.mkdir(parents=True, exist_ok=True)
    runtime = make_runtime_dir()
    server: PostgresServer | None = None
    try:
        server = new_server(
            name, runtime, port=port or free_port(), binaries=binaries, workdir=workdir,
            settings=settings, orphan_grace=orphan_grace,
        )  # fmt: skip
        initialize(server, binaries, settings, log_file=workdir / SETUP_LOG, timeout=timeout)
        log.info("PostgreSQL server %r created", server)
        yield server
    finally:
        if server is not None:
            server.stop()  # raises when a process survives: the data is then left for a look
        shutil.rmtree(runtime)


def _create_application_database(server: PostgresServer, settings: PostgresSettings) -> None:
    role = sql.Identifier(settings.role)
    database = sql.Identifier(settings.database)
    try:
        with server.connect() as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(database, role))
            # the replication-lag SLI reads pg_stat_replication as the application's role
            conn.execute(sql.SQL("GRANT pg_monitor TO {}").format(role))
    except psycopg.Error as exc:
        raise SandboxError(f"cannot create the {settings.database} database on {server.name}: {exc}") from None
