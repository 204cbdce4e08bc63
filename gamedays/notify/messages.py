"""What a gameday says in the team's channel: journal events turned into Markdown messages.

The text functions are pure. :func:`message` reads what it needs across events
from the fold of the journal (the plan, the bad samples counted so far and during
the step, the DR writes) to say, at each step's end, how much error budget the step
burned, and, at a DR check's end, its RTO against the target. Markdown is Mattermost's; :func:`for_slack`
turns it into Slack's mrkdwn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from gamedays.journal.state import GamedayState, burned_by
from gamedays.model.dr import rto_seconds
from gamedays.model.events import (
    DRFinished,
    DRInfo,
    DRWrites,
    Event,
    GamedayFinished,
    GamedayStarted,
    GuardrailTripped,
    Interrupted,
    Mode,
    SLOInfo,
    StepFinished,
)
from gamedays.model.outcomes import Outcome

ICONS = {
    Outcome.PASSED: ":white_check_mark:",
    Outcome.DEVIATED: ":warning:",
    Outcome.ABORTED: ":octagonal_sign:",
    Outcome.ERROR: ":x:",
    Outcome.SKIPPED: ":fast_forward:",
}


@dataclass(frozen=True)
class Message:
    about: str  # the event it tells of, e.g. "gameday_started", "step_finished" (journaled when it fails)
    text: str  # Markdown


@dataclass(frozen=True)
class Closing:
    """What the caller knows once the report is rendered: where it is, and the top follow-up actions."""

    report: str = ""
    actions: tuple[str, ...] = ()
    more_actions: int = 0


def message(event: Event, state: GamedayState) -> Message | None:
    """The message ``event`` calls for (None for most), ``state`` the fold with ``event`` in it."""
    say = _SAY.get(type(event))
    return say(event, state) if say is not None else None


def last_message(finish: GamedayFinished, start: GamedayStarted | None, closing: Closing) -> Message:
    """The last message, once the report is rendered."""
    return Message(finish.event, finished_text(finish, start, closing))


def _rehearsal(state: GamedayState) -> bool:
    return state.start is not None and state.start.mode is Mode.REHEARSAL


def _step_message(event: StepFinished, state: GamedayState) -> Message:
    start = state.start
    if start is None:
        return Message(event.event, step_text(event, None, {}, {}, False))
    slos = {s.name: s for s in start.slos}
    step = state.steps[event.step]
    during = {name: _burned(slos[name], bad, start.interval_seconds) for name, bad in step.bad_during.items() if name in slos}
    total = {name: _burned(slos[name], slo.bad, start.interval_seconds) for name, slo in state.slos.items() if slo.bad and name in slos}
    return Message(event.event, step_text(event, start, during, total, _rehearsal(state)))


def _dr_message(event: DRFinished, state: GamedayState) -> Message:
    check = state.checks[event.check]
    return Message(event.event, dr_text(event, check.info, check.writes, _rehearsal(state)))


def _interrupted_message(event: Interrupted, state: GamedayState) -> Message:
    prefix = "[rehearsal] " if _rehearsal(state) else ""
    return Message(event.event, f"{prefix}:octagonal_sign: **Interrupted** by {event.signal}: "
                                "the running experiment is rolled back and the journal closed")


_SAY: dict[type, Callable[[Any, GamedayState], Message]] = {
    GamedayStarted: lambda e, s: Message(e.event, started_text(e)),
    StepFinished: _step_message,
    GuardrailTripped: lambda e, s: Message(e.event, guardrail_text(e, _rehearsal(s))),
    DRFinished: _dr_message,
    Interrupted: _interrupted_message,
}
SAID = tuple(_SAY)  # the event types that call for a message


def started_text(event: GamedayStarted) -> str:
    rehearsal = event.mode is Mode.REHEARSAL
    head = f"**{'Rehearsal' if rehearsal else 'Gameday'} {event.gameday} started**: {event.title} ({event.date})"
    lines = [f":rocket: {head}" + (" (no fault is injected)" if rehearsal else "")]
    team = f"commander **{event.commander}**" + (f", scribe {event.scribe}" if event.scribe else "")
    lines.append(f"Plan `{_short(event.plan)}` · environment **{event.environment}** · {team}")
    if event.slos:
        watched = ", ".join(f"{s.name} ({s.objective * 100:.4g}%)" for s in event.slos)
        lines.append(f"SLOs watched every {event.interval_seconds:g}s: {watched}")
    if event.abort_when:
        lines.append(f"Guardrails: abort when {', '.join(event.abort_when)} breaches for {event.tolerate_seconds:g}s")
    if event.budget_allowance is not None:
        lines.append(f"Error budget allowance: {event.budget_allowance:.1%} of each SLO's")
    lines.append("")
    lines.append("**Timeline**")
    for number, step in enumerate(event.steps, start=1):
        extra = f"; recover within {step.recover_within_seconds:g}s" if step.recover_within_seconds else ""
        hypothesis = ", ".join(step.hypothesis) or "none"
        lines.append(f"{number}. `{step.id}`: {step.title} (hypothesis: {hypothesis}{extra})")
    if event.disaster_recovery:
        lines.append("")
        lines.append("**DR checks**")
        for dr in event.disaster_recovery:
            rpo = f", RPO {dr.rpo_seconds:g}s" if dr.rpo_seconds is not None else ""
            lines.append(f"- `{dr.id}`: {dr.title}: {dr.disaster} on {dr.component} (RTO {dr.rto_seconds:g}s{rpo})")
    return "\n".join(lines)


def step_text(
    event: StepFinished,
    start: GamedayStarted | None,
    during: dict[str, float],
    total: dict[str, float],
    rehearsal: bool,
) -> str:
    prefix = "[rehearsal] " if rehearsal else ""
    info = next((s for s in start.steps if s.id == event.step), None) if start else None
    position = ""
    if start and info:
        position = f" ({start.steps.index(info) + 1}/{len(start.steps)})"
    title = f": {info.title}" if info else ""
    lines = [f"{prefix}{ICONS[event.outcome]} Step `{event.step}` **{event.outcome.value}**{position}{title}"]
    if event.detail:
        lines.append(event.detail)
    if event.outcome is not Outcome.SKIPPED:
        if during:
            burned = ", ".join(f"{name} {share:.2%}" for name, share in sorted(during.items()))
            lines.append(f"Error budget burned during the step: {burned}")
        elif start is not None and start.slos:
            lines.append("Error budget burned during the step: none (no bad sample)")
        if total:
            lines.append("Gameday so far: " + ", ".join(f"{name} {share:.2%}" for name, share in sorted(total.items())))
    return "\n".join(lines)


def guardrail_text(event: GuardrailTripped, rehearsal: bool = False) -> str:
    prefix = "[rehearsal] " if rehearsal else ""
    what = f"aborting step `{event.step}`" if event.step else "stopping the gameday"
    why = "SLO breach" if event.reason == "slo_breach" else "error budget"
    breach = max(0.0, event.detected_at - event.breach_started)
    return (
        f"{prefix}:octagonal_sign: **GUARDRAIL TRIPPED** ({why}): {what}; its rollbacks run now\n"
        f"{event.slo} in breach for {breach:.1f}s: {event.detail}"
    )


def dr_text(event: DRFinished, info: DRInfo | None, writes: DRWrites | None, rehearsal: bool = False) -> str:
    prefix = "[rehearsal] " if rehearsal else ""
    title = f": {info.title}" if info else ""
    rto = rto_seconds(event.disaster_at, event.recovered_at)
    if event.failed_step:
        verdict, icon = f"**failed** at `{event.failed_step}`", ":x:"
    elif rehearsal:
        verdict, icon = "**ready** (prechecks passed, no disaster caused)", ":white_check_mark:"
    elif rto is None:
        verdict, icon = "**did not recover**", ":x:"
    elif info is not None and rto > info.rto_seconds:
        verdict, icon = "**missed its RTO**", ":warning:"
    else:
        verdict, icon = "**recovered**", ":white_check_mark:"
    lines = [f"{prefix}{icon} DR check `{event.check}`{title} {verdict}"]
    target = f" (target {info.rto_seconds:g}s)" if info else ""
    if rto is not None:
        lines.append(f"RTO {rto:.1f}s{target}")
    elif not rehearsal:
        lines.append(f"RTO not reached{target}")
    if writes is not None:
        if writes.error:
            lines.append(f"RPO not measured: {writes.error}")
        elif writes.lost:
            window = ""
            if writes.first_lost_at is not None and event.disaster_at is not None:
                window = f" ({max(0.0, event.disaster_at - writes.first_lost_at):.1f}s of data)"
            rpo = f", target RPO {info.rpo_seconds:g}s" if info and info.rpo_seconds is not None else ""
            lines.append(f"{writes.lost} of {writes.acknowledged} acknowledged writes lost{window}{rpo}")
        else:
            lines.append(f"no data lost ({writes.acknowledged} acknowledged writes kept)")
    if event.detail:
        lines.append(event.detail)
    return "\n".join(lines)


def finished_text(event: GamedayFinished, start: GamedayStarted | None, closing: Closing) -> str:
    rehearsal = start is not None and start.mode is Mode.REHEARSAL
    name = f"{'Rehearsal' if rehearsal else 'Gameday'}{' ' + start.gameday if start else ''}"
    lines = [f"{ICONS[event.outcome]} **{name} finished: {event.outcome.value}** (exit code {event.exit_code})"]
    if start is not None:
        minutes = max(0.0, event.at - start.at) / 60
        lines[0] += f" after {minutes:.1f} min"
    if closing.report:
        lines.append(f"Report: `{closing.report}`")
    if closing.actions:
        lines.append("")
        lines.append("**Top follow-up actions**")
        lines.extend(f"{number}. {action}" for number, action in enumerate(closing.actions, start=1))
        if closing.more_actions:
            lines.append(f"… and {closing.more_actions} more in the report")
    elif closing.report:
        lines.append("No follow-up action.")
    return "\n".join(lines)


_BOLD = re.compile(r"\*\*(.+?)\*\*")


def for_slack(markdown: str) -> str:
    """Slack's mrkdwn: ``*bold*`` instead of ``**bold**``."""
    return _BOLD.sub(r"*\1*", markdown)


def _burned(slo: SLOInfo, bad: int, interval: float) -> float:
    try:
        return burned_by(bad, slo, interval)
    except ValueError:  # an objective outside 0..100% cannot come from a loaded plan
        return 0.0


def _short(path: str) -> str:
    """A plan's path as the team knows it: from its plans/ folder on, when there is one."""
    parts = path.replace("\\", "/").split("/")
    if "plans" in parts:
        return "/".join(parts[len(parts) - 1 - parts[::-1].index("plans"):])
    return parts[-1]


def closing(report: str, actions: Sequence[str], limit: int = 5) -> Closing:
    """What the last message says: the report's location, the first ``limit`` actions and how many more."""
    return Closing(report=report, actions=tuple(actions[:limit]), more_actions=max(0, len(actions) - limit))
