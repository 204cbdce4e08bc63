"""What every RPO data writer does, whatever it writes to: the protocol, its error, the run tag.

A writer stamps small records (a sequence number and a time) into the component a DR
check breaks, so that after recovery the engine can tell which acknowledged writes
survived. The order of calls, by the engine::

    writer.prepare()                        # raises WriterError: RPO cannot be measured
    recorder = WriteRecorder(writer, every) # writes on its own thread: write(seq, at)
    ... backup, disaster, recovery steps, checks ...
    recorder.stop()
    survivors = writer.survivors()          # raises WriterError: the data cannot be read
    loss = data_loss(recorder.acknowledged(), survivors, disaster_at)
    error = writer.cleanup()                # never raises: None, or what went wrong
    writer.close()

Every message a writer raises or returns is safe to show: no password, no token.
"""

from __future__ import annotations

import hashlib
import re
from typing import Protocol, runtime_checkable

DEFAULT_TIMEOUT = 1.0
"""Seconds one write may take before it counts as failed (an outage never hangs the loop)."""

_TAG_MAX = 32
_SLUG = re.compile(r"[^a-z0-9]+")
_CLEAN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


class WriterError(Exception):
    """A writer could not do what was asked; the message is safe to show (no secrets)."""


class MissingWriterVariable(WriterError):
    """``${NAME}`` in a writer's setting names a variable the target environment does not set."""

    def __init__(self, name: str, kind: str, field: str) -> None:
        super().__init__(
            f"environment variable {name} is not set (the {kind} writer's {field} refers to ${{{name}}})"
        )
        self.name = name


@runtime_checkable
class Writer(Protocol):
    """One kind of RPO writer: PostgreSQL rows, DNS TXT records, Kubernetes objects."""

    @property
    def describe(self) -> str:
        """Where it writes, safe to show (``postgresql://127.0.0.1:5432/shop``, ``dns 127.0.0.1:5353 shop.internal``)."""
        ...

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never appear in an error shown to anyone (passwords of the target)."""
        ...

    def prepare(self) -> None:
        """Make the target ready to take writes (create the table...); raises WriterError."""
        ...

    def write(self, seq: int, at: float) -> None:
        """Write record ``seq`` stamped ``at``; returns once acknowledged, raises WriterError within the timeout."""
        ...

    def survivors(self) -> set[int]:
        """The sequence numbers of this run present now; raises WriterError."""
        ...

    def cleanup(self) -> str | None:
        """Remove this run's records, best effort: None when done, else what went wrong (never raises)."""
        ...

    def close(self) -> None:
        """Release connections; the writer is not used afterwards."""
        ...


def run_tag(run_id: str) -> str:
    """``run_id`` as a DNS label piece and a Kubernetes label value: ``[a-z0-9-]``, at most 32 characters.

    A run id that is already such a tag is kept; any other gets a slug of it and a hash
    of the whole, so two different run ids never share a tag.
    """
    if _CLEAN.match(run_id) and len(run_id) <= _TAG_MAX:
        return run_id
    digest = hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:8]
    slug = _SLUG.sub("-", run_id.lower()).strip("-")[: _TAG_MAX - 9].strip("-")
    return f"{slug}-{digest}" if slug else f"run-{digest}"


def check_timeout(timeout: float) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 60:
        raise WriterError(f"a write timeout must be a number of seconds in (0, 60], got {timeout!r}")
    return float(timeout)
