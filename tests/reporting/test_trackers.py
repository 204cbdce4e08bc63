"""`gameday actions export`: CSV/JSON/Markdown, and issues created in GitHub or Jira exactly once.

A real HTTP server on 127.0.0.1 plays GitHub's and Jira's APIs: it checks the token,
keeps the issues it was asked to create and answers searches over them, so the
"never twice" guarantee is tested against a tracker's own state as well as tracker.json.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.httpserver import QuietHandler, running

GITHUB_TOKEN = "ghp_TestTokenNeverPrinted0123456789abcd"
JIRA_TOKEN = "jira-Tok3n-never-printed-4711"
OPEN_ONE, OPEN_TWO, DONE = "GD-0123456789", "GD-abcdefabcd", "GD-5555555555"


@dataclass
class FakeTracker:
    """GitHub and Jira in one: the issues created, every request seen, an optional forced failure."""

    expected_auth: str = ""
    fail_with: int | None = None
    fail_on: str = ""  # "GET", "POST" or "" for every method
    issues: list[dict] = field(default_factory=list)
    requests: list[tuple[str, str, dict, dict]] = field(default_factory=list)  # method, path, headers, body


@pytest.fixture
def fake():
    state = FakeTracker()

    class Handler(QuietHandler):
        def _reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            body = json.loads(self.read_body() or b"{}")
            state.requests.append((self.command, self.path, dict(self.headers), body))
            if self.headers.get("Authorization") != state.expected_auth:
                # a careless server echoes what it got: the client must not print it
                return self._reply(401, {"message": f"Bad credentials: {self.headers.get('Authorization')}"})
            if state.fail_with and state.fail_on in ("", self.command):
                return self._reply(state.fail_with, {"message": "something broke"})
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            if self.command == "GET" and url.path == "/search/issues":
                wanted = query["q"][0].split('"')[1]
                items = [i for i in state.issues if i["title"].startswith(wanted)]
                return self._reply(200, {"total_count": len(items), "items": items})
            if self.command == "POST" and url.path.startswith("/repos/") and url.path.endswith("/issues"):
                issue = {**body, "html_url": f"https://github.example/acme/shop/issues/{len(state.issues) + 1}"}
                state.issues.append(issue)
                return self._reply(201, issue)
            if self.command == "GET" and url.path == "/rest/api/2/search":
                wanted = query["jql"][0].split('labels = "')[1].rstrip('"')
                found = [{"key": i["key"]} for i in state.issues if wanted in i["fields"]["labels"]]
                return self._reply(200, {"issues": found, "total": len(found)})
            if self.command == "POST" and url.path == "/rest/api/2/issue":
                key = f"OPS-{len(state.issues) + 1}"
                state.issues.append({**body, "key": key})
                return self._reply(201, {"id": "1000", "key": key, "self": f"/rest/api/2/issue/{key}"})
            return self._reply(404, {"message": "Not Found"})

        do_GET = do_POST = _handle

    with running(Handler) as url:
        yield url, state


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A report folder: report.json with three actions; actions.yaml says the team has done one."""
    report = tmp_path / "reports" / "2024-05"
    report.mkdir(parents=True)

    def action(ident: str, title: str) -> dict:
        return {"id": ident, "kind": "step-deviated", "subject": "dns-record-loss", "title": title,
                "why": f"evidence of {ident}", "owner_role": "commander", "owner": "sre-oncall",
                "priority": "P2", "due": "2024-06-20", "source": "finding", "status": "open"}

    actions = [action(OPEN_ONE, "Fix the DNS fallback"), action(OPEN_TWO, "Speed up the failover"), action(DONE, "Already done")]
    (report / "report.json").write_text(json.dumps({"format": "x", "analysis": {"gameday": "2024-05"}, "actions": actions}))
    (report / "actions.yaml").write_text(
        "gameday: '2024-05'\nactions:\n"
        + "".join(
            f"  - id: {a['id']}\n    title: {a['title']}\n    kind: step-deviated\n    subject: dns-record-loss\n"
            f"    priority: P2\n    owner: {'alice' if a['id'] == OPEN_ONE else 'sre-oncall'}\n    due: 2024-06-20\n"
            f"    status: {'done' if a['id'] == DONE else 'open'}\n    evidence: {a['why']}\n    source: finding\n"
            for a in actions
        )
    )
    return report


