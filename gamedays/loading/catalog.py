"""The experiment catalog: the Chaos Toolkit experiments under ``experiments/``, listed for plan authors.

    entries = list_catalog(Path("experiments"))
    print(render_table(entries))

Each ``.yaml``, ``.yml`` or ``.json`` file below the catalog's root is one entry. Its id
is its path relative to the root without the extension (``kubernetes/pod-kill``, what a
plan's ``uses:`` names without ``../experiments/`` and ``.yaml``). The first folder tells
where it can act (``aws``, ``kubernetes``, ``postgres``, ``dns``, ``local``, ``sandbox``: see
its reach); its target kind, what it breaks, is its first tag (``database``, ``dns``,
``kubernetes``, ``aws``, or a team's own), so experiments that break the same thing with a
different reach are alternatives to each other. An entry
tells what the experiment breaks (the first sentence of its description), its tags, the
configuration keys a plan may set with ``with:`` together with their defaults (a key read
from the environment shows the variable and its default, if any), whether it declares
rollbacks, and its reach with the permissions it needs there (the ``gameday`` entry of its
``extensions``, see :mod:`gamedays.loading.reach`: a file without one cannot be listed).

Listing is pure loading: the files are parsed, not validated by chaoslib (``gameday
validate`` and the plan loader do that), so listing stays fast. Files that cannot be
listed (bad YAML, not an experiment) are reported together as one :class:`InvalidInput`,
each problem at ``file:line``. Hidden files and folders (``.name``) are skipped.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from gamedays.loading.reach import experiment_document, required_declaration
from gamedays.loading.source import Document, display_path
from gamedays.model.errors import InvalidInput, Problem
from gamedays.model.reach import Reach

SUFFIXES = (".yaml", ".yml", ".json")
#: The target kind of an experiment without tags.
NO_KIND = "any"
#: A sentence ends at . ! or ? followed by a space, unless the word is an abbreviation (e.g. i.e. etc. vs.).
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\betc)(?<!\bvs)[.!?](?=\s)")
_WIDTH = 100


@dataclass(frozen=True)
class Parameter:
    """One configuration key of an experiment: what a plan's ``with:`` may set.

    ``env`` names the environment variable the value is read from (Chaos Toolkit's
    ``{type: env, key: ...}``), if any. ``has_default`` is False only for an environment
    value without a default: the variable must then be set (or the plan must give it).
    """

    name: str
    default: Any = None
    env: str | None = None
    has_default: bool = True

    def describe(self) -> str:
        """``name=value``, ``name=$VAR (default value)`` or ``name=$VAR (required)``."""
        if self.env is None:
            return f"{self.name}={_show(self.default)}"
        if not self.has_default:
            return f"{self.name}=${self.env} (required)"
        return f"{self.name}=${self.env} (default {_show(self.default)})"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name}
        if self.env is not None:
            data["env"] = self.env
        if self.has_default:
            data["default"] = self.default
        return data


@dataclass(frozen=True)
class CatalogEntry:
    """One experiment of the catalog, as a plan author needs to know it."""

    id: str
    path: Path
    target: str
    title: str
    summary: str
    tags: tuple[str, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    has_rollbacks: bool = False
    reach: tuple[Reach, ...] = ()
    permissions: Mapping[Reach, tuple[str, ...]] = field(default_factory=dict)

    def describe_reach(self) -> str:
        """``kubernetes, aws`` (``none``: only HTTP probes)."""
        return ", ".join(r.value for r in self.reach) or "none"

    def describe_permissions(self) -> str:
        """``kubernetes: list pods, delete pods; aws: ec2:StopInstances`` (``none`` when it declares none)."""
        parts = [f"{r.value}: {', '.join(self.permissions[r])}" for r in self.reach if self.permissions.get(r)]
        return "; ".join(parts) or "none"

    def parameter(self, name: str) -> Parameter:
        """The parameter ``name``; KeyError naming the ones there are."""
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        raise KeyError(f"{self.id} has no parameter {name!r}; it has: {', '.join(p.name for p in self.parameters)}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (``gameday catalog --json``)."""
        return {
            "id": self.id,
            "path": str(self.path),
            "target": self.target,
            "title": self.title,
            "summary": self.summary,
            "tags": list(self.tags),
            "parameters": [p.to_dict() for p in self.parameters],
            "has_rollbacks": self.has_rollbacks,
            "reach": [r.value for r in self.reach],
            "permissions": {r.value: list(self.permissions[r]) for r in self.reach if r in self.permissions},
        }


def list_catalog(root: Path) -> tuple[CatalogEntry, ...]:
    """Every experiment under ``root``, sorted by id; InvalidInput naming every file that cannot be listed."""
    if not root.is_dir():
        raise InvalidInput([Problem(display_path(root), 0, "no experiment catalog here: the folder does not exist")])
    entries: list[CatalogEntry] = []
    problems: list[Problem] = []
    for path in sorted(_experiment_files(root)):
        try:
            entries.append(read_entry(root, path))
        except InvalidInput as exc:
            problems.extend(exc.problems)
    seen: dict[str, Path] = {}
    for entry in entries:
        if entry.id in seen:
            problems.append(
                Problem(display_path(entry.path), 0, f"same id {entry.id!r} as {display_path(seen[entry.id])}: rename one")
            )
        seen.setdefault(entry.id, entry.path)
    if problems:
        raise InvalidInput(problems)
    return tuple(sorted(entries, key=lambda e: e.id))


