"""Realistic gameday journals for the report tests, built from the real event models.

The events follow what the engine writes (gamedays/engine/run.py): gameday_started, a
baseline, then per step step_started, fault_armed, the Chaos Toolkit progress, step_finished,
the recovery and cooldown phases, samples of every SLI all along, gameday_finished last.
Samples are good unless a stretch of time is declared bad for that SLO.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from pydantic import BaseModel

from gamedays.journal.io import Journal
from gamedays.model.dr import DRPhase, DRStepKind, DRStepOutcome
from gamedays.model.events import (
    CoverageInfo,
    DRFinished,
    DRInfo,
    DRStarted,
    DRStepDone,
    DRStepInfo,
    DRWrites,
    ExperimentProgress,
    FaultArmed,
    GamedayFinished,
    GamedayStarted,
    GuardrailTripped,
    Interrupted,
    Mode,
    PhaseStarted,
    RollbacksPlayed,
    SampleTaken,
    SLOInfo,
    StepFinished,
    StepInfo,
    StepStarted,
    encode,
)
from gamedays.model.outcomes import Outcome

T0 = 1_716_285_600.0  # 2024-05-21 10:00:00 UTC
MONTH = 30 * 86400.0

CHECKOUT = SLOInfo(name="checkout-availability", service="shop", kind="availability", objective=0.9995,
                   window_seconds=MONTH, source="http")
LATENCY = SLOInfo(name="checkout-latency", service="shop", kind="latency", objective=0.99,
                  window_seconds=MONTH, source="http")
DNS = SLOInfo(name="dns-resolution", service="dns", kind="availability", objective=0.9999,
              window_seconds=MONTH, source="dns")
SLOS = (CHECKOUT, DNS)
EXPERIMENT = {
    "title": "Losing a pod of a deployment does not hurt its users",
    "steady-state-hypothesis": {"title": "pods running", "probes": []},
    "method": [{"type": "action", "name": "terminate-pods",
                "provider": {"type": "python", "module": "chaosk8s.pod.actions", "func": "terminate_pods"}}],
    "rollbacks": [],
}


@dataclass(frozen=True)
class Bad:
    """SLO ``slo`` samples bad from ``start`` to ``end`` (seconds after T0)."""

    slo: str
    start: float
    end: float
    error: str = "POST http://127.0.0.1:40000/orders: HTTP 503"


@dataclass
class Gameday:
    """A journal under construction: events appended in time order by the test's script."""

    steps: Sequence[StepInfo]
    slos: Sequence[SLOInfo] = SLOS
    mode: Mode = Mode.RUN
    interval: float = 1.0
    allowance: float | None = None
    abort_when: tuple[str, ...] = ()
    title: str = "May 2024: the shop under stress"
    commander: str = "alice"
    scribe: str | None = "bob"
    participants: tuple[str, ...] = ("carol", "dave")
    bad: list[Bad] = field(default_factory=list)
    events: list[BaseModel] = field(default_factory=list)
    disaster_recovery: tuple[DRInfo, ...] = ()
    coverage: tuple[CoverageInfo, ...] = ()
    owners: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.events.append(
            GamedayStarted(
                at=T0, gameday="2024-05", title=self.title, date="2024-05-21", plan="plans/2024-05.yaml",
                environment="sandbox", mode=self.mode, commander=self.commander, scribe=self.scribe,
                participants=self.participants, slos=tuple(self.slos), steps=tuple(self.steps),
                interval_seconds=self.interval, budget_allowance=self.allowance, abort_when=self.abort_when,
                tolerate_seconds=2.0, disaster_recovery=self.disaster_recovery, coverage=self.coverage,
                owners=self.owners,
            )
        )
        self.events.append(PhaseStarted(at=T0 + 0.01, phase="baseline", seconds=10.0))

    def add(self, event: BaseModel) -> None:
        self.events.append(event)

    def step(
        self,
        step: str,
        start: float,
        fault_seconds: float,
        *,
        outcome: Outcome = Outcome.PASSED,
        deviated: bool = False,
        after_met: bool = True,
        status: str = "completed",
        dry: bool = False,
        recover: float = 0.0,
        cooldown: float = 5.0,
    ) -> float:
        """A whole step that runs to its end; returns when the next one may start (seconds after T0)."""
        t = T0 + start
        self.add(StepStarted(at=t, step=step))
        self.add(FaultArmed(at=t + 0.01, step=step, experiment_path=f"experiments/{step}.yaml",
                            experiment=EXPERIMENT, configuration={"namespace": "shop"}, dry=dry))
        self.progress(step, t + 0.3, "started")
        self.progress(step, t + 0.31, "hypothesis_before", met=True)
        self.progress(step, t + 0.32, "method_started")
        end = t + 0.32 + fault_seconds
        self.progress(step, end, "method_completed")
        self.progress(step, end + 0.01, "hypothesis_after", met=after_met)
        self.progress(step, end + 0.02, "rollbacks_started")
        self.progress(step, end + 0.03, "rollbacks_completed")
        self.progress(step, end + 0.04, "finished", status=status, deviated=deviated)
        self.add(StepFinished(at=end + 0.08, step=step, outcome=outcome, ctk_status=status, deviated=deviated,
                              journal=f"experiments/{step}.journal.json"))
        after = end + 0.09
        if recover:
            self.add(PhaseStarted(at=after, phase="recovery", step=step, seconds=recover))
            after += recover
        self.add(PhaseStarted(at=after, phase="cooldown", step=step, seconds=cooldown))
        return after + cooldown - T0

    def progress(self, step: str, at: float, kind: str, *, met: bool | None = None, status: str | None = None,
                 deviated: bool | None = None) -> None:
        self.add(ExperimentProgress(at=at, step=step, kind=kind, met=met, status=status, deviated=deviated))  # type: ignore[arg-type]

    def finish(self, at: float, outcome: Outcome, exit_code: int) -> None:
        self.add(GamedayFinished(at=T0 + at, outcome=outcome, exit_code=exit_code))

    def sampled(self, until: float, *, values: bool = True) -> list[SampleTaken]:
        """A sample of every SLO every interval from T0 to T0 + until, bad where declared."""
        samples = []
        for index in range(int(math.floor(until / self.interval)) + 1):
            at = T0 + index * self.interval + 0.005
            for slo in self.slos:
                bad = next((b for b in self.bad if b.slo == slo.name and b.start <= at - T0 < b.end), None)
                samples.append(
                    SampleTaken(at=at, slo=slo.name, good=bad is None, value=_value(slo, at, bad is not None) if values else None,
                                error=bad.error if bad else None, elapsed=0.004)
                )
        return samples

    def lines(self, until: float) -> list[str]:
        everything = sorted([*self.events, *self.sampled(until)], key=lambda e: e.at)  # type: ignore[attr-defined]
        return [encode(e) for e in everything]

    def write(self, folder: Path, until: float) -> Path:
        """The journal, appended (and fsynced) event by event through the engine's Journal."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "journal.jsonl"
        everything = sorted([*self.events, *self.sampled(until)], key=lambda e: e.at)  # type: ignore[attr-defined]
        with Journal(path) as journal:
            for event in everything:
                journal.append(event)
        return path

    def write_fast(self, folder: Path, until: float) -> Path:
        """The same lines as :meth:`write`, in one write: for journals too long to fsync line by line."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "journal.jsonl"
        path.write_text("".join(line + "\n" for line in self.lines(until)), encoding="utf-8")
        return path


