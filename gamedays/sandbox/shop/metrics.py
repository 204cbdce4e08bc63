"""Counters, gauges and histograms in the Prometheus text exposition format (0.0.4), stdlib only.

Just what the shop replicas and the balancer expose, so the SLI sources can scrape
real numbers: each metric is thread-safe, and a :class:`Registry` renders them all.
"""

from __future__ import annotations

import math
import threading
from typing import Sequence, TypeVar

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Labels = tuple[str, ...]


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        self.name = name
        self.help_text = help_text
        self.label_names: Labels = tuple(labels)
        self._lock = threading.Lock()

    def _key(self, values: Sequence[str]) -> Labels:
        if len(values) != len(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {tuple(values)}")
        return tuple(str(v) for v in values)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {_escape_help(self.help_text)}", f"# TYPE {self.name} {self.kind}"]

    def render(self) -> list[str]:
        raise NotImplementedError


_M = TypeVar("_M", bound=_Metric)


class Counter(_Metric):
    """A value that only goes up; an unlabelled counter shows 0 before its first increment."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[Labels, float] = {} if labels else {(): 0.0}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, *labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [*self.header(), *(f"{self.name}{_labels(self.label_names, k)} {_number(v)}" for k, v in items)]


class Gauge(_Metric):
    """A value that goes up and down."""

    kind = "gauge"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = (), initial: float | None = 0.0) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[Labels, float] = {(): initial} if not labels and initial is not None else {}

    def set(self, value: float, *labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [*self.header(), *(f"{self.name}{_labels(self.label_names, k)} {_number(v)}" for k, v in items)]


class Histogram(_Metric):
    """Observations counted into cumulative ``le`` buckets, with ``_sum`` and ``_count``."""

    kind = "histogram"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = (), buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        super().__init__(name, help_text, labels)
        if "le" in self.label_names:
            raise ValueError("'le' is reserved for histogram buckets")
        self.buckets = tuple(sorted(float(b) for b in buckets))
        self._series: dict[Labels, tuple[list[int], list[float]]] = {}

    def observe(self, value: float, *labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            counts, total = self._series.setdefault(key, ([0] * (len(self.buckets) + 1), [0.0]))
            index = next((i for i, bound in enumerate(self.buckets) if value <= bound), len(self.buckets))
            counts[index] += 1
            total[0] += value

    def render(self) -> list[str]:
        with self._lock:
            items = sorted((k, (list(c), s[0])) for k, (c, s) in self._series.items())
        lines = self.header()
        for key, (counts, total) in items:
            cumulative = 0
            for bound, count in zip([*self.buckets, math.inf], counts):
                cumulative += count
                le = "+Inf" if bound == math.inf else _number(bound)
                lines.append(f"{self.name}_bucket{_labels((*self.label_names, 'le'), (*key, le))} {cumulative}")
            lines.append(f"{self.name}_sum{_labels(self.label_names, key)} {_number(total)}")
            lines.append(f"{self.name}_count{_labels(self.label_names, key)} {cumulative}")
        return lines


class Registry:
    """The metrics of one process, rendered in registration order."""

    def __init__(self) -> None:
        self._metrics: list[_Metric] = []

    def counter(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Counter:
        return self._add(Counter(name, help_text, labels))

    def gauge(self, name: str, help_text: str, labels: Sequence[str] = (), initial: float | None = 0.0) -> Gauge:
        return self._add(Gauge(name, help_text, labels, initial))

    def histogram(
        self, name: str, help_text: str, labels: Sequence[str] = (), buckets: Sequence[float] = LATENCY_BUCKETS
    ) -> Histogram:
        return self._add(Histogram(name, help_text, labels, buckets))

    def render(self) -> str:
        return "\n".join(line for metric in self._metrics for line in metric.render()) + "\n"

    def _add(self, metric: _M) -> _M:
        if any(m.name == metric.name for m in self._metrics):
            raise ValueError(f"metric {metric.name} is registered twice")
        self._metrics.append(metric)
        return metric


def _labels(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    return "{" + ",".join(f'{n}="{_escape_value(v)}"' for n, v in zip(names, values)) + "}"


def _escape_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
