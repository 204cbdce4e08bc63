"""The May plan loads into typed values with every reference resolved."""

from __future__ import annotations

import datetime as dt

from gamedays.loading.experiments import estimate, with_values
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


def test_the_expected_duration_counts_waits_and_the_longest_every_deadline(repo):
    loaded = load_plan(repo / "plans/2024-05.yaml")
    duration = loaded.estimated_duration()
    # expected: 30s baseline; pod-kill 5s pause, failover no wait, dns hold_seconds 5 (the step's with:);
    # each recovery seen on the first fresh sample (1.5s at a 1s interval) and a 20s cooldown;
    # each DR check confirmed on two samples (2s), the namespace restore waits out no timeout
    assert duration.expected == Duration(30 + (5 + 1.5 + 20) + (0 + 1.5 + 20) + (5 + 1.5 + 20) + 2 + 2 + 2)
    # what the demo takes (README: a little over two minutes) bounds the expected figure from above
    assert duration.expected <= Duration(130)
    # longest: the failover's recovery_timeout (30s) and probe timeouts (2s twice), recover_within (30s, 60s,
    # 30s), the DR checks' deadlines (twice 5m, 2m, 10m) and their backups' timeouts
    assert Duration(30 + 3 * 20 + 30 + 60 + 30 + 2 * (300 + 120 + 600)) <= duration.longest
    assert duration.longest >= duration.expected


def test_a_step_with_a_longer_hold_expects_longer(repo):
    loaded = load_plan(repo / "plans/2024-05.yaml")
    dns = next(s for s in loaded.steps if s.step.id == "dns-record-loss")
    held = estimate(with_values(dict(dns.experiment), {**dns.step.with_, "hold_seconds": 65}))
    assert held.expected.seconds - dns.estimate.expected.seconds == 60
    assert held.longest >= held.expected


def test_r4_coverage_reports_each_uncovered_component(tree):
    from tests.support import VALID_PLAN

    plan = VALID_PLAN.replace(
        "components:\n", "components:\n  - {kind: dns-zone, name: shop.internal}\n  - {kind: kubernetes-cluster, name: k1}\n"
    )
    loaded = load_plan(tree.plan(plan))
    assert [str(c) for c in loaded.uncovered_components()] == ["DNS zone 'shop.internal'", "Kubernetes cluster 'k1'"]
