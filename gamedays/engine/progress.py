"""What a person watching the gameday sees: one line per meaningful event.

Samples are not printed one by one: an SLO's line appears when it goes into
breach or back within objective, with the budget it has burned so far.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Callable, TextIO

from pydantic import BaseModel

from gamedays.model.events import (
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
    def __init__(self, out: TextIO, budget: Callable[[], dict[str, float]] | None = None) -> None:
        self._out = out
        self._budget = budget or (lambda: {})
        self._state: dict[str, bool] = {}
        self._lock = threading.Lock()

    def __call__(self, event: BaseModel) -> None:
        line = self._line(event)
        if line:
            with self._lock:
                stamp = dt.datetime.fromtimestamp(getattr(event, "at", 0)).strftime("%H:%M:%S")
                self._out.write(f"{stamp} {line}\n")
                self._out.flush()

    def note(self, text: str) -> None:
        with self._lock:
            self._out.write(f"{dt.datetime.now().strftime('%H:%M:%S')} {text}\n")
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
