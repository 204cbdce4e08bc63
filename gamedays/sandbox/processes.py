"""Child processes of the sandbox: started in their own session, always reaped.

Every process the sandbox starts goes through :func:`spawn` and is stopped with
:func:`gamedays.processes.stop` (re-exported here), which signals the whole process group
(so grandchildren go too), escalates from SIGTERM to SIGKILL and waits, so no zombie or
orphan is left.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Mapping, Sequence

from gamedays.model.errors import SandboxError
from gamedays.processes import kill, stop

__all__ = ["UNPRIVILEGED_USER", "drop_privileges_prefix", "is_root", "kill", "spawn", "stop"]

UNPRIVILEGED_USER = "nobody"
OWNER_ENV = "GAMEDAY_SANDBOX_OWNER"  # who started a process: see gamedays.sandbox.ownerwatch


def identity(pid: int) -> str | None:
    """``pid:starttime`` of a live process (a reused pid gets another), None when gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    if not fields or fields[0] in ("Z", "X"):
        return None
    return f"{pid}:{fields[19]}"  # field 22 of stat: the start time, in clock ticks since boot


def spawn(
    argv: Sequence[str],
    *,
    log: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    as_unprivileged: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session, its output appended to ``log`` (or discarded).

    The process (and all it forks) carries this process's :func:`identity` in ``GAMEDAY_SANDBOX_OWNER``:
    when this process dies without stopping it, the sandbox's owner watch does.
    """
    command = list(argv)
    marked = {**(env if env is not None else os.environ), OWNER_ENV: identity(os.getpid()) or str(os.getpid())}
    if as_unprivileged:
        command = [*drop_privileges_prefix(), *command]
    out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115 - closed below
    try:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=marked,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        raise SandboxError(f"cannot start {command[0]}: {exc.strerror or exc}") from None
    finally:
        if log is not None:
            out.close()  # type: ignore[union-attr]


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def drop_privileges_prefix() -> list[str]:
    """The command prefix that runs a program as an unprivileged user when we are root."""
    if not is_root():
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise SandboxError(
            "running as root, and setpriv (util-linux) is not installed to drop privileges; "
            "install util-linux or run gameday as an unprivileged user"
        )
    return [setpriv, f"--reuid={UNPRIVILEGED_USER}", f"--regid={_group_of(UNPRIVILEGED_USER)}", "--clear-groups"]


def _group_of(user: str) -> str:
    import grp
    import pwd

    try:
        gid = pwd.getpwnam(user).pw_gid
        return grp.getgrgid(gid).gr_name
    except KeyError:
        raise SandboxError(
            f"running as root, and there is no user '{user}' to drop privileges to; "
            "create it or run gameday as an unprivileged user"
        ) from None
