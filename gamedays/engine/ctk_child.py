"""The child that runs one Chaos Toolkit experiment: ``python -m gamedays.engine.ctk_child [--events-fd N] SPEC.json``.

It does what ``chaos run`` does (the user's Chaos Toolkit settings and global
controls, validation, the experiment's own hypothesis strategy, the journal as
JSON), with two differences that make a gameday safe to abort:

- rollbacks are always played (``runtime.rollbacks.strategy: always``), after a
  failure, an abort or an interruption too;
- SIGINT means "stop now and roll back": it becomes a KeyboardInterrupt inside
  the run (journal status ``interrupted``), but only once the run can take it.
  One arriving earlier (while Python or chaoslib loads) is held and delivered
  when the hypothesis or the method starts; one arriving while the rollbacks
  play is ignored, so they finish. SIGTERM means the same, during the run too:
  chaoslib's own SIGTERM handler (``exit_signals``) raises ``InterruptExecution``,
  an ``Exception``, which a python provider running at that moment turns into a
  failed activity, and the method goes on, its pauses and later faults included.
  So once the run starts, the child puts its handler back in place of chaoslib's.

Progress goes out as JSON lines (:class:`gamedays.engine.experiment_process.ChildEvent`)
on the ``--events-fd`` pipe, stdout when none is given; the log goes to stderr.
The journal is written before ``finished`` is sent. chaoslib is imported here
only, and only after the signal handlers are in place.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import enum
import faulthandler
import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Iterator

from gamedays.engine.activity_output import bound_outputs, outputs_log_for
from gamedays.engine.experiment_process import HELD_SIGNALS, SPEC_FORMAT, ChildEvent, EventKind

logger = logging.getLogger("gamedays.engine.ctk_child")  # not __name__: run with -m, that is "__main__"

EXIT_FINISHED = 0
EXIT_ERROR = 2
ROLLBACK_STRATEGY = "always"


@dataclass(frozen=True)
class ChildSpec:
    """The spec file's content: what to run, with which configuration values, where to journal."""

    mode: str  # "run" or "rollbacks"
    experiment: dict[str, Any]
    configuration: dict[str, Any]
    journal_path: Path
    dry: bool

    @classmethod
    def read(cls, path: Path) -> ChildSpec:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != SPEC_FORMAT:
            raise ValueError(f"{path} is not a {SPEC_FORMAT} spec file")
        if data.get("mode") not in ("run", "rollbacks"):
            raise ValueError(f"{path}: mode must be 'run' or 'rollbacks', not {data.get('mode')!r}")
        if not isinstance(data.get("experiment"), dict) or not isinstance(data.get("configuration"), dict):
            raise ValueError(f"{path}: experiment and configuration must be mappings")
        return cls(data["mode"], data["experiment"], data["configuration"], Path(data["journal_path"]), bool(data.get("dry")))


class _Phase(enum.Enum):
    BOOT = "boot"  # loading, configuring: an interrupt is held
    ARMED = "armed"  # hypothesis or method running: an interrupt is raised
    INTERRUPTING = "interrupting"  # raised once already
    ROLLING_BACK = "rolling back"  # rollbacks play: interrupts are ignored
    DONE = "done"


class Interruption:
    """SIGINT and SIGTERM as "stop and roll back", raised only where the run takes it."""

    def __init__(self) -> None:
        self._phase = _Phase.BOOT
        self._pending = False
        self._asked = threading.Event()  # an interruption was raised into the run: pauses before the rollbacks end at once

    def install(self) -> None:
        """Handle SIGINT and SIGTERM, then let through those the orchestrator kept blocked while spawning us."""
        for number in HELD_SIGNALS:
            signal.signal(number, self.handle)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)

    def handle(self, number: int, frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        if self._phase is _Phase.ARMED:
            self._phase = _Phase.INTERRUPTING
            self._asked.set()
            logger.warning("%s received: interrupting the experiment, the rollbacks will be played", name)
            raise KeyboardInterrupt(name)
        if self._phase is _Phase.BOOT:
            self._pending = True
            logger.warning("%s received while starting: the experiment will be interrupted when it starts", name)
        else:
            logger.warning("%s received while %s: ignored", name, self._phase.value)

    def arm(self) -> None:
        """The run can be interrupted from now on; a held interrupt is raised here.

        Called from inside chaoslib's run, where its ``exit_signals`` took SIGTERM: taken back.
        """
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.handle)
        if self._phase is not _Phase.BOOT:
            return
        if self._pending:
            self._phase = _Phase.INTERRUPTING
            self._asked.set()
            logger.warning("interrupting the experiment now, as asked while it started")
            raise KeyboardInterrupt("held interrupt")
        self._phase = _Phase.ARMED

    def pause(self, seconds: float) -> None:
        """An activity's pause (chaoslib's ``time.sleep``), cut short by an interruption before the rollbacks.

        chaoslib plays an activity's ``pauses.after`` in a ``finally``: an interrupt that lands while
        the action itself runs would wait there the whole pause, the fault in place, before the
        rollbacks. Here that pause ends at once, and the interruption goes on to the rollbacks.
        The rollbacks' own pauses are played in full.
        """
        if self._phase in (_Phase.ROLLING_BACK, _Phase.DONE):
            time.sleep(seconds)
            return
        if self._asked.wait(seconds) and self._phase is _Phase.INTERRUPTING:
            logger.warning("the pause of %gs is cut short: the experiment is interrupted", seconds)
            raise KeyboardInterrupt("interrupted during a pause")

    def rolling_back(self) -> None:
        self._phase = _Phase.ROLLING_BACK

    def done(self) -> None:
        self._phase = _Phase.DONE


