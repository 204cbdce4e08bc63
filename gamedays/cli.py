"""The `gameday` command line: parses arguments, calls the layers, prints.

Imports of the layers happen inside the commands, so `gameday --help` stays fast.
Every command exits with one of the codes of :class:`gamedays.model.outcomes.ExitCode`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import click

from gamedays import __version__
from gamedays.model.errors import GamedayError
from gamedays.model.outcomes import ExitCode

if TYPE_CHECKING:
    from typing import ContextManager, Mapping

    from gamedays.model.environment import Target
    from gamedays.engine.integrations import Integrations
    from gamedays.model.events import Mode
    from gamedays.model.loaded import LoadedPlan
    from gamedays.journal.verdict import Verdict
    from gamedays.reporting.analysis import Analysis
    from gamedays.storage.mirror import Mirror

EXIT_CODES_HELP = """\b
Exit codes:
  0  success, and every hypothesis held
  1  the gameday ran but found deviations or missed targets
  2  invalid input or usage
  3  aborted or interrupted
  70 internal error (a bug): the log named on stderr holds the traceback
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
    from gamedays.loading.summary import plan_summary

    loaded = load_plan(plan)
    click.echo(plan_summary(loaded))
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
    """List the experiment catalog: id, target kind, reach, what it breaks, its parameters, the permissions it needs."""
    from pathlib import Path

    from gamedays.loading.catalog import list_catalog, render_table

    entries = list_catalog(Path(folder))
    click.echo(json.dumps([e.to_dict() for e in entries], indent=2) if as_json else render_table(entries))


