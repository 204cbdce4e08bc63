"""Integrations that cannot work are clear errors before the gameday starts (exit 2, no traceback, no sandbox)."""

from __future__ import annotations

import socket

from tests.support import VALID_PLAN


def test_a_metrics_port_in_use_stops_the_run_before_it_starts(gameday, tree):
    plan = tree.write("plans/2024-05.yaml", VALID_PLAN)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = gameday("run", str(plan), "--metrics-port", str(port))
    assert result.code == 2
    assert f"--metrics-host 127.0.0.1 --metrics-port {port}: cannot serve the gameday's metrics there: Address already in use" in result.err
    assert "Traceback" not in result.err + result.out
    assert "target:" not in result.out  # no sandbox was started, no fault injected
    assert not (tree.root / "reports/2024-05/journal.jsonl").exists()


def test_an_unset_webhook_variable_names_the_plan_line_and_the_variable(gameday, tree, monkeypatch):
    monkeypatch.delenv("MATTERMOST_WEBHOOK_URL", raising=False)
    plan = tree.write("plans/2024-05.yaml", VALID_PLAN + "notify:\n  mattermost:\n    webhook: env:MATTERMOST_WEBHOOK_URL\n")
    line = VALID_PLAN.count("\n") + 3
    result = gameday("rehearse", str(plan), "--metrics-port", "0")
    assert result.code == 2
    assert result.err.strip() == (
        "error: 1 problem found\n"
        f"  plans/2024-05.yaml:{line}: notify.mattermost.webhook: env:MATTERMOST_WEBHOOK_URL is not set: "
        "export MATTERMOST_WEBHOOK_URL (the incoming webhook's URL) before the gameday starts"
    )
    assert "target:" not in result.out


def test_a_webhook_variable_holding_no_url_is_refused_without_echoing_it(gameday, tree, monkeypatch):
    monkeypatch.setenv("SLACK_HOOK", "canary-not-a-url")
    plan = tree.write("plans/2024-05.yaml", VALID_PLAN + "notify:\n  slack: {webhook: 'env:SLACK_HOOK'}\n")
    result = gameday("run", str(plan), "--metrics-port", "0")
    assert result.code == 2
    assert "notify.slack.webhook: env:SLACK_HOOK does not hold an http:// or https:// URL" in result.err
    assert "canary-not-a-url" not in result.err + result.out


def test_the_options_are_documented(gameday):
    for command in ("run", "rehearse"):
        result = gameday(command, "--help")
        assert "--log-format [human|json]" in result.out
        assert "--metrics-port" in result.out and "default: 8067" in result.out and "GAMEDAY_METRICS_PORT" in result.out
        assert "--metrics-host" in result.out and "127.0.0.1" in result.out


def test_a_bad_log_format_is_a_usage_error(gameday, tree):
    plan = tree.write("plans/2024-05.yaml", VALID_PLAN)
    result = gameday("run", str(plan), "--log-format", "xml")
    assert result.code == 2 and "'xml' is not one of 'human', 'json'" in result.err