class EventChannel:
    """Writes events as JSON lines to a pipe; a reader gone away is logged once, the run goes on."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self._broken = False

    def emit(self, kind: EventKind, **fields: Any) -> None:
        data = ChildEvent(kind, time.time(), **fields).to_line().encode()
        with self._lock, _signals_held():
            if self._broken:
                return
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError as exc:  # BrokenPipeError: the orchestrator is gone; the rollbacks still matter
                self._broken = True
                logger.warning("the event channel is closed (%s): carrying on without it", exc)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait while a line is written, so no event line is ever cut in two."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def watch_lifeline(fd: int) -> threading.Thread:
    """The dead man's switch: a thread reads ``fd`` until EOF, i.e. until the orchestrator holding its write end is gone.

    Then the child interrupts itself as the orchestrator would (SIGINT to its own
    pid): the method stops, the rollbacks play (an interrupt while they play is
    ignored, one while starting is held), the Chaos Toolkit journal records
    ``interrupted`` with them. Nobody watches the SLOs any more, so the fault must
    not be held. The gameday journal is not written from here: its writer may have
    died mid-line, and a second writer would interleave with a torn batch; the
    Chaos Toolkit journal is the record, which ``gameday recover`` reads.
    """
    os.set_inheritable(fd, False)  # activities' subprocesses must not keep the orchestrator "alive"

    def watch() -> None:
        try:
            while os.read(fd, 4096):
                pass
        except OSError as exc:
            logger.warning("the lifeline cannot be read (%s): taking the orchestrator for gone", exc)
        logger.warning("the orchestrator is gone (its lifeline closed): interrupting the experiment, the rollbacks will be played")
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=watch, name="lifeline", daemon=True)
    thread.start()
    return thread


def _event_handler(channel: EventChannel, interruption: Interruption) -> Any:
    """A chaoslib RunEventHandler that forwards the run's steps to the channel (chaoslib imported here)."""
    from chaoslib.run import RunEventHandler

    class Forwarder(RunEventHandler):  # type: ignore[misc]
        def started(self, experiment: Any, journal: Any) -> None:
            channel.emit("started")

        def start_hypothesis_before(self, experiment: Any) -> None:
            interruption.arm()

        def hypothesis_before_completed(self, experiment: Any, state: Any, journal: Any) -> None:
            channel.emit("hypothesis_before", met=_met(state))

        def start_method(self, experiment: Any) -> None:
            interruption.arm()
            channel.emit("method_started")

        def method_completed(self, experiment: Any, state: Any = None) -> None:
            channel.emit("method_completed")

        def hypothesis_after_completed(self, experiment: Any, state: Any, journal: Any) -> None:
            channel.emit("hypothesis_after", met=_met(state))

        def start_rollbacks(self, experiment: Any) -> None:
            interruption.rolling_back()
            channel.emit("rollbacks_started")

        def rollbacks_completed(self, experiment: Any, journal: Any) -> None:
            channel.emit("rollbacks_completed")

    return Forwarder()


class _PauseClock:
    """The ``time`` module as chaoslib.activity sees it, its ``sleep`` the interruptible pause."""

    def __init__(self, interruption: Interruption) -> None:
        self.sleep = interruption.pause

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _interruptible_pauses(interruption: Interruption) -> None:
    """chaoslib.activity's pauses (its only use of ``time``) through :meth:`Interruption.pause`."""
    import chaoslib.activity

    chaoslib.activity.time = _PauseClock(interruption)


def _met(state: Any) -> bool | None:
    return bool(state.get("steady_state_met")) if isinstance(state, dict) else None