def _observe_options(command):  # type: ignore[no-untyped-def]
    """--log-format, --metrics-host, --metrics-port: how the team watches a run (README: Integrations)."""
    options = [
        click.option("--log-format", type=click.Choice(["human", "json"]), default="human", show_default=True,
                     help="gameday.log lines; json: one JSON object per line, also on stderr."),
        click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Address of the /metrics server."),
        click.option("--metrics-port", type=click.IntRange(0, 65535), default=8067, show_default=True,
                     envvar="GAMEDAY_METRICS_PORT", show_envvar=True, help="Port of Prometheus /metrics (0: any free port)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--confirm", metavar="ENVIRONMENT", help="Required for every environment but sandbox: the plan's environment again.")
@_observe_options
def run(plan: str, confirm: str | None, **observe: object) -> None:
    """Run a gameday plan: experiments, SLO monitor, guardrails, journal."""
    _run_plan(plan, confirm, rehearsal=False, **observe)


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--confirm", metavar="ENVIRONMENT", help="Required for every environment but sandbox: the plan's environment again.")
@_observe_options
def rehearse(plan: str, confirm: str | None, **observe: object) -> None:
    """Dry-run rehearsal of a plan: everything but the faults (Chaos Toolkit's dry actions)."""
    _run_plan(plan, confirm, rehearsal=True, **observe)


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--schedule", metavar="CRON", help="A CronJob on this schedule instead of a Job.")
@click.option("--namespace", default="gameday", show_default=True, help="Where the Job runs.")
@click.option("--image", metavar="IMAGE", help=f"The runner image [default: ghcr.io/gameday/runner:{__version__}].")
@click.option("--dry-run", is_flag=True, help="Print the manifests as YAML; apply nothing.")
@click.option("--confirm", metavar="ENVIRONMENT", help="Required for every environment but sandbox: the plan's environment again.")
def deploy(plan: str, schedule: str | None, namespace: str, image: str | None, dry_run: bool, confirm: str | None) -> None:
    """Run a plan in a cluster: apply its ServiceAccount, RBAC, ConfigMap and Job (or CronJob); --dry-run prints them."""
    from gamedays.deploy.apply import apply, cluster_client
    from gamedays.deploy.bundle import bundle
    from gamedays.deploy.fit import check_in_cluster
    from gamedays.deploy.manifests import Options, manifests, to_yaml
    from gamedays.loading.plan import load_plan
    from gamedays.model.environment import check_confirmation

    loaded = load_plan(plan)
    check_in_cluster(loaded)
    check_confirmation(loaded.plan.environment, confirm)
    options = Options(namespace=namespace, image=image or f"ghcr.io/gameday/runner:{__version__}", schedule=schedule)
    objects = manifests(loaded, bundle(loaded), options)
    if dry_run:
        click.echo(to_yaml(objects), nl=False)
        return
    api, cluster = cluster_client("deploy")
    for applied in apply(objects, api, cluster):
        click.echo(applied.describe())
    what = f"CronJob on schedule {schedule!r}" if schedule else "Job"
    click.echo(f"deployed {loaded.plan.gameday} to {cluster} as a {what} in namespace {namespace}; "
               f"follow it with: gameday status --namespace {namespace}")


@cli.command()
@click.option("--namespace", default="gameday", show_default=True, help="Where the gamedays were deployed.")
def status(namespace: str) -> None:
    """List the gamedays deployed in a cluster (Jobs and CronJobs of gameday deploy) and how each is going."""
    from gamedays.deploy.apply import cluster_client
    from gamedays.deploy.status import deployed, render

    api, cluster = cluster_client("status")
    click.echo(render(deployed(api, namespace, cluster), namespace, cluster))


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False))
def recover(folder: str) -> None:
    """After the orchestrator was killed: play the rollbacks of every fault its journal left open.

    FOLDER is reports/<gameday>, or s3://bucket/prefix/<gameday> (the stored journal)."""
    import os

    from gamedays.engine.recover import Recovery, recover as recover_faults
    from gamedays.engine.report_lock import ReportLock

    local, mirror = _folder_of(folder)
    with ReportLock(local, "gameday recover") as lock, _stored_lease(mirror, "gameday recover"):  # never while a run or another recover writes there, on any machine
        if lock.previous is not None:
            click.echo(f"taking over the lock left by {lock.previous.describe()} (no longer running)")
        _pull(mirror)
        try:
            results = recover_faults(local, os.environ, _existing_target)
        finally:
            _push(mirror)  # what recover journaled, also when it stopped half-way
    if not results:
        click.echo(f"{folder}: no fault is left open; nothing to recover")
        return
    for result in results:
        if result.step.startswith("dr/"):
            verdict = "recovery steps played" if result.succeeded else f"recovery FAILED: {result.detail}"
            click.echo(f"DR check {result.step[3:]}: {verdict}")
            continue
        if result.recovery is Recovery.NOTHING_TO_ROLL_BACK:
            click.echo(f"step {result.step}: {result.detail}")
            continue
        verdict = "rolled back" if result.succeeded else f"rollbacks FAILED: {result.detail}"
        click.echo(f"step {result.step}: {verdict}")
    if not all(r.succeeded for r in results):
        raise SystemExit(ExitCode.FINDINGS)


