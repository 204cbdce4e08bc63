"""Refuse a plan whose steps or DR playbooks act where its environment is not: reach against environment.

The rule is :func:`gamedays.model.reach.fits`: in ``environment: sandbox`` everything fits;
elsewhere ``sandbox`` never does, ``local-host`` only with ``environment_on_this_host: true``,
and what acts through a remote API or protocol (postgres, kubernetes, aws, rfc2136) always.
Outside the sandbox an experiment or playbook that declares no reach is refused too: nobody
can tell where it acts.

Each refusal is at the plan's line (the step's ``uses:``, the check's ``playbook:``), names the
reach and the environment, and what would do the same on real infrastructure: the catalog
entries of the same target kind whose reach fits (the catalog is the ``experiments`` folder
the experiment is in), or the playbooks beside the refused one covering the same kind of
component.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gamedays.loading.catalog import listable_entries
from gamedays.loading.reach import HOW_TO_DECLARE
from gamedays.model.reach import allowed_values
from gamedays.loading.source import Document, display_path, read_yaml
from gamedays.loading.validation import validate_document
from gamedays.model.declaration import ReachDeclaration
from gamedays.model.errors import InvalidInput, Problem
from gamedays.model.loaded import ResolvedDR, ResolvedStep
from gamedays.model.plan import Plan
from gamedays.model.playbook import Playbook
from gamedays.model.reach import Reach, not_fitting, why_not

#: The folder a catalog is in, by convention (``gameday catalog`` lists it by default).
CATALOG_FOLDER = "experiments"
PLAYBOOK_SUFFIXES = (".yaml", ".yml")
_HOW_TO_DECLARE_IN_A_PLAYBOOK = (
    f"declare it with the playbook's keys reach: [...] and permissions: {{...}} (reach allowed: {allowed_values()})"
)


def reach_problems(
    doc: Document, plan: Plan, steps: dict[int, ResolvedStep], recovery: dict[int, ResolvedDR]
) -> list[Problem]:
    """Every step (by its index in the plan) and DR check whose reach does not fit the plan's environment."""
    if plan.is_sandbox:
        return []
    problems = []
    for index, resolved in steps.items():
        loc = ("experiments", index, "uses")
        refusal = _refusal(plan, resolved.reach, HOW_TO_DECLARE)
        if refusal is not None:
            what = display_path(resolved.experiment_path)
            problems.append(doc.problem(loc, f"{_where(loc)}{what} {refusal}{_step_alternatives(plan, resolved)}"))
    for index, dr in recovery.items():
        loc = ("disaster_recovery", index, "playbook")
        refusal = _refusal(plan, dr.playbook.declaration, _HOW_TO_DECLARE_IN_A_PLAYBOOK)
        if refusal is not None:
            what = f"{display_path(dr.playbook_path)}:{_reach_line(dr.playbook_path)}"
            problems.append(doc.problem(loc, f"{_where(loc)}{what} {refusal}{_playbook_alternatives(plan, dr)}"))
    return problems


def _refusal(plan: Plan, declaration: ReachDeclaration | None, how_to_declare: str) -> str | None:
    environment = f"environment '{plan.environment}'"
    if declaration is None:
        return f"declares no reach, so it cannot run in {environment} ({how_to_declare})"
    wrong = not_fitting(declaration.reach, plan.is_sandbox, plan.environment_on_this_host)
    if not wrong:
        return None
    reasons = "; ".join(why_not(r) for r in wrong)
    return f"has reach {declaration.describe()}, which does not fit {environment}: {reasons}"


def _fits(plan: Plan, reach: tuple[Reach, ...]) -> bool:
    return not not_fitting(reach, plan.is_sandbox, plan.environment_on_this_host)


def _step_alternatives(plan: Plan, resolved: ResolvedStep) -> str:
    path = resolved.experiment_path
    root = _catalog_root(path)
    entries = listable_entries(root)
    own = next((e for e in entries if e.path == path), None)
    if own is None:
        return ""  # not a catalog experiment: no kind to compare with
    others = [e for e in entries if e.target == own.target and e.id != own.id and e.reach and _fits(plan, e.reach)]
    if not others:
        return f"; no catalog entry of kind {own.target} in {display_path(root)} fits it"
    listed = ", ".join(f"{e.id} ({e.describe_reach()})" for e in others)
    return f"; catalog entries of kind {own.target} that act on real infrastructure: {listed}"


def _playbook_alternatives(plan: Plan, dr: ResolvedDR) -> str:
    folder = dr.playbook_path.parent
    kind = dr.playbook.covers.kind.value
    fitting = []
    for path in sorted(p for p in folder.iterdir() if p.suffix in PLAYBOOK_SUFFIXES and p != dr.playbook_path):
        other = _playbook(path)
        if other is not None and other.covers.kind.value == kind and other.reach is not None and _fits(plan, other.reach):
            fitting.append(f"{display_path(path)} ({other.declaration.describe() if other.declaration else 'none'})")
    if not fitting:
        return f"; no playbook covering {kind} in {display_path(folder)} fits it"
    return f"; playbooks covering {kind} that act on real infrastructure: {', '.join(fitting)}"


def _catalog_root(path: Path) -> Path:
    """The nearest folder named ``experiments`` above the experiment; else the folder above its own."""
    for folder in path.parents:
        if folder.name == CATALOG_FOLDER:
            return folder
    return path.parent.parent


def _playbook(path: Path) -> Playbook | None:
    try:
        return validate_document(Playbook, read_yaml(path))
    except InvalidInput:
        return None  # not a playbook (or a broken one): it suggests nothing


def _reach_line(path: Path) -> int:
    doc = read_yaml(path)  # already read once by the loader: it is there and sound
    return doc.line(("reach",)) if isinstance(doc.data, dict) and "reach" in doc.data else 1


def _where(loc: tuple[Any, ...]) -> str:
    head, index, key = loc
    return f"{head}[{index}].{key}: "
