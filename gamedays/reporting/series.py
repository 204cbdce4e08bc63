"""One SLI's samples over the whole gameday, reduced to what a report can show.

A one-hour gameday sampling four SLIs every second journals ~15,000 samples;
the report draws them, and report.json hands them to machines, so both need a
bounded summary instead of every sample: the *breaches* (runs of consecutive
bad samples), the *gaps* (stretches with no sample at all, e.g. the monitor
stopped) and at most :data:`MAX_BUCKETS` time *buckets* with good/bad counts
and the value's min/mean/max (latency, lag, ready pods). Everything here is a
pure function of the samples, so the same journal always gives the same series.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from gamedays.model.events import SampleTaken

MAX_BUCKETS = 200  # time buckets per SLI: enough for a chart ~700 px wide, small in report.json
GAP_FACTOR = 2.5  # a silence longer than this many sampling intervals is a gap in the data
TOP_ERRORS = 5  # the most frequent reasons for bad samples kept per SLI


@dataclass(frozen=True)
class Run:
    """Consecutive samples with the same verdict and no gap: a breach when they are bad.

    ``start`` is the first sample's time, ``end`` the next sample's, at most
    one sampling interval after the last one (each sample stands for the
    interval it was taken in).
    """

    start: float
    end: float
    samples: int


@dataclass(frozen=True)
class Bucket:
    """The samples of one time slice: how many were good and bad, and their values if they had any."""

    start: float
    end: float
    good: int
    bad: int
    values: int  # samples with a value (the others read nothing, e.g. a refused connection)
    minimum: float | None
    mean: float | None
    maximum: float | None


@dataclass(frozen=True)
class ErrorCount:
    error: str
    samples: int


@dataclass(frozen=True)
class SLISeries:
    """One SLI over the gameday: counts, breaches, gaps, buckets, the most frequent errors."""

    slo: str
    good: int
    bad: int
    first: float | None  # the first sample's time
    last: float | None  # the last sample's time
    breaches: tuple[Run, ...]
    gaps: tuple[Run, ...]  # ``samples`` is 0: nothing was sampled from start to end
    buckets: tuple[Bucket, ...]  # only non-empty slices, in time order
    bucket_seconds: float
    value_minimum: float | None
    value_maximum: float | None
    errors: tuple[ErrorCount, ...]

    @property
    def total(self) -> int:
        return self.good + self.bad

    @property
    def compliance(self) -> float | None:
        """Share of good samples; None when nothing was sampled."""
        return None if self.total == 0 else self.good / self.total

    @property
    def has_values(self) -> bool:
        return self.value_maximum is not None


def sli_series(
    slo: str, samples: Sequence[SampleTaken], interval: float, start: float, end: float
) -> SLISeries:
    """Summarise ``samples`` (one SLI's, any order) over ``start``..``end`` sampled every ``interval`` s."""
    ordered = sorted(samples, key=lambda s: s.at)
    interval = interval if interval > 0 else 1.0
    breaches, gaps = _runs(ordered, interval)
    bucket_seconds = _bucket_seconds(start, end, interval)
    values = [s.value for s in ordered if s.value is not None and math.isfinite(s.value)]
    errors = Counter(s.error for s in ordered if not s.good and s.error)
    top = sorted(errors.items(), key=lambda item: (-item[1], item[0]))[:TOP_ERRORS]
    good = sum(1 for s in ordered if s.good)
    return SLISeries(
        slo=slo,
        good=good,
        bad=len(ordered) - good,
        first=ordered[0].at if ordered else None,
        last=ordered[-1].at if ordered else None,
        breaches=breaches,
        gaps=gaps,
        buckets=_buckets(ordered, start, bucket_seconds),
        bucket_seconds=bucket_seconds,
        value_minimum=min(values) if values else None,
        value_maximum=max(values) if values else None,
        errors=tuple(ErrorCount(error, count) for error, count in top),
    )


def _runs(ordered: Sequence[SampleTaken], interval: float) -> tuple[tuple[Run, ...], tuple[Run, ...]]:
    """Breaches (consecutive bad samples) and gaps (silences longer than GAP_FACTOR intervals)."""
    breaches: list[Run] = []
    gaps: list[Run] = []
    open_start: float | None = None
    open_count = 0
    previous: SampleTaken | None = None
    for sample in ordered:
        gap = previous is not None and sample.at - previous.at > GAP_FACTOR * interval
        if previous is not None and gap:
            gaps.append(Run(previous.at + interval, sample.at, 0))
        if open_start is not None and (sample.good or gap):
            assert previous is not None
            breaches.append(Run(open_start, min(previous.at + interval, sample.at), open_count))
            open_start, open_count = None, 0
        if not sample.good:
            if open_start is None:
                open_start = sample.at
            open_count += 1
        previous = sample
    if open_start is not None and previous is not None:
        breaches.append(Run(open_start, previous.at + interval, open_count))
    return tuple(breaches), tuple(gaps)


def _bucket_seconds(start: float, end: float, interval: float) -> float:
    span = max(end - start, interval)
    return max(interval, span / MAX_BUCKETS)


def _buckets(ordered: Sequence[SampleTaken], start: float, width: float) -> tuple[Bucket, ...]:
    slices: dict[int, list[SampleTaken]] = {}
    for sample in ordered:
        slices.setdefault(max(0, math.floor((sample.at - start) / width)), []).append(sample)
    buckets = []
    for index in sorted(slices):
        members = slices[index]
        values = [s.value for s in members if s.value is not None and math.isfinite(s.value)]
        good = sum(1 for s in members if s.good)
        buckets.append(
            Bucket(
                start=start + index * width,
                end=start + (index + 1) * width,
                good=good,
                bad=len(members) - good,
                values=len(values),
                minimum=min(values) if values else None,
                mean=math.fsum(values) / len(values) if values else None,
                maximum=max(values) if values else None,
            )
        )
    return tuple(buckets)
