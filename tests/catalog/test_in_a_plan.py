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
