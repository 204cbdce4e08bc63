"""A webhook given up during the gameday is in the report: a notice, never an action."""

from __future__ import annotations

from gamedays.model.events import NotificationFailed
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