def run(spec: ChildSpec, channel: EventChannel, interruption: Interruption) -> dict[str, Any]:
    """Validate and run the experiment (or only its rollbacks) as ``chaos run`` would; returns the journal."""
    from chaoslib.control import load_global_controls
    from chaoslib.experiment import ensure_experiment_is_valid, run_experiment
    from chaoslib.settings import load_settings
    from chaoslib.types import Dry, Schedule, Strategy
    from chaostoolkit.check import check_hypothesis_strategy_spelling

    _interruptible_pauses(interruption)
    settings = load_settings() or {}  # the user's ~/.chaostoolkit/settings.yaml, as `chaos run` reads it
    load_global_controls(settings)

    validated = copy.deepcopy(spec.experiment)
    validated["configuration"] = {**(validated.get("configuration") or {}), **spec.configuration}
    ensure_experiment_is_valid(validated)

    experiment = copy.deepcopy(spec.experiment)
    runtime = settings.setdefault("runtime", {})
    runtime.setdefault("rollbacks", {})["strategy"] = ROLLBACK_STRATEGY
    own = (experiment.get("runtime") or {}).get("hypothesis") or {}
    hypothesis = own.get("strategy") or (runtime.get("hypothesis") or {}).get("strategy") or "default"
    runtime.setdefault("hypothesis", {})["strategy"] = hypothesis
    strategy = check_hypothesis_strategy_spelling(hypothesis)
    if spec.mode == "rollbacks":
        experiment["title"] = f"Rollbacks of: {experiment.get('title', '')}"
        experiment["method"] = []
        experiment.pop("steady-state-hypothesis", None)
        strategy = Strategy.SKIP
    experiment["dry"] = Dry.ACTIONS if spec.dry else None
    logger.info(
        "gameday: %s of '%s' (rollbacks: %s, hypothesis: %s, dry: %s)",
        "rollbacks-only run" if spec.mode == "rollbacks" else "run",
        spec.experiment.get("title"), ROLLBACK_STRATEGY, strategy.value, "actions" if spec.dry else "no",
    )  # fmt: skip
    journal: dict[str, Any] = run_experiment(
        experiment,
        settings=settings,
        experiment_vars=(dict(spec.configuration), {}),
        strategy=strategy,
        schedule=Schedule(),
        event_handlers=[_event_handler(channel, interruption)],
    )
    interruption.done()
    journal["experiment"]["dry"] = "actions" if spec.dry else None  # as `chaos run` writes it: a string, not the enum
    return journal


def write_journal(journal: dict[str, Any], path: Path) -> None:
    """The journal as ``chaos run`` writes it, replaced atomically and synced, so a reader never sees half of it."""
    from chaostoolkit import encoder

    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", encoding="utf-8") as out:
        json.dump(journal, out, indent=2, ensure_ascii=False, default=encoder)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def main(argv: list[str]) -> int:
    """Run the spec; 0 once the journal is written and ``finished`` sent, 2 when the experiment could not run."""
    interruption = Interruption()
    interruption.install()
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="[%(asctime)s %(levelname)s] [%(name)s] %(message)s", force=True
    )
    faulthandler.register(signal.SIGQUIT, file=sys.stderr, all_threads=True)  # kill -QUIT: a stuck child tells where it is (SIGUSR1 is chaoslib's)
    parser = argparse.ArgumentParser(prog="python -m gamedays.engine.ctk_child")
    parser.add_argument("--events-fd", type=int, default=None, help="pipe for the JSON event lines (default: stdout)")
    parser.add_argument("--lifeline-fd", type=int, default=None, help="pipe whose EOF means the orchestrator is gone")
    parser.add_argument("spec", type=Path)
    args = parser.parse_args(argv)
    fd = sys.stdout.fileno() if args.events_fd is None else args.events_fd
    if args.events_fd is not None:
        os.set_inheritable(fd, False)  # activities' subprocesses must not hold the orchestrator's pipe open
    channel = EventChannel(fd)
    try:
        spec = ChildSpec.read(args.spec)
        if args.lifeline_fd is not None and spec.mode == "run":  # a rollbacks-only run is let finish
            watch_lifeline(args.lifeline_fd)
        journal = run(spec, channel, interruption)
        write_journal(bound_outputs(journal, outputs_log_for(spec.journal_path)), spec.journal_path)
    except (Exception, KeyboardInterrupt, SystemExit) as exc:  # noqa: BLE001 - the child's last word, then exit 2
        logger.error("the experiment could not run: %s", exc, exc_info=not isinstance(exc, (KeyboardInterrupt, SystemExit)))
        return EXIT_ERROR
    channel.emit("finished", status=journal.get("status"), deviated=bool(journal.get("deviated")))
    logger.info("gameday: journal %s written, status %s", spec.journal_path, journal.get("status"))
    return EXIT_FINISHED


def _exit(code: int) -> None:
    """Leave now: stray non-daemon threads an extension may have left must not keep the child alive."""
    stray = [t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if stray:
        logger.warning("leaving threads behind: %s", ", ".join(stray))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit(main(sys.argv[1:]))
