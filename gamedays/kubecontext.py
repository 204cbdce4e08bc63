"""The cluster a kubeconfig's current context names, or the one this process runs in, as the tools find it.

``KUBECONFIG`` (or ``~/.kube/config``) and its current context, as kubectl and chaosk8s read
them; in a pod without ``KUBECONFIG``, the in-cluster service account. Used where gameday acts
on "the cluster" rather than on a sandbox's kubeconfig: the preflight and ``gameday deploy``.
"""

from __future__ import annotations

import os
from typing import Any


class NoCluster(ValueError):
    """No kubeconfig, no current context, or not in a cluster: the message says which."""


def current_cluster() -> tuple[Any, str]:
    """(a kubernetes ``ApiClient``, ``context NAME (https://host)``) for the current context."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    try:
        if os.environ.get("KUBERNETES_SERVICE_HOST") and not os.environ.get("KUBECONFIG"):
            config.load_incluster_config()  # type: ignore[no-untyped-call]
            context = "in-cluster"
        else:
            config.load_kube_config()  # type: ignore[no-untyped-call]
            context = str(config.list_kube_config_contexts()[1].get("name"))  # type: ignore[no-untyped-call]
    except (ConfigException, OSError, ValueError, TypeError, KeyError) as exc:
        raise NoCluster(f"no Kubernetes credentials (KUBECONFIG, ~/.kube/config or in-cluster): {exc}") from None
    api = client.ApiClient()
    return api, f"context {context} ({api.configuration.host})"
