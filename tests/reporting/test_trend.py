"""Month over month: two and three gamedays in one reports/ folder; open actions carried over, done ones not."""

from __future__ import annotations

import json

from gamedays.model.outcomes import Outcome
from gamedays.reporting.actions import ActionKind, Status
from gamedays.reporting.render import render_report
from tests.reporting.htmlcheck import Page
from tests.reporting.journals import Bad, Gameday, deviated, info, rehearsal
from tests.reporting.notes_helpers import take_note


def month(folder, gameday, date):
    """pod-kill deviates again and recovers late; nothing else is wrong."""
    gd = Gameday([info("pod-kill")], title=f"{gameday}: the shop again")
    gd.events[0] = gd.events[0].model_copy(update={"gameday": gameday, "date": date})
    gd.bad += [Bad("checkout-availability", 12.0, 30.0)]
    end = gd.step("pod-kill", 11.0, 4.0, outcome=Outcome.DEVIATED, deviated=True, after_met=False, recover=2.0)
    gd.finish(end + 20.0, Outcome.DEVIATED, 1)
    gd.write(folder, end + 20.0)
    return folder


def set_status(folder, action_id, status):
    path = folder / "actions.yaml"
    text = path.read_text()
    start = text.index(f"  - id: {action_id}\n")
    head, tail = text[:start], text[start:]
    path.write_text(head + tail.replace("    status: open\n", f"    status: {status}\n", 1))


def may_and_june(tmp_path):
    reports = tmp_path / "reports"
    may = reports / "2024-05"
    deviated(may)
    take_note(may, "Add a replica-lag alert", action=True, owner="dave")
    first = render_report(may)
    by = {(a.kind, a.subject): a for a in first.review.actions}
    set_status(may, by[ActionKind.RECOVERY_MISSED, "db-failover"].id, "done")
    set_status(may, by[ActionKind.BUDGET_OVERSPENT, "checkout-availability"].id, "dropped")
    may_report = render_report(may)  # re-rendered after the review: report.json of May is final
    june = month(reports / "2024-06", "2024-06", "2024-06-18")
    return may_report, render_report(june), by


def test_the_next_month_carries_over_the_open_actions_and_not_the_done_ones(tmp_path):
    may, june, by = may_and_june(tmp_path)
    carried = june.review.carried
    note = may.review.from_notes[0]
    expected = [by[ActionKind.STEP_DEVIATED, "dns-loss"], by[ActionKind.RECOVERY_MISSED, "dns-loss"],
                by[ActionKind.BUDGET_OVERSPENT, "dns-resolution"], note]
    assert [a.id for a in carried] == [a.id for a in expected]  # original ids, May's order
    assert {a.source for a in carried} == {"carried-over from 2024-05"} and {a.origin for a in carried} == {"2024-05"}
    assert all(a.status is Status.OPEN for a in carried)
    assert carried[-1].owner == "dave" and carried[-1].title == "Add a replica-lag alert"
    assert carried[0].due == "2024-06-20"  # as May set it: now overdue
    # the done and the dropped ones stay behind; pod-kill deviated again: this month's action, marked recurring
    ids = {a.id for a in june.review.actions}
    assert by[ActionKind.RECOVERY_MISSED, "db-failover"].id not in ids
    assert by[ActionKind.BUDGET_OVERSPENT, "checkout-availability"].id not in ids
    recurring = by[ActionKind.STEP_DEVIATED, "pod-kill"].id
    assert june.review.history.recurring == (recurring,)
    assert [a.id for a in june.review.findings if a.id == recurring] == [recurring]
    assert next(a for a in june.review.actions if a.id == recurring).due == "2024-07-17"  # June's due date
    folder = june.folder
    yaml_text = (folder / "actions.yaml").read_text()
    assert yaml_text.count("    source: carried-over from 2024-05\n") == 4
    html = (folder / "report.html").read_text()
    assert '<h3 id="carried-over">Carried over</h3>' in html and f'<tr id="{note.id}">' in html
    assert "found again: open since 2024-05" in html
    md = (folder / "report.md").read_text()
    assert "### Carried over\n" in md and f"| {note.id} | P3 | Add a replica-lag alert | gameday 2024-05 | dave | 2024-06-20 | open |" in md
    document = json.loads((folder / "report.json").read_text())
    assert [a["source"] for a in document["actions"]][-4:] == ["carried-over from 2024-05"] * 4
    assert document["trend"]["previous"] == "2024-05" and document["trend"]["recurring"] == [recurring]


