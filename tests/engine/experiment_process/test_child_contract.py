"""The contract between the orchestrator and its experiment child, with python activities that leave files.

Signals, the event channel, the spec file, the environment, crashes, run_rollbacks
and what the child must not leave behind; each checked on what the activities did.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from gamedays.engine.experiment_process import ChildEvent, ExperimentProcessError, run_rollbacks, spec_file_for
from gamedays.processes import alive as pid_alive, wait_gone
from tests.engine.experiment_process.support import Launch, activity, child_env, experiment

EVERY_STEP = [
    "started", "hypothesis_before", "method_started", "method_completed",
    "hypothesis_after", "rollbacks_started", "rollbacks_completed", "finished",
]  # fmt: skip


def touch(name: str, path: str, *, pause_after: float = 0) -> dict:
    return activity("action", name, "touch", pause_after=pause_after, path=path)


def exists(path: str, tolerance: bool) -> dict:
    return {**activity("probe", "marker-exists", "exists", path=path), "tolerance": tolerance}


def paused_experiment(folder: Path, pause: float = 30) -> dict:
    """An action, a long pause, a rollback: each leaves a file in ``folder``."""
    return experiment(
        [touch("act", "${folder}/action", pause_after=pause)],
        rollbacks=[touch("roll-back", "${folder}/rollback")],
        probes=[exists("${folder}/never", False)],
        folder="unset",
    )


def test_sigterm_during_the_pause_interrupts_and_the_rollbacks_still_run(launch: Launch, tmp_path: Path):
    run = launch(paused_experiment(tmp_path), {"folder": str(tmp_path)})
    assert wait_for_file(tmp_path / "action", 20)  # the action ran: the child is in the pause
    os.kill(run.process.pid, signal.SIGTERM)  # as SIGINT: not chaoslib's InterruptExecution
    result = run.result(20)

    assert (result.status, result.crashed, result.rollbacks_completed) == ("interrupted", False, True)
    assert (tmp_path / "rollback").exists()
    assert json.loads(result.journal_path.read_text())["rollbacks"][0]["status"] == "succeeded"


def test_sigterm_while_the_action_runs_interrupts_it_instead_of_failing_it_and_going_on(launch: Launch, tmp_path: Path):
    """chaoslib's SIGTERM handler raises an Exception, which a python provider running then turns into a failed
    activity: the method went on (its 300 s pause, the next action). The child's own handler stops it."""
    slow = activity("action", "slow-act", "slow_touch", pause_after=300, started="${folder}/started",
                    path="${folder}/action", seconds=5)
    body = experiment([slow, touch("then", "${folder}/then")], rollbacks=[touch("roll-back", "${folder}/rollback")], folder="unset")
    run = launch(body, {"folder": str(tmp_path)})
    assert wait_for_file(tmp_path / "started", 20)  # the action runs
    os.kill(run.process.pid, signal.SIGTERM)
    result = run.result(30)  # far less than the 300 s pause

    assert (result.status, result.crashed, result.rollbacks_completed) == ("interrupted", False, True)
    assert (tmp_path / "rollback").exists() and not (tmp_path / "then").exists()


def test_an_interrupt_while_the_action_runs_does_not_wait_out_its_pause(launch: Launch, tmp_path: Path):
    """chaoslib plays an activity's pause in a ``finally``: interrupted mid-action, it would sit out the whole
    pause with the fault in place. The child cuts that pause short and goes on to the rollbacks."""
    slow = activity("action", "slow-act", "slow_touch", pause_after=300, started="${folder}/started",
                    path="${folder}/action", seconds=5)
    body = experiment([slow], rollbacks=[touch("roll-back", "${folder}/rollback")], folder="unset")
    run = launch(body, {"folder": str(tmp_path)})
    assert wait_for_file(tmp_path / "started", 20)  # the action runs
    run.process.interrupt()
    result = run.result(30)  # far less than the 300 s pause

    assert (result.status, result.crashed, result.rollbacks_completed) == ("interrupted", False, True)
    assert (tmp_path / "rollback").exists()
    journal = json.loads(result.journal_path.read_text())
    assert journal["duration"] < 30 and [r["status"] for r in journal["rollbacks"]] == ["succeeded"]


