"""How numbers and times read in a report: durations, shares of a budget, objectives, UTC clock times.

Every function is pure and independent of the machine's locale and time zone
(times are always UTC), so a report rendered anywhere, any day, has the same
bytes. They are the Jinja filters of the templates and the wording of the
follow-up actions' evidence.
"""

from __future__ import annotations

import datetime as dt
import math

NONE = "—"  # what a report shows for a measure that does not apply or was not taken


def seconds(value: float | None) -> str:
    """A duration for people: ``0.35s``, ``12.4s``, ``2m05s``, ``1h02m``, ``30d``."""
    if value is None:
        return NONE
    if not math.isfinite(value):
        return "∞"
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value < 1:
        return f"{sign}{value:.2f}s"
    if value < 60:
        return f"{sign}{value:.1f}s"
    whole = round(value)
    if whole < 3600:
        return f"{sign}{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{sign}{whole // 3600}h{whole % 3600 // 60:02d}m"
    hours = whole % 86400 // 3600
    return f"{sign}{whole // 86400}d" + (f"{hours:02d}h" if hours else "")


def share(value: float | None) -> str:
    """A share of an error budget as a percentage: ``0.77%``, ``125.00%``, ``∞`` (a 100% objective)."""
    if value is None:
        return NONE
    if math.isinf(value):
        return "∞"
    if math.isnan(value):
        return NONE
    return f"{value * 100:.2f}%"


def objective(value: float | None) -> str:
    """An objective or a compliance as people write it: 0.9995 -> ``99.95%``, 0.999 -> ``99.9%``."""
    if value is None or not math.isfinite(value):
        return NONE
    return f"{round(value * 100, 4):g}%"


def compliance(value: float | None) -> str:
    """A share of good samples, rounded down so that any bad sample shows below 100%: ``99.72%``."""
    if value is None or not math.isfinite(value):
        return NONE
    return f"{math.floor(value * 10000) / 100:.2f}%"


def utc(at: float | None) -> dt.datetime | None:
    return None if at is None else dt.datetime.fromtimestamp(at, tz=dt.timezone.utc)


def timestamp(at: float | None) -> str:
    """``2024-05-21 10:00:03 UTC``."""
    moment = utc(at)
    return NONE if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def clock(at: float | None) -> str:
    """``10:00:03`` (UTC): times within the gameday's day."""
    moment = utc(at)
    return NONE if moment is None else moment.strftime("%H:%M:%S")


def since(at: float | None, origin: float | None) -> str:
    """Offset from the gameday's start: ``+12m05s``."""
    if at is None or origin is None:
        return NONE
    return "+" + seconds(max(0.0, at - origin))


def value(amount: float | None, unit: str) -> str:
    """An SLI's value in its unit: seconds as ``12.3ms`` or ``1.20s``, counts as integers."""
    if amount is None or not math.isfinite(amount):
        return NONE
    if unit == "s":
        return f"{amount * 1000:.1f}ms" if abs(amount) < 1 else f"{amount:.2f}s"
    if unit == "pods":
        return f"{amount:g} pods"
    return f"{amount:g}"


def unit_of(source: str) -> str:
    """The unit of the values an SLI source journals (see gamedays.sli): seconds, ready pods, or the metric's own."""
    return {"http": "s", "dns": "s", "postgres": "s", "kubernetes": "pods"}.get(source, "")


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
