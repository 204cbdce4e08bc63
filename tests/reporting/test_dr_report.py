"""The DR checks, the coverage, the SLO impact and the burn-down as the renderings show them: HTML, Markdown, JSON, JUnit."""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET

from gamedays.reporting.dr_analysis import DRAnalysis, DRStepResult
from gamedays.reporting.impact import SLOImpact, WindowStats
from gamedays.reporting.render import render_report
from tests.reporting.htmlcheck import Page
from tests.reporting.journals import HOSTILE


def rendered(make, name):
    folder = make(name)
    render_report(folder)
    html = (folder / "report.html").read_text(encoding="utf-8")
    page = Page(html)
    assert page.errors == []
    return folder, html, page


def rows(page: Page, css: str) -> list[list[str]]:
    """The cells' text of each body row of the first table of class ``css``."""
    start = page.elements.index(page.find("table", css)[0])
    out: list[list[str]] = []
    in_body = False
    for element in page.elements[start + 1 :]:
        if element.tag == "table":
            break
        if element.tag == "tbody":
            in_body = True
        elif element.tag == "tr" and in_body:
            out.append([])
        elif element.tag == "td" and in_body:
            out[-1].append(re.sub(r"\s+", " ", " ".join(element.text)).strip())
    return out


def test_the_dr_table_in_html(make):
    _, _, page = rendered(make, "dr")
    assert rows(page, "dr") == [
        ["database-cluster Lose the primary: promote the replica", "shop-db (database-cluster)", "recovered",
         "19.9s / 1m00s", "0.00s / 5.0s (0 of 240 writes lost)", "—"],
        ["dns Lose the zone's records: restore them from the zone backup", "shop.internal (dns)", "missed target",
         "44.5s / 30.0s", "not measured (no writer) / no target", "—"],
        ["kubernetes-cluster Lose the shop namespace: re-apply the manifests", "sandbox-cluster (kubernetes-cluster)", "failed",
         "not recovered / 2m00s", "not measured (no writer) / no target", "apply the manifest backup"],
        ["database-cluster-2 Lose every database node: restore the base backup", "shop-db (database-cluster)", "missed target",
         "49.0s / 2m00s", "8.0s / 5.0s (12 of 300 writes lost)", "—"],
    ]
    badges = [" ".join(e.text) for e in page.find("span", "badge") if "missed-target" in e.attrs["class"].split()]
    assert badges and set(badges) == {"missed target"}


def test_each_checks_steps_with_a_manual_step_shown_as_not_verified(make):
    _, _, page = rendered(make, "dr")
    sections = [e for e in page.find("section", "dr-check")]
    assert [s.attrs["id"] for s in sections] == ["dr-database-cluster", "dr-dns", "dr-kubernetes-cluster", "dr-database-cluster-2"]
    steps = page.find("table", "dr-steps")
    assert len(steps) == 4
    dns = rows_of(page, steps[1])
    assert [r[:4] for r in dns] == [
        ["backup", "zone backup", "automated", "passed"],
        ["disaster", "delete every record", "automated", "passed"],
        ["step", "restore the zone", "automated", "passed"],
        ["step", "tell the on-call not confirmed: the run is not interactive", "manual", "not verified"],
        ["check", "records resolve", "automated", "passed"],
    ]
    assert dns[2][5] == "43.0s"
    not_verified = [e for e in page.find("span", "badge") if "not-verified" in e.attrs["class"].split()]
    assert [" ".join(e.text) for e in not_verified] == ["not verified"]
    db = rows_of(page, steps[0])
    assert "dr/database-cluster/promote.journal.json" in db[2][1]
    assert "dr/database-cluster/promote.journal.json" in [e.attrs.get("href") for e in page.find("a")]
    text = re.sub(r"\s+", " ", page.all_text)
    assert "RPO8.0s / 5.0s (12 of 300 writes lost) missed (writer: postgres)" in text
    assert "Recoverednever: the checks did not all pass" in text


