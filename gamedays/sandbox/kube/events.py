"""Kubernetes events: what the sandbox control plane records, and the events.k8s.io/v1 view.

Events are stored once, in the core/v1 shape (``involvedObject``, ``message``,
``firstTimestamp``...); ``/apis/events.k8s.io/v1`` serves the same objects converted to
that group's shape (``regarding``, ``note``, ``eventTime``), which is what chaosk8s'
``get_events`` probe reads. The recorder keeps at most ``limit`` events, dropping the
oldest, like the API server's event TTL.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from gamedays.sandbox.kube.errors import ApiError
from gamedays.sandbox.kube.resources import JsonObject
from gamedays.sandbox.kube.store import Closed, Store, now_rfc3339


class EventRecorder:
    """Writes events about objects into the store (thread-safe; never raises on a closing store)."""

    def __init__(self, store: Store, limit: int = 1000) -> None:
        self._store = store
        self._limit = limit
        self._lock = threading.Lock()
        self._counter = 0
        self._recorded: deque[tuple[str, str]] = deque()

    def emit(
        self,
        about: JsonObject,
        reason: str,
        message: str,
        *,
        warning: bool = False,
        component: str = "kubelet",
        node: str = "",
    ) -> None:
        """Record one event about ``about`` (any stored object)."""
        meta = about.get("metadata") or {}
        with self._lock:
            self._counter += 1
            name = f"{meta.get('name', 'unknown')}.{time.time_ns():x}{self._counter:04x}"
        now = now_rfc3339()
        event: JsonObject = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": meta.get("namespace") or "default"},
            "involvedObject": {
                "apiVersion": about.get("apiVersion", "v1"),
                "kind": about.get("kind", ""),
                "name": meta.get("name", ""),
                "namespace": meta.get("namespace") or "",
                "uid": meta.get("uid", ""),
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "type": "Warning" if warning else "Normal",
            "source": {"component": component, **({"host": node} if node else {})},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": node or component,
        }
        try:
            self._store.create("events", event)
        except (Closed, ApiError):
            return
        with self._lock:
            self._recorded.append((event["metadata"]["namespace"], name))
            expired = [self._recorded.popleft() for _ in range(max(0, len(self._recorded) - self._limit))]
        for namespace, old in expired:
            self._store.delete("events", namespace, old)


def _micro(timestamp: str | None) -> str | None:
    """An RFC 3339 second-precision time as the MicroTime events.k8s.io requires."""
    if not timestamp:
        return None
    return timestamp[:-1] + ".000000Z" if timestamp.endswith("Z") and "." not in timestamp else timestamp


def to_events_v1(event: JsonObject) -> JsonObject:
    """A stored core/v1 event in the events.k8s.io/v1 shape."""
    source = event.get("source") or {}
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": event["metadata"],
        "eventTime": event.get("eventTime") or _micro(event.get("firstTimestamp")) or _micro(now_rfc3339()),
        "regarding": event.get("involvedObject") or {},
        "note": event.get("message", ""),
        "reason": event.get("reason", ""),
        "type": event.get("type", "Normal"),
        "action": event.get("action") or event.get("reason", ""),
        "reportingController": event.get("reportingComponent") or source.get("component", ""),
        "reportingInstance": event.get("reportingInstance") or source.get("host", ""),
        "deprecatedSource": source,
        "deprecatedCount": event.get("count", 1),
        "deprecatedFirstTimestamp": event.get("firstTimestamp"),
        "deprecatedLastTimestamp": event.get("lastTimestamp"),
    }


def from_events_v1(event: JsonObject) -> JsonObject:
    """An events.k8s.io/v1 event written by a client, in the stored core/v1 shape."""
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": event.get("metadata") or {},
        "involvedObject": event.get("regarding") or {},
        "message": event.get("note", ""),
        "reason": event.get("reason", ""),
        "type": event.get("type", "Normal"),
        "action": event.get("action", ""),
        "eventTime": event.get("eventTime"),
        "reportingComponent": event.get("reportingController", ""),
        "reportingInstance": event.get("reportingInstance", ""),
        "source": event.get("deprecatedSource") or {},
        "count": event.get("deprecatedCount") or 1,
        "firstTimestamp": event.get("deprecatedFirstTimestamp") or now_rfc3339(),
        "lastTimestamp": event.get("deprecatedLastTimestamp") or now_rfc3339(),
    }
