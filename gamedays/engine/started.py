"""The first event of a journal: the plan as the run sees it (team, SLOs, steps, DR checks, R-4 coverage).

Everything the report needs to know about the plan is here, so that the report
stays a function of the journal even after the plan file changed or moved.
"""

from __future__ import annotations

import time
from typing import Sequence

from gamedays.engine.dr import dr_info
from gamedays.engine.access import Access
from gamedays.model.events import AccessInfo, CoverageInfo, GamedayStarted, Mode, SLOInfo, StepInfo
from gamedays.model.loaded import LoadedPlan
from gamedays.model.slo import SLO


def gameday_started(
    loaded: LoadedPlan, mode: Mode, slos: Sequence[SLO], dr_ids: Sequence[str], access: Sequence[Access] = ()
) -> GamedayStarted:
    plan = loaded.plan
    guard = plan.guardrails
    checks = list(zip(dr_ids, loaded.disaster_recovery))
    return GamedayStarted(
        at=time.time(),
        gameday=plan.gameday,
        title=plan.title,
        date=plan.date.isoformat(),
        plan=str(loaded.path),
        environment=plan.environment,
        mode=mode,
        commander=plan.team.commander,
        scribe=plan.team.scribe,
        participants=plan.team.participants,
        owners=dict(plan.team.owners),
        slos=tuple(
            SLOInfo(name=s.name, service=s.service, kind=s.kind.value, objective=s.objective.fraction,
                    window_seconds=s.window.seconds, source=s.sli.source)
            for s in slos
        ),
        steps=tuple(
            StepInfo(id=r.step.id, title=r.title, experiment=str(r.experiment_path), hypothesis=r.step.hypothesis,
                     recover_within_seconds=r.step.recover_within.seconds if r.step.recover_within else None)
            for r in loaded.steps
        ),
        interval_seconds=plan.monitor.interval.seconds,
        budget_allowance=guard.error_budget.fraction if guard.error_budget else None,
        abort_when=guard.abort_when,
        tolerate_seconds=guard.tolerate.seconds,
        disaster_recovery=tuple(dr_info(check_id, resolved) for check_id, resolved in checks),
        coverage=tuple(
            CoverageInfo(kind=c.kind.value, name=c.name,
                         playbooks=tuple(check_id for check_id, resolved in checks if resolved.playbook.covers == c))
            for c in plan.components
        ),
        access=tuple(AccessInfo(reach=a.reach.value, where=a.where) for a in access if a.where is not None),
    )
