"""report.json carries the analysis for machines; junit.xml has one test case per experiment."""

from __future__ import annotations

import dataclasses
import json
import math
import xml.etree.ElementTree as ET

import pytest

from gamedays.journal.io import read_journal
from gamedays.model.events import SLOInfo
from gamedays.model.outcomes import Outcome
from gamedays.reporting.actions import Action
from gamedays.reporting.analysis import Analysis, StepAnalysis, analyse
from gamedays.reporting.render import render_report
from gamedays.reporting.series import Bucket, ErrorCount, Run, SLISeries
from tests.reporting.journals import HOSTILE, SCENARIOS, Bad, Gameday, info


def names(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def strict(text: str):
    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_report_json_holds_every_field_of_the_analysis(make, name):
    folder = make(name)
    render_report(folder, ["json"])
    document = strict((folder / "report.json").read_text(encoding="utf-8"))
    analysis = analyse(read_journal(folder / "journal.jsonl").events)
    assert document["format"] == "gameday-report" and document["version"] == 1
    data = document["analysis"]
    assert set(data) == names(Analysis)
    assert [set(s) for s in data["steps"]] == [names(StepAnalysis)] * len(analysis.steps)
    assert [set(s) for s in data["slos"]] == [set(SLOInfo.model_fields)] * len(analysis.slos)
    for series in data["series"]:
        assert set(series) == names(SLISeries)
        assert all(set(b) == names(Bucket) for b in series["buckets"])
        assert all(set(r) == names(Run) for r in [*series["breaches"], *series["gaps"]])
        assert all(set(e) == names(ErrorCount) for e in series["errors"])
    assert all(set(a) == names(Action) for a in document["actions"])
    # the values are the analysis' own
    assert data["outcome"] == analysis.outcome.value and data["exit_code"] == int(analysis.exit_code)
    assert data["complete"] is analysis.complete and data["open_faults"] == list(analysis.open_faults)
    assert data["budget_burned"] == analysis.budget_burned
    for got, step in zip(data["steps"], analysis.steps):
        assert got["id"] == step.id and got["outcome"] == step.outcome.value
        assert got["time_to_detect"] == step.time_to_detect and got["time_to_recover"] == step.time_to_recover
        assert got["budget_burned"] == step.budget_burned and got["recovered_in_time"] == step.recovered_in_time
    assert document["journal"]["torn"] is (name == "torn")


def test_an_infinite_burn_is_written_as_a_string_not_as_invalid_json(tmp_path):
    perfect = SLOInfo(name="perfect", service="shop", kind="availability", objective=1.0, window_seconds=86400.0, source="http")
    gd = Gameday([info("pod-kill", hypothesis=("perfect",))], slos=(perfect,))
    gd.bad.append(Bad("perfect", 12.0, 13.0))
    end = gd.step("pod-kill", 11.0, 3.0)
    gd.finish(end, Outcome.PASSED, 0)
    gd.write(tmp_path, end)
    rendered = render_report(tmp_path, ["json", "html", "md"])
    assert math.isinf(rendered.analysis.budget_burned["perfect"])
    document = strict((tmp_path / "report.json").read_text())
    assert document["analysis"]["budget_burned"] == {"perfect": "inf"}
    assert "perfect: the gameday burned ∞ of the error budget" in (tmp_path / "actions.md").read_text()


def junit(make, name):
    folder = make(name)
    render_report(folder, ["junit"])
    root = ET.parse(folder / "junit.xml").getroot()
    suite = root.find("testsuite")
    cases = {c.get("name").split(":")[0]: c for c in suite.findall("testcase")}
    return root, suite, cases


def verdict(case) -> tuple[str, str | None]:
    child = next(iter(case), None)
    return ("passed", None) if child is None else (child.tag, child.get("type"))


def test_junit_a_deviated_gameday(make):
    root, suite, cases = junit(make, "deviated")
    assert root.tag == "testsuites" and root.get("tests") == "3" and root.get("failures") == "3"
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped"), suite.get("errors")) == ("3", "3", "0", "0")
    assert {k: verdict(c) for k, c in cases.items()} == {
        "pod-kill": ("failure", "deviated"), "db-failover": ("failure", "deviated"), "dns-loss": ("failure", "deviated"),
    }
    message = cases["db-failover"].find("failure").get("message")
    assert message.startswith("db-failover deviated: recovery took 11.") and message.endswith("target 5.0s")
    assert "budget burned, checkout-availability:" in cases["db-failover"].find("failure").text
    assert suite.get("timestamp") == "2024-05-21T10:00:00"
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props == {"environment": "sandbox", "mode": "run", "commander": "alice", "outcome": "deviated",
                     "exit_code": "1", "complete": "true"}


def test_junit_an_abort_a_pass_and_skips(make):
    _, suite, cases = junit(make, "aborted")
    assert {k: verdict(c) for k, c in cases.items()} == {"all-pods": ("failure", "aborted"), "pod-kill": ("passed", None)}
    assert "aborted by the guardrails: checkout-availability in breach" in cases["all-pods"].find("failure").get("message")
    _, suite, cases = junit(make, "crashed")
    assert {k: verdict(c) for k, c in cases.items()} == {
        "pod-kill": ("passed", None), "all-pods": ("failure", "unfinished"), "dns-loss": ("skipped", None),
    }
    assert (suite.get("failures"), suite.get("skipped")) == ("1", "1")
    _, suite, cases = junit(make, "interrupted")
    assert {k: verdict(c) for k, c in cases.items()} == {"all-pods": ("failure", "aborted"), "pod-kill": ("skipped", None)}
    _, suite, cases = junit(make, "passing")
    assert suite.get("failures") == "0" and all(verdict(c) == ("passed", None) for c in cases.values())
    assert [c.get("time") for c in cases.values()] == ["4.400", "3.400"]


def test_junit_keeps_hostile_text_as_text(make):
    _, _, cases = junit(make, "hostile")
    case = cases["pod-kill"]
    assert case.get("name") == f"pod-kill: {HOSTILE}"
    failure = case.find("failure")
    assert HOSTILE in failure.text and "\x1b" not in failure.text
