"""PostgreSQL faults as Chaos Toolkit python-provider functions, each with its rollback.

``terminate_backends``, ``exhaust_connections`` / ``release_connections`` work against any
PostgreSQL reachable through a libpq connection string (Aurora, RDS, Patroni, CloudNativePG).
Faults on a server of this machine by its data directory are in :mod:`gamedays.faults.local`.

Every failure raises chaoslib's ``ActivityFailed`` with a message that says what to fix.
Passwords never appear in messages or in the state file. In an experiment, the provider is
``{"type": "python", "module": "gamedays.faults.postgres.connections", "func": "exhaust_connections",
"arguments": {"dsn": ..., "count": 100, "hold_seconds": 60, "state_file": "/tmp/exhaust.json"}}``
with ``release_connections`` (same ``state_file``) as its rollback.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from gamedays.model.reach import Reach, acts_on
from gamedays.processes import alive, wait_gone

__all__ = ["exhaust_connections", "release_connections", "terminate_backends"]

log = logging.getLogger(__name__)

FAULT_APPLICATION = "gameday-fault"
HOLDER_APPLICATION = "gameday-exhaust-connections"
HOLDER_FLAG = "--hold-connections"
MODULE = "gamedays.faults.postgres.connections"
TERMINATE_WAIT_MS = 5000
#: How long a released holder waits for the server to free the slots before it exits.
RELEASE_SETTLE_SECONDS = 3.0
#: While holding, how often the holder tries to take a slot another client freed (up to ``count``).
TOP_UP_SECONDS = 0.1



@acts_on(Reach.POSTGRES)
def terminate_backends(dsn: str, database: str | None = None, application_name: str | None = None) -> int:
    """Terminate the client backends of ``database`` and/or ``application_name`` (all, when neither is given).

    Uses ``pg_terminate_backend(pid, 5000)``, so each backend is gone when this returns; the
    clients see "terminating connection due to administrator command" on their next use.
    Our own connection is spared. Needs a superuser, or a role with ``pg_signal_backend`` for
    non-superuser backends. Returns how many backends were terminated (0 is not an error).
    """
    query = """
        SELECT pid FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
          AND (%(database)s::text IS NULL OR datname = %(database)s)
          AND (%(application)s::text IS NULL OR application_name = %(application)s)
    """
    terminated = 0
    denied: list[str] = []
    with connect(dsn) as conn:
        try:
            pids = [row[0] for row in conn.execute(query, {"database": database, "application": application_name})]
            for pid in pids:
                try:
                    row = conn.execute("SELECT pg_terminate_backend(%s, %s)", (pid, TERMINATE_WAIT_MS)).fetchone()
                except psycopg.errors.InsufficientPrivilege as exc:
                    denied.append(f"{pid}: {exc.diag.message_primary or exc}")
                    continue
                terminated += bool(row and row[0])
        except psycopg.Error as exc:
            raise _failed(f"terminating backends on {_safe(dsn)} failed: {exc}") from None
    if denied:
        raise _failed(
            f"terminated {terminated} backend(s) on {_safe(dsn)}, but not allowed to terminate {len(denied)} "
            f"({'; '.join(denied)}); use a superuser, or a role granted pg_signal_backend"
        )
    log.info("terminated %d backend(s) on %s", terminated, _safe(dsn))
    return terminated


@acts_on(Reach.POSTGRES)
def exhaust_connections(dsn: str, count: int, hold_seconds: float, state_file: str) -> int:
    """Open up to ``count`` connections and hold them ``hold_seconds`` in a detached helper process.

    The helper stops opening connections when the server refuses one ("too many clients"):
    the server is then exhausted, which is the point; while it holds, it takes every slot another
    client frees (tried every :data:`TOP_UP_SECONDS`, up to ``count`` in all), so the server stays
    exhausted rather than only at the moment the helper started. Its pid goes to ``state_file`` for
    :func:`release_connections`, the rollback, written by the helper itself before it opens a
    connection: whenever this process dies (a power loss of the orchestrator), the rollback
    finds every connection it holds. Without a rollback it lets go by itself after
    ``hold_seconds``. Returns the number of connections held.
    """
    count, hold_seconds, state = int(count), float(hold_seconds), Path(state_file)
    if count < 1 or hold_seconds <= 0:
        raise _failed(f"exhaust_connections needs count >= 1 and hold_seconds > 0, got {count} and {hold_seconds:g}")
    running = _read_state(state)
    if running is not None and _holder_alive(int(running["pid"])):
        raise _failed(
            f"{state} records a connection holder that still runs (pid {running['pid']}); "
            "call release_connections first"
        )
    try:
        report = _read_report(_start_holder(dsn, count, hold_seconds, state), timeout=30.0 + 0.2 * count)
    except BaseException:
        state.unlink(missing_ok=True)  # the holder is gone with its process group: nothing to release
        raise
    pid, opened = int(report["pid"]), int(report["opened"])
    if opened == 0:
        if _holder_alive(pid):
            _stop_holder(pid)
        state.unlink(missing_ok=True)
        raise _failed(f"could not open any connection to {_safe(dsn)}: {report.get('error') or 'no reason given'}")
    _write_state(
        state,
        {"pid": pid, "opened": opened, "hold_until": time.time() + hold_seconds, "refused": report.get("error")},
    )
    log.info("holding %d connection(s) to %s (helper pid %d) for %gs", opened, _safe(dsn), pid, hold_seconds)
    return opened


@acts_on(Reach.POSTGRES)
def release_connections(state_file: str) -> int:
    """Rollback of :func:`exhaust_connections`: stop its helper and wait until the server freed the slots.

    Idempotent: with no state file, or a helper already gone, there is nothing to release.
    Returns how many connections the helper had opened when it reported (the slots it took
    later are let go with it).
    """
    state = Path(state_file)
    recorded = _read_state(state)
    if recorded is None:
        log.info("no connection holder recorded in %s: nothing to release", state)
        return 0
    pid, opened = int(recorded["pid"]), int(recorded.get("opened", 0))
    released = 0
    if _holder_alive(pid):
        if not _stop_holder(pid):
            raise _failed(f"the connection holder (pid {pid}) recorded in {state} survived SIGKILL")
        released = opened
    state.unlink(missing_ok=True)
    log.info("released %d connection(s) held by pid %d", released, pid)
    return released



def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed, imported lazily (chaoslib is heavy and not needed to import this module)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)


def _safe(dsn: str) -> str:
    """The connection string without its password, for messages."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(unparsable connection string)"
    params.pop("password", None)
    return make_conninfo(**{key: str(value) for key, value in params.items()})


