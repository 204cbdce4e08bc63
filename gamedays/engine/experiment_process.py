"""One Chaos Toolkit experiment, run in its own process, its rollbacks always played.

chaoslib is not safe to run twice in one process (global caches, global controls,
signal handlers that need the main thread), and an extension may hang or crash
its interpreter. So the orchestrator never imports chaoslib's run machinery: each
experiment runs in a child, ``python -m gamedays.engine.ctk_child SPEC.json``,
started in its own session (a Ctrl-C at the terminal reaches the orchestrator only,
which then decides to :meth:`ExperimentProcess.interrupt`).

The protocol between the two sides lives here, so that both agree on it:

- the spec file (``<journal stem>.spec.json``, next to the journal) carries the
  experiment, the step's configuration values, the journal path and the dry flag;
  never environment values: the environment goes to the child's process environment;
- events come back as JSON lines on a dedicated pipe (``--events-fd``), so that
  nothing an extension prints can be mistaken for an event; stdout and stderr of
  the child (chaostoolkit's log) go to ``spec.log_path``;
- the dead man's switch: the child reads a lifeline pipe (``--lifeline-fd``) whose
  write end only this process holds; EOF means the orchestrator is gone (SIGKILL,
  a crash) and the child interrupts its method and plays its rollbacks at once, as
  on :meth:`ExperimentProcess.interrupt`, instead of holding the fault unwatched;
- the child writes the Chaos Toolkit journal, then sends ``finished``. A child that
  exits without ``finished`` has crashed: :func:`run_rollbacks` plays the
  experiment's rollbacks in a fresh child, from the same spec.

    process = ExperimentProcess(spec, on_event=timeline.append)
    process.start()
    ...                                  # process.interrupt() on abort
    result = process.wait()
    if result.crashed:
        run_rollbacks(spec)
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, get_args

import gamedays
from gamedays.atomicfile import write_atomically
from gamedays.engine.experiment_outcome import failure_reason, log_tail, read_ctk_journal, unsuccessful_rollbacks
from gamedays.model.redact import scrub, url_secrets
from gamedays.model.errors import GamedayError
from gamedays import processes

logger = logging.getLogger(__name__)

EventKind = Literal[
    "started", "hypothesis_before", "method_started", "method_completed",
    "hypothesis_after", "rollbacks_started", "rollbacks_completed", "finished",
]  # fmt: skip
EVENT_KINDS: frozenset[str] = frozenset(get_args(EventKind))
SPEC_FORMAT = "gameday-ctk-child/1"
CHILD_MODULE = "gamedays.engine.ctk_child"
CRASHED = "crashed"
HELD_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})
_READER_GRACE = 5.0  # seconds for the last events to arrive once the child is gone
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|KEY|CREDENTIAL|AUTH", re.IGNORECASE)


class ExperimentProcessError(GamedayError):
    """The experiment process could not be started or asked about (not the experiment failing)."""


@dataclass(frozen=True)
class ExperimentSpec:
    """Everything a child needs to run one experiment; the experiment body is never mutated."""

    experiment: Mapping[str, Any]
    configuration: Mapping[str, Any]
    journal_path: Path
    log_path: Path
    env: Mapping[str, str]
    dry: bool = False
    cwd: Path | None = None


@dataclass(frozen=True)
class ChildEvent:
    """One step of the run, as the child saw it; sent as one JSON line."""

    kind: EventKind
    at: float
    met: bool | None = None
    status: str | None = None
    deviated: bool | None = None

    def to_line(self) -> str:
        """The wire form: one compact JSON object and a newline."""
        return json.dumps(asdict(self), separators=(",", ":")) + "\n"

    @classmethod
    def from_line(cls, line: bytes | str) -> ChildEvent | None:
        """The event a line carries, or None when the line is not a well-formed event."""
        try:
            data = json.loads(line)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("kind") not in EVENT_KINDS:
            return None
        at, met, status, deviated = data.get("at"), data.get("met"), data.get("status"), data.get("deviated")
        if isinstance(at, bool) or not isinstance(at, (int, float)):
            return None
        if not (met is None or isinstance(met, bool)) or not (deviated is None or isinstance(deviated, bool)):
            return None
        if not (status is None or isinstance(status, str)):
            return None
        return cls(data["kind"], float(at), met, status, deviated)


@dataclass(frozen=True)
class ExperimentResult:
    """How the child ended. ``status`` is the journal's, or ``crashed`` when the child died unfinished."""

    exit_code: int | None
    status: str
    deviated: bool
    crashed: bool
    rollbacks_completed: bool
    journal_path: Path
    error: str | None


