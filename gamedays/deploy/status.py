"""`gameday status`: the gamedays deployed in a namespace (Jobs and CronJobs of `gameday deploy`) and how each goes.

A Job is *not started* (no pod yet), *running* (since its start), or finished: its pod's exit
code is the gameday's (0 passed, 1 findings, 2 invalid input, 3 aborted, 70 internal error),
and a Job the cluster stopped says why (``DeadlineExceeded``: the plan outlived its deadline).
A CronJob shows its schedule, when it last started a Job and how many run now; its Jobs are
listed as Jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gamedays.deploy.manifests import APP_LABEL, PLAN_LABEL
from gamedays.model.outcomes import ExitCode

_EXIT_WORDS = {
    ExitCode.OK: "passed", ExitCode.FINDINGS: "findings", ExitCode.INVALID: "invalid input",
    ExitCode.ABORTED: "aborted", ExitCode.INTERNAL: "internal error",
}  # fmt: skip


@dataclass(frozen=True)
class Deployed:
    kind: str  # Job, CronJob
    name: str
    plan: str
    state: str


def deployed(api: Any, namespace: str, cluster: str) -> list[Deployed]:
    """Every Job and CronJob labelled as gameday's in ``namespace``, Jobs with their pods' exit codes."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    from gamedays.model.errors import UsageError

    selector = f"{APP_LABEL}=gameday"
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    try:
        cronjobs: list[Any] = batch.list_namespaced_cron_job(namespace, label_selector=selector).items
        jobs: list[Any] = batch.list_namespaced_job(namespace, label_selector=selector).items
        pods: list[Any] = core.list_namespaced_pod(namespace, label_selector=selector).items
    except ApiException as exc:
        raise UsageError(f"gameday status: {cluster} refused to list namespace {namespace}: {exc.status} {exc.reason}") from None
    found = [Deployed("CronJob", str(c.metadata.name), _plan(c), _cron_state(c)) for c in cronjobs]
    found += [Deployed("Job", str(j.metadata.name), _plan(j), _job_state(j, _pods_of(j, pods))) for j in jobs]
    return sorted(found, key=lambda d: (d.kind != "CronJob", d.name))


def render(found: list[Deployed], namespace: str, cluster: str) -> str:
    if not found:
        return f"no gameday is deployed in namespace {namespace} on {cluster}"
    rows = [("KIND", "NAME", "PLAN", "STATE")] + [(d.kind, d.name, d.plan, d.state) for d in found]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"gamedays in namespace {namespace} on {cluster}:"]
    lines += ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3] for row in rows]
    return "\n".join(lines)


def _plan(obj: Any) -> str:
    return str((obj.metadata.labels or {}).get(PLAN_LABEL, "?"))


def _pods_of(job: Any, pods: list[Any]) -> list[Any]:
    uid = job.metadata.uid
    return [p for p in pods if any(ref.uid == uid for ref in p.metadata.owner_references or ())]


def _job_state(job: Any, pods: list[Any]) -> str:
    status = job.status
    for pod in pods:
        for container in (pod.status.container_statuses or []) if pod.status else []:
            terminated = container.state.terminated if container.state else None
            if terminated is not None:
                return _exit_state(int(terminated.exit_code), terminated.finished_at)
    for condition in (status.conditions or []) if status else []:
        if condition.type == "Failed" and condition.status == "True":
            return f"stopped by the cluster: {condition.reason} ({condition.message or 'no message'})"
    if status is not None and status.active:
        return f"running since {_time(status.start_time)}"
    return "not started (no pod yet)"


def _exit_state(code: int, finished: Any) -> str:
    try:
        word = _EXIT_WORDS[ExitCode(code)]
    except ValueError:
        word = "killed" if code > 128 else "unknown exit code"
    return f"finished {_time(finished)}: {word} (exit {code})"


def _cron_state(cronjob: Any) -> str:
    status, spec = cronjob.status, cronjob.spec
    last = _time(status.last_schedule_time) if status is not None and status.last_schedule_time else "never"
    active = len(status.active or []) if status is not None else 0
    suspended = ", suspended" if spec.suspend else ""
    return f"schedule '{spec.schedule}'{suspended}, last started {last}, {active} running"


def _time(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value or "?")
