"""A rolling pod loss: pods of a deployment terminated one round at a time, over a period.

chaosk8s' ``terminate_pods`` kills pods once. A rolling loss (a bad node pool, a
crash-looping sidecar, an over-eager autoscaler) takes pods away again and again while
their replacements come up; :func:`terminate_pods_over_time` does that, and is meant to
run as a *background* activity so the rest of the method can watch the service meanwhile:

    - type: action
      name: rolling-pod-loss
      background: true
      provider: {type: python, module: gamedays.faults.kubernetes.pods, func: terminate_pods_over_time,
                 arguments: {label_selector: app=shop-api, ns: shop, rounds: 3, interval_seconds: 3}}

Each round terminates the ``qty`` oldest pods that are not already terminating, so every
round hits a pod that has not been replaced yet. The deployment's controller replaces
them: there is nothing to roll back. Chaos Toolkit waits for background activities to
finish before the after-method hypothesis (and on an interruption too), so the loss is
bounded by ``rounds`` x ``interval_seconds``. The Kubernetes client is built the way
chaosk8s builds it (``KUBECONFIG``, or chaosk8s' secrets).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from gamedays.model.reach import Reach, acts_on

__all__ = ["terminate_pods_over_time"]

logger = logging.getLogger(__name__)

#: The longest rolling loss accepted, in seconds (rounds x interval): a typo must not hold a gameday for hours.
MAX_DURATION = 3600.0


@acts_on(Reach.KUBERNETES)
def terminate_pods_over_time(
    label_selector: str,
    ns: str = "default",
    rounds: int = 3,
    interval_seconds: float = 5.0,
    qty: int = 1,
    grace_period: int = -1,
    secrets: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Terminate ``qty`` pods matching ``label_selector`` every ``interval_seconds``, ``rounds`` times.

    Returns one entry per round: ``round``, ``at`` (seconds since the start) and the
    ``terminated`` pod names. Fails when no pod matches at all (a wrong selector or namespace).
    """
    rounds, qty = _whole("rounds", rounds), _whole("qty", qty)
    interval = _seconds(interval_seconds)
    if rounds * interval > MAX_DURATION:
        raise _failed(f"rounds x interval_seconds is {rounds * interval:g}s, more than {MAX_DURATION:g}s")
    from chaosk8s import create_k8s_api_client
    from kubernetes import client

    api = client.CoreV1Api(create_k8s_api_client(secrets))
    began = time.monotonic()
    history: list[dict[str, Any]] = []
    for number in range(1, rounds + 1):
        if number > 1:
            time.sleep(max(0.0, began + interval * (number - 1) - time.monotonic()))
        pods = _list(api, ns, label_selector)
        if number == 1 and not pods:
            raise _failed(f"no pod in namespace {ns!r} matches {label_selector!r}: nothing to terminate")
        alive = sorted((p for p in pods if p.metadata.deletion_timestamp is None), key=_age_key)
        terminated = [_delete(api, ns, pod.metadata.name, grace_period) for pod in alive[:qty]]
        done = [name for name in terminated if name]
        if not done:
            logger.warning("round %d: every pod matching %s is already terminating", number, label_selector)
        history.append({"round": number, "at": round(time.monotonic() - began, 3), "terminated": done})
        logger.info("round %d of %d: terminated %s", number, rounds, ", ".join(done) or "nothing")
    return history


def _list(api: Any, ns: str, label_selector: str) -> list[Any]:
    from kubernetes.client.rest import ApiException

    try:
        return list(api.list_namespaced_pod(ns, label_selector=label_selector).items)
    except ApiException as exc:
        raise _failed(f"cannot list the pods of {ns!r} matching {label_selector!r}: {exc.status} {exc.reason}") from None


def _delete(api: Any, ns: str, name: str, grace_period: int) -> str | None:
    """Delete the pod; its name, or None when it was gone already."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    body = client.V1DeleteOptions(grace_period_seconds=grace_period) if grace_period >= 0 else client.V1DeleteOptions()
    try:
        api.delete_namespaced_pod(name, ns, body=body)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise _failed(f"cannot terminate pod {ns}/{name}: {exc.status} {exc.reason}") from None
    return name


def _age_key(pod: Any) -> tuple[Any, str]:
    return (pod.metadata.creation_timestamp, pod.metadata.name)


def _whole(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _failed(f"{name} must be a whole number >= 1, got {value!r}")
    return value


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise _failed(f"interval_seconds must be a number of seconds >= 0, got {value!r}")
    return float(value)


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed (imported late, as in the other fault modules)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