def rows_of(page: Page, table) -> list[list[str]]:
    start = page.elements.index(table)
    out: list[list[str]] = []
    for element in page.elements[start + 1 :]:
        if element.tag == "table":
            break
        if element.tag == "tr":
            out.append([])
        elif element.tag == "td":
            out[-1].append(re.sub(r"\s+", " ", " ".join(element.text)).strip())
    return [r for r in out if r]


def test_coverage_flags_a_component_without_a_playbook(make):
    _, _, page = rendered(make, "dr")
    table = rows(page, "coverage")
    assert [r[:2] for r in table] == [["shop-db", "database-cluster"], ["shop.internal", "dns"],
                                      ["sandbox-cluster", "kubernetes-cluster"], ["orders-queue", "message-queue"]]
    assert table[0][2].startswith("database-cluster Lose the primary") and "database-cluster-2" in table[0][2]
    assert table[3][2] == "no playbook"
    uncovered = [e for e in page.find("tr") if e.attrs.get("class") == "uncovered"]
    assert len(uncovered) == 1
    assert "3 of 4 key components covered by a playbook" in re.sub(r"\s+", " ", page.all_text)


def test_the_slo_impact_table_of_each_experiment(make):
    _, _, page = rendered(make, "dr")
    assert rows(page, "impact") == [["checkout-availability (availability)", "100.00% of 10", "50.00% of 4", "-50.00 pts", "—", "—"]]


def test_the_burn_down_chart_draws_each_slo_and_the_allowance(make):
    _, _, page = rendered(make, "deviated")  # an allowance of 1%
    chart = page.find("svg", "burndown-chart")
    assert len(chart) == 1
    assert page.inside(chart[0], "path", "burnline") == 2  # checkout-availability and dns-resolution
    assert page.inside(chart[0], "line", "allowance") == 1
    assert page.inside(chart[0], "rect", "fault") == 3
    text = " ".join(chart[0].text)
    assert "allowance 1.00%" in text and "dns-resolution" in text
    _, _, page = rendered(make, "dr")
    chart = page.find("svg", "burndown-chart")[0]
    assert page.inside(chart, "rect", "drwin") == 4  # disaster to recovery; the failed check's to its end
    assert page.inside(chart, "line", "allowance") == 0  # no allowance in the plan


def test_the_markdown_has_the_same_tables(make):
    folder, _, _ = rendered(make, "dr")
    text = (folder / "report.md").read_text(encoding="utf-8")
    for heading in ("## Disaster recovery", "### 2. dns: Lose the zone's records: restore them from the zone backup — MISSED TARGET",
                    "## DR coverage", "## Resilience score"):
        assert f"\n{heading}\n" in text
    assert ("| database-cluster-2: Lose every database node: restore the base backup | shop-db (database-cluster) | MISSED TARGET "
            "| 49.0s / 2m00s | 8.0s / 5.0s (12 of 300 writes lost) | — |") in text
    assert "| step | tell the on-call (not confirmed: the run is not interactive) | manual | NOT VERIFIED | 10:01:33 | 0.00s |" in text
    assert "| orders-queue | message-queue | **NO PLAYBOOK** |" in text
    assert "| checkout-availability (availability) | 100.00% of 10 | 50.00% of 4 | -50.00 pts | — | — |" in text
    assert "Burn-down (budget burned so far, over the gameday): checkout-availability:" in text


