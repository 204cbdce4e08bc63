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
import shlex
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory):
    """A detached sandbox in a GAMEDAY_HOME of its own, and the environment it exports."""
    home = tmp_path_factory.mktemp("home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GAMEDAY_", "PG", "MATTERMOST_", "SLACK_"))}
    env["GAMEDAY_HOME"] = str(home)
    up = subprocess.run([sys.executable, "-m", "gamedays", "sandbox", "up", "--detach"], env=env, capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    exported = {line[7:].split("=", 1)[0]: shlex.split(line.split("=", 1)[1])[0] for line in up.stdout.splitlines()}
    try:
        yield home, {**env, **exported, "PYTHONPATH": str(REPO)}
    finally:
        subprocess.run([sys.executable, "-m", "gamedays", "sandbox", "down"], env=env, capture_output=True, timeout=120)


@pytest.fixture
def recorder():
    """A local HTTP server recording (method, path, headers, body) of every request; answers 200 "ok"."""
    seen: list[tuple[str, str, dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


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


def test_no_canary_secret_reaches_a_file_a_log_or_a_terminal(sandbox, recorder, tmp_path):
    home, env = sandbox
    hook_url, received = recorder
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
    api_calls = [r for r in received if r[1] == "/api"]
    assert api_calls, "the experiment's probe never called the API"
    assert all(r[2].get("Authorization") == f"Bearer {token}" and r[2].get("X-Api-Key") == api_key for r in api_calls)
    notifications = [r for r in received if r[0] == "POST" and r[1] == f"/hooks/{hook_key}"]
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
            leaks.extend(f"{what} in a notification body" for r in notifications if form.encode() in r[3])
    assert leaks == []