def _run_plan(
    plan_path: str, confirm: str | None, rehearsal: bool, *,
    log_format: str = "human", metrics_host: str = "127.0.0.1", metrics_port: int | None = 8067,
) -> None:
    import os

    from gamedays.engine.integrations import Integrations
    from gamedays.engine.logs import LogFormat
    from gamedays.engine.report_lock import ReportLock
    from gamedays.loading.plan import load_plan
    from gamedays.loading.summary import plan_summary
    from gamedays.model.environment import check_confirmation
    from gamedays.model.events import Mode

    loaded = load_plan(plan_path)
    check_confirmation(loaded.plan.environment, confirm)
    targeted = _target(loaded.plan.environment, os.environ)  # the sandbox extra checked before anything starts
    mirror = None
    if loaded.report_store is not None:  # the bucket and the credentials checked before anything starts
        from gamedays.storage.bucket import checked_store
        from gamedays.storage.mirror import Mirror

        mirror = Mirror(checked_store(loaded.report_store), loaded.report_dir)
    # one writer per gameday: a rehearsal locks the same folder as the run (its journal lives below it);
    # taken before anything starts, is injected, or renames a journal
    command = "gameday rehearse" if rehearsal else "gameday run"
    with ReportLock(loaded.report_dir, command) as lock, _stored_lease(mirror, command), _run_signals():
        if lock.previous is not None:
            click.echo(f"taking over the lock left by {lock.previous.describe()} (no longer running)")
        if mirror is not None:
            mirror.pull()  # the stored folder's earlier journal, notes and actions.yaml, the siblings' reports
        click.echo(plan_summary(loaded))
        mode = Mode.REHEARSAL if rehearsal else Mode.RUN
        report_dir = loaded.report_dir / "rehearsal" if rehearsal else loaded.report_dir
        integrations = Integrations(  # webhooks resolved, metrics port bound: errors before the gameday starts
            loaded, os.environ, report_dir=report_dir, log_format=LogFormat(log_format),
            metrics_host=metrics_host, metrics_port=metrics_port, mirror=mirror,
        )
        with integrations:
            try:
                verdict, analysis = _gameday(loaded, integrations, targeted, mode, report_dir)
            except (KeyboardInterrupt, GamedayError):
                raise
            except BaseException as exc:  # a bug (ours or a plugin's, a sys.exit() too): its traceback in gameday.log, exit 70
                logging.getLogger("gamedays").critical("internal error: %s: %s", type(exc).__name__, exc, exc_info=exc)
                raise InternalError(report_dir / "gameday.log", exc) from exc
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
        for check in analysis.disaster_recovery:
            facts = [check.outcome.value]
            if check.rto is not None:
                facts.append(f"RTO {check.rto:.1f}s of {check.rto_target:g}s")
            if check.rpo is not None:
                target = f" of {check.rpo_target:g}s" if check.rpo_target is not None else ""
                facts.append(f"RPO {check.rpo:.1f}s{target} ({check.writes_lost} of {check.writes_acknowledged} writes lost)")
            if check.failed_step:
                facts.append(f"failed at {check.failed_step!r}")
            click.echo(f"  DR {check.id:21} " + ", ".join(facts))
        click.echo(f"{'rehearsal' if rehearsal else 'gameday'} {verdict.outcome.value}")
    raise SystemExit(int(verdict.exit_code))


