"""The object store of the sandbox API: objects, resourceVersions and watch events.

Like etcd behind a kube-apiserver, the store is the single source of truth: every
write takes the next value of one global counter as the object's
``resourceVersion`` and appends a watch event (ADDED / MODIFIED / DELETED) to a
bounded history, so a watch can resume from a resourceVersion, or be told 410 Gone
when that version has been compacted away. Objects go in and out as deep copies:
no caller ever shares a dict with the store.
"""

from __future__ import annotations

import builtins
import copy
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable

from gamedays.sandbox.kube.errors import already_exists, conflict, gone, not_found
from gamedays.sandbox.kube.resources import JsonObject

Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects


def now_rfc3339() -> str:
    """The current time as the API writes timestamps (UTC, second precision)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class WatchEvent:
    """One change of one object: its new state (last state for DELETED) and the state before.

    The dicts are shared with the store's history: read them, never change them.
    """

    resource_version: int
    type: str
    resource: str
    obj: JsonObject
    old: JsonObject | None


class Closed(Exception):
    """The store was closed while waiting (the server is stopping)."""


def key_of(obj: JsonObject) -> Key:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class Store:
    """Thread-safe objects by resource and (namespace, name), with a watch history."""

    def __init__(self, history: int = 20_000) -> None:
        self._changed = threading.Condition()
        self._objects: dict[str, dict[Key, JsonObject]] = {}
        self._version = 0
        self._history: deque[WatchEvent] = deque(maxlen=history)
        self._closed = False

    @property
    def resource_version(self) -> int:
        with self._changed:
            return self._version

    def get(self, resource: str, namespace: str, name: str) -> JsonObject | None:
        with self._changed:
            found = self._objects.get(resource, {}).get((namespace, name))
            return copy.deepcopy(found) if found is not None else None

    def list(self, resource: str, namespace: str | None = None) -> tuple[list[JsonObject], int]:
        """Objects of ``resource`` (in ``namespace`` unless None), sorted by key, and the current version."""
        with self._changed:
            bucket = self._objects.get(resource, {})
            keys = sorted(k for k in bucket if namespace is None or k[0] == namespace)
            return [copy.deepcopy(bucket[k]) for k in keys], self._version

    def create(self, resource: str, obj: JsonObject) -> JsonObject:
        """Store a new object: uid, creationTimestamp, generation 1 and a fresh resourceVersion."""
        with self._changed:
            self._check_open()
            key = key_of(obj)
            bucket = self._objects.setdefault(resource, {})
            if key in bucket:
                raise already_exists(resource, key[1])
            stored = copy.deepcopy(obj)
            meta = stored.setdefault("metadata", {})
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            if "spec" in stored:
                meta["generation"] = 1
            return self._commit(resource, key, stored, None, "ADDED")

    def update(self, resource: str, obj: JsonObject, *, check_version: bool = False) -> JsonObject:
        """Replace an object; identity fields are kept, ``generation`` moves when ``spec`` changes.

        With ``check_version`` the object's ``metadata.resourceVersion`` must be the stored
        one (optimistic concurrency, 409 Conflict otherwise). An update that changes
        nothing is not a write: no new version, no event.
        """
        with self._changed:
            self._check_open()
            key = key_of(obj)
            old = self._objects.get(resource, {}).get(key)
            if old is None:
                raise not_found(resource, key[1])
            given = str((obj.get("metadata") or {}).get("resourceVersion") or "")
            if check_version and given and given != old["metadata"]["resourceVersion"]:
                raise conflict(resource, key[1])
            return self._replace(resource, key, old, copy.deepcopy(obj))

    def mutate(
        self, resource: str, namespace: str, name: str, change: Callable[[JsonObject], JsonObject | None]
    ) -> JsonObject | None:
        """Atomically read, change and write one object; None when it does not exist.

        ``change`` gets a private copy and returns the new object, or None to leave it as is.
        """
        with self._changed:
            self._check_open()
            old = self._objects.get(resource, {}).get((namespace, name))
            if old is None:
                return None
            new = change(copy.deepcopy(old))
            if new is None:
                return copy.deepcopy(old)
            return self._replace(resource, (namespace, name), old, new)

    def delete(self, resource: str, namespace: str, name: str, uid: str | None = None) -> JsonObject | None:
        """Remove an object (only the incarnation ``uid`` when given); its last state, or None."""
        with self._changed:
            bucket = self._objects.get(resource, {})
            old = bucket.get((namespace, name))
            if old is None or (uid is not None and old["metadata"].get("uid") != uid):
                return None
            del bucket[(namespace, name)]
            last = copy.deepcopy(old)
            self._version += 1
            last["metadata"]["resourceVersion"] = str(self._version)
            self._record(resource, last, old, "DELETED")
            return copy.deepcopy(last)

    def events_after(
        self, version: int, timeout: float, resources: Iterable[str] = ()
    ) -> tuple[builtins.list[WatchEvent], int]:
        """Watch events newer than ``version`` (of ``resources``, all if empty), and the version now.

        Waits up to ``timeout`` for a write; the caller resumes from the version returned.

        Raises :class:`~gamedays.sandbox.kube.errors.ApiError` 410 when ``version`` is older
        than the history kept, :class:`Closed` when the store closes.
        """
        wanted = frozenset(resources)
        with self._changed:
            oldest = self._history[0].resource_version if self._history else self._version + 1
            if version < oldest - 1 and version < self._version:
                raise gone(version, oldest)
            self._changed.wait_for(lambda: self._closed or self._version > version, timeout)
            if self._closed:
                raise Closed()
            events = [e for e in self._history if e.resource_version > version and (not wanted or e.resource in wanted)]
            return events, self._version

    def wait_change(self, version: int, timeout: float) -> int:
        """Wait until something is written after ``version`` (or ``timeout``); the version now."""
        with self._changed:
            self._changed.wait_for(lambda: self._closed or self._version > version, timeout)
            return self._version

    def close(self) -> None:
        """Wake every waiter; later writes are refused."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    @property
    def closed(self) -> bool:
        with self._changed:
            return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise Closed()

    def _replace(self, resource: str, key: Key, old: JsonObject, new: JsonObject) -> JsonObject:
        meta = new.setdefault("metadata", {})
        for field in ("uid", "creationTimestamp", "name", "namespace"):
            if field in old["metadata"]:
                meta[field] = old["metadata"][field]
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if "generation" in old["metadata"]:
            moved = new.get("spec") != old.get("spec")
            meta["generation"] = old["metadata"]["generation"] + (1 if moved else 0)
        if new == old:
            return copy.deepcopy(old)
        return self._commit(resource, key, new, old, "MODIFIED")

    def _commit(self, resource: str, key: Key, obj: JsonObject, old: JsonObject | None, kind: str) -> JsonObject:
        self._version += 1
        obj["metadata"]["resourceVersion"] = str(self._version)
        self._objects.setdefault(resource, {})[key] = obj
        self._record(resource, obj, old, kind)
        return copy.deepcopy(obj)

    def _record(self, resource: str, obj: JsonObject, old: JsonObject | None, kind: str) -> None:
        # stored dicts are never changed in place (every write replaces them), so sharing is safe
        self._history.append(WatchEvent(self._version, kind, resource, obj, old))
        self._changed.notify_all()
