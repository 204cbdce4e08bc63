"""DR verification (R-4): one playbook exercised against the target, its RTO and RPO measured.

A check runs, in order, recording every fact in the journal as it happens:

1. the RPO writer starts stamping writes (sequence, time) into the component;
2. ``backup``: the backups the recovery needs are taken;
3. ``disaster.inject``: the disaster is caused; its end is the start of the RTO;
4. ``steps``: the recovery, in order; automated steps run as one-activity Chaos
   Toolkit experiments in their own process, manual ones are confirmed by a
   person (or recorded as not verified); the first failed step ends the check and
   the system is left as that step left it: no later step runs, nothing pretends
   the recovery worked;
5. ``checks``: polled every interval until they all pass (the end of the RTO) or
   the deadline (twice the RTO, at least RTO + 30 s) passes;
6. the writer stops, what survived is read back: writes lost give the RPO;
7. ``afterwards``: back to normal operations (not part of the RTO).

A Ctrl-C or SIGTERM before the disaster stops the check; after the disaster the
automated recovery steps and ``afterwards`` still run (they are what undoes the
disaster), manual steps are not waited for and the checks get one round.

A rehearsal (:meth:`DRCheck.rehearse`) injects nothing: it takes the backups,
checks that every provider can be found (modules import, functions exist,
programs are on PATH), lists the manual steps, reads every check once and
proves that the writer can write and read back.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence


from gamedays.engine.confirm import Confirmer
from gamedays.engine.dr_writes import WrittenData, can_write_and_read_back, remove_stamps
from gamedays.engine.providers import provider_found
from gamedays.engine.experiment_outcome import read_ctk_journal
from gamedays.engine.experiment_process import ExperimentProcess, ExperimentSpec
from gamedays.model.dr import DROutcome, DRPhase, DRStepKind, DRStepOutcome, judge, rto_seconds
from gamedays.model.events import DRFinished, DRInfo, DRStarted, DRStepDone, DRStepInfo, Event
from gamedays.model.loaded import ResolvedDR
from gamedays.model.playbook import PlaybookCheck, PlaybookStep, activity_experiment, probe_experiment
from gamedays.model.redact import dsn_secrets, scrub, url_secrets
from gamedays.model.slo import SLOCatalog

logger = logging.getLogger(__name__)

POLL = 0.05
MIN_GRACE = 30.0  # the checks get at least RTO + this long before the recovery counts as failed
BACKUP_TIMEOUT = 600.0
OUTPUT_CHARS = 160  # of an activity's output kept as its step's detail (the whole output is in its Chaos Toolkit journal)
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class DRContext:
    """What every DR check of a gameday shares."""

    env: Mapping[str, str]
    report_dir: Path
    catalog: SLOCatalog | None  # None: no check is read (`gameday recover` replays recovery steps only)
    interval: float  # between rounds of checks
    sli_timeout: float
    gameday: str
    record: Callable[[Event], None]
    note: Callable[[str], None]
    interrupted: threading.Event
    confirm: Confirmer


def check_ids(checks: Sequence[ResolvedDR]) -> list[str]:
    """One id per DR check: the playbook file's stem, suffixed -2, -3... when a playbook is used twice."""
    ids: list[str] = []
    for resolved in checks:
        stem = resolved.playbook_path.stem
        candidate, n = stem, 1
        while candidate in ids:
            n += 1
            candidate = f"{stem}-{n}"
        ids.append(candidate)
    return ids


def dr_info(check_id: str, resolved: ResolvedDR) -> DRInfo:
    playbook = resolved.playbook
    steps = tuple(
        DRStepInfo(name=step.name, kind=DRStepKind.AUTOMATED if step.automated is not None else DRStepKind.MANUAL)
        for step in playbook.steps
    )
    return DRInfo(
        id=check_id,
        title=playbook.title,
        playbook=str(resolved.playbook_path),
        component_kind=playbook.covers.kind.value,
        component=playbook.covers.name,
        disaster=playbook.disaster.description,
        rto_seconds=resolved.rto.seconds,
        rpo_seconds=resolved.rpo.seconds if resolved.rpo is not None else None,
        steps=steps,
        writer=playbook.writer.kind.value if playbook.writer is not None else None,
    )


