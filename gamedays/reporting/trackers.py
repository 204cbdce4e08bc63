"""Create the follow-up actions as issues in GitHub or Jira, never the same action twice.

Two guards against duplicates: ``tracker.json`` in the report folder records each
action id with the issue that tracks it (written atomically after every issue), and
before creating an issue the tracker itself is searched for the action id (GitHub:
the issue title starts with ``[GD-…]``; Jira: the id is one of the issue's labels),
so a lost or fresh ``tracker.json`` creates nothing twice either.

Tokens come from the environment only (``GITHUB_TOKEN``; ``JIRA_TOKEN``, with
``JIRA_USER`` for basic auth) and never reach an output, an error or ``tracker.json``.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from gamedays import __version__
from gamedays.atomicfile import write_atomically
from gamedays.model.errors import GamedayError, UsageError
from gamedays.model.redact import scrub
from gamedays.reporting.export import ActionList, TrackedAction, issue_body, issue_title

GITHUB_API = "https://api.github.com"
RECORD = "tracker.json"
LABEL = "gameday"
TIMEOUT = 15.0
_HINTS = {
    401: "the token was refused: check it",
    403: "the token lacks the permission",
    404: "no such repository or project, or the token cannot see it",
}


class TrackerError(GamedayError):
    """The tracker refused a request or could not be reached."""

    exit_code = 2


@dataclass(frozen=True)
class Tracked:
    action: str
    url: str
    created: bool  # False: tracked already (tracker.json, or found by searching the tracker)


@dataclass(frozen=True)
class Tracker:
    """Where issues go: the name in tracker.json, how to search and create, the secret to keep out of messages."""

    name: str
    search: Callable[[TrackedAction], str | None]
    create: Callable[[TrackedAction, str], str]
    secret: str = field(repr=False)


def github(repo: str, env: Mapping[str, str], api: str = GITHUB_API) -> Tracker:
    owner, slash, name = repo.partition("/")
    if not slash or not owner or not name or "/" in name:
        raise UsageError(f"--github-repo {repo!r}: write OWNER/NAME, e.g. acme/shop")
    token = _token(env, "GITHUB_TOKEN", f"a GitHub token allowed to create issues in {repo}")
    client = _Client(api, {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                           "X-GitHub-Api-Version": "2022-11-28"}, "GitHub", token)

    def search(action: TrackedAction) -> str | None:
        query = f'repo:{repo} is:issue in:title "[{action.id}]"'
        found = client.call("GET", "/search/issues?" + urllib.parse.urlencode({"q": query, "per_page": "10"}))
        for item in found.get("items") or []:
            if isinstance(item, dict) and str(item.get("title", "")).startswith(f"[{action.id}]"):
                return str(item.get("html_url") or item.get("url"))
        return None

    def create(action: TrackedAction, gameday: str) -> str:
        labels = [LABEL, *([action.priority] if action.priority else [])]
        body = {"title": issue_title(action), "body": issue_body(action, gameday), "labels": labels}
        made = client.call("POST", f"/repos/{owner}/{name}/issues", body)
        return str(made.get("html_url") or made.get("url"))

    return Tracker(f"github:{repo}", search, create, token)


def jira(project: str, env: Mapping[str, str], url: str | None, issue_type: str = "Task") -> Tracker:
    if not url:
        raise UsageError("--jira-url is required with --jira-project: the base URL of your Jira, e.g. https://acme.atlassian.net")
    token = _token(env, "JIRA_TOKEN", f"a Jira API token allowed to create issues in {project}")
    user = env.get("JIRA_USER")
    if user:
        auth = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()
    else:
        auth = f"Bearer {token}"
    client = _Client(url, {"Authorization": auth, "Accept": "application/json"}, "Jira", token, auth)
    base = url.rstrip("/")

    def search(action: TrackedAction) -> str | None:
        jql = f'project = "{project}" AND labels = "{action.id}"'
        found = client.call("GET", "/rest/api/2/search?" + urllib.parse.urlencode({"jql": jql, "fields": "summary", "maxResults": "1"}))
        for issue in found.get("issues") or []:
            if isinstance(issue, dict) and issue.get("key"):
                return f"{base}/browse/{issue['key']}"
        return None

    def create(action: TrackedAction, gameday: str) -> str:
        fields = {
            "project": {"key": project},
            "summary": issue_title(action),
            "description": issue_body(action, gameday),
            "issuetype": {"name": issue_type},
            "labels": [LABEL, action.id],
        }
        made = client.call("POST", "/rest/api/2/issue", {"fields": fields})
        key = made.get("key")
        if not key:
            raise TrackerError("Jira created an issue but did not say its key; check the project before exporting again")
        return f"{base}/browse/{key}"

    return Tracker(f"jira:{project}@{base}", search, create, token)


def export_to(tracker: Tracker, folder: Path, actions: ActionList) -> list[Tracked]:
    """Each action tracked once: recorded already, found in the tracker, or created now (and recorded at once)."""
    record_path = Path(folder) / RECORD
    record = _read_record(record_path)
    mine = dict(record.get(tracker.name) or {})
    results = []
    for action in actions.actions:
        if action.id in mine:
            results.append(Tracked(action.id, mine[action.id], created=False))
            continue
        url = tracker.search(action)
        created = url is None
        if url is None:
            url = tracker.create(action, actions.gameday)
        mine[action.id] = url
        record = {**record, tracker.name: dict(mine)}
        write_atomically(record_path, json.dumps(record, indent=2, sort_keys=True) + "\n")
        results.append(Tracked(action.id, url, created=created))
    return results


def _token(env: Mapping[str, str], name: str, what: str) -> str:
    token = (env.get(name) or "").strip()
    if not token:
        raise UsageError(f"{name} is not set: export {name} with {what} (tokens are read from the environment only)")
    return token


def _read_record(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise TrackerError(f"{path}: cannot read the record of issues already created ({exc}); fix or remove it") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise TrackerError(f"{path}: expected a mapping of tracker to {{action id: issue URL}}; fix or remove it")
    return data


@dataclass(frozen=True)
class _Client:
    base: str
    headers: Mapping[str, str] = field(repr=False)
    name: str = ""
    token: str = field(default="", repr=False)
    auth: str = field(default="", repr=False)

    def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        url = self.base.rstrip("/") + path
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        for key, value in {**self.headers, "User-Agent": f"gameday/{__version__}"}.items():
            request.add_header(key, value)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        where = f"{method} {urllib.parse.urlsplit(url).path}"
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - http(s) URLs the user gave
                answer = response.read()
        except urllib.error.HTTPError as exc:
            raise TrackerError(self._clean(f"{self.name} answered {exc.code} {exc.reason} to {where}{self._why(exc)}")) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TrackerError(self._clean(f"cannot reach {self.name} at {self.base} ({reason})")) from None
        try:
            parsed = json.loads(answer or b"{}")
        except ValueError:
            raise TrackerError(f"{self.name} answered {where} with something that is not JSON") from None
        return parsed if isinstance(parsed, dict) else {}

    def _why(self, exc: urllib.error.HTTPError) -> str:
        hint = _HINTS.get(exc.code, "")
        try:
            detail = json.loads(exc.read() or b"{}")
        except (ValueError, OSError):
            detail = {}
        message = ""
        if isinstance(detail, dict):  # GitHub says "message", Jira "errorMessages"
            message = detail.get("message") or "; ".join(map(str, detail.get("errorMessages") or []))
        parts = [p for p in (hint, " ".join(str(message).split())[:200]) if p]
        return f": {'; '.join(parts)}" if parts else ""

    def _clean(self, text: str) -> str:
        return scrub(text, [self.token, self.auth, self.auth.partition(" ")[2]])
