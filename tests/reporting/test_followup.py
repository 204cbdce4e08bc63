"""actions.yaml: written at every render, the team's edits (status, owner, due) and comments kept, bad edits refused."""

from __future__ import annotations

import pytest

from gamedays.reporting.actions import Status
from gamedays.reporting.followup import FollowUpError
from gamedays.reporting.render import render_report
from tests.support import line_of


def rendered(make, name="deviated"):
    folder = make(name)
    return folder, render_report(folder)


def edit(folder, old, new, count=1):
    path = folder / "actions.yaml"
    text = path.read_text()
    assert text.count(old) >= count, old
    path.write_text(text.replace(old, new, count))


def test_every_action_is_written_open_with_priority_owner_and_due(make):
    folder, first = rendered(make)
    text = (folder / "actions.yaml").read_text()
    assert text.startswith("# Follow-up actions of gameday 2024-05, written by `gameday report`.\n")
    assert "\ngameday: 2024-05\nactions:\n  - id: " in text
    ids = [a.id for a in first.review.actions]
    assert [line.split(": ")[1] for line in text.splitlines() if line.startswith("  - id: ")] == ids
    assert text.count("    status: open\n") == 6 and text.count("    due: 2024-06-20\n") == 6
    assert "    owner: alice\n" in text and "    priority: P1\n" in text and "    source: finding\n" in text
    assert "    evidence: checkout-availability recovered 11." in text


def test_marking_an_action_done_and_re_rendering_keeps_it_done_with_the_comments(make):
    folder, first = rendered(make)
    target = first.review.actions[1]
    start = (folder / "actions.yaml").read_text().index(f"  - id: {target.id}\n")
    text = (folder / "actions.yaml").read_text()
    before, after = text[:start], text[start:]
    after = after.replace("    owner: alice\n", "    owner: dave  # took it at the review\n", 1)
    after = after.replace("    due: 2024-06-20\n", "    due: 2024-06-07\n", 1)
    after = after.replace("    status: open\n", "    status: done  # fixed in PR 123\n", 1)
    (folder / "actions.yaml").write_text("# our tracker: see the wiki\n" + before + after)
    again = render_report(folder)
    kept = next(a for a in again.review.actions if a.id == target.id)
    assert (kept.status, kept.owner, kept.due) == (Status.DONE, "dave", "2024-06-07")
    assert [a.status for a in again.review.actions if a.id != target.id] == [Status.OPEN] * 5
    text = (folder / "actions.yaml").read_text()
    assert "status: done  # fixed in PR 123\n" in text and "owner: dave  # took it at the review\n" in text
    assert "# our tracker: see the wiki\n" in text and "due: 2024-06-07\n" in text
    html = (folder / "report.html").read_text()
    assert f'<tr id="{target.id}">' in html and '<span class="status done">done</span>' in html
    md = (folder / "report.md").read_text()
    assert "| dave (commander) | 2024-06-07 | done |" in md and "6 actions, 5 open;" in md
    assert render_report(folder) and (folder / "actions.yaml").read_text() == text  # stable from now on


def test_derived_fields_are_written_afresh_and_entries_no_longer_found_are_removed(make):
    folder, first = rendered(make)
    edit(folder, "    priority: P1\n", "    priority: P3\n")
    stale = (
        "  - id: GD-0123456789\n    title: an action of a render made while the run was going\n"
        "    priority: P2\n    owner: alice\n    due: 2024-06-20\n    status: open\n    kind: run-incomplete\n"
        "    subject: 2024-05\n    source: finding\n    evidence: the journal ends without gameday_finished\n"
    )
    (folder / "actions.yaml").write_text((folder / "actions.yaml").read_text() + stale)
    again = render_report(folder)
    assert [a.id for a in again.review.actions] == [a.id for a in first.review.actions]
    text = (folder / "actions.yaml").read_text()
    assert "GD-0123456789" not in text and text.count("    priority: P1\n") == 6


@pytest.mark.parametrize(
    "old, new, needle, message",
    [
        ("    status: open\n", "    status: finished\n", "status: finished",
         "status 'finished' of {id}: use open, done or dropped"),
        ("    due: 2024-06-20\n", "    due: next week\n", "due: next week",
         "due 'next week' of {id}: write a date as YYYY-MM-DD, e.g. due: 2024-06-20"),
        ("    due: 2024-06-20\n", "    due: 2024-06-31\n", "due: 2024-06-31",
         "due '2024-06-31' of {id}: write a date as YYYY-MM-DD, e.g. due: 2024-06-20"),
        ("    owner: alice\n", "    owner: [alice, bob]\n", "owner: [alice",
         "owner ['alice', 'bob'] of {id}: write a name, e.g. owner: alice"),
        ("    priority: P1\n", "    priority: urgent\n", "priority: urgent", "priority 'urgent' of {id}: use P1, P2 or P3"),
    ],
)
def test_an_invalid_edit_names_its_file_and_line_and_what_is_allowed(make, old, new, needle, message):
    folder, first = rendered(make)
    edit(folder, old, new)
    before = (folder / "actions.yaml").read_text()
    with pytest.raises(FollowUpError) as caught:
        render_report(folder)
    first_id = first.review.actions[0].id
    assert str(caught.value) == f"{folder / 'actions.yaml'}:{line_of(folder / 'actions.yaml', needle)}: " + message.format(id=first_id)
    assert (folder / "actions.yaml").read_text() == before  # left as the team wrote it


def test_broken_yaml_a_changed_id_and_a_duplicate(make, gameday):
    folder, first = rendered(make)
    path = folder / "actions.yaml"
    good = path.read_text()
    path.write_text(good.replace("    status: open\n", "    status: [open\n", 1))
    result = gameday("report", str(folder))
    assert result.code == 2 and result.err.startswith(f"{path}:") and "not valid YAML" in result.err
    assert "Traceback" not in result.err
    path.write_text(good.replace(first.review.actions[0].id, "JIRA-42", 1))
    with pytest.raises(FollowUpError, match=r"actions.yaml:7: id 'JIRA-42' is not an action id \(GD- and 10 hex digits\); do not change ids$"):
        render_report(folder)
    first_id, second_id = first.review.actions[0].id, first.review.actions[1].id
    path.write_text(good.replace(f"id: {second_id}", f"id: {first_id}"))
    with pytest.raises(FollowUpError, match=rf"actions.yaml:\d+: action {first_id} appears twice \(first on line 7\)$"):
        render_report(folder)
    path.write_text("- just a list\n")
    with pytest.raises(FollowUpError, match=r"actions.yaml:1: expected a mapping with `gameday:` and an `actions:` list"):
        render_report(folder)


def test_an_emptied_file_is_written_afresh(make):
    folder, first = rendered(make)
    (folder / "actions.yaml").write_text("")
    again = render_report(folder)
    assert [a.status for a in again.review.actions] == [Status.OPEN] * 6
    assert (folder / "actions.yaml").read_text().startswith("# Follow-up actions of gameday 2024-05")