def _value(slo: SLOInfo, at: float, bad: bool) -> float:
    wobble = (math.sin(at / 7.0) + 1.0) / 2.0  # deterministic, varies over time
    if slo.source == "kubernetes":
        return 1.0 if bad else 3.0
    if slo.source == "dns":
        return 0.001 + 0.002 * wobble
    return (0.8 if bad else 0.02) + 0.03 * wobble


def info(step: str, title: str = "", hypothesis: tuple[str, ...] = ("checkout-availability",),
         recover_within: float | None = 10.0) -> StepInfo:
    return StepInfo(id=step, title=title or f"The shop survives {step}", experiment=f"experiments/{step}.yaml",
                    hypothesis=hypothesis, recover_within_seconds=recover_within)


# ---------------------------------------------------------------- scenarios


def passing(folder: Path) -> Path:
    """Two steps, short dips recovered well within recover_within."""
    gd = Gameday([info("pod-kill"), info("dns-loss", hypothesis=("dns-resolution",))])
    gd.bad += [Bad("checkout-availability", 12.0, 14.0), Bad("dns-resolution", 24.0, 26.0, "db.shop.internal SRV: no answer")]
    nxt = gd.step("pod-kill", 11.0, 4.0, recover=2.0)  # fault 11.3-15.3 s
    end = gd.step("dns-loss", nxt, 3.0, recover=2.0)  # fault 22.7-25.7 s
    gd.finish(end, Outcome.PASSED, 0)
    return gd.write(folder, end)


