"""PostgreSQL disaster recovery: restore from a base backup when no replica is usable (local only).

The database playbook's disaster is "both hosts are lost": :func:`lose_server` kills a
server and moves its data directory aside (``<data_dir>.lost-<timestamp>``), so it cannot
be restarted; done to the primary and the replica, no replica is left to promote. The
recovery restores the base backup :func:`take_base_backup` took before the disaster on the
lost primary's data directory and port (:func:`restore_base_backup`): every write after
the backup is lost, which is the RPO the playbook measures. Afterwards,
:func:`rebuild_replica` gives the primary its streaming replica again (on the lost
replica's data directory, port and name) and :func:`remove_lost` deletes what the
disaster moved aside.

    backup                      disaster                 recovery                      afterwards
    take_base_backup(dsn, dir)  lose_server(primary)     restore_base_backup(dir,      rebuild_replica(primary, replica)
                                lose_server(replica)         primary)                  remove_lost(primary), remove_lost(replica)

``take_base_backup`` is a ``pg_basebackup -X stream`` (self-contained: it carries the WAL
to reach consistency) of the server behind ``dsn``, into ``backup_dir`` (relative paths
land in the current directory: the report folder under the engine), plus
``gameday_backup.json``: how the server ran (port, listen address, socket folder,
cluster name, from its settings), the backup's label, start and end LSN and the time it
took. The restore starts the server with those settings through ``pg_ctl`` of the same
installation, as the owner of the data's folder (PostgreSQL refuses root: as root it
drops to that user, see :func:`gamedays.faults.local.pgcontrol.run_as_owner`).
Failures raise chaoslib's ``ActivityFailed``; passwords never appear in messages or files.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from gamedays.atomicfile import write_atomically
from gamedays.faults.local.pgcontrol import (
    clear_leftovers,
    run_as_owner,
    start,
    wait_streaming,
)
from gamedays.faults.local.pglocal import rejoin_as_replica
from gamedays.faults.local.pgserver import (
    LocalServer,
    Role,
    installed_program,
    processes_in,
)
from gamedays.model.reach import Reach, acts_on
from gamedays.processes import alive, wait_gone

__all__ = ["lose_server", "rebuild_replica", "remove_lost", "restore_base_backup", "take_base_backup"]

log = logging.getLogger(__name__)

METADATA = "gameday_backup.json"
RESTORED_MARK = "gameday_restored.json"
DEFAULT_LOG = "postgres-dr.log"
_SETTINGS = ("port", "listen_addresses", "unix_socket_directories", "cluster_name", "server_version")
_END_LSN = re.compile(r"write-ahead log end point: ([0-9A-F]+/[0-9A-F]+)")
_START = re.compile(r"^START WAL LOCATION: ([0-9A-F]+/[0-9A-F]+)", re.MULTILINE)
_SIGNALS = ("standby.signal", "recovery.signal", "postmaster.pid", "postmaster.opts")


@acts_on(Reach.POSTGRES)
def take_base_backup(
    dsn: str, backup_dir: str, user: str | None = None, log_file: str = DEFAULT_LOG, timeout_seconds: float = 300.0
) -> dict[str, Any]:
    """``pg_basebackup -X stream`` of the server behind ``dsn`` into the new folder ``backup_dir``.

    ``user`` overrides the DSN's user (it needs the REPLICATION privilege: e.g. ``postgres``
    when the DSN is the application's). Returns ``backup_dir``, ``label``, ``start_lsn``,
    ``end_lsn``, ``seconds``, ``port`` and ``taken_at`` (epoch seconds).
    """
    target = Path(backup_dir).resolve()
    if target.exists() and any(target.iterdir()):
        raise _failed(f"backup folder {target} is not empty: give a new folder for the base backup")
    params = _params(dsn, user)
    settings = _server_settings(params)
    label = f"gameday-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    conninfo = make_conninfo(**{k: v for k, v in params.items() if k != "password"})
    argv = [
        installed_program("pg_basebackup"), "-D", str(target), "-d", conninfo, "--wal-method=stream",
        "--checkpoint=fast", f"--label={label}", "--verbose",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if "password" in params:
        env["PGPASSWORD"] = params["password"]
    began, taken_at = time.monotonic(), time.time()
    output = _run(argv, env, Path(log_file), float(timeout_seconds), f"pg_basebackup of {_safe(params)}")
    seconds = round(time.monotonic() - began, 3)
    end = _END_LSN.search(output)
    start_lsn = _START.search((target / "backup_label").read_text()) if (target / "backup_label").exists() else None
    metadata = {
        "label": label, "taken_at": taken_at, "seconds": seconds, "source": _safe(params),
        "start_lsn": start_lsn.group(1) if start_lsn else None, "end_lsn": end.group(1) if end else None,
        "settings": settings,
    }  # fmt: skip
    write_atomically(target / METADATA, json.dumps(metadata, indent=2) + "\n")
    log.info("base backup %s of %s in %s (%.2fs, end %s)", label, _safe(params), target, seconds, metadata["end_lsn"])
    return {"backup_dir": str(target), "port": int(settings["port"]), **{k: metadata[k] for k in ("label", "start_lsn", "end_lsn", "seconds", "taken_at")}}


@acts_on(Reach.LOCAL_HOST)
def lose_server(data_dir: str) -> dict[str, Any]:
    """The disaster "this server's host is lost": SIGKILL its processes, move ``data_dir`` to ``<data_dir>.lost-<time>``.

    Idempotent: a data directory already gone with a ``.lost-*`` beside it is reported, not an error.
    """
    folder = Path(data_dir).resolve()
    if not folder.exists():
        earlier = _lost_dirs(folder)
        if earlier:
            return {"data_dir": str(folder), "moved_to": str(earlier[-1]), "killed": [], "already_lost": True}
        raise _failed(f"{folder} does not exist, and nothing was lost there: data_dir must be a server's data directory")
    server = LocalServer.of(str(folder))
    killed = _kill_all(server)
    clear_leftovers(server, grace=1.0)  # stale lock files and sockets of the dead postmaster (its zombie)
    moved = folder.with_name(f"{folder.name}.lost-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 1000000:06d}")
    folder.rename(moved)
    log.info("lost the server on %s: killed %s, data moved to %s", folder, killed, moved)
    return {"data_dir": str(folder), "moved_to": str(moved), "killed": killed, "already_lost": False}


@acts_on(Reach.LOCAL_HOST)
def restore_base_backup(
    backup_dir: str,
    data_dir: str,
    user: str = "postgres",
    log_file: str = DEFAULT_LOG,
    timeout_seconds: float = 60.0,
    port: int | None = None,
    name: str | None = None,
    wal_archive: str | None = None,
    target_time: str | None = None,
) -> dict[str, Any]:
    """Copy the base backup into ``data_dir`` and start it as a primary on the backed-up server's port. Idempotent.

    Returns once a write commits: ``restored`` (False when ``data_dir`` was restored from
    this backup already: it is started if it does not run), ``port``, ``pid``, the backup's
    ``label`` and ``end_lsn``, ``seconds``. A ``data_dir`` that holds anything else is
    refused (lose it first): nothing is ever deleted here.

    A new server beside the backed-up one: ``port`` and ``name`` (its ``cluster_name``) replace
    the backed-up server's, its socket folder is ``data_dir``'s folder. Point-in-time recovery:
    with ``wal_archive`` (a folder of archived WAL segments, as ``archive_command`` copies them)
    and ``target_time`` (ISO 8601 with its time zone; none: to the end of the archive), the
    restored server replays the archived WAL up to that time, then is promoted; it archives
    nothing itself.
    """
    if target_time is not None and wal_archive is None:
        raise _failed("point-in-time recovery to target_time needs the wal_archive its WAL is replayed from")
    began = time.monotonic()
    deadline = began + float(timeout_seconds)
    source = Path(backup_dir).resolve()
    metadata = read_metadata(source)
    folder = Path(data_dir).resolve()
    if _restored_label(folder) == metadata["label"]:  # restored from this backup before: make sure it runs
        previous = LocalServer(folder)
        if previous.pid() is None:
            start(previous, Path(log_file), _left(deadline))
        port = _wait_writable(previous, user, deadline)
        return _restored(False, previous, port, metadata, began)
    if folder.exists():
        raise _failed(f"{folder} exists: move the lost server's data aside first (lose_server), then restore into it")
    owner = _owner_of(folder.parent)
    staging = folder.with_name(f"{folder.name}.restoring")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging, ignore=shutil.ignore_patterns(METADATA, "backup_manifest"), symlinks=True)
    for signal_file in _SIGNALS:
        (staging / signal_file).unlink(missing_ok=True)
    write_atomically(staging / RESTORED_MARK, json.dumps({"label": metadata["label"], "from": str(source)}) + "\n")
    settings = dict(metadata["settings"])
    if port is not None or name is not None:  # a new server: its own port, name and socket folder
        settings.update(port=str(port or settings["port"]), cluster_name=name or settings.get("cluster_name", ""),
                        unix_socket_directories=str(folder.parent))  # fmt: skip
    if wal_archive is not None:
        settings["archive_mode"] = "off"  # its WAL must never mix with the archive it recovers from
        _ask_recovery(staging, Path(wal_archive).resolve(), target_time)
    (staging / "postmaster.opts").write_text(shlex.join(_command_line(folder, settings)) + "\n")
    _chown_tree(staging, owner)
    staging.chmod(0o700)
    staging.rename(folder)
    server = LocalServer(folder)
    pid = start(server, Path(log_file), _left(deadline))
    port = _wait_writable(server, user, deadline)
    log.info("restored %s on %s (port %d, pid %d)", metadata["label"], folder, port, pid)
    return _restored(True, server, port, metadata, began)


@acts_on(Reach.LOCAL_HOST)
def rebuild_replica(
    primary_data: str, replica_data: str, user: str = "postgres", log_file: str = DEFAULT_LOG, timeout_seconds: float = 120.0
) -> dict[str, Any]:
    """Make ``replica_data`` a streaming replica of the primary on ``primary_data`` again. Idempotent.

    A lost replica (its data directory moved aside by :func:`lose_server`) is re-created by
    ``pg_basebackup -R`` with the lost server's command line (port, socket folder, name);
    an existing one is handed to :func:`gamedays.faults.local.pglocal.rejoin_as_replica`.
    Returns ``replica``, ``port``, ``method`` and ``streaming``.
    """
    folder = Path(replica_data).resolve()
    if (folder / "PG_VERSION").is_file():
        return rejoin_as_replica(str(folder), primary_data, user=user, log_file=log_file, timeout_seconds=timeout_seconds)
    deadline = time.monotonic() + float(timeout_seconds)
    primary = LocalServer.of(primary_data)
    if primary.role(user) is not Role.PRIMARY:
        raise _failed(f"the server on {primary.data_dir} is not a running primary: restore it first")
    lost = [d for d in _lost_dirs(folder) if (d / "postmaster.opts").is_file()]
    if not lost:
        raise _failed(
            f"{folder} holds no data directory and no {folder.name}.lost-* beside it tells how the replica ran: "
            "replica_data must be the lost replica's data directory"
        )
    opts = (lost[-1] / "postmaster.opts").read_text()
    name = LocalServer(lost[-1]).name()
    if folder.exists():
        shutil.rmtree(folder)  # a rebuild that did not finish
    folder.mkdir(mode=0o700)
    owner = _owner_of(folder.parent)
    os.chown(folder, *owner)
    replica = LocalServer(folder)
    argv = [
        primary.program("pg_basebackup"), "-D", str(folder), "-d", primary.tcp_conninfo(user, application_name=name),
        "--write-recovery-conf", "--wal-method=stream", "--checkpoint=fast",
    ]  # fmt: skip
    run_as_owner(replica, argv, Path(log_file), _left(deadline), f"pg_basebackup of {name} into {folder}")
    (folder / RESTORED_MARK).unlink(missing_ok=True)
    (folder / "postmaster.opts").write_text(opts)
    os.chown(folder / "postmaster.opts", *owner)
    start(replica, Path(log_file), _left(deadline))
    if not wait_streaming(primary, name, user, _left(deadline)):
        raise _failed(f"{name} ({folder}) does not stream from {primary.data_dir} after {timeout_seconds:g}s; see {log_file}")
    port, _hosts = replica.address()
    log.info("rebuilt %s on %s as a replica of %s", name, folder, primary.data_dir)
    return {"replica": name, "port": port, "method": "pg_basebackup", "streaming": True}


@acts_on(Reach.LOCAL_HOST)
def remove_lost(data_dir: str) -> dict[str, Any]:
    """Delete the ``<data_dir>.lost-*`` folders :func:`lose_server` left (no process may work in them). Idempotent."""
    removed = []
    for lost in _lost_dirs(Path(data_dir).resolve()):
        busy = processes_in(lost)
        if busy:
            raise _failed(f"processes {busy} still work in {lost}: it is not lost, it is not removed")
        shutil.rmtree(lost)
        removed.append(str(lost))
    return {"removed": removed}


def _kill_all(server: LocalServer) -> list[int]:
    """SIGKILL the postmaster first (nothing restarts), then every process left in the data directory."""
    pid = server.pid()
    victims = ([pid] if pid is not None else []) + [p for p in processes_in(server.data_dir) if p != pid]
    for victim in victims:
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            continue
        except PermissionError:
            raise _failed(f"not allowed to kill process {victim} of {server.data_dir}: run as its user or root") from None
    if not wait_gone(victims, 10.0):
        survivors = [v for v in victims if alive(v)]
        raise _failed(f"processes {survivors} of {server.data_dir} survived SIGKILL")
    return victims


def _lost_dirs(folder: Path) -> list[Path]:
    """``<folder>.lost-*`` beside ``folder``, oldest first (their names sort by time)."""
    return sorted(p for p in folder.parent.glob(f"{folder.name}.lost-*") if p.is_dir()) if folder.parent.is_dir() else []


def _restored_label(folder: Path) -> str | None:
    """The label of the backup ``folder`` was restored from by :func:`restore_base_backup`, if it was."""
    try:
        return str(json.loads((folder / RESTORED_MARK).read_text())["label"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_metadata(source: Path) -> dict[str, Any]:
    """What :func:`take_base_backup` wrote beside the backup in ``source``: label, times, LSNs, the server's settings."""
    try:
        metadata = json.loads((source / METADATA).read_text())
    except FileNotFoundError:
        raise _failed(
            f"{source} holds no base backup taken by take_base_backup (no {METADATA}): backup_dir must be its folder"
        ) from None
    except (OSError, ValueError) as exc:
        raise _failed(f"cannot read {source / METADATA}: {exc}") from None
    if not (source / "PG_VERSION").is_file() or not isinstance(metadata.get("settings"), dict):
        raise _failed(f"{source} is not a complete base backup (no PG_VERSION, or no settings in {METADATA})")
    return dict(metadata)


