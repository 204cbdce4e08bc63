"""What a fault did to each SLO of an experiment's hypothesis, against the gameday's baseline.

The *baseline* is the gameday's own quiet time: from ``phase: baseline`` to the
first step's start. The *fault window* is the experiment's (method start to
rollbacks end). For each SLO both windows give the availability (share of
good samples) and, for a latency SLO (``SLOInfo.kind == "latency"``), the mean
and the 95th percentile (nearest rank) of the sampled values. Pure functions of
sorted samples; windows are found by bisection, so a long gameday stays cheap.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Sequence

from gamedays.model.events import SampleTaken, SLOInfo
from gamedays.reporting.formatting import unit_of

LATENCY = "latency"


@dataclass(frozen=True)
class WindowStats:
    """The samples of one SLO within one window."""

    start: float
    end: float
    samples: int
    good: int
    availability: float | None  # share of good samples; None: nothing sampled
    mean: float | None  # of the values, latency SLOs only
    p95: float | None


@dataclass(frozen=True)
class SLOImpact:
    slo: str
    kind: str
    unit: str  # of the values: "s" for the latency sources (see formatting.unit_of)
    baseline: WindowStats | None  # None: the gameday had no baseline phase before its first step
    fault: WindowStats

    @property
    def latency(self) -> bool:
        return self.kind == LATENCY

    @property
    def availability_change(self) -> float | None:
        """Fault minus baseline availability, in shares (-0.1 is ten points lower)."""
        if self.baseline is None or self.baseline.availability is None or self.fault.availability is None:
            return None
        return self.fault.availability - self.baseline.availability

    @property
    def p95_ratio(self) -> float | None:
        """Fault p95 over baseline p95 (2.0: twice as slow)."""
        if self.baseline is None or self.baseline.p95 is None or self.fault.p95 is None or self.baseline.p95 <= 0:
            return None
        return self.fault.p95 / self.baseline.p95


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``; None when there are none."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def window_stats(ordered: Sequence[SampleTaken], times: Sequence[float], start: float, end: float, latency: bool) -> WindowStats:
    """Stats of the samples at ``start`` <= at <= ``end``; ``ordered`` sorted by time, ``times`` their times."""
    low = bisect.bisect_left(times, start)
    high = bisect.bisect_right(times, end)
    inside = ordered[low:high]
    good = sum(1 for s in inside if s.good)
    values = [s.value for s in inside if s.value is not None and math.isfinite(s.value)] if latency else []
    return WindowStats(
        start=start,
        end=end,
        samples=len(inside),
        good=good,
        availability=good / len(inside) if inside else None,
        mean=math.fsum(values) / len(values) if values else None,
        p95=percentile(values, 0.95),
    )


def slo_impact(
    info: SLOInfo,
    ordered: Sequence[SampleTaken],
    times: Sequence[float],
    baseline: tuple[float, float] | None,
    fault: tuple[float, float],
) -> SLOImpact:
    """The impact of a fault window on one SLO: its samples ``ordered`` by time, ``times`` the same times."""
    latency = info.kind == LATENCY
    return SLOImpact(
        slo=info.name,
        kind=info.kind,
        unit=unit_of(info.source),
        baseline=window_stats(ordered, times, baseline[0], baseline[1], latency) if baseline is not None else None,
        fault=window_stats(ordered, times, fault[0], fault[1], latency),
    )
