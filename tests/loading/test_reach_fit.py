"""`gameday validate` (and run, rehearse) refuses a step or DR playbook whose reach does not fit the plan's environment.

Each refusal goes through the real CLI and asserts the whole message: the plan's file:line,
the reach, the environment, and what in the catalog would do the same on real infrastructure.
"""

from __future__ import annotations

import pytest

from tests.support import VALID_PLAN, line_of

LOCAL_HOST = (
    "local-host acts on processes and files of the machine running gameday: allowed only with "
    "environment: sandbox, or with environment_on_this_host: true when the environment runs on this host"
)
SANDBOX = "sandbox acts only on the embedded sandbox: allowed only with environment: sandbox"
DECLARE = (
    "declare it in the experiment's extensions: - {name: gameday, reach: [...], permissions: {...}} "
    "(reach allowed: sandbox, local-host, postgres, kubernetes, aws, rfc2136)"
)


def plan(environment: str, uses: str, *, playbook: str = "kubernetes-cluster", extra: str = "") -> str:
    text = (
        VALID_PLAN.replace("environment: sandbox", f"environment: {environment}{extra}")
        .replace("../experiments/kubernetes/pod-kill.yaml", f"../experiments/{uses}.yaml")
        .replace("    with: {namespace: shop, qty: 1}\n", "")
        .replace("../playbooks/database-cluster.yaml", f"../playbooks/{playbook}.yaml")
    )
    return text


def validate(gameday, command: str = "validate"):
    result = gameday(command, "plans/p.yaml")
    assert "Traceback" not in result.err + result.out
    return result


def refused(result) -> list[str]:
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert lines[0].startswith("error: "), result.err
    return [line.strip() for line in lines[1:]]


def test_a_local_host_step_outside_the_sandbox_is_refused_with_what_acts_on_real_infrastructure(tree, gameday):
    path = tree.plan(plan("staging", "local/postgres-primary-kill"))
    assert refused(validate(gameday)) == [
        f"plans/p.yaml:{line_of(path, 'uses:')}: experiments[0].uses: experiments/local/postgres-primary-kill.yaml "
        f"has reach local-host, postgres, which does not fit environment 'staging': {LOCAL_HOST}; "
        "catalog entries of kind database that act on real infrastructure: aws/aurora-cluster-failover (aws, postgres), "
        "aws/aurora-writer-reboot (aws, postgres), aws/rds-reboot-with-failover (aws), "
        "postgres/postgres-backend-termination (postgres), postgres/postgres-connection-exhaustion (postgres)"
    ]


def test_a_sandbox_step_is_refused_even_on_this_host(tree, gameday):
    path = tree.plan(plan("production", "sandbox/resolver-outage", extra="\nenvironment_on_this_host: true"))
    assert refused(validate(gameday)) == [
        f"plans/p.yaml:{line_of(path, 'uses:')}: experiments[0].uses: experiments/sandbox/resolver-outage.yaml "
        f"has reach sandbox, which does not fit environment 'production': {SANDBOX}; "
        "catalog entries of kind dns that act on real infrastructure: aws/route53-record-change (aws), "
        "aws/route53-record-removal (aws), dns/record-removal (rfc2136), dns/record-wrong-address (rfc2136)"
    ]


def test_local_host_fits_an_environment_that_runs_on_this_host(tree, gameday):
    tree.plan(plan("staging", "local/postgres-primary-kill", playbook="database-cluster", extra="\nenvironment_on_this_host: true"))
    result = validate(gameday)
    assert result.code == 0, result.err
    assert "plans/p.yaml: valid" in result.out


def test_remote_reach_fits_every_environment_and_everything_fits_the_sandbox(tree, gameday):
    for environment, uses in (("production", "kubernetes/pod-kill"), ("staging", "aws/aurora-cluster-failover"),
                              ("sandbox", "sandbox/resolver-outage"), ("sandbox", "local/postgres-primary-kill")):
        tree.plan(plan(environment, uses, playbook="dns" if environment != "sandbox" else "database-cluster"))
        result = validate(gameday)
        assert result.code == 0, (environment, uses, result.err)


def test_a_local_host_playbook_is_refused_naming_its_reach_line_and_the_playbooks_that_fit(tree, gameday):
    path = tree.plan(plan("production", "kubernetes/pod-kill", playbook="database-cluster"))
    playbook = tree.root / "playbooks/database-cluster.yaml"
    at = f"plans/p.yaml:{line_of(path, 'playbook:')}: disaster_recovery[0].playbook: "
    reach = f"playbooks/database-cluster.yaml:{line_of(playbook, 'reach:')} has reach local-host, postgres, rfc2136, "
    assert refused(validate(gameday)) == [
        f"{at}{reach}which does not fit environment 'production': {LOCAL_HOST}; "
        "playbooks covering database-cluster that act on real infrastructure: "
        "playbooks/aurora-cluster-pitr.yaml (aws, postgres), playbooks/aurora-cluster.yaml (aws, postgres)"
    ]
    (tree.root / "playbooks/aurora-cluster.yaml").unlink()
    (tree.root / "playbooks/aurora-cluster-pitr.yaml").unlink()
    assert refused(validate(gameday)) == [
        f"{at}{reach}which does not fit environment 'production': {LOCAL_HOST}; "
        "no playbook covering database-cluster in playbooks fits it"
    ]
    aurora = (tree.root / "playbooks/kubernetes-cluster.yaml").read_text().replace(
        "covers: {kind: kubernetes-cluster, name: sandbox}", "covers: {kind: database-cluster, name: shop-db}"
    ).replace("reach: [kubernetes]", "reach: [aws, kubernetes]").replace("  kubernetes: [", "  aws: [\"rds:DescribeDBClusters\"]\n  kubernetes: [")
    tree.write("playbooks/aurora-cluster.yaml", aurora)
    assert refused(validate(gameday)) == [
        f"{at}{reach}which does not fit environment 'production': {LOCAL_HOST}; "
        "playbooks covering database-cluster that act on real infrastructure: playbooks/aurora-cluster.yaml (aws, kubernetes)"
    ]