def _command_line(folder: Path, settings: dict[str, str]) -> list[str]:
    """The restored server's command line: the backed-up server's port, listen address, socket folder and name."""
    argv = [installed_program("postgres"), "-D", str(folder), "-p", str(settings["port"])]
    for name in ("listen_addresses", "unix_socket_directories", "cluster_name", "archive_mode"):
        if settings.get(name):
            argv += ["-c", f"{name}={settings[name]}"]
    sockets = [s.strip() for s in (settings.get("unix_socket_directories") or "").split(",") if s.strip()]
    missing = [s for s in sockets if not Path(s).is_dir()]
    if missing:
        raise _failed(f"the backed-up server's socket folder {', '.join(missing)} does not exist here: create it first")
    return argv


def _ask_recovery(staging: Path, archive: Path, target_time: str | None) -> None:
    """Point-in-time recovery on the next start: archived WAL replayed up to ``target_time`` (or all of it), then promoted."""
    if not archive.is_dir():
        raise _failed(f"the WAL archive {archive} does not exist: point-in-time recovery replays its segments")
    settings = {"restore_command": f"cp {shlex.quote(str(archive))}/%f %p", "recovery_target_timeline": "latest"}
    if target_time is not None:
        settings.update(recovery_target_time=target_time, recovery_target_action="promote")
    with (staging / "postgresql.auto.conf").open("a", encoding="utf-8") as conf:
        for key, value in settings.items():
            conf.write(f"{key} = '{value.replace(chr(39), chr(39) * 2)}'\n")
    (staging / "recovery.signal").write_text("")


