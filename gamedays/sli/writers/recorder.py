"""Keeps a writer writing during a DR check and records which writes were acknowledged.

A daemon thread writes sequence 1, 2, 3... one every ``every`` seconds, on a fixed
schedule (slot n starts ``n * every`` after :meth:`WriteRecorder.start`, measured on
the monotonic clock). A write that fails is not acknowledged and the loop goes on
with the next number at the next slot; a write that takes longer than ``every``
(an outage, bounded by the writer's timeout) lets the slots it overran pass: the
recorder never bursts to catch up. Each acknowledged write is kept as
``(seq, time)``, ``time`` read from ``clock`` when the writer returned: the input of
:func:`gamedays.model.dr.data_loss`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from gamedays.model.redact import scrub
from gamedays.sli.writers.base import Writer, WriterError

DEFAULT_STOP_TIMEOUT = 5.0


@dataclass(frozen=True)
class RecorderCounts:
    """How the writes went so far."""

    attempted: int
    acknowledged: int
    failed: int
    last_error: str | None


class WriteRecorder:
    def __init__(self, writer: Writer, every: float, clock: Callable[[], float] = time.time) -> None:
        if isinstance(every, bool) or not isinstance(every, (int, float)) or not 0 < every <= 3600:
            raise WriterError(f"a writer writes every 0-3600 seconds (more than 0), got {every!r}")
        self._writer, self._every, self._clock = writer, float(every), clock
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._acked: list[tuple[int, float]] = []
        self._attempted = self._failed = 0
        self._last_error: str | None = None
        self._thread = threading.Thread(target=self._loop, name="gameday-rpo-writer", daemon=True)

    def start(self) -> WriteRecorder:
        """Start writing (once; the writer must be prepared already)."""
        if self._thread.ident is not None:
            raise RuntimeError("a WriteRecorder starts once")
        self._thread.start()
        return self

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> bool:
        """No more writes; waits up to ``timeout`` seconds for a write in flight. True when the thread ended."""
        self._stopping.set()
        if self._thread.ident is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def acknowledged(self) -> list[tuple[int, float]]:
        """``(seq, acknowledged at)`` of every acknowledged write, in order."""
        with self._lock:
            return list(self._acked)

    def counts(self) -> RecorderCounts:
        with self._lock:
            return RecorderCounts(self._attempted, len(self._acked), self._failed, self._last_error)

    @property
    def failed(self) -> int:
        return self.counts().failed

    @property
    def last_error(self) -> str | None:
        return self.counts().last_error

    def _loop(self) -> None:
        start = time.monotonic()
        seq = 0
        while not self._stopping.is_set():
            seq += 1
            self._attempt(seq)
            elapsed = time.monotonic() - start
            next_slot = (int(elapsed // self._every) + 1) * self._every
            self._stopping.wait(max(0.0, next_slot - elapsed))

    def _attempt(self, seq: int) -> None:
        error: str | None = None
        try:
            self._writer.write(seq, self._clock())
        except WriterError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a failure the writer did not foresee is still a failed write
            error = f"write {seq} failed: {type(exc).__name__}: {exc}"
        acked_at = self._clock()
        with self._lock:
            self._attempted += 1
            if error is None:
                self._acked.append((seq, acked_at))
            else:
                self._failed += 1
                self._last_error = scrub(error, self._writer.secrets)
