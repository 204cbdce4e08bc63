"""The May plan loads into typed values with every reference resolved."""

from __future__ import annotations

import datetime as dt

from gamedays.loading.plan import load_plan
from gamedays.model.components import ComponentKind
from gamedays.model.plan import OnFailure, ReportFormat
from gamedays.model.units import Duration, Percentage


def test_the_may_plan_loads_typed(repo):
    loaded = load_plan(repo / "plans/2024-05.yaml")
    plan = loaded.plan
    assert plan.gameday == "2024-05"
    assert plan.date == dt.date(2024, 5, 21)
    assert plan.is_sandbox
    assert plan.monitor.interval == Duration(1)
    assert plan.monitor.baseline == Duration(30)
    assert plan.guardrails.error_budget == Percentage(0.05)
    assert plan.guardrails.on_abort is OnFailure.CONTINUE
    assert plan.report.formats == (ReportFormat.HTML, ReportFormat.MD, ReportFormat.JSON, ReportFormat.JUNIT)
    assert [s.step.id for s in loaded.steps] == ["api-pod-loss", "db-primary-failover", "dns-record-loss"]
    assert loaded.report_dir == repo / "reports" / "2024-05"
    assert {c.kind for c in plan.components} == set(ComponentKind)
    assert loaded.uncovered_components() == []


def test_references_resolve_relative_to_the_plan(repo):
    loaded = load_plan(repo / "plans/2024-05.yaml")
    assert loaded.catalog_path == repo / "probes/slos.yaml"
    assert loaded.steps[0].experiment_path == repo / "experiments/kubernetes/pod-kill.yaml"
    assert [dr.playbook_path.name for dr in loaded.disaster_recovery] == [
        "database-cluster.yaml",
        "dns.yaml",
        "kubernetes-cluster.yaml",
    ]


def test_with_values_become_the_experiments_configuration(repo):
    pod_loss = load_plan(repo / "plans/2024-05.yaml").steps[0]
    configuration = pod_loss.configuration()
    assert configuration == {"namespace": "shop", "label_selector": "app=shop-api", "qty": 1}
    assert pod_loss.experiment["configuration"]["namespace"] == "default"  # the file itself is untouched


def test_dr_targets_come_from_the_plan_or_the_playbook(repo):
    database, dns, kubernetes = load_plan(repo / "plans/2024-05.yaml").disaster_recovery
    assert (database.rto, database.rpo) == (Duration(300), Duration(30))
    assert dns.rto == Duration(120)
    assert (kubernetes.rto, kubernetes.rpo) == (Duration(600), Duration(60))  # rpo from the playbook


def test_the_estimate_adds_baseline_experiments_recovery_and_dr(repo):
    loaded = load_plan(repo / "plans/2024-05.yaml")
    # 30s baseline; pod-kill: 5s pause + max(30s, 20s cooldown); failover: max(60s, 20s); dns: 5s + max(30s, 20s);
    # DR: 5m + 2m + 10m
    assert loaded.estimated_duration() == Duration(30 + 5 + 30 + 60 + 5 + 30 + 300 + 120 + 600)


def test_r4_coverage_reports_each_uncovered_component(tree):
    from tests.support import VALID_PLAN

    plan = VALID_PLAN.replace(
        "components:\n", "components:\n  - {kind: dns-zone, name: shop.internal}\n  - {kind: kubernetes-cluster, name: k1}\n"
    )
    loaded = load_plan(tree.plan(plan))
    assert [str(c) for c in loaded.uncovered_components()] == ["DNS zone 'shop.internal'", "Kubernetes cluster 'k1'"]
