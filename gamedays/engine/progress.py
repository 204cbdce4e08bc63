"""What a person watching the gameday sees.

One line per meaningful event (the plain mode, for CI logs and anything that is
not a terminal): samples are not printed one by one, an SLO's line appears when
it goes into breach or back within objective, with the budget it has burned so
far. On a terminal, a live panel below those lines shows the current step, each
SLI against its objective and the error budget left.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from typing import Callable, Iterator, TextIO

from pydantic import BaseModel

from gamedays.model.events import (
    DRFinished,
    DRStarted,
    DRStepDone,
    DRWrites,
    NotificationFailed,
    ExperimentProgress,
    GamedayFinished,
    GamedayStarted,
    GuardrailTripped,
    Interrupted,
    PhaseStarted,
    RollbacksPlayed,
    SampleTaken,
    StepFinished,
    StepStarted,
)


class Progress:
    def __init__(self, out: TextIO, budget: Callable[[], dict[str, float]] | None = None, live: bool = False) -> None:
        self._out = out
        self._budget = budget or (lambda: {})
        self._state: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._panel = _Panel(out, self._budget) if live else None

    def __enter__(self) -> Progress:
        if self._panel is not None:
            self._panel.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._panel is not None:
            self._panel.stop()

    def __call__(self, event: BaseModel) -> None:
        line = self._line(event)
        with self._lock:
            if self._panel is not None:
                self._panel.observe(event)
            if line:
                stamp = dt.datetime.fromtimestamp(getattr(event, "at", 0)).strftime("%H:%M:%S")
                self._write(f"{stamp} {line}")

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

    def _write(self, text: str) -> None:
        if self._panel is not None:
            self._panel.print(text)
        else:
            self._out.write(text + "\n")
            self._out.flush()

    def _line(self, event: BaseModel) -> str | None:
        if isinstance(event, SampleTaken):
            return self._sample(event)
        if isinstance(event, GamedayStarted):
            kind = "rehearsal" if event.mode.value == "rehearsal" else "gameday"
            return f"{kind} {event.gameday} started: {len(event.steps)} experiments, {len(event.slos)} SLOs sampled every {event.interval_seconds:g}s"
        if isinstance(event, PhaseStarted):
            return f"{event.phase} for up to {event.seconds:g}s" + (f" after {event.step}" if event.step else "")
        if isinstance(event, StepStarted):
            return f"step {event.step}: starting"
        if isinstance(event, ExperimentProgress):
            return self._experiment(event)
        if isinstance(event, GuardrailTripped):
            return f"GUARDRAIL: aborting {event.step or 'the gameday'}: {event.detail}"
        if isinstance(event, RollbacksPlayed):
            verdict = "succeeded" if event.succeeded else "FAILED"
            return f"step {event.step}: rollbacks played by the {event.by}: {verdict} {event.detail}".rstrip()
        if isinstance(event, StepFinished):
            detail = f" ({event.detail})" if event.detail else ""
            return f"step {event.step}: {event.outcome.value}{detail}"
        if isinstance(event, (DRStarted, DRStepDone, DRWrites, DRFinished)):
            return _dr_line(event)
        if isinstance(event, NotificationFailed):
            return f"notification to {event.channel} about {event.about} failed after {event.attempts} attempts: {event.error}"
        if isinstance(event, Interrupted):
            return f"interrupted by {event.signal}: rolling back and closing the journal"
        if isinstance(event, GamedayFinished):
            return f"finished: {event.outcome.value} (exit code {event.exit_code})"
        return None

    def _sample(self, sample: SampleTaken) -> str | None:
        previous = self._state.get(sample.slo)
        self._state[sample.slo] = sample.good
        if previous is None or previous == sample.good:
            return None
        burned = self._budget().get(sample.slo)
        budget = f"; {burned:.2%} of its error budget burned" if burned is not None else ""
        if sample.good:
            return f"SLO {sample.slo} back within objective{budget}"
        return f"SLO {sample.slo} in breach: {sample.error or 'bad sample'}{budget}"

    def _experiment(self, event: ExperimentProgress) -> str | None:
        step = f"step {event.step}"
        if event.kind in ("hypothesis_before", "hypothesis_after"):
            when = "before" if event.kind == "hypothesis_before" else "after"
            return f"{step}: steady state {when} the fault {'met' if event.met else 'NOT met'}"
        if event.kind == "method_started":
            return f"{step}: fault injected"
        if event.kind == "rollbacks_completed":
            return f"{step}: rollbacks done"
        return None


def _dr_line(event: BaseModel) -> str:
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


class _Panel:
    """The live view of a terminal: current step, each SLI against its objective, budget left."""

    def __init__(self, out: TextIO, budget: Callable[[], dict[str, float]]) -> None:
        from rich.console import Console
        from rich.live import Live

        self._console = Console(file=out)
        self._budget = budget
        self._step = "preflight"
        self._objectives: dict[str, float] = {}
        self._counts: dict[str, list[int]] = {}
        self._last: dict[str, SampleTaken] = {}
        self._live = Live(console=self._console, refresh_per_second=4, transient=True, get_renderable=self._render)

    def start(self) -> None:
        self._live.start()

    def stop(self) -> None:
        self._live.stop()

    def print(self, text: str) -> None:
        self._console.print(text, markup=False, highlight=False)

    def observe(self, event: BaseModel) -> None:
        if isinstance(event, GamedayStarted):
            self._objectives = {slo.name: slo.objective for slo in event.slos}
        elif isinstance(event, StepStarted):
            self._step = event.step
        elif isinstance(event, StepFinished):
            self._step = f"{event.step}: {event.outcome.value}"
        elif isinstance(event, PhaseStarted):
            self._step = f"{event.phase}" + (f" after {event.step}" if event.step else "")
        elif isinstance(event, DRStarted):
            self._step = f"DR {event.check}"
        elif isinstance(event, DRStepDone):
            self._step = f"DR {event.check}: {event.name}"
        elif isinstance(event, SampleTaken):
            counts = self._counts.setdefault(event.slo, [0, 0])
            counts[0 if event.good else 1] += 1
            self._last[event.slo] = event

    def _render(self):  # type: ignore[no-untyped-def]
        from rich.table import Table

        table = Table(title=f"now: {self._step}", title_justify="left", expand=False)
        for column in ("SLO", "last sample", "good samples", "objective", "window budget burned", "left"):
            table.add_column(column)
        burned = self._budget()
        for name, objective in self._objectives.items():
            good, bad = self._counts.get(name, [0, 0])
            total = good + bad
            last = self._last.get(name)
            state = "-" if last is None else ("ok" if last.good else f"BREACH {last.error or ''}"[:48])
            share = burned.get(name, 0.0)
            table.add_row(
                name, state, f"{good / total:.2%}" if total else "-", f"{objective:.3%}",
                f"{share:.2%}", f"{max(0.0, 1 - share):.2%}",
            )
        return table
