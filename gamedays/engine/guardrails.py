"""Guardrails: decide, sample by sample, when the running experiment must be aborted.

Two reasons to abort: an ``abort_when`` SLO has been in breach (consecutive bad
samples since the fault was armed) for longer than ``tolerate``; or an SLO has
burned more of its window's error budget during the gameday than the plan's
``error_budget`` allowance. Both are read from the fold of the journal
(:class:`gamedays.journal.state.GamedayState`), right after each sample is folded
in, under the orchestrator's recording lock; :attr:`Guardrails.tripped` is an
Event the orchestrator's main loop waits on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal, Sequence

from gamedays.journal.state import GamedayState
from gamedays.model.events import SampleTaken


@dataclass(frozen=True)
class Trip:
    reason: Literal["slo_breach", "error_budget"]
    slo: str
    breach_started: float
    detected_at: float
    detail: str


class Guardrails:
    def __init__(self, *, abort_when: Sequence[str], tolerate: float, allowance: float | None) -> None:
        self._abort_when = set(abort_when)
        self._tolerate = tolerate
        self._allowance = allowance
        self._lock = threading.Lock()
        self._armed = False
        self._trip: Trip | None = None
        self.tripped = threading.Event()

    def arm(self) -> None:
        """Watch for breaches from now on (while a fault may be injected)."""
        with self._lock:
            self._armed = True
            self._trip = None
            self.tripped.clear()

    def disarm(self) -> Trip | None:
        with self._lock:
            self._armed = False
            return self._trip

    @property
    def trip(self) -> Trip | None:
        with self._lock:
            return self._trip

    def budget_exhausted(self, state: GamedayState) -> Trip | None:
        """The first SLO that burned more than the allowance so far (between steps: the rest is skipped)."""
        if self._allowance is None:
            return None
        for name, burned in state.budget_spent().items():
            if burned > self._allowance:
                return Trip("error_budget", name, 0.0, 0.0, self._budget_detail(name, burned))
        return None

    def observe(self, state: GamedayState, sample: SampleTaken) -> None:
        """Judge ``state`` with ``sample`` just folded in."""
        slo = state.slos.get(sample.slo)
        if sample.good or slo is None or slo.info is None:
            return
        with self._lock:
            if not self._armed or self._trip is not None:
                return
            since = slo.fault_breach_since if slo.fault_breach_since is not None else sample.at
            if sample.slo in self._abort_when and sample.at - since >= self._tolerate:
                lasted = sample.at - since
                self._set(Trip("slo_breach", sample.slo, since, sample.at,
                               f"{sample.slo} in breach for {lasted:.1f}s (tolerated: {self._tolerate:g}s): {sample.error or 'bad sample'}"))
                return
            burned = state.burned(sample.slo)
            if self._allowance is not None and burned > self._allowance:
                self._set(Trip("error_budget", sample.slo, since, sample.at, self._budget_detail(sample.slo, burned)))

    def _set(self, trip: Trip) -> None:
        self._trip = trip
        self.tripped.set()

    def _budget_detail(self, name: str, burned: float) -> str:
        return f"{name} burned {burned:.1%} of its error budget; the gameday may burn {self._allowance:.1%}"
