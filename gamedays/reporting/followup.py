"""``reports/<gameday>/actions.yaml``: the follow-up actions, where the team tracks them.

Every render writes every action of the report (findings, action notes, actions
carried over from last month) with ``status: open``; the team then edits the
file: ``status`` (open, done or dropped), ``owner`` and ``due``. Rendering again
keeps those edits, matched by the action's id, and keeps the file's comments
(ruamel.yaml round-trip); the fields gameday derives (title, priority, evidence,
...) are written afresh. Entries whose id the report no longer has (the journal
of a run still going when the report was first rendered) are removed. An edit
that is not allowed stops the render with ``actions.yaml:LINE`` and what is
allowed, and the file is left as the team wrote it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from gamedays.model.errors import GamedayError
from gamedays.reporting.actions import Action, ActionKind, Status
from gamedays.reporting.priority import Priority

ACTIONS_YAML = "actions.yaml"
_ID = re.compile(r"^GD-[0-9a-f]{10}$")
EDITABLE = ("status", "owner", "due")
HEADER = (
    "Follow-up actions of gameday {gameday}, written by `gameday report`.\n"
    "Edit status (open, done or dropped), owner and due (YYYY-MM-DD); rendering again keeps those edits and your comments.\n"
    "Every other field is written afresh. Add actions with `gameday note <this folder> \"...\" --action`, not here.\n"
    "Next month's report carries over every action still open."
)


class FollowUpError(GamedayError):
    """actions.yaml holds an edit gameday cannot keep, or cannot be read or parsed."""

    exit_code = 2


@dataclass(frozen=True)
class Entry:
    """One action as actions.yaml has it, with the line it starts on."""

    action: Action
    line: int


def read_actions(path: Path) -> tuple[Action, ...]:
    """Every action of an actions.yaml (none when the file does not exist), validated."""
    document = _load(Path(path))
    return tuple(e.action for e in _entries(document, Path(path))) if document is not None else ()


def merge_actions(path: Path, actions: Sequence[Action], gameday: str) -> tuple[tuple[Action, ...], str]:
    """``actions`` with the team's edits of ``path`` kept (status, owner, due), and the new text of ``path``."""
    path = Path(path)
    document = _load(path)
    if document is None:
        document = _new_document(gameday)
    entries = {e.action.id: e for e in _entries(document, path)}
    kept = tuple(_kept(action, entries.get(action.id)) for action in actions)
    return kept, _dump(document, kept)


def _kept(action: Action, entry: Entry | None) -> Action:
    if entry is None:
        return action
    edited = entry.action
    return replace(action, status=edited.status, owner=edited.owner, due=edited.due)


# ---------------------------------------------------------------- reading


def _load(path: Path) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    from gamedays.loading.source import check_bounds, read_text

    if not path.exists() and not path.is_symlink():
        return None
    text = read_text(path)  # bounded: a regular file, 1 MiB, UTF-8 (InvalidInput at file:line)
    check_bounds(YAML(typ="rt"), text, str(path))
    try:
        try:
            document = YAML(typ="rt").load(text)
        except ValueError:  # a date that does not exist (2024-06-31): read dates as text, so the check below names its line
            yaml = YAML(typ="rt")
            yaml.Constructor = _dates_as_text()
            document = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise FollowUpError(f"{path}{line}: not valid YAML: {exc.problem or exc.context}") from None
    except YAMLError as exc:
        raise FollowUpError(f"{path}: not valid YAML: {exc}") from None
    if document is None:
        return None  # an emptied file: written afresh
    if not hasattr(document, "lc") or not isinstance(document, dict) or not isinstance(document.get("actions", []), (list, type(None))):
        raise FollowUpError(f"{path}:1: expected a mapping with `gameday:` and an `actions:` list, as gameday report writes it")
    return document


