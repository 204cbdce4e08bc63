"""The analysis of a gameday: a pure function of its journal's events.

Re-reading the same journal gives the same analysis, also for a journal left by
an interrupted or crashed run. Times are seconds; "fault window" runs from the
experiment's method start to the end of its rollbacks (or of its method when it
has none).

The engine decides its exit code from :attr:`Analysis.outcome` and
:attr:`Analysis.exit_code` *before* it writes ``gameday_finished``, so those
two never depend on the journal being complete; a report marks an incomplete
journal itself (see :mod:`gamedays.reporting.report`). The fields after the
first block describe the run for the report: who, where, the per-SLI series
for the charts, how each fault was closed, what each fault did to its SLOs
against the baseline (:mod:`gamedays.reporting.impact`), the DR checks
(:mod:`gamedays.reporting.dr_analysis`; their outcomes weigh on the gameday's
through ``DROutcome.gameday_outcome``: a missed RTO is a finding, exit code 1),
the R-4 coverage and the resilience score (:mod:`gamedays.reporting.score`).
An experiment's samples end where the next step or DR check begins.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from gamedays.model.budget import budget_burned
from gamedays.model.events import (
    CoverageInfo,
    DRStarted,
    Event,
    ExperimentProgress,
    FaultArmed,
    GamedayFinished,
    GamedayStarted,
    GuardrailTripped,
    Interrupted,
    Mode,
    NotificationFailed,
    PhaseStarted,
    RollbacksPlayed,
    SampleTaken,
    SLOInfo,
    StepFinished,
    StepStarted,
)
from gamedays.model.outcomes import ExitCode, Outcome
from gamedays.model.units import Duration, Percentage
from gamedays.reporting.dr_analysis import DRAnalysis, dr_analyses
from gamedays.reporting.impact import SLOImpact, slo_impact
from gamedays.reporting.score import ScoreInputs, ScorePart, dr_credit, resilience_score
from gamedays.reporting.series import SLISeries, sli_series


@dataclass(frozen=True)
class StepAnalysis:
    id: str
    title: str
    outcome: Outcome
    ctk_status: str | None
    started: float | None
    fault_start: float | None
    fault_end: float | None
    time_to_detect: float | None  # first bad sample of a hypothesis SLO after the fault started
    time_to_recover: float | None  # from the fault's end until every hypothesis SLO sampled good again
    recover_within: float | None
    recovered_in_time: bool | None
    budget_burned: dict[str, float] = field(default_factory=dict)  # share of each SLO's window budget
    guardrail: str | None = None
    detection_to_abort: float | None = None
    detail: str = ""
    # what the run recorded about the step, for the report
    experiment: str = ""  # the Chaos Toolkit experiment's path
    hypothesis: tuple[str, ...] = ()  # the SLOs that must hold and recover
    finished: float | None = None  # when step_finished was written; None: the run never finished the step
    run_outcome: Outcome | None = None  # the outcome the engine recorded in step_finished
    deviated: bool | None = None  # Chaos Toolkit's own verdict on the steady-state hypothesis
    hypothesis_before: bool | None = None  # steady state met before the method (None: not checked)
    hypothesis_after: bool | None = None  # steady state met after the method
    ctk_journal: str | None = None  # the Chaos Toolkit journal, relative to the report folder
    dry: bool = False  # armed in a rehearsal: nothing was injected
    rolled_back_by: str | None = None  # "experiment", "engine", "recover"; None: not known to be rolled back
    guardrail_slo: str | None = None
    guardrail_reason: str | None = None  # "slo_breach" or "error_budget"
    breach_started: float | None = None  # the first bad sample of the breach that tripped the guardrail
    detected_at: float | None = None  # the sample that crossed the guardrail
    aborted_at: float | None = None  # when the engine asked the experiment to stop
    impact: tuple[SLOImpact, ...] = ()  # per hypothesis SLO: the fault window against the baseline


@dataclass(frozen=True)
class Analysis:
    gameday: str
    title: str
    mode: Mode | None
    outcome: Outcome
    exit_code: ExitCode
    steps: tuple[StepAnalysis, ...]
    slos: tuple[SLOInfo, ...]
    budget_burned: dict[str, float]
    samples: int
    started: float | None
    finished: float | None
    interrupted: bool
    complete: bool  # the journal ends with gameday_finished
    open_faults: tuple[str, ...]  # steps whose rollbacks are not known to have run
    # the run as the journal describes it, for the report
    date: str = ""
    environment: str = ""
    plan: str = ""
    commander: str = ""
    owners: dict[str, str] = field(default_factory=dict)  # follow-up action owners by subject; the commander owns the rest
    scribe: str | None = None
    participants: tuple[str, ...] = ()
    interval_seconds: float = 1.0
    budget_allowance: float | None = None  # share of each SLO's window budget the gameday may burn
    abort_when: tuple[str, ...] = ()
    tolerate_seconds: float = 0.0
    ended: float | None = None  # the last event's time: the end of a journal left by a crash
    interrupt_signal: str | None = None  # SIGINT, SIGTERM when the run was interrupted
    notifications_failed: tuple[NotificationFailed, ...] = ()  # webhooks given up (the gameday went on)
    recorded_outcome: Outcome | None = None  # what gameday_finished says
    recorded_exit_code: int | None = None
    series: tuple[SLISeries, ...] = ()  # one per SLO of the plan, in the plan's order
    disaster_recovery: tuple[DRAnalysis, ...] = ()  # one per DR check of the plan, in the plan's order
    coverage: tuple[CoverageInfo, ...] = ()  # the environment's key components and the checks covering them
    baseline: tuple[float, float] | None = None  # the baseline phase: its start, and the first step's (or check's) start
    score: float | None = None  # the resilience score, 0..100 (see gamedays.reporting.score); None: nothing measured
    score_parts: tuple[ScorePart, ...] = ()
    score_formula: str = ""


def analyse(events: Iterable[Event]) -> Analysis:
    events = list(events)
    start = next((e for e in events if isinstance(e, GamedayStarted)), None)
    finish = next((e for e in events if isinstance(e, GamedayFinished)), None)
    slos = start.slos if start else ()
    interval = start.interval_seconds if start else 1.0
    samples = [e for e in events if isinstance(e, SampleTaken)]
    by_slo: dict[str, list[SampleTaken]] = defaultdict(list)
    for sample in samples:
        by_slo[sample.slo].append(sample)
    for series in by_slo.values():
        series.sort(key=lambda s: s.at)
    infos = {s.name: s for s in slos}
    baseline = _baseline(events)
    times = {name: [s.at for s in series] for name, series in by_slo.items()}

    # one pass over the events: a long gameday journals tens of thousands of samples
    by_step: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        if isinstance(event, _STEP_EVENTS) and event.step is not None:
            by_step[event.step].append(event)
    starts = sorted(e.at for e in events if isinstance(e, (StepStarted, DRStarted)))
    steps = []
    for info in start.steps if start else ():
        steps.append(_step(info, by_step.get(info.id, []), starts, by_slo, infos, interval, baseline, times))
    checks = dr_analyses(start.disaster_recovery, events) if start else ()
    interruption = next((e for e in events if isinstance(e, Interrupted)), None)
    interrupted = interruption is not None
    outcome = _gameday_outcome(steps, checks, interrupted, finish)
    burned = {name: _burned(series, infos[name], interval) for name, series in by_slo.items() if name in infos}
    began = min((e.at for e in events), default=None)
    ended = max((e.at for e in events), default=None)
    span_start = began if began is not None else 0.0
    span_end = ended if ended is not None else span_start
    coverage = start.coverage if start else ()
    score = resilience_score(
        ScoreInputs(
            hypotheses=tuple(s.outcome is Outcome.PASSED for s in steps if s.outcome is not Outcome.SKIPPED),
            recoveries=tuple(s.recovered_in_time for s in steps if s.recovered_in_time is not None),
            burned=tuple(burned[s.name] for s in slos if s.name in burned),
            allowance=start.budget_allowance if start and start.budget_allowance is not None else 1.0,
            disaster_recovery=tuple(
                c for c in (dr_credit(d.outcome, d.rto_met, d.rpo_met) for d in checks) if c is not None
            ),
            coverage=tuple(bool(c.playbooks) for c in coverage),
        )
    )
    return Analysis(
        gameday=start.gameday if start else "?",
        title=start.title if start else "",
        mode=start.mode if start else None,
        outcome=outcome,
        exit_code=ExitCode.ABORTED if interrupted else ExitCode.for_outcome(outcome),
        steps=tuple(steps),
        slos=tuple(slos),
        budget_burned=burned,
        samples=len(samples),
        started=start.at if start else None,
        finished=finish.at if finish else None,
        interrupted=interrupted,
        complete=finish is not None,
        open_faults=open_faults(events),
        date=start.date if start else "",
        environment=start.environment if start else "",
        plan=start.plan if start else "",
        commander=start.commander if start else "",
        owners=dict(start.owners) if start else {},
        scribe=start.scribe if start else None,
        participants=start.participants if start else (),
        interval_seconds=interval,
        budget_allowance=start.budget_allowance if start else None,
        abort_when=start.abort_when if start else (),
        tolerate_seconds=start.tolerate_seconds if start else 0.0,
        ended=ended,
        interrupt_signal=interruption.signal if interruption else None,
        notifications_failed=tuple(e for e in events if isinstance(e, NotificationFailed)),
        recorded_outcome=finish.outcome if finish else None,
        recorded_exit_code=finish.exit_code if finish else None,
        series=tuple(sli_series(s.name, by_slo.get(s.name, []), interval, span_start, span_end) for s in slos),
        disaster_recovery=checks,
        coverage=coverage,
        baseline=baseline,
        score=score.value,
        score_parts=score.parts,
        score_formula=score.formula,
    )


def _baseline(events: Sequence[Event]) -> tuple[float, float] | None:
    """The baseline phase: from ``phase: baseline`` to the first step or DR check (or the phase's planned end)."""
    phase = next((e for e in events if isinstance(e, PhaseStarted) and e.phase == "baseline"), None)
    if phase is None:
        return None
    later = [e.at for e in events if isinstance(e, (StepStarted, DRStarted)) and e.at >= phase.at]
    return phase.at, min(later) if later else phase.at + phase.seconds


def open_faults(events: Sequence[Event]) -> tuple[str, ...]:
    """Steps whose fault was armed (not in a dry run) and whose rollbacks are not known to have run."""
    armed = [e.step for e in events if isinstance(e, FaultArmed) and not e.dry]
    closed = {e.step for e in events if isinstance(e, ExperimentProgress) and e.kind == "rollbacks_completed"}
    closed |= {e.step for e in events if isinstance(e, RollbacksPlayed) and e.succeeded}
    return tuple(step for step in armed if step not in closed)


_STEP_EVENTS = (PhaseStarted, StepStarted, FaultArmed, ExperimentProgress, GuardrailTripped, RollbacksPlayed, StepFinished)


def _step(info, mine, starts, by_slo, infos, interval, baseline, times) -> StepAnalysis:  # type: ignore[no-untyped-def]
    started = next((e.at for e in mine if isinstance(e, StepStarted)), None)
    # the step's samples end where the next step or DR check begins
    later = [at for at in starts if started is not None and at > started]
    until = min(later) if later else float("inf")
    finished = next((e for e in mine if isinstance(e, StepFinished)), None)
    progress = {e.kind: e for e in mine if isinstance(e, ExperimentProgress)}
    guard = next((e for e in mine if isinstance(e, GuardrailTripped)), None)
    fault_start = progress["method_started"].at if "method_started" in progress else None
    end_event = progress.get("rollbacks_completed") or progress.get("method_completed") or progress.get("finished")
    fault_end = end_event.at if end_event and fault_start is not None else None
    if fault_start is not None and fault_end is None:
        replayed = next((e.at for e in mine if isinstance(e, RollbacksPlayed) and e.succeeded), None)
        fault_end = replayed
    ttd = ttr = None
    if fault_start is not None:
        bad = [s.at for name in info.hypothesis for s in by_slo.get(name, []) if not s.good and fault_start <= s.at < until]
        ttd = min(bad) - fault_start if bad else None
        if fault_end is not None and info.hypothesis:
            ttr = _recovery(info.hypothesis, by_slo, fault_start, fault_end, until)
    in_time = None
    if info.recover_within_seconds is not None and fault_end is not None:
        breached = ttd is not None
        in_time = (not breached) or (ttr is not None and ttr <= info.recover_within_seconds)
    window_end = fault_end if fault_end is not None else (finished.at if finished else None)
    burned = {}
    if fault_start is not None and window_end is not None:
        for name in info.hypothesis:
            series = [
                s for s in by_slo.get(name, [])
                if fault_start <= s.at <= window_end + (info.recover_within_seconds or 0) and s.at < until
            ]
            if name in infos:
                burned[name] = _burned(series, infos[name], interval)
    outcome = _step_outcome(finished, guard, in_time)
    armed = next((e for e in mine if isinstance(e, FaultArmed)), None)
    impact: tuple[SLOImpact, ...] = ()
    if fault_start is not None and window_end is not None:
        impact = tuple(
            slo_impact(infos[name], by_slo.get(name, []), times.get(name, []), baseline, (fault_start, window_end))
            for name in info.hypothesis
            if name in infos
        )
    return StepAnalysis(
        id=info.id,
        title=info.title,
        outcome=outcome,
        ctk_status=finished.ctk_status if finished else None,
        started=started,
        fault_start=fault_start,
        fault_end=fault_end,
        time_to_detect=ttd,
        time_to_recover=ttr,
        recover_within=info.recover_within_seconds,
        recovered_in_time=in_time,
        budget_burned=burned,
        guardrail=guard.detail if guard else None,
        detection_to_abort=(guard.at - guard.detected_at) if guard else None,
        detail=finished.detail if finished else "",
        experiment=info.experiment,
        hypothesis=info.hypothesis,
        finished=finished.at if finished else None,
        run_outcome=finished.outcome if finished else None,
        deviated=finished.deviated if finished else None,
        hypothesis_before=progress["hypothesis_before"].met if "hypothesis_before" in progress else None,
        hypothesis_after=progress["hypothesis_after"].met if "hypothesis_after" in progress else None,
        ctk_journal=(finished.journal or None) if finished else None,
        dry=armed.dry if armed else False,
        rolled_back_by=_rolled_back_by(mine, progress),
        guardrail_slo=guard.slo if guard else None,
        guardrail_reason=guard.reason if guard else None,
        breach_started=guard.breach_started if guard else None,
        detected_at=guard.detected_at if guard else None,
        aborted_at=guard.at if guard else None,
        impact=impact,
    )


def _rolled_back_by(mine: Sequence[Event], progress: dict[str, ExperimentProgress]) -> str | None:
    """Who is known to have played the step's rollbacks: the experiment itself, the engine, `gameday recover`."""
    if "rollbacks_completed" in progress:
        return "experiment"
    played = [e for e in mine if isinstance(e, RollbacksPlayed) and e.succeeded]
    return played[-1].by if played else None


def _recovery(names: Sequence[str], by_slo, fault_start: float, fault_end: float, until: float) -> float | None:  # type: ignore[no-untyped-def]
    """Seconds from the fault's end until every hypothesis SLO sampled good after its last bad sample.

    Only samples before ``until`` (the next step's start) count. None when no
    SLO breached, or when some SLO never sampled good again in that time (the
    step's ``recovered_in_time`` tells the two apart).
    """
    recovered_at = None
    for name in names:
        series = [s for s in by_slo.get(name, []) if fault_start <= s.at < until]
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


def _burned(series: Sequence[SampleTaken], info: SLOInfo, interval: float) -> float:
    bad = sum(1 for s in series if not s.good)
    return budget_burned(Duration(bad * interval), Percentage(info.objective), Duration(info.window_seconds))


def _step_outcome(finished: StepFinished | None, guard: GuardrailTripped | None, in_time: bool | None) -> Outcome:
    if finished is None:
        return Outcome.ABORTED if guard else Outcome.SKIPPED
    if finished.outcome in (Outcome.ABORTED, Outcome.ERROR, Outcome.SKIPPED):
        return finished.outcome
    if finished.outcome is Outcome.DEVIATED or in_time is False:
        return Outcome.DEVIATED
    return Outcome.PASSED


def _gameday_outcome(
    steps: Sequence[StepAnalysis], checks: Sequence[DRAnalysis], interrupted: bool, finish: GamedayFinished | None
) -> Outcome:
    """Aborted when interrupted; deviated (findings) when a step or a DR check did not pass; else passed."""
    if interrupted:
        return Outcome.ABORTED
    outcomes = {s.outcome for s in steps} | {c.outcome.gameday_outcome for c in checks}
    if finish is not None and finish.outcome is Outcome.ABORTED:
        return Outcome.ABORTED
    if outcomes & {Outcome.DEVIATED, Outcome.ABORTED, Outcome.ERROR}:
        return Outcome.DEVIATED
    return Outcome.PASSED
