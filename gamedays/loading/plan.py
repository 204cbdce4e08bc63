"""Load a plan file into a :class:`LoadedPlan`: validated, every reference resolved.

Problems are reported together: first everything wrong with the plan file's
own shape; once that is sound, everything wrong with what it references (SLO
catalog, experiments, playbooks, SLO names, duplicate ids).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gamedays.loading.credentials import reject_credentials
from gamedays.loading.experiments import (
    ExperimentProblem,
    estimate,
    load_experiment,
    problem_at,
    unknown_values,
    validate_experiment,
    with_values,
)
from gamedays.loading.fit import reach_problems
from gamedays.loading.reach import declared_reach, experiment_document
from gamedays.loading.report_folder import report_folder, report_store, store_mirror
from gamedays.loading.source import Document, check_experiment_file, display_path, read_yaml, resolve
from gamedays.loading.validation import validate_document
from gamedays.model.errors import InvalidInput, Problem
from gamedays.model.loaded import LoadedPlan, ResolvedDR, ResolvedStep
from gamedays.model.location import is_s3_url
from gamedays.model.plan import Plan
from gamedays.model.playbook import Playbook, activity_experiment, probe_experiment
from gamedays.model.slo import SLOCatalog


def load_plan(path: str | Path) -> LoadedPlan:
    """Read, validate and resolve a plan; raise :class:`InvalidInput` listing every problem."""
    plan_path = Path(path).absolute()
    doc = read_yaml(plan_path)
    reject_credentials(doc)
    if not isinstance(doc.data, dict):
        raise InvalidInput([doc.problem((), "a plan is a mapping of keys (gameday, title, date, ...) to values")])
    plan = validate_document(Plan, doc)
    base = plan_path.parent
    problems: list[Problem] = []

    slos_at = (doc.name, doc.line(("slos",)))
    catalog_path = _collect(problems, lambda: resolve(base, plan.slos, slos_at))
    catalog = _collect(problems, lambda: load_catalog(catalog_path, named_at=slos_at)) if catalog_path else None
    known = set(catalog.names()) if catalog else None

    steps: dict[int, ResolvedStep] = {}
    seen: dict[str, int] = {}
    for index, step in enumerate(plan.experiments):
        loc: tuple[str | int, ...] = ("experiments", index)
        if step.id in seen:
            problems.append(
                doc.problem((*loc, "id"), f"duplicate experiment id '{step.id}' (first used at line {seen[step.id]})")
            )
        else:
            seen[step.id] = doc.line((*loc, "id"))
        for at, name in enumerate(step.hypothesis):
            _check_slo(problems, doc, (*loc, "hypothesis", at), name, known)
        resolved = _collect(problems, lambda: _resolve_step(doc, loc, base, step))  # noqa: B023 - called at once
        if resolved is not None:
            steps[index] = resolved

    for at, name in enumerate(plan.guardrails.abort_when):
        _check_slo(problems, doc, ("guardrails", "abort_when", at), name, known)

    recovery: dict[int, ResolvedDR] = {}
    for index, check in enumerate(plan.disaster_recovery):
        loc = ("disaster_recovery", index, "playbook")
        playbook_path = _collect(problems, lambda: resolve(base, check.playbook, (doc.name, doc.line(loc))))  # noqa: B023 - called at once
        playbook = playbook_path and _collect(
            problems, lambda: load_playbook(playbook_path, named_at=(doc.name, doc.line(loc)), known_slos=known)  # noqa: B023 - called at once
        )
        if playbook is not None:
            recovery[index] = ResolvedDR(check=check, playbook_path=playbook_path, playbook=playbook)
    problems.extend(reach_problems(doc, plan, steps, recovery))

    report_dir = _collect(problems, lambda: _report_dir(doc, base, plan))
    store = _collect(problems, lambda: report_store(doc, plan))
    if problems:
        raise InvalidInput(problems)
    assert catalog is not None
    return LoadedPlan(
        path=plan_path,
        plan=plan,
        catalog_path=catalog_path,
        catalog=catalog,
        steps=tuple(steps.values()),
        disaster_recovery=tuple(recovery.values()),
        report_dir=store_mirror(store) if store is not None else _present(report_dir),
        report_store=store,
    )


def load_catalog(path: Path, named_at: tuple[str, int] | None = None) -> SLOCatalog:
    doc = read_yaml(path, named_at)
    reject_credentials(doc)
    catalog = validate_document(SLOCatalog, doc)
    seen: set[str] = set()
    problems = []
    for index, slo in enumerate(catalog.slos):
        if slo.name in seen:
            problems.append(doc.problem(("slos", index, "name"), f"duplicate SLO name '{slo.name}'"))
        seen.add(slo.name)
    if problems:
        raise InvalidInput(problems)
    return catalog


def load_playbook(
    path: Path, named_at: tuple[str, int] | None = None, known_slos: set[str] | None = None
) -> Playbook:
    doc = read_yaml(path, named_at)
    reject_credentials(doc)
    playbook = validate_document(Playbook, doc)
    problems: list[Problem] = []
    for index, check in enumerate(playbook.checks):
        if check.slo is not None:
            _check_slo(problems, doc, ("checks", index, "slo"), check.slo, known_slos)
        if check.probe is not None:
            _check_activity(problems, doc, ("checks", index, "probe"), path, probe_experiment(playbook, check.probe))
    for phase, steps in playbook.phases():
        for index, step in enumerate(steps):
            if step.automated is not None:
                loc = (*phase.split("."), index, "automated")
                _check_activity(problems, doc, loc, path, activity_experiment(playbook, step))
    if problems:
        raise InvalidInput(problems)
    return playbook


def _check_activity(problems: list[Problem], doc: Document, loc: tuple[Any, ...], path: Path, experiment: dict[str, Any]) -> None:
    """A playbook's activity is checked as the one-activity experiment the engine runs it as."""
    try:
        validate_experiment(experiment)
    except ExperimentProblem as exc:
        problems.append(doc.problem(loc, str(exc)))


