"""Read a YAML file into plain Python data plus the line of every key and item.

ruamel.yaml keeps positions; we convert its round-trip types to plain ``dict``,
``list``, ``str``... once, and keep a ``path -> line`` index beside the data, so
every later check can name the line of what it rejects.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
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


MAX_BYTES = 1024 * 1024  # 1 MiB: a plan, catalog, playbook or experiment is a few kilobytes
MAX_DEPTH = 50  # nested mappings and lists
MAX_ALIASES = 100  # *alias references in one document
MAX_NODES = 100_000  # values in the document once its aliases are expanded
LIMITS_HELP = (
    f"allowed: a regular file of at most {MAX_BYTES // 1024 // 1024} MiB, nested at most {MAX_DEPTH} deep, "
    f"with at most {MAX_ALIASES} aliases and {MAX_NODES} values once they are expanded"
)


class _TooLarge(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def read_bytes(path: Path, named_at: tuple[str, int] | None = None, what: str = "file") -> bytes:
    """The bytes of ``path``, read within bounds, or :class:`InvalidInput` at file:line.

    Only a regular file is read (a FIFO is opened without blocking and refused, so is a
    device or a folder), at most :data:`MAX_BYTES` of it; a symlink loop and bytes that are
    not UTF-8 are refused with the line they are on.
    """
    file, line = named_at or (display_path(path), 1)
    shown = display_path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InvalidInput([Problem(file, line if named_at else 0, f"cannot read {shown}: {exc.strerror or exc}")]) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _kind(info.st_mode)
            raise InvalidInput([Problem(file, line, f"cannot read {shown}: {kind}, not a regular file; {LIMITS_HELP}")])
        chunks = []
        size = 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, min(65536, MAX_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InvalidInput([Problem(file, line, f"cannot read {shown}: {exc.strerror or exc}")]) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_BYTES:
        at = data[:MAX_BYTES].count(b"\n") + 1
        raise InvalidInput([Problem(shown, at, f"the {what} is larger than 1 MiB ({MAX_BYTES} bytes); {LIMITS_HELP}")])
    return data


def read_text(path: Path, named_at: tuple[str, int] | None = None, what: str = "file") -> str:
    """The text of ``path``, read within the bounds of :func:`read_bytes`, refused at its line unless UTF-8."""
    data = read_bytes(path, named_at, what)
    shown = display_path(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            [Problem(shown, at, f"byte 0x{data[exc.start]:02x} is not UTF-8 text: allowed: a file encoded in UTF-8")]
        ) from None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def line_of(text: str, index: int) -> int:
    """The 1-based line of character ``index`` of ``text``: never report a character offset."""
    return text.count("\n", 0, max(0, index)) + 1


def read_yaml(path: Path, named_at: tuple[str, int] | None = None) -> Document:
    """Parse ``path``; raise :class:`InvalidInput` for an unreadable file or invalid YAML.

    ``named_at`` is the ``(file, line)`` of the reference that named this file
    (``uses:``, ``slos:``, ...), so a missing file is reported where it was named.
    The file is read within the bounds of :func:`read_text`, and its nesting, aliases and
    their expansion are bounded (:func:`check_bounds`) before anything is built from it.
    """
    text = read_text(path, named_at)
    raw = parse_yaml(text, display_path(path))
    lines: dict[Loc, int] = {(): 1}
    data = _plain(raw, (), lines)
    return Document(path=path, data=data, lines=lines)


def parse_yaml(text: str, name: str, *, round_trip: bool = True) -> Any:
    """``text`` as YAML (ruamel round-trip values), bounded; InvalidInput at ``name``:line otherwise."""
    from ruamel.yaml.reader import ReaderError

    yaml = YAML(typ="rt" if round_trip else "safe", pure=True)
    yaml.allow_duplicate_keys = False
    yaml.Constructor = _checked_dates(yaml.Constructor)
    try:
        _check_bounds(yaml, text)
        return yaml.load(text)
    except _TooLarge as exc:
        raise InvalidInput([Problem(name, exc.line, exc.message)]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = _one_line(exc.problem or exc.context or "malformed YAML")
        if exc.context and exc.problem:
            problem += f" ({_one_line(exc.context)})"
        raise InvalidInput([Problem(name, line, f"invalid YAML: {problem}")]) from None
    except ReaderError as exc:
        line = line_of(text, exc.position)
        raise InvalidInput(
            [Problem(name, line, f"invalid YAML: character #x{exc.character:04x} is not allowed in YAML text")]
        ) from None
    except YAMLError as exc:
        raise InvalidInput([Problem(name, 1, f"invalid YAML: {_one_line(str(exc))}")]) from None


def check_bounds(yaml: YAML, text: str, name: str) -> None:
    """InvalidInput at ``name``:line when ``text`` is nested too deep or its aliases expand too far."""
    try:
        _check_bounds(yaml, text)
    except _TooLarge as exc:
        raise InvalidInput([Problem(name, exc.line, exc.message)]) from None
    except YAMLError:
        pass  # malformed YAML: the load that follows says where


def _check_bounds(yaml: YAML, text: str) -> None:
    """Walk the YAML events once (no recursion): nesting depth, aliases and expanded size bounded."""
    from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent

    sizes: dict[str, int] = {}
    stack: list[list[Any]] = []  # [anchor, expanded size so far]
    aliases = 0
    total = 0
    for event in yaml.parse(text):
        line = event.start_mark.line + 1 if event.start_mark is not None else 1
        if isinstance(event, CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise _TooLarge(line, f"nested more than {MAX_DEPTH} deep; {LIMITS_HELP}")
            stack.append([event.anchor, 1])
            continue
        if isinstance(event, CollectionEndEvent):
            anchor, size = stack.pop()
            if anchor is not None:
                sizes[anchor] = size
            if stack:
                stack[-1][1] += size
            continue
        if isinstance(event, AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise _TooLarge(line, f"more than {MAX_ALIASES} aliases; {LIMITS_HELP}")
            size = sizes.get(event.anchor, 1)
        elif isinstance(event, NodeEvent):  # a scalar
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        else:
            continue
        total += size
        if stack:
            stack[-1][1] += size
        if total > MAX_NODES or any(entry[1] > MAX_NODES for entry in stack[-1:]):
            raise _TooLarge(line, f"its aliases expand to more than {MAX_NODES} values; {LIMITS_HELP}")


def _checked_dates(base: type) -> type:
    """A constructor whose dates that do not exist (2024-02-30) are an error at their line, not a crash,
    and whose scalars that only look like numbers ("._", "0x_") stay the text written."""

    class CheckedDates(base):  # type: ignore[misc]  # a subclass: the library's table stays as it is
        def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
            try:
                return super().construct_yaml_timestamp(node, values)
            except (ValueError, OverflowError) as exc:
                raise _TooLarge(
                    node.start_mark.line + 1, f"{node.value!r} is not a date that exists ({exc}); allowed: a real date such as 2024-05-21"
                ) from None

        def construct_yaml_int(self, node: Any) -> Any:
            try:
                return super().construct_yaml_int(node)
            except (ValueError, IndexError):  # "0x_", "+_": the resolver's pattern is wider than a number
                return self.construct_yaml_str(node)

        def construct_yaml_float(self, node: Any) -> Any:
            try:
                return super().construct_yaml_float(node)
            except (ValueError, IndexError):  # "._": no digit, so text, as YAML 1.2 reads it
                return self.construct_yaml_str(node)

    CheckedDates.add_constructor("tag:yaml.org,2002:timestamp", CheckedDates.construct_yaml_timestamp)
    CheckedDates.add_constructor("tag:yaml.org,2002:int", CheckedDates.construct_yaml_int)
    CheckedDates.add_constructor("tag:yaml.org,2002:float", CheckedDates.construct_yaml_float)
    return CheckedDates


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


def read_json(path: Path, named_at: tuple[str, int] | None = None) -> Any:
    """``path`` as JSON, read within the bounds of :func:`read_text`, nested at most :data:`MAX_DEPTH` deep."""
    name = display_path(path)
    text = read_text(path, named_at)
    return parse_json(text, name)


def parse_json(text: str, name: str) -> Any:
    """``text`` as JSON, depth-checked before parsing; InvalidInput at ``name``:line."""
    depth = 0
    in_string = escaped = False
    for index, char in enumerate(text):  # a linear scan: json.loads recurses, so depth is bounded first
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise InvalidInput([Problem(name, line_of(text, index), f"nested more than {MAX_DEPTH} deep; {LIMITS_HELP}")])
        elif char in "]}":
            depth -= 1
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput([Problem(name, exc.lineno, f"invalid JSON: {exc.msg}")]) from None


def check_experiment_file(path: Path, named_at: tuple[str, int] | None = None) -> None:
    """Read an experiment file within bounds before chaoslib's loader (which has none) gets it."""
    text = read_text(path, named_at, what="experiment")
    if path.suffix == ".json":
        parse_json(text, display_path(path))
    else:
        parse_yaml(text, display_path(path), round_trip=False)


def resolve(base: Path, reference: str, named_at: tuple[str, int]) -> Path:
    """``reference`` resolved against ``base``; a symlink loop is an InvalidInput where it was named."""
    try:
        return Path(base, reference).resolve()
    except (RuntimeError, OSError) as exc:  # Python 3.11 raises RuntimeError for a loop
        raise InvalidInput([Problem(*named_at, f"cannot read {reference}: {_one_line(str(exc))} (a symlink loop)")]) from None