def _dates_as_text() -> type:
    from ruamel.yaml.constructor import RoundTripConstructor

    class DatesAsText(RoundTripConstructor):  # a subclass: ruamel copies the table, the library's stays as it is
        pass

    DatesAsText.add_constructor("tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str)
    return DatesAsText


def _entries(document: Any, path: Path) -> list[Entry]:
    items = document.get("actions") or []
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        line = items.lc.item(index)[0] + 1 if hasattr(items, "lc") else 0
        if not isinstance(item, dict):
            raise FollowUpError(f"{path}:{line}: each action is a mapping with id, title, status, owner, due, ...")
        entry = _entry(item, path, line)
        if entry.action.id in seen:
            raise FollowUpError(f"{path}:{line}: action {entry.action.id} appears twice (first on line {seen[entry.action.id]})")
        seen[entry.action.id] = line
        entries.append(entry)
    return entries


def _entry(item: Any, path: Path, line: int) -> Entry:
    def at(key: str) -> str:
        where = item.lc.value(key)[0] + 1 if key in item else line
        return f"{path}:{where}"

    ident = item.get("id")
    if not isinstance(ident, str) or not _ID.match(ident):
        raise FollowUpError(f"{at('id')}: id {ident!r} is not an action id (GD- and 10 hex digits); do not change ids")
    status = item.get("status", Status.OPEN.value)
    if status not in {s.value for s in Status}:
        raise FollowUpError(f"{at('status')}: status {status!r} of {ident}: use open, done or dropped")
    owner = item.get("owner")
    if owner is not None and (not isinstance(owner, str) or not owner.strip()):
        raise FollowUpError(f"{at('owner')}: owner {owner!r} of {ident}: write a name, e.g. owner: alice")
    due = _due(item.get("due"))
    if isinstance(due, bool):  # False: not a date
        raise FollowUpError(f"{at('due')}: due {item.get('due')!r} of {ident}: write a date as YYYY-MM-DD, e.g. due: 2024-06-20")
    level = item.get("priority", Priority.P3.value)
    if level not in {p.value for p in Priority}:
        raise FollowUpError(f"{at('priority')}: priority {level!r} of {ident}: use P1, P2 or P3")
    kind = item.get("kind", ActionKind.NOTE.value)
    if kind not in {k.value for k in ActionKind}:
        allowed = ", ".join(k.value for k in ActionKind)
        raise FollowUpError(f"{at('kind')}: kind {kind!r} of {ident}: gameday writes one of {allowed}; do not change it")
    texts = {key: item.get(key, "") for key in ("title", "evidence", "subject", "source")}
    for key, value in texts.items():
        if not isinstance(value, str):
            raise FollowUpError(f"{at(key)}: {key} of {ident} must be text, not {value!r}")
    action = Action(
        id=ident, kind=ActionKind(kind), subject=texts["subject"], title=texts["title"], why=texts["evidence"],
        owner_role=str(item.get("owner_role") or "commander"), owner=owner.strip() if isinstance(owner, str) else None,
        priority=Priority(level), due=due, source=texts["source"] or "finding", status=Status(status),
    )
    return Entry(action, line)


def _due(value: Any) -> str | None | bool:
    """The ISO date of a ``due:`` value; False when it is not a date."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return False
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            return False
    return False


# ---------------------------------------------------------------- writing


def _new_document(gameday: str) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    document = CommentedMap()
    document["gameday"] = gameday
    document["actions"] = CommentedSeq()
    document.yaml_set_start_comment(HEADER.format(gameday=gameday))
    return document


def _dump(document: Any, actions: Sequence[Action]) -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    old = document.get("actions")
    by_id = {item.get("id"): item for item in old or () if isinstance(item, dict)}
    fresh = [_fill(by_id.get(a.id) if a.id in by_id else CommentedMap(), a) for a in actions]
    if isinstance(old, CommentedSeq) and [i.get("id") for i in old] == [a.id for a in actions]:
        pass  # the same actions in the same order: the entries were updated in place, every comment stays put
    else:
        seq = CommentedSeq(fresh)
        document["actions"] = seq
    yaml = YAML(typ="rt")
    yaml.width = 4096  # one line per field: diffs and hand edits stay simple
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def _fill(item: Any, action: Action) -> Any:
    """Set the fields gameday derives; the team's fields only when the entry is new."""
    derived: dict[str, Any] = {"id": action.id, "title": action.title, "priority": action.priority.value}
    new = "id" not in item
    if new:
        derived.update(owner=action.owner, due=_date(action.due), status=action.status.value)
    derived.update(kind=action.kind.value, subject=action.subject, source=action.source, evidence=action.why)
    for key, value in derived.items():
        if item.get(key, object()) != value:
            item[key] = value
    return item


def _date(iso: str | None) -> dt.date | None:
    return dt.date.fromisoformat(iso) if iso else None