def spec_file_for(journal_path: Path) -> Path:
    """Where the spec of the run writing ``journal_path`` goes: ``journal.json`` -> ``journal.spec.json``."""
    return journal_path.with_name(journal_path.stem + ".spec.json")


def rollbacks_journal_for(journal_path: Path) -> Path:
    """The journal of a rollbacks-only run, beside the experiment's (which it must not overwrite)."""
    return journal_path.with_name(journal_path.stem + ".rollbacks" + (journal_path.suffix or ".json"))


class ExperimentProcess:
    """The child running one experiment: start, interrupt or kill it, wait for its result.

    ``on_event`` is called from a reader thread, in order, once per event; an
    exception it raises is logged and does not stop the delivery of later events.
    """

    def __init__(
        self, spec: ExperimentSpec, on_event: Callable[[ChildEvent], None], *, rollbacks_only: bool = False
    ) -> None:
        self.spec = spec
        self.rollbacks_only = rollbacks_only
        self._on_event = on_event
        self._journal_path = Path(spec.journal_path).absolute()
        self._log_path = Path(spec.log_path).absolute()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._events: list[ChildEvent] = []
        self._interrupted = False
        self._killed = False
        self._log_offset = 0
        self._result: ExperimentResult | None = None
        self._lifeline: int | None = None  # write end of the dead man's switch, closed once the child is gone

    def start(self) -> None:
        """Write the spec file and spawn the child in its own session."""
        with self._lock:
            if self._proc is not None:
                raise ExperimentProcessError("this experiment process was already started")
            spec_file = spec_file_for(self._journal_path)
            document = self._spec_document()
            try:
                self._journal_path.parent.mkdir(parents=True, exist_ok=True)
                self._log_path.parent.mkdir(parents=True, exist_ok=True)
                write_atomically(spec_file, document)
                self._log_offset = self._log_path.stat().st_size if self._log_path.exists() else 0
            except OSError as exc:
                raise ExperimentProcessError(f"cannot write the spec file {spec_file}: {exc.strerror or exc}") from None
            read_fd, write_fd = os.pipe()
            # the dead man's switch: the child reads the lifeline's read end; its write end stays here,
            # non-inheritable (no other process ever holds it), so EOF tells the child we are gone
            life_read, life_write = os.pipe()
            argv = [
                sys.executable, "-m", CHILD_MODULE, "--events-fd", str(write_fd), "--lifeline-fd", str(life_read),
                str(spec_file),
            ]  # fmt: skip
            # the child starts with SIGINT and SIGTERM blocked (the mask is inherited through exec) and
            # unblocks them once its own handlers are in place: an early interrupt() is held, never lost
            held = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
            try:
                with open(self._log_path, "ab") as log:
                    self._proc = subprocess.Popen(
                        argv,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=log,
                        env=self._child_env(),
                        cwd=self.spec.cwd or self._journal_path.parent,
                        pass_fds=(write_fd, life_read),
                        start_new_session=True,
                    )
            except OSError as exc:
                os.close(read_fd)
                os.close(life_write)
                raise ExperimentProcessError(f"cannot start the experiment process: {exc.strerror or exc}") from None
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
                os.close(write_fd)  # the child holds the only write end: EOF when it is gone
                os.close(life_read)
            self._lifeline = life_write
            reader = threading.Thread(
                target=self._read_events, args=(read_fd,), name=f"ctk-child-{self._proc.pid}-events", daemon=True
            )
            try:
                reader.start()
            except BaseException:
                os.close(read_fd)
                processes.kill(self._proc)
                self._cut_lifeline()
                raise
            self._reader = reader
        logger.info("experiment process %d started (journal %s)", self._proc.pid, self._journal_path)

    @property
    def pid(self) -> int | None:
        """The child's pid (also its process group and session id), None before start()."""
        return self._proc.pid if self._proc is not None else None

    @property
    def events(self) -> tuple[ChildEvent, ...]:
        """The events delivered so far, in order."""
        return tuple(self._events)

    def running(self) -> bool:
        """True from start() until the child exits."""
        return self._proc is not None and self._proc.poll() is None

    def interrupt(self) -> None:
        """Ask the child to stop now and play its rollbacks (SIGINT, sent once; later calls do nothing)."""
        with self._lock:
            if self._proc is None or self._interrupted or self._proc.poll() is not None:
                return
            self._interrupted = True
            os.kill(self._proc.pid, signal.SIGINT)  # the child only: it ends what it started itself
        logger.info("experiment process %d interrupted", self._proc.pid)

    def kill(self) -> None:
        """SIGKILL the child and everything in its process group (tests, last resort): no rollback runs."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                return
            self._killed = True
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)  # unreaped, its pid cannot be reused yet
            except ProcessLookupError:
                return
        logger.warning("experiment process %d killed", self._proc.pid)

    def wait(self, timeout: float | None = None) -> ExperimentResult:
        """The result, once the child exited and every event was delivered; TimeoutError after ``timeout`` s."""
        proc, reader = self._proc, self._reader
        if proc is None or reader is None:
            raise ExperimentProcessError("wait() before start(): the experiment process was never started")
        if self._result is not None:
            return self._result
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"the experiment process {proc.pid} still runs after {timeout:g}s") from None
        processes.stop(proc)  # stragglers of its group would hold the events pipe open
        self._cut_lifeline()
        reader.join(_READER_GRACE)
        if reader.is_alive():
            logger.warning("events of experiment process %d still open %gs after it exited", proc.pid, _READER_GRACE)
        self._result = self._build_result(code)
        logger.info(
            "experiment process %d ended: exit code %s, status %s", proc.pid, code, self._result.status
        )
        return self._result

    def _cut_lifeline(self) -> None:
        with self._lock:
            fd, self._lifeline = self._lifeline, None
        if fd is not None:
            os.close(fd)

    def _spec_document(self) -> str:
        document = {
            "format": SPEC_FORMAT,
            "mode": "rollbacks" if self.rollbacks_only else "run",
            "experiment": self.spec.experiment,
            "configuration": self.spec.configuration,
            "journal_path": str(self._journal_path),
            "dry": self.spec.dry,
        }
        try:
            return json.dumps(document, indent=2, ensure_ascii=False, default=_json_value)
        except (TypeError, ValueError) as exc:
            raise ExperimentProcessError(f"the experiment or its configuration cannot be sent to the child: {exc}") from None

    def _child_env(self) -> dict[str, str]:
        """The spec's environment, exactly, plus the folder holding ``gamedays`` on PYTHONPATH (last)."""
        env = dict(self.spec.env)
        root = str(Path(gamedays.__file__).resolve().parent.parent)
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if root not in paths:
            env["PYTHONPATH"] = os.pathsep.join([*paths, root])
        return env

    def _read_events(self, fd: int) -> None:
        with open(fd, "rb", closefd=True) as stream:
            for line in stream:
                event = ChildEvent.from_line(line)
                if event is None:
                    logger.warning("ignored a malformed event line from experiment process %s: %r", self.pid, line[:200])
                    continue
                self._events.append(event)
                try:
                    self._on_event(event)
                except Exception:  # noqa: BLE001 - the handler's bug must not stop the delivery of later events
                    logger.exception("the event handler failed on %s", event.kind)

    def _build_result(self, code: int | None) -> ExperimentResult:
        finished = next((e for e in reversed(self._events) if e.kind == "finished"), None)
        reported_rollbacks = any(e.kind == "rollbacks_completed" for e in self._events)
        secrets = _secrets_of(self.spec)
        if finished is None:
            return ExperimentResult(
                exit_code=code,
                status=CRASHED,
                deviated=False,
                crashed=True,
                rollbacks_completed=reported_rollbacks,
                journal_path=self._journal_path,
                error=scrub(self._crash_reason(code), secrets),
            )
        journal = read_ctk_journal(self._journal_path)
        status = finished.status or "completed"
        if journal is None:
            error: str | None = f"the child reported {status} but its journal {self._journal_path} is unreadable"
        elif self.rollbacks_only:
            failed = unsuccessful_rollbacks(journal, len(self.spec.experiment.get("rollbacks") or []))
            reported_rollbacks = reported_rollbacks and not failed and status == "completed"
            status = "completed" if reported_rollbacks else "failed"
            error = "; ".join(failed) if failed else (None if reported_rollbacks else f"the rollbacks run ended {finished.status}")
        else:
            error = failure_reason(journal, status, bool(finished.deviated))
        return ExperimentResult(
            exit_code=code,
            status=status,
            deviated=bool(finished.deviated),
            crashed=False,
            rollbacks_completed=reported_rollbacks,
            journal_path=self._journal_path,
            error=scrub(error, secrets) if error else None,
        )

    def _crash_reason(self, code: int | None) -> str:
        if code is not None and code < 0:
            how = f"was killed by {_signal_name(-code)}"
            if self._killed:
                how += " (kill() was called)"
        else:
            how = f"exited with code {code}"
        tail = log_tail(self._log_path, self._log_offset)
        last = f"; last lines of {self._log_path}: " + " | ".join(tail) if tail else ""
        return f"the experiment process {how} before it finished{last}"


