"""EC2 instances are the sandbox's Kubernetes nodes: stopping one takes its node out, starting it brings it back.

Each sandbox node has an EC2 instance from the start (:mod:`gamedays.sandbox.awsseed`), tagged
``Name`` and ``gameday:kubernetes-node`` with the node's name and ``kubernetes.io/cluster/sandbox:
owned``, as an EKS node group's are. After each accepted ``StopInstances``,
``StartInstances`` or ``TerminateInstances`` (the endpoint's trail tells the worker),
:meth:`NodesTwin.reconcile` reads the instances' states through the EC2 API and, through the
sandbox's Kubernetes API (plain HTTP, the real API's paths), as a cloud controller would:

- an instance not running (stopping, stopped, terminated): its node is cordoned
  (``spec.unschedulable``) and its pods are deleted at once, as a machine that is off ends its
  processes; their controllers start them again on the other nodes;
- running again: the node is uncordoned (only a node the twin took out: a drain stays a drain).
  Pods do not move back, as in a real cluster.

The sandbox's API keeps node status its own (no writable ``nodes/status``), so the node shows
unschedulable, not ``NotReady``.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

from gamedays.sandbox.awsseed import NODE_TAG

log = logging.getLogger(__name__)

_UP = ("pending", "running")
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
        self._patch_node(node, True)
        self._taken_out.add(node)
        pods = self._kube("GET", "/api/v1/pods?" + urllib.parse.urlencode({"fieldSelector": f"spec.nodeName={node}"}))
        for pod in pods.get("items") or []:
            meta = pod["metadata"]
            path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}?gracePeriodSeconds=0"
            self._kube("DELETE", path)
        log.info("instance of %s is %s: node cordoned, its %d pod(s) gone", node, state, len(pods.get("items") or []))

    def _bring_back(self, node: str) -> None:
        self._patch_node(node, False)
        self._taken_out.discard(node)
        log.info("instance of %s runs again: node schedulable", node)

    def _patch_node(self, node: str, unschedulable: bool) -> None:
        self._kube("PATCH", f"/api/v1/nodes/{node}", {"spec": {"unschedulable": unschedulable}})

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