def test_the_trend_shows_both_months_this_one_last(tmp_path):
    may, june, _ = may_and_june(tmp_path)
    points = june.review.trend
    assert [(p.gameday, p.date, p.current) for p in points] == [("2024-05", "2024-05-21", False), ("2024-06", "2024-06-18", True)]
    assert points[0].score == may.analysis.score and points[1].score == june.analysis.score
    assert points[0].budget_burned == sum(may.analysis.budget_burned.values())
    recoveries = [s.time_to_recover for s in may.analysis.steps if s.time_to_recover is not None]
    assert points[0].time_to_recover == sum(recoveries) / len(recoveries)
    assert points[1].time_to_recover == june.analysis.steps[0].time_to_recover
    html = (june.folder / "report.html").read_text()
    page = Page(html)
    assert not page.errors
    chart = next(e for e in page.elements if e.tag == "svg" and e.attrs.get("data-key") == "trend")
    assert chart.attrs["class"] == "trend-chart"
    assert html.count('class="trend-line"') == 3  # score, budget, time to recover: two points each
    assert html.count('class="trend-dot current"') == 3
    assert '<tr class="current"><td>2024-06 <span class="muted">(this one)</span></td><td>2024-06-18</td>' in html
    md = (june.folder / "report.md").read_text()
    table = md[md.index("## Month over month"):]
    assert table.index("| 2024-05 | 2024-05-21 |") < table.index("| 2024-06 (this one) | 2024-06-18 |")
    document = json.loads((june.folder / "report.json").read_text())
    assert [p["gameday"] for p in document["trend"]["gamedays"]] == ["2024-05", "2024-06"]


def test_rendering_may_again_ignores_june(tmp_path):
    may, june, _ = may_and_june(tmp_path)
    before = (may.folder / "report.html").read_bytes()
    again = render_report(may.folder)
    assert [p.gameday for p in again.review.trend] == ["2024-05"] and again.review.carried == ()
    assert (may.folder / "report.html").read_bytes() == before
    assert "No earlier gameday report in this reports folder to compare with." in (may.folder / "report.md").read_text()


def test_a_third_month_carries_what_is_still_open_with_its_original_month(tmp_path):
    may, june, by = may_and_june(tmp_path)
    set_status(june.folder, by[ActionKind.STEP_DEVIATED, "dns-loss"].id, "done")  # done in June's file
    render_report(june.folder)
    july = render_report(month(tmp_path / "reports" / "2024-07", "2024-07", "2024-07-16"))
    carried = {a.id: a.source for a in july.review.carried}
    assert by[ActionKind.STEP_DEVIATED, "dns-loss"].id not in carried
    assert carried[by[ActionKind.RECOVERY_MISSED, "dns-loss"].id] == "carried-over from 2024-05"
    june_own = next(a for a in june.review.findings if a.kind is ActionKind.RECOVERY_MISSED)
    assert carried.get(june_own.id) is None  # pod-kill's late recovery recurs in July: July's own, recurring
    assert july.review.history.previous == "2024-06"
    assert [p.gameday for p in july.review.trend] == ["2024-05", "2024-06", "2024-07"]


def test_rehearsals_and_unreadable_reports_stay_out_of_the_trend(tmp_path):
    reports = tmp_path / "reports"
    rehearsal(reports / "2024-04-rehearsal")
    render_report(reports / "2024-04-rehearsal")
    (reports / "2024-03").mkdir(parents=True)
    (reports / "2024-03" / "report.json").write_text("{not json")
    june = render_report(month(reports / "2024-06", "2024-06", "2024-06-18"))
    assert [p.gameday for p in june.review.trend] == ["2024-06"] and june.review.carried == ()
    assert june.review.notices == (f"{reports.as_posix()}/2024-03/report.json: unreadable, left out of the trend.",)
    assert f"{reports.as_posix()}/2024-03/report.json: unreadable, left out of the trend." in (june.folder / "report.html").read_text()
