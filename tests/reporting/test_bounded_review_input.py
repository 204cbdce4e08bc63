"""What the team edits beside a report (notes.jsonl, actions.yaml) is read within bounds: `gameday report` exits 2
with file:line and what is allowed, never a traceback, never blocking on a FIFO, and leaves the files as they were."""

from __future__ import annotations

import os

import pytest

from gamedays.reporting.notes import NOTES
from gamedays.reporting.render import render_report
from tests.loading.test_bounded_input import ALLOWED, alias_bomb


def refused(gameday, folder, message: str) -> None:
    before = sorted(p.name for p in folder.iterdir())
    result = gameday("report", str(folder))
    assert result.code == 2, result.out + result.err
    assert message in result.err, result.err
    assert "Traceback" not in result.err
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written half way


@pytest.fixture
def folder(make, monkeypatch):
    folder = make("deviated")
    render_report(folder)  # writes actions.yaml
    monkeypatch.chdir(folder)  # messages name the files relative to the working directory
    return folder


def test_notes_that_are_a_fifo_are_refused_without_blocking(folder, gameday):
    os.mkfifo(folder / NOTES)
    refused(gameday, folder, f"{NOTES}:1: cannot read {NOTES}: a FIFO (named pipe), not a regular file; {ALLOWED}")


def test_notes_larger_than_one_mebibyte_are_refused_at_the_line_past_the_limit(folder, gameday):
    (folder / NOTES).write_text("\n" * (1024 * 1024 + 10))
    refused(gameday, folder, f"{NOTES}:1048577: the file is larger than 1 MiB (1048576 bytes); {ALLOWED}")


def test_a_notes_line_of_undecodable_bytes_is_left_out_and_said(folder, gameday):
    (folder / NOTES).write_bytes(b'{"text": "\xff\xfe"}\n')
    result = gameday("report", str(folder))
    assert result.code == 1 and "Traceback" not in result.err  # rendered: exit 1 is the deviated gameday's outcome
    assert "notes.jsonl: lines 1 are not notes and were left out." in (folder / "report.md").read_text()


def test_actions_that_are_a_fifo_are_refused_without_blocking(folder, gameday):
    (folder / "actions.yaml").unlink()
    os.mkfifo(folder / "actions.yaml")
    refused(gameday, folder, f"actions.yaml:1: cannot read actions.yaml: a FIFO (named pipe), not a regular file; {ALLOWED}")


def test_an_alias_bomb_in_actions_is_refused(folder, gameday):
    (folder / "actions.yaml").write_text(alias_bomb())
    refused(gameday, folder, f"actions.yaml:5: its aliases expand to more than 100000 values; {ALLOWED}")
    assert (folder / "actions.yaml").read_text() == alias_bomb()


def test_deeply_nested_actions_are_refused(folder, gameday):
    (folder / "actions.yaml").write_text("actions: " + "[" * 500 + "]" * 500 + "\n")
    refused(gameday, folder, f"actions.yaml:1: nested more than 50 deep; {ALLOWED}")


def test_undecodable_bytes_in_actions_are_refused_at_their_line(folder, gameday):
    (folder / "actions.yaml").write_bytes(b"gameday: x\nactions: []\n# \xff\n")
    refused(gameday, folder, "actions.yaml:3: byte 0xff is not UTF-8 text: allowed: a file encoded in UTF-8")
