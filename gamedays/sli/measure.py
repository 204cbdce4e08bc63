"""Measure any SLI source: the one entry point the SLO monitor and the probes use."""

from __future__ import annotations

import time
from typing import Mapping

from gamedays.model.measurement import Measurement
from gamedays.model.slo import DnsSLI, HttpSLI, KubernetesSLI, PostgresSLI, PrometheusSLI, SLISource
from gamedays.sli.expand import MissingVariable


def measure(sli: SLISource, env: Mapping[str, str], timeout: float) -> Measurement:
    """One reading of ``sli``, never raising for a failing target: a failure is a bad measurement."""
    from gamedays.sli import dns, http, kubernetes, postgres, prometheus

    start = time.perf_counter()
    try:
        if isinstance(sli, HttpSLI):
            return http.measure(sli, env, timeout)
        if isinstance(sli, PrometheusSLI):
            return prometheus.measure(sli, env, timeout)
        if isinstance(sli, DnsSLI):
            return dns.measure(sli, env, timeout)
        if isinstance(sli, PostgresSLI):
            return postgres.measure(sli, env, timeout)
        if isinstance(sli, KubernetesSLI):
            return kubernetes.measure(sli, env, timeout)
    except MissingVariable as exc:
        return Measurement.failed(str(exc), time.perf_counter() - start)
    raise TypeError(f"unknown SLI source {type(sli).__name__}")
