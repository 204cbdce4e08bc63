"""Read a YAML file into plain Python data plus the line of every key and item.

ruamel.yaml keeps positions; we convert its round-trip types to plain ``dict``,
``list``, ``str``... once, and keep a ``path -> line`` index beside the data, so
every later check can name the line of what it rejects.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from gamedays.model.errors import InvalidInput, Problem

Loc = tuple[Any, ...]


def display_path(path: Path) -> str:
    """The path as a user wants to read it: relative to the working directory when inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if relative.startswith("..") else relative


@dataclass(frozen=True)
class Document:
    path: Path
    data: Any
    lines: dict[Loc, int] = field(repr=False)

    @property
    def name(self) -> str:
        return display_path(self.path)

    def line(self, loc: Loc) -> int:
        """The line of ``loc``, or of its nearest enclosing key or item."""
        for end in range(len(loc), -1, -1):
            found = self.lines.get(tuple(loc[:end]))
            if found is not None:
                return found
        return 1

    def problem(self, loc: Loc, message: str) -> Problem:
        return Problem(self.name, self.line(loc), message)


def read_yaml(path: Path, named_at: tuple[str, int] | None = None) -> Document:
    """Parse ``path``; raise :class:`InvalidInput` for an unreadable file or invalid YAML.

    ``named_at`` is the ``(file, line)`` of the reference that named this file
    (``uses:``, ``slos:``, ...), so a missing file is reported where it was named.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        file, line = named_at or (display_path(path), 0)
        raise InvalidInput([Problem(file, line, f"cannot read {display_path(path)}: {reason}")]) from None
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        raw = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        problem = _one_line(exc.problem or exc.context or "malformed YAML")
        if exc.context and exc.problem:
            problem += f" ({_one_line(exc.context)})"
        raise InvalidInput([Problem(display_path(path), line, f"invalid YAML: {problem}")]) from None
    except YAMLError as exc:
        raise InvalidInput([Problem(display_path(path), 0, f"invalid YAML: {_one_line(str(exc))}")]) from None
    lines: dict[Loc, int] = {(): 1}
    data = _plain(raw, (), lines)
    return Document(path=path, data=data, lines=lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _plain(node: Any, loc: Loc, lines: dict[Loc, int]) -> Any:
    """Convert ruamel's round-trip values to plain Python, recording line numbers."""
    if isinstance(node, dict):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            plain_key = _scalar(key)
            child = (*loc, plain_key)
            position = _position(node, key)
            if position is not None:
                lines[child] = position + 1
            out[plain_key] = _plain(value, child, lines)
        return out
    if isinstance(node, list):
        items = []
        for index, value in enumerate(node):
            child = (*loc, index)
            try:
                lines[child] = node.lc.item(index)[0] + 1  # type: ignore[attr-defined]
            except (AttributeError, KeyError, TypeError):
                pass
            items.append(_plain(value, child, lines))
        return items
    return _scalar(node)


def _position(mapping: Any, key: Any) -> int | None:
    try:
        return int(mapping.lc.key(key)[0])
    except (AttributeError, KeyError, TypeError):
        return None


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return bool(value) if type(value).__name__ == "ScalarBoolean" else int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dt.datetime):
        return dt.datetime(
            value.year, value.month, value.day, value.hour, value.minute, value.second,
            value.microsecond, value.tzinfo,
        )
    return value
