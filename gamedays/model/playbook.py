"""Disaster-recovery playbooks (R-4): what they cover, their targets, their steps."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from gamedays.model.components import Component
from gamedays.model.declaration import ReachDeclaration, permissions_within, unique_reach
from gamedays.model.reach import Reach
from gamedays.model.secrets import SecretRef, SecretRefField, parse_secret_ref
from gamedays.model.tsig import DEFAULT_REFERENCE
from gamedays.model.sources import dsn_problem, server_problem
from gamedays.model.units import Duration, TargetField, DurationBounds

# a writer: at most 100 writes a second, at least one a minute
EveryField = Annotated[Duration, DurationBounds(Duration(0.01), Duration(60.0))]


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


class Disaster(_Frozen):
    """The disaster the playbook recovers from, and how a gameday causes it."""

    description: str = Field(min_length=1)
    inject: tuple[PlaybookStep, ...] = Field(min_length=1, description="what the gameday does to cause the disaster")


class WriterKind(str, Enum):
    POSTGRES = "postgres"
    DNS = "dns"
    KUBERNETES = "kubernetes"


class DataWriter(_Frozen):
    """Measures RPO: stamps each acknowledged write (sequence, time) during the check; the ones
    missing after recovery were lost."""

    kind: WriterKind
    target: str = Field(
        min_length=1,
        description="postgres: a DSN; dns: the server's host:port; kubernetes: a namespace (${NAME} from the environment)",
    )
    zone: str | None = Field(None, description="dns: the zone the writer's records go to")
    read_back: str | None = Field(
        None,
        description="postgres: the DSN the writes are read back from after recovery, when it is not target "
        "(a point-in-time restore into a new cluster: its writer endpoint)",
    )
    tsig_key: SecretRefField | None = Field(
        None, description="dns: the TSIG key its updates are signed with, by reference (default env:DNS_TSIG_KEY, when set)"
    )
    every: EveryField = Field(Duration(0.1), description="one write this often")

    @field_validator("target")
    @classmethod
    def _target_for_kind(cls, target: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        problem = {WriterKind.POSTGRES: dsn_problem, WriterKind.DNS: server_problem}.get(kind) if isinstance(kind, WriterKind) else None
        found = problem(target) if problem is not None else None
        if found is not None:
            raise ValueError(found)
        return target

    @model_validator(mode="after")
    def _zone_for_dns(self) -> DataWriter:
        if (self.kind is WriterKind.DNS) != (self.zone is not None):
            raise ValueError("a dns writer needs a zone, and only a dns writer takes one")
        if self.tsig_key is not None and self.kind is not WriterKind.DNS:
            raise ValueError("only a dns writer takes a tsig_key")
        if self.read_back is not None:
            if self.kind is not WriterKind.POSTGRES:
                raise ValueError("only a postgres writer takes a read_back")
            problem = dsn_problem(self.read_back)
            if problem is not None:
                raise ValueError(f"read_back: {problem}")
        return self

    @property
    def key_reference(self) -> SecretRef | None:
        """dns: the TSIG key reference (given, or the default); None for other kinds."""
        if self.kind is not WriterKind.DNS:
            return None
        return self.tsig_key or parse_secret_ref(DEFAULT_REFERENCE)


class Playbook(_Frozen):
    title: str = Field(min_length=1)
    covers: Component
    disaster: Disaster
    rto: TargetField = Field(description="recovery time objective")
    rpo: TargetField | None = Field(None, description="recovery point objective (data loss allowed)")
    configuration: dict[str, Any] = Field(
        default_factory=dict, description="Chaos Toolkit configuration for the automated activities (${name})"
    )
    backup: tuple[PlaybookStep, ...] = Field((), description="taken before the disaster, as the recovery needs it")
    steps: tuple[PlaybookStep, ...] = Field(min_length=1)
    checks: tuple[PlaybookCheck, ...] = Field(min_length=1, description="proofs of recovery: RTO ends when all pass")
    afterwards: tuple[PlaybookStep, ...] = Field(
        (), description="back to normal operations once recovery is measured (not part of the RTO)"
    )
    writer: DataWriter | None = Field(None, description="measures the data lost (RPO); without it RPO is not measured")
    reach: tuple[Reach, ...] | None = Field(
        None,
        description="where its steps act: sandbox, local-host, postgres, kubernetes, aws, rfc2136; "
        "without it the playbook runs only in environment: sandbox",
    )
    permissions: dict[Reach, tuple[str, ...]] = Field(
        default_factory=dict, description="per reach, the permissions its steps need there (least privilege)"
    )

    @field_validator("reach")
    @classmethod
    def _once_each(cls, reach: tuple[Reach, ...] | None) -> tuple[Reach, ...] | None:
        return None if reach is None else unique_reach(reach)

    @field_validator("permissions")
    @classmethod
    def _within_reach(cls, permissions: dict[Reach, tuple[str, ...]], info: ValidationInfo) -> dict[Reach, tuple[str, ...]]:
        if "reach" not in info.data:
            return permissions  # the reach was refused: that error says it
        return permissions_within(permissions, info.data["reach"] or ())

    @property
    def declaration(self) -> ReachDeclaration | None:
        """Its reach and permissions, or None when it declares no reach."""
        return None if self.reach is None else ReachDeclaration(reach=self.reach, permissions=self.permissions)

    def phases(self) -> tuple[tuple[str, tuple[PlaybookStep, ...]], ...]:
        """The playbook's steps by phase, in the order a DR check runs them, with their YAML location."""
        return (
            ("backup", self.backup),
            ("disaster.inject", self.disaster.inject),
            ("steps", self.steps),
            ("afterwards", self.afterwards),
        )


def activity_experiment(playbook: Playbook, step: PlaybookStep) -> dict[str, Any]:
    """The Chaos Toolkit experiment that runs one automated step: its activity as the whole method.

    A step runs as an experiment of its own (in its own process, like every
    experiment of the gameday), with the playbook's configuration.
    """
    if step.automated is None:
        raise ValueError(f"step {step.name!r} is manual: it has no activity")
    experiment: dict[str, Any] = {
        "title": f"{playbook.title}: {step.name}",
        "description": f"DR playbook step: {step.name}",
        "method": [dict(step.automated)],
    }
    if playbook.configuration:
        experiment["configuration"] = dict(playbook.configuration)
    return experiment


def probe_experiment(playbook: Playbook, probe: dict[str, Any]) -> dict[str, Any]:
    """The Chaos Toolkit experiment that runs one probe check: the probe is its steady-state hypothesis."""
    experiment: dict[str, Any] = {
        "title": f"{playbook.title}: check {probe.get('name', 'probe')}",
        "description": "DR playbook check",
        "steady-state-hypothesis": {"title": "recovered", "probes": [dict(probe)]},
        "method": [],
    }
    if playbook.configuration:
        experiment["configuration"] = dict(playbook.configuration)
    return experiment
