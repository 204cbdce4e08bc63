"""Guardrails trip on a sustained breach of an abort_when SLO, or on an overspent error budget."""

from __future__ import annotations

import pytest

from gamedays.engine.guardrails import Guardrails
from gamedays.model.measurement import Measurement
from gamedays.model.slo import SLO
from gamedays.model.units import Duration, Percentage

GOOD, BAD = Measurement(True, 0.01), Measurement(False, None, "HTTP 503")


def slo(name: str, objective: float = 0.999, window: float = 30 * 86400) -> SLO:
    return SLO(
        name=name, service="shop", sli={"source": "http", "url": "http://127.0.0.1:1/"},
        objective=Percentage(objective), window=Duration(window),
    )


def guardrails(**kw) -> Guardrails:
    defaults = dict(abort_when=["availability"], tolerate=2.0, allowance=None, interval=1.0)
    return Guardrails([slo("availability"), slo("latency")], **{**defaults, **kw})


def test_a_breach_shorter_than_tolerated_does_not_trip():
    g = guardrails()
    g.arm()
    for at, m in [(0, BAD), (1, BAD), (2, GOOD), (3, BAD)]:
        g.observe("availability", m, at)
    assert g.trip is None and not g.tripped.is_set()


def test_a_sustained_breach_trips_with_its_start_and_detection():
    g = guardrails()
    g.arm()
    for at in (10, 11, 12, 13):
        g.observe("availability", BAD, at)
    trip = g.trip
    assert trip is not None and g.tripped.is_set()
    assert (trip.reason, trip.slo, trip.breach_started, trip.detected_at) == ("slo_breach", "availability", 10, 12)
    assert "in breach for 2.0s (tolerated: 2s): HTTP 503" in trip.detail


def test_slos_not_named_in_abort_when_never_trip_on_breach():
    g = guardrails()
    g.arm()
    for at in range(10):
        g.observe("latency", BAD, at)
    assert g.trip is None


def test_nothing_trips_while_disarmed_and_old_breaches_do_not_count():
    g = guardrails(tolerate=0.0)
    g.observe("availability", BAD, 0)
    assert g.trip is None
    g.arm()
    g.observe("availability", GOOD, 1)
    g.observe("availability", BAD, 2)
    assert g.trip.breach_started == 2


def test_the_error_budget_allowance_trips_for_any_slo():
    # 99% over 1000 s allows 10 s of bad time; 5% of that is 0.5 s: the first bad second overspends it
    g = Guardrails([slo("latency", 0.99, 1000)], abort_when=[], tolerate=0, allowance=0.05, interval=1.0)
    g.arm()
    g.observe("latency", BAD, 5)
    trip = g.trip
    assert trip.reason == "error_budget" and trip.slo == "latency"
    assert g.budget_spent()["latency"] == pytest.approx(0.1)
    assert "burned 10.0% of its error budget; the gameday may burn 5.0%" in trip.detail
    assert g.budget_exhausted() is not None
