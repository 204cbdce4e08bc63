"""One writer per gameday: an exclusive lock on the report folder (reports/<gameday>).

`run`, `rehearse` and `recover` take it before anything is injected or any journal
renamed; a rehearsal locks the same folder as the run (its journal lives below it,
in rehearsal/), so a rehearsal and a run of one gameday never overlap either.

The lock is ``fcntl.flock`` on ``.gameday.lock`` in the folder: the kernel releases it
when the holder dies, however it dies (SIGKILL included), so a lock left by a killed
process is simply taken over. Who holds it (pid, host, start time) is kept beside
it, in ``.gameday.lock.json``, written atomically once the lock is held; a second
holder is refused with :class:`GamedayLocked` (exit 2) naming them.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

from gamedays.atomicfile import write_atomically
from gamedays.model.errors import GamedayError
from gamedays.model.holder import Holder

LOCK = ".gameday.lock"
HOLDER = ".gameday.lock.json"


class GamedayLocked(GamedayError):
    """Another run, rehearsal or recover of this gameday holds its report folder."""

    exit_code = 2


class ReportLock:
    """Held from :meth:`acquire` (or ``with``) to :meth:`release`; not re-entrant within one process."""

    def __init__(self, folder: Path, command: str) -> None:
        self.folder = Path(folder)
        self.command = command
        self._fd: int | None = None
        self.previous: Holder | None = None  # a holder that died with the lock, taken over

    def __enter__(self) -> ReportLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise GamedayLocked naming the live holder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = read_holder(self.folder)
            who = holder.describe() if holder is not None else "another gameday process (its details are not written yet)"
            raise GamedayLocked(
                f"{self.folder}: this gameday is already in use by {who}; "
                "one run, rehearsal or recover at a time: wait for it to end (or stop it) and try again"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        self.previous = read_holder(self.folder)  # a holder whose process died still holding it
        me = Holder(os.getpid(), socket.gethostname(), time.time(), self.command)
        write_atomically(self.folder / HOLDER, json.dumps(me.__dict__, indent=2), mode=0o644)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        (self.folder / HOLDER).unlink(missing_ok=True)
        os.close(fd)  # closing the descriptor releases the flock


def read_holder(folder: Path) -> Holder | None:
    """Who holds (or last held) the lock of ``folder``, if it says."""
    try:
        data = json.loads((Path(folder) / HOLDER).read_text(encoding="utf-8"))
        return Holder(int(data["pid"]), str(data["host"]), float(data["started"]), str(data["command"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
