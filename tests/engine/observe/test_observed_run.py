"""A real `gameday run` against the sandbox, watched as a team watches it: /metrics, JSON logs, Mattermost."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.engine.run.conftest import scale_to_zero_experiment, wait_ready_pods
from tests.engine.observe.test_metrics import parse


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scrape(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode("utf-8")
    except (urllib.error.URLError, OSError):
        return None


def with_notify(plan: Path, notify: dict) -> Path:
    body = json.loads(plan.read_text())
    body["notify"] = notify
    plan.write_text(json.dumps(body))
    return plan


def test_a_run_serves_metrics_logs_json_and_tells_the_team(sandbox, plans, webhook, failing_webhook, tmp_path):
    failing_webhook.status = 500
    plan = with_notify(
        plans.write([{"id": "all-pods", "uses": scale_to_zero_experiment(hold=30), "hypothesis": ["checkout-availability"]}],
                    abort_when=["checkout-availability"], tolerate="1s"),
        {"mattermost": {"webhook": "env:MATTERMOST_WEBHOOK_URL", "channel": "gameday"},
         "slack": {"webhook": "env:SLACK_WEBHOOK_URL"}},
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    env = {**sandbox, "MATTERMOST_WEBHOOK_URL": webhook.url, "SLACK_WEBHOOK_URL": failing_webhook.url}
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "gamedays", "run", str(plan), "--metrics-port", str(port), "--log-format", "json"],
            env=env, stdout=stdout, stderr=stderr, text=True,
        )
        scrapes: list[str] = []
        deadline = time.monotonic() + 150
        try:
            while process.poll() is None and time.monotonic() < deadline:
                body = scrape(url)
                if body is not None:
                    scrapes.append(body)
                time.sleep(0.25)
        finally:
            if process.poll() is None:
                process.kill()
        code = process.wait(10)
    stdout_text, stderr_text = out.read_text(), err.read_text()
    assert code == 1, stdout_text + stderr_text  # the guardrail aborted the step: a finding

    # /metrics, scraped while the gameday ran
    assert f"metrics: {url}" in stdout_text
    parsed = [parse(s) for s in scrapes]
    running = [p for p in parsed if p["gameday_running"] == 1]
    assert running, f"{len(scrapes)} scrapes, none while the gameday ran"
    assert all(p['gameday_info{gameday="test",version="0.1.0",mode="run",environment="sandbox"}'] == 1 for p in running)
    with_values = [p for p in running if 'gameday_sli_value{slo="checkout-availability"}' in p]
    assert with_values and with_values[-1]['gameday_slo_objective_ratio{slo="checkout-availability"}'] == 0.9995
    assert 'gameday_error_budget_burned_ratio{slo="checkout-availability"}' in with_values[-1]
    assert any(p['gameday_step_state{step="all-pods",state="running"}'] == 1 for p in running)
    assert any(p['gameday_sli_good{slo="checkout-availability"}'] == 0 for p in with_values)  # the fault was seen live
    assert any(p["gameday_aborts_total"] == 1 for p in parsed)
    assert scrape(url) is None  # the server went with the run

    # JSON logs on stderr, one object per line with the fields
    lines = [json.loads(line) for line in stderr_text.splitlines() if line.startswith("{")]
    assert lines and all({"time", "level", "gameday", "step", "event", "message"} <= set(line) for line in lines)
    messages = [line["message"] for line in lines]
    assert "step all-pods: fault injected" in messages
    assert any(m.startswith("guardrail tripped: checkout-availability breached for ") and m.endswith(", aborting all-pods")
               for m in messages), messages
    assert any(m.startswith("notification to slack about gameday_started failed after 4 attempts") for m in messages)

    # Mattermost: started, the abort at once, the step, the finished report with its actions
    texts = webhook.texts()
    assert "**Gameday test started**: engine test (2024-05-21)" in texts[0]
    assert "1. `all-pods`: The shop survives losing every pod (hypothesis: checkout-availability)" in texts[0]
    guard = next(i for i, t in enumerate(texts) if "GUARDRAIL TRIPPED" in t)
    step = next(i for i, t in enumerate(texts) if "Step `all-pods` **aborted**" in t)
    assert guard < step
    assert "Error budget burned during the step: checkout-availability" in texts[step]
    last = texts[-1]
    assert "**Gameday test finished: aborted**" in last or "**Gameday test finished: deviated**" in last, last
    assert f"Report: `{plans.folder / 'report'}`" in last
    assert "**Top follow-up actions**" in last
    assert all(r.json.get("channel") == "gameday" for r in webhook.received)

    # Slack answered 500 every time: the failures are in the journal, the gameday was not held up
    journal = [json.loads(line) for line in (plans.folder / "report/journal.jsonl").read_text().splitlines()]
    failed = [e for e in journal if e["event"] == "notification_failed"]
    assert {e["about"] for e in failed} >= {"gameday_started", "guardrail", "step_finished"}
    assert all(e["channel"] == "slack" and e["attempts"] == 4 and "HTTP 500" in e["error"] for e in failed)

    # the webhooks' keys are nowhere
    written = stdout_text + stderr_text + "".join(
        p.read_text(errors="replace") for p in (plans.folder / "report").rglob("*") if p.is_file()
    )
    for secret in ("s3cr3t-hook-key", "canary-slack-key"):
        assert secret not in written
    wait_ready_pods(sandbox, 3)
