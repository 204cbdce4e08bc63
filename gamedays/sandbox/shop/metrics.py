"""Counters, gauges and histograms of the shop's replicas and balancer, exposed through prometheus_client.

The values live here (thread-safe, one lock per metric); a :class:`Registry` is a
prometheus_client collector: at every scrape it turns them into metric families, and
:func:`prometheus_client.generate_latest` writes the text exposition format. Counters show
no ``_created`` series (the SLI sources read ``*_total`` only).
"""

from __future__ import annotations

import math
import threading
from typing import Iterator, Sequence, TypeVar

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what generate_latest writes
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Labels = tuple[str, ...]


class _Metric:
    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        self.name = name
        self.help_text = help_text
        self.label_names: Labels = tuple(labels)
        self._lock = threading.Lock()

    def _key(self, values: Sequence[str]) -> Labels:
        if len(values) != len(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {tuple(values)}")
        return tuple(str(v) for v in values)

    def family(self) -> Metric:
        """The metric's family as it is now (called at scrape time)."""
        raise NotImplementedError


_M = TypeVar("_M", bound=_Metric)


class Counter(_Metric):
    """A value that only goes up; an unlabelled counter shows 0 before its first increment."""

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

    def family(self) -> Metric:
        with self._lock:
            items = sorted(self._values.items())
        family = CounterMetricFamily(self.name, self.help_text, labels=self.label_names)
        for key, value in items:
            family.add_metric(list(key), value)
        return family


class Gauge(_Metric):
    """A value that goes up and down."""

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = (), initial: float | None = 0.0) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[Labels, float] = {(): initial} if not labels and initial is not None else {}

    def set(self, value: float, *labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def family(self) -> Metric:
        with self._lock:
            items = sorted(self._values.items())
        family = GaugeMetricFamily(self.name, self.help_text, labels=self.label_names)
        for key, value in items:
            family.add_metric(list(key), value)
        return family


class Histogram(_Metric):
    """Observations counted into cumulative ``le`` buckets, with ``_sum`` and ``_count``."""

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

    def family(self) -> Metric:
        with self._lock:
            items = sorted((k, (list(c), s[0])) for k, (c, s) in self._series.items())
        family = HistogramMetricFamily(self.name, self.help_text, labels=self.label_names)
        bounds = [*(_bound(b) for b in self.buckets), "+Inf"]
        for key, (counts, total) in items:
            cumulative = [sum(counts[: i + 1]) for i in range(len(counts))]
            family.add_metric(list(key), list(zip(bounds, cumulative)), total)
        return family


class Registry(Collector):
    """The metrics of one process, collected at every scrape in registration order."""

    def __init__(self) -> None:
        self._metrics: list[_Metric] = []
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(self)

    def counter(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Counter:
        return self._add(Counter(name, help_text, labels))

    def gauge(self, name: str, help_text: str, labels: Sequence[str] = (), initial: float | None = 0.0) -> Gauge:
        return self._add(Gauge(name, help_text, labels, initial))

    def histogram(
        self, name: str, help_text: str, labels: Sequence[str] = (), buckets: Sequence[float] = LATENCY_BUCKETS
    ) -> Histogram:
        return self._add(Histogram(name, help_text, labels, buckets))

    def collect(self) -> Iterator[Metric]:
        for metric in list(self._metrics):
            yield metric.family()

    def render(self) -> str:
        """The text exposition format of every metric now (prometheus_client's ``generate_latest``)."""
        return generate_latest(self._registry).decode("utf-8")

    def _add(self, metric: _M) -> _M:
        if any(m.name == metric.name for m in self._metrics):
            raise ValueError(f"metric {metric.name} is registered twice")
        self._metrics.append(metric)
        return metric


def _bound(value: float) -> str:
    """A bucket's ``le`` as Prometheus writes it: 0.005, 1, 2.5, +Inf."""
    if math.isinf(value):
        return "+Inf"
    return str(int(value)) if value.is_integer() else repr(value)
