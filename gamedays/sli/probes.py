"""The SLIs as Chaos Toolkit probes: one function per source, for a steady-state hypothesis.

Each ``*_probe`` function takes the settings of the catalog's SLI source of the same
name (``probes/slos.yaml``), builds the model object and takes one reading through
:func:`gamedays.sli.measure.measure`, so a probe and the SLO monitor measure the same
way. It returns ``True`` for a good sample, so the probe's tolerance is ``true``::

    steady-state-hypothesis:
      title: the shop takes orders
      probes:
        - type: probe
          name: checkout-available
          tolerance: true
          provider:
            type: python
            module: gamedays.sli.probes
            func: http_probe
            arguments: {url: "${SHOP_URL}/orders", method: POST, body: "{}", latency_threshold: 300ms}

A failing target is a bad sample, not an error: the function returns ``False`` and logs
why at WARNING (the reason never holds a password). Settings that cannot describe an
SLI (an unknown method, a negative timeout) raise ``ValueError``, which Chaos Toolkit
records as a failed probe. Durations are seconds (``2``, ``0.3``) or text with a unit
(``"300ms"``, ``"2s"``). ``${NAME}`` in a URL, server or DSN reads the environment of the
process at sampling time, as in the catalog (Chaos Toolkit first substitutes its own
configuration keys of the same spelling, and leaves the others alone).

Each ``*_sample`` function takes the same settings and returns the whole reading,
``{"good": bool, "value": float | None, "error": str | None, "elapsed": float}``, which
the journal keeps as the probe's output (the latency, the lag, the ready pods). Check
it with a probe tolerance calling :func:`sample_is_good` or :func:`sample_within`::

          tolerance:
            type: probe
            name: lag-under-a-second
            provider:
              type: python
              module: gamedays.sli.probes
              func: sample_within
              arguments: {upper: 1.0}

(Chaos Toolkit adds the ``value`` argument; the ``arguments`` key must be there.)
A ``range`` tolerance with ``target: value`` works only while a value was read: for a
sample without one (a refused connection) chaoslib raises instead of failing the
tolerance. ``target: elapsed`` is always a number. ``jsonpath`` tolerances need the
``jsonpath2`` package, which chaostoolkit-lib does not install.
"""

from __future__ import annotations

import logging
import math
import os
import time
from typing import Any, Mapping, TypeVar

from pydantic import BaseModel, ValidationError

from gamedays.model.measurement import Measurement
from gamedays.model.slo import DnsSLI, HttpSLI, KubernetesSLI, PostgresSLI, PrometheusSLI, SLISource
from gamedays.model.units import Duration, parse_duration
from gamedays.sli.measure import measure

logger = logging.getLogger(__name__)

Seconds = float | int | str
"""A duration argument: a number of seconds, or text with a unit ("300ms", "2s", "1m")."""

_Model = TypeVar("_Model", bound=BaseModel)
#: How long :func:`http_seconds_until_good` waits between two bad samples.
_RETRY_SECONDS = 0.2


# -- http ------------------------------------------------------------------------------------------


def http_probe(
    url: str,
    method: str = "GET",
    timeout: Seconds = 2.0,
    latency_threshold: Seconds | None = None,
    bad_status: str = "5xx",
    body: str | None = None,
) -> bool:
    """True when ``url`` answers without a bad status (and within ``latency_threshold`` if given)."""
    sli = _http(url, method, timeout, latency_threshold, bad_status, body)
    return _good(sli, sli.timeout.seconds)


def http_sample(
    url: str,
    method: str = "GET",
    timeout: Seconds = 2.0,
    latency_threshold: Seconds | None = None,
    bad_status: str = "5xx",
    body: str | None = None,
) -> dict[str, Any]:
    """The reading of :func:`http_probe`; ``value`` is the response time in seconds."""
    sli = _http(url, method, timeout, latency_threshold, bad_status, body)
    return _sample(sli, sli.timeout.seconds)


