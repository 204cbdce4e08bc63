"""The AWS endpoint's trail: every call moto accepted that changes something, one JSON line each, handed on.

:class:`TrailRecorder` is a WSGI middleware in front of moto's app, in the moto child process
(our server, not moto's internals). For each call answered with a 2xx that is not a read, it
appends ``{"time", "service", "action", "parameters"}`` to the trail file, like CloudTrail's
management events, and hands the :class:`TrailEvent` to a listener (the twin's worker). Two
protocols are recognised:

- query protocol (RDS, EC2...): a form-encoded POST whose ``Action`` is not ``Describe*``,
  ``List*`` or ``Get*``; parameters that name a password, a secret or a token are left out;
- Route53 (REST): ``POST /2013-04-01/hostedzone/{Id}/rrset`` is ``ChangeResourceRecordSets``,
  with ``HostedZoneId`` as its only parameter (the change batch is read back through the API).

Calls whose User-Agent carries :data:`OWN_AGENT` (the twin's own) are neither recorded nor handed
on. Nothing is done for a read, so an idle endpoint costs nothing here.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: In the User-Agent of the twin's own calls (botocore's ``user_agent_extra``).
OWN_AGENT = "gameday-twin"

_READS = ("Describe", "List", "Get")
_SECRET = re.compile(r"password|secret|token", re.IGNORECASE)
_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
_RRSET = re.compile(r"^/2013-04-01/hostedzone/([^/]+)/rrset/?$")
_MAX_BODY = 1 << 20  # a query-protocol call is small; anything bigger is passed through unread

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class TrailEvent:
    """One accepted call: when, which service and action, with which (non-secret) parameters."""

    time: float
    service: str
    action: str
    parameters: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"time": self.time, "service": self.service, "action": self.action, "parameters": self.parameters})

    @classmethod
    def from_json(cls, line: str) -> TrailEvent:
        data = json.loads(line)
        return cls(float(data["time"]), str(data["service"]), str(data["action"]), dict(data["parameters"]))


Listener = Callable[[TrailEvent], None]


class TrailRecorder:
    """WSGI middleware: passes every request to ``app``; records the accepted changes in ``path`` and tells ``listener``."""

    def __init__(self, app: WsgiApp, path: Path, listener: Listener | None = None) -> None:
        self._app = app
        self._path = path
        self._listener = listener
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        call = _read_call(environ)
        if call is None:
            return self._app(environ, start_response)
        service, action, parameters = call

        def recording_start_response(status: str, headers: Any, *rest: Any) -> Any:
            if status[:1] == "2":
                self._record(TrailEvent(time.time(), service, action, parameters))
            return start_response(status, headers, *rest)

        return self._app(environ, recording_start_response)

    def _record(self, event: TrailEvent) -> None:
        with self._lock, self._path.open("a", encoding="utf-8") as trail:
            trail.write(event.to_json() + "\n")
        if self._listener is not None:
            self._listener(event)


def _read_call(environ: dict[str, Any]) -> tuple[str, str, dict[str, str]] | None:
    """(service, action, parameters) of a call that may change something, else None."""
    if environ.get("REQUEST_METHOD") != "POST" or OWN_AGENT in str(environ.get("HTTP_USER_AGENT", "")):
        return None
    rrset = _RRSET.match(str(environ.get("PATH_INFO", "")))
    if rrset is not None:
        return "route53", "ChangeResourceRecordSets", {"HostedZoneId": urllib.parse.unquote(rrset.group(1))}
    return _query_call(environ)


def _query_call(environ: dict[str, Any]) -> tuple[str, str, dict[str, str]] | None:
    """A form-encoded query-protocol call; the body is read and put back, so moto reads it as it came."""
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
