"""Start, stop and rebuild a local PostgreSQL server as the owner of its data, for the rollbacks of local faults.

:func:`start` starts a stopped server with the command line it last ran with
(``postmaster.opts``) through ``pg_ctl`` of the same installation, as the user that owns
the data directory (PostgreSQL refuses root: as root, ``setpriv`` drops to the owner); the
server gets a session of its own and outlives the experiment, and whoever owns it (the
sandbox) stops it later, as it finds it through ``postmaster.pid``. Before that,
:func:`clear_leftovers` waits for the backends a killed postmaster orphaned (SIGKILL after
a grace) and removes its stale lock files: the killed postmaster may be a zombie nobody
reaps (the sandbox's child), which PostgreSQL would take for a running server.
:func:`rebuild` turns a stopped server into a standby with ``pg_rewind`` (which recovers a
crashed data directory first), or replaces its data by a fresh ``pg_basebackup``.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

from gamedays.faults.local.pgserver import (
    POSTMASTER_PID,
    LocalServer,
    lock_pid,
    processes_in,
)
from gamedays.processes import alive, wait_gone

log = logging.getLogger(__name__)

#: How long orphaned backends of a killed postmaster get to exit before they are SIGKILLed.
ORPHAN_GRACE = 10.0
_POLL = 0.05


def start(server: LocalServer, log_file: Path, timeout: float) -> int:
    """Start the stopped server with its last command line through pg_ctl; returns the postmaster's pid."""
    argv = server.command_line()
    options = _without_data_dir(argv[1:])
    clear_leftovers(server)
    command = [
        server.program("pg_ctl"), "start", "-D", str(server.data_dir), "-w", "-t", str(max(1, round(timeout))),
        "-o", shlex.join(options),
    ]  # fmt: skip
    # not captured: the server inherits pg_ctl's output, and a pipe would stay open as long as it runs
    run_as_owner(server, command, log_file, timeout + 5, f"starting the server on {server.data_dir}", capture=False)
    pid = server.pid()
    if pid is None:
        raise _failed(f"pg_ctl reported the server on {server.data_dir} started, but it does not run; see {log_file}")
    return pid


