"""The report's charts as plain geometry, drawn as inline SVG by ``templates/chart.svg.j2``.

One chart per SLI spans the whole gameday: a strip of good/bad samples (grey
where nothing was sampled), the share of good samples per time bucket with the
objective drawn on it, and the SLI's values (latency, lag, ready pods) as a
min-max band with the mean when the source reads any; every fault window is
shaded across the panels (a DR check from its disaster to its recovery too) and a
guardrail abort is marked. A second chart shows
each SLO's error-budget burn against the plan's allowance, a third the burn
accumulating over the gameday (the burn-down, :mod:`gamedays.reporting.burndown`).

The size of a chart does not grow with the number of samples: the series come
bucketed from :mod:`gamedays.reporting.series`, and breaches closer than a
pixel are merged. Coordinates are rounded to 0.1 px, so equal inputs give
equal bytes. Text is escaped by the template (autoescape), never here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from gamedays.model.events import SLOInfo
from gamedays.reporting.analysis import StepAnalysis
from gamedays.reporting.dr_analysis import DRAnalysis
from gamedays.reporting.formatting import clock, objective, seconds, share, unit_of, value
from gamedays.reporting.series import SLISeries

WIDTH = 760.0
LEFT = 64.0  # room for the y-axis labels
RIGHT = 12.0
PLOT = WIDTH - LEFT - RIGHT
LABELS_Y = 11.0  # step names above the panels
STRIP_Y, STRIP_H = 16.0, 12.0
SHARE_Y, SHARE_H = 36.0, 60.0
VALUES_Y, VALUES_H = 106.0, 60.0
MIN_PIXEL = 1.0  # breaches closer than this merge into one mark
TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
MAX_TICKS = 8
SPARK = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str = ""


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    css: str


@dataclass(frozen=True)
class Path:
    d: str
    css: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    css: str = ""
    anchor: str = "start"


@dataclass(frozen=True)
class Chart:
    """An SVG drawing: shapes in paint order (rects, paths, lines, labels), with a title and a description."""

    css: str  # class of the <svg>, e.g. "sli-chart"
    key: str  # what it charts (the SLO's name), as data-key
    title: str
    description: str
    width: float
    height: float
    rects: tuple[Rect, ...]
    paths: tuple[Path, ...]
    lines: tuple[Line, ...]
    labels: tuple[Label, ...]


@dataclass(frozen=True)
class TimeAxis:
    """Maps the gameday's wall-clock times to x coordinates."""

    start: float
    end: float

    @classmethod
    def spanning(cls, start: float | None, end: float | None, interval: float) -> TimeAxis:
        begin = start if start is not None else 0.0
        finish = end if end is not None else begin
        return cls(begin, max(finish, begin + max(interval, 1e-3)))

    def x(self, at: float) -> float:
        """The x coordinate of a time, clamped to the plot."""
        at = min(max(at, self.start), self.end)
        return _r(LEFT + (at - self.start) / (self.end - self.start) * PLOT)

    def ticks(self) -> tuple[tuple[float, str], ...]:
        """Clock-aligned ticks (UTC), at most MAX_TICKS of them."""
        span = self.end - self.start
        step = next((s for s in TIME_STEPS if span / s <= MAX_TICKS), TIME_STEPS[-1])
        first = math.ceil(self.start / step) * step
        marks: list[tuple[float, str]] = []
        at = float(first)
        while at <= self.end and len(marks) <= MAX_TICKS:
            text = clock(at) if step < 60 else clock(at)[:5]
            marks.append((self.x(at), text))
            at += step
        return tuple(marks)


LABEL_ROOM = 6.0 * len("database")  # px a DR check's label needs before the next one may start


