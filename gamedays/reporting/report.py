"""The report model: everything a rendering shows, built from the Analysis and how the journal was read.

Renderings (HTML, Markdown, actions) only lay this out; every decision about
what to say is taken here, once: the outcome shown (a journal that never got
``gameday_finished`` is shown as aborted, exit code 3, whatever the steps say),
the notices (rehearsal, interrupted, incomplete, torn or unreadable lines,
faults possibly left in place), the charts, the follow-up actions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from gamedays.model.dr import DROutcome
from gamedays.model.events import CoverageInfo, Mode, SLOInfo
from gamedays.model.outcomes import ExitCode, Outcome
from gamedays.reporting.actions import Action, follow_up_actions
from gamedays.reporting.analysis import Analysis, StepAnalysis
from gamedays.reporting.burndown import burndown_chart
from gamedays.reporting.charts import Chart, TimeAxis, budget_chart, sli_chart, text_strip
from gamedays.reporting.dr_analysis import DRAnalysis, DRStepResult
from gamedays.reporting.formatting import NONE, plural, seconds, unit_of
from gamedays.reporting.series import SLISeries

_SAFE_LINK = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$")


class Severity(str, Enum):
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Notice:
    severity: Severity
    text: str


@dataclass(frozen=True)
class SLOSection:
    info: SLOInfo
    series: SLISeries
    unit: str  # of the values: "s", "pods" or "" (see formatting.unit_of)
    burned: float | None  # share of the window's budget the gameday burned; None: never sampled
    over_allowance: bool
    steps: tuple[str, ...]  # the steps with this SLO in their hypothesis
    chart: Chart
    strip: str  # the samples as block characters, for Markdown


@dataclass(frozen=True)
class StepSection:
    number: int
    step: StepAnalysis
    unfinished: bool  # started, but the journal never says it finished (a crash)
    fault_seconds: float | None
    journal_link: str | None  # the Chaos Toolkit journal as a safe relative link, None: show as text
    actions: tuple[str, ...]  # ids of the follow-up actions about this step

    @property
    def verdict(self) -> str:
        return "unfinished" if self.unfinished else self.step.outcome.value

    @property
    def detection(self) -> str:
        """Time to detect, or "no breach" when no hypothesis SLO went bad during the step."""
        step = self.step
        if step.time_to_detect is not None:
            return seconds(step.time_to_detect)
        return "no breach" if step.fault_start is not None and step.hypothesis else NONE

    @property
    def recovery(self) -> str:
        """Time to recover, or why there is none: no breach to recover from, or no recovery before the next step."""
        step = self.step
        if step.time_to_recover is not None:
            return seconds(step.time_to_recover)
        if step.fault_start is None or step.fault_end is None or not step.hypothesis:
            return NONE
        return "no breach" if step.time_to_detect is None else "not recovered"


@dataclass(frozen=True)
class DRStepRow:
    result: DRStepResult
    journal_link: str | None  # the step's Chaos Toolkit journal as a safe relative link; None: show as text

    @property
    def css(self) -> str:
        return self.result.outcome.value.replace(" ", "-")


@dataclass(frozen=True)
class DRSection:
    """One DR check as the report shows it: RTO and RPO against their targets, its steps."""

    number: int
    check: DRAnalysis
    steps: tuple[DRStepRow, ...]
    actions: tuple[str, ...]  # ids of the follow-up actions about this check

    @property
    def css(self) -> str:
        return self.check.outcome.value.replace(" ", "-")

    @property
    def rto(self) -> str:
        """``19.9s / 1m00s``, or why there is no RTO."""
        check = self.check
        if check.rto is not None:
            return f"{seconds(check.rto)} / {seconds(check.rto_target)}"
        if check.dry:
            return f"not measured (rehearsal) / {seconds(check.rto_target)}"
        if check.outcome in (DROutcome.SKIPPED, DROutcome.ABORTED) or check.disaster_at is None:
            return f"{NONE} / {seconds(check.rto_target)}"
        return f"not recovered / {seconds(check.rto_target)}"

    @property
    def rpo(self) -> str:
        """``8.0s / 5.0s (12 of 300 writes lost)``, or why there is no RPO."""
        check = self.check
        target = seconds(check.rpo_target) if check.rpo_target is not None else "no target"
        if check.rpo is None:
            why = "not measured"
            if check.writer_error:
                why = f"not measured: {check.writer_error}"
            elif check.writer is None:
                why = "not measured (no writer)"
            elif check.dry:
                why = "not measured (rehearsal)"
            elif check.outcome in (DROutcome.SKIPPED, DROutcome.ABORTED):
                why = NONE
            return f"{why} / {target}"
        writes = ""
        if check.writes_lost is not None and check.writes_acknowledged is not None:
            writes = f" ({check.writes_lost} of {plural(check.writes_acknowledged, 'write')} lost)"
        return f"{seconds(check.rpo)} / {target}{writes}"


@dataclass(frozen=True)
class CoverageRow:
    """R-4: one key component of the environment and the DR checks that cover it; flagged when none does."""

    info: CoverageInfo
    checks: tuple[tuple[str, str], ...]  # (check id, title) of each covering check

    @property
    def covered(self) -> bool:
        return bool(self.info.playbooks)


@dataclass(frozen=True)
class Report:
    analysis: Analysis
    outcome: Outcome
    exit_code: ExitCode
    notices: tuple[Notice, ...]
    slos: tuple[SLOSection, ...]
    steps: tuple[StepSection, ...]
    actions: tuple[Action, ...]
    budget: Chart
    journal: str  # the journal's file name
    events: int
    torn: bool
    skipped: tuple[int, ...]
    burndown: Chart | None = None  # the budget burned over the gameday; None: nothing was sampled
    disaster_recovery: tuple[DRSection, ...] = ()
    coverage: tuple[CoverageRow, ...] = ()

    @property
    def rehearsal(self) -> bool:
        return self.analysis.mode is Mode.REHEARSAL

    @property
    def budgets(self) -> dict[str, float]:
        """Each SLO's whole error budget over its window, in seconds: what a burned share is a share of."""
        return {s.name: s.window_seconds * (1.0 - s.objective) for s in self.analysis.slos}

    @property
    def mode(self) -> str:
        return self.analysis.mode.value if self.analysis.mode is not None else "unknown"


