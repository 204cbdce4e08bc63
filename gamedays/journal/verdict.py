"""The verdicts of a gameday, in one place: each step's, each DR check's, the gameday's, its exit code.

Below both the engine (which records the verdict in ``gameday_finished`` and exits with its
code) and the reporting (which shows it), so the two can never disagree. Every function is
pure and reads the fold (:class:`gamedays.journal.state.GamedayState`).

- A step: the run's own verdict (``step_finished``), made a finding when its hypothesis SLOs
  did not recover within ``recover_within`` after the fault ended. The fault window runs from
  the experiment's method start to the end of its rollbacks (or of its method when it has
  none); a step's samples end where the next step or DR check begins.
- A DR check: :func:`gamedays.model.dr.judge` on its RTO (disaster to every check passing),
  its RPO (the writer's window) and its steps' outcomes; listed but never started: skipped.
- The gameday: aborted when interrupted (or when the run recorded that it stopped early);
  deviated (findings, exit 1) when a step or a DR check did not pass; else passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from gamedays.journal.state import DRCheckState, GamedayState, StepState
from gamedays.model.dr import DROutcome, DRStepOutcome, judge, rto_seconds
from gamedays.model.events import DRWrites, GuardrailTripped, StepFinished
from gamedays.model.outcomes import ExitCode, Outcome


@dataclass(frozen=True)
class StepVerdict:
    outcome: Outcome
    fault_start: float | None
    fault_end: float | None
    until: float  # the next step's or DR check's start: the step's samples end there
    time_to_detect: float | None  # first bad sample of a hypothesis SLO after the fault started
    time_to_recover: float | None  # from the fault's end until every hypothesis SLO sampled good again
    recovered_in_time: bool | None  # None: no recover_within, or the fault never ended


@dataclass(frozen=True)
class DRVerdict:
    outcome: DROutcome
    rto: float | None  # None: never recovered, or no disaster
    rto_met: bool | None  # None: not measured
    rpo: float | None  # None: not measured
    rpo_met: bool | None
    measured: bool  # the writer read back what it wrote (RPO measured, in a real run)


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    exit_code: ExitCode


def experiment_outcome(status: str, deviated: bool, crashed: bool, aborted: bool, interrupted: bool) -> Outcome:
    """The outcome of one experiment's run, from what Chaos Toolkit and the orchestrator saw."""
    if aborted or interrupted:
        return Outcome.ABORTED
    if crashed or status in ("failed", "aborted", "crashed"):
        return Outcome.ERROR
    if deviated:
        return Outcome.DEVIATED
    return Outcome.PASSED


def step_verdict(state: GamedayState, step: StepState) -> StepVerdict:
    started = step.started.at if step.started else None
    later = [at for at in state.starts if started is not None and at > started]
    until = min(later) if later else float("inf")
    progress = step.progress
    fault_start = progress["method_started"].at if "method_started" in progress else None
    end_event = progress.get("rollbacks_completed") or progress.get("method_completed") or progress.get("finished")
    fault_end = end_event.at if end_event and fault_start is not None else None
    if fault_start is not None and fault_end is None:
        fault_end = next((e.at for e in step.rollbacks if e.succeeded), None)
    hypothesis = step.info.hypothesis if step.info else ()
    within = step.info.recover_within_seconds if step.info else None
    ttd = ttr = None
    if fault_start is not None:
        bad = [
            s.at for name in hypothesis if name in state.slos
            for s in state.slos[name].samples if not s.good and fault_start <= s.at < until
        ]
        ttd = min(bad) - fault_start if bad else None
        if fault_end is not None and hypothesis:
            ttr = _recovery(state, hypothesis, fault_start, fault_end, until)
    in_time = None
    if within is not None and fault_end is not None:
        in_time = ttd is None or (ttr is not None and ttr <= within)
    return StepVerdict(
        outcome=_step_outcome(step.finished, step.guard, in_time),
        fault_start=fault_start, fault_end=fault_end, until=until,
        time_to_detect=ttd, time_to_recover=ttr, recovered_in_time=in_time,
    )


def _recovery(state: GamedayState, names: Sequence[str], fault_start: float, fault_end: float, until: float) -> float | None:
    """Seconds from the fault's end until every hypothesis SLO sampled good after its last bad sample.

    Only samples before ``until`` count. None when no SLO breached, or when some SLO never
    sampled good again in that time (the step's ``recovered_in_time`` tells the two apart).
    """
    recovered_at = None
    for name in names:
        series = [s for s in state.slos[name].samples if fault_start <= s.at < until] if name in state.slos else []
        bads = [s.at for s in series if not s.good]
        if not bads:
            continue
        back = [s.at for s in series if s.good and s.at > max(bads)]
        if not back:
            return None
        recovered_at = min(back) if recovered_at is None else max(recovered_at, min(back))
    if recovered_at is None:
        return None  # no hypothesis SLO breached: nothing to recover from
    return max(0.0, recovered_at - fault_end)