def listable_entries(root: Path) -> tuple[CatalogEntry, ...]:
    """The entries under ``root`` that can be listed, sorted by id; the files that cannot are left out
    (:func:`list_catalog` names them)."""
    entries = []
    for path in _experiment_files(root) if root.is_dir() else []:
        try:
            entries.append(read_entry(root, path))
        except InvalidInput:
            continue  # list_catalog reports it
    return tuple(sorted(entries, key=lambda e: e.id))


def read_entry(root: Path, path: Path) -> CatalogEntry:
    """The catalog entry of the experiment file ``path`` (below ``root``)."""
    relative = path.relative_to(root)
    doc = experiment_document(path)
    data = doc.data
    if not isinstance(data, dict):
        raise InvalidInput([doc.problem((), "not an experiment: expected a mapping with title, description, method")])
    problems: list[Problem] = []
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(doc.problem(("title",), "an experiment needs a title (text)"))
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append(doc.problem(("description",), "description must be text"))
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append(doc.problem(("tags",), "tags must be a list of words"))
    rollbacks = data.get("rollbacks", [])
    if not isinstance(rollbacks, list):
        problems.append(doc.problem(("rollbacks",), "rollbacks must be a list of activities"))
    parameters = _parameters(doc, problems)
    try:
        declaration = required_declaration(doc)
    except InvalidInput as exc:
        problems.extend(exc.problems)
    if problems:
        raise InvalidInput(problems)
    return CatalogEntry(
        id=relative.with_suffix("").as_posix(),
        path=path,
        target=tags[0] if tags else NO_KIND,
        title=" ".join(str(title).split()),
        summary=first_sentence(str(description)),
        tags=tuple(tags),
        parameters=parameters,
        has_rollbacks=bool(rollbacks),
        reach=declaration.reach,
        permissions=declaration.permissions,
    )


def first_sentence(text: str) -> str:
    """The first sentence of ``text``, whitespace collapsed (dotted names like ``chaosk8s.pod`` do not end it)."""
    flat = " ".join(text.split())
    found = _SENTENCE_END.search(flat)
    return flat[: found.end()] if found else flat


def render_table(entries: Sequence[CatalogEntry], width: int = _WIDTH) -> str:
    """The catalog for a terminal: one row per experiment (id, target, reach, rollback, tags); what it
    breaks, its parameters and the permissions it needs beneath."""
    if not entries:
        return "the catalog is empty: no experiment files"
    id_width = max(len("ID"), *(len(e.id) for e in entries))
    target_width = max(len("TARGET"), *(len(e.target) for e in entries))
    reach_width = max(len("REACH"), *(len(_reach_column(e)) for e in entries))
    lines = [f"{'ID':<{id_width}}  {'TARGET':<{target_width}}  {'REACH':<{reach_width}}  ROLLBACK  TAGS"]
    for entry in entries:
        rollback = "yes" if entry.has_rollbacks else "no"
        lines.append(
            f"{entry.id:<{id_width}}  {entry.target:<{target_width}}  {_reach_column(entry):<{reach_width}}  "
            f"{rollback:<8}  {', '.join(entry.tags)}"
        )
        lines.extend(textwrap.wrap(entry.summary or entry.title, width, initial_indent="    ", subsequent_indent="    "))
        described = ", ".join(p.describe() for p in entry.parameters) or "none"
        for label, text in (("with", described), ("needs", entry.describe_permissions())):
            lines.extend(
                textwrap.wrap(
                    text, width, initial_indent=f"    {label}: ", subsequent_indent=" " * (len(label) + 6),
                    break_on_hyphens=False,
                )
            )
    count = len(entries)
    lines.append(f"{count} experiment{'s' if count != 1 else ''}")
    return "\n".join(lines)


def _reach_column(entry: CatalogEntry) -> str:
    return ",".join(r.value for r in entry.reach) or "none"


def _experiment_files(root: Path) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
        if path.is_file() and path.suffix in SUFFIXES and not hidden:
            found.append(path)
    return found


def _parameters(doc: Document, problems: list[Problem]) -> tuple[Parameter, ...]:
    configuration = doc.data.get("configuration") or {}
    if not isinstance(configuration, dict):
        problems.append(doc.problem(("configuration",), "configuration must be a mapping of keys to values"))
        return ()
    parameters = []
    for name, value in configuration.items():
        if isinstance(value, dict) and value.get("type") == "env":
            key = value.get("key")
            if not isinstance(key, str) or not key:
                problems.append(doc.problem(("configuration", name), "an env value needs a key: the variable's name"))
                continue
            parameters.append(Parameter(str(name), value.get("default"), key, "default" in value))
        else:
            parameters.append(Parameter(str(name), value))
    return tuple(parameters)


def _show(value: Any) -> str:
    """A default as a plan author would write it in ``with:``."""
    if isinstance(value, str):
        return value if value and value.strip() == value and "," not in value else json.dumps(value)
    return json.dumps(value, default=str)
