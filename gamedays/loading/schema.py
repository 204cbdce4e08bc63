"""The JSON Schema of a plan file, for editors' YAML language servers (`gameday schema`)."""

from __future__ import annotations

from typing import Any

from gamedays.model.plan import Plan

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def plan_schema() -> dict[str, Any]:
    schema = Plan.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": DIALECT, **schema}