def http_seconds_until_good(
    url: str,
    method: str = "GET",
    timeout: Seconds = 2.0,
    latency_threshold: Seconds | None = None,
    bad_status: str = "5xx",
    body: str | None = None,
    within: Seconds = 30.0,
) -> float:
    """Probe: sample ``url`` as :func:`http_probe` does until a sample is good; returns the seconds it took.

    A method step after a fault's own recovery (a failover done, a deployment scaled back), so
    that the hypothesis sees the service recovered, not only its backend: a load balancer may
    still hold its replicas down for a health interval. Raises ``ActivityFailed`` when no
    sample was good within ``within``.
    """
    sli = _http(url, method, timeout, latency_threshold, bad_status, body)
    limit = _duration("within", within).seconds
    began = time.monotonic()
    while True:
        reading = _read(sli, sli.timeout.seconds)
        took = time.monotonic() - began
        if reading.good:
            return round(took, 3)
        last = reading.error or "a bad sample"
        if took + _RETRY_SECONDS >= limit:
            break
        time.sleep(_RETRY_SECONDS)
    from chaoslib.exceptions import ActivityFailed  # late: chaoslib is heavy

    raise ActivityFailed(f"{method} {url} gave no good sample within {limit:g}s; the last: {last}")


def _http(
    url: str, method: str, timeout: Seconds, latency_threshold: Seconds | None, bad_status: str, body: str | None
) -> HttpSLI:
    return _build(
        HttpSLI,
        source="http",
        url=url,
        method=method,
        timeout=_duration("timeout", timeout),
        latency_threshold=None if latency_threshold is None else _duration("latency_threshold", latency_threshold),
        bad_status=bad_status,
        body=body,
    )


# -- prometheus ------------------------------------------------------------------------------------


def prometheus_probe(
    url: str,
    query: str,
    min: float | None = None,  # noqa: A002 - the catalog's name for the setting
    max: float | None = None,  # noqa: A002
    timeout: Seconds = 2.0,
) -> bool:
    """True when the query (PromQL, or a metric selector on a /metrics URL) is within [min, max]."""
    sli = _prometheus(url, query, min, max, timeout)
    return _good(sli, sli.timeout.seconds)


def prometheus_sample(
    url: str,
    query: str,
    min: float | None = None,  # noqa: A002
    max: float | None = None,  # noqa: A002
    timeout: Seconds = 2.0,
) -> dict[str, Any]:
    """The reading of :func:`prometheus_probe`; ``value`` is the query's value."""
    sli = _prometheus(url, query, min, max, timeout)
    return _sample(sli, sli.timeout.seconds)


def _prometheus(url: str, query: str, low: float | None, high: float | None, timeout: Seconds) -> PrometheusSLI:
    return _build(
        PrometheusSLI,
        source="prometheus",
        url=url,
        query=query,
        min=low,
        max=high,
        timeout=_duration("timeout", timeout),
    )


# -- dns -------------------------------------------------------------------------------------------


def dns_probe(server: str, name: str, rdtype: str = "A", timeout: Seconds = 1.0) -> bool:
    """True when ``name`` resolves (records of ``rdtype``) through ``server`` ("127.0.0.1:5353") in time."""
    sli = _dns(server, name, rdtype, timeout)
    return _good(sli, sli.timeout.seconds)


def dns_sample(server: str, name: str, rdtype: str = "A", timeout: Seconds = 1.0) -> dict[str, Any]:
    """The reading of :func:`dns_probe`; ``value`` is the resolution time in seconds."""
    sli = _dns(server, name, rdtype, timeout)
    return _sample(sli, sli.timeout.seconds)


def _dns(server: str, name: str, rdtype: str, timeout: Seconds) -> DnsSLI:
    return _build(DnsSLI, source="dns", server=server, name=name, rdtype=rdtype, timeout=_duration("timeout", timeout))


# -- postgres --------------------------------------------------------------------------------------


def postgres_probe(dsn: str, check: str = "write", max_lag: Seconds | None = None, timeout: Seconds = 2.0) -> bool:
    """True when the ``check`` (write, read or replication-lag) succeeds on ``dsn`` in time.

    ``replication-lag`` is read on the primary, by a role allowed to (superuser or ``pg_monitor``).
    """
    sli = _postgres(dsn, check, max_lag, timeout)
    return _good(sli, sli.timeout.seconds)


