"""Routing and verbs of the sandbox Kubernetes API: the REST semantics over the store.

Paths are the real ones (``/api/v1/namespaces/{ns}/pods/{name}``,
``/apis/apps/v1/namespaces/{ns}/deployments/{name}/scale``, ``/api/v1/nodes``...);
verbs are list (and watch), get, create, update (PUT), patch, delete and
deletecollection, with the real API's answers: 201 on create, ``Status`` objects on
errors and on deletes, the pod itself when a pod is deleted. Pod deletions go to the
kubelet so that the process is stopped before the object disappears.
"""

from __future__ import annotations

import logging
from functools import partial
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from gamedays.sandbox.kube import resources as catalog
from gamedays.sandbox.kube import subresources as sub
from gamedays.sandbox.kube.errors import (
    ApiError,
    bad_request,
    conflict,
    method_not_allowed,
    not_found,
    path_not_found,
)
from gamedays.sandbox.kube.events import from_events_v1, to_events_v1
from gamedays.sandbox.kube.objects import is_terminating, random_suffix
from gamedays.sandbox.kube.patch import apply_patch
from gamedays.sandbox.kube.resources import JsonObject, Resource
from gamedays.sandbox.kube.routes import Target, decode_continue, encode_continue, list_key, parse
from gamedays.sandbox.kube.selectors import FieldSelector, LabelSelector, SelectorError
from gamedays.sandbox.kube.store import Closed, Store, now_rfc3339
from gamedays.sandbox.kube.validation import admit
from gamedays.sandbox.kube.watch import DEFAULT_TIMEOUT_SECONDS, WatchRequest, stream

logger = logging.getLogger(__name__)

PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    content_type: str = "application/json"


@dataclass(frozen=True)
class Reply:
    """A complete answer: a JSON object, or text when ``body`` is a str."""

    code: int
    body: JsonObject | str


@dataclass(frozen=True)
class Streamed:
    """A watch: chunks of JSON lines, produced until the watch ends."""

    events: Iterator[JsonObject]


