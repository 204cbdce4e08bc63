"""A sandbox whose owner died stops itself: a small watcher process beside every sandbox.

    python -m gamedays.sandbox.ownerwatch OWNER DIRECTORY

:class:`gamedays.sandbox.environment.Sandbox` starts it first (in its own session, so a
terminal's hangup does not reach it) and stops it last. Every process the sandbox starts
goes through :func:`gamedays.sandbox.processes.spawn`, which marks it (and so everything it
forks: PostgreSQL's backends too) with its owner's identity in the environment variable
``GAMEDAY_SANDBOX_OWNER`` (pid and start time: a reused pid never matches). When the owner is
gone without stopping its sandbox (SIGKILL, a crash), the watcher stops every process so
marked, and every process working inside DIRECTORY/postgres (servers started later, e.g. a
restored PostgreSQL): SIGTERM, then SIGKILL; then it removes DIRECTORY.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from gamedays.sandbox.processes import OWNER_ENV, identity

logger = logging.getLogger(__name__)

PROC = Path("/proc")
POLL = 0.5
GRACE = 5.0


def owned_processes(owner: str, directory: Path, *, exclude: int) -> list[int]:
    """Live processes marked with ``owner``, or working inside ``directory``/postgres (zombies excluded)."""
    marker = f"{OWNER_ENV}={owner}".encode()
    inside = str((directory / "postgres").resolve())
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == exclude:
            continue
        pid = int(entry.name)
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cwd = os.readlink(entry / "cwd").removesuffix(" (deleted)")
        except OSError:  # gone meanwhile, a zombie, or not ours to inspect
            continue
        if (marker in environ or cwd == inside or cwd.startswith(inside + os.sep)) and identity(pid) is not None:
            found.append(pid)
    return sorted(found)


def stop_everything(owner: str, directory: Path, *, exclude: int, grace: float = GRACE) -> list[int]:
    """SIGTERM every owned process, SIGKILL what is left after ``grace``; returns the pids found."""
    stopped: set[int] = set()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = owned_processes(owner, directory, exclude=exclude)
        stopped.update(pids)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                continue
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and owned_processes(owner, directory, exclude=exclude):
            time.sleep(0.1)
    return sorted(stopped)


def watch(owner: str, directory: Path, stop_asked: list[bool]) -> bool:
    """Wait until the owner is gone (True) or the watcher is asked to stop (False)."""
    pid = int(owner.partition(":")[0])
    while not stop_asked:
        if identity(pid) != owner:
            return True
        time.sleep(POLL)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gamedays.sandbox.ownerwatch")
    parser.add_argument("owner", help="the owner's identity: PID:STARTTIME")
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop_asked: list[bool] = []

    def asked_to_stop(signum: int, frame: FrameType | None) -> None:
        stop_asked.append(True)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, asked_to_stop)
    if not watch(args.owner, args.directory, stop_asked):
        return 0  # the owner stops its sandbox itself
    logger.warning("the sandbox's owner %s is gone: stopping everything it started", args.owner)
    pids = stop_everything(args.owner, args.directory, exclude=os.getpid())
    logger.warning("stopped %d processes: %s", len(pids), " ".join(map(str, pids)) or "none")
    shutil.rmtree(args.directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
