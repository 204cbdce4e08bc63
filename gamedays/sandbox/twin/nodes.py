"""EC2 instances are the sandbox's Kubernetes nodes: stopping one takes its node out, starting it brings it back.

Each sandbox node has an EC2 instance from the start (:mod:`gamedays.sandbox.awsseed`), tagged
``Name`` and ``gameday:kubernetes-node`` with the node's name and ``kubernetes.io/cluster/sandbox:
owned``, as an EKS node group's are. After each accepted ``StopInstances``,
``StartInstances`` or ``TerminateInstances`` (the endpoint's trail tells the worker),
:meth:`NodesTwin.reconcile` reads the instances' states through the EC2 API and, through the
sandbox's Kubernetes API (plain HTTP, the real API's paths), as a cloud controller would:

- an instance not running (stopping, stopped, terminated): its node turns ``NotReady`` (its
  ``Ready`` condition ``Unknown``, "Kubelet stopped posting node status.", written through
  ``nodes/status`` as the node lifecycle controller does) and takes the taint
  ``node.cloudprovider.kubernetes.io/shutdown:NoSchedule``, as a cloud controller marks a
  stopped instance's node; its pods are deleted at once, as a machine that is off ends its
  processes, and their controllers start them again on the other nodes (a real cluster evicts
  them after their ``tolerationSeconds``, 300 by default);
- running again: the node is ``Ready`` and untainted again. Pods do not move back, as in a
  real cluster. A drain or cordon of the node is left as it is.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

from gamedays.sandbox.awsseed import NODE_TAG

log = logging.getLogger(__name__)

_UP = ("pending", "running")
#: What a cloud controller puts on the node of a machine that is shut down.
SHUTDOWN_TAINT = "node.cloudprovider.kubernetes.io/shutdown"
_MERGE_PATCH = "application/merge-patch+json"


class NodesTwin:
    """Makes the sandbox's Kubernetes nodes follow their EC2 instances."""

    def __init__(self, kube_url: str, nodes: Sequence[str], ec2: Any) -> None:
        self._kube_url = kube_url.rstrip("/")
        self._nodes = tuple(nodes)
        self._ec2 = ec2
        self._taken_out: set[str] = set()

    def reconcile(self) -> None:
        """Take out the nodes whose instance is not running; bring back those the twin took out whose instance runs."""
        for node, state in sorted(self._states().items()):
            if node not in self._nodes:
                continue
            if state not in _UP and node not in self._taken_out:
                self._take_out(node, state)
            elif state in _UP and node in self._taken_out:
                self._bring_back(node)

    def _take_out(self, node: str, state: str) -> None:
        self._set_ready(node, False)
        self._taken_out.add(node)
        pods = self._kube("GET", "/api/v1/pods?" + urllib.parse.urlencode({"fieldSelector": f"spec.nodeName={node}"}))
        for pod in pods.get("items") or []:
            meta = pod["metadata"]
            path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}?gracePeriodSeconds=0"
            self._kube("DELETE", path)
        log.info("instance of %s is %s: node NotReady, its %d pod(s) gone", node, state, len(pods.get("items") or []))

    def _bring_back(self, node: str) -> None:
        self._set_ready(node, True)
        self._taken_out.discard(node)
        log.info("instance of %s runs again: node Ready", node)

    def _set_ready(self, node: str, ready: bool) -> None:
        """The node's Ready condition and the shutdown taint, as a stopped or started machine's node shows them."""
        found = self._kube("GET", f"/api/v1/nodes/{node}")
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        conditions = []
        for condition in (found.get("status") or {}).get("conditions") or []:
            if condition.get("type") == "Ready":
                status, reason, message = ("True", "KubeletReady", "kubelet is posting ready status") if ready else (
                    "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")  # fmt: skip
                if condition.get("status") != status:
                    condition = {**condition, "status": status, "reason": reason, "message": message, "lastTransitionTime": now}
            conditions.append(condition)
        self._kube("PATCH", f"/api/v1/nodes/{node}/status", {"status": {"conditions": conditions}})
        taints = [t for t in (found.get("spec") or {}).get("taints") or [] if t.get("key") != SHUTDOWN_TAINT]
        if not ready:
            taints.append({"key": SHUTDOWN_TAINT, "effect": "NoSchedule", "timeAdded": now})
        self._kube("PATCH", f"/api/v1/nodes/{node}", {"spec": {"taints": taints}})

    def _states(self) -> dict[str, str]:
        """Node name -> the state of its (newest) instance."""
        found: dict[str, str] = {}
        pages = self._ec2.get_paginator("describe_instances").paginate(Filters=[{"Name": "tag-key", "Values": [NODE_TAG]}])
        for page in pages:
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    node = next((t["Value"] for t in instance.get("Tags") or [] if t["Key"] == NODE_TAG), None)
                    if node is not None and (instance["State"]["Name"] != "terminated" or node not in found):
                        found[node] = str(instance["State"]["Name"])
        return found

    def _kube(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self._kube_url}{path}", data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", _MERGE_PATCH)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
        return answer