def deviated(folder: Path) -> Path:
    """One hypothesis deviates, one recovery misses its deadline, dns-resolution overspends the allowance."""
    gd = Gameday(
        [info("pod-kill"), info("db-failover", hypothesis=("checkout-availability",), recover_within=5.0),
         info("dns-loss", hypothesis=("dns-resolution",))],
        allowance=0.01,
    )
    gd.bad += [
        Bad("checkout-availability", 12.0, 20.0),  # pod-kill: deviated
        Bad("checkout-availability", 32.0, 45.0),  # db-failover: recovers ~10s after the fault: late
        Bad("dns-resolution", 60.0, 100.0, "db.shop.internal SRV: no answer"),  # 40 s of 0.01% budget: >1%
    ]
    nxt = gd.step("pod-kill", 11.0, 4.0, outcome=Outcome.DEVIATED, deviated=True, after_met=False, recover=10.0)
    nxt = gd.step("db-failover", nxt, 3.0, recover=5.0)
    end = gd.step("dns-loss", nxt + 25.0, 3.0, outcome=Outcome.DEVIATED, deviated=True, after_met=False, recover=10.0)
    gd.finish(end + 40.0, Outcome.DEVIATED, 1)
    return gd.write(folder, end + 40.0)


def aborted(folder: Path) -> Path:
    """The guardrail aborts the first step (checkout in breach); the second step still passes."""
    gd = Gameday([info("all-pods", recover_within=None), info("pod-kill")], abort_when=("checkout-availability",))
    gd.bad += [Bad("checkout-availability", 12.0, 16.0)]
    t = T0 + 11.0
    gd.add(StepStarted(at=t, step="all-pods"))
    gd.add(FaultArmed(at=t + 0.01, step="all-pods", experiment_path="experiments/all-pods.yaml", experiment=EXPERIMENT,
                      configuration={}, dry=False))
    gd.progress("all-pods", t + 0.3, "started")
    gd.progress("all-pods", t + 0.32, "method_started")
    gd.add(GuardrailTripped(at=T0 + 15.105, step="all-pods", reason="slo_breach", slo="checkout-availability",
                            breach_started=T0 + 12.005, detected_at=T0 + 15.005,
                            detail="checkout-availability in breach for 3.0s (tolerated: 2s): POST http://127.0.0.1:40000/orders: HTTP 503"))
    gd.progress("all-pods", T0 + 15.12, "rollbacks_started")
    gd.progress("all-pods", T0 + 15.2, "rollbacks_completed")
    gd.progress("all-pods", T0 + 15.21, "finished", status="interrupted", deviated=False)
    gd.add(StepFinished(at=T0 + 15.25, step="all-pods", outcome=Outcome.ABORTED, ctk_status="interrupted", deviated=False,
                        journal="experiments/all-pods.journal.json", detail="aborted by the guardrails; rollbacks played"))
    gd.add(PhaseStarted(at=T0 + 15.3, phase="cooldown", step="all-pods", seconds=5.0))
    end = gd.step("pod-kill", 20.3, 3.0, recover=2.0)
    gd.finish(end, Outcome.DEVIATED, 1)
    return gd.write(folder, end)


