"""Every mistake in a plan gets one clear message: file:line, the offending value, what is allowed.

Each case goes through the real CLI (`gameday validate`) and asserts the exact
message on stderr, exit code 2 and no traceback.
"""

from __future__ import annotations

import pytest

from tests.support import VALID_PLAN, line_of


def validate(gameday, path="plans/p.yaml"):
    result = gameday("validate", path)
    assert "Traceback" not in result.err + result.out
    return result


def assert_invalid(result, *expected: str) -> None:
    assert result.code == 2, result
    for line in expected:
        assert line in result.err, f"{line!r} not in:\n{result.err}"


def test_the_valid_plan_is_valid(tree, gameday):
    tree.plan()
    result = validate(gameday)
    assert result.code == 0, result.err
    assert "plans/p.yaml: valid" in result.out


def test_unknown_top_level_key_names_the_nearest(tree, gameday):
    tree.plan(VALID_PLAN.replace('title: "May 2024"', 'titel: "May 2024"'))
    assert_invalid(
        validate(gameday),
        "plans/p.yaml:2: unknown key 'titel' (did you mean 'title'?); allowed: gameday, title, date,",
        "plans/p.yaml:1: missing required key 'title'",
    )


def test_unknown_nested_key_names_the_nearest(tree, gameday):
    tree.plan(VALID_PLAN.replace("recover_within: 30s", "recover_witin: 30s"))
    assert_invalid(
        validate(gameday),
        "plans/p.yaml:17: experiments[0]: unknown key 'recover_witin' (did you mean 'recover_within'?); "
        "allowed: id, uses, with, description, hypothesis, recover_within, on_failure",
    )


def test_wrong_type(tree, gameday):
    tree.plan(VALID_PLAN.replace("team:\n  commander: sre-oncall", "team: sre-oncall"))
    assert_invalid(validate(gameday), "plans/p.yaml:7: team: expected a mapping of keys to values, got 'sre-oncall'")


def test_wrong_list_type(tree, gameday):
    tree.plan(VALID_PLAN.replace("abort_when: [checkout-availability]", "abort_when: 3"))
    assert_invalid(validate(gameday), "plans/p.yaml:11: guardrails.abort_when: expected a list, got 3")


def test_bad_duration(tree, gameday):
    tree.plan(VALID_PLAN.replace("recover_within: 30s", "recover_within: 30 seconds"))
    assert_invalid(
        validate(gameday),
        "plans/p.yaml:17: experiments[0].recover_within: bad duration '30 seconds': "
        "use a number with a unit (ms, s, m, h or d), e.g. 500ms, 30s, 5m, 1h30m",
    )


def test_a_bare_number_is_not_a_duration(tree, gameday):
    tree.plan(VALID_PLAN.replace("recover_within: 30s", "recover_within: 30"))
    assert_invalid(validate(gameday), "plans/p.yaml:17: experiments[0].recover_within: bad duration 30:")


@pytest.mark.parametrize("value", ["5", "150%", "five%"])
def test_bad_percentage(tree, gameday, value):
    tree.plan(VALID_PLAN.replace("guardrails:\n", f"guardrails:\n  error_budget: '{value}'\n"))
    assert_invalid(
        validate(gameday),
        f"plans/p.yaml:11: guardrails.error_budget: bad percentage '{value}': "
        "use a percentage between 0% and 100%, e.g. 5% or 99.9%",
    )


def test_bad_date(tree, gameday):
    tree.plan(VALID_PLAN.replace("date: 2024-05-21", "date: next tuesday"))
    assert_invalid(
        validate(gameday), "plans/p.yaml:3: date: expected a date such as 2024-05-21, got 'next tuesday'"
    )


def test_bad_enum_value_names_the_nearest(tree, gameday):
    tree.plan(VALID_PLAN.replace("kind: database-cluster", "kind: database-clustr"))
    assert_invalid(
        validate(gameday),
        "plans/p.yaml:6: components[0].kind: 'database-clustr' is not allowed (did you mean 'database-cluster'?); "
        "allowed: kubernetes-cluster, database-cluster, dns-zone",
    )


def test_missing_required_key(tree, gameday):
    tree.plan(VALID_PLAN.replace("  commander: sre-oncall\n", "  scribe: sre-2\n"))
    assert_invalid(validate(gameday), "plans/p.yaml:7: team: missing required key 'commander'")


def test_missing_experiment_file(tree, gameday):
    tree.plan(VALID_PLAN.replace("kubernetes/pod-kill.yaml", "kubernetes/pod-kil.yaml"))
    assert_invalid(
        validate(gameday),
        "plans/p.yaml:14: cannot read experiment experiments/kubernetes/pod-kil.yaml: no such file",
    )


def test_missing_slo_catalog(tree, gameday):
    tree.plan(VALID_PLAN.replace("../probes/slos.yaml", "../probes/nope.yaml"))
    assert_invalid(validate(gameday), "plans/p.yaml:9: cannot read probes/nope.yaml: No such file or directory")