def connect(dsn: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=5, application_name=FAULT_APPLICATION)
    except psycopg.Error as exc:
        raise _failed(f"cannot connect to PostgreSQL ({_safe(dsn)}): {str(exc).strip()}") from None


def _holder_alive(pid: int) -> bool:
    """True if ``pid`` is a live connection holder (and not an unrelated process that reused the pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return alive(pid) and HOLDER_FLAG.encode() in cmdline and MODULE.encode() in cmdline


def _start_holder(dsn: str, count: int, hold_seconds: float, state: Path) -> subprocess.Popen[bytes]:
    """Start the helper; it forks the real holder (so nothing is left for us to reap) and exits.

    The holder records its pid in ``state`` before it opens a connection.
    """
    root = str(Path(__file__).resolve().parents[3])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    try:  # in its own session: it outlives this activity and the terminal's signals
        holder = subprocess.Popen(
            [sys.executable, "-m", MODULE, HOLDER_FLAG],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        raise _failed(f"cannot start the connection holder: {exc}") from None
    assert holder.stdin is not None
    request = {"dsn": dsn, "count": count, "hold_seconds": hold_seconds, "state_file": str(state.absolute())}
    holder.stdin.write(json.dumps(request).encode())
    holder.stdin.close()
    return holder


def _read_report(helper: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
    """The holder's one-line JSON report: its pid, how many connections it opened, why it stopped."""
    assert helper.stdout is not None
    ready, _, _ = select.select([helper.stdout], [], [], timeout)
    line = helper.stdout.readline() if ready else b""
    helper.stdout.close()
    try:
        report = json.loads(line) if line else None
    except json.JSONDecodeError:
        report = None
    valid = isinstance(report, dict) and isinstance(report.get("pid"), int) and isinstance(report.get("opened"), int)
    if not valid:
        try:  # the holder is in the helper's process group, which outlives the helper
            os.killpg(helper.pid, signal.SIGKILL)
        except ProcessLookupError:
            log.debug("the connection holder's process group %d is already gone", helper.pid)
    helper.wait(5)  # it exits right after forking the holder
    if not valid:
        raise _failed(f"the connection holder did not report within {timeout:g}s (exit code {helper.returncode})")
    assert isinstance(report, dict)
    return report


