"""Secrets by reference only: a plan names where a secret lives, never its value."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

_REF_RE = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")
SECRET_HELP = "a reference such as env:MATTERMOST_WEBHOOK_URL (secrets are never written in a plan)"


@dataclass(frozen=True)
class SecretRef:
    """A secret read from the environment at run time: ``env:NAME``."""

    env: str

    def __str__(self) -> str:
        return f"env:{self.env}"


def parse_secret_ref(value: object) -> SecretRef:
    if isinstance(value, SecretRef):
        return value
    if isinstance(value, str):
        match = _REF_RE.match(value.strip())
        if match:
            return SecretRef(match.group(1))
        # never echo what may be a secret value back to a terminal or a log
        raise ValueError(f"a literal value is not allowed here: use {SECRET_HELP}")
    raise ValueError(f"expected {SECRET_HELP}")


def _schema() -> dict[str, Any]:
    return {"type": "string", "pattern": _REF_RE.pattern, "description": SECRET_HELP}


SecretRefField = Annotated[
    SecretRef,
    PlainValidator(parse_secret_ref),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(_schema()),
]