def test_unreadable_slo_catalog(tree, gameday):
    (tree.root / "probes" / "folder.yaml").mkdir()
    tree.plan(VALID_PLAN.replace("../probes/slos.yaml", "../probes/folder.yaml"))
    assert_invalid(validate(gameday), "plans/p.yaml:9: cannot read probes/folder.yaml: a folder, not a regular file; allowed: a regular file of at most 1 MiB")


def test_missing_playbook(tree, gameday):
    tree.plan(VALID_PLAN.replace("database-cluster.yaml", "db.yaml"))
    assert_invalid(validate(gameday), "plans/p.yaml:19: cannot read playbooks/db.yaml: No such file or directory")


def test_missing_plan_file(tree, gameday):
    assert_invalid(validate(gameday, "plans/absent.yaml"), "plans/absent.yaml: cannot read plans/absent.yaml:")


def test_invalid_yaml_in_the_plan(tree, gameday):
    tree.plan(VALID_PLAN.replace("  commander: sre-oncall", "  commander: [sre-oncall"))
    assert_invalid(validate(gameday), "plans/p.yaml:9: invalid YAML: ")


def test_duplicate_key_in_the_plan(tree, gameday):
    tree.plan(VALID_PLAN + 'title: "again"\n')
    assert_invalid(validate(gameday), "plans/p.yaml:20: invalid YAML: found duplicate key \"title\" with value \"again\" (original value: \"May 2024\")")


def test_plan_that_is_not_a_mapping(tree, gameday):
    tree.plan("- just\n- a list\n")
    assert_invalid(validate(gameday), "plans/p.yaml:1: a plan is a mapping of keys (gameday, title, date, ...) to values")


def test_invalid_yaml_in_the_slo_catalog(tree, gameday):
    tree.write("probes/slos.yaml", "slos:\n  - name: x\n   bad indent: [\n")
    tree.plan()
    assert_invalid(validate(gameday), "probes/slos.yaml:3: invalid YAML: ")


def test_invalid_chaos_toolkit_experiment_gives_chaoslibs_reason(tree, gameday):
    tree.write(
        "experiments/kubernetes/pod-kill.yaml",
        "description: no title\nconfiguration: {namespace: default, qty: 1}\nmethod: []\n",
    )
    tree.plan()
    assert_invalid(
        validate(gameday),
        "plans/p.yaml:14: experiments/kubernetes/pod-kill.yaml is not a valid Chaos Toolkit experiment: "
        "experiment requires a title",
    )


def test_invalid_activity_gives_chaoslibs_reason(tree, gameday):
    tree.write(
        "experiments/kubernetes/pod-kill.yaml",
        """\
        title: t
        description: d
        configuration: {namespace: default, qty: 1}
        method:
          - type: action
            name: kill
            provider: {type: python, module: chaosk8s.pod.actions, func: terminate_pods, arguments: {bogus: 1}}
        """,
    )
    tree.plan()
    assert_invalid(
        validate(gameday),
        "experiments/kubernetes/pod-kill.yaml is not a valid Chaos Toolkit experiment: "
        "argument 'bogus' is not part of the function signature in activity 'terminate_pods'",
    )


def test_unknown_function_in_an_activity(tree, gameday):
    tree.write(
        "experiments/kubernetes/pod-kill.yaml",
        """\
        title: t
        description: d
        configuration: {namespace: default, qty: 1}
        method:
          - type: action
            name: kill
            provider: {type: python, module: chaosk8s.pod.actions, func: terminate_everything}
        """,
    )
    tree.plan()
    assert_invalid(
        validate(gameday),
        "The python module 'chaosk8s.pod.actions' does not expose a function called 'terminate_everything' "
        "in activity 'kill'",
    )


def test_invalid_json_experiment(tree, gameday):
    tree.write("experiments/kubernetes/broken.json", '{"title": "t",\n')
    tree.plan(VALID_PLAN.replace("kubernetes/pod-kill.yaml", "kubernetes/broken.json").replace(
        "    with: {namespace: shop, qty: 1}\n", ""))
    assert_invalid(
        validate(gameday),
        "experiments/kubernetes/broken.json:2: invalid JSON: Expecting property name enclosed in double quotes",
    )


def test_unknown_with_key_names_the_nearest(tree, gameday):
    tree.plan(VALID_PLAN.replace("with: {namespace: shop, qty: 1}", "with: {namespce: shop, qty: 1}"))
    assert_invalid(
        validate(gameday),
        "plans/p.yaml:15: experiments/kubernetes/pod-kill.yaml: unknown configuration key 'namespce' "
        "(did you mean 'namespace'?); the experiment declares: namespace, label_selector, qty",
    )


