"""The Kubernetes manifests that run a loaded plan in a cluster (pure: objects as mappings, then YAML).

A ServiceAccount; a Role and RoleBinding per namespace the plan acts in, and a ClusterRole and
ClusterRoleBinding when it needs cluster-wide access, holding only the permissions its catalog
entries declare; a ConfigMap with the plan's files; a Job (or, with a schedule, a CronJob) that
copies them into a writable emptyDir and runs ``gameday run PLAN --confirm ENVIRONMENT`` there.
``backoffLimit: 0``: a retry would inject the faults again.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from typing import Any

from gamedays.deploy.bundle import Bundle
from gamedays.deploy.rbac import Permission, Rules, rules
from gamedays.loading.source import display_path
from gamedays.model.errors import UsageError
from gamedays.model.loaded import LoadedPlan
from gamedays.model.reach import Reach

DEADLINE_MARGIN = 600  # seconds on top of the plan's longest duration: start-up, copying, the report
TTL_AFTER_FINISHED = 7 * 86400  # a finished Job (and its pod's logs) stays a week
STARTING_DEADLINE = 300  # a scheduled run more than 5 minutes late is skipped
MAX_NAME = 52  # a CronJob's name (its Jobs add 11 characters to it)
WORKDIR = "/work"  # the runner image's (Dockerfile) working directory: an emptyDir in the pod
RUNNER_UID = 10001  # the runner image's unprivileged user
FILES = "/gameday/files"
APP_LABEL = "app.kubernetes.io/name"  # "gameday" on every object, and on the Job's pods: what `gameday status` lists
PLAN_LABEL = "gameday/plan"  # the plan's gameday id
_CRON_SHORTHANDS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?]+$")


@dataclass(frozen=True)
class Options:
    namespace: str
    image: str
    schedule: str | None = None


def name_for(gameday: str) -> str:
    """A DNS-1123 name for the gameday's objects: ``gameday-2024-05``."""
    slug = re.sub(r"[^a-z0-9-]+", "-", f"gameday-{gameday}".lower())
    return re.sub(r"-+", "-", slug)[:MAX_NAME].strip("-")


def check_schedule(schedule: str) -> None:
    fields = schedule.split()
    if schedule.strip() in _CRON_SHORTHANDS or (len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields)):
        return
    raise UsageError(
        f"--schedule {schedule!r} is not a cron schedule: give 5 fields (minute hour day-of-month month "
        f"day-of-week, e.g. '0 10 * * 2') or one of {', '.join(sorted(_CRON_SHORTHANDS))}"
    )


def permissions(loaded: LoadedPlan, default_namespace: str) -> list[Permission]:
    """Every kubernetes permission the plan's experiments and playbooks declare, in the namespace each acts on."""
    found = []
    for step in loaded.steps:
        declared = step.reach.permissions.get(Reach.KUBERNETES, ()) if step.reach else ()
        namespace = _namespace(step.configuration().get("namespace"), default_namespace)
        found += [Permission(p, display_path(step.experiment_path), namespace) for p in declared]
    for dr in loaded.disaster_recovery:
        declared = dr.playbook.permissions.get(Reach.KUBERNETES, ())
        namespace = _namespace(dr.playbook.configuration.get("namespace"), default_namespace)
        found += [Permission(p, display_path(dr.playbook_path), namespace) for p in declared]
    return found


def manifests(loaded: LoadedPlan, files: Bundle, options: Options) -> list[dict[str, Any]]:
    """The objects, in the order to apply them."""
    plan = loaded.plan
    name = name_for(plan.gameday)
    labels = {APP_LABEL: "gameday", PLAN_LABEL: _label(plan.gameday)}
    granted = rules(permissions(loaded, options.namespace))
    objects: list[dict[str, Any]] = [_object("v1", "ServiceAccount", name, labels, options.namespace)]
    objects += _rbac(name, labels, options.namespace, granted)
    keys = _keys(files)
    objects.append({**_object("v1", "ConfigMap", name, labels, options.namespace),
                    "data": {keys[path]: text for path, text in files.files}})
    deadline = math.ceil(loaded.estimated_duration().longest.seconds) + DEADLINE_MARGIN
    job_spec = {
        "backoffLimit": 0,
        "activeDeadlineSeconds": deadline,
        "ttlSecondsAfterFinished": TTL_AFTER_FINISHED,
        "template": {"metadata": {"labels": labels}, "spec": _pod(name, files, keys, plan.environment, options.image)},
    }
    if options.schedule is None:
        objects.append({**_object("batch/v1", "Job", name, labels, options.namespace), "spec": job_spec})
    else:
        check_schedule(options.schedule)
        objects.append({**_object("batch/v1", "CronJob", name, labels, options.namespace), "spec": {
            "schedule": options.schedule,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": STARTING_DEADLINE,
            "jobTemplate": {"metadata": {"labels": labels}, "spec": job_spec},
        }})
    return objects


