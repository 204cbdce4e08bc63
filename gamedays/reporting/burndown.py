"""The budget burn-down chart: each SLO's error budget burned so far, over the whole gameday, against the allowance.

Geometry only, drawn by ``templates/chart.svg.j2`` like the other charts of
:mod:`gamedays.reporting.charts`; its size depends on the time buckets of the
series, never on the number of samples.
"""

from __future__ import annotations

import math
from typing import Sequence

from gamedays.model.budget import budget_burned
from gamedays.model.events import SLOInfo
from gamedays.model.units import Duration, Percentage
from gamedays.reporting.analysis import StepAnalysis
from gamedays.reporting.charts import LABELS_Y, LEFT, PLOT, WIDTH, Chart, Label, Line, Path, Rect, TimeAxis, time_axis
from gamedays.reporting.dr_analysis import DRAnalysis
from gamedays.reporting.formatting import share
from gamedays.reporting.series import SLISeries

BURN_TOP, BURN_H = 16.0, 120.0
BURN_COLOURS = 6  # css classes c0..c5 of the burn-down lines


def burndown_chart(
    slos: Sequence[SLOInfo],
    series: Sequence[SLISeries],
    interval: float,
    allowance: float | None,
    axis: TimeAxis,
    steps: Sequence[StepAnalysis] = (),
    checks: Sequence[DRAnalysis] = (),
) -> Chart:
    """Each SLO's error budget burned so far, over the whole gameday, with the allowance drawn.

    The cumulative burn rises by each time bucket's bad samples (one sampling
    interval each), so the chart's size does not grow with the samples. Fault
    windows and DR checks (disaster to recovery) are shaded. A 100% objective
    burns an infinite share at its first bad sample: its line jumps to the top.
    """
    by_name = {s.slo: s for s in series}
    curves: list[tuple[SLOInfo, list[tuple[float, float]]]] = []
    for info in slos:
        line = by_name.get(info.name)
        if line is None or line.total == 0:
            continue
        points, bad = [], 0
        for bucket in line.buckets:
            if bucket.bad:
                before = _burn(bad, info, interval)
                bad += bucket.bad
                points.append((bucket.start, before))
                points.append((bucket.end, _burn(bad, info, interval)))
        curves.append((info, points))
    finals = [pts[-1][1] for _, pts in curves if pts and math.isfinite(pts[-1][1])]
    top = max([*finals, allowance or 0.0, 1e-6]) * 1.15
    bottom = BURN_TOP + BURN_H

    def y(amount: float) -> float:
        return _r(BURN_TOP + (1.0 - min(amount, top) / top) * BURN_H)

    rects: list[Rect] = []
    paths: list[Path] = []
    lines: list[Line] = []
    labels: list[Label] = []
    for step in steps:
        if step.fault_start is not None:
            x1, x2 = axis.x(step.fault_start), axis.x(step.fault_end if step.fault_end is not None else axis.end)
            rects.append(Rect(x1, BURN_TOP, _r(max(x2 - x1, 1.0)), BURN_H, "fault", f"{step.id}: fault"))
            labels.append(Label(x1, LABELS_Y, step.id, "lbl step"))
    for check in checks:
        if check.disaster_at is not None:
            end = check.recovered_at if check.recovered_at is not None else (check.finished or axis.end)
            x1, x2 = axis.x(check.disaster_at), axis.x(end)
            rects.append(Rect(x1, BURN_TOP, _r(max(x2 - x1, 1.0)), BURN_H, "drwin", f"{check.id}: disaster to recovery"))
            labels.append(Label(x1, LABELS_Y, check.id, "lbl dr"))
    lines.append(Line(LEFT, BURN_TOP, LEFT, bottom, "axis"))
    for amount in (top / 1.15, top / 2.3, 0.0):
        lines.append(Line(LEFT - 3, y(amount), LEFT + PLOT, y(amount), "grid"))
        labels.append(Label(LEFT - 5, _r(y(amount) + 3), share(amount), "tick", "end"))
    for index, (_info, points) in enumerate(curves):
        d = f"M{LEFT} {y(0.0)}"
        for at, amount in points:
            d += f"L{axis.x(at)} {y(amount)}"
        final = points[-1][1] if points else 0.0
        d += f"L{_r(LEFT + PLOT)} {y(final)}"
        paths.append(Path(d, f"burnline c{index % BURN_COLOURS}"))
    if allowance is not None:
        lines.append(Line(LEFT, y(allowance), LEFT + PLOT, y(allowance), "allowance"))
        labels.append(Label(_r(LEFT + PLOT - 2), _r(y(allowance) - 3), f"allowance {share(allowance)}", "lbl warn", "end"))
    time_axis(axis, bottom, lines, labels)
    legend_y = bottom + 30.0
    for index, (info, points) in enumerate(curves):
        row, column = divmod(index, 3)
        x = LEFT + column * (PLOT / 3)
        ly = legend_y + row * 14.0
        final = points[-1][1] if points else 0.0
        lines.append(Line(x, ly - 3.5, x + 14, ly - 3.5, f"burnline c{index % BURN_COLOURS}"))
        labels.append(Label(_r(x + 18), ly, f"{info.name} {share(final)}", "lbl"))
    rows = math.ceil(len(curves) / 3)
    description = "; ".join(f"{info.name}: {share(pts[-1][1] if pts else 0.0)} burned" for info, pts in curves) or "nothing sampled"
    return Chart(
        css="burndown-chart",
        key="budget-burndown",
        title="Error budget burned over the gameday",
        description=description + (f"; allowance {share(allowance)}" if allowance is not None else "; no allowance set"),
        width=WIDTH,
        height=_r(legend_y + max(rows, 1) * 14.0),
        rects=tuple(rects),
        paths=tuple(paths),
        lines=tuple(lines),
        labels=tuple(labels),
    )


def _burn(bad: int, info: SLOInfo, interval: float) -> float:
    return budget_burned(Duration(bad * interval), Percentage(info.objective), Duration(info.window_seconds))


def _r(number: float) -> float:
    return round(number, 1)
