"""The report for machines: report.json (the analysis and the actions) and junit.xml (one test case per experiment
and per DR check).

Both are pure functions of the report model and byte-for-byte stable. In JSON,
an infinite budget burn (an objective of 100% with any bad sample) is written
as the string ``"inf"``, since JSON has no infinity. JUnit: a deviated,
aborted, errored or unfinished step is a ``<failure>`` (its ``type`` says
which), a skipped step is ``<skipped>``; CI systems then show the gameday like
a test run. DR checks get a second suite: a failed, aborted or not verified
check, or one that missed its RTO or RPO, is a ``<failure>``; a skipped one is
``<skipped>``; a recovered (or, in a rehearsal, ready) check passes.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import xml.etree.ElementTree as ET
from enum import Enum
from typing import Any

from pydantic import BaseModel

from gamedays.model.dr import DROutcome
from gamedays.model.outcomes import Outcome
from gamedays.reporting.formatting import seconds, share, utc
from gamedays.reporting.report import DRSection, Report, StepSection
from gamedays.reporting.review import Review, plain_review

FORMAT = "gameday-report"
FORMAT_VERSION = 1
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def to_jsonable(value: Any) -> Any:
    """Dataclasses, pydantic models, enums, tuples and non-finite floats as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, BaseModel):
        return to_jsonable(value.model_dump(mode="python"))
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def report_json(report: Report, review: Review | None = None) -> str:
    """report.json: the outcome shown, how the journal was read, the notices, every Analysis field, the actions
    (with the team's status, owner and due; carried-over ones included), the notes and the trend."""
    review = review if review is not None else plain_review(report)
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "outcome": report.outcome.value,
        "exit_code": int(report.exit_code),
        "journal": {"file": report.journal, "events": report.events, "torn": report.torn, "skipped": list(report.skipped)},
        "notices": to_jsonable(report.notices),
        "analysis": to_jsonable(report.analysis),
        "actions": to_jsonable(review.actions),
        "priority_rule": review.rule,
        "notes": to_jsonable(review.notes),
        "trend": {
            "previous": review.history.previous,
            "recurring": list(review.history.recurring),
            "gamedays": to_jsonable(review.history.points),
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def junit_xml(report: Report) -> str:
    """junit.xml: one suite for the gameday, one test case per experiment step, in plan order; a second suite
    with one test case per DR check when the plan has any."""
    analysis = report.analysis
    failures = sum(1 for s in report.steps if _failure(s) is not None)
    skipped = sum(1 for s in report.steps if _failure(s) is None and s.step.outcome is Outcome.SKIPPED)
    duration = _duration(analysis.started, analysis.finished if analysis.finished is not None else analysis.ended)
    counts = {"tests": str(len(report.steps)), "failures": str(failures), "errors": "0", "skipped": str(skipped)}
    dr_failures = sum(1 for c in report.disaster_recovery if c.check.outcome in _DR_FAILURES)
    dr_skipped = sum(1 for c in report.disaster_recovery if c.check.outcome is DROutcome.SKIPPED)
    totals = {
        "tests": str(len(report.steps) + len(report.disaster_recovery)),
        "failures": str(failures + dr_failures),
        "errors": "0",
        "skipped": str(skipped + dr_skipped),
    }
    root = ET.Element("testsuites", {"name": f"gameday {analysis.gameday}", **totals, "time": duration})
    suite = ET.SubElement(
        root,
        "testsuite",
        {"name": _text(f"gameday {analysis.gameday}: {analysis.title}"), **counts, "time": duration,
         "timestamp": _iso(analysis.started)},
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("environment", analysis.environment),
        ("mode", report.mode),
        ("commander", analysis.commander),
        ("outcome", report.outcome.value),
        ("exit_code", str(int(report.exit_code))),
        ("complete", "true" if analysis.complete else "false"),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": _text(value)})
    for section in report.steps:
        step = section.step
        failure = _failure(section)
        _testcase(
            suite, f"gameday.{analysis.gameday}", f"{step.id}: {step.title}", _duration(step.started, step.finished),
            failure=(failure, _message(section), _details(section)) if failure is not None else None,
            skipped=(step.detail or "skipped") if step.outcome is Outcome.SKIPPED else None,
        )
    if report.disaster_recovery:
        _dr_suite(root, report, {"tests": str(len(report.disaster_recovery)), "failures": str(dr_failures),
                                 "errors": "0", "skipped": str(dr_skipped)})
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


_DR_FAILURES = (DROutcome.FAILED, DROutcome.MISSED_TARGET, DROutcome.NOT_VERIFIED, DROutcome.ABORTED)


def _dr_suite(root: ET.Element, report: Report, counts: dict[str, str]) -> None:
    analysis = report.analysis
    checks = report.disaster_recovery
    began = min((c.check.started for c in checks if c.check.started is not None), default=None)
    ended = max((c.check.finished for c in checks if c.check.finished is not None), default=None)
    suite = ET.SubElement(
        root,
        "testsuite",
        {"name": _text(f"gameday {analysis.gameday}: disaster recovery"), **counts, "time": _duration(began, ended),
         "timestamp": _iso(began)},
    )
    for section in checks:
        check = section.check
        failed = check.outcome in _DR_FAILURES
        _testcase(
            suite, f"gameday.{analysis.gameday}.dr", f"{check.id}: {check.title}", _duration(check.started, check.finished),
            failure=(check.outcome.value, _dr_message(section), _dr_details(section)) if failed else None,
            skipped=(check.detail or "skipped") if check.outcome is DROutcome.SKIPPED else None,
        )


def _testcase(
    suite: ET.Element, classname: str, name: str, seconds: str, *,
    failure: tuple[str, str, str] | None, skipped: str | None,
) -> None:
    """A <testcase> of ``suite``: failed with ``failure`` (type, message, details), else skipped with that message, else passed."""
    case = ET.SubElement(suite, "testcase", {"classname": _text(classname), "name": _text(name), "time": seconds})
    if failure is not None:
        kind, message, details = failure
        node = ET.SubElement(case, "failure", {"type": kind, "message": _text(message)})
        node.text = _text(details)
    elif skipped is not None:
        ET.SubElement(case, "skipped", {"message": _text(skipped)})


def _dr_message(section: DRSection) -> str:
    check = section.check
    if check.outcome is DROutcome.MISSED_TARGET:
        missed = []
        if check.rto_met is False:
            missed.append(f"RTO {seconds(check.rto)}, target {seconds(check.rto_target)}")
        if check.rpo_met is False:
            missed.append(f"RPO {seconds(check.rpo)}, target {seconds(check.rpo_target)}")
        return f"{check.id} missed its target: {'; '.join(missed)}"
    if check.outcome is DROutcome.FAILED:
        return f"{check.id} failed" + (f" at step {check.failed_step}" if check.failed_step else "") + (
            f": {check.detail}" if check.detail else ""
        )
    if check.outcome is DROutcome.NOT_VERIFIED:
        manual = [s.result.name for s in section.steps if s.result.outcome.value == "not verified"]
        return f"{check.id} recovered, but manual steps were not verified: {', '.join(manual) or '?'}"
    return f"{check.id} {check.outcome.value}: {check.detail}"


def _dr_details(section: DRSection) -> str:
    check = section.check
    lines = [
        f"outcome: {check.outcome.value}",
        f"component: {check.component} ({check.component_kind})",
        f"playbook: {check.playbook}",
        f"RTO measured / target: {section.rto}",
        f"RPO measured / target: {section.rpo}",
    ]
    if check.failed_step:
        lines.append(f"failed step: {check.failed_step}")
    lines += [
        f"step {s.result.phase.value} {s.result.name} ({s.result.kind.value}): {s.result.outcome.value}, {seconds(s.result.seconds)}"
        + (f": {s.result.detail}" if s.result.detail else "")
        for s in section.steps
    ]
    if check.detail:
        lines.append(f"detail: {check.detail}")
    return "\n".join(lines)


def _failure(section: StepSection) -> str | None:
    if section.unfinished:
        return "unfinished"
    if section.step.outcome in (Outcome.DEVIATED, Outcome.ABORTED, Outcome.ERROR):
        return str(section.step.outcome.value)
    return None


def _message(section: StepSection) -> str:
    step = section.step
    if section.unfinished:
        return f"{step.id} never finished: the run ended while it was running"
    if step.guardrail is not None:
        return f"{step.id} aborted by the guardrails: {step.guardrail}"
    if step.recovered_in_time is False:
        return f"{step.id} {step.outcome.value}: recovery took {seconds(step.time_to_recover)}, target {seconds(step.recover_within)}"
    return f"{step.id} {step.outcome.value}" + (f": {step.detail}" if step.detail else f" (Chaos Toolkit status {step.ctk_status})")


def _details(section: StepSection) -> str:
    step = section.step
    lines = [
        f"outcome: {section.verdict}",
        f"chaos toolkit status: {step.ctk_status or '-'}",
        f"time to detect: {seconds(step.time_to_detect)}",
        f"time to recover: {seconds(step.time_to_recover)} (recover within {seconds(step.recover_within)})",
    ]
    lines += [f"budget burned, {slo}: {share(burned)}" for slo, burned in step.budget_burned.items()]
    if step.guardrail is not None:
        lines.append(f"guardrail: {step.guardrail}; detection to abort {seconds(step.detection_to_abort)}")
    if step.detail:
        lines.append(f"detail: {step.detail}")
    if step.ctk_journal:
        lines.append(f"chaos toolkit journal: {step.ctk_journal}")
    return "\n".join(lines)


def _duration(start: float | None, end: float | None) -> str:
    return "0.000" if start is None or end is None else f"{max(0.0, end - start):.3f}"


def _iso(at: float | None) -> str:
    moment = utc(at)
    return "" if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S")


def _text(value: str) -> str:
    """XML 1.0 cannot hold control characters, even escaped: they are dropped."""
    return _XML_ILLEGAL.sub("", value)

