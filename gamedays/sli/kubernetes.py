"""Kubernetes: ready pods of a deployment, read through the environment's kubeconfig.

The kubeconfig is the file named by ``KUBECONFIG`` in the ``env`` given to
:func:`measure`, else ``~/.kube/config``; it is read afresh on every sample. It is
never taken from the ``kubernetes`` package's default location, which that package
fixes from the process environment once, when it is first imported: in a
long-lived process that would be whatever ``KUBECONFIG`` was at import time.

One request per sample, with no retry (the client's pool retries 3 times by
default), so a sample against a silent API lasts about its timeout, not four times
that.
"""

from __future__ import annotations

import os
import re
import time
from typing import TYPE_CHECKING, Mapping

from gamedays.model.measurement import Measurement
from gamedays.model.slo import KubernetesSLI
from gamedays.model.redact import safe_url

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

DEFAULT_KUBECONFIG = "~/.kube/config"
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^\"'()]+)")


class KubeconfigError(Exception):
    """The kubeconfig cannot be read; the message names its path and why."""


def kubeconfig_path(env: Mapping[str, str]) -> str:
    """The kubeconfig a sample reads: ``KUBECONFIG`` of ``env`` (may list several files), else ``~/.kube/config``."""
    return env.get("KUBECONFIG") or os.path.expanduser(DEFAULT_KUBECONFIG)


def api_client(env: Mapping[str, str]) -> ApiClient:
    """A client of the API the kubeconfig of ``env`` names, whose requests are never retried.

    KubeconfigError ("cannot load the kubeconfig <path>: ...") when no file of it exists or it
    cannot be read. The client's ``configuration.host`` is the API's URL.
    """
    from kubernetes import client, config

    path = kubeconfig_path(env)
    if not any(os.path.isfile(part) for part in path.split(os.pathsep) if part):
        raise KubeconfigError(f"cannot load the kubeconfig {path}: no such file (set KUBECONFIG)")
    settings = client.Configuration()
    settings.retries = False
    try:
        return config.new_client_from_config(config_file=path, client_configuration=settings)
    except (config.ConfigException, OSError, TypeError, ValueError) as exc:
        raise KubeconfigError(f"cannot load the kubeconfig {path}: {exc}") from None


def connection_failure(exc: BaseException) -> str:
    """The short cause of a connection failure ("Connection refused", "timed out"), no URL."""
    text = str(exc)
    found = _ERRNO.search(text)
    if found:
        return found.group(1).strip()
    if "timed out" in text.lower():
        return "timed out"
    return text


def measure(sli: KubernetesSLI, env: Mapping[str, str], timeout: float) -> Measurement:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    what = f"deployment {sli.namespace}/{sli.deployment}"
    start = time.perf_counter()
    try:
        api = api_client(env)
    except KubeconfigError as exc:
        return Measurement.failed(str(exc), time.perf_counter() - start)
    host = safe_url(api.configuration.host)
    try:
        with api:
            deployment = client.AppsV1Api(api).read_namespaced_deployment_status(
                sli.deployment, sli.namespace, _request_timeout=timeout
            )
    except ApiException as exc:
        if exc.status == 404:
            error = f"{what} not found (HTTP 404 from {host})"
        else:
            error = f"{what}: HTTP {exc.status} {exc.reason} from {host}"
        return Measurement.failed(error, time.perf_counter() - start)
    except (HTTPError, OSError) as exc:
        error = f"{what}: cannot reach the Kubernetes API at {host}: {connection_failure(exc)}"
        return Measurement.failed(error, time.perf_counter() - start)
    elapsed = time.perf_counter() - start
    ready = (deployment.status.ready_replicas or 0) if deployment.status else 0
    if ready < sli.min_ready:
        return Measurement(False, float(ready), f"{what}: {ready} ready pods, fewer than {sli.min_ready}", elapsed)
    return Measurement(True, float(ready), None, elapsed)