def no_secret(result, folder: Path, *secrets: str) -> None:
    record = (folder / "tracker.json").read_text() if (folder / "tracker.json").exists() else ""
    for secret in secrets:
        assert secret not in result.out + result.err + record


def test_csv_json_and_markdown_export_the_open_actions(gameday, folder, tmp_path):
    result = gameday("actions", "export", str(folder), "--format", "csv")
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert [r["id"] for r in rows] == [OPEN_ONE, OPEN_TWO]
    assert rows[0]["owner"] == "alice"  # actions.yaml (the team's edits) wins over report.json
    assert rows[0]["evidence"] == f"evidence of {OPEN_ONE}" and rows[0]["priority"] == "P2" and rows[0]["due"] == "2024-06-20"

    result = gameday("actions", "export", str(folder), "--format", "json", "--all")
    body = json.loads(result.out)
    assert body["gameday"] == "2024-05"
    assert {a["id"]: a["status"] for a in body["actions"]} == {OPEN_ONE: "open", OPEN_TWO: "open", DONE: "done"}

    out = tmp_path / "actions.md"
    result = gameday("actions", "export", str(folder), "--format", "markdown", "--output", str(out))
    assert result.code == 0 and "2 action(s) written" in result.out
    text = out.read_text()
    assert f"- [ ] **{OPEN_ONE}** Fix the DNS fallback (P2, owner alice, due 2024-06-20)" in text
    assert DONE not in text


def test_a_folder_without_a_report_is_a_clear_error(gameday, tmp_path):
    result = gameday("actions", "export", str(tmp_path))
    assert result.code == 2
    assert f"{tmp_path}/report.json: no report here; render it first with `gameday report {tmp_path}`" in result.err


def test_github_issues_are_created_once(gameday, folder, fake, monkeypatch):
    url, state = fake
    state.expected_auth = f"Bearer {GITHUB_TOKEN}"
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    result = gameday("actions", "export", str(folder), "--github-repo", "acme/shop", "--github-url", url)
    assert result.code == 0, result.err
    posts = [r for r in state.requests if r[0] == "POST"]
    assert [p[1] for p in posts] == ["/repos/acme/shop/issues"] * 2
    for (_, _, headers, body), ident in zip(posts, (OPEN_ONE, OPEN_TWO)):
        assert headers["Authorization"] == f"Bearer {GITHUB_TOKEN}"
        assert headers["Accept"] == "application/vnd.github+json" and headers["Content-Type"] == "application/json"
        assert body["title"].startswith(f"[{ident}] ")
        assert f"**{ident}**" in body["body"] and f"evidence of {ident}" in body["body"]
        assert body["labels"] == ["gameday", "P2"]
    searches = [r for r in state.requests if r[0] == "GET"]
    assert len(searches) == 2 and f'"[{OPEN_ONE}]"' in urllib.parse.unquote_plus(searches[0][1])
    assert f"{OPEN_ONE} created: https://github.example/acme/shop/issues/1" in result.out
    record = json.loads((folder / "tracker.json").read_text())
    assert record == {"github:acme/shop": {OPEN_ONE: "https://github.example/acme/shop/issues/1", OPEN_TWO: "https://github.example/acme/shop/issues/2"}}
    no_secret(result, folder, GITHUB_TOKEN)

    seen = len(state.requests)
    again = gameday("actions", "export", str(folder), "--github-repo", "acme/shop", "--github-url", url)
    assert again.code == 0 and len(state.requests) == seen  # tracker.json answered: not even a search
    assert f"{OPEN_ONE} already tracked: https://github.example/acme/shop/issues/1" in again.out


def test_github_search_finds_an_issue_tracker_json_forgot(gameday, folder, fake, monkeypatch):
    url, state = fake
    state.expected_auth = f"Bearer {GITHUB_TOKEN}"
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    assert gameday("actions", "export", str(folder), "--github-repo", "acme/shop", "--github-url", url).code == 0
    (folder / "tracker.json").unlink()
    again = gameday("actions", "export", str(folder), "--github-repo", "acme/shop", "--github-url", url, "--all")
    assert again.code == 0, again.err
    assert len(state.issues) == 3  # only the done action, exported with --all, is new
    assert f"{OPEN_TWO} already tracked: https://github.example/acme/shop/issues/2" in again.out
    assert f"{DONE} created: https://github.example/acme/shop/issues/3" in again.out
    assert set(json.loads((folder / "tracker.json").read_text())["github:acme/shop"]) == {OPEN_ONE, OPEN_TWO, DONE}