def sli_chart(
    info: SLOInfo, series: SLISeries, steps: Sequence[StepAnalysis], axis: TimeAxis, interval: float, incomplete: bool,
    checks: Sequence[DRAnalysis] = (),
) -> Chart:
    """The chart of one SLI over the whole gameday: fault windows and DR checks (disaster to recovery) shaded."""
    values = series.has_values
    bottom = (VALUES_Y + VALUES_H) if values else (SHARE_Y + SHARE_H)
    rects: list[Rect] = []
    paths: list[Path] = []
    lines: list[Line] = []
    labels: list[Label] = []
    _faults(steps, axis, bottom, rects, lines, labels)
    _disasters(checks, axis, bottom, rects, labels)
    _strip(series, axis, interval, rects)
    _share_panel(info, series, axis, paths, lines, labels)
    if values:
        _value_panel(info, series, axis, paths, lines, labels)
    time_axis(axis, bottom, lines, labels)
    if incomplete:
        labels.append(Label(_r(LEFT + PLOT), LABELS_Y, "journal ends", "lbl warn", "end"))
    compliance = objective(series.compliance) if series.compliance is not None else "no samples"
    description = (
        f"{series.good} good and {series.bad} bad samples of {info.name} ({compliance} good, objective "
        f"{objective(info.objective)}) from {clock(axis.start)} to {clock(axis.end)} UTC"
    )
    if values:
        unit = unit_of(info.source)
        description += f"; values from {value(series.value_minimum, unit)} to {value(series.value_maximum, unit)}"
    return Chart(
        css="sli-chart",
        key=info.name,
        title=f"{info.name} over the gameday",
        description=description,
        width=WIDTH,
        height=bottom + 18.0,
        rects=tuple(rects),
        paths=tuple(paths),
        lines=tuple(lines),
        labels=tuple(labels),
    )


def _faults(
    steps: Sequence[StepAnalysis], axis: TimeAxis, bottom: float, rects: list[Rect], lines: list[Line], labels: list[Label]
) -> None:
    for step in steps:
        if step.fault_start is None:
            continue
        end = step.fault_end if step.fault_end is not None else axis.end
        x1, x2 = axis.x(step.fault_start), axis.x(end)
        css = "fault dry" if step.dry else ("fault open" if step.fault_end is None else "fault")
        window = f"{clock(step.fault_start)}–{clock(step.fault_end) if step.fault_end is not None else 'open'}"
        rects.append(Rect(x1, STRIP_Y, _r(max(x2 - x1, 1.0)), _r(bottom - STRIP_Y), css, f"{step.id}: fault {window}"))
        labels.append(Label(x1, LABELS_Y, step.id, "lbl step"))
        if step.aborted_at is not None:
            xa = axis.x(step.aborted_at)
            lines.append(Line(xa, STRIP_Y, xa, bottom, "abort"))


def _disasters(checks: Sequence[DRAnalysis], axis: TimeAxis, bottom: float, rects: list[Rect], labels: list[Label]) -> None:
    """DR checks shaded from disaster to recovery; a label only where it does not run into the one before."""
    labelled = -LABEL_ROOM
    for check in checks:
        if check.disaster_at is None:
            continue
        end = check.recovered_at if check.recovered_at is not None else (check.finished or axis.end)
        x1, x2 = axis.x(check.disaster_at), axis.x(end)
        window = f"{clock(check.disaster_at)}–{clock(check.recovered_at) if check.recovered_at is not None else 'not recovered'}"
        rects.append(Rect(x1, STRIP_Y, _r(max(x2 - x1, 1.0)), _r(bottom - STRIP_Y), "drwin", f"DR {check.id}: disaster to recovery {window}"))
        if x1 - labelled >= LABEL_ROOM:
            labels.append(Label(x1, LABELS_Y, check.id, "lbl dr"))
            labelled = x1


def _strip(series: SLISeries, axis: TimeAxis, interval: float, rects: list[Rect]) -> None:
    rects.append(Rect(LEFT, STRIP_Y, PLOT, STRIP_H, "gap", "no samples"))
    if series.first is None or series.last is None:
        return
    covered_from, covered_to = series.first, series.last + interval
    pieces = []  # the covered time, minus the gaps
    cursor = covered_from
    for gap in series.gaps:
        pieces.append((cursor, gap.start))
        cursor = gap.end
    pieces.append((cursor, covered_to))
    for start, end in pieces:
        x1, x2 = axis.x(start), axis.x(end)
        if x2 > x1:
            rects.append(Rect(x1, STRIP_Y, _r(x2 - x1), STRIP_H, "good"))
    for x1, x2, count, first, last in _merged(series, axis):
        title = f"{count} bad samples from {clock(first)} to {clock(last)} ({seconds(last - first)})"
        rects.append(Rect(x1, STRIP_Y, _r(max(x2 - x1, MIN_PIXEL)), STRIP_H, "bad", title))


