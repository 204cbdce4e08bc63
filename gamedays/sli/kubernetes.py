"""Kubernetes: ready pods of a deployment, read through the environment's kubeconfig."""

from __future__ import annotations

import time
from typing import Mapping

from gamedays.model.measurement import Measurement
from gamedays.model.slo import KubernetesSLI


def measure(sli: KubernetesSLI, env: Mapping[str, str], timeout: float) -> Measurement:
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    start = time.perf_counter()
    try:
        api_client = config.new_client_from_config(config_file=env.get("KUBECONFIG"))
    except (config.ConfigException, OSError, TypeError) as exc:
        return Measurement.failed(f"cannot load the kubeconfig: {exc}", time.perf_counter() - start)
    try:
        with api_client:
            deployment = client.AppsV1Api(api_client).read_namespaced_deployment_status(
                sli.deployment, sli.namespace, _request_timeout=timeout
            )
    except ApiException as exc:
        return Measurement.failed(f"deployment {sli.namespace}/{sli.deployment}: HTTP {exc.status} {exc.reason}", time.perf_counter() - start)
    except (HTTPError, OSError) as exc:
        return Measurement.failed(f"deployment {sli.namespace}/{sli.deployment}: {exc}", time.perf_counter() - start)
    elapsed = time.perf_counter() - start
    ready = (deployment.status.ready_replicas or 0) if deployment.status else 0
    if ready < sli.min_ready:
        return Measurement(False, float(ready), f"{ready} ready pods, fewer than {sli.min_ready}", elapsed)
    return Measurement(True, float(ready), None, elapsed)
