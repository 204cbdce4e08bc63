"""Prometheus: an instant or range query against the HTTP API, or a /metrics endpoint scraped directly.

A URL whose path ends in ``/metrics`` (or ``/-/metrics``) is scraped; the query
is then a metric name with optional label matchers, ``shop_up{job="shop"}``,
and the matching samples are summed. Any other URL is a Prometheus server and
the query is PromQL, which must return a single series (aggregate it otherwise).
"""

from __future__ import annotations

import http.client
import json
import math
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Mapping

from prometheus_client.parser import text_string_to_metric_families

from gamedays.model.measurement import Measurement
from gamedays.model.slo import PrometheusSLI
from gamedays.sli.expand import expand
from gamedays.model.redact import safe_url

_SELECTOR = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*$")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=|!=)\s*"((?:[^"\\]|\\.)*)"\s*,?')


class PrometheusError(Exception):
    pass


@dataclass(frozen=True)
class Selector:
    name: str
    matchers: tuple[tuple[str, str, str], ...]

    def matches(self, name: str, labels: dict[str, str]) -> bool:
        if name != self.name:
            return False
        for label, op, value in self.matchers:
            have = labels.get(label, "")
            if (op == "=") != (have == value):
                return False
        return True


def parse_selector(text: str) -> Selector:
    match = _SELECTOR.match(text)
    if not match:
        raise PrometheusError(f"not a metric selector: {text!r} (expected name{{label=\"value\"}})")
    name, body = match.group(1), match.group(2) or ""
    matchers = []
    position = 0
    while position < len(body.strip()):
        found = _MATCHER.match(body, position)
        if not found:
            raise PrometheusError(f"cannot read the label matchers of {text!r}")
        matchers.append((found.group(1), found.group(2), _unescape(found.group(3))))
        position = found.end()
    return Selector(name, tuple(matchers))


def parse_exposition(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Samples of the Prometheus text exposition format: (name, labels, value).

    Parsed by prometheus_client's own parser; raises ValueError on text that is not the format.
    """
    return [
        (sample.name, dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def scrape(url: str, selector: str, timeout: float) -> float:
    """The sum of the samples matching ``selector`` on a /metrics page."""
    wanted = parse_selector(selector)
    text = _get(url, timeout)
    try:
        samples = parse_exposition(text)
    except ValueError as exc:
        raise PrometheusError(f"{safe_url(url)} does not serve the Prometheus text format: {exc}") from None
    values = [value for name, labels, value in samples if wanted.matches(name, labels)]
    if not values:
        raise PrometheusError(f"no sample of {selector} at {safe_url(url)}")
    return math.fsum(values)


def instant_query(base: str, query: str, timeout: float) -> float:
    data = _api(base, "query", {"query": query}, timeout)
    result = data.get("result", [])
    if data.get("resultType") == "scalar":
        return float(result[1])
    if len(result) != 1:
        raise PrometheusError(f"the query returned {len(result)} series, not one: aggregate it, e.g. sum(...)")
    return float(result[0]["value"][1])


def range_query(base: str, query: str, start: float, end: float, step: float, timeout: float) -> list[tuple[float, float]]:
    """(time, value) points of a single-series range query."""
    data = _api(base, "query_range", {"query": query, "start": start, "end": end, "step": step}, timeout)
    result = data.get("result", [])
    if len(result) != 1:
        raise PrometheusError(f"the query returned {len(result)} series, not one: aggregate it, e.g. sum(...)")
    return [(float(t), float(v)) for t, v in result[0]["values"]]


def measure(sli: PrometheusSLI, env: Mapping[str, str], timeout: float) -> Measurement:
    url = expand(sli.url, env)
    limit = min(timeout, sli.timeout.seconds)
    start = time.perf_counter()
    try:
        if _is_scrape(url):
            value = scrape(url, sli.query, limit)
        else:
            value = instant_query(url, sli.query, limit)
    except (PrometheusError, OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        return Measurement.failed(str(exc), time.perf_counter() - start)
    except http.client.HTTPException as exc:  # InvalidURL, a cut body (IncompleteRead), a status line of garbage
        return Measurement.failed(f"{safe_url(url)}: {type(exc).__name__}: {exc}", time.perf_counter() - start)
    elapsed = time.perf_counter() - start
    if sli.min is not None and value < sli.min:
        return Measurement(False, value, f"{sli.query} = {value:g}, below {sli.min:g}", elapsed)
    if sli.max is not None and value > sli.max:
        return Measurement(False, value, f"{sli.query} = {value:g}, above {sli.max:g}", elapsed)
    return Measurement(True, value, None, elapsed)


def _is_scrape(url: str) -> bool:
    return urllib.parse.urlsplit(url).path.endswith("metrics")


def _api(base: str, endpoint: str, params: dict[str, object], timeout: float) -> dict:
    url = f"{base.rstrip('/')}/api/v1/{endpoint}?{urllib.parse.urlencode(params)}"
    try:
        payload = json.loads(_get(url, timeout))
    except json.JSONDecodeError as exc:
        raise PrometheusError(f"{safe_url(base)} did not answer JSON: {exc}") from None
    if payload.get("status") != "success":
        raise PrometheusError(f"Prometheus refused the query: {payload.get('error', 'unknown error')}")
    return payload["data"]


def _get(url: str, timeout: float) -> str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - URLs come from the plan
            return response.read(8 << 20).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        body = exc.read(2000).decode("utf-8", "replace")
        exc.close()
        try:
            message = json.loads(body).get("error", body)
        except json.JSONDecodeError:
            message = body
        raise PrometheusError(f"HTTP {exc.code} from {safe_url(url)}: {message.strip()[:200]}") from None
    except urllib.error.URLError as exc:
        raise PrometheusError(f"{safe_url(url)}: {exc.reason}") from None



def _unescape(value: str) -> str:
    return value.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
