"""Secrets by reference only: a credential written in clear in a plan, an experiment, a playbook or an
SLO catalog is a validation error naming its file:line, and the value itself is never printed.

Every case goes through the real CLI (`gameday validate`); references (env:NAME, ${name},
Chaos Toolkit's env and vault forms) are accepted, and the repository's own files pass.
"""

from __future__ import annotations

import json

import pytest

from gamedays.loading.credentials import find_credentials
from gamedays.loading.source import read_yaml
from gamedays.model.redact import MASK, redact_document
from tests.support import REPO, line_of

REFER = "refer to it instead (env:NAME in a plan, {type: env, key: NAME} in an experiment)"

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----"

# (key, value, what the message calls it, the part of the value that must never be printed)
SHAPES = [
    ("password", "hunter2-Qx81", "a literal credential", "hunter2-Qx81"),
    ("api_key", "k3y-Zx81pqrs", "a literal credential", "k3y-Zx81pqrs"),
    ("db_password", 81529347, "a literal credential", "81529347"),
    ("Authorization", "Bearer opaque-Zz9931", "a literal credential", "opaque-Zz9931"),
    ("dsn", "postgresql://shop:Pw-s3cret77@db:5432/shop", "a password in a URL", "Pw-s3cret77"),
    ("dsn", "host=db password=Pw-s3cret78 dbname=shop", "a password in a connection string", "Pw-s3cret78"),
    ("region", "AKIAIOSFODNN7EXAMPL3", "an AWS access key id", "AKIAIOSFODNN7EXAMPL3"),
    ("label", "ghp_" + "a1B2c3D4e5" * 3 + "f6G7h8", "a GitHub token", "a1B2c3D4e5a1B2c3D4e5"),
    ("label", "github_pat_11ABCDEFG0" + "x" * 40, "a GitHub token", "11ABCDEFG0" + "x" * 40),
    ("label", "xoxb-2048-4096-Ab12Cd34Ef", "a Slack token", "Ab12Cd34Ef"),
    ("hook", "https://hooks.slack.com/services/T0001/B0002/Xk29LmNq7", "a Slack webhook URL", "Xk29LmNq7"),
    ("hook", "https://chat.example.com/hooks/8fj3k9d2mxq7rbz1aw5nc4ty6e", "a Mattermost webhook URL", "8fj3k9d2mxq7rbz1aw5nc4ty6e"),
    ("bearer", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJnYW1lZGF5In0.s1gnAtur3xyz", "a JSON Web Token", "s1gnAtur3xyz"),
    ("cert", PEM, "a PEM private key", "MIIBOgIBAAJBAKj34GkxFhD90vcN"),
    ("tsig_key", "zone-key:c2VjcmV0LW9mLXRoZS16b25lLWtleQ==", "a literal credential", "c2VjcmV0LW9mLXRoZS16b25lLWtleQ=="),
]

PLAN = """\
gameday: "2024-05"
title: "May 2024"
date: 2024-05-21
environment: sandbox
team:
  commander: sre-oncall
slos: ../probes/slos.yaml
experiments:
  - id: probe
    uses: ../experiments/x.yaml
    hypothesis: [checkout-availability]
"""

EXPERIMENT = """\
title: Reads a secret
description: Calls the shop with a token.
configuration:
  shop_url: {type: env, key: SHOP_URL, default: "http://127.0.0.1:8080"}
  token: {type: env, key: SHOP_TOKEN}
  pg_password: {type: env, key: PGPASSWORD}
  shop_dsn: "postgresql://shop:${pg_password}@db:5432/shop"
  keyword_dsn: "host=db password=${pg_password} dbname=shop"
  token_ttl: 30s
secrets:
  shop:
    api_token: {type: env, key: SHOP_API_TOKEN}
  vaulted:
    db: {type: vault, path: secret/shop, key: password}
method:
  - type: probe
    name: shop-answers
    provider:
      type: http
      url: ${shop_url}/orders
      headers:
        Authorization: "Bearer ${token}"
      secrets: [shop]
"""

PLAYBOOK = """\
title: Recover the shop
covers: {kind: database-cluster, name: shop-db}
disaster:
  description: The primary is lost.
  inject:
    - name: lose it
      manual: Stop the primary.
rto: 5m
configuration:
  pg_password: {type: env, key: PGPASSWORD}
steps:
  - name: Promote the replica
    manual: Run pg_ctl promote and check pg_is_in_recovery() is false.
checks:
  - slo: database-writes
writer:
  kind: postgres
  target: ${DATABASE_URL}
"""


def validate(gameday, path: str = "plans/p.yaml"):
    result = gameday("validate", path)
    assert "Traceback" not in result.out + result.err
    return result


def assert_rejected(result, expected: str, secret: str) -> None:
    assert result.code == 2, result
    assert expected in result.err, f"{expected!r} not in:\n{result.err}"
    assert secret not in result.out + result.err, "the secret value was printed"


def literal(value) -> str:
    """The value as YAML text: a block scalar for a PEM key, JSON (valid YAML) otherwise."""
    if isinstance(value, str) and "\n" in value:
        return "|\n" + "".join(f"        {line}\n" for line in value.splitlines())
    return json.dumps(value)


@pytest.mark.parametrize(("key", "value", "what", "secret"), SHAPES, ids=[f"{s[0]}:{s[2]}" for s in SHAPES])
def test_a_credential_in_a_plan_is_rejected_at_its_line(tree, gameday, key, value, what, secret):
    tree.write("experiments/x.yaml", EXPERIMENT)
    plan = tree.plan(PLAN.replace("    uses: ../experiments/x.yaml\n", f"    uses: ../experiments/x.yaml\n    with:\n      {key}: {literal(value)}\n"))
    line = line_of(plan, f"      {key}:")
    assert_rejected(validate(gameday), f"plans/p.yaml:{line}: {what} in experiments[0].with.{key}: {REFER}", secret)


@pytest.mark.parametrize(("key", "value", "what", "secret"), SHAPES, ids=[f"{s[0]}:{s[2]}" for s in SHAPES])
def test_a_credential_in_an_experiment_is_rejected_at_its_own_line(tree, gameday, key, value, what, secret):
    path = tree.write("experiments/x.yaml", EXPERIMENT.replace("  token_ttl: 30s\n", f"  token_ttl: 30s\n  {key}: {literal(value).replace('        ', '    ')}\n"))
    tree.plan(PLAN)
    line = line_of(path, f"  {key}:")
    assert_rejected(validate(gameday), f"experiments/x.yaml:{line}: {what} in configuration.{key}: {REFER}", secret)


@pytest.mark.parametrize(("key", "value", "what", "secret"), SHAPES, ids=[f"{s[0]}:{s[2]}" for s in SHAPES])
def test_a_credential_in_a_playbook_is_rejected_at_its_line(tree, gameday, key, value, what, secret):
    tree.write("experiments/x.yaml", EXPERIMENT)
    path = tree.write("playbooks/p.yaml", PLAYBOOK.replace("configuration:\n", f"configuration:\n  {key}: {literal(value).replace('        ', '    ')}\n"))
    tree.plan(PLAN + "disaster_recovery:\n  - playbook: ../playbooks/p.yaml\n    rto: 5m\n")
    line = line_of(path, f"  {key}:")
    assert_rejected(validate(gameday), f"playbooks/p.yaml:{line}: {what} in configuration.{key}: {REFER}", secret)


def test_a_json_experiment_is_located_too(tree, gameday):
    experiment = read_yaml(tree.write("experiments/x.yaml", EXPERIMENT)).data
    experiment["configuration"]["aws_secret_access_key"] = "wJalrXUtnFEMI-K7MDENG-bPxRfiCY"
    tree.write("experiments/x.json", json.dumps(experiment, indent=2))
    tree.plan(PLAN.replace("x.yaml", "x.json"))
    line = line_of(tree.root / "experiments/x.json", '"aws_secret_access_key"')
    assert_rejected(
        validate(gameday),
        f"experiments/x.json:{line}: a literal credential in configuration.aws_secret_access_key: {REFER}",
        "wJalrXUtnFEMI",
    )


def test_a_literal_chaos_toolkit_secret_is_rejected_whatever_its_name(tree, gameday):
    path = tree.write("experiments/x.yaml", EXPERIMENT.replace("    api_token: {type: env, key: SHOP_API_TOKEN}", "    plain: s3cr3t-v4lue"))
    tree.plan(PLAN)
    line = line_of(path, "    plain:")
    result = validate(gameday)
    assert_rejected(
        result,
        f"experiments/x.yaml:{line}: secrets.shop.plain: a Chaos Toolkit secret must be {{type: env, key: NAME}} "
        "or {type: vault, path: ..., key: ...}, never a literal value",
        "s3cr3t-v4lue",
    )
    assert "1 problem found" in result.err  # not reported twice


def test_a_credential_in_the_slo_catalog_is_rejected_at_its_line(tree, gameday):
    catalog = tree.root / "probes/slos.yaml"
    catalog.write_text(catalog.read_text().replace("dsn: ${DATABASE_URL}", "dsn: postgresql://shop:Cat4l0g-pw@db/shop", 1))
    tree.write("experiments/x.yaml", EXPERIMENT)
    tree.plan(PLAN)
    line = line_of(catalog, "Cat4l0g-pw")
    assert_rejected(validate(gameday), f"probes/slos.yaml:{line}: a password in a URL in slos[3].sli.dsn: {REFER}", "Cat4l0g-pw")


def test_a_literal_webhook_in_notify_is_rejected_without_echoing_it(tree, gameday):
    tree.write("experiments/x.yaml", EXPERIMENT)
    hook = "https://chat.example.com/hooks/zq81mx0c3vb7nd5ka2ls9pw4oe"
    plan = tree.plan(PLAN + f"notify:\n  mattermost: {{webhook: \"{hook}\"}}\n")
    line = line_of(plan, "mattermost:")
    assert_rejected(
        validate(gameday), f"plans/p.yaml:{line}: a Mattermost webhook URL in notify.mattermost.webhook: {REFER}", "zq81mx0c3vb7"
    )


def test_every_credential_of_a_file_is_reported_together(tree, gameday):
    tree.write("experiments/x.yaml", EXPERIMENT)
    tree.plan(PLAN.replace("    uses: ../experiments/x.yaml\n", "    uses: ../experiments/x.yaml\n    with: {password: pw-one-1, token: tk-two-2}\n"))
    result = validate(gameday)
    assert_rejected(result, "2 problems found", "pw-one-1")
    assert "a literal credential in experiments[0].with.password" in result.err
    assert "a literal credential in experiments[0].with.token" in result.err
    assert "tk-two-2" not in result.err


def test_references_are_accepted(tree, gameday):
    tree.write("experiments/x.yaml", EXPERIMENT)
    tree.write("playbooks/p.yaml", PLAYBOOK)
    plan = PLAN.replace("    uses: ../experiments/x.yaml\n", '    uses: ../experiments/x.yaml\n    with: {token: "env:SHOP_TOKEN", shop_dsn: "postgresql://shop:${pg_password}@db/shop"}\n')
    tree.plan(plan + 'notify:\n  mattermost: {webhook: "env:MATTERMOST_WEBHOOK_URL"}\n')
    for name in ("plans/p.yaml", "experiments/x.yaml", "playbooks/p.yaml", "probes/slos.yaml"):
        assert find_credentials(read_yaml(tree.root / name), experiment=name.startswith("experiments")) == [], name
    result = validate(gameday)
    assert result.code == 0, result.err
    assert "plans/p.yaml: valid" in result.out


def test_keys_about_a_credential_are_not_credentials(tree):
    path = tree.write(
        "experiments/x.yaml",
        EXPERIMENT + "tags: [token]\nextensions:\n  - {name: x, secret_name: shop-db-credentials, token_url: https://auth.example.com/token, password_file: /run/pw}\n",
    )
    assert find_credentials(read_yaml(path), experiment=True) == []


def test_the_repository_files_carry_no_credential():
    files = [p for folder in ("plans", "experiments", "playbooks", "probes") for p in sorted((REPO / folder).rglob("*.yaml"))]
    assert len(files) > 20
    found = [str(p) for path in files for p in find_credentials(read_yaml(path), experiment="experiments" in path.parts)]
    assert found == []


def test_the_repository_plan_validates(gameday, monkeypatch):
    monkeypatch.chdir(REPO)
    result = validate(gameday, "plans/2024-05.yaml")
    assert result.code == 0, result.err


def test_redact_document_masks_what_the_loader_rejects_and_keeps_references():
    experiment = read_yaml(REPO / "experiments/local/postgres-primary-failover.yaml").data
    assert redact_document(experiment) == experiment  # nothing to mask in a file of references
    doc = {
        "configuration": {
            "password": "hunter2-Qx81",
            "pw": {"type": "env", "key": "PGPASSWORD"},
            "dsn": "postgresql://shop:Pw-s3cret77@db:5432/shop?sslmode=require",
            "ref_dsn": "postgresql://shop:${password}@db/shop",
        },
        "secrets": {"shop": {"plain": "s3cr3t-v4lue", "ok": {"type": "env", "key": "X"}}},
        "method": [{"provider": {"secrets": ["shop"], "headers": {"Authorization": "Bearer ${token}"}, "arguments": {"m": [PEM, "AKIAIOSFODNN7EXAMPL3 x"]}}}],
    }
    redacted = redact_document(doc)
    assert redacted["configuration"] == {
        "password": MASK,
        "pw": {"type": "env", "key": "PGPASSWORD"},
        "dsn": f"postgresql://shop:{MASK}@db:5432/shop?sslmode=require",
        "ref_dsn": "postgresql://shop:${password}@db/shop",
    }
    assert redacted["secrets"] == {"shop": {"plain": MASK, "ok": {"type": "env", "key": "X"}}}
    provider = redacted["method"][0]["provider"]
    assert provider["secrets"] == ["shop"] and provider["headers"] == {"Authorization": "Bearer ${token}"}
    assert provider["arguments"]["m"] == [MASK, f"{MASK} x"]
    for key, value, _, secret in SHAPES:
        text = json.dumps(redact_document({"configuration": {key: value}}))
        assert secret not in text, key
    assert doc["configuration"]["password"] == "hunter2-Qx81"  # a copy: the input is untouched