def _gameday(
    loaded: LoadedPlan, integrations: Integrations, targeted: ContextManager[Target], mode: Mode, report_dir: Path
) -> tuple[Verdict, Analysis]:
    """The sandbox (if one of its own) up, the orchestrator's run, the report; SIGHUP/SIGTERM unwind it all."""

    from gamedays.engine.run import Orchestrator
    from gamedays.loading.source import display_path
    from gamedays.reporting.render import render_report

    if integrations.metrics_url:
        click.echo(f"metrics: {integrations.metrics_url}")
    with targeted as target:
        click.echo(f"target: {target.description}")
        integrations.add_secrets(target.env)
        live = sys.stdout.isatty()
        answers = sys.stdin if sys.stdin is not None and sys.stdin.isatty() else None  # manual DR steps
        orchestrator = Orchestrator(
            loaded, target, mode=mode, report_dir=report_dir, out=sys.stdout, live=live, answers=answers,
            delivery=integrations.delivery, before_injection=integrations.fault_stored,
        )
        integrations.journal_through(orchestrator)
        result = orchestrator.run()
        _shield_the_finish()  # the report and the sandbox's teardown must not be cut short by a late signal
    integrations.run_ended(result.journal)
    click.echo(f"\njournal: {display_path(result.journal)}")
    rendered = render_report(report_dir, [f.value for f in loaded.plan.report.formats])
    click.echo("report:  " + ", ".join(display_path(p) for p in rendered.paths))
    stored = integrations.upload.mirror if integrations.upload is not None else None
    where = _stored_url(stored, report_dir) if stored is not None else display_path(rendered.folder)
    integrations.finish(result.journal, where, [a.title for a in rendered.report.actions])
    if stored is not None:
        error = integrations.publish()
        if error:
            click.echo(f"gameday: the report folder is not stored whole in {stored.url}: {error}; "
                       f"it is all in {display_path(stored.folder)} (the gameday's outcome stands)", err=True)
        else:
            click.echo(f"stored:  {where}")
    return result.verdict, rendered.analysis


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option(
    "--format", "formats", multiple=True, type=click.Choice(["html", "md", "json", "junit"]),
    help="Formats to write (repeatable); default: all. actions.md is always written.",
)
def report(folder: str, formats: tuple[str, ...]) -> None:
    """Render the impact report of a gameday again from its journal (reports/<gameday>).

    For s3://bucket/prefix/<gameday> the report is rendered in a local copy and stored back beside the journal."""

    from gamedays.loading.source import display_path
    from gamedays.reporting.render import FORMATS, render_report

    local, mirror = _folder_of(folder)
    _pull(mirror)
    rendered = render_report(local, formats or FORMATS)
    _push(mirror)  # back beside the journal, where the run put them
    for path in rendered.paths:
        click.echo(_stored_url(mirror, path) if mirror is not None else display_path(path))
    if mirror is not None:
        click.echo(f"local copy: {display_path(local)}")
    click.echo(f"gameday {rendered.outcome.value}")
    raise SystemExit(int(rendered.exit_code))


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.argument("text")
@click.option("--action", is_flag=True, help="The team wants it done: the note becomes a follow-up action.")
@click.option("--owner", metavar="NAME", help="Who owns the action (with --action); default: the commander.")
@click.option("--author", metavar="NAME", help="Who took the note; default: $USER.")
def note(folder: str, text: str, action: bool, owner: str | None, author: str | None) -> None:
    """Add a team note to a gameday's report folder (reports/<gameday> or s3://...), during the run or after it."""
    import os
    import time

    from gamedays.loading.source import display_path
    from gamedays.reporting.notes import append_note, check_report_folder, make_note

    local, mirror = _folder_of(folder)
    _pull(mirror)
    check_report_folder(local)
    taken = make_note(text, author=author or os.environ.get("USER") or "unknown", at=time.time(), action=action, owner=owner)
    path = append_note(local, taken)
    _push(mirror)
    what = f"action note (owner {taken.owner})" if taken.action and taken.owner else ("action note" if taken.action else "note")
    shown = _stored_url(mirror, path) if mirror is not None else display_path(path)
    click.echo(f"{what} by {taken.author} added to {shown}; `gameday report {folder}` shows it")


@cli.group()
def actions() -> None:
    """Follow-up actions out of a report: export them, or create them as GitHub or Jira issues."""


