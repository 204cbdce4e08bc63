"""How the sandbox attaches the twin to its moto child, and detaches it: two paths of the child's own server.

    POST /_gameday/twin/attach   body: the TwinSpec as JSON   -> 200 once the twin follows moto
    POST /_gameday/twin/detach                                -> 200 once it drives nothing

:class:`TwinEndpoint` is a WSGI middleware in front of the trail and moto's app, in the child;
:func:`attach` and :func:`detach` are the sandbox's side, with the standard library only (the
orchestrator imports neither boto3 nor moto). Any other path goes to moto unchanged.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any

from gamedays.model.errors import SandboxError
from gamedays.sandbox.twin.spec import TwinSpec
from gamedays.sandbox.twin.trail import StartResponse, WsgiApp
from gamedays.sandbox.twin.worker import TwinWorker

PREFIX = "/_gameday/twin/"
_MAX_SPEC = 1 << 20


class TwinEndpoint:
    """WSGI middleware: answers the attach and detach calls with ``worker``; passes the rest to ``app``."""

    def __init__(self, app: WsgiApp, worker: TwinWorker, timeout: float) -> None:
        self._app = app
        self._worker = worker
        self._timeout = timeout

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if not path.startswith(PREFIX):
            return self._app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST" or path[len(PREFIX) :] not in ("attach", "detach"):
            return _answer(start_response, "404 Not Found", {"error": f"no such twin call: {path}"})
        try:
            if path.endswith("attach"):
                length = min(int(environ.get("CONTENT_LENGTH") or 0), _MAX_SPEC)
                self._worker.attach(TwinSpec.from_json(environ["wsgi.input"].read(length).decode()), self._timeout)
            else:
                self._worker.detach(self._timeout)
        except Exception as exc:  # noqa: BLE001 - the sandbox reports it, with the twin's log
            return _answer(start_response, "500 Internal Server Error", {"error": f"{type(exc).__name__}: {exc}"})
        return _answer(start_response, "200 OK", {"done": path[len(PREFIX) :]})


def attach(endpoint_url: str, spec: TwinSpec, timeout: float) -> None:
    """Attach the twin of the moto server at ``endpoint_url`` to the parts ``spec`` names (SandboxError if it fails)."""
    _call(endpoint_url, "attach", spec.to_json().encode(), timeout, spec.log_file)


def detach(endpoint_url: str, timeout: float) -> None:
    """Detach it; a server that is gone has nothing attached."""
    try:
        _call(endpoint_url, "detach", b"", timeout, "the moto log")
    except SandboxError as exc:
        if not isinstance(getattr(exc.__cause__, "reason", None), ConnectionRefusedError):
            raise


def _call(endpoint_url: str, name: str, body: bytes, timeout: float, log_file: str) -> None:
    request = urllib.request.Request(f"{endpoint_url}{PREFIX}{name}", data=body, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1: never through a proxy
    try:
        with opener.open(request, timeout=timeout + 5) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        error = json.loads(exc.read() or b"{}").get("error", exc.reason)
        raise SandboxError(f"the AWS twin could not {name}: {error} (see {log_file})") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise SandboxError(f"the AWS twin could not {name}: {exc}") from exc


def _answer(start_response: StartResponse, status: str, body: dict[str, str]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
