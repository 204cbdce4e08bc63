"""Follow-up actions: what the team has to do after the gameday, derived from the analysis' findings.

Each finding gives one action: a step that deviated, was aborted, errored or
never finished; a missed ``recover_within``; an SLO that burned more of its
error budget than the plan allows; a fault left in place by a crash; a run that
was interrupted or did not finish. Each action carries the evidence (numbers
from the analysis), a suggested owner role (the commander unless the finding
belongs to a service) and a stable id: a hash of its kind and subject, so a
tracker export can recognise an action it has already created.

Subjects: the step id for step findings, the SLO name for budget findings (so
the same weakness found again next month maps to the same tracker item), and
the gameday id for findings about the run itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum

from gamedays.model.outcomes import Outcome
from gamedays.reporting.analysis import Analysis, StepAnalysis
from gamedays.reporting.formatting import objective, plural, seconds, share

COMMANDER = "commander"
SERVICE_OWNER = "service owner"


class ActionKind(str, Enum):
    OPEN_FAULT = "open-fault"
    RUN_INCOMPLETE = "run-incomplete"
    RUN_INTERRUPTED = "run-interrupted"
    STEP_DEVIATED = "step-deviated"
    STEP_ABORTED = "step-aborted"
    STEP_ERROR = "step-error"
    STEP_UNFINISHED = "step-unfinished"
    RECOVERY_MISSED = "recovery-missed"
    BUDGET_OVERSPENT = "budget-overspent"


@dataclass(frozen=True)
class Action:
    id: str
    kind: ActionKind
    subject: str  # the step id, the SLO name, or the gameday id
    title: str
    why: str  # the evidence, with the analysis' numbers
    owner_role: str
    owner: str | None  # a name when the journal knows one (the commander)


def action_id(kind: ActionKind, subject: str) -> str:
    """``GD-`` and 10 hex digits of SHA-256 over kind and subject: the same finding always gets the same id."""
    digest = hashlib.sha256(f"{kind.value}\x00{subject}".encode("utf-8")).hexdigest()
    return f"GD-{digest[:10]}"


def follow_up_actions(analysis: Analysis) -> tuple[Action, ...]:
    """Every action the analysis calls for: the run's first, then each step's in plan order, then each SLO's."""
    actions = list(_run_actions(analysis))
    for step in analysis.steps:
        actions.extend(_step_actions(analysis, step))
    actions.extend(_budget_actions(analysis))
    return tuple(actions)


def _action(analysis: Analysis, kind: ActionKind, subject: str, title: str, why: str, role: str = COMMANDER) -> Action:
    owner = (analysis.commander or None) if role == COMMANDER else None
    return Action(action_id(kind, subject), kind, subject, title, why, role, owner)


def _run_actions(analysis: Analysis) -> list[Action]:
    actions = []
    titles = {s.id: s.title for s in analysis.steps}
    for step in analysis.open_faults:
        actions.append(
            _action(
                analysis, ActionKind.OPEN_FAULT, step,
                f"Roll back the fault of {step}: it may still be in place",
                f"the fault of step {step} ({titles.get(step, '?')}) was armed but the journal records no rollback "
                f"for it (the run ended before its rollbacks completed); run `gameday recover` on this report "
                f"folder, then check the target",
            )
        )
    if not analysis.complete:
        unfinished = [s.id for s in analysis.steps if s.started is not None and s.finished is None]
        never = [s.id for s in analysis.steps if s.started is None]
        parts = ["the journal ends without gameday_finished: the orchestrator crashed, was killed or is still running"]
        if unfinished:
            parts.append(f"unfinished: {', '.join(unfinished)}")
        if never:
            parts.append(f"never started: {', '.join(never)}")
        actions.append(
            _action(
                analysis, ActionKind.RUN_INCOMPLETE, analysis.gameday,
                "Find out why the run stopped, then run the remaining experiments",
                "; ".join(parts),
            )
        )
    if analysis.interrupted:
        skipped = [s.id for s in analysis.steps if s.outcome is Outcome.SKIPPED or s.started is None]
        rest = f"; not run: {', '.join(skipped)}" if skipped else ""
        actions.append(
            _action(
                analysis, ActionKind.RUN_INTERRUPTED, analysis.gameday,
                "Finish the interrupted gameday",
                f"the run was interrupted by {analysis.interrupt_signal or 'a signal'}{rest}",
            )
        )
    return actions


