"""Fixtures of the AWS sandbox tests: one seeded moto server per session, and an environment pointing at it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gamedays.sandbox.aws import AwsSandbox


def process_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie waiting for a reaper."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_not_running(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_running(pid):
            return True
        time.sleep(0.05)
    return not process_running(pid)


def children_of(pid: int) -> list[int]:
    """Live child processes of ``pid`` (from /proc), to prove a failed start left nothing behind."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


@pytest.fixture(scope="session")
def aws() -> Iterator[AwsSandbox]:
    """One seeded moto server for the whole folder; tests must not assume the order they run in."""
    sandbox = AwsSandbox()
    sandbox.start()
    try:
        yield sandbox
    finally:
        pid = sandbox.pid
        sandbox.stop()
        assert pid is not None and wait_not_running(pid, 5), "the session's moto server outlived stop()"


@pytest.fixture
def aws_env(aws: AwsSandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This process's environment as a chaosaws child would get it: only the sandbox's AWS settings.

    chaosaws keeps boto3's process-wide default session once made; it is reset
    here (and put back afterwards) so it is built from this environment.
    """
    import boto3

    wanted = aws.child_env(os.environ)
    for key in list(os.environ):
        if key not in wanted:
            monkeypatch.delenv(key)
    for key, value in wanted.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    return wanted
