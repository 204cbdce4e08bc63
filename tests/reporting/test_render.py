"""render_report: the files it writes, byte-for-byte stable re-renders, and its errors."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from gamedays.model.errors import GamedayError
from gamedays.model.plan import ReportFormat
from gamedays.reporting.render import ReportError, render_report
from tests.reporting.journals import SCENARIOS
from tests.support import REPO

ALL_FILES = {"report.html", "report.md", "report.json", "junit.xml", "actions.md", "actions.yaml"}


def contents(folder):
    return {name: (folder / name).read_bytes() for name in sorted(ALL_FILES) if (folder / name).exists()}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_same_journal_renders_the_same_bytes(make, tmp_path, name):
    folder = make(name)
    rendered = render_report(folder)
    assert {p.name for p in rendered.paths} == ALL_FILES and all(p.parent == folder for p in rendered.paths)
    first = contents(folder)
    assert all(first.values())
    again = render_report(folder)  # in place, over the first rendering
    assert contents(folder) == first and again.exit_code == rendered.exit_code
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(folder / "journal.jsonl", copy / "journal.jsonl")
    render_report(copy)
    assert contents(copy) == first
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.e2e
def test_the_bytes_depend_neither_on_time_zone_nor_on_hash_seed(make, tmp_path, python):
    folder = make("deviated")
    render_report(folder)
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.copy(folder / "journal.jsonl", other / "journal.jsonl")
    env = {**os.environ, "TZ": "Pacific/Kiritimati", "PYTHONHASHSEED": "4242", "LC_ALL": "C.UTF-8"}
    code = "import sys; from pathlib import Path; from gamedays.reporting.render import render_report; render_report(Path(sys.argv[1]))"
    result = subprocess.run([python, "-c", code, str(other)], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert contents(other) == contents(folder)


@pytest.mark.parametrize(
    "name, outcome, code",
    [("passing", "passed", 0), ("deviated", "deviated", 1), ("aborted", "deviated", 1), ("interrupted", "aborted", 3),
     ("crashed", "aborted", 3), ("torn", "aborted", 3), ("rehearsal", "passed", 0)],
)
def test_the_outcome_and_exit_code_shown(make, name, outcome, code):
    rendered = render_report(make(name))
    assert (rendered.outcome.value, int(rendered.exit_code)) == (outcome, code)


def test_a_journal_left_by_a_crash_is_shown_aborted_whatever_its_steps_say(make):
    rendered = render_report(make("torn"))  # every step passed, but gameday_finished was lost
    assert all(s.outcome.value == "passed" for s in rendered.analysis.steps)
    assert not rendered.analysis.complete and rendered.report.torn
    assert rendered.outcome.value == "aborted" and int(rendered.exit_code) == 3


def test_only_the_formats_asked_for_and_the_actions_are_written(make):
    folder = make("passing")
    rendered = render_report(folder, ["json", ReportFormat.JUNIT, "json"])
    assert [p.name for p in rendered.paths] == ["report.json", "junit.xml", "actions.md", "actions.yaml"]
    assert set(contents(folder)) == {"report.json", "junit.xml", "actions.md", "actions.yaml"}


def test_an_unknown_format_is_refused_before_anything_is_written(make):
    folder = make("passing")
    with pytest.raises(ReportError, match=r"unknown report format 'pdf': use html, md, json, junit"):
        render_report(folder, ["html", "pdf"])
    assert contents(folder) == {}


def test_a_missing_folder_is_named(tmp_path):
    missing = tmp_path / "reports" / "2024-05"
    with pytest.raises(ReportError) as caught:
        render_report(missing)
    assert str(caught.value) == f"{missing}: no such report folder"
    assert isinstance(caught.value, GamedayError) and caught.value.exit_code == 2


def test_a_folder_without_journal_names_the_journal_and_points_at_a_rehearsal(make, tmp_path):
    folder = tmp_path / "2024-05"
    folder.mkdir()
    with pytest.raises(ReportError) as caught:
        render_report(folder)
    assert str(caught.value) == f"{folder / 'journal.jsonl'}: no journal here (a report folder holds the journal.jsonl a gameday run writes)"
    make("rehearsal", "2024-05/rehearsal")
    with pytest.raises(ReportError, match="a rehearsal's journal is in .*2024-05/rehearsal"):
        render_report(folder)
    assert render_report(folder / "rehearsal").report.rehearsal


def test_a_file_that_is_not_a_gameday_journal_is_refused(tmp_path):
    (tmp_path / "journal.jsonl").write_bytes(b'{"not": "an event"}\n\xff\xfe garbage\n')
    with pytest.raises(ReportError) as caught:
        render_report(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / 'journal.jsonl'}: not a gameday journal: it has no gameday_started event (0 events, 2 unreadable lines)"
    )
    assert not (tmp_path / "report.html").exists()


def test_unreadable_lines_in_the_middle_are_skipped_and_reported(make):
    folder = make("passing")
    journal = folder / "journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    lines.insert(5, "{this is not json}\n")
    journal.write_text("".join(lines))
    rendered = render_report(folder)
    assert rendered.report.skipped == (6,)
    assert "journal.jsonl: 1 unreadable line left out (line 6)." in (folder / "report.md").read_text()


def test_a_report_that_cannot_be_written_is_an_error_naming_the_file(make):
    folder = make("passing")
    (folder / "report.html").mkdir()  # something in the way
    with pytest.raises(ReportError, match=f"cannot write {folder / 'report.html'}: "):
        render_report(folder)
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
