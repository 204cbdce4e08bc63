"""What a person watching the gameday sees.

One line per meaningful event (the plain mode, for CI logs and anything that is
not a terminal): samples are not printed one by one, an SLO's line appears when
it goes into breach or back within objective, with the budget it has burned so
far. On a terminal, a live panel below those lines shows the current step, each
SLI against its objective and the error budget left.

Progress is a listener (:mod:`gamedays.journal.delivery`): its lines come from the hooks of
the event types it subscribes to, on the delivery thread; the panel reads the listeners'
fold when it refreshes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from typing import Any, Callable, Iterator, TextIO

from gamedays.journal.delivery import Hooks, Reader
from gamedays.journal.state import GamedayState
from gamedays.model.events import (
    DRFinished,
    DRStarted,
    DRStepDone,
    DRWrites,
    NotificationFailed,
    UploadFailed,
    ExperimentProgress,
    GamedayFinished,
    GamedayStarted,
    GuardrailTripped,
    Interrupted,
    PhaseStarted,
    RollbacksPlayed,
    SampleTaken,
    SamplingBehind,
    StepFinished,
    StepStarted,
)



class Progress:
    def __init__(self, out: TextIO, live: bool = False, read: Reader | None = None) -> None:
        self._out = out
        self._lock = threading.Lock()  # the delivery thread's lines and the main thread's notes
        self._panel = _Panel(out, read) if live and read is not None else None

    def subscribe(self, hooks: Hooks) -> None:
        for kind, line in _LINES.items():
            hooks.on(kind, self._printer(line))

    def __enter__(self) -> Progress:
        if self._panel is not None:
            self._panel.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._panel is not None:
            self._panel.stop()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The live panel steps aside while a person is asked something at the terminal."""
        if self._panel is None:
            yield
            return
        self._panel.stop()
        try:
            yield
        finally:
            self._panel.start()

    def note(self, text: str) -> None:
        with self._lock:
            self._write(f"{dt.datetime.now().strftime('%H:%M:%S')} {text}")

    def _printer(self, line: Callable[[Any, GamedayState], str | None]) -> Callable[[Any, GamedayState], None]:
        def show(event: Any, state: GamedayState) -> None:
            text = line(event, state)
            if text:
                stamp = dt.datetime.fromtimestamp(event.at).strftime("%H:%M:%S")
                with self._lock:
                    self._write(f"{stamp} {text}")
        return show

    def _write(self, text: str) -> None:
        if self._panel is not None:
            self._panel.print(text)
        else:
            self._out.write(text + "\n")
            self._out.flush()


def _sample_line(sample: SampleTaken, state: GamedayState) -> str | None:
    """A line when an SLO goes into breach or back within objective (not for its first sample)."""
    if not state.slos[sample.slo].flipped:
        return None
    burned = state.budget_spent().get(sample.slo)
    budget = f"; {burned:.2%} of its error budget burned" if burned is not None else ""
    if sample.good:
        return f"SLO {sample.slo} back within objective{budget}"
    return f"SLO {sample.slo} in breach: {sample.error or 'bad sample'}{budget}"


def _started_line(event: GamedayStarted, state: GamedayState) -> str:
    kind = "rehearsal" if event.mode.value == "rehearsal" else "gameday"
    return f"{kind} {event.gameday} started: {len(event.steps)} experiments, {len(event.slos)} SLOs sampled every {event.interval_seconds:g}s"


def _experiment_line(event: ExperimentProgress, state: GamedayState) -> str | None:
    step = f"step {event.step}"
    if event.kind in ("hypothesis_before", "hypothesis_after"):
        when = "before" if event.kind == "hypothesis_before" else "after"
        return f"{step}: steady state {when} the fault {'met' if event.met else 'NOT met'}"
    if event.kind == "method_started":
        return f"{step}: fault injected"
    if event.kind == "rollbacks_completed":
        return f"{step}: rollbacks done"
    return None


def _rollbacks_line(event: RollbacksPlayed, state: GamedayState) -> str:
    verdict = "succeeded" if event.succeeded else "FAILED"
    return f"step {event.step}: rollbacks played by the {event.by}: {verdict} {event.detail}".rstrip()


