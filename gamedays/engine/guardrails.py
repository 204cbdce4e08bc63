"""Guardrails: decide, sample by sample, when the running experiment must be aborted.

Two reasons to abort: an ``abort_when`` SLO has been in breach (consecutive bad
samples) for longer than ``tolerate``; or an SLO has burned more of its window's
error budget during the gameday than the plan's ``error_budget`` allowance.
The state is fed by the monitor's thread and read by the orchestrator's;
:meth:`Guardrails.tripped` is an Event the orchestrator can wait on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal, Sequence

from gamedays.model.budget import budget_burned
from gamedays.model.measurement import Measurement
from gamedays.model.slo import SLO
from gamedays.model.units import Duration


@dataclass(frozen=True)
class Trip:
    reason: Literal["slo_breach", "error_budget"]
    slo: str
    breach_started: float
    detected_at: float
    detail: str


@dataclass
class _State:
    breach_since: float | None = None
    bad: int = 0
    total: int = 0


class Guardrails:
    def __init__(
        self,
        slos: Sequence[SLO],
        *,
        abort_when: Sequence[str],
        tolerate: float,
        allowance: float | None,
        interval: float,
    ) -> None:
        self._slos = {slo.name: slo for slo in slos}
        self._abort_when = set(abort_when)
        self._tolerate = tolerate
        self._allowance = allowance
        self._interval = interval
        self._states = {name: _State() for name in self._slos}
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
            for state in self._states.values():
                if state.breach_since is not None:
                    state.breach_since = None  # a breach before the fault is not the fault's

    def disarm(self) -> Trip | None:
        with self._lock:
            self._armed = False
            return self._trip

    @property
    def trip(self) -> Trip | None:
        with self._lock:
            return self._trip

    def budget_spent(self) -> dict[str, float]:
        """Share of each SLO's window budget burned so far in the gameday."""
        with self._lock:
            return {name: self._burned(name) for name in self._slos}

    def budget_exhausted(self) -> Trip | None:
        if self._allowance is None:
            return None
        with self._lock:
            for name in self._slos:
                burned = self._burned(name)
                if burned > self._allowance:
                    return Trip("error_budget", name, 0.0, 0.0, self._budget_detail(name, burned))
        return None

    def observe(self, slo: str, measurement: Measurement, at: float) -> None:
        with self._lock:
            state = self._states.get(slo)
            if state is None:
                return
            state.total += 1
            if measurement.good:
                state.breach_since = None
                return
            state.bad += 1
            if state.breach_since is None:
                state.breach_since = at
            if not self._armed or self._trip is not None:
                return
            if slo in self._abort_when and at - state.breach_since >= self._tolerate:
                lasted = at - state.breach_since
                self._set(Trip("slo_breach", slo, state.breach_since, at,
                               f"{slo} in breach for {lasted:.1f}s (tolerated: {self._tolerate:g}s): {measurement.error or 'bad sample'}"))
                return
            burned = self._burned(slo)
            if self._allowance is not None and burned > self._allowance:
                self._set(Trip("error_budget", slo, state.breach_since, at, self._budget_detail(slo, burned)))

    def _set(self, trip: Trip) -> None:
        self._trip = trip
        self.tripped.set()

    def _burned(self, name: str) -> float:
        slo = self._slos[name]
        bad_time = Duration(self._states[name].bad * self._interval)
        return budget_burned(bad_time, slo.objective, slo.window)

    def _budget_detail(self, name: str, burned: float) -> str:
        return f"{name} burned {burned:.1%} of its error budget; the gameday may burn {self._allowance:.1%}"
