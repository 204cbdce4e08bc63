"""The analysis of the gameday's disaster-recovery checks (R-4): a pure function of the journal's DR events.

For each DR check the plan lists (``GamedayStarted.disaster_recovery``), the
journal holds ``dr_started``, one ``dr_step`` per activity (backup, disaster,
recovery steps, checks), perhaps ``dr_writes`` (the writer that measures RPO)
and ``dr_finished``. From these facts and the verdict functions of
:mod:`gamedays.model.dr` this module says what happened:

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
from typing import Any, Sequence

from gamedays.model.dr import DROutcome, DRPhase, DRStepKind, DRStepOutcome, judge, rto_seconds
from gamedays.model.events import DRFinished, DRInfo, DRStarted, DRStepDone, DRWrites, Event, Interrupted


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


def dr_analyses(infos: Sequence[DRInfo], events: Sequence[Event]) -> tuple[DRAnalysis, ...]:
    """One analysis per DR check of the plan, in the plan's order."""
    interruptions = [e.at for e in events if isinstance(e, Interrupted)]
    by_check: dict[str, list[Event]] = {}
    for event in events:
        if isinstance(event, (DRStarted, DRStepDone, DRWrites, DRFinished)):
            by_check.setdefault(event.check, []).append(event)
    return tuple(_check(info, by_check.get(info.id, []), interruptions) for info in infos)


def _check(info: DRInfo, mine: Sequence[Event], interruptions: Sequence[float]) -> DRAnalysis:
    started = next((e for e in mine if isinstance(e, DRStarted)), None)
    finished = next((e for e in mine if isinstance(e, DRFinished)), None)
    writes = next((e for e in reversed(mine) if isinstance(e, DRWrites)), None)
    steps = tuple(
        sorted(
            (
                DRStepResult(e.phase, e.name, e.kind, e.outcome, e.started, e.at, e.detail, e.journal)
                for e in mine
                if isinstance(e, DRStepDone)
            ),
            key=lambda s: (s.started, s.ended),
        )
    )
    if started is None:
        return _skipped(info, steps)
    dry = started.dry
    disaster_at = finished.disaster_at if finished else None
    recovered_at = finished.recovered_at if finished else None
    rto = rto_seconds(disaster_at, recovered_at)
    measured = writes is not None and writes.error is None
    rpo = _rpo(writes, disaster_at) if measured and not dry else None
    interrupted = finished is None or any(started.at <= at <= finished.at for at in interruptions)
    outcome = judge(
        dry=dry,
        interrupted=interrupted,
        step_outcomes=[s.outcome for s in steps],
        rto=rto,
        rto_target=info.rto_seconds,
        rpo=rpo,
        rpo_target=info.rpo_seconds,
    )
    rto_met: bool | None = None
    if rto is not None:
        rto_met = rto <= info.rto_seconds
    elif finished is not None and not dry and disaster_at is not None:
        rto_met = False  # the disaster happened and the checks never all passed
    failed = finished.failed_step if finished and finished.failed_step else None
    if failed is None:
        failed = next((s.name for s in steps if s.outcome is DRStepOutcome.FAILED), None)
    return _analysis(
        info,
        dry=dry,
        outcome=outcome,
        rto=rto,
        rto_met=rto_met,
        rpo=rpo,
        rpo_met=(rpo <= info.rpo_seconds) if rpo is not None and info.rpo_seconds is not None else None,
        writer=writes.writer if writes is not None else info.writer,
        writes_acknowledged=writes.acknowledged if measured and writes is not None else None,
        writes_lost=writes.lost if measured and writes is not None else None,
        disaster_at=disaster_at,
        recovered_at=recovered_at,
        failed_step=failed,
        steps=steps,
        detail=_detail(finished, outcome),
        started=started.at,
        finished=finished.at if finished else None,
        writer_error=writes.error if writes is not None else None,
    )


def _rpo(writes: DRWrites | None, disaster_at: float | None) -> float | None:
    """The writer's window: from the first lost write to the disaster, 0 when none written before it was lost."""
    if writes is None or disaster_at is None:
        return None
    if writes.lost == 0 or writes.first_lost_at is None:
        return 0.0
    return max(0.0, disaster_at - writes.first_lost_at)


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