def _step_finished_line(event: StepFinished, state: GamedayState) -> str:
    detail = f" ({event.detail})" if event.detail else ""
    return f"step {event.step}: {event.outcome.value}{detail}"


def _dr_line(event: DRStarted | DRStepDone | DRWrites | DRFinished, state: GamedayState) -> str:
    if isinstance(event, DRStarted):
        return f"DR {event.check}: " + ("rehearsal prechecks (no disaster)" if event.dry else "started")
    if isinstance(event, DRStepDone):
        detail = f" ({event.detail[:157] + '...' if len(event.detail) > 160 else event.detail})" if event.detail else ""
        return f"DR {event.check}: {event.phase.value} {event.name}: {event.outcome.value}{detail}"
    if isinstance(event, DRWrites):
        if event.error:
            return f"DR {event.check}: RPO not measured: {event.error}"
        return f"DR {event.check}: {event.acknowledged} writes acknowledged, {event.lost} lost"
    assert isinstance(event, DRFinished)
    facts = []
    if event.disaster_at is not None and event.recovered_at is not None:
        facts.append(f"recovered {event.recovered_at - event.disaster_at:.1f}s after the disaster")
    if event.failed_step:
        facts.append(f"failed at {event.failed_step!r}")
    if event.detail:
        facts.append(event.detail)
    return f"DR {event.check}: finished" + (": " + "; ".join(facts) if facts else "")


_LINES: dict[type, Callable[[Any, GamedayState], str | None]] = {
    SampleTaken: _sample_line,
    SamplingBehind: lambda e, s: f"sampling of {e.slo} fell behind (the machine stalled): {e.skipped} ticks skipped",
    GamedayStarted: _started_line,
    PhaseStarted: lambda e, s: f"{e.phase} for up to {e.seconds:g}s" + (f" after {e.step}" if e.step else ""),
    StepStarted: lambda e, s: f"step {e.step}: starting",
    ExperimentProgress: _experiment_line,
    GuardrailTripped: lambda e, s: f"GUARDRAIL: aborting {e.step or 'the gameday'}: {e.detail}",
    RollbacksPlayed: _rollbacks_line,
    StepFinished: _step_finished_line,
    DRStarted: _dr_line,
    DRStepDone: _dr_line,
    DRWrites: _dr_line,
    DRFinished: _dr_line,
    NotificationFailed: lambda e, s: f"notification to {e.channel} about {e.about} failed after {e.attempts} attempts: {e.error}",
    UploadFailed: lambda e, s: f"upload to {e.location} failed (the gameday goes on; retried at the next step or in 10s): {e.error}",
    Interrupted: lambda e, s: f"interrupted by {e.signal}: rolling back and closing the journal",
    GamedayFinished: lambda e, s: f"finished: {e.outcome.value} (exit code {e.exit_code})",
}


class _Panel:
    """The live view of a terminal: what is going on now, each SLI against its objective, budget left."""

    def __init__(self, out: TextIO, read: Reader) -> None:
        from rich.console import Console
        from rich.live import Live

        self._console = Console(file=out)
        self._read = read
        self._live = Live(console=self._console, refresh_per_second=4, transient=True, get_renderable=self._render)

    def start(self) -> None:
        self._live.start()

    def stop(self) -> None:
        self._live.stop()

    def print(self, text: str) -> None:
        self._console.print(text, markup=False, highlight=False)

    def _render(self):  # type: ignore[no-untyped-def]
        from rich.table import Table

        now, rows = self._read(_panel_rows)
        table = Table(title=f"now: {now}", title_justify="left", expand=False)
        for column in ("SLO", "last sample", "good samples", "objective", "window budget burned", "left"):
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        return table


def _panel_rows(state: GamedayState) -> tuple[str, list[tuple[str, ...]]]:
    rows: list[tuple[str, ...]] = []
    burned = state.budget_spent()
    for name, slo in state.slos.items():
        if slo.info is None:
            continue
        last = slo.last
        status = "-" if last is None else ("ok" if last.good else f"BREACH {last.error or ''}"[:48])
        share = burned.get(name, 0.0)
        rows.append((
            name, status, f"{slo.good / slo.taken:.2%}" if slo.taken else "-", f"{slo.info.objective:.3%}",
            f"{share:.2%}", f"{max(0.0, 1 - share):.2%}",
        ))
    return state.now, rows
