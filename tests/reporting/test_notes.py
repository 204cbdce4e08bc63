"""Team notes: appended safely to notes.jsonl, read back despite a torn line, shown (escaped) in the report."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gamedays.reporting.actions import ActionKind
from gamedays.reporting.notes import NOTES, NoteError, append_note, make_note, read_notes
from gamedays.reporting.priority import Priority
from gamedays.reporting.render import render_report
from tests.reporting.htmlcheck import Page
from tests.reporting.journals import T0
from tests.support import REPO

SCRIPT = '<script>alert("note")</script> & *bold*'


def note(folder, text, at, **kw):
    return append_note(folder, make_note(text, author=kw.pop("author", "carol"), at=at, **kw))


def test_a_note_is_one_json_line_and_reads_back(make):
    folder = make("passing")
    note(folder, "checkout slowed before the fault", T0 + 5)
    note(folder, "add an alert on replica lag", T0 + 20, action=True, owner="dave")
    lines = (folder / NOTES).read_text().splitlines()
    assert [json.loads(line)["text"] for line in lines] == ["checkout slowed before the fault", "add an alert on replica lag"]
    read = read_notes(folder)
    assert [(n.author, n.action, n.owner) for n in read.notes] == [("carol", False, None), ("carol", True, "dave")]
    assert not read.torn and read.skipped == ()


def test_a_torn_last_line_is_left_out_and_the_next_note_starts_a_new_line(make):
    folder = make("passing")
    note(folder, "first", T0 + 1)
    with open(folder / NOTES, "ab") as handle:
        handle.write(b'{"at": 1716285620.0, "author": "bo')  # a crash mid-write
    read = read_notes(folder)
    assert [n.text for n in read.notes] == ["first"] and read.torn
    note(folder, "after the crash", T0 + 30)
    read = read_notes(folder)
    assert [n.text for n in read.notes] == ["first", "after the crash"]
    assert read.skipped == (2,) and not read.torn  # the torn line is now a complete, unreadable line


@pytest.mark.e2e
def test_notes_appended_by_several_processes_at_once_never_interleave(make):
    folder = make("passing")
    code = (
        "import sys; from pathlib import Path; from gamedays.reporting.notes import append_note, make_note\n"
        "for i in range(40): append_note(Path(sys.argv[1]), make_note(f'{sys.argv[2]} {i} ' + 'x' * 500, author=sys.argv[2], at=float(i)))"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(folder), f"writer{n}"], cwd=REPO) for n in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    read = read_notes(folder)
    assert len(read.notes) == 160 and read.skipped == () and not read.torn
    for n in range(4):
        assert [int(x.text.split()[1]) for x in read.notes if x.author == f"writer{n}"] == list(range(40))


def test_notes_join_the_report_and_an_action_note_becomes_an_action_with_its_owner(make):
    folder = make("passing")
    render_report(folder)  # rendered once before any note
    note(folder, "DNS TTL of 300s kept clients on the old primary", T0 + 30, author="bob")
    note(folder, "Lower the DNS TTL of db.shop.internal to 30s", T0 + 31, author="bob", action=True, owner="dave")
    note(folder, "Write the runbook for the replica rebuild", T0 + 32, action=True)
    rendered = render_report(folder)
    review = rendered.review
    assert [n.text for n in review.notes][0] == "DNS TTL of 300s kept clients on the old primary"
    actions = review.from_notes
    assert [(a.kind, a.title, a.owner, a.priority, a.due, a.source) for a in actions] == [
        (ActionKind.NOTE, "Lower the DNS TTL of db.shop.internal to 30s", "dave", Priority.P3, "2024-06-20", "note"),
        (ActionKind.NOTE, "Write the runbook for the replica rebuild", "alice", Priority.P3, "2024-06-20", "note"),
    ]
    assert actions[0].why == "team note by bob at 2024-05-21 10:00:31 UTC: Lower the DNS TTL of db.shop.internal to 30s"
    html = (folder / "report.html").read_text()
    assert "DNS TTL of 300s kept clients on the old primary" in html
    assert f'<tr id="{actions[0].id}">' in html
    md = (folder / "report.md").read_text()
    assert "- 2024-05-21 10:00:30 UTC, bob: DNS TTL of 300s kept clients on the old primary\n" in md
    assert f"| {actions[0].id} | P3 | Lower the DNS TTL of db.shop.internal to 30s (note: bob, from a team note) |" in md
    assert f"## {actions[1].id}: Write the runbook for the replica rebuild\n" in (folder / "actions.md").read_text()
    assert [a["id"] for a in json.loads((folder / "report.json").read_text())["actions"]] == [a.id for a in actions]
    assert render_report(folder).review.actions == review.actions  # the same notes give the same ids


def test_a_script_in_a_note_renders_as_text(make):
    folder = make("passing")
    note(folder, SCRIPT, T0 + 3, author="<b>eve</b>", action=True, owner="<img src=x>")
    render_report(folder)
    html = (folder / "report.html").read_text()
    page = Page(html)
    assert not page.errors
    assert not [e for e in page.elements if e.tag in ("script", "b", "img")]
    assert "&lt;script&gt;alert(&#34;note&#34;)&lt;/script&gt; &amp; *bold*" in html
    assert "&lt;b&gt;eve&lt;/b&gt;" in html and "&lt;img src=x&gt;" in html
    md = (folder / "report.md").read_text()
    assert "<script>" not in md and r'\<script\>alert("note")\</script\> \& \*bold\*' in md


def test_a_damaged_line_is_skipped_and_said(make):
    folder = make("passing")
    (folder / NOTES).write_text('{"not": "a note"}\n')
    note(folder, "still readable", T0 + 2)
    rendered = render_report(folder)
    assert [n.text for n in rendered.review.notes] == ["still readable"]
    assert "notes.jsonl: lines 1 are not notes and were left out." in rendered.review.notices


@pytest.mark.parametrize(
    "text, kw, message",
    [
        ("   ", {}, 'a note needs a text: gameday note FOLDER "what you saw"'),
        ("x" * 4001, {}, "the note has 4001 characters; at most 4000 are allowed"),
        ("fix it", {"owner": "dave"}, "--owner dave names the owner of an action: add --action, or leave --owner out"),
        ("fix it", {"author": " "}, "--author ' ': give a name of 1 to 100 characters"),
    ],
)
def test_bad_notes_are_refused_with_what_is_allowed(text, kw, message):
    with pytest.raises(NoteError) as caught:
        make_note(text, author=kw.pop("author", "carol"), at=T0, **kw)
    assert str(caught.value) == message


def test_a_folder_without_a_journal_takes_no_note(tmp_path):
    (tmp_path / "plans").mkdir()
    with pytest.raises(NoteError) as caught:
        note(tmp_path / "plans", "hello", T0)
    assert str(caught.value) == (
        f"{tmp_path / 'plans'}: not a gameday's report folder: it holds no journal.jsonl "
        "(notes go into the folder a gameday run writes, e.g. reports/2024-05)"
    )
    assert not (tmp_path / "plans" / NOTES).exists()
