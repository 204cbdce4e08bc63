"""Where a request goes: the resource, namespace, name and subresource an API path names.

Paths are the real API's: ``/api/v1/namespaces/{ns}/pods/{name}/eviction``,
``/apis/apps/v1/namespaces/{ns}/deployments/{name}/scale``, ``/api/v1/nodes/{name}``,
``/apis/apps/v1/deployments`` (all namespaces). Anything else is a 404. Also the opaque
``continue`` token of paginated lists.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from gamedays.sandbox.kube import resources as catalog
from gamedays.sandbox.kube.errors import bad_request, path_not_found
from gamedays.sandbox.kube.resources import JsonObject, Resource


@dataclass(frozen=True)
class Target:
    """A request's object: ``name`` None for a collection, ``namespace`` None across namespaces."""

    resource: Resource
    namespace: str | None
    name: str | None
    subresource: str | None


def parse(parts: list[str]) -> Target:
    """The resource, namespace, name and subresource a path names (404 for anything else)."""
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise path_not_found()
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        candidate = catalog.find(group, version, rest[2])
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    resource = catalog.find(group, version, rest[0])
    if resource is None or len(rest) > 3:
        raise path_not_found()
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if resource.namespaced and name is not None and namespace is None:
        raise path_not_found()
    if subresource is not None and resource.subresource(subresource) is None:
        raise path_not_found()
    return Target(resource, namespace, name, subresource)


def list_key(obj: JsonObject) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def encode_continue(key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"start": key}).encode()).decode()


def decode_continue(token: str | None) -> str:
    if not token:
        return ""
    try:
        return str(json.loads(base64.urlsafe_b64decode(token.encode()))["start"])
    except (ValueError, KeyError, TypeError):
        raise bad_request("the provided continue parameter is not valid") from None
