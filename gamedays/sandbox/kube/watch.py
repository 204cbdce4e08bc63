"""``?watch=true``: the stream of ADDED / MODIFIED / DELETED events a list request turns into.

From ``resourceVersion`` "" or "0" the watch first sends every matching object as ADDED,
then the changes; from any other version it replays the store's history after it (an
ERROR event with a 410 Status when that history is gone, as the real API does). With a
selector, an object that starts matching arrives as ADDED and one that stops matching
as DELETED. The stream ends after ``timeoutSeconds``, when the client goes away or
when the server stops.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator

from gamedays.sandbox.kube.errors import ApiError
from gamedays.sandbox.kube.resources import JsonObject
from gamedays.sandbox.kube.store import Closed, Store, WatchEvent

Matcher = Callable[[JsonObject], bool]
View = Callable[[JsonObject], JsonObject]

DEFAULT_TIMEOUT_SECONDS = 1800.0
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class WatchRequest:
    store_key: str
    matches: Matcher
    view: View
    since: int | None  # None: send the current objects first
    timeout: float


def stream(store: Store, request: WatchRequest, client_alive: Callable[[], bool]) -> Iterator[JsonObject]:
    """The watch events of ``request`` as ``{"type", "object"}`` dicts, until it ends."""
    deadline = time.monotonic() + request.timeout
    if request.since is None:
        objects, cursor = store.list(request.store_key)
        for obj in objects:
            if request.matches(obj):
                yield {"type": "ADDED", "object": request.view(obj)}
    else:
        cursor = request.since
    while time.monotonic() < deadline and client_alive():
        try:
            events, cursor = store.events_after(
                cursor, min(POLL_SECONDS, max(0.0, deadline - time.monotonic())), (request.store_key,)
            )
        except ApiError as error:
            yield {"type": "ERROR", "object": error.status()}
            return
        except Closed:
            return
        for event in events:
            found = _translate(event, request.matches)
            if found is not None:
                yield {"type": found, "object": request.view(event.obj)}


def _translate(event: WatchEvent, matches: Matcher) -> str | None:
    now = matches(event.obj)
    if event.type == "MODIFIED":
        before = event.old is not None and matches(event.old)
        if now and before:
            return "MODIFIED"
        if now:
            return "ADDED"
        return "DELETED" if before else None
    return event.type if now else None
