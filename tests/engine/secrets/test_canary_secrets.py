"""A whole gameday run with canary secret values: none of them may reach a file, a log or a terminal.

Four unique random canaries, each one really used during the run (the test proves it):

- the Mattermost webhook URL's key path (``MATTERMOST_WEBHOOK_URL``, named by the plan's
  ``notify:``): the recording server must receive the notifications at that path;
- a Chaos Toolkit ``{type: env}`` secret and an env-type configuration value of the
  experiment, sent as HTTP headers by its probe: the recording server must see them;
- ``PGPASSWORD`` and the password in ``DATABASE_URL`` (the sandbox trusts 127.0.0.1,
  so the SLO probes of ``database-writes`` still write through that DSN).

Then every byte of stdout and stderr, and every file under the report folder, the plan's
folder, the working directory and GAMEDAY_HOME, is searched for each canary: as written,
URL-encoded, and base64-encoded at any alignment.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from tests import sandboxes

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def sandbox(shared_sandbox: sandboxes.SharedSandbox):
    """The shared detached sandbox, its GAMEDAY_HOME (searched too) and the environment it exports."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GAMEDAY_", "PG", "MATTERMOST_", "SLACK_"))}
    yield shared_sandbox.home, {**shared_sandbox.cli_env(base), "PYTHONPATH": str(REPO)}
    shared_sandbox.check_as_found()


def experiment(probe_url: str) -> dict:
    """Sends the env-type secret and configuration value as headers, before and after a short method."""
    probe = {
        "type": "probe", "name": "api-accepts-the-token", "tolerance": 200,
        "provider": {
            "type": "http", "url": "${probe_url}/api", "timeout": 3, "secrets": ["canary"],
            "headers": {"Authorization": "Bearer ${canary_token}", "X-Api-Key": "${api_key}"},
        },
    }
    return {
        "title": "A call that carries secrets",
        "description": "Calls a local API with a token from the environment.",
        "configuration": {
            "probe_url": probe_url,
            "api_key": {"type": "env", "key": "CANARY_API_KEY"},
        },
        "secrets": {"canary": {"canary_token": {"type": "env", "key": "CANARY_TOKEN"}}},
        "steady-state-hypothesis": {"title": "the API takes the token", "probes": [probe]},
        "method": [{**probe, "name": "call-during-the-method", "pauses": {"after": 1}}],
        "rollbacks": [],
    }


def forms(secret: str) -> set[str]:
    """The canary as written, URL-encoded, and base64 (standard and URL-safe) at each of the 3 alignments."""
    found = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret), json.dumps(secret)[1:-1]}
    raw = secret.encode()
    for start in range(3):
        chunk = raw[start:start + (len(raw) - start) // 3 * 3]
        encoded = base64.b64encode(chunk).decode()
        found |= {encoded, base64.urlsafe_b64encode(chunk).decode()}
    return {f for f in found if len(f) >= 12}


def written_files(*roots: Path) -> list[Path]:
    files: set[Path] = set()
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                files.add(path)
    return sorted(files)


def test_no_canary_secret_reaches_a_file_a_log_or_a_terminal(sandbox, http_server, tmp_path):
    home, env = sandbox
    hook_url, behaviour = http_server  # records every request; answers 200 "ok"
    received = behaviour.received
    token = "tok" + secrets.token_hex(16)
    api_key = "key" + secrets.token_hex(16)
    hook_key = secrets.token_hex(13)  # a Mattermost hook id: 26 characters
    pg_password = "pw+" + secrets.token_hex(12) + "&=/x"
    canaries = {"webhook": hook_key, "secret": token, "configuration": api_key, "pgpassword": pg_password}

    dsn = urllib.parse.urlsplit(env["DATABASE_URL"])
    user = urllib.parse.unquote(dsn.username or "postgres")
    host = dsn.hostname + (f":{dsn.port}" if dsn.port else "")
    with_password = dsn._replace(netloc=f"{urllib.parse.quote(user)}:{urllib.parse.quote(pg_password, safe='')}@{host}").geturl()
    run_env = {
        **env,
        "MATTERMOST_WEBHOOK_URL": f"{hook_url}/hooks/{hook_key}",
        "CANARY_TOKEN": token,
        "CANARY_API_KEY": api_key,
        "PGPASSWORD": pg_password,
        "DATABASE_URL": with_password,
    }

    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "secret-call.json").write_text(json.dumps(experiment(hook_url)))
    plan = plans / "plan.yaml"
    plan.write_text(json.dumps({
        "gameday": "canary",
        "title": "Secrets stay secret",
        "date": "2024-05-21",
        "environment": "sandbox",
        "team": {"commander": "tester"},
        "slos": str(REPO / "probes/slos.yaml"),
        "monitor": {"interval": "500ms", "baseline": "1s", "cooldown": "1s", "timeout": "1s"},
        "experiments": [
            {"id": "secret-call", "uses": "secret-call.json", "hypothesis": ["database-writes", "checkout-availability"]},
        ],
        "report": {"out": str(tmp_path / "report"), "formats": ["html", "md", "json", "junit"]},
        "notify": {"mattermost": {"webhook": "env:MATTERMOST_WEBHOOK_URL"}},
    }))
    work = tmp_path / "cwd"
    work.mkdir()

    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "gamedays", "run", str(plan), "--metrics-port", "0", "--log-format", "json"],
        env=run_env, cwd=work, capture_output=True, timeout=240,
    )
    assert time.monotonic() - began < 240
    printed = result.stdout + result.stderr
    assert result.returncode in (0, 1), printed.decode(errors="replace")

    # every canary was really used
    api_calls = [r for r in received if r.path == "/api"]
    assert api_calls, "the experiment's probe never called the API"
    assert all(r.headers.get("Authorization") == f"Bearer {token}" and r.headers.get("X-Api-Key") == api_key for r in api_calls)
    notifications = [r for r in received if r.method == "POST" and r.path == f"/hooks/{hook_key}"]
    assert notifications, "no notification reached the webhook: is notify wired into `gameday run`?"
    journal = [json.loads(line) for line in (tmp_path / "report/journal.jsonl").read_text().splitlines() if line.strip()]
    writes = [e for e in journal if e["event"] == "sample" and e["slo"] == "database-writes"]
    assert writes and any(e["good"] for e in writes), "the SLO probe never wrote through the DSN with the password"

    # ...and none of them is anywhere
    files = written_files(tmp_path, home, work)
    assert any(f.name == "journal.jsonl" for f in files) and any(f.name == "report.html" for f in files)
    leaks = []
    for what, canary in canaries.items():
        for form in forms(canary):
            if form.encode() in printed:
                leaks.append(f"{what} ({form}) in stdout/stderr")
            leaks.extend(f"{what} ({form}) in {path}" for path in files if form.encode() in path.read_bytes())
            leaks.extend(f"{what} in a notification body" for r in notifications if form.encode() in r.body)
    assert leaks == []