def run_rollbacks(spec: ExperimentSpec, timeout: float = 300.0) -> ExperimentResult:
    """Play only the experiment's rollbacks, in a fresh child (after a crash, and for ``gameday recover``).

    The child runs the same experiment with an empty method and no steady-state
    hypothesis, same configuration and environment, and writes its own journal
    (:func:`rollbacks_journal_for`, so the experiment's journal is kept). The result
    is ``completed`` with ``rollbacks_completed`` only when every declared rollback
    succeeded; otherwise ``failed`` and ``error`` names the rollbacks that did not.
    A child still running after ``timeout`` seconds, or when the caller is
    interrupted, is killed (its group too) and the result says so.
    """
    rollback_spec = replace(spec, journal_path=rollbacks_journal_for(Path(spec.journal_path)))
    process = ExperimentProcess(rollback_spec, _log_rollback_event, rollbacks_only=True)
    process.start()
    try:
        return process.wait(timeout)
    except TimeoutError:
        process.kill()
        result = process.wait(_READER_GRACE * 2)
        return replace(result, error=f"the rollbacks did not finish in {timeout:g}s and were killed; {result.error}")
    finally:
        if process.running():
            process.kill()
            process.wait(_READER_GRACE * 2)


def _log_rollback_event(event: ChildEvent) -> None:
    logger.info("rollbacks-only run: %s", event.kind)


def _json_value(value: object) -> str:
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    raise TypeError(f"a value of type {type(value).__name__} is not JSON: {value!r}"[:300])


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _secrets_of(spec: ExperimentSpec) -> set[str]:
    """Values that must not appear in an error: secret-named env values, URL passwords, inline CTK secrets."""
    found: set[str] = set()
    for name, value in spec.env.items():
        if _SECRET_NAME.search(name) and len(value) >= 4:
            found.add(value)
        found.update(url_secrets(value) if "://" in value else ())
    found.update(_strings(spec.experiment.get("secrets")))
    return {s for s in found if len(s) >= 4}


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        if value.get("type") == "env":  # a reference to an environment variable, not a secret value
            return []
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _strings(item)]
    return []