@actions.command("export")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "markdown"]), default="markdown", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), help="Write the export to this file instead of stdout.")
@click.option("--all", "everything", is_flag=True, help="Every action, not only the open ones.")
@click.option("--github-repo", metavar="OWNER/NAME", help="Create an issue per action there (token: GITHUB_TOKEN).")
@click.option("--github-url", default="https://api.github.com", show_default=True, help="The GitHub API base URL.")
@click.option("--jira-project", metavar="KEY", help="Create an issue per action there (token: JIRA_TOKEN, JIRA_USER).")
@click.option("--jira-url", metavar="URL", help="The Jira base URL, e.g. https://acme.atlassian.net.")
def actions_export(
    folder: str, fmt: str, output: str | None, everything: bool,
    github_repo: str | None, github_url: str, jira_project: str | None, jira_url: str | None,
) -> None:
    """Export the follow-up actions of reports/<gameday> (or s3://...); never creates the same issue twice."""
    import os
    from pathlib import Path

    from gamedays.atomicfile import write_atomically
    from gamedays.reporting import trackers
    from gamedays.reporting.export import ExportFormat, read_tracked_actions, render

    local, mirror = _folder_of(folder)
    _pull(mirror)
    listed = read_tracked_actions(local, everything)
    chosen = [trackers.github(github_repo, os.environ, github_url)] if github_repo else []
    if jira_project:
        chosen.append(trackers.jira(jira_project, os.environ, jira_url))
    if output or not chosen:
        text = render(listed, ExportFormat(fmt))
        if output:
            write_atomically(Path(output), text)
            click.echo(f"{len(listed.actions)} action(s) written to {output}")
        else:
            click.echo(text, nl=False)
    try:
        for tracker in chosen:
            for tracked in trackers.export_to(tracker, local, listed):
                click.echo(f"{tracked.action} {'created' if tracked.created else 'already tracked'}: {tracked.url}")
    finally:
        if chosen:
            _push(mirror)  # tracker.json: the issues created, so none is created twice from another machine


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

    _require_sandbox("gameday sandbox up")
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
    _require_sandbox("gameday sandbox status")
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
    _require_sandbox("gameday sandbox down")
    from gamedays.sandbox import registry

    if registry.down(registry.directory_of(name)):
        click.echo(f"sandbox {name!r} stopped")
    else:
        click.echo(f"sandbox {name!r} was not running")


@contextlib.contextmanager
def _stored_lease(mirror: Mirror | None, command: str) -> Iterator[None]:
    """For a stored folder, the bucket's lease as well: one writer per gameday across machines."""
    if mirror is None:
        yield
        return
    from gamedays.storage.lease import StoredLease

    with StoredLease(mirror.bucket, command) as lease:
        if lease.previous is not None:
            click.echo(f"taking over the bucket's lease left by {lease.previous.describe()} (not renewed: no longer running)")
        yield


def _folder_of(folder: str) -> tuple[Path, Mirror | None]:
    """A report folder named on the command line: a local path, or ``s3://...`` (its bucket checked) and its working copy."""
    from gamedays.model.location import is_s3_url

    if not is_s3_url(folder):
        return Path(folder), None
    from gamedays.storage.bucket import bucket_of
    from gamedays.storage.mirror import Mirror

    mirror = Mirror(bucket_of(folder))
    return mirror.folder, mirror


def _pull(mirror: Mirror | None) -> None:
    """The stored folder into its working copy; StorageError when it holds no journal."""
    if mirror is None:
        return
    from gamedays.journal.io import JOURNAL
    from gamedays.storage.bucket import StorageError

    mirror.pull()
    if not (mirror.folder / JOURNAL).is_file():
        hint = f"; a rehearsal's journal is in {mirror.url}/rehearsal" if (mirror.folder / "rehearsal" / JOURNAL).is_file() else ""
        raise StorageError(f"{mirror.url}: no {JOURNAL} there (a gameday whose report.out is this folder writes it){hint}")


def _push(mirror: Mirror | None) -> None:
    if mirror is not None:
        mirror.push()


def _stored_url(mirror: Mirror | None, path: Path) -> str:
    """Where ``path`` of the working copy is stored."""
    assert mirror is not None
    relative = Path(path).relative_to(mirror.folder).as_posix()
    return mirror.url if relative == "." else f"{mirror.url}/{relative}"


def _require_sandbox(what: str) -> None:
    """Exit 2 naming the missing distributions when the extra gameday[sandbox] is not installed."""
    from gamedays.extras import require_sandbox

    require_sandbox(what)


def _target(environment: str, env: Mapping[str, str]) -> ContextManager[Target]:
    """What the run targets: the sandbox (the running one, else one of the run's own), or ``env`` as it is."""
    import contextlib

    from gamedays.model.environment import named_environment
    from gamedays.model.plan import SANDBOX

    if environment != SANDBOX:
        return contextlib.nullcontext(named_environment(environment, env))
    _require_sandbox(f"the plan's environment '{SANDBOX}'")
    from gamedays.sandbox.target import sandbox_target

    return sandbox_target(env)