def _stop_holder(pid: int) -> bool:
    """SIGTERM (the holder closes its connections and waits for the server), SIGKILL after 10 s."""
    for sig, wait in ((signal.SIGTERM, RELEASE_SETTLE_SECONDS + 7.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        if wait_gone([pid], wait):
            return True
    return False


def _read_state(state: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(state.read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise _failed(f"cannot read the state file {state}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("pid"), int):
        raise _failed(f"{state} is not a state file written by exhaust_connections")
    return data


def _store_state(state: Path, data: dict[str, Any]) -> None:
    """Replace ``state`` with ``data`` at once (never half written); OSError if it cannot."""
    partial = state.with_name(state.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out)
    os.replace(partial, state)


def _write_state(state: Path, data: dict[str, Any]) -> None:
    try:
        _store_state(state, data)
    except OSError as exc:
        _stop_holder(int(data["pid"]))
        raise _failed(f"cannot write the state file {state}: {exc.strerror}; the connections were released") from None



def _daemonize_and_hold(request: dict[str, Any]) -> int:
    """The helper's main: fork the holder, exit at once (the holder is re-parented and reaped by init)."""
    if os.fork() != 0:
        os._exit(0)
    return _hold(request)


def _hold(request: dict[str, Any]) -> int:
    """Run in the holder process: open the connections, report, hold, close, wait for the server."""

    def on_sigterm(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    dsn, count, hold_seconds = str(request["dsn"]), int(request["count"]), float(request["hold_seconds"])
    connections: list[psycopg.Connection[Any]] = []
    error: str | None = None
    try:
        try:  # recorded before the first connection: a rollback finds this holder whenever its caller died
            _store_state(Path(request["state_file"]), {"pid": os.getpid(), "opened": 0, "hold_until": time.time() + hold_seconds})
        except OSError as exc:
            count, error = 0, f"cannot write the state file {request['state_file']}: {exc.strerror}"
        for _ in range(count):
            try:
                connections.append(psycopg.connect(dsn, connect_timeout=5, application_name=HOLDER_APPLICATION))
            except psycopg.Error as exc:
                error = str(exc).strip()
                break
        sys.stdout.write(json.dumps({"pid": os.getpid(), "opened": len(connections), "error": error}) + "\n")
        sys.stdout.flush()
        sys.stdout.close()
        deadline = time.monotonic() + hold_seconds
        while connections and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(TOP_UP_SECONDS, left))
            if len(connections) < count:  # a slot another client let go of is taken too, as a connection storm would
                try:
                    connections.append(psycopg.connect(dsn, connect_timeout=2, application_name=HOLDER_APPLICATION))
                except psycopg.Error:
                    pass  # still exhausted (the point), or the server is away: tried again at the next tick
    except SystemExit:
        log.debug("released before the hold time was up")  # SIGTERM from release_connections
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
        pids = [conn.info.backend_pid for conn in connections]
        for conn in connections:
            conn.close()
        _wait_released(dsn, pids)
    return 0


def _wait_released(dsn: str, pids: list[int]) -> None:
    """Wait (bounded) until the server has let go of the backends we held, so the slots are free again."""
    deadline = time.monotonic() + RELEASE_SETTLE_SECONDS
    while pids and time.monotonic() < deadline:
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=2, application_name=HOLDER_APPLICATION) as conn:
                row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchone()
            if not (row and row[0]):
                return
        except psycopg.OperationalError as exc:
            message = str(exc)
            if "too many clients" not in message and "connection slots are reserved" not in message:
                return  # the server is gone or refuses us otherwise: nothing left to wait for
        time.sleep(0.02)


if __name__ == "__main__" and sys.argv[1:] == [HOLDER_FLAG]:
    sys.exit(_daemonize_and_hold(json.loads(sys.stdin.read())))
