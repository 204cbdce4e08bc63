"""The folder a plan's report goes to (``report.out``): never a system folder, never someone else's files.

A run writes its journal, logs and reports there, and ``gameday report`` rewrites
them: the folder must be absent, empty, or hold only what gameday itself writes.
``report.out`` may also name a folder in object storage, ``s3://bucket/prefix/<gameday>``
(:func:`report_store`): the run then works in a local copy of it (:func:`store_mirror`),
uploaded as it grows (gamedays.storage).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from gamedays.home import s3_mirror
from gamedays.loading.source import Document, resolve
from gamedays.model.errors import InvalidInput, Problem
from gamedays.model.location import ALLOWED as S3_ALLOWED, ReportStore, is_s3_url, parse_s3_url
from gamedays.model.plan import Plan

# what a run, a rehearsal, `gameday report` and `gameday actions` write in a report folder
WRITTEN_FILES = (
    "journal*.jsonl",
    "report.*",
    "junit.xml",
    "actions.*",
    "notes.jsonl",
    "tracker.json",
    "gameday.log*",
    "*.lock",
    "*.lock.json",  # the lock's holder (gamedays.engine.report_lock)
    ".*.tmp",  # an atomic write under way (gamedays.atomicfile)
)
WRITTEN_FOLDERS = ("experiments", "dr", "rehearsal")
SYSTEM_FOLDERS = ("/", "/bin", "/boot", "/dev", "/etc", "/proc", "/root", "/sbin", "/sys", "/usr", "/var")
UNDER_SYSTEM = ("/dev", "/proc", "/sys")  # nothing below these is a folder for files
ALLOWED = (
    "allowed: an absent or empty folder, or one holding only what gameday writes there ("
    + ", ".join((*WRITTEN_FILES[:-1], *(f"{name}/" for name in WRITTEN_FOLDERS)))
    + "), outside the system folders and not $HOME itself"
)


def report_folder(base: Path, written: str, named_at: tuple[str, int]) -> Path:
    """``written`` resolved against ``base`` when a report may go there; InvalidInput at ``named_at`` otherwise."""
    folder = resolve(base, written, named_at)
    reason = _refusal(folder, Path(os.path.abspath(Path(base, written))))
    if reason is None:
        return folder
    raise InvalidInput([Problem(*named_at, f"report.out: {written!r} ({folder}) is {reason}; {ALLOWED}")])


def report_store(doc: Document, plan: Plan) -> ReportStore | None:
    """``report.out`` as a folder in object storage (None for a local folder); InvalidInput at its line when malformed."""
    written = plan.report.out
    if not written or not is_s3_url(written):
        return None
    named_at = (doc.name, doc.line(("report", "out")))
    try:
        return ReportStore(parse_s3_url(written), named_at)
    except ValueError as exc:
        raise InvalidInput([Problem(*named_at, f"report.out: {exc}; {S3_ALLOWED}")]) from None


def store_mirror(store: ReportStore) -> Path:
    """The local working copy of the stored report folder, under $GAMEDAY_HOME/s3/."""
    return s3_mirror(store.location.bucket, store.location.prefix)


def _refusal(resolved: Path, written: Path) -> str | None:
    for path in (written, resolved):
        if _is_system(path):
            return "a system folder"
        if _is_home(path):
            return "your home folder itself"
    if not resolved.exists():
        return None
    if not resolved.is_dir():
        return "not a folder"
    try:
        entries = sorted(os.listdir(resolved))
    except OSError as exc:
        return f"a folder that cannot be listed ({exc.strerror})"
    foreign = [name for name in entries if not _written_by_gameday(resolved / name)]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        return f"a folder holding files gameday did not write ({shown})"
    return None


def _is_system(path: Path) -> bool:
    text = str(path)
    if text in SYSTEM_FOLDERS or (text.count("/") == 1 and fnmatch.fnmatch(text, "/lib*")):
        return True
    return any(path.is_relative_to(root) for root in UNDER_SYSTEM)


def _is_home(path: Path) -> bool:
    home = os.environ.get("HOME")
    if not home:
        return False
    return path in (Path(home), Path(os.path.realpath(home)))


def _written_by_gameday(entry: Path) -> bool:
    name = entry.name
    if entry.is_dir() and not entry.is_symlink():
        return name in WRITTEN_FOLDERS
    return entry.is_file() and any(fnmatch.fnmatch(name, pattern) for pattern in WRITTEN_FILES)
