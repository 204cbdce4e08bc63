"""The `gameday` command line: parses arguments, calls the layers, prints.

Imports of the layers happen inside the commands, so `gameday --help` stays fast.
Every command exits with one of the codes of :class:`gamedays.model.outcomes.ExitCode`.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from gamedays import __version__
from gamedays.model.errors import GamedayError
from gamedays.model.outcomes import ExitCode

if TYPE_CHECKING:
    from pathlib import Path

    from gamedays.model.loaded import LoadedPlan

EXIT_CODES_HELP = """\b
Exit codes:
  0  success, and every hypothesis held
  1  the gameday ran but found deviations or missed targets
  2  invalid input or usage
  3  aborted or interrupted
"""


@click.group(epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gameday")
def cli() -> None:
    """Chaos gamedays as code: run a monthly plan of Chaos Toolkit experiments against
    Kubernetes, databases and DNS, measure the impact on your SLOs, verify your
    disaster-recovery playbooks, and report the follow-up actions."""


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--strict", is_flag=True, help="Treat R-4 coverage gaps as errors (exit 2).")
def validate(plan: str, strict: bool) -> None:
    """Check a plan and everything it references; print a summary."""
    from gamedays.loading.plan import load_plan

    loaded = load_plan(plan)
    click.echo(_summary(loaded))
    gaps = loaded.uncovered_components()
    if gaps and strict:
        raise SystemExit(ExitCode.INVALID)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of a plan (for editors' YAML language servers)."""
    from gamedays.loading.schema import plan_schema

    click.echo(json.dumps(plan_schema(), indent=2))


@cli.command()
@click.argument("folder", default="experiments", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON.")
def catalog(folder: str, as_json: bool) -> None:
    """List the experiment catalog: id, target kind, what it breaks, its parameters."""
    from pathlib import Path

    from gamedays.loading.catalog import list_catalog, render_table

    entries = list_catalog(Path(folder))
    click.echo(json.dumps([e.to_dict() for e in entries], indent=2) if as_json else render_table(entries))


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--confirm", metavar="ENVIRONMENT", help="Required to run against production: --confirm production.")
def run(plan: str, confirm: str | None) -> None:
    """Run a gameday plan: experiments, SLO monitor, guardrails, journal."""
    _run_plan(plan, confirm, rehearsal=False)


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--confirm", metavar="ENVIRONMENT", help="Required to rehearse against production.")
def rehearse(plan: str, confirm: str | None) -> None:
    """Dry-run rehearsal of a plan: everything but the faults (Chaos Toolkit's dry actions)."""
    _run_plan(plan, confirm, rehearsal=True)


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False))
def recover(folder: str) -> None:
    """After the orchestrator was killed: play the rollbacks of every fault its journal left open."""
    import os
    from pathlib import Path

    from gamedays.engine.recover import recover as recover_faults

    results = recover_faults(Path(folder), os.environ)
    if not results:
        click.echo(f"{folder}: no fault is left open; nothing to recover")
        return
    for result in results:
        verdict = "rolled back" if result.succeeded else f"rollbacks FAILED: {result.detail}"
        click.echo(f"step {result.step}: {verdict}")
    if not all(r.succeeded for r in results):
        raise SystemExit(ExitCode.FINDINGS)


def _run_plan(plan_path: str, confirm: str | None, rehearsal: bool) -> None:
    import os

    from gamedays.engine.run import Orchestrator
    from gamedays.engine.target import check_confirmation, target_environment
    from gamedays.loading.plan import load_plan
    from gamedays.loading.source import display_path
    from gamedays.model.events import Mode
    from gamedays.reporting.render import render_report

    loaded = load_plan(plan_path)
    check_confirmation(loaded.plan, confirm)
    click.echo(_summary(loaded))
    mode = Mode.REHEARSAL if rehearsal else Mode.RUN
    report_dir = loaded.report_dir / "rehearsal" if rehearsal else loaded.report_dir
    _log_to(report_dir / "gameday.log")
    with target_environment(loaded.plan, os.environ) as target:
        click.echo(f"target: {target.description}")
        live = sys.stdout.isatty()
        result = Orchestrator(loaded, target, mode=mode, report_dir=report_dir, out=sys.stdout, live=live).run()
        _shield_the_finish()  # the report and the sandbox's teardown must not be cut short by a late Ctrl-C
    analysis = result.analysis
    click.echo(f"\njournal: {display_path(result.journal)}")
    rendered = render_report(report_dir, [f.value for f in loaded.plan.report.formats])
    click.echo("report:  " + ", ".join(display_path(p) for p in rendered.paths))
    for step in analysis.steps:
        facts = [step.outcome.value]
        if step.time_to_detect is not None:
            facts.append(f"detected in {step.time_to_detect:.1f}s")
        if step.time_to_recover is not None:
            facts.append(f"recovered in {step.time_to_recover:.1f}s")
        elif step.fault_start is not None and step.time_to_detect is None:
            facts.append("no SLO breached")
        elif step.recovered_in_time is False:
            facts.append("did NOT recover in time")
        if step.detection_to_abort is not None:
            facts.append(f"aborted {step.detection_to_abort:.2f}s after detection")
        click.echo(f"  {step.id:24} " + ", ".join(facts))
    click.echo(f"{'rehearsal' if rehearsal else 'gameday'} {analysis.outcome.value}")
    raise SystemExit(int(analysis.exit_code))


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option(
    "--format", "formats", multiple=True, type=click.Choice(["html", "md", "json", "junit"]),
    help="Formats to write (repeatable); default: all. actions.md is always written.",
)
def report(folder: str, formats: tuple[str, ...]) -> None:
    """Render the impact report of a gameday again from its journal (reports/<gameday>)."""
    from pathlib import Path

    from gamedays.loading.source import display_path
    from gamedays.reporting.render import FORMATS, render_report

    rendered = render_report(Path(folder), formats or FORMATS)
    for path in rendered.paths:
        click.echo(display_path(path))
    click.echo(f"gameday {rendered.outcome.value}")
    raise SystemExit(int(rendered.exit_code))


