"""The team's side of a report: notes, the follow-up actions as the team tracks them, the month-over-month trend.

Besides the journal, a report reads three inputs of the team, all in reports/:
``<gameday>/notes.jsonl`` (``gameday note``), ``<gameday>/actions.yaml`` (the
team's edits: status, owner, due) and the earlier gamedays' reports (trend and
carried-over actions). :func:`load_review` reads them and returns the review and
the new actions.yaml text; the same inputs give the same output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gamedays.model.notes import Note
from gamedays.reporting.actions import Action, Status, note_actions
from gamedays.reporting.followup import ACTIONS_YAML, merge_actions
from gamedays.reporting.notes import read_notes
from gamedays.reporting.priority import RULE
from gamedays.reporting.report import Report
from gamedays.reporting.trend import History, TrendPoint, read_history


@dataclass(frozen=True)
class Review:
    notes: tuple[Note, ...]
    actions: tuple[Action, ...]  # from findings, then from notes, then carried over; with the team's edits
    history: History
    notices: tuple[str, ...] = ()  # what could not be read (torn notes, earlier reports left out)
    rule: str = RULE  # how priorities and due dates are set, stated in the report

    @property
    def findings(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.source == "finding")

    @property
    def from_notes(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.source == "note")

    @property
    def carried(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.carried_over)

    @property
    def open(self) -> int:
        return sum(1 for a in self.actions if a.status is Status.OPEN)

    @property
    def trend(self) -> tuple[TrendPoint, ...]:
        return self.history.points


def load_review(folder: Path, report: Report) -> tuple[Review, str]:
    """The review of the report in ``folder`` and the text actions.yaml must have now."""
    folder = Path(folder)
    analysis = report.analysis
    read = read_notes(folder)
    ours = (*report.actions, *note_actions(analysis, read.notes))
    history = read_history(folder, analysis, ours)
    actions, text = merge_actions(folder / ACTIONS_YAML, (*ours, *history.carried), analysis.gameday)
    notices = []
    if read.torn:
        notices.append("The last line of notes.jsonl was cut short (a crash mid-write) and was left out.")
    if read.skipped:
        notices.append(f"notes.jsonl: lines {', '.join(map(str, read.skipped))} are not notes and were left out.")
    notices += [f"{path}: unreadable, left out of the trend." for path in history.left_out]
    return Review(read.notes, actions, history, tuple(notices)), text


def plain_review(report: Report) -> Review:
    """The review of a report rendered without its folder: the generated actions, no notes, no earlier months."""
    history = History(points=(), previous=None, carried=(), recurring=(), left_out=(), chart=None)
    return Review((), report.actions, history)
