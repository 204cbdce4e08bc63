"""`--confirm ENVIRONMENT`: every environment but the sandbox needs it, the same name, any case.

Real CLI, real plans in a tmp folder. A refused run stops before anything starts (exit 2);
a confirmed one runs for real against a local HTTP server (its SLI and its experiment's probe).
"""

from __future__ import annotations

import textwrap

import pytest

SLOS = """\
slos:
  - name: api-availability
    service: api
    kind: availability
    sli:
      source: http
      url: ${API_URL}/health
      timeout: 2s
    objective: 99%
    external_objective: 98%
    window: 30d
"""

EXPERIMENT = """\
title: The API answers
description: Calls the API once; injects nothing.
extensions:
  - {name: gameday, reach: []}  # only HTTP calls: fits every environment
configuration:
  api_url:
    type: env
    key: API_URL
steady-state-hypothesis:
  title: The API answers
  probes:
    - type: probe
      name: api-answers
      tolerance: 200
      provider: {type: http, url: "${api_url}/health", timeout: 2}
method:
  - type: probe
    name: call-the-api
    provider: {type: http, url: "${api_url}/health", timeout: 2}
rollbacks: []
"""


def plan(environment: str) -> str:
    return textwrap.dedent(f"""\
        gameday: "2024-07"
        title: "July 2024"
        date: 2024-07-16
        environment: {environment}
        team:
          commander: sre-oncall
        slos: ../probes/api.yaml
        monitor: {{interval: 1s, baseline: 1s, cooldown: 0s}}
        experiments:
          - id: api-call
            uses: ../experiments/api-call.yaml
            hypothesis: [api-availability]
        """)


@pytest.fixture
def staging(tree):
    tree.write("probes/api.yaml", SLOS)
    tree.write("experiments/api-call.yaml", EXPERIMENT)

    def write(environment: str):
        return tree.plan(plan(environment))

    return write


@pytest.mark.parametrize("spelling", ["production", "Production", "PRODUCTION", "prod", "prd"])
def test_a_production_plan_by_any_spelling_does_not_start_without_confirm(gameday, staging, spelling):
    staging(spelling)
    for command in ("run", "rehearse"):
        refused = gameday(command, "plans/p.yaml")
        assert refused.code == 2, refused.err
        assert refused.err.strip() == (
            f"the plan targets production (environment '{spelling}'): "
            f"refusing to inject faults there without --confirm {spelling}"
        )
        assert refused.out == "" and "Traceback" not in refused.err  # refused before the summary: nothing started


@pytest.mark.parametrize("spelling", ["Production", "PRODUCTION", "prod", "prd"])
def test_confirming_another_environment_does_not_unlock_production(gameday, staging, spelling):
    staging(spelling)
    refused = gameday("run", "--confirm", "staging", "plans/p.yaml")
    assert refused.code == 2
    assert refused.err.strip() == (
        f"--confirm staging does not match: the plan targets production (environment '{spelling}'); "
        f"give --confirm {spelling} to run there"
    )


def test_a_staging_plan_needs_confirm_staging(gameday, staging):
    staging("staging")
    refused = gameday("run", "plans/p.yaml")
    assert refused.code == 2
    assert refused.err.strip() == "the plan targets environment 'staging': refusing to inject faults there without --confirm staging"
    mismatched = gameday("run", "--confirm", "production", "plans/p.yaml")
    assert mismatched.code == 2
    assert mismatched.err.strip() == (
        "--confirm production does not match: the plan targets environment 'staging'; give --confirm staging to run there"
    )
    assert not (staging("staging").parent.parent / "reports").exists()  # nothing ran, nothing was written


@pytest.mark.e2e
def test_a_confirmed_staging_plan_runs_and_the_name_is_compared_case_insensitively(gameday, staging, http_server, monkeypatch):
    url, behaviour = http_server
    monkeypatch.setenv("API_URL", url)
    staging("Staging")
    result = gameday("run", "--confirm", "STAGING", "plans/p.yaml")
    assert result.code == 0, result.out + result.err
    assert "target: environment 'Staging'" in result.out
    assert "gameday passed" in result.out
    assert any(path == "/health" for _, path, _ in behaviour.requests)  # the SLI and the probe really ran there


def test_the_sandbox_needs_no_confirm_and_refuses_a_wrong_one(gameday, tree):
    from tests.support import VALID_PLAN

    tree.plan(VALID_PLAN)
    wrong = gameday("rehearse", "--confirm", "production", "plans/p.yaml")
    assert wrong.code == 2
    assert wrong.err.strip() == "--confirm production does not match the plan's environment 'sandbox'"


@pytest.mark.e2e
def test_a_run_puts_back_the_signal_handlers_it_found(gameday, staging, http_server, monkeypatch):
    """`gameday run` in-process (as an embedding tool would call it): SIGINT/SIGTERM/SIGHUP handlers restored."""
    import signal

    def mine(signum, frame):  # the embedding program's own handler
        raise AssertionError("not to be called")

    url, _ = http_server
    monkeypatch.setenv("API_URL", url)
    staging("staging")
    watched = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = {sig: signal.getsignal(sig) for sig in watched}
    try:
        for sig in watched:
            signal.signal(sig, mine)
        result = gameday("run", "--confirm", "staging", "plans/p.yaml")
        assert result.code == 0, result.out + result.err
        assert {sig: signal.getsignal(sig) for sig in watched} == {sig: mine for sig in watched}
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
