"""The journal's events: one typed record per line of reports/<gameday>/journal.jsonl.

The report is a pure function of these events, so they record facts as they
happened (what was sampled, when a fault started, what an experiment said),
never conclusions that could be derived later. Every event carries ``at``, the
wall-clock time (seconds since the epoch, UTC) when it happened.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from gamedays.model.dr import DRPhase, DRStepKind, DRStepOutcome
from gamedays.model.outcomes import Outcome

JOURNAL_VERSION = 1


class Mode(str, Enum):
    RUN = "run"
    REHEARSAL = "rehearsal"


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: float


class SLOInfo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    service: str
    kind: str
    objective: float  # a share, e.g. 0.999
    window_seconds: float
    source: str


class StepInfo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    experiment: str  # path, for the report
    hypothesis: tuple[str, ...]
    recover_within_seconds: float | None


class DRStepInfo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: DRStepKind


class DRInfo(BaseModel):
    """One DR check of the plan: a playbook and the targets it is measured against."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str  # unique within the gameday: the playbook file's stem (suffixed -2, -3... when used twice)
    title: str
    playbook: str  # path, for the report
    component_kind: str  # e.g. database-cluster
    component: str  # e.g. shop-db
    disaster: str
    rto_seconds: float
    rpo_seconds: float | None
    steps: tuple[DRStepInfo, ...]
    writer: str | None = None  # what measures RPO (e.g. "postgres"); None: RPO not measured


class AccessInfo(BaseModel):
    """Where the gameday acted: one reach (aws, kubernetes) as the preflight found it (account, cluster)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reach: str
    where: str


class CoverageInfo(BaseModel):
    """R-4: one key component of the environment and the playbooks of the plan that cover it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    name: str
    playbooks: tuple[str, ...]  # DR check ids; empty: not covered


class GamedayStarted(_Event):
    event: Literal["gameday_started"] = "gameday_started"
    version: int = JOURNAL_VERSION
    gameday: str
    title: str
    date: str
    plan: str
    environment: str
    mode: Mode
    commander: str
    scribe: str | None = None
    participants: tuple[str, ...] = ()
    owners: dict[str, str] = Field(default_factory=dict)  # follow-up action owners by subject (plan's team.owners)
    slos: tuple[SLOInfo, ...]
    steps: tuple[StepInfo, ...]
    interval_seconds: float
    budget_allowance: float | None  # share of each SLO's window budget the gameday may burn
    abort_when: tuple[str, ...] = ()
    tolerate_seconds: float = 0.0
    disaster_recovery: tuple[DRInfo, ...] = ()
    coverage: tuple[CoverageInfo, ...] = ()
    access: tuple[AccessInfo, ...] = ()  # the AWS account and Kubernetes cluster the preflight found (engine/access.py)


class SampleTaken(_Event):
    event: Literal["sample"] = "sample"
    slo: str
    good: bool
    value: float | None = None
    error: str | None = None
    elapsed: float = 0.0


class SamplingBehind(_Event):
    """An SLI's schedule fell behind (the machine stalled): ticks were skipped, not sampled late.

    ``at`` is when the monitor noticed; the skipped ticks were due from ``first_skipped`` on,
    one per interval. Their seconds have no sample: the report says so.
    """

    event: Literal["sampling_behind"] = "sampling_behind"
    slo: str
    skipped: int
    first_skipped: float


class PhaseStarted(_Event):
    """Baseline, cooldown, recovery wait: the gameday's own phases between experiments."""

    event: Literal["phase"] = "phase"
    phase: Literal["baseline", "cooldown", "recovery"]
    step: str | None = None
    seconds: float


class StepStarted(_Event):
    event: Literal["step_started"] = "step_started"
    step: str


class FaultArmed(_Event):
    """Written before an experiment may inject anything: with these, its rollbacks can be played later."""

    event: Literal["fault_armed"] = "fault_armed"
    step: str
    experiment_path: str
    experiment: dict[str, Any]  # the Chaos Toolkit body (references to secrets only, never values)
    configuration: dict[str, Any]
    dry: bool = False
    # the working directory the run gave the experiment (its relative files, e.g. a backup, are there);
    # None in journals of earlier versions, whose runs used the report folder's experiments/
    cwd: str | None = None
    # the Chaos Toolkit journal the run writes: recover reads it to see whether the experiment
    # process rolled back itself (its orchestrator gone); None in journals of earlier versions
    ctk_journal: str | None = None


