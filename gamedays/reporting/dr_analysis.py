"""The analysis of the gameday's disaster-recovery checks (R-4): read from the fold of the journal's events.

For each DR check the plan lists (``GamedayStarted.disaster_recovery``), the
journal holds ``dr_started``, one ``dr_step`` per activity (backup, disaster,
recovery steps, checks), perhaps ``dr_writes`` (the writer that measures RPO)
and ``dr_finished``. From these facts and the verdicts of
:mod:`gamedays.journal.verdict` this module says what happened:

- a check listed but never started is SKIPPED; one started but never finished
  (a crash, or an interruption during the check) is ABORTED;
- RTO runs from the disaster to the moment every check passed;
- RPO is the writer's window, ``disaster_at - first_lost_at`` (0 when nothing
  written before the disaster was lost), with the writes lost and acknowledged;
  not measured (None) without a writer, when the writer could not read back,
  or when no disaster happened (a rehearsal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gamedays.journal.state import DRCheckState, GamedayState
from gamedays.journal.verdict import dr_verdict, failed_dr_step
from gamedays.model.dr import DROutcome, DRPhase, DRStepKind, DRStepOutcome
from gamedays.model.events import DRFinished, DRInfo


@dataclass(frozen=True)
class DRStepResult:
    phase: DRPhase
    name: str
    kind: DRStepKind
    outcome: DRStepOutcome
    started: float
    ended: float
    detail: str
    journal: str  # the Chaos Toolkit journal of an automated step, relative to the report folder; "" when none

    @property
    def seconds(self) -> float:
        return max(0.0, self.ended - self.started)


@dataclass(frozen=True)
class DRAnalysis:
    id: str
    title: str
    playbook: str
    component_kind: str
    component: str
    disaster: str
    dry: bool  # a rehearsal's precheck: no disaster was caused
    outcome: DROutcome
    rto_target: float
    rto: float | None  # seconds from the disaster to every check passing; None: never recovered, or no disaster
    rto_met: bool | None  # None: not measured (a rehearsal, a check that never ran to its end)
    rpo_target: float | None
    rpo: float | None  # seconds of data lost before the disaster; None: not measured
    rpo_met: bool | None  # None: not measured, or no RPO target
    writer: str | None
    writes_acknowledged: int | None
    writes_lost: int | None
    disaster_at: float | None
    recovered_at: float | None
    failed_step: str | None
    steps: tuple[DRStepResult, ...]
    detail: str
    started: float | None = None  # dr_started
    finished: float | None = None  # dr_finished; None: the check never finished
    writer_error: str | None = None  # the writer could not read back: RPO not measured


def dr_analyses(state: GamedayState) -> tuple[DRAnalysis, ...]:
    """One analysis per DR check of the plan, in the plan's order."""
    infos = state.start.disaster_recovery if state.start else ()
    return tuple(_check(state, state.checks[info.id]) for info in infos)


def _check(state: GamedayState, check: DRCheckState) -> DRAnalysis:
    info = check.info
    assert info is not None  # the plan's checks only
    started, finished, writes = check.started, check.finished, check.writes
    steps = tuple(
        sorted(
            (DRStepResult(e.phase, e.name, e.kind, e.outcome, e.started, e.at, e.detail, e.journal) for e in check.steps),
            key=lambda s: (s.started, s.ended),
        )
    )
    if started is None:
        return _skipped(info, steps)
    judged = dr_verdict(state, check)
    measured = judged.measured
    return _analysis(
        info,
        dry=started.dry,
        outcome=judged.outcome,
        rto=judged.rto,
        rto_met=judged.rto_met,
        rpo=judged.rpo,
        rpo_met=judged.rpo_met,
        writer=writes.writer if writes is not None else info.writer,
        writes_acknowledged=writes.acknowledged if measured and writes is not None else None,
        writes_lost=writes.lost if measured and writes is not None else None,
        disaster_at=finished.disaster_at if finished else None,
        recovered_at=finished.recovered_at if finished else None,
        failed_step=failed_dr_step(check),
        steps=steps,
        detail=_detail(finished, judged.outcome),
        started=started.at,
        finished=finished.at if finished else None,
        writer_error=writes.error if writes is not None else None,
    )


def _detail(finished: DRFinished | None, outcome: DROutcome) -> str:
    if finished is None:
        return "started but never finished: the run ended during the check"
    if finished.detail:
        return finished.detail
    if outcome is DROutcome.ABORTED:
        return "interrupted during the check"
    return ""


def _skipped(info: DRInfo, steps: tuple[DRStepResult, ...]) -> DRAnalysis:
    return _analysis(
        info,
        dry=False,
        outcome=DROutcome.SKIPPED,
        rto=None,
        rto_met=None,
        rpo=None,
        rpo_met=None,
        writer=info.writer,
        writes_acknowledged=None,
        writes_lost=None,
        disaster_at=None,
        recovered_at=None,
        failed_step=None,
        steps=steps,
        detail="never started: the run ended before this check",
    )


def _analysis(info: DRInfo, **found: Any) -> DRAnalysis:
    """The analysis of the check ``info`` describes: what the plan says of it (names, targets), and what was ``found``."""
    return DRAnalysis(
        id=info.id,
        title=info.title,
        playbook=info.playbook,
        component_kind=info.component_kind,
        component=info.component,
        disaster=info.disaster,
        rto_target=info.rto_seconds,
        rpo_target=info.rpo_seconds,
        **found,
    )
