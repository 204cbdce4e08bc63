"""`gameday recover reports/<gameday>`: after the orchestrator itself died, undo what it left injected.

Every fault is in the journal with its rollbacks before it is injected
(``fault_armed``). A fault whose rollbacks are not known to have run (no
``rollbacks_completed`` from its experiment, no successful ``rollbacks_played``)
is still open: its rollbacks are played now, in a fresh process, and the journal
records that they were.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from gamedays.engine.experiment_process import ExperimentSpec, run_rollbacks
from gamedays.engine.journal import JOURNAL, Journal, JournalError, read_journal
from gamedays.engine.target import existing_environment
from gamedays.model.errors import GamedayError
from gamedays.model.events import FaultArmed, GamedayStarted, RollbacksPlayed
from gamedays.reporting.analysis import open_faults


class NothingToRecoverFrom(GamedayError):
    exit_code = 2


@dataclass(frozen=True)
class Recovered:
    step: str
    succeeded: bool
    detail: str


def recover(folder: Path, base_env: Mapping[str, str]) -> tuple[Recovered, ...]:
    path = folder / JOURNAL
    if not path.is_file():
        raise NothingToRecoverFrom(f"{folder}: no {JOURNAL} here (give the report folder of a gameday, e.g. reports/2024-05)")
    events = read_journal(path).events
    started = next((e for e in events if isinstance(e, GamedayStarted)), None)
    if started is None:
        raise JournalError(f"{path}: the journal has no gameday_started event")
    still_open = open_faults(events)
    if not still_open:
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
            experiments = folder / "experiments"
            experiments.mkdir(parents=True, exist_ok=True)
            spec = ExperimentSpec(
                experiment=fault.experiment,
                configuration=fault.configuration,
                journal_path=experiments / f"{step}.recover.journal.json",
                log_path=experiments / f"{step}.recover.log",
                env=target.env,
                cwd=Path(fault.experiment_path).parent,
            )
            result = run_rollbacks(spec)
            succeeded = not result.crashed and result.status == "completed"
            detail = "" if succeeded else (result.error or f"status {result.status}")
            journal.append(RollbacksPlayed(at=time.time(), step=step, by="recover", succeeded=succeeded, detail=detail))
            results.append(Recovered(step, succeeded, detail))
    return tuple(results)