def interrupted(folder: Path) -> Path:
    """Ctrl-C during the first step: its rollbacks run, the second step never starts, the journal is closed."""
    gd = Gameday([info("all-pods", recover_within=None), info("pod-kill")])
    gd.bad += [Bad("checkout-availability", 12.0, 14.0)]
    t = T0 + 11.0
    gd.add(StepStarted(at=t, step="all-pods"))
    gd.add(FaultArmed(at=t + 0.01, step="all-pods", experiment_path="experiments/all-pods.yaml", experiment=EXPERIMENT,
                      configuration={}, dry=False))
    gd.progress("all-pods", t + 0.3, "started")
    gd.progress("all-pods", t + 0.32, "method_started")
    gd.progress("all-pods", T0 + 13.5, "rollbacks_started")
    gd.progress("all-pods", T0 + 13.6, "rollbacks_completed")
    gd.progress("all-pods", T0 + 13.61, "finished", status="interrupted", deviated=False)
    gd.add(StepFinished(at=T0 + 13.7, step="all-pods", outcome=Outcome.ABORTED, ctk_status="interrupted", deviated=False,
                        journal="experiments/all-pods.journal.json", detail="interrupted by SIGINT; rollbacks played"))
    gd.add(Interrupted(at=T0 + 13.71, signal="SIGINT"))
    gd.finish(13.8, Outcome.ABORTED, 3)
    return gd.write(folder, 13.5)


def crashed(folder: Path) -> Path:
    """The orchestrator dies (power loss) during the second step's fault: no rollbacks, no step_finished,
    no gameday_finished; the fault is left open."""
    gd = Gameday([info("pod-kill"), info("all-pods", recover_within=None), info("dns-loss", hypothesis=("dns-resolution",))])
    gd.bad += [Bad("checkout-availability", 21.0, 40.0)]
    nxt = gd.step("pod-kill", 11.0, 3.0, recover=1.0)
    t = T0 + nxt
    gd.add(StepStarted(at=t, step="all-pods"))
    gd.add(FaultArmed(at=t + 0.01, step="all-pods", experiment_path="experiments/all-pods.yaml", experiment=EXPERIMENT,
                      configuration={}, dry=False))
    gd.progress("all-pods", t + 0.3, "started")
    gd.progress("all-pods", t + 0.32, "method_started")
    return gd.write(folder, 30.0)


def torn(folder: Path) -> Path:
    """The passing journal whose last line a crash cut short (gameday_finished is lost)."""
    path = passing(folder)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 25])
    return path


def rehearsal(folder: Path) -> Path:
    """A dry run: every step armed dry, nothing injected, every sample good."""
    gd = Gameday([info("pod-kill"), info("dns-loss", hypothesis=("dns-resolution",))], mode=Mode.REHEARSAL)
    nxt = gd.step("pod-kill", 11.0, 0.2, dry=True, recover=1.0)
    end = gd.step("dns-loss", nxt, 0.2, dry=True, recover=1.0)
    gd.finish(end, Outcome.PASSED, 0)
    return gd.write(folder, end)


HOSTILE = '<script>alert("x")</script> & <b>bold</b> | *star* _under_'


def hostile(folder: Path) -> Path:
    """Names and titles full of HTML and Markdown syntax, a link that is not a relative path, a control character."""
    gd = Gameday([info("pod-kill", title=HOSTILE)], title=f"Gameday {HOSTILE}", commander="<img src=x onerror=alert(1)>",
                 participants=("eve <eve@example.org>",),
                 disaster_recovery=(dr_info("restore", title=HOSTILE, component=HOSTILE, kind=HOSTILE),),
                 coverage=(CoverageInfo(kind=HOSTILE, name=HOSTILE, playbooks=()),))
    gd.bad += [Bad("checkout-availability", 12.0, 14.0, error=f"HTTP 503 {HOSTILE}\x07")]
    t = T0 + 11.0
    gd.add(StepStarted(at=t, step="pod-kill"))
    gd.progress("pod-kill", t + 0.32, "method_started")
    gd.progress("pod-kill", t + 3.0, "method_completed")
    gd.progress("pod-kill", t + 3.1, "finished", status="completed", deviated=True)
    gd.add(StepFinished(at=t + 3.2, step="pod-kill", outcome=Outcome.DEVIATED, ctk_status="completed", deviated=True,
                        journal="javascript:alert(1)", detail=f"detail {HOSTILE}\x1b[0m"))
    dr_check(gd, "restore", 15.0, [DRStep(DRPhase.DISASTER, HOSTILE, 0.2),
                                   DRStep(DRPhase.STEP, HOSTILE, 1.0, FAILED, detail=f"{HOSTILE}\x07", journal="javascript:alert(1)")],
             recovered=False, failed_step=HOSTILE, detail=HOSTILE)
    gd.finish(20.0, Outcome.DEVIATED, 1)
    return gd.write(folder, 20.0)


