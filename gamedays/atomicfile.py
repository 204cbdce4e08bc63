"""Replace a file atomically: a reader sees the old content or the new, never half of it.

Below every layer: plain file I/O that the engine, the faults, the sandbox and
the reporting all need (backends lists, state and backup files, specs, reports).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: str | bytes, mode: int | None = None) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, rename it over ``path``.

    Text is written as UTF-8. ``mode`` sets the file's permissions (e.g. 0o600 for
    state files); the default keeps mkstemp's 0o600. Raises OSError.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
