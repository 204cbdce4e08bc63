"""Which plans can run in a cluster: none that acts on the machine running gameday.

``environment: sandbox``, and a step or DR playbook whose reach is ``sandbox`` or ``local-host``,
act on this machine (its processes, files, the embedded sandbox), not through an API a Job's pod
can reach: refused at the plan's line, naming why.
"""

from __future__ import annotations

from gamedays.loading.source import display_path, read_yaml
from gamedays.model.errors import InvalidInput, Problem
from gamedays.model.loaded import LoadedPlan
from gamedays.model.reach import Reach

ON_THIS_MACHINE = (Reach.SANDBOX, Reach.LOCAL_HOST)
_WHY = "it acts on the machine running gameday, not through an API, so it cannot run in a cluster's Job"


def check_in_cluster(loaded: LoadedPlan) -> None:
    """Raise :class:`InvalidInput` for every part of ``loaded`` that cannot run in a cluster."""
    doc = read_yaml(loaded.path)
    if loaded.plan.is_sandbox:
        raise InvalidInput(
            [doc.problem(("environment",), f"environment: sandbox starts the embedded sandbox on this machine: {_WHY}; "
                         "deploy a plan for a named environment (e.g. staging)")]
        )
    problems: list[Problem] = []
    for index, step in enumerate(loaded.steps):
        wrong = [r.value for r in (step.reach.reach if step.reach else ()) if r in ON_THIS_MACHINE]
        if wrong:
            problems.append(doc.problem(
                ("experiments", index, "uses"),
                f"experiments[{index}] ({step.step.id}): {display_path(step.experiment_path)} has reach "
                f"{', '.join(wrong)}: {_WHY}",
            ))
    for index, dr in enumerate(loaded.disaster_recovery):
        wrong = [r.value for r in (dr.playbook.reach or ()) if r in ON_THIS_MACHINE]
        if wrong:
            problems.append(doc.problem(
                ("disaster_recovery", index, "playbook"),
                f"disaster_recovery[{index}]: {display_path(dr.playbook_path)} has reach {', '.join(wrong)}: {_WHY}",
            ))
    if problems:
        raise InvalidInput(problems)
