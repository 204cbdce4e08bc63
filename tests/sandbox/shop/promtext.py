"""A strict reader of the Prometheus text exposition format (0.0.4), to check what /metrics serves."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{(.*)\}})? (\S+)(?: -?\d+)?$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


@dataclass(frozen=True)
class Sample:
    name: str
    labels: frozenset[tuple[str, str]]
    value: float


@dataclass(frozen=True)
class Exposition:
    types: dict[str, str]
    samples: tuple[Sample, ...]

    def value(self, name: str, **labels: str) -> float:
        """The one sample of ``name`` with exactly these labels (0 when absent)."""
        wanted = frozenset(labels.items())
        found = [s.value for s in self.samples if s.name == name and s.labels == wanted]
        assert len(found) <= 1, f"{name}{labels} appears {len(found)} times"
        return found[0] if found else 0.0

    def total(self, name: str, **labels: str) -> float:
        """Sum of every sample of ``name`` whose labels include these."""
        wanted = set(labels.items())
        return sum(s.value for s in self.samples if s.name == name and wanted <= s.labels)


def parse(text: str) -> Exposition:
    """Parse ``text``; AssertionError on anything the format does not allow."""
    assert text.endswith("\n"), "the exposition must end with a newline"
    types: dict[str, str] = {}
    samples: list[Sample] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] == "TYPE":
                assert parts[3] in _TYPES if len(parts) == 4 else False, f"line {number}: bad TYPE {line!r}"
                assert parts[2] not in types, f"line {number}: second TYPE for {parts[2]}"
                types[parts[2]] = parts[3]
            continue
        match = _SAMPLE.match(line)
        assert match, f"line {number}: not a sample: {line!r}"
        name, label_text, value_text = match.groups()
        family = re.sub(r"_(bucket|sum|count|total)$", "", name)
        assert name in types or family in types, f"line {number}: {name} has no TYPE before it"
        labels = _labels(label_text or "", number)
        value = float(value_text)
        assert not math.isnan(value) or value_text == "NaN", f"line {number}: bad value {value_text!r}"
        samples.append(Sample(name, labels, value))
    _check_histograms(types, samples)
    return Exposition(types, tuple(samples))


def _labels(text: str, number: int) -> frozenset[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _LABEL.match(text, position)
        assert match, f"line {number}: bad labels {text!r}"
        found.append((match.group(1), re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), match.group(2))))
        position = match.end()
    assert len({k for k, _ in found}) == len(found), f"line {number}: a label appears twice"
    return frozenset(found)


def _check_histograms(types: dict[str, str], samples: list[Sample]) -> None:
    """Buckets are cumulative, end with +Inf, and +Inf equals _count."""
    for family, kind in types.items():
        if kind != "histogram":
            continue
        series: dict[frozenset[tuple[str, str]], list[tuple[float, float]]] = {}
        counts = {s.labels: s.value for s in samples if s.name == f"{family}_count"}
        for s in samples:
            if s.name == f"{family}_bucket":
                le = dict(s.labels)["le"]
                rest = frozenset(item for item in s.labels if item[0] != "le")
                series.setdefault(rest, []).append((float(le), s.value))
        for labels, buckets in series.items():
            values = [v for _, v in sorted(buckets)]
            assert values == sorted(values), f"{family}{dict(labels)}: buckets are not cumulative"
            assert sorted(buckets)[-1][0] == math.inf, f"{family}{dict(labels)}: no +Inf bucket"
            assert values[-1] == counts.get(labels), f"{family}{dict(labels)}: +Inf bucket differs from _count"
