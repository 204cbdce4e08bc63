"""The live state of a gameday: one incremental fold over its journal's events.

:class:`GamedayState` is what every reader of a gameday works from: the guardrails
(breach since when, budget burned), the terminal view, ``/metrics``, the notifications,
the console, and, once the journal is complete, the report (``gamedays.reporting.analysis``
analyses the final state). It holds the facts grouped the way they are read (per SLO,
per step, per DR check) and nothing that needs a clock or I/O.

The fold is pure: :meth:`GamedayState.apply` depends only on the state and the event, so
folding a journal's events one at a time, as a run writes them, gives the same state as
folding them all at once when a report is rendered later (tests/journal/test_state.py
checks it with hypothesis). The state is not thread-safe: one owner folds into it
(the orchestrator under its recording lock; the listeners' delivery thread its own copy).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from gamedays.model.budget import budget_burned
from gamedays.model.events import (
    DRFinished,
    DRInfo,
    DRStarted,
    DRStepDone,
    DRWrites,
    Event,
    ExperimentProgress,
    FaultArmed,
    GamedayFinished,
    GamedayStarted,
    GuardrailTripped,
    Interrupted,
    NotificationFailed,
    UploadFailed,
    PhaseStarted,
    RollbacksPlayed,
    SampleTaken,
    SamplingBehind,
    SLOInfo,
    StepFinished,
    StepInfo,
    StepStarted,
)
from gamedays.model.units import Duration, Percentage


@dataclass
class SLOState:
    """One SLO as sampled so far."""

    name: str
    info: SLOInfo | None = None  # None: sampled, yet not in the plan's gameday_started
    taken: int = 0
    bad: int = 0
    last: SampleTaken | None = None
    breach_since: float | None = None  # the first bad sample of the bad samples in a row so far
    last_breach_since: float | None = None  # the first bad sample of the last breach that ended (a good sample)
    flipped: bool = False  # the last sample went from good to bad or back (False for the first)
    skipped: int = 0  # ticks its schedule skipped because it fell behind (no sample for them)
    fault_breach_since: float | None = None  # the same, counting only samples since the last fault was armed
    samples: list[SampleTaken] = field(default_factory=list)  # in journal order; kept only by a state that keeps samples

    @property
    def good(self) -> int:
        return self.taken - self.bad

    @property
    def in_breach(self) -> bool:
        return self.breach_since is not None


@dataclass
class StepState:
    """One experiment step of the plan, as the run recorded it."""

    id: str
    info: StepInfo | None = None
    started: StepStarted | None = None
    armed: FaultArmed | None = None
    progress: dict[str, ExperimentProgress] = field(default_factory=dict)  # the last event of each kind
    guard: GuardrailTripped | None = None  # the first guardrail that aborted it
    rollbacks: list[RollbacksPlayed] = field(default_factory=list)  # played outside the experiment's own run
    finished: StepFinished | None = None
    bad_during: dict[str, int] = field(default_factory=dict)  # bad samples per SLO between its start and its end

    @property
    def state(self) -> str:
        """pending, running, or the outcome the run recorded (passed, deviated, aborted, error, skipped)."""
        if self.finished is not None:
            return self.finished.outcome.value
        return "running" if self.started is not None else "pending"

    @property
    def rolled_back(self) -> bool:
        return "rollbacks_completed" in self.progress or any(r.succeeded for r in self.rollbacks)


@dataclass
class DRCheckState:
    """One DR check of the plan, as the run recorded it."""

    id: str
    info: DRInfo | None = None
    started: DRStarted | None = None
    steps: list[DRStepDone] = field(default_factory=list)
    writes: DRWrites | None = None  # the last measurement of the writer
    finished: DRFinished | None = None


@dataclass
class GamedayState:
    """Everything the journal says so far, grouped to be read; fold events into it with :meth:`apply`.

    ``keep_samples=False`` keeps counts and the last sample per SLO but not every sample: what
    live readers need, in constant memory per SLO however long the gameday.
    """

    keep_samples: bool = True
    start: GamedayStarted | None = None
    finish: GamedayFinished | None = None
    interruption: Interrupted | None = None  # the first interrupt
    interruptions: list[float] = field(default_factory=list)  # when each came
    slos: dict[str, SLOState] = field(default_factory=dict)  # the plan's first, in its order
    steps: dict[str, StepState] = field(default_factory=dict)
    checks: dict[str, DRCheckState] = field(default_factory=dict)
    starts: list[float] = field(default_factory=list)  # when each step and DR check started, in journal order
    baseline: PhaseStarted | None = None
    phase: PhaseStarted | None = None  # the phase the gameday is in, until a step or check starts
    now: str = "preflight"  # what is going on, in words: a step, a phase, a DR check
    current_step: str | None = None  # the step started and not finished
    current_check: str | None = None
    armed: list[str] = field(default_factory=list)  # steps whose fault was armed (not in a dry run), in order
    notifications_failed: list[NotificationFailed] = field(default_factory=list)
    uploads_failed: list[UploadFailed] = field(default_factory=list)
    aborts: int = 0
    events: int = 0
    began: float | None = None  # the earliest and latest ``at`` of any event
    ended: float | None = None

    # ------------------------------------------------------------------ the fold

    def apply(self, event: Event) -> GamedayState:
        """Fold one event in; returns the state itself, so ``reduce(GamedayState.apply, events, state)`` works."""
        self.events += 1
        at = event.at
        self.began = at if self.began is None else min(self.began, at)
        self.ended = at if self.ended is None else max(self.ended, at)
        _APPLY[type(event)](self, event)
        return self

    def copy(self) -> GamedayState:
        """An independent copy (the events in it are frozen and shared)."""
        return copy.deepcopy(self, memo={id(e): e for e in self._events_held()})

    # ------------------------------------------------------------------ derived, live

    @property
    def interval(self) -> float:
        return self.start.interval_seconds if self.start else 1.0

    def burned(self, slo: str) -> float:
        """Share of the SLO's window error budget burned so far in the gameday (1.0: all of it)."""
        state = self.slos[slo]
        if state.info is None:
            return 0.0
        return burned_by(state.bad, state.info, self.interval)

    def budget_spent(self) -> dict[str, float]:
        return {name: self.burned(name) for name, state in self.slos.items() if state.info is not None}

    def open_faults(self) -> tuple[str, ...]:
        """Steps whose fault was armed (not in a dry run) and whose rollbacks are not known to have run."""
        return tuple(step for step in self.armed if not self.steps[step].rolled_back)

    # ------------------------------------------------------------------ per event

    def _gameday_started(self, event: GamedayStarted) -> None:
        if self.start is not None:
            return
        self.start = event
        known = self.slos
        self.slos = {info.name: known.pop(info.name, SLOState(info.name)) for info in event.slos} | known
        for info in event.slos:
            self.slos[info.name].info = info
        self.steps = {info.id: self.steps.pop(info.id, StepState(info.id)) for info in event.steps} | self.steps
        for step in event.steps:
            self.steps[step.id].info = step
        self.checks = {info.id: self.checks.pop(info.id, DRCheckState(info.id)) for info in event.disaster_recovery} | self.checks
        for check in event.disaster_recovery:
            self.checks[check.id].info = check

    def _sample(self, event: SampleTaken) -> None:
        state = self.slos.get(event.slo)
        if state is None:
            state = self.slos[event.slo] = SLOState(event.slo)
        state.taken += 1
        state.flipped = state.last is not None and state.last.good != event.good
        state.last = event
        if self.keep_samples:
            state.samples.append(event)
        if event.good:
            if state.breach_since is not None:
                state.last_breach_since = state.breach_since
            state.breach_since = state.fault_breach_since = None
            return
        state.bad += 1
        if state.breach_since is None:
            state.breach_since = event.at
        if state.fault_breach_since is None:
            state.fault_breach_since = event.at
        if self.current_step is not None:
            during = self.steps[self.current_step].bad_during
            during[event.slo] = during.get(event.slo, 0) + 1

    def _sampling_behind(self, event: SamplingBehind) -> None:
        state = self.slos.get(event.slo)
        if state is None:
            state = self.slos[event.slo] = SLOState(event.slo)
        state.skipped += event.skipped

    def _phase(self, event: PhaseStarted) -> None:
        if event.phase == "baseline" and self.baseline is None:
            self.baseline = event
        self.phase = event
        self.now = event.phase + (f" after {event.step}" if event.step else "")

    def _step(self, step: str) -> StepState:
        state = self.steps.get(step)
        if state is None:
            state = self.steps[step] = StepState(step)
        return state

    def _step_started(self, event: StepStarted) -> None:
        state = self._step(event.step)
        if state.started is None:
            state.started = event
        self.starts.append(event.at)
        self.current_step, self.phase, self.now = event.step, None, event.step

    def _fault_armed(self, event: FaultArmed) -> None:
        state = self._step(event.step)
        if state.armed is None:
            state.armed = event
        if not event.dry:
            self.armed.append(event.step)
        for slo in self.slos.values():
            slo.fault_breach_since = None  # a breach before the fault is not the fault's

    def _experiment(self, event: ExperimentProgress) -> None:
        self._step(event.step).progress[event.kind] = event

    def _guardrail(self, event: GuardrailTripped) -> None:
        self.aborts += 1
        if event.step is not None:
            state = self._step(event.step)
            if state.guard is None:
                state.guard = event

    def _rollbacks(self, event: RollbacksPlayed) -> None:
        self._step(event.step).rollbacks.append(event)

    def _step_finished(self, event: StepFinished) -> None:
        state = self._step(event.step)
        if state.finished is None:
            state.finished = event
        if self.current_step == event.step:
            self.current_step = None
        self.now = f"{event.step}: {event.outcome.value}"

    def _check(self, check: str) -> DRCheckState:
        state = self.checks.get(check)
        if state is None:
            state = self.checks[check] = DRCheckState(check)
        return state

    def _dr_started(self, event: DRStarted) -> None:
        state = self._check(event.check)
        if state.started is None:
            state.started = event
        self.starts.append(event.at)
        self.current_check, self.phase, self.now = event.check, None, f"DR {event.check}"

    def _dr_step(self, event: DRStepDone) -> None:
        self._check(event.check).steps.append(event)
        self.now = f"DR {event.check}: {event.name}"

    def _dr_writes(self, event: DRWrites) -> None:
        self._check(event.check).writes = event

    def _dr_finished(self, event: DRFinished) -> None:
        state = self._check(event.check)
        if state.finished is None:
            state.finished = event
        if self.current_check == event.check:
            self.current_check = None

    def _notification_failed(self, event: NotificationFailed) -> None:
        self.notifications_failed.append(event)

    def _upload_failed(self, event: UploadFailed) -> None:
        self.uploads_failed.append(event)

    def _interrupted(self, event: Interrupted) -> None:
        if self.interruption is None:
            self.interruption = event
        self.interruptions.append(event.at)

    def _gameday_finished(self, event: GamedayFinished) -> None:
        if self.finish is None:
            self.finish = event
        self.current_step = self.current_check = None

    def _events_held(self) -> Iterable[object]:
        for slo in self.slos.values():
            yield from slo.samples
        # the other events are few; deepcopy copies frozen models cheaply enough


