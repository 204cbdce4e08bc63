"""A plan with every reference resolved: what loading hands to the engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from gamedays.model.components import Component, uncovered
from gamedays.model.declaration import ReachDeclaration
from gamedays.model.estimate import NOTHING, Estimate, activities_estimate
from gamedays.model.location import ReportStore
from gamedays.model.plan import DRCheck, Plan, Step
from gamedays.model.playbook import Playbook
from gamedays.model.slo import SLO, SLOCatalog
from gamedays.model.units import Duration


@dataclass(frozen=True)
class ResolvedStep:
    step: Step
    experiment_path: Path
    experiment: Mapping[str, Any]  # the Chaos Toolkit experiment, as chaoslib loaded it
    estimate: Estimate  # the experiment's waits (pauses, holds) expected; with its timeouts, the longest
    reach: ReachDeclaration | None = None  # what its gameday extension declares; None: it declares none

    @property
    def title(self) -> str:
        return str(self.experiment.get("title", self.step.id))

    def configuration(self) -> dict[str, Any]:
        """The experiment's configuration block with the step's values applied."""
        merged = dict(self.experiment.get("configuration") or {})
        merged.update(self.step.with_)
        return merged


@dataclass(frozen=True)
class ResolvedDR:
    check: DRCheck
    playbook_path: Path
    playbook: Playbook

    @property
    def rto(self) -> Duration:
        return self.check.rto or self.playbook.rto

    @property
    def rpo(self) -> Duration | None:
        return self.check.rpo or self.playbook.rpo

    def estimate(self, interval: Duration) -> Estimate:
        """Expected: the automated steps' waits and the checks seen good on two samples; longest: the
        backup, then the check's own deadline (twice the RTO)."""
        configuration = self.playbook.configuration
        expected = NOTHING
        for _, steps in self.playbook.phases():
            expected = expected + activities_estimate([s.automated for s in steps if s.automated], configuration)
        backup = activities_estimate([s.automated for s in self.playbook.backup if s.automated], configuration)
        checks = 2 * interval.seconds
        return Estimate.of(expected.expected.seconds + checks, backup.longest.seconds + 2 * self.rto.seconds)


@dataclass(frozen=True)
class LoadedPlan:
    path: Path
    plan: Plan
    catalog_path: Path
    catalog: SLOCatalog
    steps: tuple[ResolvedStep, ...]
    disaster_recovery: tuple[ResolvedDR, ...]
    report_dir: Path  # the report folder; for report.out s3://..., its local working copy (gamedays.home.s3_mirror)
    report_store: ReportStore | None = None  # report.out in object storage: the folder report_dir is uploaded to

    def slos_in_use(self) -> tuple[SLO, ...]:
        """Every SLO the plan names (hypotheses and guardrails), in catalog order."""
        used = set(self.plan.guardrails.abort_when)
        for resolved in self.steps:
            used.update(resolved.step.hypothesis)
        return tuple(s for s in self.catalog.slos if s.name in used)

    def uncovered_components(self) -> list[Component]:
        """R-4: the plan's key components that none of its DR playbooks covers."""
        covered = {dr.playbook.covers for dr in self.disaster_recovery}
        return uncovered(self.plan.components, covered)

    def estimated_duration(self) -> Estimate:
        """Baseline, each experiment with its recovery wait and cooldown, then the DR checks.

        Expected: what a gameday whose targets hold takes (recovery seen on the first fresh sample);
        longest: every deadline reached (timeouts, recover_within, twice each RTO).
        """
        monitor = self.plan.monitor
        total = Estimate(monitor.baseline, monitor.baseline)
        fresh_sample = 1.5 * monitor.interval.seconds  # the engine's wait before it checks recovery
        for resolved in self.steps:
            deadline = resolved.step.recover_within
            waits = bool(deadline and resolved.step.hypothesis)
            recovery = Estimate.of(
                min(fresh_sample, deadline.seconds) if waits and deadline else 0.0,
                deadline.seconds if waits and deadline else 0.0,
            )
            total = total + resolved.estimate + recovery + Estimate(monitor.cooldown, monitor.cooldown)
        for dr in self.disaster_recovery:
            total = total + dr.estimate(monitor.interval)
        return total
