"""Running the PostgreSQL programs as the user that owns the data: ourselves, or ``nobody`` when root.

PostgreSQL refuses to run as root (initdb, postgres, pg_rewind and pg_ctl all check), so as
root every server-side program goes through :func:`gamedays.sandbox.processes.drop_privileges_prefix`
and the folders it writes into are owned by that user.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path
from typing import Sequence

from gamedays.model.errors import SandboxError
from gamedays.sandbox import processes

TAIL_LINES = 12


def server_env() -> dict[str, str]:
    """Our environment without the ``PG*`` variables, which would redirect libpq and the tools."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def server_owner() -> tuple[int, int] | None:
    """(uid, gid) the server runs as when we are root; None when we are not (it runs as us)."""
    if not processes.is_root():
        return None
    processes.drop_privileges_prefix()  # raises the clear SandboxError when the drop is impossible
    entry = pwd.getpwnam(processes.UNPRIVILEGED_USER)
    return entry.pw_uid, entry.pw_gid


def make_server_dir(path: Path, mode: int = 0o700) -> Path:
    """Create ``path`` (not its parents) with ``mode``, owned by the user the server runs as."""
    path.mkdir(mode=mode)
    path.chmod(mode)  # mkdir's mode is filtered by the umask
    owner = server_owner()
    if owner is not None:
        os.chown(path, *owner)
    return path


def run(argv: Sequence[str], *, log: Path, timeout: float, what: str) -> None:
    """Run a one-shot PostgreSQL program as the server user, its output appended to ``log``.

    The program runs in its own session, so on timeout (or an interrupt) it is stopped with every
    child it started (initdb and pg_rewind start single-user postgres processes).
    Raises :class:`SandboxError` with the end of the log when it fails or times out.
    """
    with log.open("ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
    process = processes.spawn(argv, log=log, env=server_env(), as_unprivileged=True)
    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired:
        processes.stop(process)
        raise SandboxError(f"{what} did not finish within {timeout:g}s; see {log}") from None
    except BaseException:
        processes.stop(process)
        raise
    if code != 0:
        raise SandboxError(f"{what} failed with exit code {code}:\n{tail(log)}\n(full log: {log})")


def tail(log: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of ``log``, indented, for an error message."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"  (log {log} unreadable: {exc.strerror})"
    return "\n".join(f"  {line}" for line in text.splitlines()[-lines:])