def recovered_after_crash(folder: Path) -> Path:
    """The crashed journal, then `gameday recover` played the open fault's rollbacks."""
    path = crashed(folder)
    with Journal(path) as journal:
        journal.append(RollbacksPlayed(at=T0 + 40.0, step="all-pods", by="recover", succeeded=True))
    return path


# ---------------------------------------------------------------- disaster recovery

PASSED, FAILED, NOT_VERIFIED = DRStepOutcome.PASSED, DRStepOutcome.FAILED, DRStepOutcome.NOT_VERIFIED
AUTO, MANUAL = DRStepKind.AUTOMATED, DRStepKind.MANUAL


def dr_info(check: str, *, title: str = "", kind: str = "database-cluster", component: str = "shop-db",
            rto: float = 60.0, rpo: float | None = 5.0, writer: str | None = "postgres",
            steps: tuple[tuple[str, DRStepKind], ...] = (("promote the replica", AUTO), ("move the DNS record", AUTO))) -> DRInfo:
    return DRInfo(id=check, title=title or f"Recover {component} ({check})", playbook=f"playbooks/{kind}.yaml",
                  component_kind=kind, component=component, disaster=f"{component} is lost", rto_seconds=rto,
                  rpo_seconds=rpo, steps=tuple(DRStepInfo(name=n, kind=k) for n, k in steps), writer=writer)


@dataclass(frozen=True)
class DRStep:
    phase: DRPhase
    name: str
    seconds: float
    outcome: DRStepOutcome = PASSED
    kind: DRStepKind = AUTO
    detail: str = ""
    journal: str = ""


def dr_check(gd: Gameday, check: str, start: float, steps: Sequence[DRStep], *, dry: bool = False,
             writes: tuple[int, int, float | None] | None = None, writer: str = "postgres", writer_error: str | None = None,
             recovered: bool = True, failed_step: str | None = None, detail: str = "", finish: bool = True) -> float:
    """One DR check from ``start`` (seconds after T0): its steps one after the other; the disaster is complete when
    the step of phase DISASTER ends, recovery when the last CHECK ends. ``writes`` = (acknowledged, lost, first lost
    write's offset from the disaster). Returns when the check ended (seconds after T0)."""
    t = T0 + start
    gd.add(DRStarted(at=t, check=check, dry=dry))
    t += 0.05
    disaster_at = recovered_at = None
    for step in steps:
        gd.add(DRStepDone(at=t + step.seconds, check=check, phase=step.phase, name=step.name, kind=step.kind, started=t,
                          outcome=step.outcome, detail=step.detail, journal=step.journal))
        t += step.seconds + 0.01
        if step.phase is DRPhase.DISASTER:
            disaster_at = t - 0.01
        if step.phase is DRPhase.CHECK and step.outcome is PASSED:
            recovered_at = t - 0.01
    if not finish:
        return t - T0
    if writes is not None or writer_error is not None:
        acknowledged, lost, first = writes or (0, 0, None)
        first_lost = disaster_at + first if first is not None and disaster_at is not None else None
        gd.add(DRWrites(at=t, check=check, writer=writer, acknowledged=acknowledged, lost=lost, first_lost_at=first_lost,
                        last_acked_at=t - 0.5, error=writer_error))
    gd.add(DRFinished(at=t + 0.01, check=check, disaster_at=None if dry else disaster_at,
                      recovered_at=recovered_at if recovered and not dry else None, failed_step=failed_step, detail=detail))
    return t + 0.02 - T0


DR_DB = dr_info("database-cluster", title="Lose the primary: promote the replica")
DR_DNS = dr_info("dns", title="Lose the zone's records: restore them from the zone backup", kind="dns", component="shop.internal",
                 rto=30.0, rpo=None, writer=None, steps=(("restore the zone", AUTO), ("tell the on-call", MANUAL)))
