"""A catalog file runs unmodified inside a plan too: `gameday run` of the failover, twice in a row.

The second failover needs everything the first one changed put back: the same primary
and replica data directories and ports (the sandbox's exports), a replica streaming,
the record on the primary. Both pass only if the first failed back completely.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gamedays.journal.io import read_journal
from tests.catalog.support import Target

REPO = Path(__file__).resolve().parents[2]


def test_a_gameday_can_fail_over_twice_in_a_row(target: Target, tmp_path: Path):
    srv_before = target.lookup("db.shop.internal", "SRV")
    plan = {
        "gameday": "catalog",
        "title": "catalog test: a failover, then another one on the failed-back cluster",
        "date": "2024-05-21",
        "environment": "sandbox",
        "team": {"commander": "tester"},
        "slos": str(REPO / "probes/slos.yaml"),
        "monitor": {"interval": "500ms", "baseline": "1s", "cooldown": "2s", "timeout": "1s"},
        "guardrails": {"abort_when": []},
        "experiments": [
            {"id": "failover", "uses": str(REPO / "experiments/database/postgres-primary-failover.yaml"),
             "hypothesis": ["database-writes"], "recover_within": "30s"},
            {"id": "failover-again", "uses": str(REPO / "experiments/database/postgres-primary-failover.yaml"),
             "hypothesis": ["database-writes", "checkout-availability"], "recover_within": "30s"},
        ],
        "report": {"out": str(tmp_path / "report")},
    }  # fmt: skip
    path = tmp_path / "plan.yaml"
    path.write_text(json.dumps(plan))  # JSON is YAML
    done = subprocess.run(
        [sys.executable, "-m", "gamedays", "run", str(path)], env=target.env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    events = [json.loads(e.model_dump_json()) for e in read_journal(tmp_path / "report/journal.jsonl").events]
    finished = {e["step"]: e["outcome"] for e in events if e["event"] == "step_finished"}
    assert finished == {"failover": "passed", "failover-again": "passed"}
    for step in ("failover", "failover-again"):
        assert any(e.get("step") == step and e.get("kind") == "rollbacks_completed" for e in events)
    target.assert_database_as_before(srv_before)
    target.shop_takes_orders()


def test_aws_resources_that_do_not_exist_fail_their_steps_by_name_and_the_gameday_goes_on(target: Target, tmp_path: Path):
    """An Aurora cluster and a Route53 zone that do not exist: each step ends in error naming the resource (journaled,
    its rollbacks played), the next step still runs, and nothing real was changed."""
    writer, records = target.aurora_writer(), target.route53_records()
    plan = {
        "gameday": "catalog",
        "title": "catalog test: AWS resources that do not exist",
        "date": "2024-05-21",
        "environment": "sandbox",
        "team": {"commander": "tester"},
        "slos": str(REPO / "probes/slos.yaml"),
        "monitor": {"interval": "500ms", "baseline": "1s", "cooldown": "1s", "timeout": "1s"},
        "guardrails": {"abort_when": []},
        "experiments": [
            {"id": "no-cluster", "uses": str(REPO / "experiments/database/aurora-cluster-failover.yaml"),
             "with": {"cluster": "no-such-cluster"}},
            {"id": "no-zone", "uses": str(REPO / "experiments/dns/route53-record-change.yaml"),
             "with": {"zone_name": "no-such-zone.example", "hold_seconds": 0}},
        ],
        "report": {"out": str(tmp_path / "report")},
    }  # fmt: skip
    path = tmp_path / "plan.yaml"
    path.write_text(json.dumps(plan))  # JSON is YAML
    done = subprocess.run(
        [sys.executable, "-m", "gamedays", "run", str(path)], env=target.env, capture_output=True, text=True, timeout=240
    )
    assert "Traceback" not in done.stderr and done.returncode not in (0, 70), done.stdout[-4000:] + done.stderr[-4000:]
    events = [json.loads(e.model_dump_json()) for e in read_journal(tmp_path / "report/journal.jsonl").events]
    finished = {e["step"]: e for e in events if e["event"] == "step_finished"}
    assert {step: e["outcome"] for step, e in finished.items()} == {"no-cluster": "error", "no-zone": "error"}
    assert "no-such-cluster" in finished["no-cluster"]["detail"], finished["no-cluster"]["detail"]
    assert "no-such-zone.example" in finished["no-zone"]["detail"], finished["no-zone"]["detail"]
    for step in ("no-cluster", "no-zone"):
        assert any(e.get("step") == step and e.get("kind") == "rollbacks_completed" for e in events)
    assert events[-1]["event"] == "gameday_finished"
    assert target.aurora_writer() == writer and target.route53_records() == records  # nothing real was touched
    target.shop_takes_orders()
