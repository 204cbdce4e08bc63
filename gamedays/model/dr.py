"""Disaster-recovery verification (R-4): the verdict on one DR check and the data a recovery lost.

Pure functions, shared by the engine (what to show while it runs) and the
analysis (the report): the journal records facts (when the disaster was
complete, when every check passed, which writes were acknowledged and which
survived) and these turn them into RTO, RPO and an outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Iterable

from gamedays.model.outcomes import Outcome


class DRPhase(str, Enum):
    PRECHECK = "precheck"  # rehearsal: can the backup be taken, do the providers import
    BACKUP = "backup"  # taken before the disaster
    DISASTER = "disaster"  # the gameday causes the disaster
    STEP = "step"  # the playbook's recovery steps, in order
    CHECK = "check"  # proofs of recovery, polled until they all pass
    AFTERWARDS = "afterwards"  # back to normal operations once recovery is measured (not part of RTO)


class DRStepKind(str, Enum):
    AUTOMATED = "automated"
    MANUAL = "manual"


class DRStepOutcome(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_VERIFIED = "not verified"  # a manual step nobody confirmed (non-interactive run): never passed
    SKIPPED = "skipped"


class DROutcome(str, Enum):
    RECOVERED = "recovered"  # every step passed, every check passed, RTO and RPO within target
    MISSED_TARGET = "missed target"  # recovered, but later than the RTO or losing more than the RPO
    FAILED = "failed"  # a step failed, or the checks never all passed
    NOT_VERIFIED = "not verified"  # recovered, but some manual step was not confirmed by a person
    READY = "ready"  # rehearsal: every precheck passed
    ABORTED = "aborted"  # interrupted
    SKIPPED = "skipped"

    @property
    def gameday_outcome(self) -> Outcome:
        """How the check weighs on the gameday: missed targets and failures are findings, not errors."""
        return {
            DROutcome.RECOVERED: Outcome.PASSED,
            DROutcome.READY: Outcome.PASSED,
            DROutcome.MISSED_TARGET: Outcome.DEVIATED,
            DROutcome.FAILED: Outcome.DEVIATED,
            DROutcome.NOT_VERIFIED: Outcome.DEVIATED,
            DROutcome.ABORTED: Outcome.ABORTED,
            DROutcome.SKIPPED: Outcome.SKIPPED,
        }[self]


@dataclass(frozen=True)
class DataLoss:
    """What a recovery lost of the writes acknowledged during the DR check."""

    acknowledged: int
    lost: int
    window_seconds: float  # from the first lost write to the disaster (0 when nothing written before it was lost)

    @property
    def none_lost(self) -> bool:
        return self.lost == 0


def data_loss(acknowledged: Iterable[tuple[int, float]], survivors: Iterable[int], disaster_at: float) -> DataLoss:
    """RPO as measured: acknowledged ``(sequence, time)`` writes missing after recovery.

    The window is the time between the first lost write and the disaster: the
    span of data the recovery lost. Writes acknowledged after the disaster and
    lost too are counted, but do not widen the window.
    """
    acked = sorted(acknowledged)
    kept = set(survivors)
    lost = [(seq, at) for seq, at in acked if seq not in kept]
    before = [at for _, at in lost if at <= disaster_at]
    window = max(0.0, disaster_at - min(before)) if before else 0.0
    return DataLoss(acknowledged=len(acked), lost=len(lost), window_seconds=window)


def rto_seconds(disaster_at: float | None, recovered_at: float | None) -> float | None:
    if disaster_at is None or recovered_at is None:
        return None
    return max(0.0, recovered_at - disaster_at)


def judge(
    *,
    dry: bool,
    interrupted: bool,
    step_outcomes: Iterable[DRStepOutcome],
    rto: float | None,
    rto_target: float,
    rpo: float | None,
    rpo_target: float | None,
) -> DROutcome:
    """The verdict on one DR check from what was measured.

    ``rto`` is None when the checks never all passed; ``rpo`` is None when no
    writer measured data loss (then the RPO target cannot be missed, and the
    report says it was not measured).
    """
    outcomes = list(step_outcomes)
    if interrupted:
        return DROutcome.ABORTED
    if DRStepOutcome.FAILED in outcomes:
        return DROutcome.FAILED
    if dry:
        return DROutcome.READY
    if rto is None:
        return DROutcome.FAILED
    if rto > rto_target or (rpo is not None and rpo_target is not None and rpo > rpo_target):
        return DROutcome.MISSED_TARGET
    if DRStepOutcome.NOT_VERIFIED in outcomes:
        return DROutcome.NOT_VERIFIED
    return DROutcome.RECOVERED
