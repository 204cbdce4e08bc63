"""Month over month: the earlier gamedays' reports beside this one, and the actions they left open.

The earlier reports are the other folders of the same reports/ folder that hold
a ``report.json`` of a gameday run (rehearsals are left out) held before this
one, ordered by date (then id), this gameday last. From each: the resilience
score (``analysis.score``), the error budget burned (the sum over the SLOs of
the share of each one's budget), the mean time to recover (over the steps that
recovered). Rendering an older report again ignores the later ones, so it
gives the same report it gave then.

The previous month's ``actions.yaml`` (the latest earlier report's) gives the
carried-over actions: every one still ``open`` there and not found again this
month, marked carried over with its original id and the gameday it was first
raised in. Found again, an action stays this month's and is marked recurring.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

from gamedays.reporting.actions import CARRIED, Action, Status
from gamedays.reporting.analysis import Analysis
from gamedays.reporting.charts import Chart, Label, Line, Path as SvgPath, Rect
from gamedays.reporting.followup import ACTIONS_YAML, read_actions
from gamedays.reporting.formatting import seconds

REPORT_JSON = "report.json"
MAX_POINTS = 12  # a year of monthly gamedays in the chart and the table


@dataclass(frozen=True)
class TrendPoint:
    gameday: str
    date: str
    score: float | None  # 0-100; None: the report has none
    budget_burned: float | None  # sum over the SLOs of the share of each one's error budget; inf for a 100% objective
    time_to_recover: float | None  # mean over the steps that recovered, seconds
    current: bool = False


@dataclass(frozen=True)
class History:
    points: tuple[TrendPoint, ...]  # earlier gamedays, then this one
    previous: str | None  # the gameday whose open actions were carried over
    carried: tuple[Action, ...]
    recurring: tuple[str, ...]  # ids open last month and found again this month
    left_out: tuple[str, ...]  # earlier report.json files that could not be read
    chart: Chart | None  # None with fewer than two gamedays


def read_history(folder: Path, analysis: Analysis, current: Sequence[Action]) -> History:
    """The trend up to this gameday and the actions carried over from the previous one."""
    folder = Path(folder)
    earlier, left_out = _earlier(folder, analysis)
    now = _point(analysis.gameday, analysis.date, analysis.score, analysis.budget_burned.values(),
                 [s.time_to_recover for s in analysis.steps], current=True)
    points = tuple([p for p, _ in earlier][-(MAX_POINTS - 1):] + [now])
    carried: list[Action] = []
    recurring: list[str] = []
    previous = earlier[-1] if earlier else None
    if previous is not None:
        ids = {a.id for a in current}
        for action in read_actions(previous[1] / ACTIONS_YAML):
            if action.status is not Status.OPEN:
                continue
            if action.id in ids:
                recurring.append(action.id)
                continue
            source = action.source if action.source.startswith(CARRIED) else f"{CARRIED}{previous[0].gameday}"
            carried.append(replace(action, source=source))
    return History(
        points=points,
        previous=previous[0].gameday if previous is not None else None,
        carried=tuple(carried),
        recurring=tuple(recurring),
        left_out=tuple(left_out),
        chart=trend_chart(points) if len(points) > 1 else None,
    )


def _earlier(folder: Path, analysis: Analysis) -> tuple[list[tuple[TrendPoint, Path]], list[str]]:
    here = folder.resolve()
    key = (analysis.date, analysis.gameday)
    found: list[tuple[TrendPoint, Path]] = []
    left_out: list[str] = []
    try:
        siblings = sorted(p for p in here.parent.iterdir() if p.is_dir() and p.resolve() != here)
    except OSError:
        return [], []
    for sibling in siblings:
        path = sibling / REPORT_JSON
        if not path.is_file():
            continue
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            point = _from_json(document)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            left_out.append(f"{folder.parent.as_posix()}/{sibling.name}/{REPORT_JSON}")
            continue
        if point is None or (point.date, point.gameday) >= key or point.gameday == analysis.gameday:
            continue
        found.append((point, sibling))
    found.sort(key=lambda item: (item[0].date, item[0].gameday))
    return found, left_out


def _from_json(document: Any) -> TrendPoint | None:
    """A trend point of a report.json; None for a rehearsal's report."""
    if document.get("format") != "gameday-report":
        raise ValueError("not a gameday report")
    analysis = document["analysis"]
    if analysis.get("mode") == "rehearsal":
        return None
    steps = analysis.get("steps") or []
    return _point(str(analysis["gameday"]), str(analysis.get("date") or ""), analysis.get("score"),
                  (analysis.get("budget_burned") or {}).values(), [s.get("time_to_recover") for s in steps])


