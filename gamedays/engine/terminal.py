"""The run's terminal output, surviving the terminal: once it is gone, lines go to the log only.

When the terminal (or SSH session) of a running gameday goes away, a write to stdout
fails with EIO (a hung-up pty) or EPIPE (a closed pipe). The finish (rollbacks, the
journal, the report, the sandbox's teardown) must not crash on that: the first failing
write is logged, and every later line is logged instead of written (to gameday.log,
through the run's log handlers).
"""

from __future__ import annotations

import errno
import io
import logging
from typing import TextIO

logger = logging.getLogger(__name__)

GONE = frozenset({errno.EIO, errno.EPIPE, errno.EBADF, errno.ENXIO, errno.ECONNRESET})


class SurvivingStream(io.TextIOBase):
    """A text stream over ``inner`` whose writes never raise once the terminal is gone."""

    def __init__(self, inner: TextIO, name: str) -> None:
        self._inner = inner
        self._name = name
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self._inner.write(text)
            except OSError as exc:
                self._lost(exc)
        if text.strip():
            logger.info("(%s) %s", self._name, text.rstrip("\n"))
        return len(text)

    def flush(self) -> None:
        if self.gone:
            return
        try:
            self._inner.flush()
        except OSError as exc:
            self._lost(exc)

    def isatty(self) -> bool:
        if self.gone:
            return False
        try:
            return self._inner.isatty()
        except (OSError, ValueError):
            return False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._inner.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._inner, "encoding", "utf-8") or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._inner, "errors", None)

    def _lost(self, exc: OSError) -> None:
        if exc.errno not in GONE:
            raise exc
        self.gone = True
        logger.warning("the terminal's %s went away (%s): the run goes on, its lines only in this log", self._name, exc.strerror or exc)