DR_K8S = dr_info("kubernetes-cluster", title="Lose the shop namespace: re-apply the manifests", kind="kubernetes-cluster",
                 component="sandbox-cluster", rto=120.0, rpo=None, writer=None, steps=(("apply the manifest backup", AUTO),))
DR_RESTORE = dr_info("database-cluster-2", title="Lose every database node: restore the base backup", rto=120.0, rpo=5.0,
                     steps=(("restore the base backup", AUTO),))
DR_COVERAGE = (
    CoverageInfo(kind="database-cluster", name="shop-db", playbooks=("database-cluster", "database-cluster-2")),
    CoverageInfo(kind="dns", name="shop.internal", playbooks=("dns",)),
    CoverageInfo(kind="kubernetes-cluster", name="sandbox-cluster", playbooks=("kubernetes-cluster",)),
    CoverageInfo(kind="message-queue", name="orders-queue", playbooks=()),
)


def db_steps(recovery: float = 20.0) -> list[DRStep]:
    return [
        DRStep(DRPhase.BACKUP, "base backup", 1.0),
        DRStep(DRPhase.DISASTER, "kill the primary", 0.5),
        DRStep(DRPhase.STEP, "promote the replica", recovery / 2, journal="dr/database-cluster/promote.journal.json"),
        DRStep(DRPhase.STEP, "move the DNS record", recovery / 2 - 1.0),
        DRStep(DRPhase.CHECK, "orders readable", 0.9),
        DRStep(DRPhase.AFTERWARDS, "rebuild the replica", 2.0),
    ]


def disaster_recovery(folder: Path, owners: dict[str, str] | None = None) -> Path:
    """An experiment, then four DR checks: recovered; RTO missed (and a manual step not verified); a failed step;
    RPO missed (a restore from an older backup loses writes). One key component has no playbook."""
    gd = Gameday([info("pod-kill")], disaster_recovery=(DR_DB, DR_DNS, DR_K8S, DR_RESTORE), coverage=DR_COVERAGE,
                 owners=owners or {})
    gd.bad += [Bad("checkout-availability", 12.0, 14.0), Bad("checkout-availability", 26.0, 46.0),
               Bad("dns-resolution", 57.0, 102.0, "db.shop.internal SRV: no answer"),
               Bad("checkout-availability", 170.0, 220.0)]
    nxt = gd.step("pod-kill", 11.0, 4.0, recover=2.0)
    nxt = dr_check(gd, "database-cluster", nxt + 2.0, db_steps(), writes=(240, 0, None)) + 2.0
    nxt = dr_check(gd, "dns", nxt, [
        DRStep(DRPhase.BACKUP, "zone backup", 0.5),
        DRStep(DRPhase.DISASTER, "delete every record", 0.2),
        DRStep(DRPhase.STEP, "restore the zone", 43.0),
        DRStep(DRPhase.STEP, "tell the on-call", 0.0, NOT_VERIFIED, MANUAL, "not confirmed: the run is not interactive"),
        DRStep(DRPhase.CHECK, "records resolve", 1.5),
    ]) + 2.0
    nxt = dr_check(gd, "kubernetes-cluster", nxt, [
        DRStep(DRPhase.BACKUP, "manifest backup", 0.5),
        DRStep(DRPhase.DISASTER, "delete the namespace's workloads", 1.0),
        DRStep(DRPhase.STEP, "apply the manifest backup", 2.0, FAILED, detail="422 Unprocessable Entity: spec.replicas: Invalid value"),
    ], recovered=False, failed_step="apply the manifest backup", detail="step apply the manifest backup failed; "
       "the system was left as it was after the failure") + 2.0
    end = dr_check(gd, "database-cluster-2", nxt + 40.0, [
        DRStep(DRPhase.BACKUP, "base backup", 1.0),
        DRStep(DRPhase.DISASTER, "lose every node", 0.5),
        DRStep(DRPhase.STEP, "restore the base backup", 48.0),
        DRStep(DRPhase.CHECK, "orders readable", 1.0),
    ], writes=(300, 12, -8.0)) + 5.0
    gd.finish(end, Outcome.DEVIATED, 1)
    return gd.write(folder, end)