def test_report_json_carries_the_dr_checks_coverage_and_impact(make):
    folder, _, _ = rendered(make, "dr")
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))["analysis"]
    names = {f.name for f in dataclasses.fields(DRAnalysis)}
    assert [set(c) for c in data["disaster_recovery"]] == [names] * 4
    assert all(set(s) == {f.name for f in dataclasses.fields(DRStepResult)} for c in data["disaster_recovery"] for s in c["steps"])
    restore = data["disaster_recovery"][3]
    assert (restore["outcome"], restore["rpo"], restore["rpo_target"], restore["rpo_met"]) == ("missed target", 8.0, 5.0, False)
    assert (restore["writes_lost"], restore["writes_acknowledged"], restore["writer"]) == (12, 300, "postgres")
    dns = data["disaster_recovery"][1]
    assert [s["outcome"] for s in dns["steps"]] == ["passed", "passed", "passed", "not verified", "passed"]
    assert dns["steps"][3]["kind"] == "manual" and dns["steps"][0]["phase"] == "backup"
    assert data["coverage"][3] == {"kind": "message-queue", "name": "orders-queue", "playbooks": []}
    impact = data["steps"][0]["impact"][0]
    assert set(impact) == {f.name for f in dataclasses.fields(SLOImpact)}
    assert set(impact["fault"]) == {f.name for f in dataclasses.fields(WindowStats)}
    assert impact["fault"]["availability"] == 0.5 and impact["baseline"]["availability"] == 1.0


def junit_cases(folder):
    root = ET.parse(folder / "junit.xml").getroot()
    return root, root.findall("testsuite")


def test_junit_one_case_per_dr_check(make):
    folder, _, _ = rendered(make, "dr")
    root, suites = junit_cases(folder)
    assert len(suites) == 2 and suites[1].get("name") == "gameday 2024-05: disaster recovery"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("5", "3", "0")
    assert (suites[1].get("tests"), suites[1].get("failures")) == ("4", "3")
    cases = {c.get("name").split(":")[0]: c for c in suites[1].findall("testcase")}
    verdicts = {k: (next(iter(c), None).tag if len(c) else "passed", c[0].get("type") if len(c) else None) for k, c in cases.items()}
    assert verdicts == {"database-cluster": ("passed", None), "dns": ("failure", "missed target"),
                        "kubernetes-cluster": ("failure", "failed"), "database-cluster-2": ("failure", "missed target")}
    assert cases["dns"][0].get("message") == "dns missed its target: RTO 44.5s, target 30.0s"
    assert cases["database-cluster-2"][0].get("message") == "database-cluster-2 missed its target: RPO 8.0s, target 5.0s"
    assert cases["kubernetes-cluster"][0].get("message").startswith("kubernetes-cluster failed at step apply the manifest backup")
    assert "step step tell the on-call (manual): not verified" in cases["dns"][0].text


def test_junit_an_aborted_check_fails_and_a_skipped_one_is_skipped(make):
    folder, _, _ = rendered(make, "dr-crashed")
    _, suites = junit_cases(folder)
    cases = {c.get("name").split(":")[0]: c for c in suites[1].findall("testcase")}
    assert cases["database-cluster"][0].tag == "failure" and cases["database-cluster"][0].get("type") == "aborted"
    assert cases["dns"][0].tag == "skipped"
    assert (suites[1].get("failures"), suites[1].get("skipped")) == ("1", "1")
    folder, _, _ = rendered(make, "dr-rehearsal")
    _, suites = junit_cases(folder)
    assert [len(c) for c in suites[1].findall("testcase")] == [0, 0]  # ready: passes


def test_a_check_with_a_hostile_title_renders_as_text_everywhere(make):
    folder, html, page = rendered(make, "hostile")
    assert "<script" not in html and "<b>" not in html
    text = page.all_text
    assert text.count(HOSTILE) >= 5  # check title, component, step name, failed step, coverage ...
    assert not [e for e in page.elements if e.attrs.get("href", "").startswith("javascript")]
    assert "javascript:alert(1)" in text  # the DR step's unsafe journal path is shown, not linked
    assert "\x07" not in html
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in markdown and r"\<script\>alert(" in markdown and "\x07" not in markdown
    dr_rows = [line for line in markdown.splitlines() if line.startswith("| restore: ")]
    assert len(dr_rows) == 1 and dr_rows[0].count(" | ") == 5
    junit = (folder / "junit.xml").read_text(encoding="utf-8")
    assert "<script>" not in junit and "&lt;script&gt;" in junit and "\x07" not in junit
    case = ET.parse(folder / "junit.xml").getroot().findall("testsuite")[1].find("testcase")
    assert case.get("name") == f"restore: {HOSTILE}"
