"""The report for machines: report.json (the analysis and the actions) and junit.xml (one test case per experiment).

Both are pure functions of the report model and byte-for-byte stable. In JSON,
an infinite budget burn (an objective of 100% with any bad sample) is written
as the string ``"inf"``, since JSON has no infinity. JUnit: a deviated,
aborted, errored or unfinished step is a ``<failure>`` (its ``type`` says
which), a skipped step is ``<skipped>``; CI systems then show the gameday like
a test run.
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

from gamedays.model.outcomes import Outcome
from gamedays.reporting.formatting import seconds, share, utc
from gamedays.reporting.report import Report, StepSection

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


def report_json(report: Report) -> str:
    """report.json: the outcome shown, how the journal was read, the notices, every Analysis field, the actions."""
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "outcome": report.outcome.value,
        "exit_code": int(report.exit_code),
        "journal": {"file": report.journal, "events": report.events, "torn": report.torn, "skipped": list(report.skipped)},
        "notices": to_jsonable(report.notices),
        "analysis": to_jsonable(report.analysis),
        "actions": to_jsonable(report.actions),
    }
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def junit_xml(report: Report) -> str:
    """junit.xml: one suite for the gameday, one test case per experiment step, in plan order."""
    analysis = report.analysis
    failures = sum(1 for s in report.steps if _failure(s) is not None)
    skipped = sum(1 for s in report.steps if _failure(s) is None and s.step.outcome is Outcome.SKIPPED)
    duration = _duration(analysis.started, analysis.finished if analysis.finished is not None else analysis.ended)
    counts = {"tests": str(len(report.steps)), "failures": str(failures), "errors": "0", "skipped": str(skipped)}
    root = ET.Element("testsuites", {"name": f"gameday {analysis.gameday}", **counts, "time": duration})
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
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": _text(f"gameday.{analysis.gameday}"), "name": _text(f"{step.id}: {step.title}"),
             "time": _duration(step.started, step.finished)},
        )
        failure = _failure(section)
        if failure is not None:
            node = ET.SubElement(case, "failure", {"type": failure, "message": _text(_message(section))})
            node.text = _text(_details(section))
        elif step.outcome is Outcome.SKIPPED:
            ET.SubElement(case, "skipped", {"message": _text(step.detail or "skipped")})
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _failure(section: StepSection) -> str | None:
    if section.unfinished:
        return "unfinished"
    if section.step.outcome in (Outcome.DEVIATED, Outcome.ABORTED, Outcome.ERROR):
        return section.step.outcome.value
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