def dr_crashed(folder: Path) -> Path:
    """The orchestrator dies during the first DR check: it never finishes (aborted), the second never starts (skipped)."""
    gd = Gameday([info("pod-kill")], disaster_recovery=(DR_DB, DR_DNS), coverage=DR_COVERAGE[:2])
    nxt = gd.step("pod-kill", 11.0, 4.0, recover=2.0)
    end = dr_check(gd, "database-cluster", nxt, db_steps()[:3], finish=False)
    return gd.write(folder, end + 1.0)


def dr_rehearsal(folder: Path) -> Path:
    """A rehearsal: each DR check only runs its prechecks (no disaster), and is ready."""
    gd = Gameday([info("pod-kill")], mode=Mode.REHEARSAL, disaster_recovery=(DR_DB, DR_DNS), coverage=DR_COVERAGE[:2])
    nxt = gd.step("pod-kill", 11.0, 0.2, dry=True, recover=1.0)
    nxt = dr_check(gd, "database-cluster", nxt, [DRStep(DRPhase.PRECHECK, "a base backup can be taken", 1.0),
                                                 DRStep(DRPhase.PRECHECK, "the providers import", 0.2)], dry=True)
    end = dr_check(gd, "dns", nxt, [DRStep(DRPhase.PRECHECK, "a zone backup can be taken", 0.3),
                                    DRStep(DRPhase.PRECHECK, "manual step listed: tell the on-call", 0.0, kind=MANUAL)], dry=True)
    gd.finish(end + 1.0, Outcome.PASSED, 0)
    return gd.write(folder, end + 1.0)


def two_hours(folder: Path, *, slis: int = 6, hours: float = 2.0) -> Path:
    """A long gameday: ``slis`` SLIs sampled every second for ``hours``, an experiment every 10 minutes, two DR checks."""
    slos = tuple(
        SLOInfo(name=f"sli-{n}", service="shop", kind="latency" if n % 2 else "availability", objective=0.999,
                window_seconds=MONTH, source=("http", "dns", "kubernetes")[n % 3])
        for n in range(slis)
    )
    seconds = hours * 3600.0
    count = int(seconds // 600) - 1
    steps = [info(f"step-{n}", hypothesis=(slos[0].name, slos[1].name)) for n in range(count)]
    gd = Gameday(steps, slos=slos, allowance=0.05, disaster_recovery=(DR_DB, DR_DNS), coverage=DR_COVERAGE)
    gd.bad += [Bad(slos[0].name, 600.0 * n + 120.0, 600.0 * n + 150.0) for n in range(count)]
    gd.bad += [Bad(slos[1].name, float(s), s + 0.5, "1.2s over 0.5s") for s in range(1000, 1800, 2)]  # flapping
    for n in range(count):
        gd.step(f"step-{n}", 600.0 * n + 110.0, 60.0, recover=10.0, cooldown=30.0)
    nxt = dr_check(gd, "database-cluster", 600.0 * count + 20.0, db_steps(), writes=(240, 0, None))
    dr_check(gd, "dns", nxt + 5.0, [DRStep(DRPhase.DISASTER, "delete every record", 0.2),
                                    DRStep(DRPhase.STEP, "restore the zone", 20.0),
                                    DRStep(DRPhase.CHECK, "records resolve", 1.0)])
    gd.finish(seconds, Outcome.DEVIATED, 1)
    return gd.write_fast(folder, seconds)


def empty(folder: Path) -> Path:
    """A gameday with nothing in it: no SLO, no experiment, no DR check; started and finished."""
    gd = Gameday([], slos=())
    gd.finish(1.0, Outcome.PASSED, 0)
    return gd.write_fast(folder, 1.0)


SCENARIOS = {
    "passing": passing,
    "deviated": deviated,
    "aborted": aborted,
    "interrupted": interrupted,
    "crashed": crashed,
    "torn": torn,
    "rehearsal": rehearsal,
    "hostile": hostile,
    "recovered": recovered_after_crash,
    "dr": disaster_recovery,
    "dr-crashed": dr_crashed,
    "dr-rehearsal": dr_rehearsal,
}
