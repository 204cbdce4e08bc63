"""HTTP and Prometheus SLI sources against a real local HTTP server."""

from __future__ import annotations

import json

import pytest

from gamedays.model.slo import HttpSLI, PrometheusSLI
from gamedays.model.units import Duration
from gamedays.sli.measure import measure
from gamedays.sli.prometheus import parse_exposition, parse_selector


def http(url: str, **extra) -> HttpSLI:
    return HttpSLI(source="http", url=url, **extra)


def test_a_2xx_answer_is_good_and_timed(http_server):
    url, _ = http_server
    m = measure(http(url + "/healthz"), {}, timeout=2)
    assert m.good and m.error is None and 0 < m.value < 2


def test_a_5xx_answer_is_bad(http_server):
    url, behaviour = http_server
    behaviour.status = 503
    m = measure(http(url + "/healthz"), {}, timeout=2)
    assert not m.good and m.error == f"GET {url}/healthz: HTTP 503"


def test_4xx_is_good_unless_asked(http_server):
    url, behaviour = http_server
    behaviour.status = 404
    assert measure(http(url), {}, timeout=2).good
    assert not measure(http(url, bad_status="4xx-5xx"), {}, timeout=2).good


def test_a_slow_answer_breaks_a_latency_slo(http_server):
    url, behaviour = http_server
    behaviour.delay = 0.2
    m = measure(http(url, latency_threshold=Duration(0.05)), {}, timeout=2)
    assert not m.good and m.value >= 0.2 and "over 50ms" in m.error


def test_a_hanging_target_times_out_as_bad(http_server):
    url, behaviour = http_server
    behaviour.delay = 1.5
    m = measure(http(url), {}, timeout=0.3)
    assert not m.good and m.elapsed < 1.2


def test_nothing_listening_is_bad(http_server):
    m = measure(http("http://127.0.0.1:9/x"), {}, timeout=1)
    assert not m.good and "Connection refused" in m.error


def test_post_sends_the_body_and_variables_come_from_the_environment(http_server):
    url, behaviour = http_server
    sli = http("${SHOP_URL}/orders", method="POST", body='{"item": "${ITEM}"}')
    assert measure(sli, {"SHOP_URL": url, "ITEM": "probe"}, timeout=2).good
    assert behaviour.requests[-1] == ("POST", "/orders", b'{"item": "probe"}')


def test_a_missing_variable_is_a_bad_sample_that_says_which(http_server):
    m = measure(http("${SHOP_URL}/orders"), {}, timeout=2)
    assert not m.good and m.error == "environment variable SHOP_URL is not set (the SLI refers to ${SHOP_URL})"


def test_credentials_in_the_url_never_reach_the_error(http_server):
    url, behaviour = http_server
    behaviour.status = 500
    m = measure(http(url.replace("http://", "http://user:hunter2@") + "/x?token=abc"), {}, timeout=2)
    assert "hunter2" not in m.error and "token" not in m.error


METRICS = """\
# HELP shop_requests_total Requests.
# TYPE shop_requests_total counter
shop_requests_total{route="/orders",status="201"} 10
shop_requests_total{route="/orders",status="503"} 2
shop_requests_total{route="/healthz",status="200"} 5
shop_up 1
"""


def test_scraping_sums_the_matching_samples(http_server):
    url, behaviour = http_server
    behaviour.body = METRICS.encode()
    sli = PrometheusSLI(source="prometheus", url=url + "/metrics", query='shop_requests_total{route="/orders"}', max=100)
    m = measure(sli, {}, timeout=2)
    assert m.good and m.value == 12


def test_a_scraped_value_out_of_bounds_is_bad(http_server):
    url, behaviour = http_server
    behaviour.body = METRICS.encode()
    sli = PrometheusSLI(source="prometheus", url=url + "/metrics", query='shop_requests_total{status!="201"}', max=5)
    m = measure(sli, {}, timeout=2)
    assert not m.good and m.value == 7 and "above 5" in m.error


def test_a_page_that_is_not_the_exposition_format_is_a_bad_sample_that_says_so(http_server):
    url, behaviour = http_server
    behaviour.body = b"shop_up{route=unquoted} 1\n"
    m = measure(PrometheusSLI(source="prometheus", url=url + "/metrics", query="shop_up", min=1), {}, timeout=2)
    assert not m.good and m.value is None
    assert f"{url}/metrics does not serve the Prometheus text format" in m.error


def test_an_instant_query_against_the_prometheus_api(http_server):
    url, behaviour = http_server
    behaviour.content_type = "application/json"
    behaviour.body = json.dumps(
        {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "0.998"]}]}}
    ).encode()
    sli = PrometheusSLI(source="prometheus", url=url, query="sum(rate(x[1m]))", min=0.999)
    m = measure(sli, {}, timeout=2)
    assert not m.good and m.value == pytest.approx(0.998)
    assert behaviour.requests[-1][1].startswith("/api/v1/query?query=sum%28rate%28x%5B1m%5D%29%29")


def test_a_query_returning_several_series_asks_for_aggregation(http_server):
    url, behaviour = http_server
    series = {"metric": {}, "value": [1, "1"]}
    behaviour.body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [series, series]}}).encode()
    m = measure(PrometheusSLI(source="prometheus", url=url, query="up", min=1), {}, timeout=2)
    assert not m.good and "returned 2 series, not one: aggregate it" in m.error


def test_exposition_and_selector_parsing():
    samples = parse_exposition(METRICS + 'odd{a="x\\"y"} 3 1700000000\n')
    assert ("odd", {"a": 'x"y'}, 3.0) in samples
    selector = parse_selector('shop_requests_total{route="/orders", status!="201"}')
    assert selector.matches("shop_requests_total", {"route": "/orders", "status": "503"})
    assert not selector.matches("shop_requests_total", {"route": "/orders", "status": "201"})


def test_a_range_query_returns_the_series_points(http_server):
    from gamedays.sli.prometheus import PrometheusError, range_query

    url, behaviour = http_server
    behaviour.content_type = "application/json"
    values = [[1700000000, "0.99"], [1700000015, "0.995"], [1700000030, "1"]]
    behaviour.body = json.dumps(
        {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": values}]}}
    ).encode()
    points = range_query(url, "sum(rate(ok[1m]))", start=1700000000, end=1700000030, step=15, timeout=2)
    assert points == [(1700000000.0, 0.99), (1700000015.0, 0.995), (1700000030.0, 1.0)]
    path = behaviour.requests[-1][1]
    assert path.startswith("/api/v1/query_range?") and "step=15" in path and "start=1700000000" in path
    behaviour.body = json.dumps({"status": "error", "error": "bad_data: parse error"}).encode()
    behaviour.status = 400
    with pytest.raises(PrometheusError, match="HTTP 400 .*bad_data: parse error"):
        range_query(url, "sum(", start=0, end=1, step=1, timeout=2)