def postgres_sample(
    dsn: str, check: str = "write", max_lag: Seconds | None = None, timeout: Seconds = 2.0
) -> dict[str, Any]:
    """The reading of :func:`postgres_probe`; ``value`` is the round trip, or the lag, in seconds."""
    sli = _postgres(dsn, check, max_lag, timeout)
    return _sample(sli, sli.timeout.seconds)


def _postgres(dsn: str, check: str, max_lag: Seconds | None, timeout: Seconds) -> PostgresSLI:
    return _build(
        PostgresSLI,
        source="postgres",
        dsn=dsn,
        check=check,
        max_lag=None if max_lag is None else _duration("max_lag", max_lag),
        timeout=_duration("timeout", timeout),
    )


# -- kubernetes ------------------------------------------------------------------------------------


def kubernetes_probe(deployment: str, namespace: str = "default", min_ready: int = 1, timeout: Seconds = 5.0) -> bool:
    """True when the deployment has at least ``min_ready`` ready pods (kubeconfig: ``$KUBECONFIG``)."""
    sli = _kubernetes(deployment, namespace, min_ready)
    return _good(sli, _duration("timeout", timeout).seconds)


def kubernetes_sample(
    deployment: str, namespace: str = "default", min_ready: int = 1, timeout: Seconds = 5.0
) -> dict[str, Any]:
    """The reading of :func:`kubernetes_probe`; ``value`` is the number of ready pods."""
    sli = _kubernetes(deployment, namespace, min_ready)
    return _sample(sli, _duration("timeout", timeout).seconds)


def _kubernetes(deployment: str, namespace: str, min_ready: int) -> KubernetesSLI:
    return _build(KubernetesSLI, source="kubernetes", deployment=deployment, namespace=namespace, min_ready=min_ready)


# -- tolerances for the samples --------------------------------------------------------------------


def sample_is_good(value: Mapping[str, Any] | None = None) -> bool:
    """Tolerance for a ``*_sample`` probe: the sample was good."""
    return isinstance(value, Mapping) and value.get("good") is True


def sample_within(
    value: Mapping[str, Any] | None = None, lower: float | None = None, upper: float | None = None
) -> bool:
    """Tolerance for a ``*_sample`` probe: good, with a value in [lower, upper] (either bound may be left out)."""
    if not isinstance(value, Mapping) or not sample_is_good(value):
        return False
    reading = value.get("value")
    if isinstance(reading, bool) or not isinstance(reading, (int, float)) or math.isnan(reading):
        return False
    return (lower is None or reading >= lower) and (upper is None or reading <= upper)


# -- shared ----------------------------------------------------------------------------------------


def _good(sli: SLISource, limit: float) -> bool:
    return _read(sli, limit).good


def _sample(sli: SLISource, limit: float) -> dict[str, Any]:
    reading = _read(sli, limit)
    return {"good": reading.good, "value": reading.value, "error": reading.error, "elapsed": round(reading.elapsed, 6)}


def _read(sli: SLISource, limit: float) -> Measurement:
    """One reading of ``sli``, bounded by ``limit`` seconds, from the environment of this process."""
    reading = measure(sli, os.environ, limit)
    if reading.good:
        logger.debug("%s SLI sample good (value %s, %.3fs)", sli.source, reading.value, reading.elapsed)
    else:
        logger.warning("%s SLI sample bad: %s", sli.source, reading.error)
    return reading


def _build(model: type[_Model], **settings: Any) -> _Model:
    """The SLI model of ``settings``; ValueError naming each bad setting, as the catalog's loader would."""
    try:
        return model.model_validate(settings)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: {error['msg']}" for error in exc.errors()
        )
        raise ValueError(f"bad {settings.get('source')} SLI settings: {problems}") from None


def _duration(name: str, value: Seconds) -> Duration:
    """A probe's duration argument: seconds as a number (or numeric text), else text with a unit."""
    try:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a duration")
        if isinstance(value, (int, float)):
            return Duration(float(value))
        text = str(value).strip()
        try:
            return Duration(float(text))
        except ValueError:
            return parse_duration(text)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc} (give seconds, e.g. 2 or 0.5, or text with a unit, e.g. 300ms)") from None
