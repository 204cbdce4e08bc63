"""One delivery to a real local webhook: JSON POST, retries with backoff, bounded, never raising, never leaking the URL."""

from __future__ import annotations

import json
import random
import socket
import threading
import time

from gamedays.notify.webhook import RetryPolicy, post_json

FAST = RetryPolicy(attempts=4, timeout=1.0, base_delay=0.1, max_delay=1.0, total=10.0)


def test_a_message_is_posted_as_json(webhook):
    result = post_json(webhook.url, {"text": "hello **team**"}, FAST)
    assert result.ok and result.attempts == 1 and result.status == 200
    [received] = webhook.received
    assert received.path == "/hooks/s3cr3t-hook-key"
    assert received.content_type == "application/json"
    assert received.json == {"text": "hello **team**"}


def test_a_500_is_retried_until_the_webhook_answers(webhook):
    webhook.statuses = [500, 503]
    result = post_json(webhook.url, {"text": "x"}, FAST)
    assert result.ok and result.attempts == 3
    assert len(webhook.received) == 3


def test_a_webhook_that_keeps_failing_is_given_up_after_the_attempts_with_growing_pauses(webhook):
    webhook.status = 500
    policy = RetryPolicy(attempts=4, timeout=1.0, base_delay=0.2, max_delay=5.0, total=10.0)
    began = time.monotonic()
    result = post_json(webhook.url, {"text": "x"}, policy, rng=random.Random(7))
    took = time.monotonic() - began
    assert not result.ok and result.attempts == 4 and result.status == 500
    assert "HTTP 500" in result.error and "gave up after 4 attempts" in result.error
    times = [r.at for r in webhook.received]
    pauses = [b - a for a, b in zip(times, times[1:])]
    # full jitter within [ceiling/2, ceiling]: 0.1-0.2s, 0.2-0.4s, 0.4-0.8s
    # (plus a local round trip: generous upper bounds for a loaded machine)
    assert 0.09 <= pauses[0] <= 0.5 and 0.19 <= pauses[1] <= 0.75 and 0.39 <= pauses[2] <= 1.3, pauses
    assert pauses[0] < pauses[2]
    assert took < 3.5


def test_a_webhook_that_does_not_answer_times_out_and_the_total_time_is_bounded(webhook):
    webhook.delay = 3.0
    policy = RetryPolicy(attempts=10, timeout=0.3, base_delay=0.05, max_delay=0.1, total=1.2)
    began = time.monotonic()
    result = post_json(webhook.url, {"text": "x"}, policy)
    took = time.monotonic() - began
    assert not result.ok
    assert "no answer within" in result.error
    assert 2 <= result.attempts < 10
    assert took < 1.2 + 0.5, took


def test_a_4xx_is_not_retried(webhook):
    webhook.status = 400
    result = post_json(webhook.url, {"text": "x"}, FAST)
    assert not result.ok and result.attempts == 1 and "HTTP 400" in result.error


def test_a_refused_connection_is_retried_and_never_raises():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hooks/secret-key-123"
    result = post_json(url, {"text": "x"}, RetryPolicy(attempts=3, timeout=0.5, base_delay=0.01, max_delay=0.02, total=3))
    assert not result.ok and result.attempts == 3
    assert "cannot reach the webhook" in result.error
    assert "secret-key-123" not in result.error and url not in result.error


def test_cancel_ends_the_pause_between_attempts_at_once(webhook):
    webhook.status = 502
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    policy = RetryPolicy(attempts=5, timeout=1.0, base_delay=5.0, max_delay=5.0, total=30.0)
    began = time.monotonic()
    result = post_json(webhook.url, {"text": "x"}, policy, cancel=cancel)
    assert not result.ok and result.attempts == 1 and result.error.startswith("cancelled after 1 attempts")
    assert time.monotonic() - began < 1.0


def test_an_outside_deadline_bounds_the_retries(webhook):
    webhook.status = 500
    policy = RetryPolicy(attempts=50, timeout=1.0, base_delay=0.05, max_delay=0.1, total=60.0)
    end = time.monotonic() + 0.6
    began = time.monotonic()
    result = post_json(webhook.url, {"text": "x"}, policy, deadline=lambda: end)
    assert not result.ok and "out of time" in result.error
    assert time.monotonic() - began < 1.0


def test_the_payload_is_any_json_mapping(webhook):
    post_json(webhook.url, {"text": "é ✓", "channel": "town-square", "username": "gameday"}, FAST)
    assert json.loads(webhook.received[0].body.decode("utf-8"))["text"] == "é ✓"
