"""A plan that stops early: `on_failure: stop` is the finding's outcome (exit 1), `on_abort: stop` an abort (exit 3).

Either way the rest of the plan is skipped and says why, and the stopping step's recovery
is still measured: its rollbacks restored the target, so no false "did not recover in time"
finding (nor action) is made. Against the package's detached sandbox, through the real CLI.
"""

from __future__ import annotations

import json

import pytest

from gamedays.journal.io import read_journal
from gamedays.reporting.analysis import analyse
from tests.engine.run.conftest import run_gameday, scale_to_zero_experiment, wait_ready_pods

pytestmark = pytest.mark.e2e

COUNT_RUNNING = {
    "type": "python",
    "module": "chaosk8s.pod.probes",
    "func": "count_pods",
    "arguments": {"label_selector": "app=shop-api", "ns": "shop", "phase": "Running"},
}


def running_pods_experiment(count: int) -> dict:
    """Scale the shop to zero, its hypothesis that ``count`` shop pods run."""
    experiment = scale_to_zero_experiment(hold=2)
    experiment["steady-state-hypothesis"] = {
        "title": f"{count} pods run",
        "probes": [{"type": "probe", "name": f"{count}-running", "tolerance": count, "provider": COUNT_RUNNING}],
    }
    return experiment


def deviating_experiment() -> dict:
    """Three shop pods keep running while the deployment is scaled to zero: deviates by construction."""
    return running_pods_experiment(3)


def erroring_experiment() -> dict:
    """Its steady state is not met before the method (99 pods never run): the step ends in error, nothing injected."""
    return running_pods_experiment(99)


def harmless_experiment() -> dict:
    return {
        "title": "A pause",
        "description": "Injects nothing; it must be skipped, never run.",
        "method": [{"type": "probe", "name": "pods", "provider": COUNT_RUNNING}],
    }


def _finished(report) -> dict:
    return [json.loads(line) for line in (report / "journal.jsonl").read_text().splitlines()][-1]


def test_a_deviation_with_on_failure_stop_is_a_finding_and_the_rest_is_skipped(sandbox, plans):
    plan = plans.write([
        {"id": "no-pods", "uses": deviating_experiment(), "hypothesis": ["checkout-availability"],
         "recover_within": "30s", "on_failure": "stop"},
        {"id": "after", "uses": harmless_experiment()},
    ])
    result = run_gameday(sandbox, "run", str(plan))
    assert result.returncode == 1, result.stdout + result.stderr  # a finding, not an abort (3)
    report = plans.folder / "report"
    finished = _finished(report)
    assert finished["event"] == "gameday_finished" and finished["outcome"] == "deviated" and finished["exit_code"] == 1
    analysis = analyse(read_journal(report / "journal.jsonl").events)
    first, second = analysis.steps
    assert first.outcome.value == "deviated"
    assert second.outcome.value == "skipped" and second.detail == "skipped: no-pods deviated and its on_failure is stop"
    assert "skipped: no-pods deviated and its on_failure is stop" in (report / "report.html").read_text()  # the report says where the plan stopped
    # the rollback scaled the shop back: its recovery was measured, so no false "did not recover" finding
    assert first.recovered_in_time is True, (first.time_to_detect, first.time_to_recover)
    assert "did NOT recover in time" not in result.stdout
    assert "did not recover" not in (report / "actions.md").read_text().lower()
    wait_ready_pods(sandbox, 3)


def test_an_error_with_on_failure_stop_is_the_errors_outcome_and_the_rest_is_skipped(sandbox, plans):
    plan = plans.write([
        {"id": "cannot-start", "uses": erroring_experiment(), "on_failure": "stop"},
        {"id": "after", "uses": harmless_experiment()},
    ])
    result = run_gameday(sandbox, "run", str(plan))
    assert result.returncode == 1, result.stdout + result.stderr  # the error's outcome, not an abort (3)
    report = plans.folder / "report"
    finished = _finished(report)
    assert finished["event"] == "gameday_finished" and finished["exit_code"] == 1 and finished["outcome"] != "aborted"
    analysis = analyse(read_journal(report / "journal.jsonl").events)
    first, second = analysis.steps
    assert first.outcome.value == "error"
    assert second.outcome.value == "skipped" and second.detail == "skipped: cannot-start error and its on_failure is stop"
    assert "skipped: cannot-start error and its on_failure is stop" in (report / "report.html").read_text()
    wait_ready_pods(sandbox, 3)  # nothing was injected: the method never ran


def test_a_guardrail_abort_with_on_abort_stop_stays_an_abort_and_measures_the_recovery(sandbox, plans):
    plan = plans.write(
        [
            {"id": "all-pods", "uses": scale_to_zero_experiment(hold=60), "hypothesis": ["checkout-availability"],
             "recover_within": "30s"},
            {"id": "after", "uses": harmless_experiment()},
        ],
        abort_when=["checkout-availability"], tolerate="1s",
    )
    document = json.loads(plan.read_text())
    document["guardrails"]["on_abort"] = "stop"
    plan.write_text(json.dumps(document))
    result = run_gameday(sandbox, "run", str(plan))
    assert result.returncode == 3, result.stdout + result.stderr
    report = plans.folder / "report"
    assert _finished(report)["outcome"] == "aborted"
    analysis = analyse(read_journal(report / "journal.jsonl").events)
    first, second = analysis.steps
    assert first.outcome.value == "aborted"
    assert second.outcome.value == "skipped" and "on_abort: stop" in second.detail
    assert first.recovered_in_time is True, (first.time_to_detect, first.time_to_recover)
    assert "did NOT recover in time" not in result.stdout
    wait_ready_pods(sandbox, 3)
