"""An ordinary kubeconfig file pointing at the sandbox API (plain http, no credentials).

``kubernetes.config.load_kube_config``, chaosk8s (through ``KUBECONFIG``) and kubectl read
it like any other: one cluster, one user, one context, made current.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

DEFAULT_CONTEXT = "gameday-sandbox"


def kubeconfig_text(server_url: str, namespace: str = "default", context: str = DEFAULT_CONTEXT) -> str:
    """The kubeconfig YAML (scalars quoted as JSON strings, which YAML reads as they are)."""
    q = json.dumps
    return "\n".join(
        [
            "apiVersion: v1",
            "kind: Config",
            "preferences: {}",
            "clusters:",
            f"- name: {q(context)}",
            "  cluster:",
            f"    server: {q(server_url)}",
            "users:",
            f"- name: {q(context)}",
            "  user: {}",
            "contexts:",
            f"- name: {q(context)}",
            "  context:",
            f"    cluster: {q(context)}",
            f"    user: {q(context)}",
            f"    namespace: {q(namespace)}",
            f"current-context: {q(context)}",
            "",
        ]
    )


def write_kubeconfig(
    path: Path | str, server_url: str, namespace: str = "default", context: str = DEFAULT_CONTEXT
) -> Path:
    """Write the kubeconfig of ``server_url`` to ``path`` (mode 0600, parents created); the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(kubeconfig_text(server_url, namespace, context))
    return target