def test_an_interrupt_right_after_start_is_held_until_the_run_can_take_it(launch: Launch, tmp_path: Path):
    run = launch(paused_experiment(tmp_path), {"folder": str(tmp_path)})
    run.process.interrupt()  # the child is still loading Python: the signal must not be lost, nor kill it
    result = run.result(20)

    assert (result.status, result.crashed, result.rollbacks_completed) == ("interrupted", False, True)
    assert not (tmp_path / "action").exists()  # interrupted before the method
    assert (tmp_path / "rollback").exists()  # and the rollbacks played all the same
    assert "method_completed" not in run.kinds() and run.kinds()[-1] == "finished"


def test_a_sigint_while_the_rollbacks_play_is_ignored_so_they_all_play(launch: Launch, tmp_path: Path):
    body = experiment([], rollbacks=[touch("first", "${folder}/first", pause_after=1.5), touch("second", "${folder}/second")], folder="unset")
    run = launch(body, {"folder": str(tmp_path)})
    run.wait_for("rollbacks_started")
    assert wait_for_file(tmp_path / "first", 10)
    os.kill(run.process.pid, signal.SIGINT)  # a second Ctrl-C, say: it must not cut the rollbacks short
    result = run.result(20)

    assert (tmp_path / "second").exists()
    assert (result.status, result.rollbacks_completed) == ("completed", True)
    assert [r["status"] for r in json.loads(result.journal_path.read_text())["rollbacks"]] == ["succeeded", "succeeded"]
    assert "ignored" in run.spec.log_path.read_text()


