"""Apply the manifests of :mod:`gamedays.deploy.manifests` to a cluster: create what is missing, update the rest.

The cluster is the current context of the kubeconfig (``KUBECONFIG``, ``~/.kube/config``), or the
one the process runs in. Before anything is written, the namespaces the objects go to must exist
(gameday does not create namespaces: their quotas and policies are the cluster's owners'). A Job
that exists already is never replaced: it ran, or runs, the plan; running it again is deleting it
first, so that nobody re-injects a month's faults by re-deploying. Everything else (the
ServiceAccount, the RBAC, the ConfigMap, a CronJob) is updated in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gamedays.kubecontext import NoCluster, current_cluster
from gamedays.model.errors import UsageError


@dataclass(frozen=True)
class Applied:
    kind: str
    name: str
    namespace: str | None
    action: str  # created, updated

    def describe(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.kind.lower()}/{self.name}{where} {self.action}"


class DeployRefused(UsageError):
    """The cluster (or a Job already there) refused the deploy; what was applied before is named."""


def cluster_client(command: str) -> tuple[Any, str]:
    """An API client for the current kubeconfig context (or in-cluster), and a description of that cluster."""
    try:
        return current_cluster()
    except NoCluster as exc:
        raise UsageError(f"gameday {command}: no cluster: {exc}") from None


def apply(objects: Sequence[dict[str, Any]], api: Any, cluster: str) -> list[Applied]:
    """Create or update each object, in order; :class:`DeployRefused` names what failed and what was applied."""
    from kubernetes import dynamic
    from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError

    client = dynamic.DynamicClient(api)  # type: ignore[no-untyped-call]
    _check_namespaces(client, objects, cluster)
    applied: list[Applied] = []
    for body in objects:
        kind, name = body["kind"], body["metadata"]["name"]
        namespace = body["metadata"].get("namespace")
        resource = client.resources.get(api_version=body["apiVersion"], kind=kind)
        try:
            try:
                current = resource.get(name=name, namespace=namespace)
            except NotFoundError:
                resource.create(body=body, namespace=namespace)
                applied.append(Applied(kind, name, namespace, "created"))
                continue
            if kind == "Job":
                raise DeployRefused(
                    f"gameday deploy: Job {name} exists in namespace {namespace} on {cluster} "
                    f"({_job_state(current.to_dict())}): it ran this plan already. A Job runs once; to run it "
                    f"again delete it first (kubectl -n {namespace} delete job {name}), or deploy with --schedule"
                    + _so_far(applied)
                )
            updated = {**body, "metadata": {**body["metadata"], "resourceVersion": current.metadata.resourceVersion}}
            resource.replace(body=updated, namespace=namespace)
            applied.append(Applied(kind, name, namespace, "updated"))
        except DynamicApiError as exc:
            where = f" in namespace {namespace}" if namespace else ""
            raise DeployRefused(
                f"gameday deploy: {cluster} refused {kind} {name}{where}: {exc.status} {exc.reason}"
                f"{_hint(exc.status)}{_so_far(applied)}"
            ) from None
    return applied


def _check_namespaces(client: Any, objects: Sequence[dict[str, Any]], cluster: str) -> None:
    from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError

    namespaces = client.resources.get(api_version="v1", kind="Namespace")
    for wanted in sorted({o["metadata"]["namespace"] for o in objects if o["metadata"].get("namespace")}):
        try:
            namespaces.get(name=wanted)
        except NotFoundError:
            raise DeployRefused(
                f"gameday deploy: namespace {wanted} does not exist on {cluster}; nothing was applied. "
                f"Create it (kubectl create namespace {wanted}) or give --namespace"
            ) from None
        except DynamicApiError as exc:
            raise DeployRefused(f"gameday deploy: {cluster} refused to read namespace {wanted}: {exc.status} {exc.reason}") from None


def _job_state(job: dict[str, Any]) -> str:
    status = job.get("status") or {}
    for field in ("active", "succeeded", "failed"):
        if status.get(field):
            return field
    return "not started"


def _hint(status: int | None) -> str:
    if status == 403:
        return " (the identity deploying needs create and update on these objects, RBAC included: a cluster admin's job)"
    return ""


def _so_far(applied: list[Applied]) -> str:
    if not applied:
        return "; nothing was applied"
    return "; applied before: " + ", ".join(a.describe() for a in applied)
