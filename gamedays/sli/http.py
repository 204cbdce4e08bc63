"""HTTP availability and latency: one request per sample, stdlib only."""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from typing import Mapping

from gamedays.model.measurement import Measurement
from gamedays.model.slo import HttpSLI
from gamedays.sli.expand import expand
from gamedays.model.redact import safe_url


def measure(sli: HttpSLI, env: Mapping[str, str], timeout: float) -> Measurement:
    url = expand(sli.url, env)
    body = expand(sli.body, env).encode() if sli.body is not None else None
    limit = min(timeout, sli.timeout.seconds)
    start = time.perf_counter()
    try:
        request = urllib.request.Request(url, data=body, method=sli.method)  # ValueError: not a URL
        if body is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=limit) as response:  # noqa: S310 - URLs come from the plan
            response.read(1 << 16)
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:  # InvalidURL, IncompleteRead
        reason = getattr(exc, "reason", exc)
        return Measurement.failed(f"{sli.method} {safe_url(url)}: {reason}", time.perf_counter() - start)
    elapsed = time.perf_counter() - start
    if _bad(status, sli.bad_status):
        return Measurement(good=False, value=elapsed, error=f"{sli.method} {safe_url(url)}: HTTP {status}", elapsed=elapsed)
    threshold = sli.latency_threshold
    if threshold is not None and elapsed > threshold.seconds:
        error = f"{sli.method} {safe_url(url)}: {elapsed * 1000:.0f}ms over {threshold}"
        return Measurement(good=False, value=elapsed, error=error, elapsed=elapsed)
    return Measurement(good=True, value=elapsed, elapsed=elapsed)


def _bad(status: int, bad_status: str) -> bool:
    return status >= 500 or (bad_status == "4xx-5xx" and status >= 400)