def _existing_target(environment: str, env: Mapping[str, str]) -> Target | None:
    """The run's environment as it is now, starting nothing (`gameday recover`)."""
    from gamedays.model.environment import named_environment
    from gamedays.model.plan import SANDBOX

    if environment != SANDBOX:
        return named_environment(environment, env)
    _require_sandbox(f"recovering a gameday of environment '{SANDBOX}'")
    from gamedays.sandbox.target import running_sandbox

    return running_sandbox(env)


def _shield_the_finish() -> None:
    """From here to exit, SIGINT/SIGTERM/SIGHUP only say that gameday is finishing (the faults are already undone).

    The handlers :func:`_run_signals` saved are put back when the run returns.
    """
    import os
    import signal

    def finishing(signum: int, frame: object) -> None:
        with contextlib.suppress(OSError):  # the terminal may be gone (EIO): the finish goes on regardless
            os.write(2, b"gameday is finishing: writing the report and stopping what it started\n")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, finishing)


class InternalError(Exception):
    """A bug (ours or a plugin's), never a user's mistake: exit 70, the traceback of ``cause`` in ``log``."""

    def __init__(self, log: Path, cause: BaseException) -> None:
        super().__init__(str(log))
        self.log = log
        self.cause = cause


def _internal_error_line(cause: BaseException, log: Path) -> str:
    """The one line an internal error gets on stderr: what was raised, where, and where its traceback is.

    The exception's message is left to the log (it may quote a value of the environment); its
    type and innermost frame tell whether gameday's code or a plugin's (an experiment's or a
    playbook's provider module) raised it.
    """
    import traceback

    frames = traceback.extract_tb(cause.__traceback__)
    where = f" in {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return (
        f"gameday: internal error: {type(cause).__name__} raised{where} (a bug of gameday or of a plugin it ran, "
        f"not your mistake); the traceback is in {log}"
    )


@contextlib.contextmanager
def _run_signals() -> Iterator[None]:
    """For a whole run: SIGTERM/SIGHUP unwind as Ctrl-C does (a sandbox of its own is stopped, also while it
    starts); stdout/stderr survive a terminal that went away; every handler and stream is restored after."""
    import signal

    from gamedays.engine.terminal import SurvivingStream

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.getsignal(sig) for sig in signals}
    streams = sys.stdout, sys.stderr
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    sys.stdout, sys.stderr = SurvivingStream(sys.stdout, "stdout"), SurvivingStream(sys.stderr, "stderr")
    try:
        yield
    finally:
        sys.stdout, sys.stderr = streams
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _log_to(path: Path) -> None:
    """Send the libraries' and the sandbox's logging to a file: the terminal shows only gameday's own lines."""
    from gamedays.engine.logs import LogFormat, RunLogging

    RunLogging(path, LogFormat.HUMAN, gameday=None)


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
        _echo_safely("interrupted")
        sys.exit(ExitCode.ABORTED)
    except InternalError as exc:
        _echo_safely(_internal_error_line(exc.cause, exc.log))
        sys.exit(ExitCode.INTERNAL)
    except SystemExit:
        raise
    except BaseException as exc:  # a bug before a run's log exists: its traceback in a file of its own
        _echo_safely(_internal_error_line(exc, _crash_log(exc)))
        sys.exit(ExitCode.INTERNAL)
    sys.exit(result if isinstance(result, int) else ExitCode.OK)


def _echo_safely(text: str) -> None:
    with contextlib.suppress(OSError):
        click.echo(text, err=True)


def _crash_log(exc: BaseException) -> Path:
    """Write ``exc``'s traceback under $GAMEDAY_HOME (or the temp dir when that is not writable)."""
    import os
    import tempfile
    import time
    import traceback

    from gamedays.home import home

    text = "".join(traceback.format_exception(exc))
    name = f"internal-error-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    for folder in (home(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
            return folder / name
        except OSError:
            continue
    return Path(name)
