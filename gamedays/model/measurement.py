"""One reading of an SLI: good or bad against its SLO, with the value behind the verdict."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    """What an SLI source saw: ``good`` against the SLO, the ``value`` it read, why it is bad.

    ``value`` is in the SLI's own unit: seconds for latency and lag, a count for
    ready pods, the metric's value for Prometheus; ``None`` when nothing could be read.
    ``error`` says why a sample is bad when the source failed (never a secret).
    """

    good: bool
    value: float | None = None
    error: str | None = None
    elapsed: float = 0.0  # seconds the source took to answer

    @classmethod
    def failed(cls, error: str, elapsed: float = 0.0) -> Measurement:
        return cls(good=False, value=None, error=error, elapsed=elapsed)
