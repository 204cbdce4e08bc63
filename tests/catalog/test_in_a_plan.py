"""A catalog file runs unmodified inside a plan too: `gameday run` of the failover, twice in a row.

The second failover needs everything the first one changed put back: the same primary
and replica data directories and ports (the sandbox's exports), a replica streaming,
the record on the primary. Both pass only if the first failed back completely.
"""

from __future__ import annotations

from pathlib import Path

from tests.catalog.support import REPO, Target, plan_of, run_plan


def test_a_gameday_can_fail_over_twice_in_a_row(target: Target, tmp_path: Path):
    srv_before = target.lookup("db.shop.internal", "SRV")
    plan = plan_of("a failover, then another one on the failed-back cluster", [
        {"id": "failover", "uses": str(REPO / "experiments/local/postgres-primary-failover.yaml"),
         "hypothesis": ["database-writes"], "recover_within": "30s"},
        {"id": "failover-again", "uses": str(REPO / "experiments/local/postgres-primary-failover.yaml"),
         "hypothesis": ["database-writes", "checkout-availability"], "recover_within": "30s"},
    ], tmp_path / "report", cooldown="2s")  # fmt: skip
    done, events = run_plan(target, plan, tmp_path)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
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
    plan = plan_of("AWS resources that do not exist", [
        {"id": "no-cluster", "uses": str(REPO / "experiments/aws/aurora-cluster-failover.yaml"),
         "with": {"cluster": "no-such-cluster"}},
        {"id": "no-zone", "uses": str(REPO / "experiments/aws/route53-record-change.yaml"),
         "with": {"zone_name": "no-such-zone.example", "hold_seconds": 0}},
    ], tmp_path / "report")  # fmt: skip
    done, events = run_plan(target, plan, tmp_path)
    assert "Traceback" not in done.stderr and done.returncode not in (0, 70), done.stdout[-4000:] + done.stderr[-4000:]
    finished = {e["step"]: e for e in events if e["event"] == "step_finished"}
    assert {step: e["outcome"] for step, e in finished.items()} == {"no-cluster": "error", "no-zone": "error"}
    assert "no-such-cluster" in finished["no-cluster"]["detail"], finished["no-cluster"]["detail"]
    assert "no-such-zone.example" in finished["no-zone"]["detail"], finished["no-zone"]["detail"]
    for step in ("no-cluster", "no-zone"):
        assert any(e.get("step") == step and e.get("kind") == "rollbacks_completed" for e in events)
    assert events[-1]["event"] == "gameday_finished"
    assert target.aurora_writer() == writer and target.route53_records() == records  # nothing real was touched
    target.shop_takes_orders()
