"""The run's verdict as gameday_finished records it: the same rules as the report's, plus how the run ended."""

from __future__ import annotations

import pytest

from gamedays.journal.state import fold
from gamedays.journal.verdict import Verdict, experiment_outcome, run_verdict, verdict
from gamedays.model.events import Interrupted, StepFinished
from gamedays.model.outcomes import ExitCode, Outcome
from tests.journal.test_state import START


def finished(step: str, outcome: Outcome) -> StepFinished:
    return StepFinished(at=5.0, step=step, outcome=outcome, ctk_status="completed", deviated=outcome is Outcome.DEVIATED, journal="")


def test_a_run_that_went_to_its_end_records_the_journals_verdict():
    state = fold([START, finished("pod-kill", Outcome.PASSED), finished("db-failover", Outcome.DEVIATED)])
    assert run_verdict(state, stopped_early=False) == verdict(state) == Verdict(Outcome.DEVIATED, ExitCode.FINDINGS)


def test_stopping_early_or_an_interrupt_is_an_abort():
    state = fold([START, finished("pod-kill", Outcome.PASSED)])
    assert run_verdict(state, stopped_early=True) == Verdict(Outcome.ABORTED, ExitCode.ABORTED)
    state.apply(Interrupted(at=6.0, signal="SIGTERM"))
    assert run_verdict(state, stopped_early=False) == verdict(state) == Verdict(Outcome.ABORTED, ExitCode.ABORTED)


@pytest.mark.parametrize(("escaped", "code"), [(70, ExitCode.INTERNAL), (2, ExitCode.INVALID), (3, ExitCode.ABORTED), (99, ExitCode.INTERNAL)])
def test_an_error_that_escaped_the_run_is_recorded_with_the_code_the_process_exits_with(escaped, code):
    state = fold([START, finished("pod-kill", Outcome.PASSED)])
    assert run_verdict(state, stopped_early=True, escaped=escaped) == Verdict(Outcome.ERROR, code)


@pytest.mark.parametrize(
    ("status", "deviated", "crashed", "aborted", "interrupted", "outcome"),
    [
        ("completed", False, False, False, False, Outcome.PASSED),
        ("completed", True, False, False, False, Outcome.DEVIATED),
        ("failed", False, False, False, False, Outcome.ERROR),
        ("completed", False, True, False, False, Outcome.ERROR),
        ("interrupted", True, False, True, False, Outcome.ABORTED),
        ("interrupted", False, True, False, True, Outcome.ABORTED),
    ],
)
def test_an_experiments_outcome(status, deviated, crashed, aborted, interrupted, outcome):
    assert experiment_outcome(status, deviated, crashed, aborted, interrupted) is outcome