def wait_for_file(path: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not path.exists():
        time.sleep(0.02)
    return path.exists()


def test_a_run_that_completes_sends_every_step_and_malformed_lines_are_ignored(launch: Launch, tmp_path: Path):
    body = experiment(
        [activity("action", "garble-the-channel", "garble_events"), touch("act", "${folder}/action")],
        rollbacks=[touch("roll-back", "${folder}/rollback")],
        probes=[exists("${folder}/action", False)],
        folder="unset",
    )
    run = launch(body, {"folder": str(tmp_path)})
    result = run.result()

    assert run.kinds() == EVERY_STEP  # the three garbage lines were dropped, nothing else
    assert (result.status, result.deviated, result.error) == ("completed", True, "steady state not met after the method: probe 'marker-exists' out of tolerance")
    assert [e.met for e in run.events if e.kind.startswith("hypothesis")] == [True, False]
    assert (tmp_path / "rollback").exists()  # rollbacks played after a deviation, as always


def test_a_steady_state_out_of_tolerance_before_the_method_completes_without_running_it(launch: Launch, tmp_path: Path):
    body = experiment([touch("act", "${folder}/action")], rollbacks=[touch("roll-back", "${folder}/rollback")],
                      probes=[exists("${folder}/action", True)], folder="unset")  # fmt: skip
    run = launch(body, {"folder": str(tmp_path)})
    result = run.result()

    # chaoslib: a probe out of tolerance is "completed", only a probe that errors is "failed"
    assert (result.status, result.deviated) == ("completed", False)
    assert run.events[1].kind == "hypothesis_before" and run.events[1].met is False
    assert "method_started" not in run.kinds() and not (tmp_path / "action").exists()
    assert (tmp_path / "rollback").exists()  # "always": played even though the method never ran
    assert result.error == "steady state not met before the method (the method did not run): probe 'marker-exists' out of tolerance"


def test_the_spec_file_holds_the_configuration_and_the_environment_reaches_the_child_only(launch: Launch, tmp_path: Path):
    body = experiment([activity("action", "read-env", "write_env", name="SHOP_TOKEN", path="${folder}/env")], folder="unset")
    run = launch(body, {"folder": str(tmp_path)}, env=child_env(SHOP_TOKEN="s3cr3t-value-in-env"))
    result = run.result()

    assert result.status == "completed"
    assert (tmp_path / "env").read_text() == "s3cr3t-value-in-env"
    spec_file = spec_file_for(run.spec.journal_path)
    spec = json.loads(spec_file.read_text())
    assert spec["configuration"] == {"folder": str(tmp_path)} and spec["experiment"] == body
    assert "s3cr3t-value-in-env" not in spec_file.read_text()
    journal = json.loads(result.journal_path.read_text())
    assert journal["run"][0]["output"] == "s3cr3t-value-in-env"  # the CTK journal is the child's, as chaos run writes it


def test_a_crash_is_reported_with_the_log_lines_and_without_secrets(launch: Launch, tmp_path: Path):
    password = "pg-pa55word"
    body = experiment([activity("action", "crash", "crash", code=3, say=f"connecting to postgresql://shop:{password}@db/shop failed")])
    run = launch(body, env=child_env(DATABASE_URL=f"postgresql://shop:{password}@127.0.0.1:5432/shop"))
    result = run.result()

    assert (result.crashed, result.status, result.exit_code) == (True, "crashed", 3)
    assert "exited with code 3" in result.error and "postgresql://shop:***@db/shop failed" in result.error
    assert password not in result.error
    assert password in run.spec.log_path.read_text()  # it was there, in the log the user owns


def test_a_child_that_cannot_run_the_experiment_is_a_crash_that_says_why(launch: Launch):
    body = experiment([activity("action", "a", "touch", path="/nonexistent/x")])
    del body["description"]
    run = launch(body)
    result = run.result()

    assert (result.crashed, result.status, result.exit_code) == (True, "crashed", 2)
    assert "experiment requires a description" in result.error


def test_processes_an_activity_left_behind_are_gone_after_wait(launch: Launch, tmp_path: Path):
    pidfile = tmp_path / "sleeper.pid"
    run = launch(experiment([activity("action", "leave-a-sleeper", "spawn_sleeper", pidfile=str(pidfile))]))
    result = run.result()

    assert result.status == "completed"
    sleeper = int(pidfile.read_text())
    assert wait_gone([sleeper], 5), "the sleep the activity started outlived the experiment process"


def test_wait_times_out_while_the_child_runs_then_kill_reaps_it(launch: Launch, tmp_path: Path):
    run = launch(paused_experiment(tmp_path), {"folder": str(tmp_path)})
    run.wait_for("method_started")
    with pytest.raises(TimeoutError):
        run.process.wait(0.2)
    assert run.process.running() and pid_alive(run.process.pid)
    run.process.kill()
    result = run.result(10)

    assert (result.crashed, result.exit_code, result.rollbacks_completed) == (True, -9, False)
    assert not (tmp_path / "rollback").exists()
    assert run.process.wait() is result  # the result is kept


def test_run_rollbacks_reports_a_failing_rollback_and_keeps_the_experiment_journal(launch: Launch, tmp_path: Path):
    body = experiment(
        [touch("act", "${folder}/action")],
        rollbacks=[touch("first", "${folder}/first"), activity("action", "second", "fail", message="cannot restore"), touch("third", "${folder}/third")],
        folder="unset",
    )
    run = launch(body, {"folder": str(tmp_path)})
    first = run.result()
    assert first.status == "completed" and first.rollbacks_completed
    journal_before = first.journal_path.read_text()
    for marker in ("action", "first", "third"):
        (tmp_path / marker).unlink()

    recovered = run_rollbacks(run.spec, timeout=30)

    assert (recovered.status, recovered.rollbacks_completed, recovered.crashed) == ("failed", False, False)
    assert recovered.error == "action 'second' failed: cannot restore"
    assert (tmp_path / "first").exists() and (tmp_path / "third").exists()  # every rollback was played
    assert not (tmp_path / "action").exists()  # only the rollbacks ran, not the method
    assert first.journal_path.read_text() == journal_before
    rollbacks = json.loads(recovered.journal_path.read_text())
    assert [r["activity"]["name"] for r in rollbacks["rollbacks"]] == ["first", "second", "third"]
    assert rollbacks["run"] == []


def test_event_lines_round_trip_and_anything_else_is_none():
    event = ChildEvent("finished", 12.5, status="interrupted", deviated=False)
    assert ChildEvent.from_line(event.to_line()) == event
    assert event.to_line().endswith("\n") and event.to_line().count("\n") == 1
    for line in (b"", b"[]", b"{}", b"not json", b'{"kind": "finished"}', b'{"kind": "boom", "at": 1}',
                 b'{"kind": "finished", "at": true}', b'{"kind": "hypothesis_before", "at": 1, "met": "yes"}'):  # fmt: skip
        assert ChildEvent.from_line(line) is None, line


def test_wait_before_start_says_so(tmp_path: Path):
    from gamedays.engine.experiment_process import ExperimentProcess, ExperimentSpec

    process = ExperimentProcess(ExperimentSpec({}, {}, tmp_path / "j.json", tmp_path / "log", {}), lambda e: None)
    with pytest.raises(ExperimentProcessError, match="never started"):
        process.wait()
    process.interrupt()  # nothing to interrupt: a no-op
    assert process.pid is None and not process.running()


def test_the_orchestrator_side_imports_no_chaoslib(python: str):
    import subprocess

    code = "import sys, gamedays.engine.experiment_process; print(sorted(m for m in sys.modules if m.split('.')[0] in ('chaoslib', 'chaostoolkit')))"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=30, check=True).stdout
    assert out.strip() == "[]"


