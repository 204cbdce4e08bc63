"""Errors of the sandbox Kubernetes API, rendered as the real API's ``Status`` objects.

Clients (the official ``kubernetes`` client, chaosk8s, kubectl) branch on the HTTP
code and on ``reason``, so every failure the API can answer is an :class:`ApiError`
carrying both, and :meth:`ApiError.status` gives the body the real kube-apiserver
would send (``kind: Status``, ``status: Failure``, ``details``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Cause:
    """One field-level reason of a 422 Invalid (``details.causes[]``)."""

    field: str
    message: str
    reason: str = "FieldValueInvalid"


class ApiError(Exception):
    """A failure answered to the client with ``code`` and a ``Status`` body."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        name: str = "",
        kind: str = "",
        group: str = "",
        causes: tuple[Cause, ...] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.name = name
        self.kind = kind
        self.group = group
        self.causes = causes

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def status(self) -> dict[str, Any]:
        """The ``Status`` object the real API server answers for this failure."""
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [{"reason": c.reason, "message": c.message, "field": c.field} for c in self.causes]
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if details:
            body["details"] = details
        return body


def _qualified(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, name: str, group: str = "") -> ApiError:
    return ApiError(404, "NotFound", f'{_qualified(plural, group)} "{name}" not found', name, plural, group)


def path_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def already_exists(plural: str, name: str, group: str = "") -> ApiError:
    return ApiError(409, "AlreadyExists", f'{_qualified(plural, group)} "{name}" already exists', name, plural, group)


def conflict(plural: str, name: str, group: str = "") -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(plural, group)} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        name,
        plural,
        group,
    )


def invalid(kind: str, name: str, causes: tuple[Cause, ...], group: str = "") -> ApiError:
    """422: the object breaks a validation rule (every broken rule is one cause)."""
    qualified_kind = f"{kind}.{group}" if group else kind
    summary = ", ".join(f"{c.field}: {c.message}" for c in causes)
    message = (
        f'{qualified_kind} "{name}" is invalid: {summary}'
        if len(causes) == 1
        else (f'{qualified_kind} "{name}" is invalid: [{summary}]')
    )
    return ApiError(422, "Invalid", message, name, kind, group, causes)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed(verb: str, what: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", f"{verb} is not supported on {what}")


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {content_type}")


def gone(resource_version: int, oldest: int) -> ApiError:
    return ApiError(410, "Expired", f"too old resource version: {resource_version} ({oldest})")
