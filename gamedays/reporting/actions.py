"""Follow-up actions: what the team has to do after the gameday, derived from the analysis' findings.

Each finding gives one action: a step that deviated, was aborted, errored or
never finished; a missed ``recover_within``; an SLO that burned more of its
error budget than the plan allows; a fault left in place by a crash; a run that
was interrupted or did not finish; a DR check that failed (its step named),
missed its RTO or RPO, or has manual steps nobody verified; a key component
with no DR playbook. A team note taken with ``--action`` is an action too.
Notification failures are not: they say nothing about the system's resilience.

Each action carries the evidence (numbers from the analysis), a priority and a
due date (see :mod:`gamedays.reporting.priority`), an owner (the plan's
``team.owners`` entry for the action's subject, component or service, else the
commander; a note's ``--owner``),
a suggested owner role, and a stable id: a hash of its kind and subject, so a
tracker export, actions.yaml and next month's report recognise it.

Subjects: the step id for step findings, the SLO name for budget findings (so
the same weakness found again next month maps to the same tracker item), the
DR check id, the component (``kind/name``), and the gameday id for findings
about the run itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum
from typing import Sequence

from gamedays.model.dr import DROutcome, DRStepOutcome
from gamedays.model.notes import Note
from gamedays.model.outcomes import Outcome
from gamedays.reporting.analysis import Analysis, StepAnalysis
from gamedays.reporting.dr_analysis import DRAnalysis
from gamedays.reporting.formatting import objective, plural, seconds, share, timestamp
from gamedays.reporting.priority import Priority, due_of, priority

COMMANDER = "commander"
SERVICE_OWNER = "service owner"
OWNER_FROM_PLAN = "owner named by the plan (team.owners)"


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
    DR_FAILED = "dr-failed"
    RTO_MISSED = "rto-missed"
    RPO_MISSED = "rpo-missed"
    DR_NOT_VERIFIED = "dr-not-verified"
    NO_DR_PLAYBOOK = "no-dr-playbook"
    NOTE = "note"


SEVERE = frozenset({ActionKind.OPEN_FAULT, ActionKind.DR_FAILED, ActionKind.RTO_MISSED, ActionKind.RPO_MISSED})
SERIOUS = frozenset(
    {ActionKind.RECOVERY_MISSED, ActionKind.DR_NOT_VERIFIED, ActionKind.NO_DR_PLAYBOOK, ActionKind.RUN_INCOMPLETE,
     ActionKind.RUN_INTERRUPTED, ActionKind.STEP_UNFINISHED}
)
FINDING = "finding"
NOTE = "note"
CARRIED = "carried-over from "


class Status(str, Enum):
    """What the team says of an action in actions.yaml."""

    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


@dataclass(frozen=True)
class Action:
    id: str
    kind: ActionKind
    subject: str  # the step id, the SLO name, the DR check, the component, the note's author, or the gameday id
    title: str
    why: str  # the evidence, with the analysis' numbers
    owner_role: str
    owner: str | None  # the commander (None only for a journal that names none), or a note's --owner
    priority: Priority = Priority.P3
    due: str | None = None  # ISO date; None when the journal has no valid gameday date
    source: str = FINDING  # "finding", "note", or "carried-over from <gameday>"
    status: Status = Status.OPEN  # as the team set it in actions.yaml

    @property
    def carried_over(self) -> bool:
        return self.source.startswith(CARRIED)

    @property
    def origin(self) -> str | None:
        """The gameday a carried-over action was first raised in."""
        return self.source[len(CARRIED):] if self.carried_over else None


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
    actions.extend(_dr_actions(analysis))
    actions.extend(_coverage_actions(analysis))
    return tuple(actions)


def note_actions(analysis: Analysis, notes: Sequence[Note]) -> tuple[Action, ...]:
    """The notes taken with ``--action``, in the order they were taken: owned by their ``--owner`` or the commander."""
    actions = []
    for note in notes:
        if not note.action:
            continue
        digest = hashlib.sha256(f"{ActionKind.NOTE.value}\x00{note.at!r}\x00{note.author}\x00{note.text}".encode("utf-8"))
        first = note.text.splitlines()[0]
        title = first if len(first) <= 120 else first[:119] + "…"
        actions.append(
            Action(
                id=f"GD-{digest.hexdigest()[:10]}", kind=ActionKind.NOTE, subject=note.author, title=title,
                why=f"team note by {note.author} at {timestamp(note.at)}: {note.text}", owner_role=COMMANDER,
                owner=note.owner or analysis.commander or None, priority=Priority.P3, due=due_of(analysis.date), source=NOTE,
            )
        )
    return tuple(actions)


def _action(
    analysis: Analysis, kind: ActionKind, subject: str, title: str, why: str, role: str = COMMANDER,
    burned: float | None = None, about: tuple[str, ...] = (),
) -> Action:
    """An action with its priority and due date, owned by the plan's ``team.owners`` entry for its subject
    (or, in order, for what ``about`` names: a component, a service), else by the commander."""
    level = priority(burned, analysis.budget_allowance, severe=kind in SEVERE, serious=kind in SERIOUS)
    owner = next((analysis.owners[key] for key in (subject, *about) if key in analysis.owners), None)
    if owner is not None:
        role = OWNER_FROM_PLAN
    return Action(
        action_id(kind, subject), kind, subject, title, why, role, owner or analysis.commander or None, level,
        due_of(analysis.date),
    )


def _most_burned(step: StepAnalysis) -> float | None:
    return max(step.budget_burned.values(), default=None)


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
    burned = _most_burned(step)
    if step.started is not None and step.finished is None:
        actions.append(
            _action(
                analysis, ActionKind.STEP_UNFINISHED, step.id,
                f"{step.id}: never finished — check the target, then run it again",
                "; ".join(["the run ended while the experiment was running", *evidence]), burned=burned,
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
        actions.append(_action(analysis, ActionKind.STEP_ABORTED, step.id, title, "; ".join([*why, *evidence]), burned=burned))
    elif step.outcome is Outcome.ERROR:
        actions.append(
            _action(
                analysis, ActionKind.STEP_ERROR, step.id,
                f"{step.id}: the experiment did not run as written — fix it or its target",
                "; ".join([f"Chaos Toolkit status {step.ctk_status or '?'}", step.detail or "no detail recorded", *evidence]),
                burned=burned,
            )
        )
    elif step.run_outcome is Outcome.DEVIATED or step.deviated:
        actions.append(
            _action(
                analysis, ActionKind.STEP_DEVIATED, step.id,
                f"{step.id}: the steady-state hypothesis deviated — find and fix the weakness",
                "; ".join([f"{step.title}: Chaos Toolkit status {step.ctk_status or '?'}, hypothesis deviated", *evidence]),
                burned=burned,
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
                burned=burned,
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
                role=f"{SERVICE_OWNER} ({info.service})", burned=burned, about=(info.service,),
            )
        )
    return actions


def _dr_actions(analysis: Analysis) -> list[Action]:
    """A failed DR check (its failing step named), a missed RTO or RPO, manual steps nobody verified."""
    actions = []
    for check in analysis.disaster_recovery:
        what = f"{check.title} ({check.component_kind} {check.component})"
        failed = check.outcome is DROutcome.FAILED  # no recovery to measure: its RTO and RPO say nothing more
        if failed:
            step = next((s for s in check.steps if s.outcome is DRStepOutcome.FAILED), None)
            why = f"failed step: {check.failed_step}" if check.failed_step else "the checks never all passed"
            if step is not None and step.detail:
                why += f" ({step.detail})"
            actions.append(
                _action(
                    analysis, ActionKind.DR_FAILED, check.id,
                    f"{check.id}: the DR playbook failed at {check.failed_step or 'its checks'} — fix the playbook or the recovery",
                    f"{what}: recovery failed; {why}" + _dr_evidence(check), about=_component(check),
                )
            )
        if check.rto_met is False and not failed:
            actions.append(
                _action(
                    analysis, ActionKind.RTO_MISSED, check.id,
                    f"{check.id}: recovery took {seconds(check.rto)}, RTO {seconds(check.rto_target)} — make it faster or revise the RTO",
                    f"{what}: recovered in {seconds(check.rto)}, more than the RTO of {seconds(check.rto_target)}",
                    about=_component(check),
                )
            )
        if check.rpo_met is False and not failed:
            lost = f"; {plural(check.writes_lost, 'acknowledged write')} lost" if check.writes_lost else ""
            actions.append(
                _action(
                    analysis, ActionKind.RPO_MISSED, check.id,
                    f"{check.id}: the recovery lost {seconds(check.rpo)} of data, RPO {seconds(check.rpo_target)} — reduce the data loss",
                    f"{what}: lost {seconds(check.rpo)} of writes, more than the RPO of {seconds(check.rpo_target)}{lost}",
                    about=_component(check),
                )
            )
        manual = [s.name for s in check.steps if s.outcome is DRStepOutcome.NOT_VERIFIED]
        if manual or check.outcome is DROutcome.NOT_VERIFIED:
            actions.append(
                _action(
                    analysis, ActionKind.DR_NOT_VERIFIED, check.id,
                    f"{check.id}: manual DR steps were not verified — have a person confirm them, or automate them",
                    f"{what}: not verified by a person: {', '.join(manual) or 'some manual steps'}" + _dr_evidence(check),
                    about=_component(check),
                )
            )
    return actions


def _component(check: DRAnalysis) -> tuple[str, ...]:
    return (check.component, check.component_kind)


def _dr_evidence(check: DRAnalysis) -> str:
    facts = []
    if check.rto is not None:
        facts.append(f"RTO {seconds(check.rto)} (target {seconds(check.rto_target)})")
    if check.rpo is not None:
        facts.append(f"RPO {seconds(check.rpo)} (target {seconds(check.rpo_target)})")
    return "; " + ", ".join(facts) if facts else ""


def _coverage_actions(analysis: Analysis) -> list[Action]:
    """R-4: a key component of the environment that no DR playbook of the plan covers."""
    actions = []
    for component in analysis.coverage:
        if component.playbooks:
            continue
        subject = f"{component.kind}/{component.name}"
        actions.append(
            _action(
                analysis, ActionKind.NO_DR_PLAYBOOK, subject,
                f"{subject}: no DR playbook — write one and exercise it at a gameday",
                f"the key component {component.name} ({component.kind}) is covered by no disaster-recovery playbook of this plan (R-4)",
                about=(component.name, component.kind),
            )
        )
    return actions
