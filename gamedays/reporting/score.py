"""The gameday's resilience score, 0 to 100: a pure function with its formula stated (and printed in the report).

Five parts, each a share from 0 to 1, weighted:

- hypotheses (30): the share of experiments that ran whose steady-state hypothesis held (outcome passed);
- recovery (20): the share of experiments with a ``recover_within`` deadline that recovered in time;
- budget (20): per SLO sampled, ``1 - min(1, burned / allowance)`` (the allowance is the plan's, or the
  whole budget when it sets none), averaged;
- disaster recovery (20): per DR check that ran, ½ for its RTO met plus ½ for its RPO met (or not
  targeted), halved when a manual step was not verified, 0 when the check failed or was aborted; averaged;
- coverage (10): the share of the environment's key components with a DR playbook (R-4).

A part with nothing to measure (no experiment ran, no deadline, nothing sampled,
no DR check, no component listed) is left out and the other weights scale up to
100; with nothing at all to measure there is no score (None). Every part only
rises when things go better, so the score does too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gamedays.model.dr import DROutcome

WEIGHTS = (("hypotheses", 30.0), ("recovery", 20.0), ("budget", 20.0), ("disaster recovery", 20.0), ("coverage", 10.0))

FORMULA = (
    "score = 100 × Σ(weight × part) / Σ(weight) over the parts that apply; "
    "hypotheses (weight 30) = experiments whose hypothesis held / experiments that ran; "
    "recovery (20) = experiments recovered within recover_within / experiments with a deadline; "
    "budget (20) = mean over SLOs of 1 − min(1, budget burned / allowance), the allowance being the whole budget when the plan sets none; "
    "disaster recovery (20) = mean over DR checks that ran of ½·[RTO met] + ½·[RPO met or not targeted], "
    "halved when a manual step was not verified, 0 when the check failed or was aborted; "
    "coverage (10) = key components with a DR playbook / key components. "
    "A part with nothing to measure is left out."
)


@dataclass(frozen=True)
class ScoreInputs:
    """What the score is computed from, as plain facts."""

    hypotheses: tuple[bool, ...] = ()  # per experiment that ran: did its hypothesis hold?
    recoveries: tuple[bool, ...] = ()  # per experiment with a deadline measured: recovered in time?
    burned: tuple[float, ...] = ()  # per SLO sampled: share of its budget burned (may be inf)
    allowance: float = 1.0  # share of each budget the plan allows
    disaster_recovery: tuple[float, ...] = ()  # per DR check that ran: its credit, see dr_credit
    coverage: tuple[bool, ...] = ()  # per key component: covered by a playbook?


@dataclass(frozen=True)
class ScorePart:
    name: str
    weight: float
    value: float | None  # 0..1; None: nothing to measure, left out
    measured: int  # how many things the part averages over


@dataclass(frozen=True)
class Score:
    value: float | None  # 0..100, rounded to 0.1; None: nothing to measure
    parts: tuple[ScorePart, ...]
    formula: str


def dr_credit(outcome: DROutcome, rto_met: bool | None, rpo_met: bool | None) -> float | None:
    """A DR check's part of the score, 0..1; None for a check that did not run (skipped) or only rehearsed."""
    if outcome in (DROutcome.SKIPPED, DROutcome.READY):
        return None
    if outcome in (DROutcome.FAILED, DROutcome.ABORTED):
        return 0.0
    credit = (0.5 if rto_met else 0.0) + (0.5 if rpo_met is not False else 0.0)
    return credit / 2 if outcome is DROutcome.NOT_VERIFIED else credit


def budget_credit(burned: float, allowance: float) -> float:
    """1 with nothing burned, 0 at or past the allowance; an allowance of 0 tolerates no burn at all."""
    if math.isnan(burned) or burned <= 0:
        return 1.0
    if allowance <= 0 or math.isinf(burned):
        return 0.0
    return max(0.0, 1.0 - min(1.0, burned / allowance))


def resilience_score(inputs: ScoreInputs) -> Score:
    values = {
        "hypotheses": _share(inputs.hypotheses),
        "recovery": _share(inputs.recoveries),
        "budget": _mean([budget_credit(b, inputs.allowance) for b in inputs.burned]),
        "disaster recovery": _mean([min(1.0, max(0.0, c)) for c in inputs.disaster_recovery]),
        "coverage": _share(inputs.coverage),
    }
    counts = {
        "hypotheses": len(inputs.hypotheses),
        "recovery": len(inputs.recoveries),
        "budget": len(inputs.burned),
        "disaster recovery": len(inputs.disaster_recovery),
        "coverage": len(inputs.coverage),
    }
    parts = tuple(ScorePart(name, weight, values[name], counts[name]) for name, weight in WEIGHTS)
    used = [(p.weight, p.value) for p in parts if p.value is not None]
    total = sum(w for w, _ in used)
    score = None if not used else round(100.0 * sum(w * v for w, v in used) / total, 1)
    return Score(value=score, parts=parts, formula=FORMULA)


def _share(flags: tuple[bool, ...]) -> float | None:
    return sum(1 for f in flags if f) / len(flags) if flags else None


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None
