"""The sandbox's Kubernetes API, where pods are local processes.

chaosk8s and the official ``kubernetes`` client talk to it unmodified through an
ordinary kubeconfig: deleting a pod stops its process and the deployment controller
starts a replacement; nodes can be cordoned and drained; NetworkPolicies isolate pods
from the load balancer through the endpoints hook.
"""

from __future__ import annotations

from gamedays.sandbox.kube.endpoints import Endpoints, EndpointsHook
from gamedays.sandbox.kube.kubeconfig import write_kubeconfig
from gamedays.sandbox.kube.runtime import PodHandle, PodInfo, PodRuntime, ProcessRuntime
from gamedays.sandbox.kube.sandbox import KubeSandbox, PodView

__all__ = [
    "Endpoints",
    "EndpointsHook",
    "KubeSandbox",
    "PodHandle",
    "PodInfo",
    "PodRuntime",
    "PodView",
    "ProcessRuntime",
    "write_kubeconfig",
]
