"""How urgent a follow-up action is, and when it is due: pure functions, stated in the report.

Priority comes from what the finding cost (the error budget it burned) and
what it risks:

- **P1**: a fault whose rollback failed or never ran, a DR check that failed or
  missed its RTO or RPO, or a finding that burned at least half of the
  gameday's allowance (the plan's ``guardrails.error_budget``; the whole
  budget when the plan sets none) of some SLO;
- **P2**: at least a tenth of the allowance burned, a missed ``recover_within``,
  a DR check with manual steps nobody verified, a key component without a DR
  playbook, or a run that stopped before its end;
- **P3**: everything else (a deviation that cost little, a team note).

Due: before the next monthly gameday, i.e. the day before the same day next
month (the 31st of January is due on the last day of February but one).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from enum import Enum

P1_SHARE = 0.5  # of the allowance
P2_SHARE = 0.1

RULE = (
    "P1: a failed or missing rollback, a failed DR check, a missed RTO or RPO, or a finding that burned at least "
    f"{P1_SHARE:.0%} of the gameday's error-budget allowance of an SLO (the whole budget when the plan sets no allowance); "
    f"P2: at least {P2_SHARE:.0%} of the allowance, a missed recovery deadline, unverified manual DR steps, a component "
    "without a DR playbook, or a run that stopped early; P3: everything else. "
    "Due: the day before the same day next month, before the next monthly gameday."
)


class Priority(str, Enum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


def priority(burned: float | None, allowance: float | None, *, severe: bool = False, serious: bool = False) -> Priority:
    """The priority of a finding that burned ``burned`` of an SLO's budget, against the plan's ``allowance``.

    ``severe``: the finding is P1 whatever it burned (a failed rollback, a failed or late DR check);
    ``serious``: it is at least P2 (a missed recovery deadline, ...).
    """
    if severe:
        return Priority.P1
    used = budget_used(burned, allowance)
    if used >= P1_SHARE:
        return Priority.P1
    if used >= P2_SHARE or serious:
        return Priority.P2
    return Priority.P3


def budget_used(burned: float | None, allowance: float | None) -> float:
    """``burned`` as a share of the allowance (of the whole budget when there is none); 0 when nothing burned."""
    if burned is None or math.isnan(burned) or burned <= 0:
        return 0.0
    limit = 1.0 if allowance is None else allowance
    if limit <= 0 or math.isinf(burned):
        return math.inf
    return burned / limit


def due_date(gameday: dt.date) -> dt.date:
    """The day before the same day next month; a day the next month lacks becomes its last day (then minus one)."""
    year, month = (gameday.year + 1, 1) if gameday.month == 12 else (gameday.year, gameday.month + 1)
    day = min(gameday.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day) - dt.timedelta(days=1)


def due_of(date: str) -> str | None:
    """The due date (ISO) of a gameday held on ``date`` (ISO); None when the journal has no valid date."""
    try:
        return due_date(dt.date.fromisoformat(date)).isoformat()
    except (TypeError, ValueError):
        return None