class ExperimentProgress(_Event):
    """What the Chaos Toolkit run reported: hypothesis checks, method and rollbacks start/end."""

    event: Literal["experiment"] = "experiment"
    step: str
    kind: Literal[
        "started",
        "hypothesis_before",
        "method_started",
        "method_completed",
        "hypothesis_after",
        "rollbacks_started",
        "rollbacks_completed",
        "finished",
    ]
    met: bool | None = None
    status: str | None = None
    deviated: bool | None = None


class GuardrailTripped(_Event):
    event: Literal["guardrail"] = "guardrail"
    step: str | None
    reason: Literal["slo_breach", "error_budget"]
    slo: str
    breach_started: float  # the first bad sample of the breach
    detected_at: float  # the sample that crossed the guardrail (at is when the abort was asked)
    detail: str


class RollbacksPlayed(_Event):
    """Rollbacks played outside the experiment's own run: after a crash, or by `gameday recover`."""

    event: Literal["rollbacks_played"] = "rollbacks_played"
    step: str
    by: Literal["engine", "recover", "experiment"]  # "experiment": its own process, its orchestrator gone
    succeeded: bool
    detail: str = ""


class StepFinished(_Event):
    event: Literal["step_finished"] = "step_finished"
    step: str
    outcome: Outcome
    ctk_status: str
    deviated: bool
    journal: str  # the Chaos Toolkit journal, relative to the report folder
    detail: str = ""


class DRStarted(_Event):
    event: Literal["dr_started"] = "dr_started"
    check: str
    dry: bool = False  # rehearsal: prechecks only, no disaster
    writer_run: str | None = None  # the RPO writer's run id (its stamps are named by it): recover removes them


class DRStepDone(_Event):
    """One activity of a DR check, written when it ended (``at``); ``started`` is when it began."""

    event: Literal["dr_step"] = "dr_step"
    check: str
    phase: DRPhase
    name: str
    kind: DRStepKind
    started: float
    outcome: DRStepOutcome
    detail: str = ""
    journal: str = ""  # the Chaos Toolkit journal of an automated step, relative to the report folder


class DRWrites(_Event):
    """RPO as measured by the writer: writes acknowledged during the check, and those missing after recovery."""

    event: Literal["dr_writes"] = "dr_writes"
    check: str
    writer: str
    acknowledged: int
    lost: int
    first_lost_at: float | None = None  # the acknowledgement time of the first lost write
    last_acked_at: float | None = None
    error: str | None = None  # the writer could not read back: RPO not measured


class DRFinished(_Event):
    event: Literal["dr_finished"] = "dr_finished"
    check: str
    disaster_at: float | None  # when the disaster was complete (None: never injected)
    recovered_at: float | None  # when every check passed (None: never, or not measured in a rehearsal)
    failed_step: str | None = None
    detail: str = ""


class NotificationFailed(_Event):
    """A webhook that could not be delivered after its retries (the gameday went on)."""

    event: Literal["notification_failed"] = "notification_failed"
    channel: str  # mattermost, slack
    about: str  # what the message was about, e.g. "gameday_started"
    attempts: int
    error: str  # never the webhook URL


class UploadFailed(_Event):
    """The report folder could not be uploaded to object storage (the gameday went on; retried at the next boundary)."""

    event: Literal["upload_failed"] = "upload_failed"
    location: str  # s3://bucket/prefix
    error: str  # what S3 or the network said; never a credential


class Interrupted(_Event):
    event: Literal["interrupted"] = "interrupted"
    signal: str


class GamedayFinished(_Event):
    event: Literal["gameday_finished"] = "gameday_finished"
    outcome: Outcome
    exit_code: int


Event = Annotated[
    Union[
        GamedayStarted,
        SampleTaken,
        SamplingBehind,
        PhaseStarted,
        StepStarted,
        FaultArmed,
        ExperimentProgress,
        GuardrailTripped,
        RollbacksPlayed,
        StepFinished,
        DRStarted,
        DRStepDone,
        DRWrites,
        DRFinished,
        NotificationFailed,
        UploadFailed,
        Interrupted,
        GamedayFinished,
    ],
    Field(discriminator="event"),
]

EVENT = TypeAdapter(Event)


def encode(event: BaseModel) -> str:
    """One journal line (no newline)."""
    return event.model_dump_json(exclude_none=False)


def decode(line: str) -> Event:
    return EVENT.validate_json(line)
