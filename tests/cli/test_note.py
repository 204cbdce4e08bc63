"""`gameday note`: team notes into a report folder, while the run writes its journal and after it."""

from __future__ import annotations

import pytest

import json
import subprocess
import time

from tests.reporting.journals import passing
from tests.support import REPO

# A run in another process: the passing gameday's events appended one by one (fsynced) through the engine's Journal.
WRITER = """
import sys, time
from pathlib import Path
from gamedays.journal.io import Journal
from gamedays.model.outcomes import Outcome
from tests.reporting.journals import Gameday, info
gd = Gameday([info("pod-kill")])
end = gd.step("pod-kill", 11.0, 4.0, recover=2.0)
gd.finish(end, Outcome.PASSED, 0)
events = sorted([*gd.events, *gd.sampled(end)], key=lambda e: e.at)
folder = Path(sys.argv[1])
folder.mkdir(parents=True)
with Journal(folder / "journal.jsonl") as journal:
    for event in events:
        journal.append(event)
        time.sleep(0.01)
print(len(events))
"""


def test_a_note_and_an_action_note_join_the_report(gameday, tmp_path, monkeypatch):
    folder = tmp_path / "2024-05"
    passing(folder)
    monkeypatch.setenv("USER", "carol")
    plain = gameday("note", str(folder), "the balancer retried every 503: users saw nothing")
    assert plain.code == 0, plain.err
    assert plain.out == f"note by carol added to {folder / 'notes.jsonl'}; `gameday report {folder}` shows it\n"
    action = gameday("note", str(folder), "Lower the DNS TTL to 30s", "--action", "--owner", "dave", "--author", "bob")
    assert action.code == 0, action.err
    assert action.out.startswith("action note (owner dave) by bob added to ")
    report = gameday("report", str(folder))
    assert report.code == 0, report.err
    md = (folder / "report.md").read_text()
    assert ", carol: the balancer retried every 503: users saw nothing\n" in md
    assert ", bob (action, owner dave): Lower the DNS TTL to 30s\n" in md
    document = json.loads((folder / "report.json").read_text())
    assert [(a["title"], a["owner"], a["source"]) for a in document["actions"]] == [("Lower the DNS TTL to 30s", "dave", "note")]
    assert "    owner: dave\n" in (folder / "actions.yaml").read_text()


@pytest.mark.e2e
def test_notes_taken_while_the_run_writes_its_journal(gameday, tmp_path, python):
    folder = tmp_path / "2024-05"
    run = subprocess.Popen([python, "-c", WRITER, str(folder)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (folder / "journal.jsonl").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        taken = []
        for n in range(5):
            result = gameday("note", str(folder), f"observation {n}", "--author", "scribe")
            assert result.code == 0, result.err
            taken.append(run.poll() is None)
            time.sleep(0.02)
        out, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0 and any(taken)  # at least one note went in while the run was still writing
    events = int(out)
    lines = (folder / "journal.jsonl").read_text().splitlines()
    assert len(lines) == events and all(json.loads(line) for line in lines)  # the journal is whole
    assert gameday("report", str(folder)).code == 0
    md = (folder / "report.md").read_text()
    assert all(f", scribe: observation {n}\n" in md for n in range(5))


def test_a_folder_that_is_not_a_report_folder(gameday, tmp_path):
    (tmp_path / "plans").mkdir()
    result = gameday("note", str(tmp_path / "plans"), "hello")
    assert result.code == 2 and result.out == ""
    assert result.err == (
        f"{tmp_path / 'plans'}: not a gameday's report folder: it holds no journal.jsonl "
        "(notes go into the folder a gameday run writes, e.g. reports/2024-05)\n"
    )
    missing = gameday("note", str(tmp_path / "nowhere"), "hello")
    assert missing.code == 2
    assert missing.err == f"{tmp_path / 'nowhere'}: no such report folder (a gameday run writes its report folder reports/<gameday>/)\n"
    assert not (tmp_path / "plans" / "notes.jsonl").exists()


def test_bad_arguments_exit_2_with_what_is_allowed(gameday, tmp_path):
    folder = tmp_path / "2024-05"
    passing(folder)
    owner = gameday("note", str(folder), "fix it", "--owner", "dave")
    assert owner.code == 2 and owner.err == "--owner dave names the owner of an action: add --action, or leave --owner out\n"
    empty = gameday("note", str(folder), "  ")
    assert empty.code == 2 and empty.err == 'a note needs a text: gameday note FOLDER "what you saw"\n'
    assert not (folder / "notes.jsonl").exists()
    assert "Traceback" not in owner.err + empty.err


def test_help_lists_note(gameday):
    result = gameday("--help")
    assert "  note " in result.out
    usage = gameday("note", "--help")
    assert usage.code == 0 and "Usage: gameday note [OPTIONS] FOLDER TEXT" in usage.out and "--action" in usage.out


def test_a_credential_pasted_into_a_note_is_masked_before_it_is_kept(gameday, tmp_path):
    from tests.reporting.journals import passing

    folder = passing(tmp_path / "r").parent
    token = "ghp_" + "Zq81mx0c3vb7Lk2Pw9Yt4Rn6Hs1Jd5Fg8Ae0"
    result = gameday("note", str(folder), f"rotated the DSN postgresql://shop:hunter2@db/shop and token {token}")
    assert result.code == 0, result.err
    kept = (folder / "notes.jsonl").read_text()
    assert "hunter2" not in kept and token not in kept
    assert "postgresql://shop:***@db/shop" in kept
