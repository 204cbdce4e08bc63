"""The monthly gameday plan, as written in plans/<month>.yaml.

This model is both the validator of the file and the source of its JSON Schema
(`gameday schema`). References to other files are kept as the relative paths the
author wrote; loading resolves them against the plan's folder.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from gamedays.model.components import Component
from gamedays.model.secrets import SecretRefField
from gamedays.model.units import Duration, PositivePercentageField, TargetField, DurationBounds

_ZERO = Duration(0.0)
_HOUR = Duration(3600.0)
_DAY = Duration(86400.0)
# the monitor keeps 4 measurements per SLO under way: a timeout longer than 4 intervals would queue ticks
TIMEOUT_INTERVALS = 4
IntervalField = Annotated[Duration, DurationBounds(Duration(0.1), _HOUR)]
SampleTimeoutField = Annotated[Duration, DurationBounds(_ZERO, _HOUR, low_open=True)]
BaselineField = Annotated[Duration, DurationBounds(_ZERO, _DAY)]
PauseField = Annotated[Duration, DurationBounds(_ZERO, _HOUR)]

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
    interval: IntervalField = Field(Duration(1.0), description="every SLI is sampled this often (100ms to 1h)")
    baseline: BaselineField = Field(Duration(30.0), description="steady state measured before the first fault (at most 1d)")
    cooldown: PauseField = Field(Duration(20.0), description="pause between experiments (at most 1h)")
    timeout: SampleTimeoutField = Field(
        Duration(2.0), description=f"a sample slower than this counts as bad (above 0s, at most {TIMEOUT_INTERVALS} intervals)"
    )

    @field_validator("timeout")
    @classmethod
    def _timeout_fits_interval(cls, timeout: Duration, info: ValidationInfo) -> Duration:
        interval = info.data.get("interval")
        if isinstance(interval, Duration) and timeout.seconds > TIMEOUT_INTERVALS * interval.seconds:
            limit = Duration(TIMEOUT_INTERVALS * interval.seconds)
            raise ValueError(
                f"{timeout} is not allowed: use a duration longer than 0s and at most {limit} "
                f"({TIMEOUT_INTERVALS} times monitor.interval {interval})"
            )
        return timeout


class OnFailure(str, Enum):
    CONTINUE = "continue"
    STOP = "stop"


class Guardrails(_Frozen):
    error_budget: PositivePercentageField | None = Field(
        None, description="share of the monthly error budget the whole gameday may burn"
    )
    abort_when: tuple[str, ...] = Field((), description="SLO names whose breach aborts the running experiment")
    tolerate: PauseField = Field(
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
    recover_within: TargetField | None = Field(None, description="deadline for the SLOs to recover")
    on_failure: OnFailure = OnFailure.CONTINUE


class DRCheck(_Frozen):
    """R-4: a playbook exercised during the gameday, measured against its RTO/RPO."""

    playbook: str = Field(min_length=1, description="path of a DR playbook, relative to the plan")
    rto: TargetField | None = Field(None, description="overrides the playbook's RTO target")
    rpo: TargetField | None = Field(None, description="overrides the playbook's RPO target")


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
    environment_on_this_host: bool = Field(
        False,
        description="true when the environment runs on the machine that runs gameday (e.g. a gameday run on "
        "the database host itself): only then may a step or playbook with reach local-host run outside the sandbox",
    )
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