def test_a_refused_token_is_a_clear_error_and_records_nothing(gameday, folder, fake, monkeypatch):
    url, state = fake
    state.expected_auth = "Bearer the-right-one"
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    result = gameday("actions", "export", str(folder), "--github-repo", "acme/shop", "--github-url", url)
    assert result.code == 2
    assert "GitHub answered 401 Unauthorized to GET /search/issues: the token was refused: check it; Bad credentials: Bearer ***" in result.err
    assert "Traceback" not in result.err
    assert not (folder / "tracker.json").exists() and state.issues == []
    no_secret(result, folder, GITHUB_TOKEN)


def test_a_server_error_on_create_records_nothing(gameday, folder, fake, monkeypatch):
    url, state = fake
    state.expected_auth = f"Bearer {GITHUB_TOKEN}"
    state.fail_with, state.fail_on = 500, "POST"
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    result = gameday("actions", "export", str(folder), "--github-repo", "acme/shop", "--github-url", url)
    assert result.code == 2
    assert "GitHub answered 500 Internal Server Error to POST /repos/acme/shop/issues: something broke" in result.err
    assert not (folder / "tracker.json").exists()
    no_secret(result, folder, GITHUB_TOKEN)


def test_a_missing_token_is_a_clear_error(gameday, folder, fake, monkeypatch):
    url, state = fake
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    result = gameday("actions", "export", str(folder), "--github-repo", "acme/shop", "--github-url", url)
    assert result.code == 2
    assert "GITHUB_TOKEN is not set: export GITHUB_TOKEN with a GitHub token allowed to create issues in acme/shop" in result.err
    assert state.requests == []
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    bad = gameday("actions", "export", str(folder), "--github-repo", "acme")
    assert bad.code == 2 and "--github-repo 'acme': write OWNER/NAME, e.g. acme/shop" in bad.err


def test_jira_issues_are_created_once_with_basic_auth(gameday, folder, fake, monkeypatch):
    url, state = fake
    state.expected_auth = "Basic " + base64.b64encode(f"bot@acme.example:{JIRA_TOKEN}".encode()).decode()
    monkeypatch.setenv("JIRA_TOKEN", JIRA_TOKEN)
    monkeypatch.setenv("JIRA_USER", "bot@acme.example")
    result = gameday("actions", "export", str(folder), "--jira-project", "OPS", "--jira-url", url)
    assert result.code == 0, result.err
    posts = [r for r in state.requests if r[0] == "POST"]
    assert [p[1] for p in posts] == ["/rest/api/2/issue"] * 2
    fields = posts[0][3]["fields"]
    assert fields["project"] == {"key": "OPS"} and fields["issuetype"] == {"name": "Task"}
    assert fields["summary"] == f"[{OPEN_ONE}] Fix the DNS fallback" and fields["labels"] == ["gameday", OPEN_ONE]
    jql = urllib.parse.parse_qs(urllib.parse.urlsplit(state.requests[0][1]).query)["jql"][0]
    assert jql == f'project = "OPS" AND labels = "{OPEN_ONE}"'
    assert f"{OPEN_ONE} created: {url}/browse/OPS-1" in result.out
    no_secret(result, folder, JIRA_TOKEN, state.expected_auth.split()[1])

    (folder / "tracker.json").unlink()  # the tracker's own search still prevents a second issue
    again = gameday("actions", "export", str(folder), "--jira-project", "OPS", "--jira-url", url)
    assert again.code == 0 and len(state.issues) == 2
    assert f"{OPEN_TWO} already tracked: {url}/browse/OPS-2" in again.out


def test_jira_needs_its_url_and_a_token(gameday, folder, monkeypatch):
    monkeypatch.setenv("JIRA_TOKEN", JIRA_TOKEN)
    result = gameday("actions", "export", str(folder), "--jira-project", "OPS")
    assert result.code == 2 and "--jira-url is required with --jira-project" in result.err
    monkeypatch.delenv("JIRA_TOKEN")
    result = gameday("actions", "export", str(folder), "--jira-project", "OPS", "--jira-url", "http://127.0.0.1:9")
    assert result.code == 2 and "JIRA_TOKEN is not set" in result.err
