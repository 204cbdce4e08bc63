"""`gameday run` and `gameday rehearse`: one whole monthly plan, from the first baseline sample
to the last recovery, leaving a complete journal.

The orchestrator samples every SLI itself (:mod:`.monitor`), runs each
experiment in its own process with rollbacks always played
(:mod:`.experiment_process`), aborts through the guardrails, and records every
fact in the journal before acting on it: a fault is armed (with its rollbacks)
before it can be injected. SIGINT/SIGTERM interrupt the running experiment,
whose rollbacks run; a second Ctrl-C does not skip them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Mapping, Sequence, TextIO


from gamedays.engine.access import Access, check_access, reaches_of
from gamedays.engine.confirm import Confirmer, TerminalConfirmer, unattended
from gamedays.engine.dr import DRCheck, DRContext, check_ids
from gamedays.engine.experiment_process import ChildEvent, ExperimentProcess, ExperimentSpec, run_rollbacks
from gamedays.engine.guardrails import Guardrails
from gamedays.journal.io import JOURNAL, Journal, JournalError
from gamedays.journal.state import GamedayState
from gamedays.journal.verdict import Verdict, experiment_outcome, run_verdict
from gamedays.engine.monitor import Monitor
from gamedays.journal.delivery import Delivery
from gamedays.engine.progress import Progress
from gamedays.engine.sources import check_expanded_sources
from gamedays.engine.started import gameday_started
from gamedays.engine.target import Target
from gamedays.model.errors import GamedayError
from gamedays.model.events import (
    Event,
    ExperimentProgress,
    FaultArmed,
    GamedayFinished,
    GuardrailTripped,
    Interrupted,
    Mode,
    PhaseStarted,
    RollbacksPlayed,
    SampleTaken,
    SamplingBehind,
    StepFinished,
    StepStarted,
)
from gamedays.model.loaded import LoadedPlan, ResolvedStep
from gamedays.model.measurement import Measurement
from gamedays.model.outcomes import ExitCode, Outcome
from gamedays.model.plan import OnFailure
from gamedays.model.redact import redact_document

POLL = 0.05
logger = logging.getLogger(__name__)


class _Stop(Enum):
    """How the plan's steps ended."""

    NONE = "none"  # every step ran
    FINDING = "finding"  # a step's finding with on_failure: stop: the plan stopped there (exit 1)
    ABORTED = "aborted"  # interrupted, the guardrails with on_abort: stop, the error budget spent (exit 3)


class PreflightFailed(GamedayError):
    exit_code = ExitCode.ABORTED


@dataclass(frozen=True)
class RunResult:
    verdict: Verdict  # what gameday_finished records: the outcome and the exit code
    state: GamedayState  # the final state of the fold over the journal (every sample kept)
    journal: Path