def _resolve_step(doc: Document, loc: tuple[Any, ...], base: Path, step: Any) -> ResolvedStep:
    uses = (*loc, "uses")
    path = resolve(base, step.uses, (doc.name, doc.line(uses)))
    if not path.exists():
        raise InvalidInput([doc.problem(uses, f"cannot read experiment {display_path(path)}: no such file")])
    check_experiment_file(path, named_at=(doc.name, doc.line(uses)))
    try:
        experiment = load_experiment(path)
    except ExperimentProblem as exc:
        raise InvalidInput([problem_at(doc, uses, path, str(exc))]) from None
    reach = declared_reach(experiment_document(path))  # InvalidInput at the experiment's own file:line
    unknown = unknown_values(experiment, step.with_)
    if unknown:
        raise InvalidInput([doc.problem((*loc, "with", key), f"{display_path(path)}: {msg}") for key, msg in unknown])
    try:
        validate_experiment(with_values(experiment, step.with_))
    except ExperimentProblem as exc:
        raise InvalidInput([problem_at(doc, uses, path, str(exc))]) from None
    return ResolvedStep(
        step=step,
        experiment_path=path,
        experiment=MappingProxyType(experiment),
        estimate=estimate(with_values(experiment, step.with_)),
        reach=reach,
    )


def _check_slo(problems: list[Problem], doc: Document, loc: tuple[Any, ...], name: str, known: set[str] | None) -> None:
    if known is not None and name not in known:
        allowed = ", ".join(sorted(known))
        problems.append(doc.problem(loc, f"unknown SLO '{name}'{_hint(name, known)}; the catalog has: {allowed}"))


def _hint(name: str, known: set[str]) -> str:
    match = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _present(value: Path | None) -> Path:
    assert value is not None  # no problem was found, so the folder was resolved
    return value


def _collect(problems: list[Problem], load: Any) -> Any:
    try:
        return load()
    except InvalidInput as exc:
        problems.extend(exc.problems)
        return None


def _report_dir(doc: Document, base: Path, plan: Plan) -> Path | None:
    if plan.report.out and is_s3_url(plan.report.out):
        return None  # report_store's
    written = plan.report.out or f"../reports/{plan.gameday}"
    named_at = (doc.name, doc.line(("report", "out") if plan.report.out else ("gameday",)))
    return report_folder(base, written, named_at)