def _point(gameday: str, date: str, score: Any, burned: Iterable[Any], recoveries: Iterable[Any], current: bool = False) -> TrendPoint:
    shares = [_number(b) for b in burned]
    times = [t for t in (_number(r) for r in recoveries) if t is not None]
    known = [s for s in shares if s is not None]
    return TrendPoint(
        gameday=gameday,
        date=date,
        score=_number(score),
        budget_burned=sum(known) if known else None,
        time_to_recover=sum(times) / len(times) if times else None,
        current=current,
    )


def _number(value: Any) -> float | None:
    if value == "inf":
        return math.inf
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


# ---------------------------------------------------------------- the chart

WIDTH, MARGIN, GAP, TOP, PANEL_H = 760.0, 10.0, 40.0, 30.0, 80.0
PANEL_W = (WIDTH - 2 * MARGIN - 2 * GAP) / 3
INSET = 24.0  # room for the labels of the first and the last gameday inside a panel


def trend_chart(points: Sequence[TrendPoint]) -> Chart:
    """Three small panels side by side: score, budget burned, time to recover; one mark per gameday, this one last."""
    rects: list[Rect] = []
    paths: list[SvgPath] = []
    lines: list[Line] = []
    labels: list[Label] = []
    panels = (
        ("score", [p.score for p in points], lambda v: f"{v:.0f}", 100.0),
        ("budget burned", [p.budget_burned for p in points], lambda v: "∞" if math.isinf(v) else f"{v * 100:.1f}%", None),
        ("time to recover", [p.time_to_recover for p in points], seconds, None),
    )
    for index, (name, values, text, top) in enumerate(panels):
        left = MARGIN + index * (PANEL_W + GAP)
        _panel(left, name, values, text, top, points, rects, paths, lines, labels)
    description = "; ".join(
        f"{p.gameday}: score {'—' if p.score is None else f'{p.score:.0f}'}, budget burned "
        f"{'—' if p.budget_burned is None else f'{p.budget_burned * 100:.1f}%'}, time to recover {seconds(p.time_to_recover)}"
        for p in points
    )
    return Chart(
        css="trend-chart", key="trend", title="Month over month: score, budget burned, time to recover",
        description=description, width=WIDTH, height=TOP + PANEL_H + 30.0,
        rects=tuple(rects), paths=tuple(paths), lines=tuple(lines), labels=tuple(labels),
    )


def _panel(left, name, values, text, top, points, rects, paths, lines, labels) -> None:  # type: ignore[no-untyped-def]
    labels.append(Label(round(left, 1), 12.0, name, "lbl"))
    bottom = TOP + PANEL_H
    lines.append(Line(round(left, 1), bottom, round(left + PANEL_W, 1), bottom, "axis"))
    finite = [v for v in values if v is not None and math.isfinite(v)]
    high = top if top is not None else (max(finite) * 1.15 if finite and max(finite) > 0 else 1.0)
    step = (PANEL_W - 2 * INSET) / max(len(points) - 1, 1)
    coords = []
    for index, (point, value) in enumerate(zip(points, values)):
        x = round(left + INSET + index * step if len(points) > 1 else left + PANEL_W / 2, 1)
        if len(points) <= 4 or index in (0, len(points) - 1) or point.current:  # a year of names would overlap
            labels.append(Label(x, bottom + 13.0, point.gameday, "tick", "middle"))
        if value is None:
            labels.append(Label(x, bottom - 4.0, "—", "tick", "middle"))
            continue
        shown = high if math.isinf(value) else min(value, high)
        y = round(bottom - (shown / high) * PANEL_H, 1)
        coords.append((x, y))
        css = "trend-dot current" if point.current else "trend-dot"
        rects.append(Rect(round(x - 3, 1), round(y - 3, 1), 6.0, 6.0, css, f"{point.gameday}: {name} {text(value)}"))
        labels.append(Label(x, round(max(y - 6.0, TOP - 8.0), 1), text(value), "lbl", "middle"))
    if len(coords) > 1:
        paths.append(SvgPath("M" + " L".join(f"{x} {y}" for x, y in coords), "trend-line"))
