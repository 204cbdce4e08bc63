"""Manual steps of a playbook: confirmed by a person at the terminal, or recorded as not verified."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

from tests.engine.dr.support import db_srv, edit_playbook, events_of, kinds, layout, write_plan

ANNOUNCE = {"name": "Announce the restore in the incident channel", "manual": "Post in #incident that the zone is being restored."}


def _with_manual_step(tmp_path):
    plans = layout(tmp_path)
    edit_playbook(tmp_path / "playbooks/dns.yaml", lambda pb: pb["steps"].insert(0, ANNOUNCE))
    return write_plan(plans, ["dns.yaml"])


def test_without_a_terminal_a_manual_step_is_not_verified_never_passed(sandbox, tmp_path):
    plan = _with_manual_step(tmp_path)
    result = subprocess.run([sys.executable, "-m", "gamedays", "run", str(plan)], env=sandbox, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr  # not verified is a finding
    events = events_of(tmp_path / "reports/dr/journal.jsonl")
    manual = [s for s in kinds(events, "dr_step", "dns") if s["kind"] == "manual"]
    assert [(s["name"], s["outcome"]) for s in manual] == [(ANNOUNCE["name"], "not verified")]
    assert "non-interactive" in manual[0]["detail"]
    assert kinds(events, "dr_finished", "dns")[0]["recovered_at"] is not None  # the automated steps still recovered
    assert db_srv(sandbox) is not None


def test_at_a_terminal_a_person_confirms_the_manual_step(sandbox, tmp_path):
    plan = _with_manual_step(tmp_path)
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "gamedays", "run", str(plan)], env=sandbox, stdin=terminal,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    os.close(terminal)
    seen = b""
    try:
        deadline = time.monotonic() + 240
        while b"Done? [y] done" not in seen and time.monotonic() < deadline and process.poll() is None:
            ready, _, _ = select.select([process.stdout], [], [], 1.0)
            if ready:
                seen += os.read(process.stdout.fileno(), 4096)
        assert b"MANUAL STEP" in seen and ANNOUNCE["manual"].encode() in seen, seen.decode(errors="replace")
        os.write(controller, b"y\n")
        rest, _ = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
    output = (seen + rest).decode(errors="replace")
    assert process.returncode == 0, output
    events = events_of(tmp_path / "reports/dr/journal.jsonl")
    manual = [s for s in kinds(events, "dr_step", "dns") if s["kind"] == "manual"]
    assert [(s["name"], s["outcome"]) for s in manual] == [(ANNOUNCE["name"], "passed")]
    assert "confirmed done at the terminal" in manual[0]["detail"]
