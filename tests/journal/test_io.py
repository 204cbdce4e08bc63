"""The journal survives crashes: a torn last line is left out, never making the journal unreadable."""

from __future__ import annotations

from gamedays.journal.io import Journal, read_journal
from gamedays.model.events import GamedayFinished, SampleTaken, StepStarted
from gamedays.model.outcomes import Outcome


def events():
    return [
        StepStarted(at=1.0, step="api-pod-loss"),
        SampleTaken(at=1.5, slo="checkout-availability", good=False, value=None, error="HTTP 503"),
        GamedayFinished(at=2.0, outcome=Outcome.DEVIATED, exit_code=1),
    ]


def test_events_round_trip_one_per_line(tmp_path):
    path = tmp_path / "journal.jsonl"
    with Journal(path) as journal:
        for event in events():
            journal.append(event)
    assert len(path.read_text().splitlines()) == 3
    read = read_journal(path)
    assert list(read.events) == events() and not read.torn and read.skipped == ()


def test_a_torn_last_line_is_left_out(tmp_path):
    path = tmp_path / "journal.jsonl"
    with Journal(path) as journal:
        for event in events():
            journal.append(event)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 20])  # the crash cut the last event short
    read = read_journal(path)
    assert read.torn and list(read.events) == events()[:2]


def test_appending_after_a_torn_line_keeps_every_complete_event(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text(events()[0].model_dump_json() + "\n" + '{"event": "sample", "at": 1.5, "slo": "chec')
    with Journal(path) as journal:
        journal.append(events()[2])
    read = read_journal(path)
    assert list(read.events) == [events()[0], events()[2]]
    assert read.skipped == (2,) and not read.torn


def test_garbage_in_the_middle_is_reported_by_line(tmp_path):
    path = tmp_path / "journal.jsonl"
    lines = [e.model_dump_json() for e in events()]
    path.write_text("\n".join([lines[0], "not json", lines[1], '{"event": "unknown", "at": 1}', lines[2]]) + "\n")
    read = read_journal(path)
    assert read.skipped == (2, 4) and len(read.events) == 3
