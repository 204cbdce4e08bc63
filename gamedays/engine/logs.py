"""The logs of a run: human lines (the default) or one JSON object per line, and the events told as log lines.

JSON lines carry ``time`` (ISO 8601, UTC), ``level``, ``gameday``, ``step``,
``event``, ``message``: the same fields on every line, null when not known.
:class:`EventLog` is a journal listener that logs each event with a message a
person understands; samples are not logged one by one, an SLO's breach and its
recovery are. Every line is scrubbed of the secrets the run knows of and of any
password in a URL-shaped connection string.
"""

from __future__ import annotations

import datetime as dt
import enum
import faulthandler
import json
import logging
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Iterable, Mapping, TextIO

from pydantic import BaseModel

from gamedays.journal.delivery import Hooks
from gamedays.journal.state import GamedayState
from gamedays.model.events import (
    DRFinished,
    DRStarted,
    DRStepDone,
    DRWrites,
    ExperimentProgress,
    FaultArmed,
    GamedayFinished,
    GamedayStarted,
    GuardrailTripped,
    Interrupted,
    NotificationFailed,
    UploadFailed,
    PhaseStarted,
    RollbacksPlayed,
    SampleTaken,
    SamplingBehind,
    StepFinished,
    StepStarted,
)
from gamedays.model.redact import MASK, dsn_secrets, scrub

HUMAN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
EVENTS_LOGGER = "gamedays.run"
_USERINFO_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)(?P<secret>[^@\s/]+)@")
_KEYWORD_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


class LogFormat(str, enum.Enum):
    HUMAN = "human"
    JSON = "json"


class Secrets:
    """What must never reach a log line; grows when the target's environment is known (thread-safe)."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: tuple[str, ...] = tuple(v for v in values if v)

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            self._values = tuple(dict.fromkeys([*self._values, *(v for v in values if v and len(v) >= 4)]))

    def scrub(self, text: str) -> str:
        text = scrub(text, self._values)
        text = _USERINFO_PASSWORD.sub(lambda m: m.group("head") + MASK + "@", text)
        return _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + MASK, text)


def environment_secrets(env: Mapping[str, str]) -> list[str]:
    """Passwords in connection strings and URLs of an environment (DATABASE_URL and the like)."""
    found: list[str] = []
    for value in env.values():
        if "://" in value or "password=" in value.lower():
            found.extend(dsn_secrets(value))
    return found


class _Fields(logging.Filter):
    """Gives every record the fields of a JSON line, and scrubs its message."""

    def __init__(self, gameday: str | None, secrets: Secrets) -> None:
        super().__init__()
        self._gameday = gameday
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.gameday = getattr(record, "gameday", None) or self._gameday
        record.step = getattr(record, "step", None)
        record.event = getattr(record, "event", None)
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        scrubbed = self._secrets.scrub(message)
        record.msg, record.args = scrubbed, None
        if record.exc_text:
            record.exc_text = self._secrets.scrub(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_text:
            message = f"{message}\n{record.exc_text}"
        line = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "gameday": getattr(record, "gameday", None),
            "step": getattr(record, "step", None),
            "event": getattr(record, "event", None),
            "message": message,
            "logger": record.name,
        }
        return json.dumps(line, ensure_ascii=False)


DUMP_SIGNAL = signal.SIGUSR1  # a stuck gameday tells where each of its threads is


class RunLogging:
    """The run's log handlers on the root logger; ``close()`` takes them off again."""

    def __init__(self, path: Path, fmt: LogFormat, gameday: str | None, *, stream: TextIO | None = None) -> None:
        self.secrets = Secrets()
        self.format = fmt
        path.parent.mkdir(parents=True, exist_ok=True)
        formatter: logging.Formatter = JsonFormatter() if fmt is LogFormat.JSON else logging.Formatter(HUMAN)
        fields = _Fields(gameday, self.secrets)
        self._handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8")]
        if fmt is LogFormat.JSON:  # for log shippers: the run's lines on stderr too (stdout stays the progress)
            self._handlers.append(logging.StreamHandler(stream or sys.stderr))
        root = logging.getLogger()
        for handler in self._handlers:
            handler.setFormatter(formatter)
            handler.addFilter(fields)
            handler.setLevel(logging.INFO)
            root.addHandler(handler)
        if root.level == logging.NOTSET or root.level > logging.INFO:
            root.setLevel(logging.INFO)
        self._dump = self._dump_threads_on(DUMP_SIGNAL)

    def _dump_threads_on(self, sig: signal.Signals) -> bool:
        """``kill -USR1 <pid>`` appends every thread's stack to the log (file, line, function: never a value)."""
        stream = getattr(self._handlers[0], "stream", None)
        if threading.current_thread() is not threading.main_thread() or stream is None:
            return False
        try:
            faulthandler.register(sig, file=stream, all_threads=True)
        except (ValueError, OSError, RuntimeError):  # no such signal here, or no file descriptor
            return False
        return True

    def close(self) -> None:
        if self._dump:
            faulthandler.unregister(DUMP_SIGNAL)
            self._dump = False
        root = logging.getLogger()
        for handler in self._handlers:
            root.removeHandler(handler)
            handler.close()
        self._handlers = []


