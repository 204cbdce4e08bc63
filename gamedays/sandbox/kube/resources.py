"""The resources the sandbox API serves, and the discovery documents that describe them.

One table, :data:`RESOURCES`, says for every resource its group/version, kind, scope,
verbs and the field-selector labels it supports; routing, listing, discovery
(``/api``, ``/apis``, ``/api/v1``, ``/apis/apps/v1``...) and ``/version`` are all
derived from it, so what kubectl discovers is exactly what the server answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JsonObject = dict[str, Any]

_RW = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
_META_FIELDS = frozenset({"metadata.name", "metadata.namespace"})


@dataclass(frozen=True)
class Subresource:
    name: str
    kind: str
    verbs: tuple[str, ...]
    group: str = ""
    version: str = ""


@dataclass(frozen=True)
class Resource:
    """One served resource (``pods``, ``deployments``...) of one group/version."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = _RW
    short_names: tuple[str, ...] = ()
    fields: frozenset[str] = frozenset()
    subresources: tuple[Subresource, ...] = ()
    storage: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def store_key(self) -> str:
        """The store bucket: two views of one resource (events) share it."""
        return self.storage or self.plural

    @property
    def field_labels(self) -> frozenset[str]:
        return _META_FIELDS | self.fields

    def subresource(self, name: str) -> Subresource | None:
        return next((s for s in self.subresources if s.name == name), None)


_STATUS = Subresource("status", "", ("get", "patch", "update"))
_SCALE = Subresource("scale", "Scale", ("get", "patch", "update"), "autoscaling", "v1")

RESOURCES: tuple[Resource, ...] = (
    Resource(
        "",
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        False,
        ("create", "delete", "get", "list", "patch", "update", "watch"),
        ("ns",),
        frozenset({"status.phase"}),
        (_STATUS,),
    ),
    Resource("", "v1", "nodes", "node", "Node", False, _RW, ("no",), frozenset({"spec.unschedulable"}), (_STATUS,)),
    Resource(
        "",
        "v1",
        "pods",
        "pod",
        "Pod",
        True,
        _RW,
        ("po",),
        frozenset(
            {
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "status.phase",
                "status.podIP",
                "status.nominatedNodeName",
            }
        ),
        (
            _STATUS,
            Subresource("eviction", "Eviction", ("create",), "policy", "v1"),
            Subresource("log", "Pod", ("get",)),
        ),
    ),
    Resource(
        "",
        "v1",
        "events",
        "event",
        "Event",
        True,
        _RW,
        ("ev",),
        frozenset(
            {
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "source",
                "type",
            }
        ),
    ),
    Resource(
        "",
        "v1",
        "services",
        "service",
        "Service",
        True,
        _RW,
        ("svc",),
        frozenset({"spec.clusterIP", "spec.type"}),
        (_STATUS,),
    ),
    Resource("", "v1", "endpoints", "endpoints", "Endpoints", True, _RW, ("ep",)),
    Resource(
        "apps", "v1", "deployments", "deployment", "Deployment", True, _RW, ("deploy",), frozenset(), (_STATUS, _SCALE)
    ),
    Resource(
        "apps",
        "v1",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        True,
        _RW,
        ("rs",),
        frozenset({"status.replicas"}),
        (_STATUS, _SCALE),
    ),
    Resource("networking.k8s.io", "v1", "networkpolicies", "networkpolicy", "NetworkPolicy", True, _RW, ("netpol",)),
    # stored as given, with no controller: what `gameday deploy` applies (a Job here starts no pod)
    Resource("", "v1", "configmaps", "configmap", "ConfigMap", True, _RW, ("cm",)),
    Resource("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True, _RW, ("sa",)),
    Resource("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", True, _RW),
    Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", True, _RW),
    Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", False, _RW),
    Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", False, _RW),
    Resource("batch", "v1", "jobs", "job", "Job", True, _RW, (), frozenset(), (_STATUS,)),
    Resource("batch", "v1", "cronjobs", "cronjob", "CronJob", True, _RW, ("cj",), frozenset(), (_STATUS,)),
    Resource(
        "events.k8s.io",
        "v1",
        "events",
        "event",
        "Event",
        True,
        _RW,
        ("ev",),
        frozenset(
            {
                "regarding.kind",
                "regarding.namespace",
                "regarding.name",
                "regarding.uid",
                "regarding.apiVersion",
                "reason",
                "reportingController",
                "type",
                "deprecatedSource",
            }
        ),
        (),
        "events",
    ),
)

GROUPS: tuple[tuple[str, str], ...] = (
    ("apps", "v1"), ("batch", "v1"), ("events.k8s.io", "v1"), ("networking.k8s.io", "v1"), ("rbac.authorization.k8s.io", "v1"),
)


def find(group: str, version: str, plural: str) -> Resource | None:
    return next((r for r in RESOURCES if (r.group, r.version, r.plural) == (group, version, plural)), None)


def served_versions(group: str) -> list[str]:
    return sorted({r.version for r in RESOURCES if r.group == group})


def version_info() -> JsonObject:
    """``/version``: every field ``VersionInfo`` requires, naming this sandbox as the build."""
    return {
        "major": "1",
        "minor": "30",
        "emulationMajor": "1",
        "emulationMinor": "30",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "29",
        "gitVersion": "v1.30.0-gameday-sandbox",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-05-01T00:00:00Z",
        "goVersion": "go1.22.2",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> JsonObject:
    """``/api``: the legacy core group."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group(group: str) -> JsonObject:
    versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in served_versions(group)]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": versions,
        "preferredVersion": versions[0],
    }


def api_group_list() -> JsonObject:
    """``/apis``: every named group served."""
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [api_group(g) for g, _ in GROUPS]}


def resource_list(group: str, version: str) -> JsonObject | None:
    """``/api/v1`` or ``/apis/{group}/{version}``: the resources and subresources served there."""
    resources: list[JsonObject] = []
    for r in RESOURCES:
        if (r.group, r.version) != (group, version):
            continue
        entry: JsonObject = {
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(r.verbs),
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        resources.append(entry)
        for sub in r.subresources:
            item: JsonObject = {
                "name": f"{r.plural}/{sub.name}",
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": sub.kind or r.kind,
                "verbs": list(sub.verbs),
            }
            if sub.group:
                item["group"], item["version"] = sub.group, sub.version
            resources.append(item)
    if not resources:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }
