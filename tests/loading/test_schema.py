"""`gameday schema` is a JSON Schema that accepts the May plan and rejects what the loader rejects."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml


def schema_from_cli(gameday) -> dict:
    result = gameday("schema")
    assert result.code == 0, result.err
    return json.loads(result.out)


def as_json_data(path) -> dict:
    # a YAML language server sees dates as strings: do the same
    return json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))


def test_the_schema_validates_the_may_plan(gameday, repo):
    schema = schema_from_cli(gameday)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(as_json_data(repo / "plans/2024-05.yaml"))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda p: p.update(titel="x"), "Additional properties are not allowed ('titel' was unexpected)"),
        (lambda p: p["experiments"][0].update(recover_within="30 seconds"), "does not match"),
        (lambda p: p["guardrails"].update(error_budget="five"), "does not match"),
        (lambda p: p.update(notify={"mattermost": {"webhook": "https://x"}}), "does not match"),
        (lambda p: p.pop("team"), "'team' is a required property"),
    ],
)
def test_the_schema_rejects_bad_plans(gameday, repo, change, expected):
    validator = jsonschema.Draft202012Validator(schema_from_cli(gameday))
    plan = as_json_data(repo / "plans/2024-05.yaml")
    change(plan)
    messages = [e.message for error in validator.iter_errors(plan) for e in (error, *error.context)]
    assert any(expected in message for message in messages), messages


def test_the_committed_schema_is_up_to_date(gameday, repo):
    committed = json.loads((repo / "plans/plan.schema.json").read_text())
    assert committed == schema_from_cli(gameday), "run: gameday schema > plans/plan.schema.json"