_APPLY: dict[type, Callable[[GamedayState, Any], None]] = {
    GamedayStarted: GamedayState._gameday_started,
    SampleTaken: GamedayState._sample,
    SamplingBehind: GamedayState._sampling_behind,
    PhaseStarted: GamedayState._phase,
    StepStarted: GamedayState._step_started,
    FaultArmed: GamedayState._fault_armed,
    ExperimentProgress: GamedayState._experiment,
    GuardrailTripped: GamedayState._guardrail,
    RollbacksPlayed: GamedayState._rollbacks,
    StepFinished: GamedayState._step_finished,
    DRStarted: GamedayState._dr_started,
    DRStepDone: GamedayState._dr_step,
    DRWrites: GamedayState._dr_writes,
    DRFinished: GamedayState._dr_finished,
    NotificationFailed: GamedayState._notification_failed,
    UploadFailed: GamedayState._upload_failed,
    Interrupted: GamedayState._interrupted,
    GamedayFinished: GamedayState._gameday_finished,
}


def fold(events: Iterable[Event], state: GamedayState | None = None) -> GamedayState:
    """``state`` (a new one by default) with every event folded in, in order."""
    state = state if state is not None else GamedayState()
    for event in events:
        state.apply(event)
    return state


def burned_by(bad: int, info: SLOInfo, interval: float) -> float:
    """Share of the SLO's window budget that ``bad`` samples ``interval`` seconds apart burn."""
    return budget_burned(Duration(bad * interval), Percentage(info.objective), Duration(info.window_seconds))
