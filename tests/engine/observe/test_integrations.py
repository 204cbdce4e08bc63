"""Failed notifications end in the journal also when the orchestrator can no longer take them (after the run)."""

from __future__ import annotations

import json
import time

from gamedays.engine.integrations import Integrations
from gamedays.journal.io import Journal
from gamedays.engine.logs import LogFormat
from gamedays.loading.plan import load_plan
from tests.notify.events import finished, guardrail, started
from tests.support import VALID_PLAN


def test_failures_after_the_run_are_appended_to_its_journal_and_counted(tree, webhook, tmp_path):
    webhook.status = 404  # not retried: quick
    plan = tree.write("plans/2024-05.yaml", VALID_PLAN + "notify:\n  mattermost: {webhook: 'env:MM'}\n")
    journal = tmp_path / "report" / "journal.jsonl"
    with Journal(journal) as writer:
        writer.append(started())
    integrations = Integrations(load_plan(plan), {"MM": webhook.url}, report_dir=tmp_path / "report",
                                log_format=LogFormat.HUMAN, metrics_port=0)
    with integrations:
        for event in (started(), guardrail(), finished()):
            integrations.delivery.put(event)  # as the orchestrator's delivery thread hands it over
        webhook.wait_for(2, timeout=5)
        time.sleep(0.2)
        integrations.run_ended(journal)
        integrations.finish(journal, "reports/2024-05", ["Fix it"])
        metrics = integrations.metrics.render()
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    failed = [e for e in events if e["event"] == "notification_failed"]
    assert [e["about"] for e in failed] == ["gameday_started", "guardrail", "gameday_finished"]
    assert all("HTTP 404" in e["error"] and e["attempts"] == 1 for e in failed)
    assert "gameday_notification_failures_total 3" in metrics
    log = (tmp_path / "report" / "gameday.log").read_text()
    assert "notification to mattermost about gameday_finished failed after 1 attempts: the webhook answered HTTP 404" in log
    assert "s3cr3t-hook-key" not in log