def to_yaml(objects: list[dict[str, Any]]) -> str:
    """A multi-document YAML stream; file contents as literal blocks."""
    from ruamel.yaml import YAML
    from ruamel.yaml.scalarstring import LiteralScalarString

    def literal(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: literal(v) for k, v in value.items()}
        if isinstance(value, list):
            return [literal(v) for v in value]
        if isinstance(value, str) and "\n" in value:
            return LiteralScalarString(value)
        return value

    yaml = YAML()
    yaml.explicit_start = True
    out = io.StringIO()
    yaml.dump_all([literal(o) for o in objects], out)
    return out.getvalue()


def _rbac(name: str, labels: dict[str, str], namespace: str, granted: Rules) -> list[dict[str, Any]]:
    subject = [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]
    objects: list[dict[str, Any]] = []
    for ns, found in granted.namespaced.items():
        objects.append({**_object("rbac.authorization.k8s.io/v1", "Role", name, labels, ns),
                        "rules": [r.to_dict() for r in found]})
        objects.append({**_object("rbac.authorization.k8s.io/v1", "RoleBinding", name, labels, ns),
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                        "subjects": subject})
    if granted.cluster:
        objects.append({**_object("rbac.authorization.k8s.io/v1", "ClusterRole", name, labels, None),
                        "rules": [r.to_dict() for r in granted.cluster]})
        objects.append({**_object("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", name, labels, None),
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                        "subjects": subject})
    return objects


def _pod(name: str, files: Bundle, keys: dict[str, str], environment: str, image: str) -> dict[str, Any]:
    run = f"cp -RL {FILES}/. {WORKDIR}/ && exec gameday run {files.plan} --confirm {environment}"
    return {
        "serviceAccountName": name,
        "restartPolicy": "Never",
        "securityContext": {"runAsNonRoot": True, "runAsUser": RUNNER_UID, "runAsGroup": RUNNER_UID, "fsGroup": RUNNER_UID},
        "containers": [{
            "name": "gameday",
            "image": image,
            "command": ["sh", "-c", run],
            "workingDir": WORKDIR,
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            # gameday's state (the local copy of a report folder in S3) in the writable emptyDir
            "env": [{"name": "GAMEDAY_HOME", "value": f"{WORKDIR}/.gameday"}],
            "volumeMounts": [{"name": "files", "mountPath": FILES, "readOnly": True},
                             {"name": "work", "mountPath": WORKDIR}],
        }],
        "volumes": [
            {"name": "files", "configMap": {"name": name, "items": [
                {"key": keys[path], "path": path} for path, _ in files.files]}},
            {"name": "work", "emptyDir": {}},
        ],
    }


def _keys(files: Bundle) -> dict[str, str]:
    """A ConfigMap key per file (``[-._a-zA-Z0-9]``): its path with ``/`` as ``__``."""
    keys = {path: re.sub(r"[^-._a-zA-Z0-9]", "_", path.replace("/", "__")) for path, _ in files.files}
    if len(set(keys.values())) != len(keys):
        raise UsageError(f"two of the plan's files make the same ConfigMap key: {', '.join(sorted(keys))}")
    return keys


def _namespace(value: Any, default: str) -> str:
    return value if isinstance(value, str) and value else default


def _label(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", value)[:63].strip("-._") or "gameday"


def _object(api_version: str, kind: str, name: str, labels: dict[str, str], namespace: str | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": dict(labels)}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}
