"""`gameday recover reports/<gameday>`: after the orchestrator itself died, undo what it left injected.

Every fault is in the journal with its rollbacks before it is injected
(``fault_armed``). A fault whose rollbacks are not known to have run (no
``rollbacks_completed`` from its experiment, no successful ``rollbacks_played``)
is still open: its rollbacks are played now, in a fresh process, and the journal
records that they were. One whose experiment declares no rollbacks (a pod kill: its
controller restores the target) has nothing to play: that is recorded, and said.

A DR check whose disaster was injected but which never finished is open too: its
playbook's automated recovery steps and ``afterwards`` are played (manual steps are
left to a person and recorded as not verified), then the stamps its RPO writer left are
removed (the writer's run id is in ``dr_started``), recorded as ``rollbacks_played`` of
``dr/<check>``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Mapping, Sequence

from gamedays.engine.experiment_outcome import read_ctk_journal, unsuccessful_rollbacks
from gamedays.engine.experiment_process import ExperimentSpec, run_rollbacks
from gamedays.journal.io import JOURNAL, Journal, JournalError, read_journal
from gamedays.journal.state import fold
from gamedays.engine.target import ExistingTarget
from gamedays.model.errors import GamedayError
from gamedays.engine.dr import DRCheck, DRContext
from gamedays.loading.plan import load_playbook
from gamedays.model.dr import DRPhase, DRStepOutcome
from gamedays.model.events import DRFinished, DRInfo, DRStarted, DRStepDone, Event, FaultArmed, GamedayStarted, RollbacksPlayed
from gamedays.model.loaded import ResolvedDR
from gamedays.model.plan import DRCheck as PlannedCheck


class NothingToRecoverFrom(GamedayError):
    exit_code = 2


class Recovery(Enum):
    """What recover did for one open fault or DR check."""

    ROLLED_BACK = "rolled back"  # its rollbacks (or recovery steps) played, now or by its own process
    NOTHING_TO_ROLL_BACK = "nothing to roll back"  # its experiment declares no rollbacks
    FAILED = "failed"


#: The journal's detail, and what recover says, for a fault whose experiment declares no rollbacks.
NO_ROLLBACKS = "its experiment declares no rollbacks: nothing to roll back (what it did undoes itself)"


@dataclass(frozen=True)
class Recovered:
    step: str
    recovery: Recovery
    detail: str

    @property
    def succeeded(self) -> bool:
        return self.recovery is not Recovery.FAILED

    @classmethod
    def of(cls, step: str, succeeded: bool, detail: str) -> Recovered:
        return cls(step, Recovery.ROLLED_BACK if succeeded else Recovery.FAILED, detail)


def recover(folder: Path, base_env: Mapping[str, str], existing_environment: ExistingTarget) -> tuple[Recovered, ...]:
    """``existing_environment`` finds the run's environment as it is now, starting nothing (the CLI's lookup)."""
    path = folder / JOURNAL
    if not path.is_file():
        raise NothingToRecoverFrom(f"{folder}: no {JOURNAL} here (give the report folder of a gameday, e.g. reports/2024-05)")
    events = read_journal(path).events
    started = next((e for e in events if isinstance(e, GamedayStarted)), None)
    if started is None:
        raise JournalError(f"{path}: the journal has no gameday_started event")
    still_open = fold(events).open_faults()
    disasters = open_disasters(events)
    if not still_open and not disasters:
        return ()
    target = existing_environment(started.environment, base_env)
    if target is None:
        raise GamedayError(
            "the gameday ran against the sandbox, and no sandbox is running now: its faults went with it. "
            "Start the sandbox the run used (`gameday sandbox up --detach`) only if it survived, "
            "or nothing is left to recover."
        )
    armed = {e.step: e for e in events if isinstance(e, FaultArmed)}
    results = []
    with Journal(path) as journal:
        for step in still_open:
            fault = armed[step]
            if not fault.experiment.get("rollbacks"):
                journal.append(RollbacksPlayed(at=time.time(), step=step, by="recover", succeeded=True, detail=NO_ROLLBACKS))
                results.append(Recovered(step, Recovery.NOTHING_TO_ROLL_BACK, NO_ROLLBACKS))
                continue
            rolled_back = _rolled_back_by_itself(folder, fault)
            if rolled_back is not None:
                journal.append(RollbacksPlayed(at=time.time(), step=step, by="experiment", succeeded=True, detail=rolled_back))
                results.append(Recovered.of(step, True, rolled_back))
                continue
            experiments = folder / "experiments"
            experiments.mkdir(parents=True, exist_ok=True)
            spec = ExperimentSpec(
                experiment=fault.experiment,
                configuration=fault.configuration,
                journal_path=experiments / f"{step}.recover.journal.json",
                log_path=experiments / f"{step}.recover.log",
                env=target.env,
                cwd=run_cwd(folder, fault),
            )
            result = run_rollbacks(spec)
            succeeded = not result.crashed and result.status == "completed"
            detail = "" if succeeded else (result.error or f"status {result.status}")
            journal.append(RollbacksPlayed(at=time.time(), step=step, by="recover", succeeded=succeeded, detail=detail))
            results.append(Recovered.of(step, succeeded, detail))
        writer_runs = {e.check: e.writer_run for e in events if isinstance(e, DRStarted) and not e.dry}
        for info in disasters:
            results.append(_recover_disaster(folder, info, started.gameday, target.env, journal, writer_runs.get(info.id)))
    return tuple(results)


def run_cwd(folder: Path, fault: FaultArmed) -> Path:
    """The working directory the run gave the experiment: journaled since it was, else the report's experiments/.

    The rollbacks find the files the method wrote relative to it (the DNS record's backup).
    A report folder moved since the run keeps its experiments/ beside the journal: used
    when the journaled folder is gone.
    """
    if fault.cwd is not None and Path(fault.cwd).is_dir():
        return Path(fault.cwd)
    return folder / "experiments"


def _rolled_back_by_itself(folder: Path, fault: FaultArmed) -> str | None:
    """Why the step needs no replay: its own process played every rollback (its orchestrator gone), else None.

    That process writes its Chaos Toolkit journal once the rollbacks ran; one written
    before the fault was armed is an earlier run's and proves nothing.
    """
    if fault.ctk_journal is None:
        return None
    path = folder / fault.ctk_journal
    try:
        if path.stat().st_mtime < fault.at:
            return None
    except OSError:
        return None
    journal = read_ctk_journal(path)
    if journal is None or journal.get("status") not in ("interrupted", "completed", "aborted", "failed"):
        return None
    declared = len(fault.experiment.get("rollbacks") or [])
    if len(journal.get("rollbacks") or []) != declared or unsuccessful_rollbacks(journal, declared):
        return None
    return f"its experiment process played its rollbacks itself (Chaos Toolkit journal {fault.ctk_journal}, status {journal.get('status')})"


def open_disasters(events: Sequence[Event]) -> list[DRInfo]:
    """DR checks (not dry) whose disaster was injected, that never finished and were not recovered since."""
    started = next((e for e in events if isinstance(e, GamedayStarted)), None)
    if started is None:
        return []
    live = {e.check for e in events if isinstance(e, DRStarted) and not e.dry}
    struck = {e.check for e in events if isinstance(e, DRStepDone) and e.phase is DRPhase.DISASTER}
    finished = {e.check for e in events if isinstance(e, DRFinished)}
    recovered = {e.step for e in events if isinstance(e, RollbacksPlayed) and e.succeeded}
    return [d for d in started.disaster_recovery
            if d.id in live & struck and d.id not in finished and f"dr/{d.id}" not in recovered]


def _recover_disaster(
    folder: Path, info: DRInfo, gameday: str, env: Mapping[str, str], journal: Journal, writer_run: str | None,
) -> Recovered:
    name = f"dr/{info.id}"
    try:
        playbook = load_playbook(Path(info.playbook))
    except GamedayError as exc:
        detail = f"cannot read the playbook {info.playbook}: {exc}"
        journal.append(RollbacksPlayed(at=time.time(), step=name, by="recover", succeeded=False, detail=detail))
        return Recovered.of(name, False, detail)
    context = DRContext(
        env=env, report_dir=folder, catalog=None, interval=1.0, sli_timeout=2.0, gameday=gameday,
        record=journal.append, note=lambda text: None, interrupted=threading.Event(), confirm=_left_to_a_person,
    )
    resolved = ResolvedDR(check=PlannedCheck(playbook=info.playbook), playbook_path=Path(info.playbook), playbook=playbook)
    failed = DRCheck(context, info.id, resolved).recover_after_crash(writer_run)
    detail = "" if failed is None else f"{failed!r} failed"
    journal.append(RollbacksPlayed(at=time.time(), step=name, by="recover", succeeded=failed is None, detail=detail))
    return Recovered.of(name, failed is None, detail)


def _left_to_a_person(title: str, instruction: str, interrupted: threading.Event) -> tuple[DRStepOutcome, str]:
    return DRStepOutcome.NOT_VERIFIED, "manual step left to a person: gameday recover plays the automated steps only"