def test_unknown_slo_names_the_nearest(tree, gameday):
    tree.plan(
        VALID_PLAN.replace("hypothesis: [checkout-availability]", "hypothesis: [checkout-availabilty]").replace(
            "abort_when: [checkout-availability]", "abort_when: [nothing-like-it]"
        )
    )
    assert_invalid(
        validate(gameday),
        "plans/p.yaml:16: unknown SLO 'checkout-availabilty' (did you mean 'checkout-availability'?); "
        "the catalog has: checkout-availability, checkout-latency,",
        "plans/p.yaml:11: unknown SLO 'nothing-like-it'; the catalog has:",
    )


def test_unknown_slo_in_a_playbook_check(tree, gameday):
    text = (tree.root / "playbooks/database-cluster.yaml").read_text()
    tree.write("playbooks/database-cluster.yaml", text.replace("slo: database-writes", "slo: db-writes"))
    tree.plan()
    line = line_of(tree.root / "playbooks/database-cluster.yaml", "slo: db-writes")
    assert_invalid(validate(gameday), f"playbooks/database-cluster.yaml:{line}: unknown SLO 'db-writes' (did you mean 'database-writes'?)")


def test_duplicate_experiment_id(tree, gameday):
    step = "  - id: api-pod-loss\n    uses: ../experiments/kubernetes/pod-kill.yaml\n"
    tree.plan(VALID_PLAN.replace("disaster_recovery:", step + "disaster_recovery:"))
    assert_invalid(validate(gameday), "plans/p.yaml:18: duplicate experiment id 'api-pod-loss' (first used at line 13)")


def test_literal_secret_is_refused_and_never_echoed(tree, gameday):
    secret = "https://chat.example.com/hooks/s3cr3t-t0ken"
    tree.plan(VALID_PLAN + f"notify:\n  mattermost: {{webhook: '{secret}'}}\n")
    result = validate(gameday)
    assert_invalid(
        result,
        "plans/p.yaml:21: notify.mattermost.webhook: a literal value is not allowed here: use a reference "
        "such as env:MATTERMOST_WEBHOOK_URL",
    )
    assert "s3cr3t" not in result.err + result.out


def test_unknown_sli_source_names_the_nearest(tree, gameday):
    text = (tree.root / "probes/slos.yaml").read_text()
    tree.write("probes/slos.yaml", text.replace("source: dns", "source: dsn"))
    tree.plan()
    assert_invalid(
        validate(gameday),
        f"probes/slos.yaml:{line_of(tree.root / 'probes/slos.yaml', 'source: dsn')}: slos[2].sli.source: unknown source 'dsn' (did you mean 'dns'?); "
        "allowed: http, prometheus, dns, postgres, kubernetes",
    )


def test_internal_objective_must_be_stricter_than_external(tree, gameday):
    text = (tree.root / "probes/slos.yaml").read_text()
    tree.write("probes/slos.yaml", text.replace("objective: 99.95%\n    external_objective: 99.9%", "objective: 99.9%\n    external_objective: 99.95%", 1))
    tree.plan()
    assert_invalid(
        validate(gameday),
        f"probes/slos.yaml:{line_of(tree.root / 'probes/slos.yaml', '- name: checkout-availability')}: slos[0]: internal objective 99.9% must be stricter than the external objective 99.95% (R-2)",
    )


def test_several_errors_are_reported_together(tree, gameday):
    tree.plan(
        VALID_PLAN.replace('title: "May 2024"', 'titel: "May 2024"')
        .replace("recover_within: 30s", "recover_within: soon")
        .replace("date: 2024-05-21", "date: someday")
    )
    result = validate(gameday)
    assert_invalid(
        result,
        "error: 4 problems found",
        "plans/p.yaml:2: unknown key 'titel'",
        "plans/p.yaml:3: date: expected a date",
        "plans/p.yaml:17: experiments[0].recover_within: bad duration 'soon'",
    )


def test_several_reference_errors_are_reported_together(tree, gameday):
    tree.plan(
        VALID_PLAN.replace("kubernetes/pod-kill.yaml", "kubernetes/absent.yaml").replace(
            "database-cluster.yaml", "absent.yaml"
        ).replace("abort_when: [checkout-availability]", "abort_when: [nope]")
    )
    assert_invalid(
        validate(gameday),
        "error: 3 problems found",
        "plans/p.yaml:11: unknown SLO 'nope'",
        "plans/p.yaml:14: cannot read experiment experiments/kubernetes/absent.yaml",
        "plans/p.yaml:19: cannot read playbooks/absent.yaml",
    )


def test_configuration_read_from_the_environment_need_not_be_set_to_validate(tree, gameday, monkeypatch):
    monkeypatch.delenv("GAMEDAY_TEST_UNSET", raising=False)
    tree.write(
        "experiments/kubernetes/pod-kill.yaml",
        """\
        title: t
        description: d
        configuration:
          namespace: default
          qty: {type: env, key: GAMEDAY_TEST_UNSET, env_var_type: int}
          label_selector: {type: env, key: GAMEDAY_TEST_UNSET}
        method: []
        """,
    )
    tree.plan()
    assert validate(gameday).code == 0
