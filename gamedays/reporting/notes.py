"""Team notes of a gameday: ``reports/<gameday>/notes.jsonl``, one JSON line per note.

A note is appended with one ``write`` on a descriptor opened with ``O_APPEND``
and fsynced, so notes taken from several shells while the run writes its own
journal (another file) never interleave or get lost. Reading tolerates a last
line cut short by a crash, and skips (and counts) lines that are not notes, so a
damaged file never stops a report.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from gamedays.journal.io import JOURNAL
from gamedays.model.errors import GamedayError, InvalidInput
from gamedays.model.notes import MAX_NAME, MAX_TEXT, Note
from gamedays.model.redact import mask_credentials

NOTES = "notes.jsonl"


class NoteError(GamedayError):
    """A note cannot be taken: not a report folder, an empty text, an owner without --action."""

    exit_code = 2


@dataclass(frozen=True)
class NotesRead:
    notes: tuple[Note, ...]  # in the order they were taken
    torn: bool  # the last line was cut short and left out
    skipped: tuple[int, ...]  # line numbers that are not notes


def check_report_folder(folder: Path) -> Path:
    """``folder`` if it is a gameday's report folder (it holds the run's journal), else a NoteError."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NoteError(f"{folder}: no such report folder (a gameday run writes its report folder reports/<gameday>/)")
    if not (folder / JOURNAL).is_file():
        raise NoteError(
            f"{folder}: not a gameday's report folder: it holds no {JOURNAL} "
            f"(notes go into the folder a gameday run writes, e.g. reports/2024-05)"
        )
    return folder


def make_note(text: str, *, author: str, at: float, action: bool = False, owner: str | None = None) -> Note:
    """A validated note, or a NoteError saying what is allowed."""
    if not text.strip():
        raise NoteError('a note needs a text: gameday note FOLDER "what you saw"')
    if len(text.strip()) > MAX_TEXT:
        raise NoteError(f"the note has {len(text.strip())} characters; at most {MAX_TEXT} are allowed")
    if owner is not None and not action:
        raise NoteError(f"--owner {owner} names the owner of an action: add --action, or leave --owner out")
    for what, name in (("--author", author), ("--owner", owner)):
        if name is not None and (not name.strip() or len(name.strip()) > MAX_NAME):
            raise NoteError(f"{what} {name!r}: give a name of 1 to {MAX_NAME} characters")
    try:  # a password or a token pasted into a note never reaches the report (or a tracker)
        return Note(at=at, author=author, text=mask_credentials(text), action=action, owner=owner)
    except ValidationError as exc:  # pragma: no cover - the checks above cover what a user can type
        raise NoteError(f"invalid note: {exc.errors()[0]['msg']}") from None


def append_note(folder: Path, note: Note) -> Path:
    """Append ``note`` to ``folder``/notes.jsonl: one write with O_APPEND, then fsync."""
    path = check_report_folder(folder) / NOTES
    line = (json.dumps(note.model_dump(mode="json"), ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)  # read: to mend a torn tail
        try:
            _mend_torn_tail(fd)
            written = os.write(fd, line)
            if written != len(line):  # pragma: no cover - a full disk
                raise OSError(f"short write: {written} of {len(line)} bytes")
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise NoteError(f"cannot write {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return path


def read_notes(folder: Path) -> NotesRead:
    """The notes of ``folder`` (none when it has no notes.jsonl), tolerating a torn last line."""
    from gamedays.loading.source import parse_json, read_bytes

    path = Path(folder) / NOTES
    if not path.exists() and not path.is_symlink():
        return NotesRead((), False, ())
    data = read_bytes(path)  # a regular file of at most 1 MiB, else InvalidInput at file:line
    lines = data.split(b"\n")
    last_complete = data.endswith(b"\n")
    notes: list[Note] = []
    skipped: list[int] = []
    torn = False
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        is_tail = number == len(lines) and not last_complete
        try:
            notes.append(Note.model_validate(parse_json(raw.decode("utf-8"), str(path))))
        except (ValueError, ValidationError, InvalidInput):
            if is_tail:
                torn = True
            else:
                skipped.append(number)
    return NotesRead(tuple(notes), torn, tuple(skipped))


def _mend_torn_tail(fd: int) -> None:
    """After a crash mid-write the file may end without a newline: end that line so the next note starts fresh."""
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        os.write(fd, b"\n")
