"""An internal error (a bug of gameday or of a plugin) escapes the run loop: exit 70, end to end.

The cheapest real trigger: a rehearsal's DR prechecks import every python provider of the
playbook in the orchestrator itself (:func:`gamedays.engine.providers.provider_found`), and
a plugin module that raises a BaseException that is not an Exception while it is imported
is not stopped by any ``except Exception``. A plugin's ``sys.exit(0)`` is one too: it once
made the rehearsal exit 0, its journal saying "deviated" and its DR check never finished.
The plan's environment is not the sandbox (``staging``, confirmed): a rehearsal injects
nothing, so nothing needs starting.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.run.conftest import REPO

pytestmark = pytest.mark.e2e

PLUGIN = '''\
class PluginPanic(BaseException):
    """A plugin's bug that is no Exception: no `except Exception` stops it."""


def break_it():
    return None


{raises}
'''
RAISES = {  # a BaseException that is no Exception; a sys.exit() is no decision of gameday's either
    "PluginPanic": ('raise PluginPanic("the plugin gave up while importing")', "PluginPanic: the plugin gave up while importing"),
    "SystemExit": ("raise SystemExit(0)", "SystemExit: 0"),
}

PLAYBOOK = """\
title: Mend the shop's database with a broken plugin
covers: {kind: database-cluster, name: shop-db}
reach: [local-host]
disaster:
  description: the plugin breaks it
  inject:
    - name: Break it
      automated: {type: action, name: break, provider: {type: python, module: broken_plugin, func: break_it}}
rto: 1m
steps:
  - name: Mend it
    manual: mend it by hand
checks:
  - probe: {type: probe, name: here, tolerance: true, provider: {type: python, module: os.path, func: exists, arguments: {path: "."}}}
"""

EXPERIMENT = {
    "title": "A harmless experiment",
    "description": "Its one action checks that a path exists (not even that in a rehearsal).",
    "extensions": [{"name": "gameday", "reach": ["local-host"]}],
    "method": [{"type": "action", "name": "look", "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "."}}}],
    "rollbacks": [{"type": "action", "name": "look-again", "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "."}}}],
}


def _gameday(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gamedays", *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("raised", sorted(RAISES))
def test_a_plugin_raising_a_base_exception_exits_70_with_one_line_the_traceback_in_the_log_and_the_journal_closed(
    tmp_path: Path, raised: str
):
    statement, logged = RAISES[raised]
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "broken_plugin.py").write_text(PLUGIN.format(raises=statement))
    (tmp_path / "broken.yaml").write_text(PLAYBOOK)
    (tmp_path / "harmless.json").write_text(json.dumps(EXPERIMENT))
    plan = {
        "gameday": "crash", "title": "an internal error", "date": "2024-05-21", "environment": "staging",
        "environment_on_this_host": True,
        "team": {"commander": "tester"}, "slos": str(REPO / "probes/slos.yaml"),
        "monitor": {"interval": "500ms", "baseline": "1s", "cooldown": "1s", "timeout": "1s"},
        "experiments": [{"id": "harmless", "uses": "harmless.json"}],
        "disaster_recovery": [{"playbook": "broken.yaml"}],
        "report": {"out": str(tmp_path / "report")},
    }
    (tmp_path / "plan.yaml").write_text(json.dumps(plan))  # JSON is YAML
    env = {key: value for key, value in os.environ.items() if key != "GAMEDAY_SANDBOX"}
    env["GAMEDAY_HOME"] = str(tmp_path / "home")
    env["PYTHONPATH"] = os.pathsep.join([str(plugins), str(REPO)])  # the plugin imports in gameday itself
    folder = tmp_path / "report" / "rehearsal"
    log = folder / "gameday.log"

    done = _gameday(env, "rehearse", str(tmp_path / "plan.yaml"), "--confirm", "staging")

    assert done.returncode == 70, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0] == (
        f"gameday: internal error: {raised} raised in {plugins / 'broken_plugin.py'}:9 "
        f"(a bug of gameday or of a plugin it ran, not your mistake); the traceback is in {log}"
    )
    text = log.read_text()
    assert f"CRITICAL gamedays: internal error: {logged}" in text
    assert "Traceback (most recent call last)" in text and statement in text  # the traceback quotes the plugin's line
    assert "DR broken: rehearsal prechecks (no disaster)" in done.stdout  # it got as far as the DR prechecks

    events = [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines() if line.strip()]
    assert events[-1] == {**events[-1], "event": "gameday_finished", "outcome": "error", "exit_code": 70}
    armed = [e for e in events if e["event"] == "fault_armed"]
    finished = [e for e in events if e["event"] == "step_finished"]
    assert [e["step"] for e in armed] == ["harmless"] and armed[0]["dry"] is True  # a rehearsal injects nothing
    assert [(e["step"], e["outcome"]) for e in finished] == [("harmless", "passed")]
    assert [e.get("dry") for e in events if e["event"] == "dr_started"] == [True]
    assert not [e for e in events if e["event"] == "dr_step" and e.get("phase") == "disaster"]

    recovered = _gameday(env, "recover", str(folder))  # the journal leaves no fault open
    assert recovered.returncode == 0, recovered.stderr
    assert recovered.stdout.strip() == f"{folder}: no fault is left open; nothing to recover"
