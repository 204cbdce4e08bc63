"""Kubernetes permissions as catalog entries declare them, turned into RBAC rules (pure).

A permission reads ``VERB[, VERB...] RESOURCE[/SUBRESOURCE] [(all namespaces)]``:
``"list pods"``, ``"get, create namespaces"``, ``"create pods/eviction"``, ``"list pods (all
namespaces)"``. Verbs are grouped per (apiGroup, resource). Namespaced resources go to a Role in
the namespace the entry acts on; cluster-scoped ones (nodes, namespaces, persistentvolumes) and
``(all namespaces)`` to the ClusterRole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from gamedays.model.errors import UsageError

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")

#: resource -> (apiGroup, cluster-scoped)
RESOURCES: dict[str, tuple[str, bool]] = {
    "pods": ("", False), "pods/eviction": ("", False), "pods/log": ("", False), "pods/exec": ("", False),
    "services": ("", False), "endpoints": ("", False), "configmaps": ("", False), "secrets": ("", False),
    "events": ("", False), "serviceaccounts": ("", False), "persistentvolumeclaims": ("", False),
    "namespaces": ("", True), "nodes": ("", True), "nodes/status": ("", True), "persistentvolumes": ("", True),
    "deployments": ("apps", False), "deployments/status": ("apps", False), "deployments/scale": ("apps", False),
    "replicasets": ("apps", False), "statefulsets": ("apps", False), "daemonsets": ("apps", False),
    "jobs": ("batch", False), "cronjobs": ("batch", False),
    "networkpolicies": ("networking.k8s.io", False), "ingresses": ("networking.k8s.io", False),
    "poddisruptionbudgets": ("policy", False),
}

_ALL_NAMESPACES = "(all namespaces)"
_FORM = "VERB[, VERB...] RESOURCE [(all namespaces)], e.g. 'list pods', 'get, create namespaces'"
_SPLIT = re.compile(r"^(?P<verbs>[a-z]+(?:\s*,\s*[a-z]+)*)\s+(?P<resource>[a-z]+(?:/[a-z]+)?)$")


@dataclass(frozen=True)
class Permission:
    """One declared permission, where it was declared (a catalog file), and the namespace it acts in."""

    text: str
    source: str
    namespace: str


@dataclass(frozen=True)
class Rule:
    api_group: str
    resource: str
    verbs: tuple[str, ...]

    def to_dict(self) -> dict[str, list[str]]:
        return {"apiGroups": [self.api_group], "resources": [self.resource], "verbs": list(self.verbs)}


@dataclass(frozen=True)
class Rules:
    """Namespaced rules per namespace (Roles), and cluster-wide ones (the ClusterRole)."""

    namespaced: dict[str, tuple[Rule, ...]]
    cluster: tuple[Rule, ...]


def parse(permission: Permission) -> tuple[tuple[str, ...], str, bool]:
    """(verbs, resource, all namespaces) of a permission; UsageError naming it and its file when malformed."""
    text = " ".join(permission.text.split())
    everywhere = text.endswith(_ALL_NAMESPACES)
    if everywhere:
        text = text[: -len(_ALL_NAMESPACES)].strip()
    match = _SPLIT.match(text)
    where = f"{permission.source}: kubernetes permission '{permission.text}'"
    if match is None:
        raise UsageError(f"{where} is malformed: write {_FORM}")
    verbs = tuple(v.strip() for v in match["verbs"].split(","))
    unknown = [v for v in verbs if v not in VERBS]
    if unknown:
        raise UsageError(f"{where}: unknown verb {', '.join(unknown)}; allowed: {', '.join(VERBS)}")
    resource = match["resource"]
    if resource not in RESOURCES:
        raise UsageError(f"{where}: unknown resource '{resource}'; known: {', '.join(sorted(RESOURCES))}")
    return verbs, resource, everywhere


def rules(permissions: Iterable[Permission]) -> Rules:
    """The union of ``permissions`` as RBAC rules, verbs grouped per (apiGroup, resource), sorted."""
    namespaced: dict[str, dict[str, set[str]]] = {}
    cluster: dict[str, set[str]] = {}
    for permission in permissions:
        verbs, resource, everywhere = parse(permission)
        _, cluster_scoped = RESOURCES[resource]
        bucket = cluster if cluster_scoped or everywhere else namespaced.setdefault(permission.namespace, {})
        bucket.setdefault(resource, set()).update(verbs)
    return Rules(
        namespaced={ns: _rules(found) for ns, found in sorted(namespaced.items())},
        cluster=_rules(cluster),
    )


def _rules(found: dict[str, set[str]]) -> tuple[Rule, ...]:
    ordered = sorted(found, key=lambda r: (RESOURCES[r][0], r))
    return tuple(Rule(RESOURCES[r][0], r, tuple(v for v in VERBS if v in found[r])) for r in ordered)
