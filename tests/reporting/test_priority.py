"""Priorities from the budget burned, due dates before the next monthly gameday, and the actions that get them."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamedays.model.events import NotificationFailed
from gamedays.model.outcomes import Outcome
from gamedays.reporting.actions import ActionKind
from gamedays.reporting.priority import Priority, budget_used, due_date, due_of, priority
from gamedays.reporting.render import render_report
from tests.reporting.journals import T0, Gameday, info


@pytest.mark.parametrize(
    "held, due",
    [
        ("2024-05-21", "2024-06-20"),
        ("2024-01-31", "2024-02-28"),  # leap year: the next month ends on the 29th, due the day before
        ("2023-01-31", "2023-02-27"),
        ("2024-01-30", "2024-02-28"),
        ("2024-02-29", "2024-03-28"),
        ("2024-03-31", "2024-04-29"),
        ("2024-12-31", "2025-01-30"),  # across the year
        ("2024-12-01", "2024-12-31"),
        ("2024-11-30", "2024-12-29"),
    ],
)
def test_due_the_day_before_the_same_day_next_month(held, due):
    assert due_date(dt.date.fromisoformat(held)).isoformat() == due
    assert due_of(held) == due


def test_no_due_date_without_a_valid_gameday_date():
    assert due_of("") is None and due_of("2024-02-30") is None and due_of("May") is None


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_due_before_the_next_monthly_gameday(held):
    due = due_date(held)
    assert held < due <= held + dt.timedelta(days=30)
    next_month = (due + dt.timedelta(days=1))
    assert (next_month.year * 12 + next_month.month) - (held.year * 12 + held.month) == 1  # the day after is next month


@pytest.mark.parametrize(
    "burned, allowance, severe, serious, expected",
    [
        (0.005, 0.01, False, False, Priority.P1),  # half the allowance
        (0.0049, 0.01, False, False, Priority.P2),
        (0.001, 0.01, False, False, Priority.P2),  # a tenth
        (0.00099, 0.01, False, False, Priority.P3),
        (None, 0.01, False, False, Priority.P3),
        (0.0, None, False, True, Priority.P2),  # a missed recovery deadline
        (0.6, None, False, False, Priority.P1),  # no allowance: against the whole budget
        (0.2, None, False, False, Priority.P2),
        (0.05, None, False, False, Priority.P3),
        (0.0, 0.01, True, False, Priority.P1),  # a failed rollback or DR check
        (math.inf, 0.01, False, False, Priority.P1),  # a 100% objective with a bad sample
        (0.0001, 0.0, False, False, Priority.P1),  # no allowance at all: any burn
    ],
)
def test_the_priority_rule(burned, allowance, severe, serious, expected):
    assert priority(burned, allowance, severe=severe, serious=serious) is expected


@given(st.floats(0, 10), st.floats(1e-6, 1), st.booleans())
def test_more_burn_never_lowers_the_priority(burned, allowance, serious):
    order = [Priority.P3, Priority.P2, Priority.P1]
    low = priority(burned, allowance, serious=serious)
    high = priority(burned * 2 + 1e-9, allowance, serious=serious)
    assert order.index(high) >= order.index(low)
    assert budget_used(burned, allowance) == pytest.approx(burned / allowance)


def test_the_actions_of_a_deviated_gameday_get_priority_owner_and_due(make):
    actions = render_report(make("deviated")).review.actions
    by = {(a.kind, a.subject): a for a in actions}
    # allowance 1%: pod-kill burned 0.62% of checkout's budget, i.e. 62% of the allowance
    assert by[ActionKind.STEP_DEVIATED, "pod-kill"].priority is Priority.P1
    assert by[ActionKind.BUDGET_OVERSPENT, "dns-resolution"].priority is Priority.P1
    assert {a.due for a in actions} == {"2024-06-20"}  # held 2024-05-21
    assert {a.owner for a in actions} == {"alice"}  # the commander, also for a service's SLO: the plan names no other


def test_an_abort_that_cost_little_is_p3_and_a_missed_recovery_p2(make):
    actions = render_report(make("aborted")).review.actions  # no allowance: 4 bad samples of a 30-day budget
    assert [(a.kind, a.priority) for a in actions] == [(ActionKind.STEP_ABORTED, Priority.P3)]
    crashed = {a.kind: a.priority for a in render_report(make("crashed")).review.actions}
    assert crashed == {ActionKind.OPEN_FAULT: Priority.P1, ActionKind.RUN_INCOMPLETE: Priority.P2,
                       ActionKind.STEP_UNFINISHED: Priority.P2}


def test_dr_findings_become_actions_and_notification_failures_do_not(make):
    actions = render_report(make("dr")).review.actions
    summary = [(a.kind.value, a.subject, a.priority.value) for a in actions]
    assert summary == [
        ("rto-missed", "dns", "P1"),
        ("dr-not-verified", "dns", "P2"),
        ("dr-failed", "kubernetes-cluster", "P1"),
        ("rpo-missed", "database-cluster-2", "P1"),
        ("no-dr-playbook", "message-queue/orders-queue", "P2"),
    ]
    by = {(a.kind.value, a.subject): a for a in actions}
    failed = by["dr-failed", "kubernetes-cluster"]
    assert failed.title == "kubernetes-cluster: the DR playbook failed at apply the manifest backup — fix the playbook or the recovery"
    assert "failed step: apply the manifest backup (422 Unprocessable Entity" in failed.why
    assert by["rto-missed", "dns"].why.endswith("recovered in 44.5s, more than the RTO of 30.0s")
    assert by["rpo-missed", "database-cluster-2"].why.endswith("lost 8.0s of writes, more than the RPO of 5.0s; 12 acknowledged writes lost")
    assert "not verified by a person: tell the on-call" in by["dr-not-verified", "dns"].why
    assert render_report(make("dr-rehearsal")).review.actions == ()  # ready prechecks call for nothing


def test_a_failed_notification_is_no_follow_up_action(tmp_path):
    gd = Gameday([info("pod-kill")])
    end = gd.step("pod-kill", 11.0, 3.0, recover=1.0)
    gd.add(NotificationFailed(at=T0 + 12.0, channel="mattermost", about="step_started", attempts=3, error="HTTP 502"))
    gd.finish(end, Outcome.PASSED, 0)
    gd.write(tmp_path / "2024-05", end)
    rendered = render_report(tmp_path / "2024-05")
    assert rendered.analysis.outcome is Outcome.PASSED and rendered.review.actions == ()
