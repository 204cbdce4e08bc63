"""The notifier as the engine's listener: the gameday never waits, what cannot be delivered becomes NotificationFailed."""

from __future__ import annotations

import threading
import time

import pytest

from gamedays.model.events import NotificationFailed
from gamedays.model.plan import NotifySettings
from gamedays.notify.messages import closing
from gamedays.notify.notifier import Notifier, WebhookNotConfigured
from gamedays.notify.webhook import RetryPolicy
from tests.notify import recorder as recording
from tests.notify.events import T0, finished, guardrail, listening, sample, started, step_run

QUICK = RetryPolicy(attempts=3, timeout=0.5, base_delay=0.05, max_delay=0.1, total=3.0)


def settings(**channels) -> NotifySettings:
    return NotifySettings.model_validate(channels)


class Failures:
    def __init__(self) -> None:
        self.events: list[NotificationFailed] = []
        self.lock = threading.Lock()

    def __call__(self, event: NotificationFailed) -> None:
        with self.lock:
            self.events.append(event)


def test_started_step_guardrail_and_finished_reach_mattermost_in_order(webhook):
    failures = Failures()
    notifier = Notifier(settings(mattermost={"webhook": "env:MM_HOOK", "channel": "gameday"}), {"MM_HOOK": webhook.url},
                        failures, policy=QUICK).start()
    tell = listening(notifier)
    for event in [started(), *step_run("api-pod-loss", 1), guardrail(), finished()]:
        tell(event)
    notifier.close(5.0, closing("reports/2024-05", ["Fix the shop's retries"]))
    texts = webhook.texts()
    assert len(texts) == 4, texts
    assert "Gameday 2024-05 started" in texts[0]
    assert "Step `api-pod-loss` **passed**" in texts[1]
    assert "GUARDRAIL TRIPPED" in texts[2]
    assert "finished: deviated" in texts[3] and "Report: `reports/2024-05`" in texts[3] and "1. Fix the shop's retries" in texts[3]
    body = webhook.received[0].json
    assert body["username"] == "gameday" and body["channel"] == "gameday"
    assert failures.events == [] and notifier.sent == 4


def test_slack_gets_mrkdwn_and_both_channels_get_every_message(webhook):
    other = recording.serve("/services/T0/B0/slack-key")
    slack = next(other)
    try:
        notifier = Notifier(settings(mattermost={"webhook": "env:MM"}, slack={"webhook": "env:SLACK"}),
                            {"MM": webhook.url, "SLACK": slack.url}, Failures(), policy=QUICK).start()
        tell = listening(notifier)
        tell(started())
        notifier.close(5.0)
        assert webhook.texts()[0].startswith(":rocket: **Gameday 2024-05 started**")
        assert slack.texts()[0].startswith(":rocket: *Gameday 2024-05 started*")
        assert "username" not in slack.received[0].json
    finally:
        next(other, None)


def test_a_slow_failing_webhook_never_slows_the_gameday_and_ends_as_notification_failed(webhook):
    webhook.status = 500
    webhook.delay = 0.2
    failures = Failures()
    notifier = Notifier(settings(mattermost={"webhook": "env:MM"}), {"MM": webhook.url}, failures, policy=QUICK).start()
    tell = listening(notifier)
    events = [started(), *[sample("checkout-availability", i % 2 == 0, T0 + i) for i in range(200)], guardrail()]
    slowest = 0.0
    began = time.monotonic()
    for event in events:
        t = time.perf_counter()
        tell(event)
        slowest = max(slowest, time.perf_counter() - t)
    assert slowest < 0.05, f"a listener call took {slowest * 1000:.1f} ms (the webhook takes 200 ms per attempt)"
    assert time.monotonic() - began < 0.5
    deadline = time.monotonic() + 10
    while len(failures.events) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    notifier.close(2.0)
    abouts = [f.about for f in failures.events]
    assert abouts == ["gameday_started", "guardrail"], abouts
    first = failures.events[0]
    assert first.channel == "mattermost" and first.attempts == 3 and "HTTP 500" in first.error
    assert webhook.url not in first.error and "s3cr3t-hook-key" not in first.error
    assert len(webhook.received) == 6  # 3 attempts for each of the 2 messages


