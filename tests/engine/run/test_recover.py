"""`gameday recover` and the dead man's switch, end to end: a real `gameday run` of catalog entries, killed mid-fault.

The target itself is checked (DNS answers, pods), with the catalog tests' checks
(tests/catalog/support.py). Every test leaves the shared sandbox as it found it and checks so.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from typing import Callable

import pytest

from tests.catalog.support import Target, wait_until
from tests.engine.run.conftest import REPO, gameday_process, run_gameday, scale_to_zero_experiment, wait_for_journal
from tests.sandbox.proctable import alive, descendants

HOLD = 300  # far longer than any test waits: a restored target was restored by a rollback, not by the hold ending


@dataclass(frozen=True)
class Entry:
    """A catalog entry, how its fault shows on the target, and the target as it must be again."""

    path: str
    values: dict
    snapshot: Callable[[Target], object]
    injected: Callable[[Target, object], bool]


def srv(target: Target) -> object:
    return target.lookup("db.shop.internal", "SRV")


def pg0(target: Target) -> object:
    return target.lookup("pg-0.shop.internal", "A")


ENTRIES = {
    "dns/record-removal": Entry("dns/record-removal.yaml", {}, srv, lambda t, before: srv(t) == []),
    "dns/record-wrong-address": Entry("dns/record-wrong-address.yaml", {}, pg0, lambda t, before: pg0(t) == ["192.0.2.10"]),
}  # fmt: skip


def events_of(journal) -> list[dict]:
    return [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]


def kill(pids: set[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert wait_until(lambda: not alive(pids), 10), f"still alive after SIGKILL: {alive(pids)}"


def start_fault(sandbox, plans, uses, values: dict):
    """`gameday run` of a one-step plan, until the journal shows the method started."""
    step = {"id": "fault", "uses": uses} if isinstance(uses, dict) else {"id": "fault", "uses": uses, "with": {**values, "hold_seconds": HOLD}}
    plan = plans.write([step])
    process = gameday_process(sandbox, "run", str(plan))
    journal = plans.folder / "report/journal.jsonl"
    wait_for_journal(journal, lambda ev: any(e.get("kind") == "method_started" for e in ev))
    return process, journal


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_sigkill_of_the_orchestrator_and_its_experiment_then_recover_restores_the_target(sandbox, plans, name):
    entry, target = ENTRIES[name], Target(sandbox)
    target.shop_is_steady()
    before = entry.snapshot(target)
    process, journal = start_fault(sandbox, plans, str(REPO / "experiments" / entry.path), entry.values)
    try:
        assert wait_until(lambda: entry.injected(target, before), 20), f"{name}: the fault never showed on the target"
        kill(descendants(process.pid) | {process.pid})  # power loss: the orchestrator and its experiment together
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    time.sleep(1.0)
    assert entry.injected(target, before)  # still in place: nobody rolled it back
    armed = next(e for e in events_of(journal) if e["event"] == "fault_armed")
    assert armed["cwd"] == str(plans.folder / "report/experiments")

    recovered = run_gameday(sandbox, "recover", str(plans.folder / "report"))
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "step fault: rolled back" in recovered.stdout
    assert wait_until(lambda: entry.snapshot(target) == before, 30), f"{name}: not restored: {entry.snapshot(target)} != {before}"
    again = run_gameday(sandbox, "recover", str(plans.folder / "report"))
    assert "nothing to recover" in again.stdout
    # the rollbacks played twice change nothing: their rollbacks-only run again, on the restored target
    replay = run_gameday(sandbox, "recover", str(plans.folder / "report"))
    assert replay.returncode == 0
    assert entry.snapshot(target) == before
    target.shop_is_steady()


def test_the_rollbacks_played_again_change_nothing(sandbox, plans):
    """Idempotent rollbacks: recover against a journal whose fault was rolled back already, the target unchanged."""
    target = Target(sandbox)
    target.shop_is_steady()
    before = srv(target)
    process, journal = start_fault(sandbox, plans, str(REPO / "experiments/dns/record-removal.yaml"), {})
    try:
        assert wait_until(lambda: srv(target) == [], 20)
        kill(descendants(process.pid) | {process.pid})
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    folder = plans.folder / "report"
    assert run_gameday(sandbox, "recover", str(folder)).returncode == 0
    assert srv(target) == before
    # drop the recover's record of it: a second recover plays the same rollbacks again
    lines = [line for line in journal.read_text().splitlines() if '"rollbacks_played"' not in line]
    journal.write_text("\n".join(lines) + "\n")
    second = run_gameday(sandbox, "recover", str(folder))
    assert second.returncode == 0 and "step fault: rolled back" in second.stdout, second.stdout + second.stderr
    assert srv(target) == before
    target.shop_is_steady()


def test_sigkill_of_gameday_alone_the_experiment_rolls_back_at_once(sandbox, plans):
    """The dead man's switch: its orchestrator gone, the experiment process stops holding the fault."""
    target = Target(sandbox)
    target.ready_pods(3)
    process, journal = start_fault(sandbox, plans, scale_to_zero_experiment(HOLD), {})
    children = set()
    try:
        assert wait_until(lambda: target.shop_pods() == [], 20)
        children = descendants(process.pid)
        assert children, "the experiment process was not found"
        os.kill(process.pid, signal.SIGKILL)  # gameday alone; its experiment process lives on, in its own session
        process.communicate(timeout=10)
        killed_at = time.monotonic()
        target.ready_pods(3, timeout=30)  # rolled back now, not after HOLD seconds
        assert time.monotonic() - killed_at < 30 < HOLD
        assert wait_until(lambda: not alive(children), 15), f"the experiment process stayed: {alive(children)}"
    finally:
        if process.poll() is None:
            process.kill()
        kill(children)
    ctk = json.loads((plans.folder / "report/experiments/fault.journal.json").read_text())
    assert ctk["status"] == "interrupted" and [r["status"] for r in ctk["rollbacks"]] == ["succeeded"]
    recovered = run_gameday(sandbox, "recover", str(plans.folder / "report"))
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "step fault: rolled back" in recovered.stdout
    played = [e for e in events_of(journal) if e["event"] == "rollbacks_played"]
    assert [(e["by"], e["succeeded"]) for e in played] == [("experiment", True)]  # nothing replayed
    assert "nothing to recover" in run_gameday(sandbox, "recover", str(plans.folder / "report")).stdout
    target.ready_pods(3)
