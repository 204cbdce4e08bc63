"""What an experiment or a DR playbook declares about its reach: where it acts, the permissions it needs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from gamedays.model.reach import Reach

#: The name of a catalog experiment's Chaos Toolkit extension that holds its reach.
EXTENSION = "gameday"


class ReachDeclaration(BaseModel):
    """Where something acts, and the permissions it needs there (least privilege).

    ``permissions`` is keyed by reach: Kubernetes verbs on resources as RBAC rules
    (``"delete pods"``), AWS IAM actions (``"rds:FailoverDBCluster"``), PostgreSQL privileges,
    DNS zones updated, what it needs on this host.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    reach: tuple[Reach, ...] = Field(
        description="where it acts: sandbox, local-host, postgres, kubernetes, aws, rfc2136 "
        "([] when only through HTTP probes)"
    )
    permissions: dict[Reach, tuple[str, ...]] = Field(
        default_factory=dict, description="per reach, the permissions needed there (least privilege)"
    )

    @field_validator("reach")
    @classmethod
    def _once_each(cls, reach: tuple[Reach, ...]) -> tuple[Reach, ...]:
        return unique_reach(reach)

    @field_validator("permissions")
    @classmethod
    def _within_reach(cls, permissions: dict[Reach, tuple[str, ...]], info: ValidationInfo) -> dict[Reach, tuple[str, ...]]:
        return permissions_within(permissions, info.data.get("reach"))

    def describe(self) -> str:
        """``kubernetes, aws`` (or ``none``)."""
        return ", ".join(r.value for r in self.reach) or "none"


class ExperimentExtension(ReachDeclaration):
    """The ``gameday`` entry of a Chaos Toolkit experiment's ``extensions`` list."""

    name: Literal["gameday"] = Field(description="always 'gameday'")


def unique_reach(reach: tuple[Reach, ...]) -> tuple[Reach, ...]:
    """``reach``, refused when a value is listed twice."""
    twice = sorted({r.value for r in reach if reach.count(r) > 1})
    if twice:
        raise ValueError(f"{', '.join(twice)} listed twice: name each reach once")
    return reach


def permissions_within(
    permissions: dict[Reach, tuple[str, ...]], reach: tuple[Reach, ...] | None
) -> dict[Reach, tuple[str, ...]]:
    """``permissions``, refused when one is for a reach that is not declared."""
    if reach is None:  # the reach itself was refused: that error says it
        return permissions
    extra = [r.value for r in permissions if r not in reach]
    if extra:
        declared = ", ".join(r.value for r in reach) or "none"
        raise ValueError(f"permissions for {', '.join(extra)}, which is not in reach (declared: {declared})")
    return permissions
