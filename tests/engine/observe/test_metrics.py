"""/metrics of a running gameday: the exposition format, the state it shows, a port that is taken."""

from __future__ import annotations

import math
import re
import socket
import urllib.error
import urllib.request

import pytest

from gamedays.engine.metrics import MetricsError, MetricsServer, RunMetrics
from gamedays.journal.delivery import Delivery
from gamedays.model.events import DRStarted, NotificationFailed
from gamedays.model.outcomes import Outcome
from tests.notify.events import T0, dr_finished, finished, guardrail, sample, started, step_run

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')


LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def canonical(key: str) -> str:
    """``name{labels}`` with its labels in name order (the exposition's order is the library's)."""
    name, _, labels = key.partition("{")
    if not labels:
        return name
    return name + "{" + ",".join(sorted(f'{k}="{v}"' for k, v in LABEL.findall(labels))) + "}"


class Exposition(dict):
    """Samples by ``name{labels}``, looked up whatever the order of the labels."""

    def __getitem__(self, key: str) -> float:
        return super().__getitem__(canonical(key))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(canonical(key))


def parse(text: str) -> dict[str, float]:
    """``{'name{labels}': value}`` of an exposition; every line must be a comment or a valid sample."""
    values = Exposition()
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ ", line), line
            continue
        match = LINE.match(line)
        assert match, f"not exposition format: {line!r}"
        values[canonical(match.group(1) + (match.group(2) or ""))] = float(match.group(3))
    return values


def run_metrics(version: str = "0.1.0"):
    """The collector over a delivery's fold, and how to tell it an event (delivered at once, in this thread)."""
    delivery = Delivery()
    return RunMetrics(version, delivery.read), delivery.put


def scrape(url: str) -> tuple[str, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.headers["Content-Type"], response.read().decode("utf-8")


def test_the_state_of_a_run_is_rendered_as_prometheus_metrics():
    metrics, tell = run_metrics()
    for event in [started(), *step_run("api-pod-loss", 2, Outcome.ABORTED), guardrail(),
                  sample("dns-resolution", True, T0 + 30, 0.012), DRStarted(at=T0 + 100, check="database-cluster"),
                  dr_finished(42.5),
                  NotificationFailed(at=T0, channel="slack", about="guardrail", attempts=4, error="HTTP 500")]:
        tell(event)
    values = parse(metrics.render())
    assert values['gameday_info{gameday="2024-05",version="0.1.0",mode="run",environment="sandbox"}'] == 1
    assert values["gameday_running"] == 1
    assert values['gameday_slo_objective_ratio{slo="checkout-availability"}'] == 0.99
    assert values['gameday_sli_value{slo="checkout-availability"}'] == 1.0
    assert values['gameday_sli_good{slo="checkout-availability"}'] == 1
    assert values['gameday_sli_value{slo="dns-resolution"}'] == 0.012
    assert values['gameday_error_budget_burned_ratio{slo="checkout-availability"}'] == pytest.approx(0.2)
    assert values['gameday_error_budget_burned_ratio{slo="dns-resolution"}'] == 0
    assert values['gameday_samples_total{slo="checkout-availability"}'] == 3
    assert values['gameday_bad_samples_total{slo="checkout-availability"}'] == 2
    assert values['gameday_step_state{step="api-pod-loss",state="aborted"}'] == 1
    assert values['gameday_step_state{step="api-pod-loss",state="running"}'] == 0
    assert values['gameday_step_state{step="dns-loss",state="pending"}'] == 1
    assert values["gameday_aborts_total"] == 1
    assert values['gameday_dr_rto_seconds{check="database-cluster"}'] == 42.5
    assert values['gameday_dr_rto_target_seconds{check="database-cluster"}'] == 60
    assert values["gameday_notification_failures_total"] == 1
    tell(finished())
    assert parse(metrics.render())["gameday_running"] == 0


def test_before_the_start_and_without_values_the_exposition_stays_valid():
    metrics, tell = run_metrics()
    assert parse(metrics.render())['gameday_info{gameday="",version="0.1.0",mode="",environment=""}'] == 1
    tell(started())
    tell(sample("checkout-availability", False, T0 + 1))  # an error: no value
    values = parse(metrics.render())
    assert math.isnan(values['gameday_sli_value{slo="checkout-availability"}'])
    assert values['gameday_sli_good{slo="checkout-availability"}'] == 0


def test_label_values_are_escaped():
    metrics, _ = run_metrics('1"\\\n')
    assert 'version="1\\"\\\\\\n"' in metrics.render()


def test_metrics_are_served_over_http_on_loopback():
    metrics, tell = run_metrics()
    tell(started())
    with MetricsServer(metrics.render, port=0) as server:
        assert server.url.startswith("http://127.0.0.1:") and server.port > 0
        content_type, body = scrape(server.url)
        assert content_type == "text/plain; version=0.0.4; charset=utf-8"
        assert parse(body)['gameday_info{gameday="2024-05",version="0.1.0",mode="run",environment="sandbox"}'] == 1
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(server.url.replace("/metrics", "/other"), timeout=5)
        assert missing.value.code == 404
    with pytest.raises(urllib.error.URLError):
        scrape(server.url)  # stopped: nothing listens any more


def test_a_port_in_use_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MetricsError) as caught:
            MetricsServer(lambda: "", port=port).start()
    assert str(caught.value) == (
        f"--metrics-host 127.0.0.1 --metrics-port {port}: cannot serve the gameday's metrics there: Address already in use; "
        "choose a free port (--metrics-port, 0 picks any free port) before the gameday starts"
    )
    assert caught.value.exit_code == 2