@cli.group()
def sandbox() -> None:
    """Start, inspect or stop the embedded sandbox: a real system to break on 127.0.0.1."""


_name_option = click.option("--name", default="default", show_default=True, help="Run several sandboxes side by side.")


@sandbox.command("up")
@_name_option
@click.option("--detach", is_flag=True, help="Return once healthy; print only `export NAME=value` lines for eval.")
@click.option("--replicas", default=3, show_default=True, type=click.IntRange(1, 10), help="Shop replicas (pods).")
def sandbox_up(name: str, detach: bool, replicas: int) -> None:
    """Start the sandbox; stay in the foreground until Ctrl-C, or --detach."""
    import shutil

    from gamedays.sandbox import registry
    from gamedays.sandbox.supervisor import serve

    directory = registry.directory_of(name)
    if detach:
        started = registry.up_detached(directory, replicas=replicas)
        click.echo(started.info.exports())
        return
    already = registry.running(directory)
    if already is not None:
        raise click.UsageError(f"a sandbox named {name!r} is already running (pid {already.pid}); `gameday sandbox down --name {name}` first")

    def ready(info) -> None:  # type: ignore[no-untyped-def]
        click.echo(f"sandbox {name!r} is up in {info.started_seconds:.1f}s; Ctrl-C stops it.")
        for what, where in info.endpoints.items():
            click.echo(f"  {what:38} {where}")
        click.echo("\nIn another shell:")
        click.echo(info.exports())

    directory.mkdir(parents=True, exist_ok=True)
    _log_to(directory / "logs" / "sandbox.log")
    try:
        serve(directory, replicas=replicas, on_ready=ready)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    click.echo(f"sandbox {name!r} stopped.")


@sandbox.command("status")
@_name_option
def sandbox_status(name: str) -> None:
    """Say whether the sandbox runs and where its parts answer (exit 1 when it does not run)."""
    from gamedays.sandbox import registry

    found = registry.running(registry.directory_of(name))
    if found is None:
        click.echo(f"sandbox {name!r} is not running")
        raise SystemExit(ExitCode.FINDINGS)
    click.echo(f"sandbox {name!r} is running (supervisor pid {found.pid}, {found.info.directory})")
    for what, where in found.info.endpoints.items():
        click.echo(f"  {what:38} {where}")


@sandbox.command("down")
@_name_option
def sandbox_down(name: str) -> None:
    """Stop the sandbox and everything it started."""
    from gamedays.sandbox import registry

    if registry.down(registry.directory_of(name)):
        click.echo(f"sandbox {name!r} stopped")
    else:
        click.echo(f"sandbox {name!r} was not running")


def _shield_the_finish() -> None:
    """From here to exit, SIGINT/SIGTERM only say that gameday is finishing (the faults are already undone)."""
    import os
    import signal

    def finishing(signum: int, frame: object) -> None:
        os.write(2, b"gameday is finishing: writing the report and stopping what it started\n")

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, finishing)


def _log_to(path: Path) -> None:
    """Send the libraries' and the sandbox's logging to a file: the terminal shows only gameday's own lines."""
    import logging

    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _summary(loaded: LoadedPlan) -> str:
    from gamedays.loading.source import display_path

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
    lines.append(f"  estimated    {loaded.estimated_duration()}")
    lines.append(f"  report       {display_path(loaded.report_dir)}")
    gaps = loaded.uncovered_components()
    if gaps:
        lines.append("warning: R-4: no disaster-recovery playbook in this plan covers:")
        lines.extend(f"  - {component}" for component in gaps)
    elif plan.components:
        lines.append(f"  R-4          all {len(plan.components)} key components have a DR playbook")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning every gameday error into its message and exit code."""
    try:
        result = cli.main(args=argv, prog_name="gameday", standalone_mode=False)
    except GamedayError as exc:
        click.echo(str(exc), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(ExitCode.ABORTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.INVALID)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(ExitCode.ABORTED)
    sys.exit(result if isinstance(result, int) else ExitCode.OK)
