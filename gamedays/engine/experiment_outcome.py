"""What a finished (or crashed) Chaos Toolkit run says about itself, for the orchestrator.

Read from the Chaos Toolkit journal and the child's log: why a run did not
simply complete (activity names and their last error lines), which rollbacks
did not succeed. Nothing here imports chaoslib.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

ERROR_LINES = 5
ERROR_LINE_CHARS = 300
LOG_TAIL_BYTES = 64 * 1024
_ACTIVITY_FAILED = "chaoslib.exceptions.ActivityFailed: "


def read_ctk_journal(path: Path) -> dict[str, Any] | None:
    try:
        journal = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return journal if isinstance(journal, dict) else None


def failure_reason(journal: Mapping[str, Any], status: str, deviated: bool) -> str | None:
    """Why a finished run did not simply complete, from its journal: activity names and last error lines."""
    before = journal.get("steady_states", {}).get("before") or {}
    after = journal.get("steady_states", {}).get("after") or {}
    if status == "completed" and not deviated and before.get("steady_state_met", True):
        return None
    reasons: list[str] = []
    if before and not before.get("steady_state_met", True):
        reasons.append("steady state not met before the method (the method did not run): " + _probe_misses(before))
    if deviated or (after and not after.get("steady_state_met", True)):
        reasons.append("steady state not met after the method: " + _probe_misses(after))
    for run in journal.get("run") or []:
        if run.get("status") != "succeeded":
            reasons.append(_activity_failure(run))
    if status == "interrupted":
        reasons.append("the run was interrupted")
    elif status == "aborted" and len(reasons) == 0:
        reasons.append("the run was aborted by an unexpected error: see the log")
    return "; ".join(reasons) or f"the run ended {status}"


def _probe_misses(state: Mapping[str, Any]) -> str:
    missed = []
    for run in state.get("probes") or []:
        if run.get("status") != "succeeded":
            missed.append(_activity_failure(run))
        elif not run.get("tolerance_met", True):
            missed.append(f"probe '{_name(run)}' out of tolerance")
    return ", ".join(missed) or "no probe named"


def unsuccessful_rollbacks(journal: Mapping[str, Any], declared: int) -> list[str]:
    runs = journal.get("rollbacks") or []
    failed = [_activity_failure(run) for run in runs if run.get("status") != "succeeded"]
    if len(runs) < declared:
        failed.append(f"{declared - len(runs)} of {declared} rollbacks did not run")
    return failed


def _activity_failure(run: Mapping[str, Any]) -> str:
    kind = (run.get("activity") or {}).get("type", "activity")
    lines = [line.strip() for line in run.get("exception") or [] if line.strip()]
    last = lines[-1] if lines else ""
    while last.startswith(_ACTIVITY_FAILED):  # chaoslib wraps the provider's error, once or twice: "failed" says it
        last = last[len(_ACTIVITY_FAILED) :]
    why = f": {last[:ERROR_LINE_CHARS]}" if last else ""
    return f"{kind} '{_name(run)}' {run.get('status', 'failed')}{why}"


def _name(run: Mapping[str, Any]) -> str:
    return str((run.get("activity") or {}).get("name", "?"))


def log_tail(path: Path, offset: int) -> list[str]:
    """The last non-blank lines the child wrote to its log (from ``offset``), shortened."""
    try:
        with open(path, "rb") as log:
            log.seek(max(offset, log.seek(0, os.SEEK_END) - LOG_TAIL_BYTES))
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return [line[:ERROR_LINE_CHARS] for line in lines[-ERROR_LINES:]]