def _wait_writable(server: LocalServer, user: str, deadline: float) -> int:
    from chaoslib.exceptions import ActivityFailed

    last = "not tried"
    while True:
        try:
            with server.connect(user) as conn:
                conn.execute("SELECT pg_current_xact_id()")  # a standby refuses it
            port, _hosts = server.address()
            return port
        except (psycopg.Error, ActivityFailed) as exc:  # not listening yet, or still in recovery
            last = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if time.monotonic() >= deadline:
            raise _failed(f"the restored server on {server.data_dir} takes no writes: {last}")
        time.sleep(0.1)


def _restored(done: bool, server: LocalServer, port: int, metadata: dict[str, Any], began: float) -> dict[str, Any]:
    return {
        "restored": done, "data_dir": str(server.data_dir), "port": port, "pid": server.pid(),
        "label": metadata["label"], "end_lsn": metadata.get("end_lsn"), "seconds": round(time.monotonic() - began, 3),
    }  # fmt: skip


def _owner_of(folder: Path) -> tuple[int, int]:
    try:
        found = folder.stat()
    except OSError as exc:
        raise _failed(f"the folder {folder} of the data directory is not usable: {exc.strerror or exc}") from None
    if found.st_uid == 0 and os.geteuid() == 0:
        raise _failed(f"{folder} belongs to root, and PostgreSQL does not run as root: chown it to the server's user")
    return found.st_uid, found.st_gid


