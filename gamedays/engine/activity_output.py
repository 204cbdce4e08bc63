"""Bounded activity output: what a probe or action returned, kept in the Chaos Toolkit journal up to a limit.

A probe printing 50 MB would otherwise make a journal three times that size (the
output, indented, escaped), which the report, the console and ``recover`` then read.
Each activity's ``output`` larger than :data:`OUTPUT_LIMIT` (as JSON) is replaced
in the journal by its first :data:`OUTPUT_LIMIT` characters followed by
:data:`CUT_MARKER` and what was cut; the full output goes to the experiment's
outputs log (``<journal stem>.outputs.log``), itself capped at :data:`LOG_CAP` bytes
(what does not fit is named there, not written).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

OUTPUT_LIMIT = 1024 * 1024  # characters of an activity's output kept in the journal
LOG_CAP = 64 * 1024 * 1024  # bytes of the outputs log, all activities of the run together
CUT_MARKER = "[gameday: output cut]"


def outputs_log_for(journal_path: Path) -> Path:
    """Where the full outputs of the run writing ``journal_path`` go: ``x.journal.json`` -> ``x.journal.outputs.log``."""
    return journal_path.with_name(journal_path.stem + ".outputs.log")


def bound_outputs(journal: dict[str, Any], log_path: Path, limit: int = OUTPUT_LIMIT, cap: int = LOG_CAP) -> dict[str, Any]:
    """``journal`` with every output over ``limit`` cut (in place, and returned); the cut ones in full in ``log_path``."""
    written = 0
    log = None
    try:
        for run in _activity_runs(journal):
            if "output" not in run:
                continue
            text = _as_text(run["output"])
            if len(text) <= limit:
                continue
            name = (run.get("activity") or {}).get("name", "?")
            if log is None:
                log = open(log_path, "w", encoding="utf-8")
            data = f"--- activity {name!r}: {len(text)} characters\n{text}\n"
            if written + len(data.encode("utf-8")) <= cap:
                log.write(data)
                written += len(data.encode("utf-8"))
                where = f"in full in {log_path.name}"
            else:
                log.write(f"--- activity {name!r}: {len(text)} characters, not written: the log is capped at {cap} bytes\n")
                where = f"not kept: {log_path.name} is capped at {cap} bytes"
            run["output"] = f"{text[:limit]}\n{CUT_MARKER} {len(text) - limit} of {len(text)} characters cut; {where}"
    finally:
        if log is not None:
            log.close()
    return journal


def _activity_runs(journal: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every activity run a Chaos Toolkit journal holds: steady-state probes, the method, the rollbacks."""
    states = journal.get("steady_states") or {}
    for when in ("before", "after", "during"):
        state = states.get(when)
        for items in (state if isinstance(state, list) else [state]):
            if isinstance(items, dict):
                yield from (p for p in items.get("probes") or [] if isinstance(p, dict))
    for key in ("run", "rollbacks"):
        yield from (r for r in journal.get(key) or [] if isinstance(r, dict))


def _as_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    try:
        return json.dumps(output, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(output)
