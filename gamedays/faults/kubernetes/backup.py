"""Kubernetes disaster recovery: back a namespace's workloads up, lose them, restore them.

The Kubernetes playbook's disaster is "the workloads of a namespace are gone":
:func:`delete_workloads` deletes its deployments, replicasets, pods and services (the
namespace itself stays). The recovery re-creates them from the manifests
:func:`backup_namespace` saved before the disaster (:func:`restore_namespace`), and waits
until every deployment has all its replicas available.

    backup                                  disaster                    recovery
    backup_namespace(namespace, path)       delete_workloads(namespace) restore_namespace(path)

They talk to the API through the official ``kubernetes`` client, configured from
``KUBECONFIG`` (read when called, like chaosk8s), imported lazily. Manifests are clean:
no status, uid, resourceVersion, creationTimestamp, generation, managedFields or
controller-written annotations; a service keeps ``clusterIP: None`` (headless) but drops
an allocated address. Objects owned by another (``ownerReferences``) are not saved: their
owner re-creates them. ConfigMaps are saved too when the API serves them; Secrets are
not (their data would sit in a plain file). The backup is YAML when ``path`` ends in
``.yaml``/``.yml``, JSON otherwise, written atomically. Failures raise chaoslib's
``ActivityFailed`` naming the namespace, the object and what is expected.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from gamedays.atomicfile import write_atomically
from gamedays.model.reach import Reach, acts_on

__all__ = ["backup_namespace", "delete_workloads", "restore_namespace"]

log = logging.getLogger(__name__)

FORMAT = "gameday-namespace-backup/1"
_POLL = 0.2
_DROPPED_META = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink", "deletionTimestamp")
_DROPPED_ANNOTATIONS = ("deployment.kubernetes.io/revision", "kubectl.kubernetes.io/last-applied-configuration")


@dataclass(frozen=True)
class Kind:
    """One kind the backup covers: its apiVersion, plural, and how the client lists/creates it."""

    api_version: str
    kind: str
    plural: str


DEPLOYMENT = Kind("apps/v1", "Deployment", "deployments")
SERVICE = Kind("v1", "Service", "services")
CONFIGMAP = Kind("v1", "ConfigMap", "configmaps")
#: Creation order on restore: what others use first.
_ORDER = {"ConfigMap": 0, "Service": 1, "Deployment": 2}


@acts_on(Reach.KUBERNETES)
def backup_namespace(namespace: str, path: str) -> dict[str, Any]:
    """Save the deployments, services (and configmaps, when served) of ``namespace`` to ``path``; returns a summary."""
    _check_name("namespace", namespace)
    api = _Api.connect()
    api.require_namespace(namespace)
    kinds = [DEPLOYMENT, SERVICE] + ([CONFIGMAP] if api.serves(CONFIGMAP) else [])
    items: list[dict[str, Any]] = []
    for kind in kinds:
        for obj in api.list(kind, namespace):
            if obj.get("metadata", {}).get("ownerReferences"):
                continue  # its owner re-creates it
            items.append(clean_manifest(obj, kind))
    data = {"format": FORMAT, "namespace": namespace, "taken_at": time.time(), "items": items}
    target = Path(path)
    text = yaml.safe_dump(data, sort_keys=False) if target.suffix in (".yaml", ".yml") else json.dumps(data, indent=2) + "\n"
    try:
        write_atomically(target, text)
    except OSError as exc:
        raise _failed(f"cannot write the namespace backup {path}: {exc.strerror or exc}") from None
    names = [f"{i['kind']}/{i['metadata']['name']}" for i in items]
    log.info("backed up %s of namespace %s to %s", names, namespace, path)
    return {"namespace": namespace, "path": str(target), "objects": names}


@acts_on(Reach.KUBERNETES)
def delete_workloads(namespace: str, wait_seconds: float = 60.0) -> dict[str, Any]:
    """The disaster: delete the deployments, replicasets, pods and services of ``namespace``; wait until no pod is left.

    The namespace stays. Returns what was deleted, by kind.
    """
    _check_name("namespace", namespace)
    deadline = time.monotonic() + float(wait_seconds)
    api = _Api.connect()
    api.require_namespace(namespace)
    deleted: dict[str, list[str]] = {}
    for kind in (DEPLOYMENT, Kind("apps/v1", "ReplicaSet", "replicasets"), Kind("v1", "Pod", "pods"), SERVICE):
        names = [obj["metadata"]["name"] for obj in api.list(kind, namespace)]
        deleted[kind.plural] = [name for name in names if api.delete(kind, namespace, name)]
    left = _wait(lambda: not api.list(Kind("v1", "Pod", "pods"), namespace), deadline)
    if not left:
        pods = [p["metadata"]["name"] for p in api.list(Kind("v1", "Pod", "pods"), namespace)]
        raise _failed(f"pods {pods} of namespace {namespace} are still there {wait_seconds:g}s after their deletion")
    log.info("deleted the workloads of namespace %s: %s", namespace, deleted)
    return {"namespace": namespace, "deleted": deleted}


@acts_on(Reach.KUBERNETES)
def restore_namespace(path: str, wait_seconds: float = 60.0) -> dict[str, Any]:
    """Create every object of the backup at ``path`` that does not exist; wait until every deployment is available.

    Idempotent: objects that exist are left as they are (``existing``). The namespace is
    created when it is missing. Returns ``created``, ``existing`` and ``seconds`` (until available).
    """
    began = time.monotonic()
    deadline = began + float(wait_seconds)
    namespace, items = _read_backup(Path(path))
    api = _Api.connect()
    namespace_created = api.ensure_namespace(namespace)
    created: list[str] = []
    existing: list[str] = []
    for item in sorted(items, key=lambda i: _ORDER.get(str(i.get("kind")), 9)):
        kind = _kind_of(item, path)
        name = f"{kind.kind}/{item['metadata']['name']}"
        (created if api.create(kind, namespace, item) else existing).append(name)
    deployments = [i["metadata"]["name"] for i in items if i.get("kind") == "Deployment"]
    if not _wait(lambda: not api.unavailable(namespace, deployments), deadline):
        raise _failed(
            f"deployments of namespace {namespace} not available {wait_seconds:g}s after the restore: "
            f"{'; '.join(api.unavailable(namespace, deployments))}"
        )
    seconds = round(time.monotonic() - began, 3)
    log.info("restored namespace %s from %s: created %s, existing %s (%.2fs)", namespace, path, created, existing, seconds)
    return {
        "namespace": namespace, "namespace_created": namespace_created, "created": created, "existing": existing,
        "seconds": seconds,
    }  # fmt: skip


def clean_manifest(obj: dict[str, Any], kind: Kind) -> dict[str, Any]:
    """``obj`` as a manifest to create again: apiVersion, kind, metadata a client writes, spec (no status)."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _DROPPED_META and v not in (None, {}, [])}
    meta.pop("ownerReferences", None)
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in _DROPPED_ANNOTATIONS}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    manifest: dict[str, Any] = {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": meta}
    for field in ("spec", "data", "binaryData"):
        if field in obj and obj[field] is not None:
            manifest[field] = json.loads(json.dumps(obj[field]))
    spec = manifest.get("spec")
    if kind is SERVICE and isinstance(spec, dict) and spec.get("clusterIP") not in (None, "None"):
        spec.pop("clusterIP", None)  # an allocated address: the API gives a new one
        spec.pop("clusterIPs", None)
    template_meta = (spec or {}).get("template", {}).get("metadata") if isinstance(spec, dict) else None
    if isinstance(template_meta, dict):
        template_meta.pop("creationTimestamp", None)
    return manifest


class _Api:
    """The few calls the functions need, on raw JSON (no model round trip), errors turned into ActivityFailed."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def connect(cls) -> _Api:
        from kubernetes import config
        from kubernetes.config.config_exception import ConfigException

        config_file = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
        try:
            return cls(config.new_client_from_config(config_file=config_file))
        except (ConfigException, OSError) as exc:
            raise _failed(
                f"cannot load the Kubernetes configuration from {config_file}: {exc}; set KUBECONFIG to a kubeconfig file"
            ) from None

    def call(self, method: str, path: str, what: str, body: Any = None, missing_ok: bool = False) -> dict[str, Any] | None:
        """The JSON answer; None for 404 (``missing_ok``) and for 409 on create (it exists); else ActivityFailed."""
        from kubernetes.client.rest import ApiException
        from urllib3.exceptions import HTTPError

        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        try:
            request = self.client.param_serialize(method, path, header_params=headers, body=body, auth_settings=["BearerToken"])
            response = self.client.call_api(*request[:4], _request_timeout=10)
            raw = response.read()
        except ApiException as exc:
            raise _failed(f"Kubernetes API at {self.host} failed to {what}: {exc.reason}") from None
        except (HTTPError, OSError) as exc:
            raise _failed(f"cannot reach the Kubernetes API at {self.host} (trying to {what}): {exc}") from None
        if response.status == 404 and missing_ok:
            return None
        if response.status == 409 and method == "POST":
            return None
        if not 200 <= response.status <= 299:
            raise _failed(f"Kubernetes API at {self.host} refused to {what}: {response.status} {_reason(raw)}")
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise _failed(f"Kubernetes API at {self.host} answered {what} with something else than JSON") from None
        return data if isinstance(data, dict) else {}

    @property
    def host(self) -> str:
        return str(self.client.configuration.host)

    def serves(self, kind: Kind) -> bool:
        found = self.call("GET", f"/{_base(kind)}", f"discover {kind.api_version}")
        return any(r.get("name") == kind.plural for r in (found or {}).get("resources", []))

    def require_namespace(self, namespace: str) -> None:
        if self.call("GET", f"/api/v1/namespaces/{namespace}", f"read namespace {namespace}", missing_ok=True) is None:
            raise _failed(f"namespace {namespace!r} does not exist on {self.host}: name an existing namespace")

    def ensure_namespace(self, namespace: str) -> bool:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        return self.call("POST", "/api/v1/namespaces", f"create namespace {namespace}", body) is not None

    def list(self, kind: Kind, namespace: str) -> list[dict[str, Any]]:
        found = self.call("GET", _collection(kind, namespace), f"list {kind.plural} of namespace {namespace}")
        return list((found or {}).get("items") or [])

    def delete(self, kind: Kind, namespace: str, name: str) -> bool:
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        path = f"{_collection(kind, namespace)}/{name}"
        return self.call("DELETE", path, f"delete {kind.kind} {namespace}/{name}", body, missing_ok=True) is not None

    def create(self, kind: Kind, namespace: str, manifest: dict[str, Any]) -> bool:
        """True when created, False when it already existed."""
        body = {**manifest, "metadata": {**manifest["metadata"], "namespace": namespace}}
        what = f"create {kind.kind} {namespace}/{manifest['metadata']['name']}"
        return self.call("POST", _collection(kind, namespace), what, body) is not None

    def unavailable(self, namespace: str, names: list[str]) -> list[str]:
        """The deployments among ``names`` not yet at all their replicas updated and available, with their counts."""
        waiting = []
        for name in names:
            found = self.call("GET", f"{_collection(DEPLOYMENT, namespace)}/{name}", f"read deployment {namespace}/{name}", missing_ok=True)
            if found is None:
                waiting.append(f"{name}: missing")
                continue
            wanted = int((found.get("spec") or {}).get("replicas", 1))
            status = found.get("status") or {}
            available, updated = int(status.get("availableReplicas") or 0), int(status.get("updatedReplicas") or 0)
            if available < wanted or updated < wanted:
                waiting.append(f"{name}: {available}/{wanted} available")
        return waiting


def _base(kind: Kind) -> str:
    return f"apis/{kind.api_version}" if "/" in kind.api_version else f"api/{kind.api_version}"


def _collection(kind: Kind, namespace: str) -> str:
    return f"/{_base(kind)}/namespaces/{namespace}/{kind.plural}"


def _kind_of(item: dict[str, Any], path: str) -> Kind:
    for kind in (DEPLOYMENT, SERVICE, CONFIGMAP):
        if (item.get("apiVersion"), item.get("kind")) == (kind.api_version, kind.kind):
            return kind
    raise _failed(
        f"namespace backup {path} holds a {item.get('apiVersion')} {item.get('kind')}: "
        "only apps/v1 Deployment, v1 Service and v1 ConfigMap are restored"
    )


def _read_backup(path: Path) -> tuple[str, list[dict[str, Any]]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _failed(f"namespace backup {path} does not exist: take one with backup_namespace before the disaster") from None
    except (OSError, yaml.YAMLError) as exc:
        raise _failed(f"cannot read the namespace backup {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("items"), list):
        raise _failed(f"{path} is not a namespace backup written by gamedays.faults.kubernetes.backup.backup_namespace")
    namespace = data.get("namespace")
    _check_name(f"the namespace in {path}", namespace)
    for item in data["items"]:
        if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict) or not item["metadata"].get("name"):
            raise _failed(f"namespace backup {path} has an object without metadata.name; take a new backup")
    return str(namespace), list(data["items"])


def _check_name(what: str, value: object) -> None:
    if not isinstance(value, str) or not value or len(value) > 63 or not all(c.isalnum() or c == "-" for c in value):
        raise _failed(f"{what} must be a Kubernetes namespace name (lower-case letters, digits, '-'), got {value!r}")
    if value != value.lower() or value.startswith("-") or value.endswith("-"):
        raise _failed(f"{what} must be a Kubernetes namespace name (lower-case letters, digits, '-'), got {value!r}")


def _reason(raw: bytes) -> str:
    try:
        return str(json.loads(raw).get("message"))
    except (TypeError, ValueError, AttributeError):
        return raw[:200].decode(errors="replace")


def _wait(check: Callable[[], bool], deadline: float) -> bool:
    while not check():
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)
    return True


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed (imported late, as in the other fault modules)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
