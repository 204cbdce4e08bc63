"""The local working copy of a stored report folder: pulled from the bucket, pushed back as it changes.

A run, ``recover``, ``report``, ``note`` and ``actions export`` of ``s3://bucket/prefix/<gameday>``
work in ``$GAMEDAY_HOME/s3/bucket/prefix/<gameday>`` (:func:`gamedays.home.s3_mirror`), laid
out as the bucket is, so the layers below see an ordinary report folder. :meth:`Mirror.pull`
brings the folder's objects down, and the sibling gamedays' ``report.json`` and
``actions.yaml`` (the report's trend and carried-over actions read them), so a report
rendered here is the report rendered anywhere else. An object replaces the local file unless
the local file is that object with more appended (a journal or notes that grew here since):
the longer one is kept and pushed. :meth:`Mirror.push` uploads every file that changed since
it was last pulled or pushed, the journals first; locks and temporary files stay local.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from pathlib import Path, PurePosixPath

from gamedays.atomicfile import write_atomically
from gamedays.home import s3_mirror
from gamedays.storage.bucket import Bucket, StorageError

#: what stays local: the folder's lock and its holder (one machine's), atomic writes under way; and what
#: only the bucket holds: the lease of the machine that works on the folder (gamedays.storage.lease)
LOCAL_ONLY = ("*.lock", "*.lock.json", ".*.tmp", "*.lease.json")
#: what a report reads of the sibling gamedays (gamedays.reporting.trend)
SIBLING_FILES = ("report.json", "actions.yaml")

Stamp = tuple[int, int]  # (size, mtime_ns) of a file as it was pulled or pushed


class Mirror:
    """``bucket``'s report folder and its local working copy ``folder``; used by one thread at a time."""

    def __init__(self, bucket: Bucket, folder: Path | None = None) -> None:
        self.bucket = bucket
        self.location = bucket.location
        self.folder = folder if folder is not None else s3_mirror(self.location.bucket, self.location.prefix)
        self._stamps: dict[str, Stamp] = {}

    @property
    def url(self) -> str:
        return self.location.url

    def pull(self) -> int:
        """Bring the stored folder (and the siblings' reports) down; the number of files written."""
        written = 0
        self.folder.mkdir(parents=True, exist_ok=True)
        for item in self.bucket.objects(self.location.prefix + "/"):
            relative = _relative(item.key, self.location.prefix)
            if relative is None or _local_only(relative):
                continue
            path = self.folder.joinpath(*PurePosixPath(relative).parts)
            if path.is_file() and item.etag and _md5(path) == item.etag:
                self._stamp(relative, path)
                continue
            data = self.bucket.get(item.key)
            if data is None:  # deleted since it was listed
                continue
            if path.is_file():
                local = path.read_bytes()
                if len(local) > len(data) and local.startswith(data):
                    continue  # grown here since (a journal, notes): the longer one is kept, and pushed
            _write(path, data, item.modified)
            self._stamp(relative, path)
            written += 1
        written += self._pull_siblings()
        return written

    def push(self) -> int:
        """Upload every file changed since it was pulled or pushed, journals first; the number uploaded.

        Raises StorageError at the first file that cannot be uploaded (the rest wait for the next push).
        """
        uploaded = 0
        for relative, path in self._changed():
            stat = path.stat()
            data = path.read_bytes()  # one snapshot: a file still growing is uploaded again next time
            self.bucket.put(self.location.key(relative), data)
            self._stamps[relative] = (stat.st_size, stat.st_mtime_ns) if len(data) == stat.st_size else (len(data), 0)
            uploaded += 1
        return uploaded

    def pending(self) -> list[str]:
        """The files a push would upload now."""
        return [relative for relative, _ in self._changed()]

    # ------------------------------------------------------------------ internals

    def _changed(self) -> list[tuple[str, Path]]:
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            relative = path.relative_to(self.folder).as_posix()
            if _local_only(relative):
                continue
            stat = path.stat()
            if self._stamps.get(relative) != (stat.st_size, stat.st_mtime_ns):
                found.append((relative, path))
        found.sort(key=lambda item: (not fnmatch.fnmatch(PurePosixPath(item[0]).name, "journal*.jsonl"), item[0]))
        return found

    def _pull_siblings(self) -> int:
        written = 0
        ours = self.location.prefix + "/"
        parent = self.location.parent
        root = self.folder.parent
        for prefix in self.bucket.folders(parent):
            if prefix == ours:
                continue
            name = prefix[len(parent):].strip("/")
            if not name or name in (".", "..") or "/" in name:
                continue
            for file in SIBLING_FILES:
                data = self.bucket.get(prefix + file)
                target = root / name / file
                if data is None:
                    continue
                if target.is_file() and target.read_bytes() == data:
                    continue
                _write(target, data, None)
                written += 1
        return written

    def _stamp(self, relative: str, path: Path) -> None:
        stat = path.stat()
        self._stamps[relative] = (stat.st_size, stat.st_mtime_ns)


def _relative(key: str, prefix: str) -> str | None:
    """The key's path inside the folder; None for a "folder" marker or a key that would leave the folder."""
    relative = key[len(prefix) + 1:]
    parts = PurePosixPath(relative).parts
    if not relative or relative.endswith("/") or any(part in ("", ".", "..") for part in parts) or relative.startswith("/"):
        return None
    return relative


def _local_only(relative: str) -> bool:
    name = PurePosixPath(relative).name
    return any(fnmatch.fnmatch(name, pattern) for pattern in LOCAL_ONLY)


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write(path: Path, data: bytes, modified: float | None) -> None:
    try:
        write_atomically(path, data, mode=0o644)
        if modified is not None:
            os.utime(path, (modified, modified))  # an earlier journal keeps its time (a new run renames it by it)
    except OSError as exc:
        raise StorageError(f"cannot write the local copy {path}: {exc.strerror or exc}") from None
