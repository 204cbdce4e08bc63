"""Values a plan, an SLO catalog or a playbook may hold: durations and shares within what gameday can honour.

Each case goes through the real CLI (`gameday validate`) and asserts the message:
file:line, the value written and what is allowed (exit 2, no traceback).
"""

from __future__ import annotations

import pytest

from tests.support import VALID_PLAN, line_of

MONITOR = "monitor:\n  interval: {interval}\n  timeout: {timeout}\nguardrails:"


def validate(gameday, path="plans/p.yaml"):
    result = gameday("validate", path)
    assert "Traceback" not in result.err + result.out
    return result


def assert_refused(result, expected: str) -> None:
    assert result.code == 2, result
    assert expected in result.err, f"{expected!r} not in:\n{result.err}"


def plan_with(tree, old: str, new: str) -> str:
    assert old in VALID_PLAN
    text = VALID_PLAN.replace(old, new, 1)
    tree.plan(text)
    return text


@pytest.mark.parametrize(
    ("interval", "allowed"),
    [("0s", "0s"), ("1ms", "1ms"), ("99ms", "99ms"), ("2h", "2h")],
)
def test_monitor_interval_within_what_the_sampler_honours(tree, gameday, interval, allowed):
    text = plan_with(tree, "guardrails:", MONITOR.format(interval=interval, timeout="50ms"))
    assert_refused(
        validate(gameday),
        f"plans/p.yaml:{line_of(text, 'interval:')}: monitor.interval: {allowed} is not allowed: "
        "use a duration at least 100ms and at most 1h",
    )


def test_guardrail_sampling_at_250ms_stays_possible(tree, gameday):
    plan_with(tree, "guardrails:", MONITOR.format(interval="250ms", timeout="1s"))
    result = validate(gameday)
    assert result.code == 0, result.err


def test_monitor_timeout_above_zero(tree, gameday):
    text = plan_with(tree, "guardrails:", MONITOR.format(interval="1s", timeout="0s"))
    assert_refused(
        validate(gameday),
        f"plans/p.yaml:{line_of(text, 'timeout:')}: monitor.timeout: 0s is not allowed: "
        "use a duration longer than 0s and at most 1h",
    )


def test_monitor_timeout_at_most_four_intervals(tree, gameday):
    text = plan_with(tree, "guardrails:", MONITOR.format(interval="250ms", timeout="2s"))
    assert_refused(
        validate(gameday),
        f"plans/p.yaml:{line_of(text, 'timeout:')}: monitor.timeout: 2s is not allowed: "
        "use a duration longer than 0s and at most 1s (4 times monitor.interval 250ms)",
    )


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("baseline", "2d", "at least 0s and at most 1d"),
        ("cooldown", "2h", "at least 0s and at most 1h"),
    ],
)
def test_monitor_pauses_bounded(tree, gameday, key, value, allowed):
    text = plan_with(tree, "guardrails:", f"monitor:\n  {key}: {value}\nguardrails:")
    assert_refused(
        validate(gameday),
        f"plans/p.yaml:{line_of(text, key + ':')}: monitor.{key}: {value} is not allowed: use a duration {allowed}",
    )


def test_tolerate_bounded(tree, gameday):
    text = plan_with(tree, "  abort_when:", "  tolerate: 90m\n  abort_when:")
    assert_refused(
        validate(gameday),
        f"plans/p.yaml:{line_of(text, 'tolerate:')}: guardrails.tolerate: 90m is not allowed: "
        "use a duration at least 0s and at most 1h",
    )


@pytest.mark.parametrize("budget", ["0%", "0.0%"])
def test_error_budget_above_zero(tree, gameday, budget):
    text = plan_with(tree, "  abort_when:", f"  error_budget: {budget}\n  abort_when:")
    assert_refused(
        validate(gameday),
        f"plans/p.yaml:{line_of(text, 'error_budget:')}: guardrails.error_budget: {budget} is not allowed: "
        "use a percentage above 0% and at most 100%",
    )


@pytest.mark.parametrize("value", ["0s", "2d"])
def test_recover_within_bounded(tree, gameday, value):
    text = plan_with(tree, "recover_within: 30s", f"recover_within: {value}")
    assert_refused(
        validate(gameday),
        f"plans/p.yaml:{line_of(text, 'recover_within:')}: experiments[0].recover_within: {value} is not allowed: "
        "use a duration longer than 0s and at most 1d",
    )


@pytest.mark.parametrize(("key", "value"), [("rto", "0ms"), ("rpo", "0s"), ("rto", "25h")])
def test_dr_check_targets_bounded(tree, gameday, key, value):
    text = plan_with(
        tree, "  - playbook: ../playbooks/database-cluster.yaml", f"  - playbook: ../playbooks/database-cluster.yaml\n    {key}: {value}"
    )
    assert_refused(
        validate(gameday),
        f"plans/p.yaml:{line_of(text, key + ':')}: disaster_recovery[0].{key}: {value} is not allowed: "
        "use a duration longer than 0s and at most 1d",
    )


@pytest.mark.parametrize(("old", "new", "where"), [("rto: 2m", "rto: 0ms", "rto"), ("rpo: 5s", "rpo: 3d", "rpo")])
def test_playbook_targets_bounded(tree, gameday, old, new, where):
    path = tree.root / "playbooks/database-cluster.yaml"
    text = path.read_text(encoding="utf-8").replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    tree.plan()
    value = new.split(": ")[1]
    assert_refused(
        validate(gameday),
        f"playbooks/database-cluster.yaml:{line_of(text, new)}: {where}: {value} is not allowed: "
        "use a duration longer than 0s and at most 1d",
    )


def test_playbook_writer_pace_bounded(tree, gameday):
    path = tree.root / "playbooks/database-cluster.yaml"
    old = 'writer: {kind: postgres, target: "${DATABASE_URL}"}'
    text = path.read_text(encoding="utf-8").replace(old, 'writer: {kind: postgres, target: "${DATABASE_URL}", every: 1ms}')
    path.write_text(text, encoding="utf-8")
    tree.plan()
    assert_refused(
        validate(gameday),
        f"playbooks/database-cluster.yaml:{line_of(text, 'every: 1ms')}: writer.every: 1ms is not allowed: "
        "use a duration at least 10ms and at most 1m",
    )


@pytest.mark.parametrize(
    ("old", "new", "where", "allowed"),
    [
        ("      timeout: 2s", "      timeout: 0s", "slos[0].sli.timeout", "longer than 0s and at most 5m"),
        ("      latency_threshold: 300ms", "      latency_threshold: 1h", "slos[1].sli.latency_threshold", "longer than 0s and at most 5m"),
        ("    window: 30d", "    window: 0s", "slos[0].window", "longer than 0s and at most 366d"),
    ],
)
def test_slo_catalog_durations_bounded(tree, gameday, old, new, where, allowed):
    path = tree.root / "probes/slos.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    tree.plan()
    value = new.split(": ")[1]
    assert_refused(
        validate(gameday),
        f"probes/slos.yaml:{line_of(text, new)}: {where}: {value} is not allowed: use a duration {allowed}",
    )
