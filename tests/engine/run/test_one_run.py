"""One run per gameday: the report folder's lock (gamedays.engine.report_lock), with real processes."""

from __future__ import annotations

import json
import socket

from tests.engine.run.conftest import gameday_process, power_loss, run_gameday, scale_to_zero_experiment, shop_pods, wait_for_journal, wait_ready_pods


def events_of(journal):
    return [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]


def test_a_second_run_of_one_plan_is_refused_naming_the_first_which_goes_on_unharmed(sandbox, plans):
    # held long enough for three refused commands, each a Python start-up, on a busy machine
    plan = plans.write([{"id": "all-pods", "uses": scale_to_zero_experiment(hold=30)}])
    report = plans.folder / "report"
    journal = report / "journal.jsonl"
    first = gameday_process(sandbox, "run", str(plan), "--metrics-port", "0")
    try:
        wait_for_journal(journal, lambda ev: any(e.get("kind") == "method_started" for e in ev))
        for command in (["run", str(plan)], ["rehearse", str(plan)], ["recover", str(report)]):
            second = run_gameday(sandbox, *command, "--metrics-port", "0") if command[0] != "recover" else run_gameday(sandbox, *command)
            assert second.returncode == 2, second.stdout + second.stderr
            assert f"already in use by gameday run pid {first.pid} on {socket.gethostname()}, started " in second.stderr
            assert "Traceback" not in second.stderr
            assert first.poll() is None, "the first run ended before every second command was tried"
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode in (0, 1), out + err  # its own outcome: the fault found or not, never aborted
    events = events_of(journal)
    assert len([e for e in events if e["event"] == "gameday_started"]) == 1  # nobody else's run in its journal
    assert events[-1]["event"] == "gameday_finished"
    assert not list(report.glob("journal.*.jsonl"))  # its journal was never renamed
    assert not (report / "rehearsal").exists()
    wait_ready_pods(sandbox, 3)
    assert not (report / ".gameday.lock.json").exists()  # released at its end


def test_a_lock_left_by_a_sigkilled_run_is_taken_over_by_recover(sandbox, plans):
    plan = plans.write([{"id": "all-pods", "uses": scale_to_zero_experiment(hold=120)}])
    report = plans.folder / "report"
    process = gameday_process(sandbox, "run", str(plan), "--metrics-port", "0")
    try:
        wait_for_journal(report / "journal.jsonl", lambda ev: any(e.get("kind") == "method_started" for e in ev))
        power_loss(process)
    finally:
        if process.poll() is None:
            process.kill()
    assert json.loads((report / ".gameday.lock.json").read_text())["pid"] == process.pid  # left behind
    recovered = run_gameday(sandbox, "recover", str(report))
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert f"taking over the lock left by gameday run pid {process.pid} on {socket.gethostname()}" in recovered.stdout
    assert "step all-pods: rolled back" in recovered.stdout
    wait_ready_pods(sandbox, 3)
    assert len(shop_pods(sandbox)) == 3