def _chown_tree(root: Path, owner: tuple[int, int]) -> None:
    if os.geteuid() != 0:
        return  # we own what we copied, and we are the server's user
    for folder, dirs, files in os.walk(root):
        os.chown(folder, *owner)
        for name in dirs + files:
            os.chown(os.path.join(folder, name), *owner, follow_symlinks=False)


def _params(dsn: str, user: str | None) -> dict[str, str]:
    try:
        params = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    except psycopg.ProgrammingError:
        raise _failed("dsn is not a libpq connection string or URL (postgresql://user@host:port/db)") from None
    if user:
        params["user"] = user
    return params


def _server_settings(params: dict[str, str]) -> dict[str, str]:
    try:
        with psycopg.connect(make_conninfo(**params), autocommit=True, connect_timeout=5, application_name="gameday-backup") as conn:
            return {name: str(conn.execute(f"SHOW {name}").fetchone()[0]) for name in _SETTINGS}  # type: ignore[index]
    except psycopg.Error as exc:
        raise _failed(f"cannot connect to PostgreSQL ({_safe(params)}) to back it up: {str(exc).strip()}") from None


def _run(argv: list[str], env: dict[str, str], log_file: Path, timeout: float, what: str) -> str:
    """Run a client program (no privilege drop needed); its stderr (verbose output) also goes to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(argv, env={**env, "LC_ALL": "C"}, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise _failed(f"{what} did not finish within {timeout:g}s") from None
    except OSError as exc:
        raise _failed(f"{what}: cannot run {argv[0]}: {exc.strerror or exc}") from None
    with log_file.open("a", encoding="utf-8") as out:
        out.write(f"$ {shlex.join(argv)}\n{done.stdout}{done.stderr}")
    if done.returncode != 0:
        last = " | ".join(line.strip() for line in done.stderr.splitlines()[-3:] if line.strip())
        raise _failed(f"{what} failed (exit code {done.returncode}): {last}; see {log_file}")
    return done.stderr


def _safe(params: dict[str, str]) -> str:
    return make_conninfo(**{k: v for k, v in params.items() if k != "password"})


def _left(deadline: float) -> float:
    return max(1.0, deadline - time.monotonic())


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed (imported late: chaoslib is heavy)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
