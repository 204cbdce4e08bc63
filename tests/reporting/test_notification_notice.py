"""A webhook given up during the gameday is in the report: a notice, never an action."""

from __future__ import annotations

from gamedays.model.events import NotificationFailed, SamplingBehind
from gamedays.model.outcomes import Outcome
from gamedays.reporting.render import render_report
from tests.reporting.journals import T0, Gameday, info


def test_a_failed_notification_is_a_notice_in_every_rendering(tmp_path):
    gd = Gameday([info("pod-kill")])
    end = gd.step("pod-kill", 11.0, 4.0, recover=2.0) + 2.0
    gd.add(NotificationFailed(at=T0 + 5.0, channel="mattermost", about="gameday_started", attempts=4,
                              error="HTTP 500 from the webhook"))
    gd.finish(end, Outcome.PASSED, 0)
    folder = gd.write(tmp_path / "r", end).parent
    rendered = render_report(folder)
    expected = ("1 notification to mattermost could not be delivered (the gameday went on): the first, "
                "about gameday_started, after 4 attempts: HTTP 500 from the webhook")
    assert expected.replace("gameday_started", "gameday\\_started") in (folder / "report.md").read_text()  # Markdown-escaped
    assert expected in (folder / "report.html").read_text()
    assert all("notification" not in a.title.lower() for a in rendered.report.actions)


def test_sampling_that_fell_behind_is_a_notice_with_each_slis_skipped_ticks(tmp_path):
    gd = Gameday([info("pod-kill")])
    end = gd.step("pod-kill", 11.0, 4.0, recover=2.0) + 2.0
    gd.add(SamplingBehind(at=T0 + 6.0, slo="checkout-availability", skipped=3, first_skipped=T0 + 3.0))
    gd.add(SamplingBehind(at=T0 + 9.0, slo="checkout-availability", skipped=2, first_skipped=T0 + 7.0))
    gd.finish(end, Outcome.PASSED, 0)
    folder = gd.write(tmp_path / "r", end).parent
    rendered = render_report(folder)
    assert rendered.analysis.sampling_skipped == {"checkout-availability": 5}
    expected = "Sampling fell behind (the machine running gameday stalled): ticks skipped, not sampled: checkout-availability 5 ticks."
    assert expected in (folder / "report.html").read_text()
    assert expected in (folder / "report.md").read_text()
    assert all("sampling" not in a.title.lower() for a in rendered.report.actions)


def test_a_journal_without_a_stall_has_no_sampling_notice(tmp_path):
    gd = Gameday([info("pod-kill")])
    end = gd.step("pod-kill", 11.0, 4.0, recover=2.0) + 2.0
    gd.finish(end, Outcome.PASSED, 0)
    folder = gd.write(tmp_path / "r", end).parent
    render_report(folder)
    assert "Sampling fell behind" not in (folder / "report.html").read_text()
