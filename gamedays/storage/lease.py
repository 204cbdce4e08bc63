"""One writer per stored gameday across machines: a lease object in the bucket, beside the report folder's files.

The local lock (:mod:`gamedays.engine.report_lock`) keeps two processes of one machine apart; two
machines working on the same ``s3://bucket/prefix/<gameday>`` each have a local copy of their own,
so the bucket holds the lease: ``<gameday>/.gameday.lease.json``, who holds it (pid, host, start,
command) and until when. It is created only if absent (S3's conditional write, ``If-None-Match:
*``), renewed every :data:`RENEW_SECONDS` while held by a write conditional on its last ETag
(``If-Match``: a lease another machine took over is never overwritten), and deleted on release
(``If-Match`` again). A lease not renewed for :data:`TTL_SECONDS` (its holder was killed, or its
machine lost the network) is taken over, conditionally too: of two machines that find it expired,
one gets it; so is one whose holder was a process of this machine that no longer runs. A second holder is refused with :class:`LeaseHeld` (exit 2) naming the first.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import asdict, dataclass

from gamedays.model.errors import GamedayError
from gamedays.model.holder import Holder
from gamedays.processes import alive
from gamedays.storage.bucket import Bucket, StorageError

__all__ = ["LEASE", "LeaseHeld", "StoredLease"]

log = logging.getLogger(__name__)

LEASE = ".gameday.lease.json"
#: How long a lease holds without being renewed.
TTL_SECONDS = 60.0
#: How often a held lease is renewed (well within its TTL).
RENEW_SECONDS = 15.0


class LeaseHeld(GamedayError):
    """Another machine's run, rehearsal or recover holds this stored gameday."""

    exit_code = 2


@dataclass(frozen=True)
class LeaseHolder(Holder):
    expires: float  # epoch seconds: the lease holds until then unless renewed

    def dead_here(self) -> bool:
        """Held by a process of this machine that no longer runs: taken over at once, its TTL not waited for."""
        return self.host == socket.gethostname() and not alive(self.pid)

    @classmethod
    def parse(cls, data: bytes) -> LeaseHolder | None:
        try:
            found = json.loads(data)
            return cls(int(found["pid"]), str(found["host"]), float(found["started"]), str(found["command"]),
                       float(found["expires"]))  # fmt: skip
        except (ValueError, KeyError, TypeError):
            return None


class StoredLease:
    """Held from :meth:`acquire` (or ``with``) to :meth:`release`, renewed meanwhile by a thread of its own."""

    def __init__(self, bucket: Bucket, command: str, ttl: float = TTL_SECONDS, renew: float = RENEW_SECONDS) -> None:
        self._bucket = bucket
        self._key = bucket.location.key(LEASE)
        self._command = command
        self._ttl, self._renew = float(ttl), float(renew)
        self._etag: str | None = None
        self._started = time.time()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.previous: LeaseHolder | None = None  # an expired holder, taken over

    def __enter__(self) -> StoredLease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    @property
    def held(self) -> bool:
        return self._etag is not None

    def acquire(self) -> None:
        """Take the lease, or raise :class:`LeaseHeld` naming its live holder."""
        etag = self._bucket.put_conditional(self._key, self._body(), if_none_match=True)
        if etag is None:
            found = self._bucket.get_with_etag(self._key)
            holder = LeaseHolder.parse(found[0]) if found is not None else None
            if found is not None and holder is not None and holder.expires > time.time() and not holder.dead_here():
                until = time.strftime("%H:%M:%S %Z", time.localtime(holder.expires))
                raise LeaseHeld(
                    f"{self._bucket.location.url}: this gameday is already in use by {holder.describe()} "
                    f"(its lease in the bucket runs until {until} unless renewed); one run, rehearsal or recover "
                    "at a time: wait for it to end (or stop it) and try again"
                )
            # expired, unreadable, or gone meanwhile: take it over, unless another machine just did
            etag = (self._bucket.put_conditional(self._key, self._body(), if_match=found[1]) if found is not None
                    else self._bucket.put_conditional(self._key, self._body(), if_none_match=True))  # fmt: skip
            if etag is None:
                raise LeaseHeld(f"{self._bucket.location.url}: another machine took this gameday's lease just now; try again")
            self.previous = holder
        self._etag = etag
        self._thread = threading.Thread(target=self._keep, name="gameday-lease", daemon=True)
        self._thread.start()

    def release(self) -> None:
        if self._etag is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        etag, self._etag = self._etag, None
        try:
            self._bucket.delete_conditional(self._key, if_match=etag)
        except StorageError as exc:  # it expires by itself: the next holder takes it over
            log.warning("could not delete the lease %s: %s", self._key, exc)

    def _keep(self) -> None:
        while not self._stop.wait(self._renew):
            try:
                etag = self._bucket.put_conditional(self._key, self._body(), if_match=self._etag)
            except StorageError as exc:  # the network: try again at the next renewal, well within the TTL
                log.warning("could not renew the lease %s: %s", self._key, exc)
                continue
            if etag is None:
                log.error("the lease %s was taken over by another machine: this one no longer holds the gameday", self._key)
                return
            self._etag = etag

    def _body(self) -> bytes:
        holder = LeaseHolder(os.getpid(), socket.gethostname(), self._started, self._command, time.time() + self._ttl)
        return json.dumps(asdict(holder), indent=2).encode()