def build_report(
    analysis: Analysis, *, events: int, torn: bool = False, skipped: tuple[int, ...] = (), journal: str = "journal.jsonl"
) -> Report:
    """The report of ``analysis``; ``events``, ``torn`` and ``skipped`` say how the journal was read."""
    axis = TimeAxis.spanning(analysis.started, analysis.ended, analysis.interval_seconds)
    actions = follow_up_actions(analysis)
    allowance = analysis.budget_allowance
    limit = allowance if allowance is not None else 1.0
    sections = []
    for info in analysis.slos:
        series = next(s for s in analysis.series if s.slo == info.name)
        burned = analysis.budget_burned.get(info.name)
        sections.append(
            SLOSection(
                info=info,
                series=series,
                unit=unit_of(info.source),
                burned=burned,
                over_allowance=burned is not None and burned > limit,
                steps=tuple(s.id for s in analysis.steps if info.name in s.hypothesis),
                chart=sli_chart(info, series, analysis.steps, axis, analysis.interval_seconds, not analysis.complete,
                                analysis.disaster_recovery),
                strip=text_strip(series, axis),
            )
        )
    steps = tuple(
        StepSection(
            number=index,
            step=step,
            unfinished=step.started is not None and step.finished is None,
            fault_seconds=(step.fault_end - step.fault_start)
            if step.fault_start is not None and step.fault_end is not None
            else None,
            journal_link=_safe_link(step.ctk_journal),
            actions=tuple(a.id for a in actions if a.subject == step.id),
        )
        for index, step in enumerate(analysis.steps, start=1)
    )
    titles = {c.id: c.title for c in analysis.disaster_recovery}
    checks = tuple(
        DRSection(
            number=index,
            check=check,
            steps=tuple(DRStepRow(result, _safe_link(result.journal)) for result in check.steps),
            actions=tuple(a.id for a in actions if a.subject == check.id),
        )
        for index, check in enumerate(analysis.disaster_recovery, start=1)
    )
    coverage = tuple(
        CoverageRow(info, tuple((c, titles.get(c, "")) for c in info.playbooks)) for info in analysis.coverage
    )
    sampled = any(s.total for s in analysis.series)
    burndown = (
        burndown_chart(analysis.slos, analysis.series, analysis.interval_seconds, allowance, axis, analysis.steps,
                       analysis.disaster_recovery)
        if sampled
        else None
    )
    return Report(
        analysis=analysis,
        outcome=analysis.outcome if analysis.complete else Outcome.ABORTED,
        exit_code=analysis.exit_code if analysis.complete else ExitCode.ABORTED,
        notices=_notices(analysis, torn, skipped, journal),
        slos=tuple(sections),
        steps=steps,
        actions=actions,
        budget=budget_chart(analysis.slos, analysis.budget_burned, allowance),
        journal=journal,
        events=events,
        torn=torn,
        skipped=skipped,
        burndown=burndown,
        disaster_recovery=checks,
        coverage=coverage,
    )


