"""Validate a YAML document against a model and turn every error into a located Problem.

pydantic reports every error of a document at once; each becomes one line
``file:line: where: what is wrong (what is allowed)``. Unknown keys get the
nearest valid name, found in the model's own JSON Schema.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gamedays.loading.source import Document, Loc
from gamedays.model.errors import InvalidInput, Problem
from gamedays.model.plan import SLUG

M = TypeVar("M", bound=BaseModel)

_PATTERN_HELP = {
    SLUG: "letters, digits, '.', '_' or '-', starting with a letter or digit",
    r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$": "lower-case letters, digits and '-', e.g. checkout-availability",
}

_TYPE_HELP = {
    "model_type": "expected a mapping of keys to values",
    "model_attributes_type": "expected a mapping of keys to values",
    "dict_type": "expected a mapping of keys to values",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "date_type": "expected a date such as 2024-05-21",
    "date_parsing": "expected a date such as 2024-05-21",
    "date_from_datetime_parsing": "expected a date such as 2024-05-21",
    "date_from_datetime_inexact": "expected a date such as 2024-05-21, without a time",
}


def validate_document(model: type[M], doc: Document, root: Loc = ()) -> M:
    """Validate ``doc.data`` (or the part at ``root``) as ``model``, or raise InvalidInput."""
    data = doc.data
    for part in root:
        data = data[part]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = _consequences_dropped(exc.errors(include_url=False))
        raise InvalidInput([_problem(model, doc, data, root, error) for error in errors]) from None


def _consequences_dropped(errors: list[Any]) -> list[Any]:
    """Leave out "list too short" when it only follows from an item that failed."""
    locs = [tuple(e["loc"]) for e in errors]
    return [
        error
        for error in errors
        if not (
            error["type"] == "too_short"
            and any(len(other) > len(error["loc"]) and other[: len(error["loc"])] == tuple(error["loc"]) for other in locs)
        )
    ]


def where(loc: Loc) -> str:
    """``experiments[0].with`` for ``("experiments", 0, "with")``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _problem(model: type[BaseModel], doc: Document, data: Any, root: Loc, error: Any) -> Problem:
    loc = _written_loc(data, tuple(error["loc"]))
    kind = error["type"]
    full = (*root, *loc)
    if kind == "extra_forbidden":
        key = loc[-1]
        allowed = _allowed_keys(model, data, loc[:-1])
        hint = _nearest(str(key), allowed)
        message = f"{_at(full[:-1])}unknown key '{key}'{hint}; allowed: {', '.join(allowed)}"
        return doc.problem(full, message)
    if kind == "missing":
        return doc.problem(full[:-1], f"{_at(full[:-1])}missing required key '{loc[-1]}'")
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip()]
        tag = ctx.get("tag")
        hint = _nearest(str(tag), tags)
        field = ctx.get("discriminator", "").strip("'")
        return doc.problem(
            (*full, field), f"{_at((*full, field))}unknown {field} '{tag}'{hint}; allowed: {', '.join(tags)}"
        )
    if kind == "union_tag_not_found":
        field = error.get("ctx", {}).get("discriminator", "").strip("'")
        return doc.problem(full, f"{_at(full)}missing required key '{field}'")
    return doc.problem(full, f"{_at(full)}{_message(error)}")


def _at(loc: Loc) -> str:
    return f"{where(loc)}: " if loc else ""


def _written_loc(data: Any, loc: Loc) -> Loc:
    """Drop from ``loc`` the tags pydantic adds for discriminated unions.

    pydantic locates ``slos[0].sli.url`` as ``slos, 0, sli, http, url``: ``http``
    is the value of the ``source`` key, not a key the author wrote.
    """
    kept: list[Any] = []
    node = data
    for part in loc:
        if part == "[key]":
            continue  # pydantic's mark of a mapping's key (the key itself is the part before)
        if isinstance(node, dict) and isinstance(part, str) and part not in node and part in node.values():
            continue
        kept.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(kept)


def _message(error: Any) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "value_error":
        # our own validators: the message already says what was wrong and what is allowed
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        allowed = _PATTERN_HELP.get(pattern, f"text matching {pattern}")
        return f"{_shown(value)} is not allowed: use {allowed}"
    if kind in ("literal_error", "enum"):
        expected = error.get("ctx", {}).get("expected", "")
        options = [o.strip(" '") for o in expected.replace(" or ", ",").split(",") if o.strip(" '")]
        hint = _nearest(str(value), options)
        return f"{_shown(value)} is not allowed{hint}; allowed: {', '.join(options)}"
    if kind == "too_short":
        return "must not be empty"
    if kind in _TYPE_HELP:
        return f"{_TYPE_HELP[kind]}, got {_shown(value)}"
    return f"{error['msg']}, got {_shown(value)}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _nearest(word: str, options: list[str]) -> str:
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _allowed_keys(model: type[BaseModel], data: Any, loc: Loc) -> list[str]:
    """The keys the schema allows at ``loc`` (the mapping holding an unknown key)."""
    schema = _schema(model)
    nodes = [schema]
    for part in loc:
        nodes = [child for node in nodes for child in _children(schema, node, part)]
    keys: list[str] = []
    for node in nodes:
        for alt in _alternatives(schema, node):
            for key in alt.get("properties", {}):
                if key not in keys:
                    keys.append(key)
    return keys


@lru_cache(maxsize=16)
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(by_alias=True)


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref:
        found: dict[str, Any] = schema["$defs"][ref.rsplit("/", 1)[-1]]
        return found
    return node


def _alternatives(schema: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    node = _resolve(schema, node)
    alts = node.get("anyOf") or node.get("oneOf")
    if alts:
        return [a for alt in alts for a in _alternatives(schema, alt)]
    return [node]


def _children(schema: dict[str, Any], node: dict[str, Any], part: Any) -> list[dict[str, Any]]:
    found = []
    for alt in _alternatives(schema, node):
        if isinstance(part, int):
            if "items" in alt:
                found.append(alt["items"])
            found.extend(alt.get("prefixItems", []))
        elif part in alt.get("properties", {}):
            found.append(alt["properties"][part])
        elif isinstance(alt.get("additionalProperties"), dict):
            found.append(alt["additionalProperties"])
    return found