def test_an_experiment_or_playbook_without_reach_runs_only_in_the_sandbox(tree, gameday):
    experiment = (tree.root / "experiments/kubernetes/pod-kill.yaml").read_text()
    start = experiment.index("extensions:")
    end = experiment.index("configuration:")
    tree.write("experiments/team/undeclared.yaml", experiment[:start] + experiment[end:])
    playbook = (tree.root / "playbooks/dns.yaml").read_text()
    tree.write("playbooks/undeclared.yaml", "\n".join(
        line for line in playbook.splitlines() if not line.startswith(("reach:", "permissions:", "  rfc2136:"))
    ))
    tree.plan(plan("sandbox", "team/undeclared", playbook="undeclared"))
    assert validate(gameday).code == 0
    path = tree.plan(plan("staging", "team/undeclared", playbook="undeclared"))
    assert refused(validate(gameday)) == [
        f"plans/p.yaml:{line_of(path, 'uses:')}: experiments[0].uses: experiments/team/undeclared.yaml "
        f"declares no reach, so it cannot run in environment 'staging' ({DECLARE})",
        f"plans/p.yaml:{line_of(path, 'playbook:')}: disaster_recovery[0].playbook: playbooks/undeclared.yaml:1 "
        "declares no reach, so it cannot run in environment 'staging' (declare it with the playbook's keys "
        "reach: [...] and permissions: {...} (reach allowed: sandbox, local-host, postgres, kubernetes, aws, rfc2136)); "
        "playbooks covering dns-zone that act on real infrastructure: playbooks/dns.yaml (rfc2136), playbooks/route53-zone.yaml (aws)",
    ]


def test_an_unknown_reach_is_refused_at_the_experiments_and_the_playbooks_own_line_in_every_environment(tree, gameday):
    experiment = tree.root / "experiments/kubernetes/pod-kill.yaml"
    experiment.write_text(experiment.read_text().replace("reach: [kubernetes]", "reach: [kubernets]"))
    playbook = tree.root / "playbooks/dns.yaml"
    playbook.write_text(playbook.read_text().replace("reach: [rfc2136]", "reach: [dns]"))
    tree.plan(plan("sandbox", "kubernetes/pod-kill", playbook="dns"))
    allowed = "allowed: sandbox, local-host, postgres, kubernetes, aws, rfc2136"
    assert refused(validate(gameday)) == [
        f"experiments/kubernetes/pod-kill.yaml:{line_of(experiment, 'reach:')}: extensions[0].reach[0]: "
        f"'kubernets' is not allowed (did you mean 'kubernetes'?); {allowed}",
        f"playbooks/dns.yaml:{line_of(playbook, 'reach:')}: reach[0]: 'dns' is not allowed; {allowed}",
    ]


@pytest.mark.parametrize("command", ["run", "rehearse"])
def test_run_and_rehearse_refuse_the_same_plan_before_anything_starts(tree, gameday, command):
    path = tree.plan(plan("production", "sandbox/resolver-slowdown"))
    result = validate(gameday, command)
    assert refused(result) == [
        f"plans/p.yaml:{line_of(path, 'uses:')}: experiments[0].uses: experiments/sandbox/resolver-slowdown.yaml "
        f"has reach sandbox, which does not fit environment 'production': {SANDBOX}; "
        "catalog entries of kind dns that act on real infrastructure: aws/route53-record-change (aws), "
        "aws/route53-record-removal (aws), dns/record-removal (rfc2136), dns/record-wrong-address (rfc2136)"
    ]
    assert result.out == ""  # refused before the summary: nothing started


def test_the_may_plan_on_the_sandbox_stays_valid(gameday, repo, monkeypatch):
    monkeypatch.chdir(repo)
    result = gameday("validate", "plans/2024-05.yaml")
    assert result.code == 0, result.err


def test_a_playbooks_permissions_for_a_reach_it_does_not_declare_are_refused_at_their_line(tree, gameday):
    playbook = tree.root / "playbooks/dns.yaml"
    playbook.write_text(playbook.read_text().replace("permissions:", "permissions:\n  aws: [\"route53:ListHostedZones\"]", 1))
    tree.plan(plan("sandbox", "kubernetes/pod-kill", playbook="dns"))
    assert refused(validate(gameday)) == [
        f"playbooks/dns.yaml:{line_of(playbook, 'permissions:')}: permissions: "
        "permissions for aws, which is not in reach (declared: rfc2136)"
    ]