class Api:
    """Answers one HTTP request of the Kubernetes API from the store."""

    def __init__(self, store: Store, pods: sub.PodOperations, server_address: Callable[[], str]) -> None:
        self._store = store
        self._pods = pods
        self._server_address = server_address

    def handle(self, request: Request, client_alive: Callable[[], bool]) -> Reply | Streamed:
        try:
            return self._route(request, client_alive)
        except ApiError as error:
            return Reply(error.code, error.status())
        except SelectorError as error:
            return Reply(400, bad_request(str(error)).status())
        except Closed:
            return Reply(503, ApiError(503, "ServiceUnavailable", "the sandbox API is shutting down").status())

    # ----------------------------------------------------------------------------- routing

    def _route(self, request: Request, client_alive: Callable[[], bool]) -> Reply | Streamed:
        parts = [p for p in request.path.split("/") if p]
        fixed = self._fixed(parts)
        if fixed is not None:
            if request.method != "GET":
                raise method_not_allowed(request.method, request.path)
            return fixed
        target = parse(parts)
        method, resource = request.method, target.resource
        if target.subresource is not None:
            return self._subresource(request, target)
        if method == "GET" and request.query.get("watch", "").lower() in ("true", "1"):
            return Streamed(stream(self._store, self._watch_request(request, target), client_alive))
        if target.name is None:
            if method == "GET":
                return Reply(200, self._list(request, target))
            if method == "POST":
                return Reply(201, self._create(request, target))
            if method == "DELETE":
                return Reply(200, self._delete_collection(request, target))
            raise method_not_allowed(method, resource.plural)
        if method == "GET":
            return Reply(200, self._view(resource, self._get(target)))
        if method == "PUT":
            return Reply(200, self._update(request, target))
        if method == "PATCH":
            return Reply(200, self._patch(request, target))
        if method == "DELETE":
            return Reply(200, self._delete(request, target))
        raise method_not_allowed(method, f"{resource.plural}/{target.name}")

    def _fixed(self, parts: list[str]) -> Reply | None:
        path = "/" + "/".join(parts)
        if path == "/version":
            return Reply(200, catalog.version_info())
        if path in ("/healthz", "/livez", "/readyz"):
            return Reply(200, "ok")
        if path == "/api":
            return Reply(200, catalog.api_versions(self._server_address()))
        if path == "/apis":
            return Reply(200, catalog.api_group_list())
        if len(parts) == 2 and parts[0] == "apis":
            if not catalog.served_versions(parts[1]):
                raise path_not_found()
            return Reply(200, catalog.api_group(parts[1]))
        if (len(parts) == 2 and parts[0] == "api") or (len(parts) == 3 and parts[0] == "apis"):
            group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
            found = catalog.resource_list(group, version)
            if found is None:
                raise path_not_found()
            return Reply(200, found)
        return None

    # ----------------------------------------------------------------------------- verbs

    def _get(self, target: Target) -> JsonObject:
        resource = target.resource
        found = self._store.get(resource.store_key, target.namespace or "", target.name or "")
        if found is None:
            raise not_found(resource.plural, target.name or "", resource.group)
        return found

    def _view(self, resource: Resource, obj: JsonObject) -> JsonObject:
        return to_events_v1(obj) if resource.group == "events.k8s.io" else obj

    def _matcher(self, request: Request, target: Target) -> Callable[[JsonObject], bool]:
        resource = target.resource
        labels = LabelSelector.parse(request.query.get("labelSelector"))
        fields = FieldSelector.parse(request.query.get("fieldSelector"), resource.field_labels)
        if target.name is not None:
            fields = FieldSelector(
                (*fields.terms, *FieldSelector.parse(f"metadata.name={target.name}", resource.field_labels).terms)
            )
        namespace = target.namespace

        def matches(obj: JsonObject) -> bool:
            meta = obj.get("metadata") or {}
            if namespace is not None and meta.get("namespace") != namespace:
                return False
            return labels.matches(meta.get("labels")) and fields.matches(self._view(resource, obj))

        return matches

    def _list(self, request: Request, target: Target) -> JsonObject:
        resource = target.resource
        matches = self._matcher(request, target)
        objects, version = self._store.list(resource.store_key, target.namespace)
        items = [self._view(resource, o) for o in objects if matches(o)]
        meta: JsonObject = {"resourceVersion": str(version)}
        start = decode_continue(request.query.get("continue"))
        if start:
            items = [i for i in items if list_key(i) > start]
        limit = request.query.get("limit", "")
        if limit.isdigit() and 0 < int(limit) < len(items):
            meta["continue"] = encode_continue(list_key(items[int(limit) - 1]))
            meta["remainingItemCount"] = len(items) - int(limit)
            items = items[: int(limit)]
        return {"kind": resource.list_kind, "apiVersion": resource.api_version, "metadata": meta, "items": items}

    def _watch_request(self, request: Request, target: Target) -> WatchRequest:
        version = request.query.get("resourceVersion", "")
        if version not in ("", "0") and not version.isdigit():
            raise bad_request(f"invalid resource version: {version!r}")
        timeout = request.query.get("timeoutSeconds", "")
        return WatchRequest(
            target.resource.store_key,
            self._matcher(request, target),
            partial(self._view, target.resource),
            None if version in ("", "0") else int(version),
            float(timeout) if timeout.isdigit() else DEFAULT_TIMEOUT_SECONDS,
        )

    def _body(self, request: Request) -> JsonObject:
        if not isinstance(request.body, dict):
            raise bad_request("the request body must be a JSON object")
        return request.body

    def _create(self, request: Request, target: Target) -> JsonObject:
        resource = target.resource
        body = self._body(request)
        if resource.group == "events.k8s.io":
            body = from_events_v1(body)
        meta = body.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        if resource.namespaced:
            if target.namespace is None:
                raise method_not_allowed("POST", f"{resource.plural} across namespaces")
            if meta.get("namespace") not in (None, "", target.namespace):
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = target.namespace
            self._require_namespace(target.namespace)
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = f"{meta['generateName']}{random_suffix()}"
        for field_name in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation"):
            meta.pop(field_name, None)
        obj = admit(resource, body)
        if request.query.get("dryRun") == "All":
            return self._view(resource, obj)
        return self._view(resource, self._store.create(resource.store_key, obj))

    def _require_namespace(self, namespace: str) -> None:
        found = self._store.get("namespaces", "", namespace)
        if found is None:
            raise not_found("namespaces", namespace)
        if is_terminating(found):
            raise ApiError(
                403,
                "Forbidden",
                f"unable to create new content in namespace {namespace} because it is being terminated",
                namespace,
                "namespaces",
            )

    def _update(self, request: Request, target: Target) -> JsonObject:
        resource = target.resource
        old = self._get(target)
        body = self._body(request)
        if resource.group == "events.k8s.io":
            body = from_events_v1(body)
        meta = body.setdefault("metadata", {})
        if meta.get("name", target.name) != target.name:
            raise bad_request("the name of the object does not match the name on the URL")
        meta["name"] = target.name
        _keep_namespace(meta, old)
        obj = admit(resource, body, old)
        return self._view(resource, self._store.update(resource.store_key, obj, check_version=True))

    def _patch(self, request: Request, target: Target) -> JsonObject:
        """Apply the patch atomically on the stored object (no lost update, no spurious conflict)."""
        resource = target.resource

        def change(old: JsonObject) -> JsonObject:
            patched = apply_patch(self._view(resource, old), request.body, request.content_type)
            if resource.group == "events.k8s.io":
                patched = from_events_v1(patched)
            meta = patched.get("metadata")
            if not isinstance(meta, dict) or meta.get("name") != target.name:
                raise bad_request("the name of the object cannot be changed by a patch")
            if (
                str(meta.get("resourceVersion") or old["metadata"]["resourceVersion"])
                != old["metadata"]["resourceVersion"]
            ):
                raise conflict(resource.plural, target.name or "", resource.group)
            _keep_namespace(meta, old)
            return admit(resource, patched, old)

        updated = self._store.mutate(resource.store_key, target.namespace or "", target.name or "", change)
        if updated is None:
            raise not_found(resource.plural, target.name or "", resource.group)
        return self._view(resource, updated)

    def _patch_status(self, request: Request, target: Target) -> JsonObject:
        """Patch only the object's ``status`` (the rest of the patch is ignored, as the real API does)."""
        resource = target.resource

        def change(old: JsonObject) -> JsonObject:
            patched = apply_patch(self._view(resource, old), request.body, request.content_type)
            if not isinstance(patched.get("status"), dict):
                raise bad_request("status must be an object")
            old["status"] = patched["status"]
            return old

        updated = self._store.mutate(resource.store_key, target.namespace or "", target.name or "", change)
        if updated is None:
            raise not_found(resource.plural, target.name or "", resource.group)
        return self._view(resource, updated)

    def _grace(self, request: Request) -> int | None:
        text = request.query.get("gracePeriodSeconds", "")
        if text.lstrip("-").isdigit():
            return int(text)
        body = request.body if isinstance(request.body, dict) else {}
        grace = body.get("gracePeriodSeconds")
        return grace if isinstance(grace, int) and not isinstance(grace, bool) else None

    def _delete(self, request: Request, target: Target) -> JsonObject:
        resource = target.resource
        name, namespace = target.name or "", target.namespace or ""
        if resource.store_key == "pods":
            deleted = self._pods.delete_pod(namespace, name, self._grace(request), wait=True)
            if deleted is None:
                raise not_found("pods", name)
            return deleted
        if resource.store_key == "namespaces":
            return self._delete_namespace(name)
        found = self._store.delete(resource.store_key, namespace, name)
        if found is None:
            raise not_found(resource.plural, name, resource.group)
        return _success(resource, found)

    def _delete_namespace(self, name: str) -> JsonObject:
        if name in PROTECTED_NAMESPACES:
            raise ApiError(
                403,
                "Forbidden",
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                name,
                "namespaces",
            )

        def mark(ns: JsonObject) -> JsonObject:
            ns["metadata"].setdefault("deletionTimestamp", now_rfc3339())
            ns["status"] = {"phase": "Terminating"}
            return ns

        marked = self._store.mutate("namespaces", "", name, mark)
        if marked is None:
            raise not_found("namespaces", name)
        return marked

    def _delete_collection(self, request: Request, target: Target) -> JsonObject:
        resource = target.resource
        matches = self._matcher(request, target)
        objects, _ = self._store.list(resource.store_key, target.namespace)
        deleted = []
        for obj in (o for o in objects if matches(o)):
            meta = obj["metadata"]
            if resource.store_key == "pods":
                found = self._pods.delete_pod(meta["namespace"], meta["name"], self._grace(request), wait=False)
            elif resource.store_key == "namespaces":
                found = None if meta["name"] in PROTECTED_NAMESPACES else self._delete_namespace(meta["name"])
            else:
                found = self._store.delete(resource.store_key, meta.get("namespace", ""), meta["name"], meta["uid"])
            if found is not None:
                deleted.append(self._view(resource, found))
        return {
            "kind": resource.list_kind,
            "apiVersion": resource.api_version,
            "metadata": {"resourceVersion": str(self._store.resource_version)},
            "items": deleted,
        }

    def _subresource(self, request: Request, target: Target) -> Reply:
        resource, name, namespace = target.resource, target.name or "", target.namespace or ""
        kind, method = target.subresource, request.method
        if kind == "status" and method == "GET":
            return Reply(200, self._view(resource, self._get(target)))
        if kind == "status" and method == "PATCH" and resource.store_key == "nodes":  # what a node's heartbeat writes
            return Reply(200, self._patch_status(request, target))
        if kind == "scale" and method == "GET":
            return Reply(200, sub.scale_of(self._get(target)))
        if kind == "scale" and method in ("PUT", "PATCH"):
            content_type = request.content_type if method == "PATCH" else None
            return Reply(200, sub.write_scale(self._store, resource, namespace, name, request.body, content_type))
        if kind == "eviction" and method == "POST":
            return Reply(201, sub.evict(self._pods, namespace, name, request.body))
        if kind == "log" and method == "GET":
            return Reply(200, sub.pod_log(self._store, self._pods, namespace, name, request.query.get("tailLines")))
        raise method_not_allowed(method, f"{resource.plural}/{kind}")


def _keep_namespace(meta: JsonObject, old: JsonObject) -> None:
    if "namespace" in old["metadata"]:
        meta["namespace"] = old["metadata"]["namespace"]
    else:
        meta.pop("namespace", None)


def _success(resource: Resource, obj: JsonObject) -> JsonObject:
    meta = obj.get("metadata") or {}
    details = {"name": meta.get("name", ""), "kind": resource.plural, "uid": meta.get("uid", "")}
    if resource.group:
        details["group"] = resource.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
