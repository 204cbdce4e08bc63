"""The terminal of a running gameday goes away (SIGHUP): it is handled as SIGTERM is.

`gameday run` runs in a real pseudo-terminal as its controlling terminal, with a sandbox of
its own; mid-fault the terminal is closed (the master side, as when an SSH session drops).
Then: the rollbacks ran, the journal is closed, and no process the run started is left.

The terminal is closed as sshd closes it: by the only holder of the master side, while no
read of it is under way. A ``close()`` while another thread is blocked in ``read()`` on the
same descriptor does not release the terminal: the kernel hangs it up (and sends SIGHUP)
only when that read returns, i.e. when gameday next writes something. A run whose terminal
shows no live panel (``TERM=dumb``) writes nothing while the fault is held, so it would get
its SIGHUP only when the fault's hold ran out: the reader here polls, and is stopped first.
"""

from __future__ import annotations

import json
import os
import signal
import pty
import select
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.engine.run.conftest import PlanWriter, scale_to_zero_experiment, wait_for_journal
from tests.sandbox.proctable import alive, descendants

pytestmark = pytest.mark.e2e


class _Terminal:
    """The master side of the run's pty: drained by a thread (a full terminal would block the run) until hung up."""

    def __init__(self, master: int) -> None:
        os.set_inheritable(master, False)  # no process this one starts may hold the terminal open
        self._master = master
        self._stop = threading.Event()
        self.output: list[bytes] = []
        self._reader = threading.Thread(target=self._drain, name="pty-drain", daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self._master, 4096)
            except OSError:  # EIO: the run's side is gone
                return
            if not chunk:
                return
            self.output.append(chunk)

    def hang_up(self) -> None:
        """Close the master with no read of it under way: the kernel hangs the terminal up at once (SIGHUP)."""
        self._stop.set()
        self._reader.join(10)
        assert not self._reader.is_alive(), "the terminal's reader did not stop"
        os.close(self._master)

    def shown(self) -> str:
        return repr(b"".join(self.output)[-2000:])


def _wait_exit(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.1)
    return None


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


@pytest.mark.parametrize("term", ["xterm", "dumb"], ids=["live-panel", "no-live-panel"])
def test_closing_the_terminal_mid_fault_rolls_back_closes_the_journal_and_leaves_no_process(tmp_path: Path, term: str):
    plans = PlanWriter(tmp_path)
    plan = plans.write([{"id": "all-pods", "uses": scale_to_zero_experiment(hold=120)}])
    env = {key: value for key, value in os.environ.items() if key != "GAMEDAY_SANDBOX"}
    env["GAMEDAY_HOME"] = str(tmp_path / "home")  # no detached sandbox there: the run starts its own
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[3]), env.get("PYTHONPATH")) if p)
    env["TERM"] = term  # dumb: rich draws no live panel, so the run writes nothing while the fault is held
    report = tmp_path / "report"
    journal = report / "journal.jsonl"

    pid, master = pty.fork()  # the child: a new session whose controlling terminal is the pty
    if pid == 0:  # pragma: no cover - the child process
        try:
            os.execve(sys.executable, [sys.executable, "-m", "gamedays", "run", str(plan)], env)
        finally:
            os._exit(127)
    terminal = _Terminal(master)
    code = None
    try:
        wait_for_journal(journal, lambda ev: any(e.get("kind") == "method_started" for e in ev), timeout=120)
        time.sleep(1.0)  # the fault is in place: the shop is scaled to zero
        started = descendants(pid)
        assert len(started) >= 5, started  # the sandbox's parts and the experiment's process
        terminal.hang_up()  # the terminal goes away: the kernel sends SIGHUP to the session's leader, gameday
        code = _wait_exit(pid, 90)
        if code is None:  # stuck: where is each thread of gameday and of its experiment process? (faulthandler)
            os.kill(pid, signal.SIGUSR1)
            for child in (p for p in descendants(pid) if b"ctk_child" in _cmdline(p)):
                os.kill(child, signal.SIGQUIT)  # SIGUSR1 is chaoslib's "exit gracefully" in there
            time.sleep(1.0)
        assert code == 3, (
            f"exit {code}; the terminal showed: {terminal.shown()[-2000:]}\n"
            f"gameday.log ends:\n{_log_tail(report / 'gameday.log', 150 if code is None else 15)}\n"
            f"the experiment's log ends:\n{_log_tail(report / 'experiments' / 'all-pods.log', 150 if code is None else 5)}"
        )
        deadline = time.monotonic() + 30
        while alive(started) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(started), f"left running after the terminal closed: {sorted(alive(started))}"
    finally:
        if code is None:
            os.kill(pid, 9)
            _wait_exit(pid, 10)
    events = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    assert any(e.get("event") == "interrupted" and e.get("signal") == "SIGHUP" for e in events), events[-3:]
    assert any(e.get("kind") == "rollbacks_completed" for e in events), "the rollbacks did not run"
    assert events[-1]["event"] == "gameday_finished" and events[-1]["outcome"] == "aborted"
    assert (report / "report.html").exists()  # the report was written all the same