def _merged(series: SLISeries, axis: TimeAxis) -> list[tuple[float, float, int, float, float]]:
    """Breaches as (x1, x2, samples, start, end), merged when less than a pixel apart."""
    merged: list[tuple[float, float, int, float, float]] = []
    for run in series.breaches:
        x1, x2 = axis.x(run.start), axis.x(run.end)
        if merged and x1 - merged[-1][1] < MIN_PIXEL:
            px1, px2, count, first, _ = merged[-1]
            merged[-1] = (px1, max(px2, x2), count + run.samples, first, run.end)
        else:
            merged.append((x1, x2, run.samples, run.start, run.end))
    return merged


def _share_panel(
    info: SLOInfo, series: SLISeries, axis: TimeAxis, paths: list[Path], lines: list[Line], labels: list[Label]
) -> None:
    def y(fraction: float) -> float:
        return _r(SHARE_Y + (1.0 - fraction) * SHARE_H)

    lines.append(Line(LEFT, SHARE_Y, LEFT, SHARE_Y + SHARE_H, "axis"))
    for fraction, text in ((1.0, "100%"), (0.5, "50%"), (0.0, "0%")):
        lines.append(Line(LEFT - 3, y(fraction), LEFT + PLOT, y(fraction), "grid"))
        labels.append(Label(LEFT - 5, _r(y(fraction) + 3), text, "tick", "end"))
    labels.append(Label(LEFT + 4, SHARE_Y + 10, "good samples per slice", "unit"))
    area, line = [], []
    previous_end: float | None = None
    for bucket in series.buckets:
        total = bucket.good + bucket.bad
        good = bucket.good / total
        x1, x2 = axis.x(bucket.start), axis.x(bucket.end)
        joined = previous_end is not None and abs(bucket.start - previous_end) < 1e-9
        line.append(f"{'L' if joined else 'M'}{x1} {y(good)}H{x2}")
        if bucket.bad:
            area.append(f"M{x1} {y(1.0)}H{x2}V{y(good)}H{x1}Z")
        previous_end = bucket.end
    if area:
        paths.append(Path("".join(area), "badshare"))
    if line:
        paths.append(Path("".join(line), "share"))
    target = y(info.objective)
    lines.append(Line(LEFT, target, LEFT + PLOT, target, "objective"))
    labels.append(Label(_r(LEFT + PLOT - 2), _r(target + 10), f"objective {objective(info.objective)}", "lbl objective", "end"))


def _value_panel(
    info: SLOInfo, series: SLISeries, axis: TimeAxis, paths: list[Path], lines: list[Line], labels: list[Label]
) -> None:
    unit = unit_of(info.source)
    low = min(0.0, series.value_minimum or 0.0)
    high = _nice(series.value_maximum or 0.0)
    if high <= low:
        high = low + 1.0

    def y(amount: float) -> float:
        return _r(VALUES_Y + (high - amount) / (high - low) * VALUES_H)

    lines.append(Line(LEFT, VALUES_Y, LEFT, VALUES_Y + VALUES_H, "axis"))
    for amount in (high, (high + low) / 2, low):
        lines.append(Line(LEFT - 3, y(amount), LEFT + PLOT, y(amount), "grid"))
        labels.append(Label(LEFT - 5, _r(y(amount) + 3), _tick(amount, unit, high), "tick", "end"))
    caption = {"s": "latency", "pods": "ready pods"}.get(unit, "value")
    labels.append(Label(LEFT + 4, VALUES_Y + 10, f"{caption}: mean, min–max", "unit"))
    band, mean = [], []
    run: list[tuple[float, float, float, float]] = []  # adjacent buckets: (x1, x2, min, max)
    previous_end: float | None = None

    def close_band() -> None:
        if run:
            top = "".join(f"{'M' if i == 0 else 'L'}{x1} {y(hi)}L{x2} {y(hi)}" for i, (x1, x2, _, hi) in enumerate(run))
            under = "".join(f"L{x2} {y(lo)}L{x1} {y(lo)}" for x1, x2, lo, _ in reversed(run))
            band.append(top + under + "Z")
            run.clear()

    for bucket in series.buckets:
        if bucket.mean is None or bucket.minimum is None or bucket.maximum is None:
            close_band()
            previous_end = None
            continue
        x1, x2 = axis.x(bucket.start), axis.x(bucket.end)
        joined = previous_end is not None and abs(bucket.start - previous_end) < 1e-9
        if not joined:
            close_band()
        run.append((x1, x2, bucket.minimum, bucket.maximum))
        mean.append(f"{'L' if joined else 'M'}{x1} {y(bucket.mean)}H{x2}")
        previous_end = bucket.end
    close_band()
    if band:
        paths.append(Path("".join(band), "band"))
    if mean:
        paths.append(Path("".join(mean), "mean"))


