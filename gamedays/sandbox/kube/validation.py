"""Defaulting and validation of the objects clients write, as the API server does on admission.

A create or an update goes through :func:`admit`: defaults are filled in (pod specs get
their ``volumes: []``, restart policy and grace period; deployments their strategy and
replica count...), then every broken rule becomes one cause of a 422 Invalid, with the
field path and message the real API would give.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any, Callable, Mapping

from gamedays.sandbox.kube.errors import Cause, invalid
from gamedays.sandbox.kube.objects import DEFAULT_GRACE_SECONDS, node_status
from gamedays.sandbox.kube.resources import JsonObject, Resource
from gamedays.sandbox.kube.selectors import LabelSelector, SelectorError
from gamedays.sandbox.kube.store import now_rfc3339

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL_NAMES = frozenset({"namespaces", "services"})


def admit(resource: Resource, obj: JsonObject, old: JsonObject | None = None) -> JsonObject:
    """``obj`` with defaults applied, or 422 Invalid listing every broken rule.

    On update (``old`` given) the status is the stored one: clients write specs, the
    control plane writes statuses.
    """
    obj["apiVersion"] = resource.api_version if resource.store_key != "events" else "v1"
    obj["kind"] = resource.kind
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise invalid(resource.kind, "", (Cause("metadata", "must be an object"),), resource.group)
    causes: list[Cause] = []
    _check_name(resource, meta, causes)
    for field in ("labels", "annotations"):
        if meta.get(field) is None:
            meta[field] = {}
        elif not isinstance(meta[field], dict):
            causes.append(Cause(f"metadata.{field}", "must be a map of strings"))
    if meta.get("ownerReferences") is None:
        meta["ownerReferences"] = []
    if old is not None and "status" in old:
        obj["status"] = old["status"]
    checker = _CHECKS.get(resource.store_key)
    if checker is not None:
        checker(obj, causes)
    if causes:
        raise invalid(resource.kind, str(meta.get("name", "")), tuple(causes), resource.group)
    return obj


def _check_name(resource: Resource, meta: JsonObject, causes: list[Cause]) -> None:
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        causes.append(Cause("metadata.name", "Required value: name or generateName is required", "FieldValueRequired"))
        return
    pattern, limit = (_LABEL, 63) if resource.plural in _DNS_LABEL_NAMES else (_SUBDOMAIN, 253)
    if resource.store_key == "events":
        return
    if not pattern.match(name) or len(name) > limit:
        causes.append(
            Cause(
                "metadata.name",
                f'Invalid value: "{name}": a lowercase RFC 1123 name must consist of '
                "lower case alphanumeric characters, '-' or '.', and must start and end with an "
                "alphanumeric character",
            )
        )


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def default_pod_spec(spec: JsonObject) -> None:
    """The defaults the API server gives every pod spec (and pod template spec)."""
    if spec.get("volumes") is None:
        spec["volumes"] = []
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    for container in spec.get("containers") or []:
        if isinstance(container, dict):
            container.setdefault("imagePullPolicy", "IfNotPresent")
            container.setdefault("resources", {})
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            for port in container.get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")


def check_pod_spec(spec: Any, path: str, causes: list[Cause]) -> None:
    if not isinstance(spec, dict):
        causes.append(Cause(path, "Required value", "FieldValueRequired"))
        return
    default_pod_spec(spec)
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        causes.append(Cause(f"{path}.containers", "Required value", "FieldValueRequired"))
        return
    for index, container in enumerate(containers):
        where = f"{path}.containers[{index}]"
        if not isinstance(container, dict):
            causes.append(Cause(where, "must be an object"))
            continue
        if not isinstance(container.get("name"), str) or not _LABEL.match(container["name"]):
            causes.append(Cause(f"{where}.name", "Required value: a DNS-1123 label", "FieldValueRequired"))
        if not isinstance(container.get("image"), str) or not container["image"].strip():
            causes.append(Cause(f"{where}.image", "Required value", "FieldValueRequired"))
        for p_index, port in enumerate(container.get("ports") or []):
            number = port.get("containerPort") if isinstance(port, dict) else None
            if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 65536:
                causes.append(
                    Cause(
                        f"{where}.ports[{p_index}].containerPort",
                        f"Invalid value: {number!r}: must be between 1 and 65535, inclusive",
                    )
                )
    for index, volume in enumerate(spec["volumes"]):
        if not isinstance(volume, dict) or not volume.get("name"):
            causes.append(Cause(f"{path}.volumes[{index}].name", "Required value", "FieldValueRequired"))


def _check_pod(obj: JsonObject, causes: list[Cause]) -> None:
    check_pod_spec(obj.get("spec"), "spec", causes)
    obj.setdefault("status", {"phase": "Pending", "conditions": [], "qosClass": "BestEffort"})


def _check_workload(obj: JsonObject, causes: list[Cause], deployment: bool) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        causes.append(Cause("spec", "Required value", "FieldValueRequired"))
        return
    spec.setdefault("replicas", 1)
    if not _is_count(spec["replicas"]):
        causes.append(
            Cause("spec.replicas", f"Invalid value: {spec['replicas']!r}: must be greater than or equal to 0")
        )
    spec.setdefault("minReadySeconds", 0)
    template = spec.get("template")
    if not isinstance(template, dict):
        causes.append(Cause("spec.template", "Required value", "FieldValueRequired"))
        return
    template_meta = template.setdefault("metadata", {})
    check_pod_spec(template.get("spec"), "spec.template.spec", causes)
    selector = spec.get("selector")
    if not isinstance(selector, dict) or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.append(Cause("spec.selector", "Required value", "FieldValueRequired"))
    else:
        try:
            parsed = LabelSelector.from_object(selector)
        except SelectorError as exc:
            causes.append(Cause("spec.selector", f"Invalid value: {exc}"))
        else:
            if not parsed.matches(template_meta.get("labels")):
                causes.append(
                    Cause(
                        "spec.template.metadata.labels",
                        f"Invalid value: {template_meta.get('labels')!r}: `selector` does not match template `labels`",
                    )
                )
    if deployment:
        strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
        if strategy.get("type", "RollingUpdate") not in ("RollingUpdate", "Recreate"):
            causes.append(
                Cause(
                    "spec.strategy.type",
                    f'Unsupported value: {strategy.get("type")!r}: supported values: "Recreate", "RollingUpdate"',
                    "FieldValueNotSupported",
                )
            )
        if strategy.setdefault("type", "RollingUpdate") == "RollingUpdate":
            strategy.setdefault("rollingUpdate", {"maxUnavailable": "25%", "maxSurge": "25%"})
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
    obj.setdefault("status", {"observedGeneration": 0, "replicas": 0} if deployment else {"replicas": 0})


def _check_deployment(obj: JsonObject, causes: list[Cause]) -> None:
    _check_workload(obj, causes, deployment=True)


def _check_replicaset(obj: JsonObject, causes: list[Cause]) -> None:
    _check_workload(obj, causes, deployment=False)


def _check_node(obj: JsonObject, causes: list[Cause]) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        causes.append(Cause("spec", "must be an object"))
        return
    if spec.get("unschedulable") is None:
        spec["unschedulable"] = False
    if not isinstance(spec["unschedulable"], bool):
        causes.append(Cause("spec.unschedulable", f"Invalid value: {spec['unschedulable']!r}: must be a boolean"))
    if spec.get("taints") is None:
        spec["taints"] = []
    obj.setdefault("status", node_status(now_rfc3339(), None))


def _check_namespace(obj: JsonObject, causes: list[Cause]) -> None:
    obj.setdefault("spec", {"finalizers": ["kubernetes"]})
    obj.setdefault("status", {"phase": "Active"})
    name = obj["metadata"].get("name")
    obj["metadata"]["labels"].setdefault("kubernetes.io/metadata.name", name)


def _check_service(obj: JsonObject, causes: list[Cause]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("clusterIP", "None")
    spec.setdefault("clusterIPs", [spec["clusterIP"]])
    spec.setdefault("sessionAffinity", "None")
    for index, port in enumerate(spec.get("ports") or []):
        number = port.get("port") if isinstance(port, dict) else None
        if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 65536:
            causes.append(
                Cause(f"spec.ports[{index}].port", f"Invalid value: {number!r}: must be between 1 and 65535, inclusive")
            )
        elif isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", number)
    obj.setdefault("status", {"loadBalancer": {}})


def _check_network_policy(obj: JsonObject, causes: list[Cause]) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        causes.append(Cause("spec", "Required value", "FieldValueRequired"))
        return
    if spec.get("podSelector") is None:
        spec["podSelector"] = {}
    try:
        LabelSelector.from_object(spec["podSelector"])
    except SelectorError as exc:
        causes.append(Cause("spec.podSelector", f"Invalid value: {exc}"))
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]
    for kind in spec["policyTypes"]:
        if kind not in ("Ingress", "Egress"):
            causes.append(
                Cause(
                    "spec.policyTypes",
                    f'Unsupported value: "{kind}": supported values: "Ingress", "Egress"',
                    "FieldValueNotSupported",
                )
            )


def _check_event(obj: JsonObject, causes: list[Cause]) -> None:
    if not isinstance(obj.get("involvedObject"), dict):
        causes.append(Cause("involvedObject", "Required value", "FieldValueRequired"))
    now = now_rfc3339()
    obj.setdefault("type", "Normal")
    obj.setdefault("count", 1)
    obj.setdefault("firstTimestamp", now)
    obj.setdefault("lastTimestamp", now)
    obj.setdefault("source", {})


_CHECKS: Mapping[str, Callable[[JsonObject, list[Cause]], None]] = MappingProxyType(
    {
        "pods": _check_pod,
        "deployments": _check_deployment,
        "replicasets": _check_replicaset,
        "nodes": _check_node,
        "namespaces": _check_namespace,
        "services": _check_service,
        "networkpolicies": _check_network_policy,
        "events": _check_event,
    }
)