def stop(server: LocalServer, timeout: float = 30.0) -> None:
    """Fast shutdown (SIGINT), immediate (SIGQUIT), SIGKILL last; returns once none of its processes is left."""
    pid = server.pid()
    if pid is not None:
        for sig, wait in ((signal.SIGINT, max(1.0, timeout - 10)), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            if wait_gone([pid], wait):
                break
            log.warning("the postmaster %d of %s outlived %s", pid, server.data_dir, sig.name)
    clear_leftovers(server)


def rebuild(server: LocalServer, source: LocalServer, user: str, allow_base_backup: bool, log_file: Path, timeout: float) -> str:
    """Turn the stopped ``server`` into a standby of ``source``: pg_rewind, else (if allowed) pg_basebackup.

    ``postmaster.opts`` (the command line :func:`start` needs) is kept: neither program keeps it.
    """
    from chaoslib.exceptions import ActivityFailed

    conninfo = source.tcp_conninfo(user, application_name=server.name())
    rewind = [server.program("pg_rewind"), "-D", str(server.data_dir), f"--source-server={conninfo}", "--write-recovery-conf"]
    backup = [
        server.program("pg_basebackup"), "-D", str(server.data_dir), "-d", conninfo,
        "--write-recovery-conf", "--wal-method=stream", "--checkpoint=fast",
    ]  # fmt: skip
    opts = (server.data_dir / "postmaster.opts").read_bytes()
    owner = server.data_dir.stat()
    clear_leftovers(server)  # pg_rewind runs the server in single-user mode for crash recovery first
    try:
        run_as_owner(server, rewind, log_file, timeout, f"pg_rewind of {server.data_dir}")
        method = "pg_rewind"
    except ActivityFailed as exc:
        if not allow_base_backup:
            raise
        log.warning("pg_rewind failed, replacing %s by a fresh base backup: %s", server.data_dir, exc)
        _empty_folder(server.data_dir, owner)  # kept, empty: run_as_owner finds its owner by it
        run_as_owner(server, backup, log_file, timeout, f"pg_basebackup into {server.data_dir}")
        method = "pg_basebackup"
    kept = server.data_dir / "postmaster.opts"
    if not kept.exists():
        kept.write_bytes(opts)
        os.chown(kept, owner.st_uid, owner.st_gid)
    return method


def wait_streaming(primary: LocalServer, replica_name: str, user: str, timeout: float) -> bool:
    """True once the primary's ``pg_stat_replication`` shows ``replica_name`` streaming (within ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        with primary.connect(user) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_replication WHERE application_name = %s AND state = 'streaming'",
                (replica_name,),
            ).fetchone()
        if row and row[0]:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)


def run_as_owner(
    server: LocalServer, argv: list[str], log_file: Path, timeout: float, what: str, capture: bool = True
) -> str:
    """Run a PostgreSQL program as the data directory's owner, output appended to ``log_file``.

    Returns its standard output when ``capture`` (also copied to the log), else "" (it went
    to the log). It runs in its own session (a server it starts keeps it); on timeout the
    session is killed.
    """
    command = [*_owner_prefix(server.data_dir), *argv]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        out.write(f"$ {shlex.join(argv)}\n".encode())
        out.flush()
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE if capture else out, stderr=out, env=env,
                cwd="/", start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            raise _failed(f"{what}: cannot run {command[0]}: {exc.strerror or exc}") from None
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_session(process.pid)
            process.communicate()
            raise _failed(f"{what} did not finish within {timeout:g}s; see {log_file}") from None
        out.write(output or b"")
    if process.returncode != 0:
        raise _failed(f"{what} failed (exit code {process.returncode}): {_tail(log_file)}; see {log_file}")
    return (output or b"").decode(errors="replace")


def clear_leftovers(server: LocalServer, grace: float = ORPHAN_GRACE) -> None:
    """Make a data directory with no postmaster startable: no orphaned backend, no stale ``postmaster.pid``.

    Orphans get ``grace`` seconds to exit, then SIGKILL. The lock file goes once nothing
    works in the directory any more: its pid may be a zombie nobody reaps (the sandbox's
    child, killed by a fault), which PostgreSQL would take for a running postmaster.
    """
    if server.pid() is not None:
        return
    left = processes_in(server.data_dir)
    if left and not wait_gone(left, grace):
        for pid in processes_in(server.data_dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
        if not wait_gone(left, 5.0):
            raise _failed(f"processes {left} of {server.data_dir} survived SIGKILL")
    stale = server.data_dir / POSTMASTER_PID
    if stale.exists():
        log.info("removing the stale %s", stale)
        stale.unlink(missing_ok=True)
    for lock in server.socket_locks():
        holder = lock_pid(lock)
        if holder is not None and not alive(holder):
            log.info("removing the stale %s", lock)
            lock.unlink(missing_ok=True)
            lock.with_suffix("").unlink(missing_ok=True)  # the socket file itself


def _owner_prefix(data_dir: Path) -> list[str]:
    """``setpriv`` to the data directory's owner when we are root (PostgreSQL refuses root)."""
    owner = data_dir.stat()
    if os.geteuid() != 0:
        if owner.st_uid != os.geteuid():
            raise _failed(f"{data_dir} belongs to uid {owner.st_uid}: run as its owner, or as root")
        return []
    if owner.st_uid == 0:
        raise _failed(f"{data_dir} belongs to root, and PostgreSQL does not run as root")
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise _failed("running as root, and setpriv (util-linux) is not installed to run PostgreSQL as the data's owner")
    return [setpriv, f"--reuid={owner.st_uid}", f"--regid={owner.st_gid}", "--clear-groups"]


def _empty_folder(folder: Path, owner: os.stat_result) -> None:
    """Replace ``folder`` by an empty one, mode 0700 (what PostgreSQL wants), owned as ``owner`` says."""
    shutil.rmtree(folder)
    folder.mkdir(mode=0o700)
    folder.chmod(0o700)  # whatever the umask
    if os.geteuid() == 0:
        os.chown(folder, owner.st_uid, owner.st_gid)


def _without_data_dir(options: list[str]) -> list[str]:
    """The command line's options minus ``-D dir`` (pg_ctl passes its own)."""
    kept: list[str] = []
    skip = False
    for word in options:
        if skip:
            skip = False
        elif word == "-D":
            skip = True
        elif not word.startswith("-D") and not word.startswith("--pgdata"):
            kept.append(word)
    return kept


def _kill_session(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        log.debug("process group %d already gone", pid)


def _tail(log_file: Path, lines: int = 3) -> str:
    try:
        text = log_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text.splitlines()[-lines:] if line.strip())


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed (imported late: chaoslib is heavy)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
