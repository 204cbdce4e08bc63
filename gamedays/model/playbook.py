"""Disaster-recovery playbooks (R-4): what they cover, their targets, their steps."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gamedays.model.components import Component
from gamedays.model.units import DurationField


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlaybookStep(_Frozen):
    """Either automated (a Chaos Toolkit activity) or manual (an instruction for a person)."""

    name: str = Field(min_length=1)
    automated: dict[str, Any] | None = Field(
        None, description="a Chaos Toolkit activity: python, process or http provider"
    )
    manual: str | None = Field(None, description="an instruction a person carries out and confirms")

    @model_validator(mode="after")
    def _one_kind(self) -> PlaybookStep:
        if (self.automated is None) == (self.manual is None):
            raise ValueError("a step is either automated or manual: give exactly one of the two")
        return self


class PlaybookCheck(_Frozen):
    """A proof of recovery: an SLO back within its objective, or a probe activity."""

    slo: str | None = None
    probe: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> PlaybookCheck:
        if (self.slo is None) == (self.probe is None):
            raise ValueError("a check names either an slo or a probe: give exactly one of the two")
        return self


class Playbook(_Frozen):
    title: str = Field(min_length=1)
    covers: Component
    disaster: str = Field(min_length=1, description="the disaster this playbook recovers from")
    rto: DurationField = Field(description="recovery time objective")
    rpo: DurationField | None = Field(None, description="recovery point objective (data loss allowed)")
    steps: tuple[PlaybookStep, ...] = Field(min_length=1)
    checks: tuple[PlaybookCheck, ...] = ()
