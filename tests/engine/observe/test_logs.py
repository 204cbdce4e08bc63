"""The run's logs: JSON lines with the same fields every time, meaningful messages, no secret."""

from __future__ import annotations

import io
import json
import logging
import re

from gamedays.engine.logs import EventLog, LogFormat, RunLogging, environment_secrets
from gamedays.model.events import ExperimentProgress, FaultArmed, NotificationFailed, PhaseStarted
from tests.notify.events import T0, dr_finished, dr_writes, finished, guardrail, listening, sample, started, step_run

FIELDS = ["time", "level", "gameday", "step", "event", "message", "logger"]
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def run_events() -> list:
    return [
        started(),
        PhaseStarted(at=T0 + 1, phase="baseline", seconds=30),
        *step_run("api-pod-loss", 0)[:1],
        FaultArmed(at=T0 + 11, step="api-pod-loss", experiment_path="/x/pod-kill.yaml", experiment={}, configuration={}),
        ExperimentProgress(at=T0 + 12, step="api-pod-loss", kind="method_started"),
        sample("checkout-availability", True, T0 + 12, 1.0),
        sample("checkout-availability", False, T0 + 13, 0.0),
        sample("checkout-availability", False, T0 + 14, 0.0),
        guardrail(),
        sample("checkout-availability", True, T0 + 16.5, 1.0),
        *step_run("api-pod-loss", 0)[-1:],
        dr_writes(0),
        dr_finished(42.0),
        NotificationFailed(at=T0 + 250, channel="mattermost", about="guardrail", attempts=4, error="HTTP 500"),
        finished(),
    ]


def test_json_lines_carry_the_fields_and_the_events_meaningful_messages(tmp_path):
    stream = io.StringIO()
    logs = RunLogging(tmp_path / "gameday.log", LogFormat.JSON, "2024-05", stream=stream)
    try:
        tell = listening(EventLog())
        for event in run_events():
            tell(event)
        logging.getLogger("chaoslib.some.library").info("a library's line")
    finally:
        logs.close()
    lines = json_lines(stream.getvalue())
    assert lines == json_lines((tmp_path / "gameday.log").read_text())  # the file has the same lines
    for line in lines:
        assert list(line) == FIELDS
        assert ISO_UTC.match(line["time"]), line["time"]
        assert line["gameday"] == "2024-05"
    by_message = {line["message"]: line for line in lines}
    assert by_message["step api-pod-loss: fault injected"]["step"] == "api-pod-loss"
    assert by_message["step api-pod-loss: fault injected"]["event"] == "experiment"
    trip = by_message["guardrail tripped: checkout-availability breached for 5.2s, aborting api-pod-loss"]
    assert trip["level"] == "error" and trip["event"] == "guardrail" and trip["step"] == "api-pod-loss"
    breach = by_message["SLO checkout-availability in breach: HTTP 503 (value 0)"]
    assert breach["level"] == "warning" and breach["event"] == "breach" and breach["step"] == "api-pod-loss"
    assert by_message["SLO checkout-availability back within objective after 3.5s in breach"]["event"] == "recovery"
    assert "DR check database-cluster: recovered 42.0s after the disaster" in by_message
    assert "notification to mattermost about guardrail failed after 4 attempts: HTTP 500" in by_message
    assert by_message["a library's line"]["step"] is None and by_message["a library's line"]["event"] is None
    assert lines[0]["message"].startswith("run of gameday 2024-05 started on sandbox: 2 experiments, 1 DR checks")
    assert lines[-2]["message"] == "gameday finished: deviated (exit code 1)"
    # 4 samples, one breach and one recovery: samples are not logged one by one
    assert sum(1 for line in lines if "SLO checkout-availability" in line["message"]) == 2


def test_human_format_stays_readable_and_writes_nothing_to_stderr(tmp_path, capsys):
    logs = RunLogging(tmp_path / "gameday.log", LogFormat.HUMAN, "2024-05")
    try:
        listening(EventLog())(guardrail())
    finally:
        logs.close()
    text = (tmp_path / "gameday.log").read_text()
    assert re.search(r"^\d{4}-\d{2}-\d{2} [\d:,]+ ERROR gamedays.run: guardrail tripped: checkout-availability "
                     r"breached for 5.2s, aborting api-pod-loss$", text, re.M), text
    assert capsys.readouterr().err == ""


def test_no_secret_reaches_a_log_line(tmp_path):
    stream = io.StringIO()
    env = {"DATABASE_URL": "postgresql://shop:canary-pw-1@127.0.0.1:5432/shop", "HOME": "/root"}
    logs = RunLogging(tmp_path / "gameday.log", LogFormat.JSON, "2024-05", stream=stream)
    logs.secrets.add(environment_secrets(env))
    logs.secrets.add(["http://127.0.0.1:9/hooks/canary-hook-key"])
    try:
        log = logging.getLogger("gamedays.sli.postgres")
        log.warning("connect failed: %s", "postgresql://shop:canary-pw-1@127.0.0.1:5432/shop")
        log.warning("libpq: password=canary-pw-2 host=db")
        log.warning("unknown DSN postgresql://admin:canary-pw-3@db.internal/x")
        log.warning("posting to http://127.0.0.1:9/hooks/canary-hook-key failed")
        try:
            raise RuntimeError("in a traceback: canary-pw-1")
        except RuntimeError:
            log.exception("a failure")
    finally:
        logs.close()
    written = stream.getvalue() + (tmp_path / "gameday.log").read_text()
    for canary in ("canary-pw-1", "canary-pw-2", "canary-pw-3", "canary-hook-key"):
        assert canary not in written
    assert "postgresql://shop:***@127.0.0.1:5432/shop" in written
    assert len(json_lines(stream.getvalue())) == 5


def test_closing_takes_the_handlers_off_again(tmp_path):
    before = list(logging.getLogger().handlers)
    RunLogging(tmp_path / "a.log", LogFormat.JSON, "x", stream=io.StringIO()).close()
    assert logging.getLogger().handlers == before


def test_sigusr1_appends_every_threads_stack_to_the_log_and_close_takes_the_handler_off(tmp_path):
    import os
    import signal
    import threading

    path = tmp_path / "gameday.log"
    logging_ = RunLogging(path, LogFormat.HUMAN, "2024-05")
    parked = threading.Event()
    waiter = threading.Thread(target=parked.wait, name="parked", daemon=True)
    waiter.start()
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        dumped = path.read_text()
        assert "Current thread" in dumped and dumped.count("Thread 0x") >= 1
        assert "in wait" in dumped  # the parked thread, where it waits
        assert 'File "' in dumped and "test_logs.py" in dumped
    finally:
        logging_.close()
        parked.set()
        waiter.join(5)
    import faulthandler

    assert faulthandler.unregister(signal.SIGUSR1) is False  # nothing left registered by the run
