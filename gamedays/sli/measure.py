"""Measure any SLI source: the one entry point the SLO monitor and the probes use."""

from __future__ import annotations

import dataclasses
import time
from typing import Mapping

from gamedays.model.measurement import Measurement
from gamedays.model.slo import DnsSLI, HttpSLI, KubernetesSLI, PostgresSLI, PrometheusSLI, SLISource
from gamedays.sli.expand import MissingVariable, expand
from gamedays.model.redact import dsn_secrets, scrub, url_secrets


def measure(sli: SLISource, env: Mapping[str, str], timeout: float) -> Measurement:
    """One reading of ``sli``, never raising for a failing target: a failure is a bad measurement.

    The error of a bad reading is scrubbed of the secrets of the SLI's target (a URL's
    password or query values, a connection string's password), whatever library wrote it.
    """
    from gamedays.sli import dns, http, kubernetes, postgres, prometheus

    start = time.perf_counter()
    try:
        if isinstance(sli, HttpSLI):
            result = http.measure(sli, env, timeout)
        elif isinstance(sli, PrometheusSLI):
            result = prometheus.measure(sli, env, timeout)
        elif isinstance(sli, DnsSLI):
            result = dns.measure(sli, env, timeout)
        elif isinstance(sli, PostgresSLI):
            result = postgres.measure(sli, env, timeout)
        elif isinstance(sli, KubernetesSLI):
            result = kubernetes.measure(sli, env, timeout)
        else:
            raise TypeError(f"unknown SLI source {type(sli).__name__}")
    except MissingVariable as exc:
        return Measurement.failed(str(exc), time.perf_counter() - start)
    if result.error is None:
        return result
    return dataclasses.replace(result, error=scrub(result.error, _secrets(sli, env)))


def _secrets(sli: SLISource, env: Mapping[str, str]) -> tuple[str, ...]:
    """What must never appear in an error about ``sli`` (its target was expanded without error)."""
    try:
        if isinstance(sli, (HttpSLI, PrometheusSLI)):
            return url_secrets(expand(sli.url, env))
        if isinstance(sli, PostgresSLI):
            return dsn_secrets(expand(sli.dsn, env))
    except MissingVariable:  # the environment changed under the sample: scrub what the settings say
        return url_secrets(sli.url) if isinstance(sli, (HttpSLI, PrometheusSLI)) else dsn_secrets(sli.dsn)
    return ()
