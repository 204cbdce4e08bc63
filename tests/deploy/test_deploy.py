"""`gameday deploy PLAN --dry-run`: the manifests, validated against the Kubernetes 1.30 schemas; the refusals."""

from __future__ import annotations

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from gamedays.deploy.rbac import Permission, Rule, rules
from gamedays.model.errors import UsageError
from tests.support import line_of

PLAN = """\
gameday: "2024-08"
title: "August 2024"
date: 2024-08-20
environment: staging
team:
  commander: sre-oncall
slos: ../probes/slos.yaml
experiments:
  - id: api-pod-loss
    uses: ../experiments/kubernetes/pod-kill.yaml
    with: {namespace: shop, qty: 1}
  - id: node-drain
    uses: ../experiments/kubernetes/node-drain.yaml
  - id: aurora-failover
    uses: ../experiments/aws/aurora-cluster-failover.yaml
"""


def _objects(out: str) -> list[dict]:
    return [o for o in YAML(typ="safe").load_all(out) if o]


def test_rbac_groups_verbs_and_scopes():
    found = rules([
        Permission("list pods", "a.yaml", "shop"), Permission("delete pods", "a.yaml", "shop"),
        Permission("get deployments/status", "b.yaml", "shop"), Permission("patch nodes", "b.yaml", "shop"),
        Permission("list pods (all namespaces)", "b.yaml", "shop"), Permission("get, create namespaces", "c.yaml", "x"),
    ])
    assert found.namespaced == {"shop": (Rule("", "pods", ("list", "delete")), Rule("apps", "deployments/status", ("get",)))}
    assert found.cluster == (Rule("", "namespaces", ("get", "create")), Rule("", "nodes", ("patch",)), Rule("", "pods", ("list",)))


def test_rbac_errors_name_the_permission_and_file():
    with pytest.raises(UsageError, match=r"x\.yaml: kubernetes permission 'list gizmos': unknown resource 'gizmos'"):
        rules([Permission("list gizmos", "x.yaml", "ns")])
    with pytest.raises(UsageError, match=r"x\.yaml: kubernetes permission 'pods' is malformed"):
        rules([Permission("pods", "x.yaml", "ns")])
    with pytest.raises(UsageError, match=r"unknown verb frob"):
        rules([Permission("frob pods", "x.yaml", "ns")])


def test_dry_run_job_validates_against_kubernetes(tree, gameday):
    plan = tree.plan(PLAN)
    result = gameday("deploy", str(plan), "--dry-run", "--confirm", "staging")
    assert result.code == 0, result.err
    objects = _objects(result.out)
    for obj in objects:
        kubernetes_validate.validate(obj, "1.30", strict=True)
    kinds = [o["kind"] for o in objects]
    assert kinds == ["ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Job"]
    assert all(o["metadata"]["labels"] == {"app.kubernetes.io/name": "gameday", "gameday/plan": "2024-08"} for o in objects)
    role = objects[1]
    assert role["metadata"]["namespace"] == "shop"
    assert {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "delete"]} in role["rules"]  # pod-kill and node-drain
    job = objects[-1]["spec"]
    assert job["backoffLimit"] == 0 and job["activeDeadlineSeconds"] > 600
    container = job["template"]["spec"]["containers"][0]
    assert container["command"][-1].endswith("gameday run plans/p.yaml --confirm staging")
    assert container["image"].startswith("ghcr.io/gameday/runner:")
    paths = [i["path"] for i in job["template"]["spec"]["volumes"][0]["configMap"]["items"]]
    assert "experiments/kubernetes/pod-kill.yaml" in paths and "plans/p.yaml" in paths


def test_schedule_makes_a_cronjob(tree, gameday):
    plan = tree.plan(PLAN)
    result = gameday("deploy", str(plan), "--dry-run", "--confirm", "staging", "--schedule", "0 10 * * 2")
    assert result.code == 0, result.err
    cron = _objects(result.out)[-1]
    kubernetes_validate.validate(cron, "1.30", strict=True)
    assert cron["spec"]["concurrencyPolicy"] == "Forbid" and cron["spec"]["startingDeadlineSeconds"] == 300
    bad = gameday("deploy", str(plan), "--dry-run", "--confirm", "staging", "--schedule", "every day")
    assert bad.code == 2 and "is not a cron schedule" in bad.err


def test_refusals(tree, gameday):
    plan = tree.plan(PLAN)
    missing = gameday("deploy", str(plan), "--dry-run")
    assert missing.code == 2 and "without --confirm staging" in missing.err
    sandbox = tree.plan(PLAN.replace("environment: staging", "environment: sandbox"), name="plans/s.yaml")
    refused = gameday("deploy", str(sandbox), "--dry-run")
    at = line_of(sandbox, "environment:")
    assert refused.code == 2 and f"plans/s.yaml:{at}: environment: sandbox starts the embedded sandbox" in refused.err
    local = tree.plan(PLAN.replace("environment: staging", "environment: staging\nenvironment_on_this_host: true")
                      + "  - id: slow-db\n    uses: ../experiments/local/slow-database.yaml\n", name="plans/l.yaml")
    refused = gameday("deploy", str(local), "--dry-run", "--confirm", "staging")
    at = line_of(local, "slow-database.yaml")
    assert refused.code == 2, refused.err
    assert f"plans/l.yaml:{at}: experiments[3] (slow-db): " in refused.err and "has reach local-host" in refused.err
