"""The analysis of a gameday: the final state of the fold over its journal, plus derived figures.

Re-reading the same journal gives the same analysis, also for a journal left by
an interrupted or crashed run. Times are seconds. The verdicts (each step's, each
DR check's, the gameday's outcome and exit code) come from
:mod:`gamedays.journal.verdict`, the same rules the engine records its verdict
with; a report marks an incomplete journal itself (see :mod:`gamedays.reporting.report`). The fields after the
first block describe the run for the report: who, where, the per-SLI series
for the charts, how each fault was closed, what each fault did to its SLOs
against the baseline (:mod:`gamedays.reporting.impact`), the DR checks
(:mod:`gamedays.reporting.dr_analysis`; their outcomes weigh on the gameday's
through ``DROutcome.gameday_outcome``: a missed RTO is a finding, exit code 1),
the R-4 coverage and the resilience score (:mod:`gamedays.reporting.score`).
An experiment's samples end where the next step or DR check begins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from gamedays.journal.state import GamedayState, StepState, burned_by, fold
from gamedays.journal.verdict import gameday_outcome, step_verdict
from gamedays.model.events import CoverageInfo, Event, Mode, NotificationFailed, SampleTaken, SLOInfo
from gamedays.model.outcomes import ExitCode, Outcome
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
    acted_on: tuple[str, ...] = ()  # "aws: account ... as ..., region ...": where the preflight found the plan acts
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
    sampling_skipped: dict[str, int] = field(default_factory=dict)  # ticks each SLI's schedule skipped (it fell behind)
    recorded_outcome: Outcome | None = None  # what gameday_finished says
    recorded_exit_code: int | None = None
    series: tuple[SLISeries, ...] = ()  # one per SLO of the plan, in the plan's order
    disaster_recovery: tuple[DRAnalysis, ...] = ()  # one per DR check of the plan, in the plan's order
    coverage: tuple[CoverageInfo, ...] = ()  # the environment's key components and the checks covering them
    baseline: tuple[float, float] | None = None  # the baseline phase: its start, and the first step's (or check's) start
    score: float | None = None  # the resilience score, 0..100 (see gamedays.reporting.score); None: nothing measured
    score_parts: tuple[ScorePart, ...] = ()
    score_formula: str = ""


def analyse(journal: GamedayState | Iterable[Event]) -> Analysis:
    """The analysis of a gameday's fold (or of its events, folded here)."""
    state = journal if isinstance(journal, GamedayState) else fold(journal)
    start, finish = state.start, state.finish
    interval = state.interval
    infos = {name: slo.info for name, slo in state.slos.items() if slo.info is not None}
    by_slo = {name: sorted(slo.samples, key=lambda s: s.at) for name, slo in state.slos.items() if slo.taken}
    times = {name: [s.at for s in series] for name, series in by_slo.items()}
    baseline = _baseline(state)
    steps = [_step(state, state.steps[info.id], infos, by_slo, times, baseline) for info in (start.steps if start else ())]
    checks = dr_analyses(state)
    interrupted = state.interruption is not None
    outcome = gameday_outcome(state, [s.outcome for s in steps], [c.outcome for c in checks])
    burned = {name: burned_by(slo.bad, slo.info, interval) for name, slo in state.slos.items() if slo.taken and slo.info}
    span_start = state.began if state.began is not None else 0.0
    span_end = state.ended if state.ended is not None else span_start
    coverage = start.coverage if start else ()
    slos = start.slos if start else ()
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
        samples=sum(slo.taken for slo in state.slos.values()),
        started=start.at if start else None,
        finished=finish.at if finish else None,
        interrupted=interrupted,
        complete=finish is not None,
        open_faults=state.open_faults(),
        date=start.date if start else "",
        environment=start.environment if start else "",
        acted_on=tuple(f"{a.reach}: {a.where}" for a in start.access) if start else (),
        plan=start.plan if start else "",
        commander=start.commander if start else "",
        owners=dict(start.owners) if start else {},
        scribe=start.scribe if start else None,
        participants=start.participants if start else (),
        interval_seconds=interval,
        budget_allowance=start.budget_allowance if start else None,
        abort_when=start.abort_when if start else (),
        tolerate_seconds=start.tolerate_seconds if start else 0.0,
        ended=state.ended,
        interrupt_signal=state.interruption.signal if state.interruption else None,
        notifications_failed=tuple(state.notifications_failed),
        sampling_skipped={name: slo.skipped for name, slo in state.slos.items() if slo.skipped},
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


def _baseline(state: GamedayState) -> tuple[float, float] | None:
    """The baseline phase: from ``phase: baseline`` to the first step or DR check (or the phase's planned end)."""
    phase = state.baseline
    if phase is None:
        return None
    later = [at for at in state.starts if at >= phase.at]
    return phase.at, min(later) if later else phase.at + phase.seconds


def _step(
    state: GamedayState,
    step: StepState,
    infos: dict[str, SLOInfo],
    by_slo: dict[str, list[SampleTaken]],
    times: dict[str, list[float]],
    baseline: tuple[float, float] | None,
) -> StepAnalysis:
    info = step.info
    assert info is not None  # the plan's steps only
    judged = step_verdict(state, step)
    fault_start, fault_end, until = judged.fault_start, judged.fault_end, judged.until
    finished, guard, progress, armed = step.finished, step.guard, step.progress, step.armed
    window_end = fault_end if fault_end is not None else (finished.at if finished else None)
    burned = {}
    impact: tuple[SLOImpact, ...] = ()
    if fault_start is not None and window_end is not None:
        for name in info.hypothesis:
            if name in infos:
                bad = sum(
                    1 for s in by_slo.get(name, [])
                    if not s.good and fault_start <= s.at <= window_end + (info.recover_within_seconds or 0) and s.at < until
                )
                burned[name] = burned_by(bad, infos[name], state.interval)
        impact = tuple(
            slo_impact(infos[name], by_slo.get(name, []), times.get(name, []), baseline, (fault_start, window_end))
            for name in info.hypothesis
            if name in infos
        )
    return StepAnalysis(
        id=info.id,
        title=info.title,
        outcome=judged.outcome,
        ctk_status=finished.ctk_status if finished else None,
        started=step.started.at if step.started else None,
        fault_start=fault_start,
        fault_end=fault_end,
        time_to_detect=judged.time_to_detect,
        time_to_recover=judged.time_to_recover,
        recover_within=info.recover_within_seconds,
        recovered_in_time=judged.recovered_in_time,
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
        rolled_back_by=_rolled_back_by(step),
        guardrail_slo=guard.slo if guard else None,
        guardrail_reason=guard.reason if guard else None,
        breach_started=guard.breach_started if guard else None,
        detected_at=guard.detected_at if guard else None,
        aborted_at=guard.at if guard else None,
        impact=impact,
    )


def _rolled_back_by(step: StepState) -> str | None:
    """Who is known to have played the step's rollbacks: the experiment itself, the engine, `gameday recover`."""
    if "rollbacks_completed" in step.progress:
        return "experiment"
    played = [e for e in step.rollbacks if e.succeeded]
    return played[-1].by if played else None
