"""Every file of the catalog is a valid Chaos Toolkit experiment a plan can use as it is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gamedays.loading.catalog import list_catalog
from gamedays.loading.experiments import load_experiment, validate_experiment
from gamedays.loading.plan import load_plan
from gamedays.model.reach import Reach

REPO = Path(__file__).resolve().parents[2]
FILES = sorted((REPO / "experiments").rglob("*.yaml"))
#: Faults that undo themselves: a controller replaces killed pods, an RDS reboot ends on its own.
NO_ROLLBACK = {"kubernetes/pod-kill", "kubernetes/rolling-pod-loss", "aws/rds-reboot-with-failover", "aws/aurora-writer-reboot",
               "postgres/postgres-backend-termination"}
#: The catalog's folders, by where their experiments can act.
FOLDERS = {"aws", "kubernetes", "postgres", "dns", "local", "sandbox"}


def ident(path: Path) -> str:
    return path.relative_to(REPO / "experiments").with_suffix("").as_posix()


def test_the_catalog_covers_what_the_team_asked_for():
    ids = {ident(p) for p in FILES}
    assert {p.split("/")[0] for p in ids} == FOLDERS
    assert {
        "kubernetes/pod-kill", "kubernetes/node-drain", "kubernetes/deployment-scale-to-zero",
        "kubernetes/rolling-pod-loss", "kubernetes/namespace-network-deny",
        "local/postgres-primary-kill", "local/postgres-primary-failover", "postgres/postgres-connection-exhaustion",
        "local/slow-database", "local/database-blackhole", "local/database-connection-reset",
        "aws/rds-reboot-with-failover", "aws/aurora-cluster-failover",
        "dns/record-removal", "dns/record-wrong-address", "sandbox/resolver-slowdown", "sandbox/resolver-outage",
        "aws/route53-record-change", "aws/route53-record-removal", "aws/ec2-stop-start", "aws/eks-node-loss",
        "aws/aurora-writer-reboot", "postgres/postgres-backend-termination",
    } <= ids  # fmt: skip


def folder_for(reach: tuple[Reach, ...]) -> str:
    """Where an experiment with ``reach`` belongs: its most confined reach names the folder."""
    for confined, folder in ((Reach.SANDBOX, "sandbox"), (Reach.LOCAL_HOST, "local"), (Reach.AWS, "aws"),
                             (Reach.KUBERNETES, "kubernetes"), (Reach.POSTGRES, "postgres"), (Reach.RFC2136, "dns")):
        if confined in reach:
            return folder
    raise AssertionError(f"no reach: {reach}")


def test_the_folder_of_each_experiment_tells_where_it_can_act():
    placed = {entry.id: folder_for(entry.reach) for entry in list_catalog(REPO / "experiments")}
    assert {ident: f"{folder}/{ident.split('/')[1]}" for ident, folder in placed.items()} == {i: i for i in placed}
    assert folder_for((Reach.AWS, Reach.KUBERNETES)) == "aws" and folder_for((Reach.LOCAL_HOST, Reach.POSTGRES)) == "local"


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
    assert experiment["tags"][0] in {"kubernetes", "database", "dns", "aws"}, "the first tag is the target kind"


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
