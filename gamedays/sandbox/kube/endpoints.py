"""Where traffic may go: ready pods not isolated by a NetworkPolicy, per deployment and per service.

NetworkPolicies are only stored by the API; here they take effect. A pod is isolated
from ingress when at least one policy of its namespace selects it with ``Ingress`` in
its ``policyTypes`` and none of the policies selecting it allows anything (no ingress
rule at all: chaosk8s' ``deny_all_ingress``). Any ingress rule counts as allowing the
load balancer in (the sandbox cannot tell peers apart: everything is 127.0.0.1).

For every deployment the addresses (``127.0.0.1:<port>``) of its Ready, non-isolated,
non-terminating pods are handed to the supervisor's hook whenever they change; for
every Service with a selector the ``Endpoints`` object of the same name is kept up to date.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

from gamedays.sandbox.kube.objects import PORT_ANNOTATION, controller_uid, is_ready, is_terminating
from gamedays.sandbox.kube.resources import JsonObject
from gamedays.sandbox.kube.selectors import LabelSelector, SelectorError
from gamedays.sandbox.kube.store import Store
from gamedays.sandbox.ports import LOOPBACK

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoints:
    """The addresses traffic for one deployment may go to, sorted."""

    namespace: str
    deployment: str
    addresses: tuple[str, ...]


EndpointsHook = Callable[[Endpoints], None]


def isolated_pods(pods: list[JsonObject], policies: list[JsonObject]) -> set[str]:
    """The uids of ``pods`` that no ingress may reach under ``policies`` (all of one store)."""
    isolated: set[str] = set()
    for pod in pods:
        selecting = [p for p in policies if _selects(p, pod)]
        if selecting and not any(p["spec"].get("ingress") for p in selecting):
            isolated.add(pod["metadata"]["uid"])
    return isolated


def _selects(policy: JsonObject, pod: JsonObject) -> bool:
    if policy["metadata"].get("namespace") != pod["metadata"].get("namespace"):
        return False
    if "Ingress" not in (policy["spec"].get("policyTypes") or ["Ingress"]):
        return False
    try:
        selector = LabelSelector.from_object(policy["spec"].get("podSelector"))
    except SelectorError:
        return False
    return selector.matches(pod["metadata"].get("labels"))


def serving(pod: JsonObject, isolated: set[str]) -> bool:
    """True when the pod should receive traffic: Ready, not terminating, not isolated, with a port."""
    return (
        is_ready(pod) and not is_terminating(pod) and pod["metadata"]["uid"] not in isolated and _port(pod) is not None
    )


def _port(pod: JsonObject) -> int | None:
    value = (pod["metadata"].get("annotations") or {}).get(PORT_ANNOTATION, "")
    return int(value) if value.isdigit() else None


class EndpointsController:
    """Computes each deployment's serving addresses and each service's Endpoints object."""

    def __init__(self, store: Store, hook: EndpointsHook | None) -> None:
        self._store = store
        self._hook = hook
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], tuple[str, ...]] = {}

    def addresses(self, namespace: str, deployment: str) -> tuple[str, ...]:
        with self._lock:
            return self._last.get((namespace, deployment), ())

    def sync(self) -> None:
        pods, _ = self._store.list("pods")
        policies, _ = self._store.list("networkpolicies")
        isolated = isolated_pods(pods, policies)
        self._deployments(pods, isolated)
        self._services(pods, isolated)

    def _deployments(self, pods: list[JsonObject], isolated: set[str]) -> None:
        deployments, _ = self._store.list("deployments")
        replicasets, _ = self._store.list("replicasets")
        owner_of = {rs["metadata"]["uid"]: controller_uid(rs) for rs in replicasets}
        current: dict[tuple[str, str], tuple[str, ...]] = {}
        for deployment in deployments:
            uid = deployment["metadata"]["uid"]
            addresses = sorted(
                f"{LOOPBACK}:{_port(p)}"
                for p in pods
                if owner_of.get(controller_uid(p) or "") == uid and serving(p, isolated)
            )
            current[(deployment["metadata"]["namespace"], deployment["metadata"]["name"])] = tuple(addresses)
        with self._lock:
            previous = self._last
            self._last = current
        changes = [
            Endpoints(ns, name, addresses)
            for (ns, name), addresses in sorted(current.items())
            if previous.get((ns, name)) != addresses or (ns, name) not in previous
        ]
        changes += [
            Endpoints(ns, name, ()) for (ns, name), old in sorted(previous.items()) if (ns, name) not in current and old
        ]
        for change in changes:
            logger.info("endpoints of %s/%s: %s", change.namespace, change.deployment, list(change.addresses))
            if self._hook is not None:
                try:
                    self._hook(change)
                except Exception:  # noqa: BLE001 - the supervisor's hook must not stop the control plane
                    logger.exception("the endpoints hook failed for %s/%s", change.namespace, change.deployment)

    def _services(self, pods: list[JsonObject], isolated: set[str]) -> None:
        for service in self._store.list("services")[0]:
            selector = (service.get("spec") or {}).get("selector")
            if not selector:
                continue
            meta = service["metadata"]
            chosen = LabelSelector.from_object({"matchLabels": selector})
            ready: list[JsonObject] = []
            not_ready: list[JsonObject] = []
            for pod in pods:
                if pod["metadata"]["namespace"] != meta["namespace"] or not chosen.matches(
                    pod["metadata"].get("labels")
                ):
                    continue
                if _port(pod) is None or is_terminating(pod):
                    continue
                (ready if serving(pod, isolated) else not_ready).append(pod)
            subsets = [_subset(p, "addresses") for p in ready] + [_subset(p, "notReadyAddresses") for p in not_ready]
            subsets.sort(key=lambda s: s["ports"][0]["port"])
            endpoints = {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {
                    "name": meta["name"],
                    "namespace": meta["namespace"],
                    "labels": meta.get("labels") or {},
                    "ownerReferences": [],
                },
                "subsets": subsets,
            }
            existing = self._store.get("endpoints", meta["namespace"], meta["name"])
            if existing is None:
                self._store.create("endpoints", endpoints)
            elif existing.get("subsets") != subsets:
                existing["subsets"] = subsets
                self._store.update("endpoints", existing)


def _subset(pod: JsonObject, key: str) -> JsonObject:
    meta = pod["metadata"]
    return {
        key: [
            {
                "ip": LOOPBACK,
                "nodeName": pod["spec"].get("nodeName", ""),
                "targetRef": {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]},
            }
        ],
        "ports": [{"name": "http", "port": _port(pod), "protocol": "TCP"}],
    }
