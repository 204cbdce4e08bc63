"""What the team's channel reads: one message per event kind that matters, with the numbers of the run."""

from __future__ import annotations

from gamedays.model.events import DRStarted, ExperimentProgress, Interrupted, Mode
from gamedays.model.outcomes import Outcome
from gamedays.notify.messages import Closing, closing, for_slack
from tests.notify.events import T0, Said, dr_finished, dr_writes, finished, guardrail, sample, started, step_run


def say(messages: Said, events: list) -> list:
    return messages(events)


def test_started_names_plan_environment_commander_and_the_timeline():
    [message] = say(Said(), [started()])
    text = message.text
    assert message.about == "gameday_started"
    assert "**Gameday 2024-05 started**: May gameday (2024-05-21)" in text
    assert "Plan `plans/2024-05.yaml`" in text and "environment **sandbox**" in text
    assert "commander **alice**, scribe bob" in text
    assert "1. `api-pod-loss`: The shop survives losing a pod (hypothesis: checkout-availability; recover within 30s)" in text
    assert "2. `dns-loss`: DNS record removed (hypothesis: none)" in text
    assert "- `database-cluster`: Database primary lost: primary killed on shop-db (RTO 60s, RPO 0s)" in text
    assert "checkout-availability (99%)" in text
    assert "abort when checkout-availability breaches for 5s" in text


def test_a_rehearsal_says_so_in_every_message():
    messages = Said()
    said = say(messages, [started(Mode.REHEARSAL), *step_run("api-pod-loss", 0), guardrail()])
    assert "**Rehearsal 2024-05 started**" in said[0].text and "(no fault is injected)" in said[0].text
    assert all(m.text.startswith("[rehearsal] ") for m in said[1:])


def test_each_step_says_its_outcome_and_the_budget_it_burned():
    messages = Said()
    said = say(messages, [started(), *step_run("api-pod-loss", 2), *step_run("dns-loss", 1, Outcome.DEVIATED, at=T0 + 50)])
    first, second = said[1], said[2]
    assert first.about == "step_finished"
    assert first.text.startswith(":white_check_mark: Step `api-pod-loss` **passed** (1/2): The shop survives losing a pod")
    # 2 bad 1 s samples of a 10 s budget: 20%
    assert "Error budget burned during the step: checkout-availability 20.00%" in first.text
    assert "Gameday so far: checkout-availability 20.00%" in first.text
    assert second.text.startswith(":warning: Step `dns-loss` **deviated** (2/2)")
    assert "during the step: checkout-availability 10.00%" in second.text
    assert "Gameday so far: checkout-availability 30.00%" in second.text


def test_a_step_without_bad_samples_burned_nothing():
    said = say(Said(), [started(), *step_run("api-pod-loss", 0)])
    assert "Error budget burned during the step: none (no bad sample)" in said[1].text


def test_a_guardrail_is_told_at_once_with_the_breach():
    [message] = say(Said(), [started(), guardrail()])[1:]
    assert message.about == "guardrail"
    assert ":octagonal_sign: **GUARDRAIL TRIPPED** (SLO breach): aborting step `api-pod-loss`" in message.text
    assert "checkout-availability in breach for 5.2s" in message.text


def test_a_dr_check_is_told_with_its_rto_against_the_target_and_the_data_lost():
    recovered = say(Said(), [started(), dr_writes(0), dr_finished(42.0)])[1]
    assert recovered.about == "dr_finished"
    assert "DR check `database-cluster`: Database primary lost **recovered**" in recovered.text
    assert "RTO 42.0s (target 60s)" in recovered.text
    assert "no data lost (120 acknowledged writes kept)" in recovered.text
    late = say(Said(), [started(), dr_writes(3), dr_finished(75.5)])[1]
    assert ":warning:" in late.text and "**missed its RTO**" in late.text and "RTO 75.5s (target 60s)" in late.text
    assert "3 of 120 acknowledged writes lost (2.5s of data), target RPO 0s" in late.text
    failed = say(Said(), [started(), dr_finished(None, failed_step="promote replica")])[1]
    assert "**failed** at `promote replica`" in failed.text and "RTO not reached (target 60s)" in failed.text


def test_finished_waits_for_the_report_and_names_the_top_actions():
    messages = Said()
    assert say(messages, [started(), finished()])[1:] == []  # the report is not written yet
    last = messages.last(closing("reports/2024-05", [f"action {n}" for n in range(1, 8)], limit=3))
    assert last is not None and last.about == "gameday_finished"
    assert last.text.startswith(":warning: **Gameday 2024-05 finished: deviated** (exit code 1) after 5.0 min")
    assert "Report: `reports/2024-05`" in last.text
    assert "1. action 1\n2. action 2\n3. action 3\n… and 4 more in the report" in last.text


def test_finished_without_actions_says_so_and_nothing_is_said_before_the_end():
    messages = Said()
    say(messages, [started()])
    assert messages.last(Closing(report="reports/x")) is None
    say(messages, [finished(Outcome.PASSED)])
    assert "No follow-up action." in messages.last(Closing(report="reports/x")).text


def test_samples_progress_and_dr_start_say_nothing_but_an_interruption_does():
    quiet = [sample("checkout-availability", False, T0 + 1), DRStarted(at=T0, check="database-cluster"),
             ExperimentProgress(at=T0, step="api-pod-loss", kind="method_started")]
    messages = Said()
    assert say(messages, [started(), *quiet])[1:] == []
    [message] = say(messages, [Interrupted(at=T0 + 5, signal="SIGINT")])
    assert message.about == "interrupted" and "**Interrupted** by SIGINT" in message.text


def test_slack_gets_its_own_bold():
    assert for_slack("a **b** and **c d**") == "a *b* and *c d*"