def test_a_child_that_cannot_start_says_why_and_leaves_no_pipe_open(tmp_path: Path):
    from gamedays.engine.experiment_process import ExperimentProcess, ExperimentSpec

    fds = set(os.listdir("/proc/self/fd"))
    missing_cwd = ExperimentSpec(experiment([]), {}, tmp_path / "j.json", tmp_path / "log", child_env(), cwd=tmp_path / "missing")
    process = ExperimentProcess(missing_cwd, lambda e: None)
    with pytest.raises(ExperimentProcessError, match="cannot start the experiment process"):
        process.start()
    assert process.pid is None and set(os.listdir("/proc/self/fd")) == fds

    not_json = ExperimentSpec(experiment([]), {"when": object()}, tmp_path / "j.json", tmp_path / "log", child_env())
    with pytest.raises(ExperimentProcessError, match="cannot be sent to the child: a value of type object"):
        ExperimentProcess(not_json, lambda e: None).start()


def test_a_chatty_probe_is_cut_in_the_journal_and_kept_whole_in_a_capped_log(launch: Launch, tmp_path: Path):
    from gamedays.engine.activity_output import CUT_MARKER, OUTPUT_LIMIT, outputs_log_for

    size = 5 * 1024 * 1024  # a real process printing 5 MB on its stdout
    chatty = {
        "type": "probe", "name": "chatty",
        "provider": {"type": "process", "path": sys.executable, "arguments": ["-c", f"print('x' * {size})"]},
    }  # fmt: skip
    run = launch(experiment([chatty, touch("act", "${folder}/action")], folder=str(tmp_path)))
    result = run.result(60)

    assert (result.status, result.crashed) == ("completed", False)
    assert (tmp_path / "action").exists()  # the run went on past the chatty probe
    assert result.journal_path.stat().st_size < 2 * OUTPUT_LIMIT  # not 3 times the output
    kept = json.loads(result.journal_path.read_text())["run"][0]["output"]
    assert isinstance(kept, str) and CUT_MARKER in kept and kept.startswith('{"status": 0, "stdout": "xxx')
    full = outputs_log_for(result.journal_path).read_text()
    assert full.count("x") >= size and "activity 'chatty'" in full