def _step_outcome(finished: StepFinished | None, guard: GuardrailTripped | None, in_time: bool | None) -> Outcome:
    if finished is None:
        return Outcome.ABORTED if guard else Outcome.SKIPPED
    if finished.outcome in (Outcome.ABORTED, Outcome.ERROR, Outcome.SKIPPED):
        return finished.outcome
    if finished.outcome is Outcome.DEVIATED or in_time is False:
        return Outcome.DEVIATED
    return Outcome.PASSED


def dr_verdict(state: GamedayState, check: DRCheckState) -> DRVerdict:
    info = check.info
    started, finished, writes = check.started, check.finished, check.writes
    rto_target = info.rto_seconds if info else 0.0
    rpo_target = info.rpo_seconds if info else None
    if started is None:
        return DRVerdict(DROutcome.SKIPPED, None, None, None, None, False)
    dry = started.dry
    disaster_at = finished.disaster_at if finished else None
    rto = rto_seconds(disaster_at, finished.recovered_at if finished else None)
    measured = writes is not None and writes.error is None
    rpo = _rpo(writes, disaster_at) if measured and not dry else None
    interrupted = finished is None or any(started.at <= at <= finished.at for at in state.interruptions)
    outcome = judge(
        dry=dry, interrupted=interrupted, step_outcomes=[s.outcome for s in check.steps],
        rto=rto, rto_target=rto_target, rpo=rpo, rpo_target=rpo_target,
    )
    rto_met: bool | None = None
    if rto is not None:
        rto_met = rto <= rto_target
    elif finished is not None and not dry and disaster_at is not None:
        rto_met = False  # the disaster happened and the checks never all passed
    rpo_met = (rpo <= rpo_target) if rpo is not None and rpo_target is not None else None
    return DRVerdict(outcome, rto, rto_met, rpo, rpo_met, measured)


def _rpo(writes: DRWrites | None, disaster_at: float | None) -> float | None:
    """The writer's window: from the first lost write to the disaster, 0 when none written before it was lost."""
    if writes is None or disaster_at is None:
        return None
    if writes.lost == 0 or writes.first_lost_at is None:
        return 0.0
    return max(0.0, disaster_at - writes.first_lost_at)


def failed_dr_step(check: DRCheckState) -> str | None:
    if check.finished is not None and check.finished.failed_step:
        return check.finished.failed_step
    return next((s.name for s in sorted(check.steps, key=lambda s: (s.started, s.at)) if s.outcome is DRStepOutcome.FAILED), None)


def gameday_outcome(state: GamedayState, steps: Sequence[Outcome], checks: Sequence[DROutcome]) -> Outcome:
    """Aborted when interrupted (or recorded so); deviated (findings) when a step or a DR check did not pass; else passed."""
    if state.interruption is not None:
        return Outcome.ABORTED
    if state.finish is not None and state.finish.outcome is Outcome.ABORTED:
        return Outcome.ABORTED
    outcomes = set(steps) | {c.gameday_outcome for c in checks}
    if outcomes & {Outcome.DEVIATED, Outcome.ABORTED, Outcome.ERROR}:
        return Outcome.DEVIATED
    return Outcome.PASSED


def verdict(state: GamedayState) -> Verdict:
    """The gameday's verdict as its journal tells it (a crashed run's journal too)."""
    steps = [step_verdict(state, s).outcome for s in _planned_steps(state)]
    checks = [dr_verdict(state, c).outcome for c in _planned_checks(state)]
    outcome = gameday_outcome(state, steps, checks)
    code = ExitCode.ABORTED if state.interruption is not None else ExitCode.for_outcome(outcome)
    return Verdict(outcome, code)


def run_verdict(state: GamedayState, *, stopped_early: bool, escaped: int | None = None) -> Verdict:
    """What a run records in ``gameday_finished``: an error when one escaped the run (``escaped``: the code the
    process exits with: 70 for a bug, an error of gameday's own its code); aborted when it stopped early."""
    if escaped is not None:
        return Verdict(Outcome.ERROR, _code(escaped))
    if stopped_early or state.interruption is not None:
        return Verdict(Outcome.ABORTED, ExitCode.ABORTED)
    return verdict(state)


def _planned_steps(state: GamedayState) -> list[StepState]:
    return [state.steps[info.id] for info in state.start.steps] if state.start else []


def _planned_checks(state: GamedayState) -> list[DRCheckState]:
    return [state.checks[info.id] for info in state.start.disaster_recovery] if state.start else []


def _code(value: int) -> ExitCode:
    try:
        return ExitCode(value)
    except ValueError:
        return ExitCode.INTERNAL