class EventLog:
    """A listener: one log line per meaningful event (an SLO's breach and recovery, not every sample)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger(EVENTS_LOGGER)

    def subscribe(self, hooks: Hooks) -> None:
        hooks.on(SampleTaken, self._sample)
        for kind in DESCRIBED:
            hooks.on(kind, self._described)

    def _described(self, event: Any, state: GamedayState) -> None:
        said = describe(event)
        if said is not None:
            level, message = said
            self._logger.log(level, message, extra={"step": getattr(event, "step", None), "event": event.event})

    def _sample(self, sample: SampleTaken, state: GamedayState) -> None:
        """A breach (also on the first sample) and its end, with how long it lasted."""
        slo = state.slos[sample.slo]
        if sample.good:
            if not slo.flipped:
                return
            since = slo.last_breach_since if slo.last_breach_since is not None else sample.at
            message = f"SLO {sample.slo} back within objective after {sample.at - since:.1f}s in breach"
            level = logging.INFO
        else:
            if not (slo.flipped or slo.taken == 1):
                return
            message = f"SLO {sample.slo} in breach: {sample.error or 'bad sample'}"
            if sample.value is not None:
                message += f" (value {sample.value:g})"
            level = logging.WARNING
        self._logger.log(level, message, extra={"step": state.current_step, "event": "breach" if not sample.good else "recovery"})


def describe(event: BaseModel) -> tuple[int, str] | None:
    """(level, message) for an event worth a log line; None for the others."""
    info, warn, error = logging.INFO, logging.WARNING, logging.ERROR
    if isinstance(event, GamedayStarted):
        return info, (f"{event.mode.value} of gameday {event.gameday} started on {event.environment}: "
                      f"{len(event.steps)} experiments, {len(event.disaster_recovery)} DR checks, "
                      f"{len(event.slos)} SLOs sampled every {event.interval_seconds:g}s; commander {event.commander}")
    if isinstance(event, PhaseStarted):
        after = f" after step {event.step}" if event.step else ""
        return info, f"{event.phase} for up to {event.seconds:g}s{after}"
    if isinstance(event, StepStarted):
        return info, f"step {event.step}: starting"
    if isinstance(event, FaultArmed):
        dry = " (dry: rehearsal)" if event.dry else ""
        return info, f"step {event.step}: fault armed from {Path(event.experiment_path).name}, rollbacks recorded{dry}"
    if isinstance(event, ExperimentProgress):
        return _experiment(event)
    if isinstance(event, GuardrailTripped):
        breach = max(0.0, event.detected_at - event.breach_started)
        what = f"aborting {event.step}" if event.step else "stopping the gameday"
        cause = f"{event.slo} breached for {breach:.1f}s" if event.reason == "slo_breach" else event.detail
        return error, f"guardrail tripped: {cause}, {what}"
    if isinstance(event, RollbacksPlayed):
        verdict = "succeeded" if event.succeeded else "FAILED"
        return (info if event.succeeded else error), f"step {event.step}: rollbacks played by the {event.by}: {verdict} {event.detail}".rstrip()
    if isinstance(event, StepFinished):
        detail = f": {event.detail}" if event.detail else ""
        level = info if event.outcome.value in ("passed", "skipped") else warn
        return level, f"step {event.step}: {event.outcome.value}{detail}"
    if isinstance(event, DRStarted):
        return info, f"DR check {event.check}: started" + (" (prechecks only: rehearsal)" if event.dry else "")
    if isinstance(event, DRStepDone):
        level = warn if event.outcome.value in ("failed", "not verified") else info
        detail = f": {event.detail}" if event.detail else ""
        return level, f"DR check {event.check}: {event.phase.value} {event.name} ({event.kind.value}) {event.outcome.value}{detail}"
    if isinstance(event, DRWrites):
        if event.error:
            return warn, f"DR check {event.check}: RPO not measured by {event.writer}: {event.error}"
        return info, f"DR check {event.check}: {event.lost} of {event.acknowledged} acknowledged writes lost"
    if isinstance(event, DRFinished):
        if event.failed_step:
            return warn, f"DR check {event.check}: failed at {event.failed_step}" + (f": {event.detail}" if event.detail else "")
        if event.disaster_at is not None and event.recovered_at is not None:
            return info, f"DR check {event.check}: recovered {max(0.0, event.recovered_at - event.disaster_at):.1f}s after the disaster"
        return info, f"DR check {event.check}: finished" + (f": {event.detail}" if event.detail else "")
    if isinstance(event, SamplingBehind):
        return warn, f"sampling of {event.slo} fell behind (the machine stalled): {event.skipped} ticks skipped, not sampled"
    if isinstance(event, NotificationFailed):
        return warn, f"notification to {event.channel} about {event.about} failed after {event.attempts} attempts: {event.error}"
    if isinstance(event, UploadFailed):
        return warn, f"upload to {event.location} failed (the gameday goes on; retried at the next boundary): {event.error}"
    if isinstance(event, Interrupted):
        return warn, f"interrupted by {event.signal}: rolling back and closing the journal"
    if isinstance(event, GamedayFinished):
        return info, f"gameday finished: {event.outcome.value} (exit code {event.exit_code})"
    return None


DESCRIBED = (
    GamedayStarted, PhaseStarted, StepStarted, FaultArmed, ExperimentProgress, GuardrailTripped, RollbacksPlayed,
    StepFinished, DRStarted, DRStepDone, DRWrites, DRFinished, NotificationFailed, UploadFailed, Interrupted, GamedayFinished,
    SamplingBehind,
)


def _experiment(event: ExperimentProgress) -> tuple[int, str] | None:
    step = f"step {event.step}"
    if event.kind in ("hypothesis_before", "hypothesis_after"):
        when = "before" if event.kind == "hypothesis_before" else "after"
        met = "met" if event.met else "NOT met"
        return (logging.INFO if event.met else logging.WARNING), f"{step}: steady state {when} the fault {met}"
    texts = {
        "started": "experiment started",
        "method_started": "fault injected",
        "method_completed": "method completed",
        "rollbacks_started": "rolling back",
        "rollbacks_completed": "rollbacks done",
    }
    if event.kind == "finished":
        return logging.INFO, f"{step}: experiment ended with status {event.status or 'unknown'}"
    return logging.INFO, f"{step}: {texts[event.kind]}"
