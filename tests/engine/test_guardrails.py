"""Guardrails trip on a sustained breach of an abort_when SLO, or on an overspent error budget, read from the fold."""

from __future__ import annotations

import pytest

from gamedays.engine.guardrails import Guardrails
from gamedays.journal.state import GamedayState
from gamedays.model.events import FaultArmed, GamedayStarted, Mode, SampleTaken, SLOInfo

MONTH = 30 * 86400.0


def info(name: str, objective: float = 0.999, window: float = MONTH) -> SLOInfo:
    return SLOInfo(name=name, service="shop", kind="availability", objective=objective, window_seconds=window, source="http")


def started(*slos: SLOInfo) -> GamedayStarted:
    return GamedayStarted(
        at=0.0, gameday="g", title="t", date="2024-05-21", plan="p.yaml", environment="sandbox", mode=Mode.RUN,
        commander="c", slos=slos, steps=(), interval_seconds=1.0, budget_allowance=None,
    )


class Run:
    """A fold and its guardrails, fed as the orchestrator feeds them: fold the event, then judge."""

    def __init__(self, guardrails: Guardrails, *slos: SLOInfo) -> None:
        self.g = guardrails
        self.state = GamedayState().apply(started(*slos))

    def arm(self, at: float = 0.0) -> None:
        self.state.apply(FaultArmed(at=at, step="s", experiment_path="e.yaml", experiment={}, configuration={}))
        self.g.arm()

    def sample(self, slo: str, good: bool, at: float) -> None:
        sample = SampleTaken(at=at, slo=slo, good=good, error=None if good else "HTTP 503")
        self.state.apply(sample)
        self.g.observe(self.state, sample)


def run(**kw) -> Run:
    defaults = dict(abort_when=["availability"], tolerate=2.0, allowance=None)
    return Run(Guardrails(**{**defaults, **kw}), info("availability"), info("latency"))


def test_a_breach_shorter_than_tolerated_does_not_trip():
    r = run()
    r.arm()
    for at, good in [(0, False), (1, False), (2, True), (3, False)]:
        r.sample("availability", good, at)
    assert r.g.trip is None and not r.g.tripped.is_set()


def test_a_sustained_breach_trips_with_its_start_and_detection():
    r = run()
    r.arm()
    for at in (10, 11, 12, 13):
        r.sample("availability", False, at)
    trip = r.g.trip
    assert trip is not None and r.g.tripped.is_set()
    assert (trip.reason, trip.slo, trip.breach_started, trip.detected_at) == ("slo_breach", "availability", 10, 12)
    assert "in breach for 2.0s (tolerated: 2s): HTTP 503" in trip.detail


def test_slos_not_named_in_abort_when_never_trip_on_breach():
    r = run()
    r.arm()
    for at in range(10):
        r.sample("latency", False, at)
    assert r.g.trip is None


def test_nothing_trips_while_disarmed_and_a_breach_before_the_fault_does_not_count():
    r = run(tolerate=1.0)
    r.sample("availability", False, 0)
    r.sample("availability", False, 5)
    assert r.g.trip is None  # disarmed
    r.arm(at=5.5)
    r.sample("availability", False, 6)  # the breach goes on, but the fault's part of it starts here
    assert r.g.trip is None
    r.sample("availability", False, 7)
    assert r.g.trip.breach_started == 6
    assert r.state.slos["availability"].breach_since == 0  # the fold still knows the whole breach


def test_a_disarmed_guardrail_keeps_its_trip_and_a_new_arm_clears_it():
    r = run(tolerate=0.0)
    r.arm()
    r.sample("availability", False, 1)
    assert r.g.disarm() is not None
    r.arm(at=2)
    assert r.g.trip is None and not r.g.tripped.is_set()


def test_the_error_budget_allowance_trips_for_any_slo():
    # 99% over 1000 s allows 10 s of bad time; 5% of that is 0.5 s: the first bad second overspends it
    r = Run(Guardrails(abort_when=[], tolerate=0, allowance=0.05), info("latency", 0.99, 1000))
    r.arm()
    r.sample("latency", False, 5)
    trip = r.g.trip
    assert trip.reason == "error_budget" and trip.slo == "latency"
    assert r.state.budget_spent()["latency"] == pytest.approx(0.1)
    assert "burned 10.0% of its error budget; the gameday may burn 5.0%" in trip.detail
    assert r.g.budget_exhausted(r.state) is not None
    assert Guardrails(abort_when=[], tolerate=0, allowance=0.5).budget_exhausted(r.state) is None
