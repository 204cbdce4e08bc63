"""One delivery to an incoming webhook (Mattermost, or Slack-compatible): a JSON POST, retried.

Transient failures (a 5xx or 429 answer, a timeout, a refused connection) are
retried with exponential backoff and full jitter, within a bounded number of
attempts and a bounded total time. Nothing here raises to the caller: the result
says whether the message got through, after how many attempts, and why not.
The webhook URL is itself the secret (its path is the hook's key), so it never
appears in an error: errors are scrubbed of it before they leave this module.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from gamedays.model.redact import scrub, url_secrets

USER_AGENT = "gameday-notify/1"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # at most this many POSTs per message
    timeout: float = 3.0  # seconds one POST may take
    base_delay: float = 0.5  # backoff before the 2nd attempt; doubled each time, with jitter
    max_delay: float = 8.0
    total: float = 20.0  # seconds one message may take, attempts and backoff included

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.timeout <= 0 or self.base_delay < 0 or self.max_delay < 0 or self.total <= 0:
            raise ValueError(f"a retry policy needs attempts >= 1 and positive times, not {self}")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """The pause before retry number ``retry`` (1 = the second attempt): full jitter up to the capped doubling."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (retry - 1)))
        return rng.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class Delivery:
    ok: bool
    attempts: int
    error: str = ""  # why it was given up; never the URL
    status: int | None = None  # the last HTTP status seen


def post_json(
    url: str,
    payload: Mapping[str, Any],
    policy: RetryPolicy = RetryPolicy(),
    *,
    cancel: threading.Event | None = None,
    deadline: Callable[[], float] | None = None,
    rng: random.Random | None = None,
) -> Delivery:
    """POST ``payload`` as JSON to ``url`` until a 2xx answer; never raises.

    ``cancel`` stops the retries (a pause in between ends at once); ``deadline``
    returns a ``time.monotonic()`` instant no attempt may outlast (e.g. the
    notifier's close bound), in addition to the policy's own total.
    """
    rng = rng or random.Random()
    body = json.dumps(payload).encode("utf-8")
    secrets = (url, *url_secrets(url), *_path_secret(url))
    give_up_at = time.monotonic() + policy.total
    attempts = 0
    error = "not attempted"
    status: int | None = None
    while attempts < policy.attempts:
        end = min(give_up_at, deadline()) if deadline is not None else give_up_at
        remaining = end - time.monotonic()
        if remaining < 0.05 or (cancel is not None and cancel.is_set()):
            error = f"gave up after {attempts} attempts: out of time ({error})" if attempts else "out of time before the first attempt"
            return Delivery(False, attempts, scrub(error, secrets), status)
        attempts += 1
        status, error, retry = _attempt(url, body, min(policy.timeout, remaining))
        if status is not None and 200 <= status < 300:
            return Delivery(True, attempts, "", status)
        if not retry:
            return Delivery(False, attempts, scrub(error, secrets), status)
        if attempts >= policy.attempts:
            break
        pause = min(policy.backoff(attempts, rng), max(0.0, end - time.monotonic()))
        if cancel is not None:
            if cancel.wait(pause):
                return Delivery(False, attempts, scrub(f"cancelled after {attempts} attempts ({error})", secrets), status)
        else:
            time.sleep(pause)
    return Delivery(False, attempts, scrub(f"gave up after {attempts} attempts ({error})", secrets), status)


def _attempt(url: str, body: bytes, timeout: float) -> tuple[int | None, str, bool]:
    """(status, error, worth retrying) of one POST."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": USER_AGENT}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) checked at start
            response.read(65536)
            return response.status, "", False
    except urllib.error.HTTPError as exc:
        transient = exc.code >= 500 or exc.code in (408, 429)
        return exc.code, f"the webhook answered HTTP {exc.code} {exc.reason}", transient
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return None, f"no answer within {timeout:.1f}s", True
        return None, f"cannot reach the webhook: {reason}", True
    except (TimeoutError, socket.timeout):
        return None, f"no answer within {timeout:.1f}s", True
    except (OSError, ValueError) as exc:  # a reset connection, a malformed answer
        return None, f"the webhook failed: {type(exc).__name__}: {exc}", True


def _path_secret(url: str) -> tuple[str, ...]:
    """A Mattermost/Slack hook's key is its path: mask it too, should a library quote it."""
    rest = url.split("://", 1)[-1]
    _, slash, path = rest.partition("/")
    return (slash + path,) if slash and len(path) > 1 else ()
