"""A plain HTTP client for the shop tests (one connection per request) and a bounded wait."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any, Callable
from urllib.parse import urlsplit


def request(method: str, url: str, payload: Any = None, timeout: float = 5.0) -> tuple[int, dict[str, str], Any]:
    """Status, headers (lower-case names) and body (JSON decoded when it is JSON)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        body = json.dumps(payload).encode() if payload is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, parts.path or "/", body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        found = {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()
    if found.get("content-type", "").startswith("application/json"):
        return response.status, found, json.loads(data)
    return response.status, found, data.decode()


def get(url: str, timeout: float = 5.0) -> tuple[int, dict[str, str], Any]:
    return request("GET", url, timeout=timeout)


def post(url: str, payload: Any, timeout: float = 5.0) -> tuple[int, dict[str, str], Any]:
    return request("POST", url, payload, timeout=timeout)


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``condition`` until it holds; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / interval) + 2):
        if condition():
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
