"""Render a gameday's report folder: journal.jsonl in; report.html, report.md, report.json, junit.xml, actions.md out.

The team's inputs join the journal (see :mod:`gamedays.reporting.review`): the
notes, the team's edits of actions.yaml (written again, edits kept) and the
earlier gamedays' reports in the same reports/ folder.

:func:`render_report` is the one entry point of `gameday report FOLDER` and of
the end of `gameday run`. The report is a pure function of the journal: the
same journal always gives the same bytes (no rendering time, UTC times, stable
order), also for a journal left by an interrupted or crashed run, which the
report marks as such. Files are replaced atomically, so a reader never sees
half a report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from gamedays import __version__
from gamedays.atomicfile import write_atomically
from gamedays.journal.io import JOURNAL, JournalError, read_journal
from gamedays.model.errors import GamedayError
from gamedays.model.events import GamedayStarted
from gamedays.model.outcomes import ExitCode, Outcome
from gamedays.reporting.analysis import Analysis, analyse
from gamedays.reporting.charts import TimeAxis
from gamedays.reporting.machine import junit_xml, report_json
from gamedays.reporting.report import Report, build_report
from gamedays.reporting.review import Review, load_review, plain_review
from gamedays.reporting.templating import html_environment, markdown_environment

log = logging.getLogger(__name__)

FORMATS = ("html", "md", "json", "junit")
FILES = {"html": "report.html", "md": "report.md", "json": "report.json", "junit": "junit.xml"}
ACTIONS = "actions.md"
ACTIONS_YAML = "actions.yaml"
STRIP_CELLS = 60  # characters of the Markdown sample strips (see charts.text_strip)


class ReportError(GamedayError):
    """The report cannot be rendered: no journal, an unreadable one, an unknown format, a folder not writable."""

    exit_code = 2


@dataclass(frozen=True)
class RenderedReport:
    folder: Path
    paths: tuple[Path, ...]  # the files written, in the order of the formats, then actions.md and actions.yaml
    analysis: Analysis
    report: Report
    review: Review | None = None  # notes, tracked actions, trend

    @property
    def outcome(self) -> Outcome:
        """The outcome the report shows (aborted for a journal the run never closed)."""
        return self.report.outcome

    @property
    def exit_code(self) -> ExitCode:
        return self.report.exit_code


def render_report(folder: Path, formats: Sequence[str] = FORMATS) -> RenderedReport:
    """Read ``folder``/journal.jsonl and write the report files into ``folder``; actions.md is always written."""
    folder = Path(folder)
    chosen = _formats(formats)
    report = load_report(folder)
    review, tracked = load_review(folder, report)
    paths = []
    for name in chosen:
        paths.append(_write(folder / FILES[name], render(report, name, review)))
    paths.append(_write(folder / ACTIONS, render_actions(report, review)))
    paths.append(_write(folder / ACTIONS_YAML, tracked))
    log.info("report of %s rendered into %s: %s", report.analysis.gameday, folder, ", ".join(p.name for p in paths))
    return RenderedReport(folder, tuple(paths), report.analysis, report, review)


def load_report(folder: Path) -> Report:
    """The report model of the journal in ``folder``, without writing anything."""
    path = Path(folder) / JOURNAL
    if not Path(folder).is_dir():
        raise ReportError(f"{folder}: no such report folder")
    if not path.is_file():
        hint = ""
        if (Path(folder) / "rehearsal" / JOURNAL).is_file():
            hint = f"; a rehearsal's journal is in {Path(folder) / 'rehearsal'}"
        raise ReportError(f"{path}: no journal here (a report folder holds the {JOURNAL} a gameday run writes){hint}")
    try:
        read = read_journal(path)
    except JournalError as exc:
        raise ReportError(str(exc)) from None
    if not any(isinstance(e, GamedayStarted) for e in read.events):
        unreadable = f", {len(read.skipped) + int(read.torn)} unreadable lines" if read.skipped or read.torn else ""
        raise ReportError(f"{path}: not a gameday journal: it has no gameday_started event ({len(read.events)} events{unreadable})")
    return build_report(analyse(read.events), events=len(read.events), torn=read.torn, skipped=read.skipped, journal=JOURNAL)


def render(report: Report, fmt: str, review: Review | None = None) -> str:
    """One rendering of ``report``: "html", "md", "json" or "junit"; without ``review``, no notes and no trend."""
    review = review if review is not None else plain_review(report)
    if fmt == "json":
        return report_json(report, review)
    if fmt == "junit":
        return junit_xml(report)
    if fmt == "html":
        return html_environment().get_template("report.html.j2").render(_context(report, review))
    if fmt == "md":
        return markdown_environment().get_template("report.md.j2").render(_context(report, review))
    raise ReportError(f"unknown report format {fmt!r}: use {', '.join(FORMATS)}")


def render_actions(report: Report, review: Review | None = None) -> str:
    """actions.md: the follow-up actions, one section each, headed by their stable ids."""
    review = review if review is not None else plain_review(report)
    return markdown_environment().get_template("actions.md.j2").render(_context(report, review))


def _context(report: Report, review: Review) -> dict[str, object]:
    analysis = report.analysis
    axis = TimeAxis.spanning(analysis.started, analysis.ended, analysis.interval_seconds)
    end = analysis.finished if analysis.finished is not None else analysis.ended
    duration = end - analysis.started if end is not None and analysis.started is not None else None
    return {
        "report": report,
        "review": review,
        "version": __version__,
        "duration": duration,
        "cell": (axis.end - axis.start) / STRIP_CELLS,
    }


def _formats(formats: Sequence[str]) -> tuple[str, ...]:
    chosen: list[str] = []
    for fmt in formats:
        name = str(getattr(fmt, "value", fmt)).strip().lower()
        if name not in FILES:
            raise ReportError(f"unknown report format {fmt!r}: use {', '.join(FORMATS)}")
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)


def _write(path: Path, text: str) -> Path:
    """Replace ``path`` atomically with ``text`` (UTF-8, newlines as written)."""
    try:
        write_atomically(path, text, mode=0o644)
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
