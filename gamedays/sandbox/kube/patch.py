"""PATCH bodies: JSON Patch (RFC 6902), JSON Merge Patch (RFC 7386) and strategic merge.

The official client sends a dict body as ``application/strategic-merge-patch+json``
(chaosk8s' ``{"spec": {"replicas": 0}}`` and ``{"spec": {"unschedulable": true}}``) and a
list body as JSON Patch. Strategic merge is a merge patch whose lists of named
objects (containers, ports, volumes...) merge by ``name`` instead of being replaced.
"""

from __future__ import annotations

import copy
from typing import Any

from gamedays.sandbox.kube.errors import bad_request, unsupported_media_type

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"


def apply_patch(target: dict[str, Any], body: Any, content_type: str) -> dict[str, Any]:
    """``target`` patched by ``body`` of ``content_type``; ``target`` itself is left unchanged."""
    media = content_type.split(";")[0].strip().lower()
    if media == JSON_PATCH:
        if not isinstance(body, list):
            raise bad_request("a JSON Patch must be a list of operations")
        return _json_patch(copy.deepcopy(target), body)
    if media in (MERGE_PATCH, STRATEGIC_MERGE_PATCH, "application/json"):
        if not isinstance(body, dict):
            raise bad_request("a merge patch must be a JSON object")
        merged = _merge(copy.deepcopy(target), body, strategic=media == STRATEGIC_MERGE_PATCH)
        if not isinstance(merged, dict):  # pragma: no cover - a dict patch of a dict is a dict
            raise bad_request("the patch did not produce an object")
        return merged
    raise unsupported_media_type(content_type)


def _merge(target: Any, patch: Any, strategic: bool) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):  # strategic-merge directives ($patch, $retainKeys...) are not needed here
            continue
        if value is None:
            result.pop(key, None)
        elif strategic and isinstance(value, list) and _named(value) and _named(result.get(key)):
            result[key] = _merge_named(result[key], value)
        else:
            result[key] = _merge(result.get(key), value, strategic)
    return result


def _named(items: Any) -> bool:
    return isinstance(items, list) and all(isinstance(i, dict) and "name" in i for i in items) and bool(items)


def _merge_named(current: list[dict[str, Any]], patch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged = [dict(item) for item in current]
    for item in patch:
        index = next((i for i, existing in enumerate(merged) if existing.get("name") == item["name"]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                merged.pop(index)
        elif index is None:
            merged.append(_merge({}, item, True))
        else:
            merged[index] = _merge(merged[index], item, True)
    return merged


def _json_patch(document: dict[str, Any], operations: list[Any]) -> dict[str, Any]:
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request(f"invalid JSON Patch operation: {op!r}")
        kind, path = op["op"], _pointer(op["path"])
        if kind in ("add", "replace"):
            _put(document, path, copy.deepcopy(op.get("value")), insert=kind == "add")
        elif kind == "remove":
            _remove(document, path)
        elif kind == "test":
            if _get(document, path) != op.get("value"):
                raise bad_request(f"the JSON Patch test operation failed at {op['path']}")
        elif kind in ("copy", "move"):
            source = _pointer(str(op.get("from", "")))
            value = copy.deepcopy(_get(document, source))
            if kind == "move":
                _remove(document, source)
            _put(document, path, value, insert=True)
        else:
            raise bad_request(f"unknown JSON Patch operation {kind!r}")
    return document


def _pointer(text: str) -> list[str]:
    if text == "":
        return []
    if not text.startswith("/"):
        raise bad_request(f"invalid JSON pointer {text!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/")]


def _parent(document: Any, path: list[str]) -> Any:
    if not path:
        raise bad_request("a JSON Patch cannot replace the whole object")
    return _get(document, path[:-1])


def _get(document: Any, path: list[str]) -> Any:
    current = document
    for part in path:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise bad_request(f"JSON Patch path /{'/'.join(path)} does not exist")
    return current


def _put(document: Any, path: list[str], value: Any, insert: bool) -> None:
    parent, last = _parent(document, path), path[-1]
    if isinstance(parent, dict):
        if not insert and last not in parent:
            raise bad_request(f"JSON Patch path /{'/'.join(path)} does not exist")
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-" and insert:
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent) - (0 if insert else 1):
            if insert:
                parent.insert(int(last), value)
            else:
                parent[int(last)] = value
        else:
            raise bad_request(f"JSON Patch index {last!r} is out of range")
    else:
        raise bad_request(f"JSON Patch path /{'/'.join(path)} does not exist")


def _remove(document: Any, path: list[str]) -> None:
    parent, last = _parent(document, path), path[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        parent.pop(int(last))
    else:
        raise bad_request(f"JSON Patch path /{'/'.join(path)} does not exist")
