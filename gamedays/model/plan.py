"""The monthly gameday plan, as written in plans/<month>.yaml.

This model is both the validator of the file and the source of its JSON Schema
(`gameday schema`). References to other files are kept as the relative paths the
author wrote; loading resolves them against the plan's folder.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gamedays.model.components import Component
from gamedays.model.secrets import SecretRefField
from gamedays.model.units import Duration, DurationField, PercentageField

SLUG = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
SANDBOX = "sandbox"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Team(_Frozen):
    """R-3: the whole team is involved; the report names who did what."""

    commander: str = Field(min_length=1, description="runs the gameday and calls aborts")
    scribe: str | None = Field(None, description="keeps the timeline and the notes")
    participants: tuple[str, ...] = ()
    observers: tuple[str, ...] = ()
    owners: dict[str, str] = Field(
        default_factory=dict,
        description="who owns the follow-up actions about an experiment id, a DR playbook, a component "
        "(kind or name) or a service; the commander owns the rest",
    )


class Monitor(_Frozen):
    interval: DurationField = Field(Duration(1.0), description="every SLI is sampled this often")
    baseline: DurationField = Field(Duration(30.0), description="steady state measured before the first fault")
    cooldown: DurationField = Field(Duration(20.0), description="pause between experiments")
    timeout: DurationField = Field(Duration(2.0), description="a sample slower than this counts as bad")


class OnFailure(str, Enum):
    CONTINUE = "continue"
    STOP = "stop"


class Guardrails(_Frozen):
    error_budget: PercentageField | None = Field(
        None, description="share of the monthly error budget the whole gameday may burn"
    )
    abort_when: tuple[str, ...] = Field((), description="SLO names whose breach aborts the running experiment")
    tolerate: DurationField = Field(
        Duration(5.0), description="how long an abort_when SLO may stay in breach before the abort"
    )
    on_abort: OnFailure = Field(OnFailure.CONTINUE, description="after an abort: go on with the next step, or stop")


class Step(_Frozen):
    """One experiment of the gameday: a plain Chaos Toolkit experiment and its parameters."""

    id: str = Field(pattern=SLUG, description="unique within the plan")
    uses: str = Field(min_length=1, description="path of a Chaos Toolkit experiment, relative to the plan")
    with_: dict[str, Any] = Field(
        default_factory=dict,
        alias="with",
        description="configuration values of the experiment (its ${name} placeholders)",
    )
    description: str = ""
    hypothesis: tuple[str, ...] = Field((), description="SLO names that must hold and recover")
    recover_within: DurationField | None = Field(None, description="deadline for the SLOs to recover")
    on_failure: OnFailure = OnFailure.CONTINUE


class DRCheck(_Frozen):
    """R-4: a playbook exercised during the gameday, measured against its RTO/RPO."""

    playbook: str = Field(min_length=1, description="path of a DR playbook, relative to the plan")
    rto: DurationField | None = Field(None, description="overrides the playbook's RTO target")
    rpo: DurationField | None = Field(None, description="overrides the playbook's RPO target")


class ReportFormat(str, Enum):
    HTML = "html"
    MD = "md"
    JSON = "json"
    JUNIT = "junit"


class ReportSettings(_Frozen):
    out: str | None = Field(None, description="folder of the report, relative to the plan; default ../reports/<gameday>")
    formats: tuple[ReportFormat, ...] = (ReportFormat.HTML, ReportFormat.MD, ReportFormat.JSON)


class Webhook(_Frozen):
    webhook: SecretRefField
    channel: str | None = None


class NotifySettings(_Frozen):
    mattermost: Webhook | None = None
    slack: Webhook | None = None


class Plan(_Frozen):
    """A monthly gameday plan."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        title="gameday plan",
        json_schema_extra={"$id": "https://gameday.dev/schema/plan.json"},
    )

    gameday: str = Field(pattern=SLUG, description="the gameday's id, e.g. 2024-05; names the report folder")
    title: str = Field(min_length=1)
    date: dt.date
    environment: str = Field(pattern=SLUG, description="'sandbox', or a named environment; any other needs --confirm ENVIRONMENT, the same name (any case)")
    components: tuple[Component, ...] = Field((), description="R-4: the environment's key components")
    team: Team
    slos: str = Field(min_length=1, description="path of the SLO catalog, relative to the plan")
    monitor: Monitor = Monitor()
    guardrails: Guardrails = Guardrails()
    experiments: tuple[Step, ...] = Field(min_length=1)
    disaster_recovery: tuple[DRCheck, ...] = ()
    report: ReportSettings = ReportSettings()
    notify: NotifySettings = NotifySettings()

    @property
    def is_sandbox(self) -> bool:
        return self.environment == SANDBOX
