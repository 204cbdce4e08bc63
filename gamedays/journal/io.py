"""The journal: append-only, one typed event per line, flushed and fsynced per event.

A run that dies mid-write leaves at most a torn last line; reading skips it
(and says so), so the journal is always readable. Lines that cannot be read in
the middle of a file are reported with their line numbers and skipped.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from pydantic import BaseModel, ValidationError

from gamedays.model.errors import GamedayError
from gamedays.model.events import Event, decode, encode

JOURNAL = "journal.jsonl"


class JournalError(GamedayError):
    exit_code = 2


class Journal:
    """Appends events to ``path``; safe to call from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._mend_torn_tail()

    def append(self, event: BaseModel) -> None:
        data = (encode(event) + "\n").encode("utf-8")
        with self._lock:
            if self._fd is None:
                raise JournalError(f"{self.path} is closed")
            os.write(self._fd, data)
            os.fsync(self._fd)

    @property
    def closed(self) -> bool:
        return self._fd is None

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _mend_torn_tail(self) -> None:
        """Appending after a torn line would glue two events together: end that line first."""
        size = self.path.stat().st_size
        if size == 0:
            return
        with self.path.open("rb") as handle:
            handle.seek(size - 1)
            if handle.read(1) != b"\n":
                assert self._fd is not None
                os.write(self._fd, b"\n")
                os.fsync(self._fd)


@dataclass(frozen=True)
class JournalRead:
    events: tuple[Event, ...]
    torn: bool  # the last line was cut short (a crash mid-write) and was left out
    skipped: tuple[int, ...]  # line numbers that could not be read


def read_journal(path: Path) -> JournalRead:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise JournalError(f"cannot read the journal {path}: {exc.strerror or exc}") from None
    lines = raw.split(b"\n")
    complete_tail = raw.endswith(b"\n")
    events: list[Event] = []
    skipped: list[int] = []
    torn = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        last = number == len(lines) and not complete_tail
        try:
            events.append(decode(line.decode("utf-8")))
        except (ValidationError, UnicodeDecodeError, ValueError):
            if last:
                torn = True
            else:
                skipped.append(number)
    return JournalRead(tuple(events), torn, tuple(skipped))


def write_all(path: Path, events: Iterable[BaseModel]) -> None:
    with Journal(path) as journal:
        for event in events:
            journal.append(event)