def _step_actions(analysis: Analysis, step: StepAnalysis) -> list[Action]:
    actions = []
    evidence = _evidence(step)
    if step.started is not None and step.finished is None:
        actions.append(
            _action(
                analysis, ActionKind.STEP_UNFINISHED, step.id,
                f"{step.id}: never finished — check the target, then run it again",
                "; ".join(["the run ended while the experiment was running", *evidence]),
            )
        )
    elif step.outcome is Outcome.ABORTED:
        if step.guardrail is not None:
            title = f"{step.id}: aborted by the guardrails — limit the blast radius of this failure"
            why = [
                f"guardrail tripped on {step.guardrail_slo} ({step.guardrail_reason}): {step.guardrail}",
                f"detection to abort {seconds(step.detection_to_abort)}",
            ]
        else:
            title = f"{step.id}: interrupted — run it again"
            why = [step.detail or "the experiment was stopped before its end"]
        actions.append(_action(analysis, ActionKind.STEP_ABORTED, step.id, title, "; ".join([*why, *evidence])))
    elif step.outcome is Outcome.ERROR:
        actions.append(
            _action(
                analysis, ActionKind.STEP_ERROR, step.id,
                f"{step.id}: the experiment did not run as written — fix it or its target",
                "; ".join([f"Chaos Toolkit status {step.ctk_status or '?'}", step.detail or "no detail recorded", *evidence]),
            )
        )
    elif step.run_outcome is Outcome.DEVIATED or step.deviated:
        actions.append(
            _action(
                analysis, ActionKind.STEP_DEVIATED, step.id,
                f"{step.id}: the steady-state hypothesis deviated — find and fix the weakness",
                "; ".join([f"{step.title}: Chaos Toolkit status {step.ctk_status or '?'}, hypothesis deviated", *evidence]),
            )
        )
    if step.recovered_in_time is False:
        took = (
            f"recovered {seconds(step.time_to_recover)} after the fault ended"
            if step.time_to_recover is not None
            else "did not recover before the next step"
        )
        actions.append(
            _action(
                analysis, ActionKind.RECOVERY_MISSED, step.id,
                f"{step.id}: recovery slower than {seconds(step.recover_within)} — speed it up or revise the target",
                f"{', '.join(step.hypothesis) or 'the hypothesis SLOs'} {took}; recover_within is {seconds(step.recover_within)}",
            )
        )
    return actions


def _evidence(step: StepAnalysis) -> list[str]:
    facts = []
    if step.hypothesis_before is False:
        facts.append("steady state not met before the method")
    if step.hypothesis_after is False:
        facts.append("steady state not met after the method")
    if step.fault_start is not None:
        if step.time_to_detect is not None:
            facts.append(f"first bad sample {seconds(step.time_to_detect)} after the fault started")
        elif step.hypothesis:
            facts.append(f"no bad sample of {', '.join(step.hypothesis)} during the fault")
        if step.time_to_recover is not None:
            facts.append(f"recovered {seconds(step.time_to_recover)} after the fault ended")
    for slo, burned in step.budget_burned.items():
        if burned > 0:
            facts.append(f"{slo} burned {share(burned)} of its error budget")
    return facts


def _budget_actions(analysis: Analysis) -> list[Action]:
    allowance = analysis.budget_allowance
    limit = allowance if allowance is not None else 1.0
    actions = []
    for info in analysis.slos:
        burned = analysis.budget_burned.get(info.name)
        if burned is None or burned <= limit:
            continue
        what = f"the plan's allowance of {share(allowance)}" if allowance is not None else "the whole budget (the plan sets no allowance)"
        series = next((s for s in analysis.series if s.slo == info.name), None)
        counts = f"; {series.bad} of {series.total} samples bad" if series is not None else ""
        actions.append(
            _action(
                analysis, ActionKind.BUDGET_OVERSPENT, info.name,
                f"{info.name}: the gameday burned {share(burned)} of the error budget — review the {info.service} service's resilience",
                f"{info.name} ({info.service}, objective {objective(info.objective)} over {seconds(info.window_seconds)}) "
                f"burned {share(burned)} of its error budget, more than {what}{counts}; "
                f"{plural(sum(1 for s in analysis.steps if info.name in s.hypothesis), 'step')} had it in the hypothesis",
                role=f"{SERVICE_OWNER} ({info.service})",
            )
        )
    return actions