@dataclass(frozen=True)
class _Done:
    outcome: DRStepOutcome
    detail: str = ""
    journal: str = ""


class DRCheck:
    def __init__(self, context: DRContext, check_id: str, resolved: ResolvedDR) -> None:
        self.ctx = context
        self.id = check_id
        self.resolved = resolved
        self.playbook = resolved.playbook
        self.folder = context.report_dir / "dr" / check_id
        self._count = 0
        self._recorded: list[tuple[str, DRStepOutcome]] = []
        self._secrets = tuple(
            secret for value in context.env.values() for secret in (*dsn_secrets(value), *url_secrets(value))
        )

    # ------------------------------------------------------------------ the real thing

    def verify(self) -> DROutcome:
        ctx, playbook = self.ctx, self.playbook
        self.folder.mkdir(parents=True, exist_ok=True)
        run_id = f"{ctx.gameday}-{self.id}-{int(time.time())}"
        written = self._written_data(run_id)
        ctx.record(DRStarted(at=time.time(), check=self.id, writer_run=run_id if written is not None else None))
        outcomes: list[DRStepOutcome] = []
        if written is not None:
            written.start()
        disaster_at: float | None = None
        recovered_at: float | None = None
        failed: str | None = None
        detail = ""
        steps_ok = False
        try:
            failed = self._sequence(DRPhase.BACKUP, playbook.backup, outcomes, stop_on_interrupt=True)
            if failed is None and not ctx.interrupted.is_set():
                failed = self._sequence(DRPhase.DISASTER, playbook.disaster.inject, outcomes, stop_on_interrupt=False)
                disaster_at = time.time()
            if failed is not None:
                detail = f"{failed} failed: nothing after it ran, the system is left as that step left it"
            elif disaster_at is None:
                detail = "interrupted before the disaster: nothing was injected"
            else:
                deadline = time.monotonic() + max(2 * self.resolved.rto.seconds, self.resolved.rto.seconds + MIN_GRACE)
                failed = self._sequence(DRPhase.STEP, playbook.steps, outcomes, stop_on_interrupt=False, deadline=deadline)
                if failed is not None:
                    detail = f"step {failed!r} failed: the later steps did not run and the system is left as that step left it"
                else:
                    steps_ok = True
                    recovered_at = self._await_checks(deadline, outcomes)
                    if recovered_at is None:
                        detail = "the checks did not all pass before the deadline"
        finally:
            rpo = written.finish(disaster_at, recovered_at) if written is not None else None
        if steps_ok:
            after = self._sequence(DRPhase.AFTERWARDS, playbook.afterwards, [], stop_on_interrupt=False)
            if after is not None:
                detail = (detail + "; " if detail else "") + f"afterwards: {after!r} failed, normal operations not restored"
        ctx.record(DRFinished(at=time.time(), check=self.id, disaster_at=disaster_at, recovered_at=recovered_at,
                              failed_step=failed, detail=detail))
        rto = rto_seconds(disaster_at, recovered_at)
        return judge(
            dry=False, interrupted=ctx.interrupted.is_set(), step_outcomes=outcomes, rto=rto,
            rto_target=self.resolved.rto.seconds, rpo=rpo,
            rpo_target=self.resolved.rpo.seconds if self.resolved.rpo is not None else None,
        )

    def _sequence(
        self, phase: DRPhase, steps: Sequence[PlaybookStep], outcomes: list[DRStepOutcome], *,
        stop_on_interrupt: bool, deadline: float | None = None,
    ) -> str | None:
        """Run ``steps`` in order; the name of the first that failed (the rest are recorded as skipped)."""
        for index, step in enumerate(steps):
            if stop_on_interrupt and self.ctx.interrupted.is_set():
                self._skip(phase, steps[index:], "interrupted")
                return None
            started = time.time()
            if step.automated is not None:
                limit = (deadline - time.monotonic()) if deadline is not None else BACKUP_TIMEOUT
                done = self._automated(phase, step, max(limit, 1.0))
            elif self.ctx.interrupted.is_set():
                done = _Done(DRStepOutcome.NOT_VERIFIED, "manual step not confirmed: interrupted")
            else:
                outcome, detail = self.ctx.confirm(f"{self.playbook.title}: {step.name}", step.manual or "", self.ctx.interrupted)
                done = _Done(outcome, detail)
            self._done(phase, step, started, done)
            outcomes.append(done.outcome)
            if done.outcome is DRStepOutcome.FAILED:
                self._skip(phase, steps[index + 1 :], f"{step.name!r} failed")
                return step.name
        return None

    def _automated(self, phase: DRPhase, step: PlaybookStep, limit: float) -> _Done:
        self._count += 1
        name = f"{self._count:02d}-{phase.value}-{_slug(step.name)}"
        spec = ExperimentSpec(
            experiment=activity_experiment(self.playbook, step),
            configuration={},
            journal_path=self.folder / f"{name}.journal.json",
            log_path=self.folder / "activities.log",
            env=self.ctx.env,
            cwd=self.folder,  # backups and the files they name land in the report
        )
        status, error = self._run_child(spec, limit)
        journal = str(spec.journal_path.relative_to(self.ctx.report_dir))
        if error is not None:
            return _Done(DRStepOutcome.FAILED, error, journal)
        ctk = read_ctk_journal(spec.journal_path) or {}
        runs = ctk.get("run") or []
        if status != "completed" or not runs:
            return _Done(DRStepOutcome.FAILED, f"Chaos Toolkit ended with status {status}", journal)
        run = runs[0]
        if run.get("status") != "succeeded":
            return _Done(DRStepOutcome.FAILED, self._clean(_exception(run)), journal)
        return _Done(DRStepOutcome.PASSED, self._clean(_output(run.get("output"))), journal)

    def _run_child(self, spec: ExperimentSpec, limit: float) -> tuple[str, str | None]:
        """Run a one-activity experiment to its end (an interrupt does not cut a recovery short)."""
        process = ExperimentProcess(spec, on_event=lambda event: None)
        process.start()
        end = time.monotonic() + limit
        timed_out = False
        while process.running():
            if not timed_out and time.monotonic() > end:
                process.interrupt()
                timed_out = True
            time.sleep(POLL)
        result = process.wait()
        if timed_out:
            return result.status, f"timed out after {limit:.0f}s"
        if result.crashed:
            return result.status, f"the activity's process crashed: {result.error or 'no reason given'}"
        return result.status, None

    def _await_checks(self, deadline: float, outcomes: list[DRStepOutcome]) -> float | None:
        """Poll every check until a round where all pass; when that round ended, or None at the deadline."""
        started = time.time()
        first_pass: dict[int, float] = {}
        last: dict[int, str] = {}
        recovered: float | None = None
        while True:
            passing = True
            for index, check in enumerate(self.playbook.checks):
                ok, why = self._check(check, index)
                last[index] = why
                if ok:
                    first_pass.setdefault(index, time.time())
                else:
                    passing = False
            if passing:
                recovered = time.time()
                break
            if time.monotonic() > deadline or self.ctx.interrupted.is_set():
                break
            self.ctx.interrupted.wait(self.ctx.interval)
        for index, check in enumerate(self.playbook.checks):
            ok = recovered is not None
            outcome = DRStepOutcome.PASSED if ok else DRStepOutcome.FAILED
            detail = (
                f"passed {first_pass[index] - started:.1f}s after the recovery steps"
                if ok else f"not passing: {last.get(index, 'never read')}"
            )
            self.ctx.record(DRStepDone(at=recovered or time.time(), check=self.id, phase=DRPhase.CHECK,
                                       name=_check_name(check), kind=DRStepKind.AUTOMATED, started=started,
                                       outcome=outcome, detail=detail))
        return recovered

    def _check(self, check: PlaybookCheck, index: int) -> tuple[bool, str]:
        if check.slo is not None:
            from gamedays.sli.measure import measure

            assert self.ctx.catalog is not None, "a DR context without an SLO catalog reads no check"
            slo = self.ctx.catalog.get(check.slo)
            measurement = measure(slo.sli, self.ctx.env, self.ctx.sli_timeout)
            return measurement.good, measurement.error or ("within objective" if measurement.good else "bad sample")
        assert check.probe is not None
        self._count += 1
        spec = ExperimentSpec(
            experiment=probe_experiment(self.playbook, check.probe),
            configuration={},
            journal_path=self.folder / f"check-{index + 1}.journal.json",
            log_path=self.folder / "activities.log",
            env=self.ctx.env,
            cwd=self.folder,
        )
        status, error = self._run_child(spec, max(self.ctx.interval * 10, 30.0))
        if error is not None:
            return False, error
        ctk = read_ctk_journal(spec.journal_path) or {}
        met = (ctk.get("steady_states", {}).get("before") or {}).get("steady_state_met")
        return bool(met) and status == "completed", "probe within tolerance" if met else "probe out of tolerance"

    def _written_data(self, run_id: str) -> WrittenData | None:
        spec = self.playbook.writer
        if spec is None:
            return None
        return WrittenData(spec, self.ctx.env, run_id, self.id, self.ctx.record, self._clean)

    def recover_after_crash(self, writer_run: str | None) -> str | None:
        """The orchestrator died after this check's disaster: play the automated recovery steps and
        ``afterwards`` now (manual ones are left to a person), then remove the stamps its RPO writer
        (run ``writer_run``) left. The name of the step that failed, or None."""
        self.folder.mkdir(parents=True, exist_ok=True)
        failed = self._sequence(DRPhase.STEP, self.playbook.steps, [], stop_on_interrupt=False)
        if failed is None:
            failed = self._sequence(DRPhase.AFTERWARDS, self.playbook.afterwards, [], stop_on_interrupt=False)
        if failed is None and writer_run is not None and self.playbook.writer is not None:
            problem = remove_stamps(self.playbook.writer, self.ctx.env, writer_run)
            if problem is not None:
                failed = f"removing the RPO writer's stamps ({self._clean(problem)})"
        return failed

    # ------------------------------------------------------------------ rehearsal

    def rehearse(self) -> DROutcome:
        """Everything but the disaster: backups, providers, manual steps listed, checks read once, the writer."""
        ctx, playbook = self.ctx, self.playbook
        self.folder.mkdir(parents=True, exist_ok=True)
        ctx.record(DRStarted(at=time.time(), check=self.id, dry=True))
        outcomes: list[DRStepOutcome] = []
        failed: str | None = None
        for step in playbook.backup:
            if ctx.interrupted.is_set():
                break
            started = time.time()
            done = self._automated(DRPhase.PRECHECK, step, BACKUP_TIMEOUT) if step.automated is not None else _manual_listed(step)
            done = _Done(done.outcome, f"backup taken: {done.detail}" if done.outcome is DRStepOutcome.PASSED else done.detail, done.journal)
            self._precheck(f"backup: {step.name}", step, started, done, outcomes)
        for phase, steps in playbook.phases()[1:]:
            for step in steps:
                started = time.time()
                done = _Done(*provider_found(step.automated)) if step.automated is not None else _manual_listed(step)
                self._precheck(f"{phase}: {step.name}", step, started, done, outcomes)
        for index, check in enumerate(playbook.checks):
            started = time.time()
            ok, why = self._check(check, index)
            done = _Done(DRStepOutcome.PASSED if ok else DRStepOutcome.FAILED, why)
            self._record_step(DRPhase.PRECHECK, f"check: {_check_name(check)}", DRStepKind.AUTOMATED, started, done)
            outcomes.append(done.outcome)
        if playbook.writer is not None:
            started = time.time()
            ok, why = can_write_and_read_back(playbook.writer, ctx.env, f"{ctx.gameday}-{self.id}-rehearsal-{int(started)}", self._clean)
            done = _Done(DRStepOutcome.PASSED if ok else DRStepOutcome.FAILED, why)
            self._record_step(DRPhase.PRECHECK, f"RPO writer ({playbook.writer.kind.value})", DRStepKind.AUTOMATED, started, done)
            outcomes.append(done.outcome)
        failed = next((name for name, outcome in self._recorded if outcome is DRStepOutcome.FAILED), None)
        ctx.record(DRFinished(at=time.time(), check=self.id, disaster_at=None, recovered_at=None, failed_step=failed,
                              detail="rehearsal: no disaster was injected"))
        return judge(dry=True, interrupted=ctx.interrupted.is_set(), step_outcomes=outcomes, rto=None,
                     rto_target=self.resolved.rto.seconds, rpo=None, rpo_target=None)

    def _precheck(self, name: str, step: PlaybookStep, started: float, done: _Done, outcomes: list[DRStepOutcome]) -> None:
        kind = DRStepKind.AUTOMATED if step.automated is not None else DRStepKind.MANUAL
        self._record_step(DRPhase.PRECHECK, name, kind, started, done)
        if kind is DRStepKind.AUTOMATED:
            outcomes.append(done.outcome)

    # ------------------------------------------------------------------ journal

    def _done(self, phase: DRPhase, step: PlaybookStep, started: float, done: _Done) -> None:
        kind = DRStepKind.AUTOMATED if step.automated is not None else DRStepKind.MANUAL
        self._record_step(phase, step.name, kind, started, done)

    def _record_step(self, phase: DRPhase, name: str, kind: DRStepKind, started: float, done: _Done) -> None:
        self._recorded.append((name, done.outcome))
        self.ctx.record(DRStepDone(at=time.time(), check=self.id, phase=phase, name=name, kind=kind, started=started,
                                   outcome=done.outcome, detail=done.detail, journal=done.journal))

    def _clean(self, text: str) -> str:
        return scrub(text, self._secrets)

    def _skip(self, phase: DRPhase, steps: Sequence[PlaybookStep], why: str) -> None:
        for step in steps:
            now = time.time()
            self._done(phase, step, now, _Done(DRStepOutcome.SKIPPED, f"not run: {why}"))


def _manual_listed(step: PlaybookStep) -> _Done:
    return _Done(DRStepOutcome.SKIPPED, f"manual, confirmed by a person during the gameday: {step.manual}")


def _check_name(check: PlaybookCheck) -> str:
    if check.slo is not None:
        return f"SLO {check.slo} within objective"
    assert check.probe is not None
    return f"probe {check.probe.get('name', '?')}"


def _exception(run: Mapping[str, Any]) -> str:
    lines = run.get("exception") or []
    text = "".join(lines).strip().splitlines()
    if not text:
        return "the activity failed"
    last = text[-1]
    while last.startswith("chaoslib.exceptions.ActivityFailed: "):
        last = last[len("chaoslib.exceptions.ActivityFailed: "):]
    return last[:500]


def _output(output: Any) -> str:
    if output is None:
        return ""
    text = output if isinstance(output, str) else json.dumps(output, default=str)
    return f"returned {text if len(text) <= OUTPUT_CHARS else text[: OUTPUT_CHARS - 3] + '...'}"


def _slug(name: str) -> str:
    return _SLUG.sub("-", name.lower()).strip("-")[:40] or "step"
