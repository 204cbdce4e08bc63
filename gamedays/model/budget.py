"""Error-budget maths: pure functions on counts and durations, no I/O.

gameday measures an SLI by sampling it: each sample is *good* or *bad* against
the SLO. The SLO's objective is the share of good samples over its window; the
error budget is what is left: ``1 - objective`` of the window. A gameday that
spends ``bad_time`` in breach burns ``bad_time / (window * (1 - objective))``
of the window's budget.
"""

from __future__ import annotations

import math

from gamedays.model.units import Duration, Percentage


def compliance(good: int, total: int) -> float:
    """Share of good samples; 1.0 when nothing was sampled (nothing went wrong)."""
    _check_counts(good, total)
    return 1.0 if total == 0 else good / total


def meets_objective(good: int, total: int, objective: Percentage) -> bool:
    return compliance(good, total) >= objective.fraction


def allowed_bad_time(objective: Percentage, window: Duration) -> Duration:
    """How long the SLI may be bad within one window: the error budget as time."""
    return Duration(window.seconds * (1.0 - objective.fraction))


def budget_burned(bad_time: Duration, objective: Percentage, window: Duration) -> float:
    """Share of the window's error budget that ``bad_time`` in breach consumes.

    1.0 is the whole budget; more than 1.0 is an overspent budget. An objective
    of 100% leaves no budget, so any bad time burns an infinite share.
    """
    allowed = allowed_bad_time(objective, window).seconds
    if allowed == 0:
        return 0.0 if bad_time.seconds == 0 else math.inf
    return bad_time.seconds / allowed


def burn_rate(good: int, total: int, objective: Percentage) -> float:
    """How fast the budget burns: 1.0 spends exactly the budget over the window."""
    bad_share = 1.0 - compliance(good, total)
    budget = 1.0 - objective.fraction
    if budget == 0:
        return 0.0 if bad_share == 0 else math.inf
    return bad_share / budget


def _check_counts(good: int, total: int) -> None:
    if good < 0 or total < 0 or good > total:
        raise ValueError(f"sample counts must satisfy 0 <= good <= total, got {good}/{total}")
