"""The AWS endpoint's trail: every call moto accepted that changes something, one JSON line each.

moto changes no state that its API shows for some calls (``reboot_db_instance`` returns the
instance as it was), so the twin cannot see them by reading state. :class:`TrailRecorder`
is a WSGI middleware in front of moto's app, in the moto child process (our server, not
moto's internals): for each query-protocol call (RDS, EC2...) answered with a 2xx that is
not a read (``Describe*``, ``List*``, ``Get*``), it appends ``{"time", "service", "action",
"parameters"}`` to the trail file, like CloudTrail's management events. Parameters that
name a password or a secret are left out. :class:`TrailReader` reads the new lines.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_READS = ("Describe", "List", "Get")
_SECRET = re.compile(r"password|secret|token", re.IGNORECASE)
_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
_MAX_BODY = 1 << 20  # a query-protocol call is small; anything bigger is passed through unread

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class TrailEvent:
    """One accepted call: when, which service and action, with which (non-secret) parameters."""

    time: float
    service: str
    action: str
    parameters: dict[str, str]

    def to_json(self) -> str:
        return json.dumps({"time": self.time, "service": self.service, "action": self.action, "parameters": self.parameters})

    @classmethod
    def from_json(cls, line: str) -> TrailEvent:
        data = json.loads(line)
        return cls(float(data["time"]), str(data["service"]), str(data["action"]), dict(data["parameters"]))


class TrailRecorder:
    """WSGI middleware: passes every request to ``app`` and records the accepted changes in ``path``."""

    def __init__(self, app: WsgiApp, path: Path) -> None:
        self._app = app
        self._path = path
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        call = self._read_call(environ)
        if call is None:
            return self._app(environ, start_response)
        service, action, parameters = call

        def recording_start_response(status: str, headers: Any, *rest: Any) -> Any:
            if status[:1] == "2":
                self._record(TrailEvent(time.time(), service, action, parameters))
            return start_response(status, headers, *rest)

        return self._app(environ, recording_start_response)

    def _read_call(self, environ: dict[str, Any]) -> tuple[str, str, dict[str, str]] | None:
        """(service, action, parameters) of a form-encoded call that may change something, else None.

        The body is read and put back, so moto reads it as it came.
        """
        if environ.get("REQUEST_METHOD") != "POST":
            return None
        if not str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if not 0 < length <= _MAX_BODY:
            return None
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        fields = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        action = fields.pop("Action", "")
        if not action or action.startswith(_READS):
            return None
        found = _SERVICE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
        service = found.group(1) if found else "unknown"
        fields.pop("Version", None)
        return service, action, {key: value for key, value in fields.items() if not _SECRET.search(key)}

    def _record(self, event: TrailEvent) -> None:
        with self._lock, self._path.open("a", encoding="utf-8") as trail:
            trail.write(event.to_json() + "\n")


class TrailReader:
    """Reads the trail file from where it left off; a half-written last line waits for the next read."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0

    def skip_to_end(self) -> None:
        """Start after what is there now (calls made before the twin started are not replayed)."""
        try:
            self._offset = self._path.stat().st_size
        except FileNotFoundError:
            self._offset = 0

    def new_events(self) -> list[TrailEvent]:
        try:
            with self._path.open("rb") as trail:
                trail.seek(self._offset)
                data = trail.read()
        except FileNotFoundError:
            return []
        complete = data[: data.rfind(b"\n") + 1]
        self._offset += len(complete)
        events = []
        for line in complete.decode("utf-8", "replace").splitlines():
            try:
                events.append(TrailEvent.from_json(line))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("skipping a bad trail line %r: %s", line[:200], exc)
        return events