class Orchestrator:
    def __init__(
        self,
        loaded: LoadedPlan,
        target: Target,
        *,
        mode: Mode = Mode.RUN,
        report_dir: Path | None = None,
        out: TextIO | None = None,
        live: bool = False,
        preflight_timeout: float = 20.0,
        delivery: Delivery | None = None,
        answers: TextIO | None = None,
        before_injection: Callable[[], object] | None = None,
    ) -> None:
        self.loaded = loaded
        self.plan = loaded.plan
        self.target = target
        self.mode = mode
        self.report_dir = report_dir or loaded.report_dir
        self._preflight_timeout = preflight_timeout
        self._slos = loaded.slos_in_use()
        guard = self.plan.guardrails
        self.guardrails = Guardrails(
            abort_when=guard.abort_when,
            tolerate=guard.tolerate.seconds,
            allowance=guard.error_budget.fraction if guard.error_budget else None,
        )
        # the fold of every event recorded: the guardrails' and the verdict's; folded under _recording
        self._state = GamedayState()
        self._recording = threading.Lock()
        # the listeners (notifications, metrics, logs, the terminal): told every event once it is journaled
        self._delivery = delivery if delivery is not None else Delivery()
        progress = Progress(out, live=live, read=self._delivery.read) if out is not None else None
        if progress is not None:
            progress.subscribe(self._delivery.hooks)
        self._progress = progress
        self._note: Callable[[str], None] = progress.note if progress is not None else (lambda text: None)
        self._interrupted = threading.Event()
        self._signal_name = ""
        self._signals_seen = 0
        self._signals_reported = 0
        self._journal: Journal | None = None
        # manual DR steps are confirmed by a person at the terminal; without one they are not verified
        self._confirm: Confirmer = unattended
        if answers is not None and out is not None:
            self._confirm = TerminalConfirmer(answers, out, pause=progress.paused if progress is not None else None)
        self._dr_ids = check_ids(loaded.disaster_recovery)
        # once a fault is journaled, before it can be injected (the stored journal's upload: bounded, never fails)
        self._before_injection = before_injection

    # ------------------------------------------------------------------ public

    def run(self) -> RunResult:
        """Run the plan; the journal is complete when this returns, also after an interrupt."""
        previous = self._install_signal_handlers()
        try:
            with contextlib.ExitStack() as stack:
                if self._progress is not None:
                    stack.enter_context(self._progress)
                self._delivery.start()
                stack.callback(self._delivery.stop)  # every event delivered before the panel goes
                return self._run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # ------------------------------------------------------------------ phases

    def _run(self) -> RunResult:
        check_expanded_sources(self.loaded.catalog_path, self.loaded.catalog.slos, self._slos, self.target.env)
        monitor_settings = self.plan.monitor
        monitor = Monitor(
            self._slos,
            self.target.env,
            interval=monitor_settings.interval.seconds,
            timeout=monitor_settings.timeout.seconds,
            sink=self._on_sample,
            on_behind=self._on_behind,
        )
        access = self._preflight(monitor)
        path = _fresh_journal(self.report_dir)
        self._journal = Journal(path)
        stopped_early = False  # aborted before the end: interrupted, the guardrails, the budget
        escaped: int | None = None  # the exit code of an error that escaped the loop: the process exits with it
        try:
            self._record(gameday_started(self.loaded, self.mode, self._slos, self._dr_ids, access))
            monitor.start()
            if self._phase("baseline", None, monitor_settings.baseline.seconds):
                stop = self._steps()
                stopped_early = stop is _Stop.ABORTED
                if stop is _Stop.NONE:
                    stopped_early = self._disaster_recovery()
            else:
                stopped_early = True
        except BaseException as exc:
            # a SystemExit in here is no decision of gameday's (its CLI exits outside the run): a plugin's sys.exit()
            if isinstance(exc, GamedayError):
                escaped = int(exc.exit_code)  # one of ours, with its own code (the CLI exits with it)
            elif not isinstance(exc, KeyboardInterrupt):
                escaped = int(ExitCode.INTERNAL)  # a bug of ours or of a plugin
            raise
        finally:
            monitor.stop(drain=monitor_settings.timeout.seconds + 1)
            if self._interrupted.is_set():
                self._report_signals()
                self._record(Interrupted(at=time.time(), signal=self._signal_name))
            with self._recording:
                verdict = run_verdict(self._state, stopped_early=stopped_early, escaped=escaped)
            self._record(GamedayFinished(at=time.time(), outcome=verdict.outcome, exit_code=int(verdict.exit_code)))
            self._journal.close()
        return RunResult(verdict, self._state, path)

    def _preflight(self, monitor: Monitor) -> tuple[Access, ...]:
        """Where the plan acts can be reached (engine/access.py), and every SLI answers within objective before
        any fault (retried briefly: a fresh sandbox warms up). Returns where it acts."""
        access = check_access(reaches_of(self.loaded), self.target.env)
        for found in access:
            self._note(f"acts on {found.describe()}")
        refused = [found for found in access if found.problem is not None]
        if refused:
            lines = "\n".join(f"  {found.describe()}" for found in refused)
            raise PreflightFailed(f"preflight: cannot act where the plan acts, so no fault was injected:\n{lines}")
        deadline = time.monotonic() + self._preflight_timeout
        failing: dict[str, Measurement] = {}
        while True:
            failing = {}
            for slo in self._slos:
                measurement = monitor.sample_once(slo)
                if not measurement.good:
                    failing[slo.name] = measurement
            if not failing or time.monotonic() > deadline or self._interrupted.is_set():
                break
            time.sleep(0.5)
        if failing:
            lines = "\n".join(f"  {name}: {m.error or 'bad sample'}" for name, m in failing.items())
            raise PreflightFailed(
                f"preflight: these SLIs are not within objective on {self.target.description}, "
                f"so no fault was injected:\n{lines}"
            )
        return access

    def _steps(self) -> _Stop:
        """Run every step; say whether the plan went on to its end, stopped on a finding, or was aborted.

        A step that deviates or errors with ``on_failure: stop`` ends the plan there: the rest is
        skipped, and the gameday's outcome is that finding's (exit 1), not an abort. A guardrail
        abort with ``on_abort: stop``, a spent error budget or an interrupt is an abort (exit 3).
        Either way the stopping step's recovery window is still measured: its rollbacks restored
        the target, and "did not recover in time" would be a false finding.
        """
        steps = self.loaded.steps
        for index, resolved in enumerate(steps):
            if self._interrupted.is_set():
                return _Stop.ABORTED
            with self._recording:
                exhausted = self.guardrails.budget_exhausted(self._state)
            if exhausted is not None:
                self._note(f"error budget allowance spent ({exhausted.detail}): the remaining experiments are skipped")
                for rest in steps[index:]:
                    self._skip(rest, f"skipped: {exhausted.detail}")
                return _Stop.ABORTED
            outcome = self._step(resolved)
            if self._interrupted.is_set():
                return _Stop.ABORTED
            stop, why = _Stop.NONE, ""
            if outcome is Outcome.ABORTED and self.plan.guardrails.on_abort is OnFailure.STOP:
                stop, why = _Stop.ABORTED, "skipped: the guardrails stopped the gameday (on_abort: stop)"
            elif outcome in (Outcome.ERROR, Outcome.DEVIATED) and resolved.step.on_failure is OnFailure.STOP:
                stop, why = _Stop.FINDING, f"skipped: {resolved.step.id} {outcome.value} and its on_failure is stop"
            if not self._recover(resolved):
                return _Stop.ABORTED  # interrupted during the recovery window or the cooldown
            if stop is not _Stop.NONE:
                for rest in steps[index + 1 :]:
                    self._skip(rest, why)
                if stop is _Stop.FINDING and self.loaded.disaster_recovery:
                    self._note(f"{resolved.step.id} {outcome.value} and its on_failure is stop: the DR checks are not run")
                return stop
        return _Stop.NONE

    def _disaster_recovery(self) -> bool:
        """Run (or, in a rehearsal, precheck) every DR check in order; True when interrupted.

        The guardrails are not armed during a DR check: its disaster breaks the
        SLOs on purpose, and its own deadline (twice the RTO) bounds it.
        """
        context = DRContext(
            env=self.target.env,
            report_dir=self.report_dir,
            catalog=self.loaded.catalog,
            interval=self.plan.monitor.interval.seconds,
            sli_timeout=self.plan.monitor.timeout.seconds,
            gameday=self.plan.gameday,
            record=self._record,
            note=self._note,
            interrupted=self._interrupted,
            confirm=self._confirm,
        )
        for check_id, resolved in zip(self._dr_ids, self.loaded.disaster_recovery):
            if self._interrupted.is_set():
                return True
            check = DRCheck(context, check_id, resolved)
            outcome = check.rehearse() if self.mode is Mode.REHEARSAL else check.verify()
            self._note(f"DR {check_id}: {outcome.value}")
            self._report_signals()
        return self._interrupted.is_set()

    def _step(self, resolved: ResolvedStep) -> Outcome:
        step = resolved.step
        folder = self.report_dir / "experiments"
        folder.mkdir(parents=True, exist_ok=True)
        spec = ExperimentSpec(
            experiment=dict(resolved.experiment),
            configuration=dict(step.with_),
            journal_path=folder / f"{step.id}.journal.json",
            log_path=folder / f"{step.id}.log",
            env=self.target.env,
            dry=self.mode is Mode.REHEARSAL,
            cwd=folder,  # relative files an experiment writes (backups) land in the report
        )
        self._record(StepStarted(at=time.time(), step=step.id))
        self._record(
            FaultArmed(
                at=time.time(),
                step=step.id,
                experiment_path=str(resolved.experiment_path),
                experiment=redact_document(dict(resolved.experiment)),  # references stay, values never
                configuration=redact_document(dict(step.with_)),
                dry=spec.dry,
                cwd=str(folder.absolute()),
                ctk_journal=str(spec.journal_path.relative_to(self.report_dir)),
            )
        )
        if self._before_injection is not None and not spec.dry:
            self._before_injection()
        self.guardrails.arm()
        process = ExperimentProcess(spec, on_event=lambda event: self._on_child(step.id, event))
        process.start()
        try:
            aborted = self._watch(step.id, process)
        except BaseException:  # an internal error: the fault must still be undone before it propagates
            process.interrupt()
            process.wait()
            raise
        result = process.wait()
        self._report_signals()
        self.guardrails.disarm()
        detail = ""
        if result.crashed:
            detail = f"the experiment's process crashed: {result.error or 'no reason given'}"
            if not spec.dry:
                replay = run_rollbacks(spec)
                self._record(
                    RollbacksPlayed(
                        at=time.time(), step=step.id, by="engine", succeeded=not replay.crashed and replay.status == "completed",
                        detail=replay.error or "",
                    )
                )
        outcome = experiment_outcome(result.status, result.deviated, result.crashed, aborted, self._interrupted.is_set())
        if self._steady_state_missed(step.id) and outcome is Outcome.PASSED:  # chaoslib still says "completed"
            outcome = Outcome.ERROR
            detail = "the steady-state hypothesis was not met before the fault, so the method did not run"
        if aborted and not detail:
            detail = "aborted by the guardrails; rollbacks played"
        elif self._interrupted.is_set() and not detail:
            detail = f"interrupted by {self._signal_name}; rollbacks played"
        elif outcome is Outcome.ERROR and not detail:
            detail = result.error or f"Chaos Toolkit ended with status {result.status}"
        self._record(
            StepFinished(
                at=time.time(), step=step.id, outcome=outcome, ctk_status=result.status, deviated=result.deviated,
                journal=str(spec.journal_path.relative_to(self.report_dir)), detail=detail,
            )
        )
        return outcome

    def _watch(self, step: str, process: ExperimentProcess) -> bool:
        """Poll the running experiment: guardrails and signals interrupt it. True when the guardrails aborted it."""
        aborted = False
        while process.running():
            if not aborted and self.guardrails.tripped.is_set():
                trip = self.guardrails.trip
                assert trip is not None
                process.interrupt()
                aborted = True
                self._record(
                    GuardrailTripped(
                        at=time.time(), step=step, reason=trip.reason, slo=trip.slo,
                        breach_started=trip.breach_started, detected_at=trip.detected_at, detail=trip.detail,
                    )
                )
            if self._interrupted.is_set():
                self._report_signals()
                process.interrupt()
            time.sleep(POLL)
        return aborted

    def _recover(self, resolved: ResolvedStep) -> bool:
        """Wait for the step's SLOs to be back (up to recover_within), then the cooldown. False if interrupted."""
        step = resolved.step
        cooldown = self.plan.monitor.cooldown.seconds
        deadline = (step.recover_within.seconds if step.recover_within else 0.0)
        if deadline and step.hypothesis:
            self._record(PhaseStarted(at=time.time(), phase="recovery", step=step.id, seconds=deadline))
            end = time.monotonic() + deadline
            interval = self.plan.monitor.interval.seconds
            time.sleep(min(interval * 1.5, deadline))  # a fresh sample of every SLO
            while time.monotonic() < end and not self._interrupted.is_set():
                if self._all_good(step.hypothesis):
                    break
                time.sleep(POLL)
        return self._phase("cooldown", step.id, cooldown)

    def _phase(self, phase: str, step: str | None, seconds: float) -> bool:
        """Wait ``seconds`` (interruptible); False when interrupted."""
        if seconds <= 0:
            return not self._interrupted.is_set()
        self._record(PhaseStarted(at=time.time(), phase=phase, step=step, seconds=seconds))
        interrupted = self._interrupted.wait(seconds)
        self._report_signals()
        return not interrupted

    def _skip(self, resolved: ResolvedStep, detail: str) -> None:
        self._record(
            StepFinished(at=time.time(), step=resolved.step.id, outcome=Outcome.SKIPPED, ctk_status="skipped",
                         deviated=False, journal="", detail=detail)
        )

    # ------------------------------------------------------------------ events

    def _on_sample(self, slo: str, measurement: Measurement, at: float) -> None:
        self._record(SampleTaken(at=at, slo=slo, good=measurement.good, value=measurement.value,
                                 error=measurement.error, elapsed=measurement.elapsed))

    def _on_behind(self, slo: str, skipped: int, first_skipped: float) -> None:
        self._record(SamplingBehind(at=time.time(), slo=slo, skipped=skipped, first_skipped=first_skipped))

    def _on_child(self, step: str, event: ChildEvent) -> None:
        self._record(ExperimentProgress(at=event.at, step=step, kind=event.kind, met=event.met,
                                        status=event.status, deviated=event.deviated))

    def _all_good(self, slos: Sequence[str]) -> bool:
        """Every one of ``slos`` sampled good last (the fold's view, under the recording lock)."""
        with self._recording:
            lasts = [self._state.slos[name].last if name in self._state.slos else None for name in slos]
        return all(last is not None and last.good for last in lasts)

    def _steady_state_missed(self, step: str) -> bool:
        """The experiment reported its steady state not met before the fault, so its method did not run."""
        with self._recording:
            before = self._state.steps[step].progress.get("hypothesis_before") if step in self._state.steps else None
        return before is not None and before.met is False

    def record_external(self, event: Event) -> bool:
        """Journal an event from outside the orchestrator (a notification given up); False once the journal is closed."""
        journal = self._journal
        if journal is None or journal.closed:
            return False
        try:
            self._record(event)
        except JournalError:  # closed between the check and the write
            return False
        return True

    def _record(self, event: Event) -> None:
        """Journal the event, fold it into the state, let the guardrails judge a sample; then tell the listeners."""
        with self._recording:
            if self._journal is not None:
                self._journal.append(event)
            self._state.apply(event)
            if isinstance(event, SampleTaken):
                self.guardrails.observe(self._state, event)
            self._delivery.put(event)  # under the lock: the listeners see the journal's order

    # ------------------------------------------------------------------ signals

    def _install_signal_handlers(self) -> dict[signal.Signals, _Handler]:
        """SIGINT/SIGTERM/SIGHUP set flags only (no I/O, no lock in a handler); the main loop reports them.

        SIGHUP (the terminal or SSH session went away) is handled as SIGTERM is: rollbacks, journal closed.
        """
        previous = {sig: signal.getsignal(sig) for sig in INTERRUPTING_SIGNALS}

        def handler(signum: int, frame: FrameType | None) -> None:
            if not self._interrupted.is_set():
                self._signal_name = signal.Signals(signum).name
                self._interrupted.set()
            self._signals_seen += 1

        for sig in previous:
            signal.signal(sig, handler)
        return previous

    def _report_signals(self) -> None:
        """Say what the signals received since the last call do (called from the main loop)."""
        while self._signals_reported < self._signals_seen:
            if self._signals_reported == 0:
                self._note(f"{self._signal_name}: interrupting the running experiment; its rollbacks run before gameday exits")
            else:
                self._note(f"{self._signal_name} again: the rollbacks under way still run to their end; the journal closes after them")
            self._signals_reported += 1


INTERRUPTING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def _fresh_journal(folder: Path) -> Path:
    """The run's journal path; a journal left by an earlier run is kept under a timestamped name.

    The caller holds the folder's lock (:class:`gamedays.engine.report_lock.ReportLock`, taken by
    the cli's run, rehearse and recover), so the journal renamed here never has a live writer.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / JOURNAL
    if path.exists():
        stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(path.stat().st_mtime))
        os.replace(path, folder / f"journal.{stamp}.jsonl")
    return path


def base_environment() -> Mapping[str, str]:
    return dict(os.environ)
