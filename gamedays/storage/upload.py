"""A run's report folder uploaded as it grows: at every step boundary and at least every 10 s.

The listeners' delivery (:mod:`gamedays.journal.delivery`) tells it the boundaries: a step
started, its fault armed, its rollbacks played, the step finished, a guardrail tripped, each DR
check's start, steps and end, an interrupt, the gameday's end. Those hooks only wake the
upload's own thread, which pushes the working copy (:class:`gamedays.storage.mirror.Mirror`);
so S3 never holds up the orchestrator, the monitor or the other listeners. If the process dies
between two uploads, the stored journal misses at most the last ``every`` seconds.

Before a fault is injected the orchestrator waits, at most ``FLUSH_TIMEOUT`` seconds, for the
upload of its record (:meth:`LiveUpload.flush`): a pod lost right after the injection still
leaves the fault, with its rollbacks, in the stored journal for ``gameday recover s3://...``.

A failed upload never stops the gameday: it is logged, ``on_failure`` is told (once per run of
failures: the run journals it, the terminal and the log show it), and the next boundary or tick
tries again. :meth:`LiveUpload.close` uploads what is left, with a few retries.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from gamedays.journal.delivery import Hooks
from gamedays.journal.state import GamedayState
from gamedays.model.events import (
    DRFinished,
    DRStarted,
    DRStepDone,
    FaultArmed,
    GamedayFinished,
    GuardrailTripped,
    Interrupted,
    RollbacksPlayed,
    StepFinished,
    StepStarted,
)
from gamedays.storage.bucket import StorageError
from gamedays.storage.mirror import Mirror

EVERY = 10.0  # seconds: the most of a journal a process dying between two uploads loses
FINAL_ATTEMPTS = 3
FINAL_PAUSE = 1.0  # seconds between the final attempts
FLUSH_TIMEOUT = 5.0  # seconds a fault's injection waits for its record to be stored (S3 slow or down: it goes on)
BOUNDARIES = (
    StepStarted, FaultArmed, RollbacksPlayed, StepFinished, GuardrailTripped,
    DRStarted, DRStepDone, DRFinished, Interrupted, GamedayFinished,
)
logger = logging.getLogger(__name__)


class LiveUpload:
    """Pushes ``mirror`` on its own thread: woken at each boundary, else every ``every`` seconds."""

    def __init__(self, mirror: Mirror, on_failure: Callable[[str], None], *, every: float = EVERY) -> None:
        self.mirror = mirror
        self._on_failure = on_failure
        self._every = every
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False  # the last attempt failed: a new failure is not reported again
        self._flushes = threading.Condition()
        self._asked = 0  # flushes asked for
        self._served = 0  # flushes that an attempt begun after them has served
        self._closed = False
        self.uploads = 0  # pushes that uploaded something (for tests and the log)

    def subscribe(self, hooks: Hooks) -> None:
        for kind in BOUNDARIES:
            hooks.on(kind, self._boundary)

    def start(self) -> LiveUpload:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="gameday-upload", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float = 60.0) -> str | None:
        """Stop the thread and upload what is left (retried); None when everything is stored, else why not."""
        if self._closed:
            return None
        self._closed = True
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            self._wake.set()
            thread.join(timeout)
            if thread.is_alive():
                return f"the upload to {self.mirror.url} did not end within {timeout:.0f}s"
        error = ""
        for attempt in range(FINAL_ATTEMPTS):
            if attempt:
                time.sleep(FINAL_PAUSE)
            error = self._attempt(report=False)
            if not error:
                return None
        return error

    def flush(self, timeout: float = FLUSH_TIMEOUT) -> bool:
        """Upload now and wait for it, at most ``timeout`` seconds; True when it went through in time."""
        with self._flushes:
            if self._thread is None:
                return False
            self._asked += 1
            ask = self._asked
            self._wake.set()
            served = self._flushes.wait_for(lambda: self._served >= ask, timeout)
            return served and not self._failing

    # ------------------------------------------------------------------ internals

    def _boundary(self, event: object, state: GamedayState) -> None:
        self._wake.set()  # on the delivery's thread: no I/O here

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._every)
            if self._stopping.is_set():
                return
            self._wake.clear()
            with self._flushes:
                serving = self._asked
            self._attempt(report=True)
            with self._flushes:
                self._served = serving
                self._flushes.notify_all()

    def _attempt(self, *, report: bool) -> str:
        """One push; "" when it went through, else the error (logged; reported once per run of failures)."""
        try:
            uploaded = self.mirror.push()
        except (StorageError, OSError) as exc:
            text = str(exc) if isinstance(exc, StorageError) else f"cannot read the working copy: {exc.strerror or exc}"
            logger.warning("upload to %s failed (retried at the next boundary): %s", self.mirror.url, text)
            if report and not self._failing:
                self._failing = True
                try:
                    self._on_failure(text)
                except Exception:  # telling must not end the upload thread
                    logger.exception("reporting the failed upload failed")
            return text
        if self._failing:
            logger.info("uploads to %s resumed", self.mirror.url)
            self._failing = False
        if uploaded:
            self.uploads += 1
        return ""
