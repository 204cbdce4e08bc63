"""Manual steps of a DR playbook: a person carries them out and confirms them at the terminal.

A non-interactive run (CI, no terminal on stdin) cannot confirm anything: its
manual steps are recorded as *not verified*, never as passed.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Callable, ContextManager, Protocol, TextIO

from gamedays.model.dr import DRStepOutcome

POLL = 0.1
ANSWERS = {"y": DRStepOutcome.PASSED, "yes": DRStepOutcome.PASSED, "done": DRStepOutcome.PASSED,
           "n": DRStepOutcome.FAILED, "no": DRStepOutcome.FAILED, "failed": DRStepOutcome.FAILED,
           "s": DRStepOutcome.NOT_VERIFIED, "skip": DRStepOutcome.NOT_VERIFIED}  # fmt: skip


class Confirmer(Protocol):
    def __call__(self, title: str, instruction: str, interrupted: threading.Event) -> tuple[DRStepOutcome, str]:
        """Ask a person to carry out ``instruction``; the outcome and a detail for the journal."""


def unattended(title: str, instruction: str, interrupted: threading.Event) -> tuple[DRStepOutcome, str]:
    return DRStepOutcome.NOT_VERIFIED, "manual step not confirmed: nobody at a terminal to confirm it (non-interactive run)"


class TerminalConfirmer:
    """Asks on the terminal: y (done), n (failed), s (skip: not verified); Ctrl-C stops waiting."""

    def __init__(self, stdin: TextIO, out: TextIO, pause: Callable[[], ContextManager[None]] | None = None) -> None:
        self._stdin = stdin
        self._out = out
        self._pause = pause or contextlib.nullcontext
        self._reader: threading.Thread | None = None
        self._lines: list[str] = []
        self._eof = False
        self._lock = threading.Lock()
        self._arrived = threading.Event()

    def __call__(self, title: str, instruction: str, interrupted: threading.Event) -> tuple[DRStepOutcome, str]:
        with self._pause():
            self._out.write(f"\nMANUAL STEP: {title}\n  {instruction}\n")
            while True:
                self._out.write("  Done? [y] done, [n] failed, [s] skip (recorded as not verified): ")
                self._out.flush()
                line = self._next_line(interrupted)
                if line is None:
                    reason = "interrupted" if interrupted.is_set() else "the terminal closed"
                    self._out.write("\n")
                    return DRStepOutcome.NOT_VERIFIED, f"manual step not confirmed: {reason}"
                answer = ANSWERS.get(line.strip().lower())
                if answer is not None:
                    verdict = {DRStepOutcome.PASSED: "confirmed done", DRStepOutcome.FAILED: "reported failed",
                               DRStepOutcome.NOT_VERIFIED: "skipped: not verified"}[answer]  # fmt: skip
                    return answer, f"manual step {verdict} at the terminal"
                self._out.write("  please answer y, n or s\n")

    def _next_line(self, interrupted: threading.Event) -> str | None:
        """The next line typed, or None on end of input or an interrupt (the reader thread keeps waiting)."""
        self._ensure_reader()
        while not interrupted.is_set():
            with self._lock:
                if self._lines:
                    line = self._lines.pop(0)
                    if not self._lines:
                        self._arrived.clear()
                    return line
                if self._eof:
                    return None
            self._arrived.wait(POLL)
        return None

    def _ensure_reader(self) -> None:
        if self._reader is None:
            self._reader = threading.Thread(target=self._read, name="manual-step-answers", daemon=True)
            self._reader.start()

    def _read(self) -> None:
        while True:
            line = self._stdin.readline()
            with self._lock:
                if not line:
                    self._eof = True
                else:
                    self._lines.append(line)
                self._arrived.set()
            if not line:
                return
