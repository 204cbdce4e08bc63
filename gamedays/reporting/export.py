"""Follow-up actions out of a report folder, for an issue tracker: CSV, JSON or Markdown.

The actions are ``report.json``'s ``actions`` merged with ``actions.yaml`` (the team's
copy, where status, owner and due are edited; it wins for an action both hold). Only
open actions are exported unless every one is asked for. :func:`read_tracked_actions`
reads the folder; the format functions are pure.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, fields
from enum import Enum
from pathlib import Path
from typing import Any, Sequence

from gamedays.model.errors import GamedayError

OPEN = "open"


class ExportFormat(str, Enum):
    CSV = "csv"
    JSON = "json"
    MARKDOWN = "markdown"


class ExportError(GamedayError):
    """The report folder holds no readable actions."""

    exit_code = 2


@dataclass(frozen=True)
class TrackedAction:
    """One follow-up action as a tracker receives it."""

    id: str
    title: str
    priority: str
    owner: str
    due: str
    status: str
    evidence: str
    source: str
    kind: str
    subject: str


@dataclass(frozen=True)
class ActionList:
    gameday: str
    actions: tuple[TrackedAction, ...]


COLUMNS = tuple(f.name for f in fields(TrackedAction))


def read_tracked_actions(folder: Path, everything: bool = False) -> ActionList:
    """The actions of ``folder`` (report.json, then actions.yaml over it); only the open ones unless ``everything``."""
    folder = Path(folder)
    report_path = folder / "report.json"
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{report_path}: no report here; render it first with `gameday report {folder}`") from None
    except (OSError, ValueError) as exc:
        raise ExportError(f"{report_path}: cannot read the report ({exc})") from None
    if not isinstance(report, dict) or not isinstance(report.get("actions", []), list):
        raise ExportError(f"{report_path}: expected a gameday report with an `actions` list")
    raw = report.get("analysis")
    analysis = raw if isinstance(raw, dict) else {}
    gameday = str(analysis.get("gameday") or folder.name)
    merged: dict[str, TrackedAction] = {}
    for index, item in enumerate(report.get("actions") or []):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise ExportError(f"{report_path}: actions[{index}] is not an action (a mapping with an id)")
        merged[item["id"]] = _from_mapping(item)
    for action in _team_actions(folder):
        merged[action.id] = action
    chosen = tuple(a for a in merged.values() if everything or a.status == OPEN)
    return ActionList(gameday=gameday, actions=chosen)


def render(actions: ActionList, fmt: ExportFormat) -> str:
    if fmt is ExportFormat.CSV:
        return to_csv(actions.actions)
    if fmt is ExportFormat.JSON:
        return to_json(actions)
    return to_markdown(actions)


def to_csv(actions: Sequence[TrackedAction]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for action in actions:
        writer.writerow(asdict(action))
    return out.getvalue()


def to_json(actions: ActionList) -> str:
    body = {"format": "gameday-actions/1", "gameday": actions.gameday, "actions": [asdict(a) for a in actions.actions]}
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def to_markdown(actions: ActionList) -> str:
    lines = [f"# Follow-up actions: gameday {actions.gameday}", ""]
    if not actions.actions:
        lines.append("No action to export.")
    for action in actions.actions:
        box = "x" if action.status != OPEN else " "
        facts = [action.priority, f"owner {action.owner}" if action.owner else "", f"due {action.due}" if action.due else ""]
        facts = [fact for fact in facts if fact]
        lines.append(f"- [{box}] **{action.id}** {_one_line(action.title)}" + (f" ({', '.join(facts)})" if facts else ""))
        if action.evidence:
            lines.append(f"  - Evidence: {_one_line(action.evidence)}")
        lines.append(f"  - Status: {action.status}; kind {action.kind or '-'}; source {action.source or '-'}")
    return "\n".join(lines) + "\n"


def issue_title(action: TrackedAction) -> str:
    """The tracker issue's title: the action id first, so a search finds it again."""
    return f"[{action.id}] {_one_line(action.title)}"


def issue_body(action: TrackedAction, gameday: str) -> str:
    rows = [
        f"Follow-up action **{action.id}** of gameday {gameday}.",
        "",
        f"- Priority: {action.priority or '-'}",
        f"- Owner: {action.owner or '-'}",
        f"- Due: {action.due or '-'}",
        f"- Kind: {action.kind or '-'} ({action.subject or '-'})",
        f"- Source: {action.source or '-'}",
        "",
        "Evidence:",
        "",
        action.evidence or "-",
        "",
        f"Created by `gameday actions export`; the id {action.id} keeps it from being created twice.",
    ]
    return "\n".join(rows)


def _from_mapping(item: dict[str, Any]) -> TrackedAction:
    def text(*keys: str, default: str = "") -> str:
        for key in keys:
            value = item.get(key)
            if value is not None and value != "":
                return str(value.value if isinstance(value, Enum) else value)
        return default

    return TrackedAction(
        id=text("id"), title=text("title"), priority=text("priority"), owner=text("owner"), due=text("due"),
        status=text("status", default=OPEN), evidence=text("evidence", "why"), source=text("source", default="finding"),
        kind=text("kind"), subject=text("subject"),
    )


def _team_actions(folder: Path) -> list[TrackedAction]:
    """actions.yaml's entries, validated by the module that writes it (errors name file:line)."""
    if not (folder / "actions.yaml").exists():
        return []
    from gamedays.reporting.followup import ACTIONS_YAML, read_actions

    names = ("id", "title", "priority", "owner", "due", "status", "why", "source", "kind", "subject")
    return [_from_mapping({name: getattr(a, name, None) for name in names}) for a in read_actions(folder / ACTIONS_YAML)]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
