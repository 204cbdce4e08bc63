"""Every file of the catalog is a valid Chaos Toolkit experiment a plan can use as it is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gamedays.loading.experiments import load_experiment, validate_experiment
from gamedays.loading.plan import load_plan

REPO = Path(__file__).resolve().parents[2]
FILES = sorted((REPO / "experiments").rglob("*.yaml"))
#: Faults that undo themselves: a controller replaces killed pods, an RDS reboot ends on its own.
NO_ROLLBACK = {"kubernetes/pod-kill", "kubernetes/rolling-pod-loss", "database/rds-reboot-with-failover"}
KINDS = {"kubernetes", "database", "dns", "aws"}


def ident(path: Path) -> str:
    return path.relative_to(REPO / "experiments").with_suffix("").as_posix()


def test_the_catalog_covers_what_the_team_asked_for():
    ids = {ident(p) for p in FILES}
    assert {p.split("/")[0] for p in ids} == KINDS
    assert {
        "kubernetes/pod-kill", "kubernetes/node-drain", "kubernetes/deployment-scale-to-zero",
        "kubernetes/rolling-pod-loss", "kubernetes/namespace-network-deny",
        "database/postgres-primary-kill", "database/postgres-primary-failover", "database/postgres-connection-exhaustion",
        "database/slow-database", "database/database-blackhole", "database/database-connection-reset",
        "database/rds-reboot-with-failover", "database/aurora-cluster-failover",
        "dns/record-removal", "dns/record-wrong-address", "dns/resolver-slowdown", "dns/resolver-outage",
        "dns/route53-record-change", "dns/route53-record-removal", "aws/ec2-stop-start", "aws/eks-node-loss",
    } <= ids  # fmt: skip


@pytest.mark.parametrize("path", FILES, ids=ident)
def test_each_file_validates_with_its_defaults(path: Path):
    experiment = load_experiment(path)
    validate_experiment(experiment)  # raises ExperimentProblem with chaoslib's reason
    for key in ("title", "description", "tags", "steady-state-hypothesis", "method", "rollbacks"):
        assert experiment.get(key) is not None, f"{ident(path)} has no {key}"
    assert experiment["steady-state-hypothesis"]["probes"], f"{ident(path)}: a hypothesis without probes"
    assert any(a["type"] == "action" for a in experiment["method"]), f"{ident(path)}: the method does nothing"
    if ident(path) not in NO_ROLLBACK:
        assert experiment["rollbacks"], f"{ident(path)} declares no rollback to undo its fault"
    assert ident(path).split("/")[0] in experiment["tags"], "the target kind is one of the tags"


@pytest.mark.parametrize("path", FILES, ids=ident)
def test_every_placeholder_names_a_configuration_key(path: Path):
    """A ${name} with no configuration key would reach the extension as literal text."""
    experiment = load_experiment(path)
    declared = set(experiment.get("configuration") or {})
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", path.read_text()))
    assert used <= declared, f"{ident(path)} uses undeclared {sorted(used - declared)}"


def test_the_may_plan_still_loads_with_the_real_failover():
    plan = load_plan(REPO / "plans/2024-05.yaml")
    failover = next(resolved for resolved in plan.steps if resolved.step.id == "db-primary-failover")
    names = [activity["name"] for activity in failover.experiment["method"]]
    assert names[:3] == ["kill-primary", "promote-replica", "move-db-record-to-replica"]
    assert [r["name"] for r in failover.experiment["rollbacks"]] == [
        "fail-back-to-the-original-primary",
        "replica-streams-from-the-primary-again",
    ]
