"""The analysis is a pure function of the journal: time to detect, time to recover, outcomes, budget."""

from __future__ import annotations

import pytest

from gamedays.model.events import (
    ExperimentProgress,
    FaultArmed,
    GamedayFinished,
    GamedayStarted,
    GuardrailTripped,
    Interrupted,
    Mode,
    SampleTaken,
    SLOInfo,
    StepFinished,
    StepInfo,
    StepStarted,
)
from gamedays.model.outcomes import ExitCode, Outcome
from gamedays.reporting.analysis import analyse

SLO = SLOInfo(name="availability", service="shop", kind="availability", objective=0.999, window_seconds=30 * 86400, source="http")


def started(*steps: StepInfo) -> GamedayStarted:
    return GamedayStarted(
        at=0, gameday="t", title="t", date="2024-05-21", plan="p.yaml", environment="sandbox", mode=Mode.RUN,
        commander="c", slos=(SLO,), steps=steps, interval_seconds=1.0, budget_allowance=None,
    )


def step_events(step: str, start: float, method: float, end: float, outcome=Outcome.PASSED, status="completed"):
    return [
        StepStarted(at=start, step=step),
        FaultArmed(at=start, step=step, experiment_path="x.yaml", experiment={}, configuration={}),
        ExperimentProgress(at=method, step=step, kind="method_started"),
        ExperimentProgress(at=end, step=step, kind="rollbacks_completed"),
        StepFinished(at=end, step=step, outcome=outcome, ctk_status=status, deviated=outcome is Outcome.DEVIATED, journal=""),
    ]


def samples(bad_at: set[int], until: int):
    return [SampleTaken(at=t, slo="availability", good=t not in bad_at) for t in range(until)]


def info(step: str, recover_within: float | None = 10.0) -> StepInfo:
    return StepInfo(id=step, title=step, experiment="x.yaml", hypothesis=("availability",), recover_within_seconds=recover_within)


def test_detection_and_recovery_are_measured_from_the_fault():
    events = [started(info("a")), *step_events("a", 10, 11, 15), *samples({13, 14, 15, 16}, 30),
              GamedayFinished(at=30, outcome=Outcome.PASSED, exit_code=0)]
    step = analyse(events).steps[0]
    assert step.time_to_detect == pytest.approx(2.0)  # first bad sample at 13, fault at 11
    assert step.time_to_recover == pytest.approx(2.0)  # good again at 17, fault ended at 15
    assert step.recovered_in_time is True and step.outcome is Outcome.PASSED


def test_a_breach_during_a_later_step_is_not_the_earlier_steps():
    events = [started(info("a"), info("b")), *step_events("a", 10, 11, 12), *step_events("b", 20, 21, 23),
              *samples({22, 23}, 30), GamedayFinished(at=30, outcome=Outcome.PASSED, exit_code=0)]
    a, b = analyse(events).steps
    assert a.time_to_detect is None and a.time_to_recover is None and a.recovered_in_time is True
    assert b.time_to_detect == pytest.approx(1.0)


def test_a_missed_recovery_deadline_is_a_deviation():
    events = [started(info("a", recover_within=2.0)), *step_events("a", 10, 11, 12), *samples(set(range(12, 20)), 30),
              GamedayFinished(at=30, outcome=Outcome.DEVIATED, exit_code=1)]
    analysis = analyse(events)
    assert analysis.steps[0].time_to_recover == pytest.approx(8.0)
    assert analysis.steps[0].outcome is Outcome.DEVIATED
    assert analysis.exit_code is ExitCode.FINDINGS


def test_budget_burn_counts_bad_samples_against_the_window():
    events = [started(info("a")), *step_events("a", 10, 11, 15), *samples({12, 13, 14}, 30)]
    analysis = analyse(events)
    assert analysis.budget_burned["availability"] == pytest.approx(3 / 2592)


def test_a_guardrail_abort_and_an_interrupted_run():
    events = [started(info("a")), *step_events("a", 10, 11, 14, outcome=Outcome.ABORTED, status="interrupted"),
              GuardrailTripped(at=12.3, step="a", reason="slo_breach", slo="availability", breach_started=12, detected_at=12.0, detail="d"),
              Interrupted(at=20, signal="SIGINT")]
    analysis = analyse(events)
    assert analysis.steps[0].outcome is Outcome.ABORTED
    assert analysis.steps[0].detection_to_abort == pytest.approx(0.3)
    assert analysis.interrupted and not analysis.complete and analysis.exit_code is ExitCode.ABORTED


def test_a_fault_whose_rollbacks_never_ran_is_open():
    events = [started(info("a")), StepStarted(at=1, step="a"),
              FaultArmed(at=1, step="a", experiment_path="x.yaml", experiment={}, configuration={}),
              ExperimentProgress(at=2, step="a", kind="method_started")]
    assert analyse(events).open_faults == ("a",)