def _notices(analysis: Analysis, torn: bool, skipped: tuple[int, ...], journal: str) -> tuple[Notice, ...]:
    notices = []
    if analysis.mode is Mode.REHEARSAL:
        notices.append(Notice(Severity.INFO, "Rehearsal: every experiment ran dry (Chaos Toolkit's dry mode); no fault was injected."))
    if not analysis.complete:
        notices.append(
            Notice(
                Severity.WARNING,
                f"Incomplete run: {journal} ends without gameday_finished (the orchestrator crashed, was killed, "
                "or is still running). This report covers what the journal recorded; its outcome is shown as aborted.",
            )
        )
    if analysis.interrupted:
        notices.append(Notice(Severity.WARNING, f"Interrupted by {analysis.interrupt_signal or 'a signal'}: the gameday stopped before its end."))
    if analysis.open_faults:
        notices.append(
            Notice(
                Severity.WARNING,
                f"Faults possibly still in place: {', '.join(analysis.open_faults)}. "
                "Run `gameday recover` on this report folder, then check the target.",
            )
        )
    if torn:
        notices.append(Notice(Severity.INFO, f"The last line of {journal} was cut short (a crash mid-write) and was left out."))
    if skipped:
        lines = ", ".join(str(n) for n in skipped)
        notices.append(
            Notice(
                Severity.WARNING,
                f"{journal}: {plural(len(skipped), 'unreadable line')} left out ({'line' if len(skipped) == 1 else 'lines'} {lines}).",
            )
        )
    if analysis.notifications_failed:
        failed = analysis.notifications_failed
        channels = sorted({n.channel for n in failed})
        first = failed[0]
        notices.append(
            Notice(
                Severity.WARNING,
                f"{plural(len(failed), 'notification')} to {', '.join(channels)} could not be delivered "
                f"(the gameday went on): the first, about {first.about}, after {plural(first.attempts, 'attempt')}: {first.error}",
            )
        )
    if analysis.sampling_skipped:
        gaps = ", ".join(f"{name} {plural(n, 'tick')}" for name, n in sorted(analysis.sampling_skipped.items()))
        notices.append(
            Notice(
                Severity.WARNING,
                f"Sampling fell behind (the machine running gameday stalled): ticks skipped, not sampled: {gaps}. "
                f"Those {analysis.interval_seconds:g}s intervals have no sample: budgets and detection times may be understated.",
            )
        )
    return tuple(notices)


def _safe_link(path: str | None) -> str | None:
    """A relative path inside the report folder, fit for href; anything else (a scheme, .., absolute) is not linked."""
    if not path or not _SAFE_LINK.match(path) or ".." in path.split("/"):
        return None
    return path