def time_axis(axis: TimeAxis, bottom: float, lines: list[Line], labels: list[Label]) -> None:
    lines.append(Line(LEFT, bottom, LEFT + PLOT, bottom, "axis"))
    for x, text in axis.ticks():
        lines.append(Line(x, bottom, x, bottom + 3, "axis"))
        anchor = "end" if x > LEFT + PLOT - 20 else ("start" if x < LEFT + 20 else "middle")
        labels.append(Label(x, bottom + 13, text, "tick", anchor))


def budget_chart(slos: Sequence[SLOInfo], burned: dict[str, float], allowance: float | None) -> Chart:
    """One bar per SLO: the share of its window's error budget the gameday burned, against the allowance."""
    left, row, width = 190.0, 22.0, WIDTH - 190.0 - 90.0
    finite = [b for b in burned.values() if math.isfinite(b)]
    scale = max([*finite, allowance or 0.0, 1e-6]) * 1.15
    rects: list[Rect] = []
    lines: list[Line] = []
    labels: list[Label] = []
    for index, info in enumerate(slos):
        top = 6.0 + index * row
        amount = burned.get(info.name)
        over = amount is not None and amount > (allowance if allowance is not None else 1.0)
        labels.append(Label(left - 8, _r(top + 12), info.name, "lbl", "end"))
        rects.append(Rect(left, top, _r(width), 14.0, "track"))
        if amount is not None and amount > 0:
            length = width if not math.isfinite(amount) else min(width, amount / scale * width)
            rects.append(Rect(left, top, _r(max(length, MIN_PIXEL)), 14.0, "over" if over else "burn", f"{info.name}: {share(amount)}"))
        labels.append(Label(_r(left + width + 6), _r(top + 12), share(amount) if amount is not None else "no samples", "lbl"))
    height = 12.0 + len(slos) * row
    if allowance is not None:
        x = _r(left + min(1.0, allowance / scale) * width)
        lines.append(Line(x, 2.0, x, height - 14.0, "allowance"))
        labels.append(Label(x, height - 2.0, f"allowance {share(allowance)}", "lbl", "middle"))
    return Chart(
        css="budget-chart",
        key="error-budget",
        title="Error budget burned by the gameday",
        description="; ".join(f"{s.name}: {share(burned.get(s.name))}" for s in slos)
        + (f"; allowance {share(allowance)}" if allowance is not None else "; no allowance set"),
        width=WIDTH,
        height=_r(height + 4.0),
        rects=tuple(rects),
        paths=(),
        lines=tuple(lines),
        labels=tuple(labels),
    )


def text_strip(series: SLISeries, axis: TimeAxis, cells: int = 60) -> str:
    """The good/bad samples as one line of block characters (for Markdown): blank where nothing was sampled,
    ``▁`` all good, higher blocks for a larger share of bad samples."""
    good = [0] * cells
    bad = [0] * cells
    width = (axis.end - axis.start) / cells
    for bucket in series.buckets:
        first = int((bucket.start - axis.start) / width)
        last = math.ceil((bucket.end - axis.start) / width) - 1
        for cell in range(max(0, first), min(cells - 1, max(first, last)) + 1):
            good[cell] += bucket.good
            bad[cell] += bucket.bad
    out = []
    for g, b in zip(good, bad):
        if g + b == 0:
            out.append(" ")
        elif b == 0:
            out.append(SPARK[0])
        else:
            out.append(SPARK[max(1, min(len(SPARK) - 1, math.ceil(b / (g + b) * (len(SPARK) - 1))))])
    return "".join(out)


def _tick(amount: float, unit: str, high: float) -> str:
    """A y-axis label, as short as it can be: ``500ms``, ``1.5s``, ``3``."""
    if unit == "s":
        return f"{amount * 1000:g}ms" if high < 1 else f"{amount:g}s"
    return f"{amount:g}"


def _nice(amount: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``amount``."""
    if amount <= 0 or not math.isfinite(amount):
        return 1.0
    power = 10 ** math.floor(math.log10(amount))
    for factor in (1, 2, 5, 10):
        if factor * power >= amount * (1 - 1e-12):
            return float(factor * power)
    return float(10 * power)


def _r(number: float) -> float:
    return round(number, 1)
