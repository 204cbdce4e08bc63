"""gamedays.processes: one answer to "is this pid alive" and "wait until these pids are gone"."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from gamedays import processes


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)


def test_a_running_process_is_alive_and_a_reaped_one_is_not():
    assert processes.alive(os.getpid())
    child = _sleeper()
    try:
        assert processes.alive(child.pid)
    finally:
        processes.kill(child)
    assert child.returncode == -signal.SIGKILL
    assert not processes.alive(child.pid)


def test_a_zombie_counts_as_gone():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while processes.alive(child.pid) and time.monotonic() < deadline:  # exits at once; not reaped yet
        time.sleep(0.02)
    assert not processes.alive(child.pid)
    with open(f"/proc/{child.pid}/stat") as stat:  # still in the table, as a zombie
        assert stat.read().rpartition(")")[2].split()[0] == "Z"
    child.wait(5)


def test_wait_gone_is_false_while_a_pid_lives_and_true_once_it_went():
    child = _sleeper()
    try:
        assert processes.wait_gone([child.pid], 0.1) is False
        os.kill(child.pid, signal.SIGTERM)
        child.wait(5)
        assert processes.wait_gone([child.pid], 5.0) is True
    finally:
        processes.stop(child)


def test_stop_ends_the_whole_group():
    parent = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys, time; c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']);"
         " print(c.pid, flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, start_new_session=True,
    )
    assert parent.stdout is not None
    grandchild = int(parent.stdout.readline())
    assert processes.alive(grandchild)
    processes.stop(parent, timeout=5.0)
    assert processes.wait_gone([parent.pid, grandchild], 5.0)
    parent.stdout.close()
