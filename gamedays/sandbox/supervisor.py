"""Keep a sandbox running until told to stop: the foreground `gameday sandbox up`, and its detached form.

    python -m gamedays.sandbox.supervisor DIRECTORY [--replicas N]

starts the sandbox in DIRECTORY, writes ``state.json`` there once everything is
healthy, and stops everything on SIGTERM or SIGINT (Ctrl-C), removing the
directory. A start that fails writes ``error.txt`` and exits 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Callable

from gamedays.atomicfile import write_atomically
from gamedays.model.errors import GamedayError
from gamedays.sandbox.environment import Sandbox, SandboxInfo

STATE = "state.json"
ERROR = "error.txt"

logger = logging.getLogger(__name__)


def serve(
    directory: Path,
    *,
    replicas: int = 3,
    on_ready: Callable[[SandboxInfo], None] = lambda info: None,
    stop: threading.Event | None = None,
) -> SandboxInfo | None:
    """Run a sandbox in ``directory`` until SIGTERM/SIGINT (or ``stop`` is set); tear it down, always.

    Returns the sandbox's info, or None when asked to stop before it was ready.
    Must be called from the main thread (it installs the signal handlers).
    """
    stop = stop or threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def asked_to_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in previous:
        signal.signal(sig, asked_to_stop)
    sandbox = Sandbox(directory, replicas=replicas)
    info = None
    try:
        info = sandbox.start()
        if not stop.is_set():
            write_state(directory, info, os.getpid())
            on_ready(info)
            while not stop.wait(0.5):
                pass
        return info
    finally:
        try:
            sandbox.stop()
        finally:
            (directory / STATE).unlink(missing_ok=True)
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def write_state(directory: Path, info: SandboxInfo, pid: int) -> None:
    payload = json.loads(info.to_json())
    payload["pid"] = pid
    write_atomically(directory / STATE, json.dumps(payload, indent=2), mode=0o600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gamedays.sandbox.supervisor")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--replicas", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    directory: Path = args.directory
    directory.mkdir(parents=True, exist_ok=True)
    (directory / ERROR).unlink(missing_ok=True)
    try:
        serve(directory, replicas=args.replicas)
    except GamedayError as exc:
        (directory / ERROR).write_text(str(exc), encoding="utf-8")
        logger.error("%s", exc)
        return 2
    except Exception as exc:
        (directory / ERROR).write_text(f"the sandbox failed: {type(exc).__name__}: {exc}", encoding="utf-8")
        logger.exception("the sandbox failed")
        return 2
    shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