def test_close_is_bounded_and_reports_what_it_could_not_send(webhook):
    webhook.delay = 5.0  # never answers in time
    failures = Failures()
    policy = RetryPolicy(attempts=5, timeout=1.0, base_delay=0.5, max_delay=1.0, total=20.0)
    notifier = Notifier(settings(mattermost={"webhook": "env:MM"}), {"MM": webhook.url}, failures, policy=policy).start()
    tell = listening(notifier)
    tell(started())
    tell(guardrail())
    tell(finished())
    began = time.monotonic()
    notifier.close(1.0, closing("reports/x", []))
    took = time.monotonic() - began
    assert took < 1.0 + policy.timeout + 0.7, took
    assert sorted(f.about for f in failures.events) == ["gameday_finished", "gameday_started", "guardrail"]


def test_a_full_queue_drops_the_message_and_says_so(webhook):
    webhook.delay = 1.0
    failures = Failures()
    notifier = Notifier(settings(mattermost={"webhook": "env:MM"}), {"MM": webhook.url}, failures, policy=QUICK,
                        queue_size=1).start()
    tell = listening(notifier)
    for event in [started(), guardrail(), guardrail(), guardrail()]:
        tell(event)
    notifier.close(0.2)
    assert any("too many messages waiting" in f.error for f in failures.events), failures.events


def test_an_unset_webhook_variable_is_named_with_the_field_and_never_a_value():
    with pytest.raises(WebhookNotConfigured) as caught:
        Notifier(settings(mattermost={"webhook": "env:MATTERMOST_WEBHOOK_URL"}), {"OTHER": "x"}, Failures())
    assert str(caught.value) == (
        "notify.mattermost.webhook: env:MATTERMOST_WEBHOOK_URL is not set: export MATTERMOST_WEBHOOK_URL "
        "(the incoming webhook's URL) before the gameday starts"
    )


def test_a_webhook_variable_that_is_no_url_is_refused_without_showing_it():
    with pytest.raises(WebhookNotConfigured) as caught:
        Notifier(settings(slack={"webhook": "env:SLACK_HOOK"}), {"SLACK_HOOK": "xoxb-canary-value"}, Failures())
    message = str(caught.value)
    assert message.startswith("notify.slack.webhook: env:SLACK_HOOK does not hold an http:// or https:// URL")
    assert "xoxb-canary-value" not in message


def test_without_notify_the_notifier_does_nothing(webhook):
    notifier = Notifier(NotifySettings(), {}, Failures()).start()
    tell = listening(notifier)
    tell(started())
    notifier.close(1.0)
    assert not notifier.enabled and webhook.received == []


def test_the_url_is_not_in_the_notifiers_repr(webhook):
    notifier = Notifier(settings(mattermost={"webhook": "env:MM"}), {"MM": webhook.url}, Failures())
    assert webhook.url not in repr(notifier.channels)


def test_a_failing_channel_does_not_hold_up_the_other(webhook):
    other = recording.serve("/services/slack-key")
    slack = next(other)
    try:
        slack.status, slack.delay = 500, 0.4
        failures = Failures()
        notifier = Notifier(settings(mattermost={"webhook": "env:MM"}, slack={"webhook": "env:SLACK"}),
                            {"MM": webhook.url, "SLACK": slack.url}, failures, policy=QUICK).start()
        tell = listening(notifier)
        began = time.monotonic()
        for event in [started(), *step_run("api-pod-loss", 0), guardrail()]:
            tell(event)
        webhook.wait_for(3, timeout=1.0)
        assert time.monotonic() - began < 1.0  # slack's retries would take seconds
        notifier.close(0.5)
        assert {f.channel for f in failures.events} == {"slack"}
    finally:
        next(other, None)
