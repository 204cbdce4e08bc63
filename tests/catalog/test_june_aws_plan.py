"""plans/2024-06-aws.yaml, the AWS gameday, runs on the sandbox's AWS twin with real effects, and validates unchanged
for a real account but for its environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.catalog.support import REPO, Target, run_plan

PLAN = REPO / "plans/2024-06-aws.yaml"


def june_plan(report: Path) -> dict:
    """The June plan with its files named absolutely, a shorter baseline and cooldown, the report in ``report``."""
    plan = YAML(typ="safe").load(PLAN.read_text())
    plan["slos"] = str((PLAN.parent / plan["slos"]).resolve())
    for step in plan["experiments"]:
        step["uses"] = str((PLAN.parent / step["uses"]).resolve())
    for check in plan["disaster_recovery"]:
        check["playbook"] = str((PLAN.parent / check["playbook"]).resolve())
    plan["monitor"] = {**plan["monitor"], "baseline": "3s", "cooldown": "3s"}
    plan["report"] = {"out": str(report)}
    plan["date"] = str(plan["date"])
    return plan


def bad_samples(events: list[dict], step: str, slo: str) -> int:
    """The bad samples of ``slo`` between the start and the end of ``step``."""
    started = next(e["at"] for e in events if e["event"] == "step_started" and e["step"] == step)
    finished = next(e["at"] for e in events if e["event"] == "step_finished" and e["step"] == step)
    return sum(1 for e in events if e["event"] == "sample" and e["slo"] == slo and not e["good"] and started <= e["at"] <= finished)


def test_the_june_aws_plan_fails_over_aurora_loses_a_route53_record_and_an_eks_node_for_real(target: Target, tmp_path: Path):
    writer, records = target.aurora_writer(), target.route53_records()
    done, events = run_plan(target, june_plan(tmp_path / "report"), tmp_path, timeout=420)
    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-4000:]  # a finding: the shop needs its db record
    finished = {e["step"]: e["outcome"] for e in events if e["event"] == "step_finished"}
    assert finished == {"aurora-writer-failover": "passed", "route53-record-loss": "deviated", "eks-node-loss": "passed"}
    # each fault acted on the real parts the SLIs measure, through the AWS API only
    assert bad_samples(events, "aurora-writer-failover", "database-writes") >= 1  # the writer moved: writes broke a while
    assert bad_samples(events, "route53-record-loss", "dns-resolution") >= 1  # the shop's DNS lost the record
    for step in finished:
        assert any(e.get("step") == step and e.get("kind") == "rollbacks_completed" for e in events), step
    dr = {e["check"]: e for e in events if e["event"] == "dr_finished"}
    assert set(dr) == {"aurora-cluster", "aurora-cluster-pitr", "route53-zone", "kubernetes-cluster"}
    assert all(e["recovered_at"] is not None and e["failed_step"] is None for e in dr.values()), dr
    aurora = next(e for e in events if e["event"] == "dr_writes" and e["check"] == "aurora-cluster")
    assert aurora["error"] is None and aurora["acknowledged"] > 0, aurora  # stamped through the writer endpoint
    assert 0 < aurora["lost"] < aurora["acknowledged"], aurora  # those after the snapshot: lost with the cluster
    pitr = next(e for e in events if e["event"] == "dr_writes" and e["check"] == "aurora-cluster-pitr")
    assert pitr["error"] is None and 0 < pitr["lost"] < pitr["acknowledged"], pitr  # read back from the restored cluster
    rpo = next(e for e in events if e["event"] == "dr_finished" and e["check"] == "aurora-cluster-pitr")
    assert rpo["disaster_at"] - pitr["first_lost_at"] < 5, (rpo, pitr)  # about the second before the migration
    # and the sandbox is as it began
    assert target.aurora_writer() == writer and target.route53_records() == records
    target.ready_pods(3)
    target.shop_takes_orders()


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_the_june_plan_validates_for_a_real_account_by_its_environment_alone(tree, gameday, environment: str):
    text = PLAN.read_text().replace("environment: sandbox ", f"environment: {environment} ", 1)
    assert f"environment: {environment} " in text
    tree.write("plans/june.yaml", text)
    result = gameday("validate", "plans/june.yaml")
    assert result.code == 0, result.err
    assert f"environment  {environment}" in result.out
