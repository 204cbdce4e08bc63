"""A loaded plan as a person reads it before a gameday: the timeline, the SLOs, the DR checks and R-4 coverage."""

from __future__ import annotations

from gamedays.loading.source import display_path
from gamedays.model.loaded import LoadedPlan


def plan_summary(loaded: LoadedPlan) -> str:
    """What `validate`, `run` and `rehearse` print about a plan: team, SLOs, timeline, DR checks, R-4 coverage."""
    plan = loaded.plan
    team = plan.team
    lines = [
        f"{display_path(loaded.path)}: valid",
        f"  gameday      {plan.gameday}: {plan.title} ({plan.date.isoformat()})",
        f"  environment  {plan.environment}",
        f"  team         commander {team.commander}"
        + (f", scribe {team.scribe}" if team.scribe else "")
        + (f", participants {', '.join(team.participants)}" if team.participants else ""),
    ]
    in_use = loaded.slos_in_use()
    lines.append(f"  SLOs         {len(in_use)} in use of {len(loaded.catalog.slos)} in {display_path(loaded.catalog_path)}")
    for slo in in_use:
        lines.append(f"    - {slo.name}: {slo.objective} over {slo.window} ({slo.sli.source})")
    lines.append(f"  experiments  {len(loaded.steps)}")
    for number, resolved in enumerate(loaded.steps, start=1):
        step = resolved.step
        extra = f", recover within {step.recover_within}" if step.recover_within else ""
        hypothesis = ", ".join(step.hypothesis) or "none"
        lines.append(f"    {number}. {step.id}: {resolved.title} [{display_path(resolved.experiment_path)}]")
        lines.append(f"       hypothesis: {hypothesis}{extra}")
    lines.append(f"  DR checks    {len(loaded.disaster_recovery)}")
    for dr in loaded.disaster_recovery:
        rpo = f", RPO {dr.rpo}" if dr.rpo is not None else ""
        lines.append(f"    - {dr.playbook.covers}: {dr.playbook.title} (RTO {dr.rto}{rpo})")
    guard = plan.guardrails
    budget = f"error budget {guard.error_budget}" if guard.error_budget else "no error-budget limit"
    abort = ", ".join(guard.abort_when) or "nothing"
    lines.append(f"  guardrails   {budget}; abort when {abort} breaches for {guard.tolerate}")
    duration = loaded.estimated_duration()
    lines.append(f"  duration     about {duration.expected} expected; at most {duration.longest} if every deadline is reached")
    if loaded.report_store is not None:
        lines.append(f"  report       {loaded.report_store.location.url} (working copy {display_path(loaded.report_dir)})")
    else:
        lines.append(f"  report       {display_path(loaded.report_dir)}")
    if plan.components:
        lines.append("  R-4          key components and their DR playbooks:")
        for component in plan.components:
            covering = [display_path(dr.playbook_path) for dr in loaded.disaster_recovery if dr.playbook.covers == component]
            lines.append(f"    - {component}: {', '.join(covering) if covering else 'NO PLAYBOOK'}")
    gaps = loaded.uncovered_components()
    if gaps:
        lines.append("warning: R-4: no disaster-recovery playbook in this plan covers:")
        lines.extend(f"  - {component}" for component in gaps)
    elif plan.components:
        lines.append(f"  R-4          all {len(plan.components)} key components have a DR playbook")
    return "\n".join(lines)
