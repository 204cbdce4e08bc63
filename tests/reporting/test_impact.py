"""SLO impact: availability and latency of each hypothesis SLO during the fault window, against the baseline."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamedays.journal.io import read_journal
from gamedays.model.events import PhaseStarted
from gamedays.model.outcomes import Outcome
from gamedays.reporting.analysis import analyse
from gamedays.reporting.impact import percentile
from tests.reporting.journals import CHECKOUT, LATENCY, T0, Bad, Gameday, info


def test_availability_and_latency_during_the_fault_against_the_baseline():
    gd = Gameday([info("pod-kill", hypothesis=("checkout-availability", "checkout-latency"))], slos=(CHECKOUT, LATENCY))
    gd.bad += [Bad("checkout-availability", 12.0, 14.0), Bad("checkout-latency", 13.0, 15.0)]
    end = gd.step("pod-kill", 11.0, 4.0, recover=2.0)  # fault 11.32 .. 15.35
    gd.finish(end, Outcome.PASSED, 0)
    a = analyse([*gd.events, *gd.sampled(end)])
    assert a.baseline == (T0 + 0.01, T0 + 11.0)  # phase baseline to the first step
    availability, latency = a.steps[0].impact
    assert (availability.slo, availability.kind, latency.slo, latency.kind) == (
        "checkout-availability", "availability", "checkout-latency", "latency")
    # baseline from 0.01 s: samples at 1.005 .. 10.005 s, all good; fault: 12.005 .. 15.005 s, two of four bad
    assert (availability.baseline.samples, availability.baseline.good, availability.baseline.availability) == (10, 10, 1.0)
    assert (availability.fault.samples, availability.fault.good, availability.fault.availability) == (4, 2, 0.5)
    assert availability.availability_change == pytest.approx(-0.5)
    assert availability.fault.mean is None and availability.fault.p95 is None  # not a latency SLO: values not summarised
    # latency: good samples read ~20-50 ms, bad ones ~800-830 ms (see journals._value)
    assert 0.02 <= latency.baseline.mean <= 0.05 and 0.02 <= latency.baseline.p95 <= 0.05
    assert latency.fault.p95 >= 0.8 and 0.3 < latency.fault.mean < 0.5  # two slow of four
    assert latency.p95_ratio > 15 and latency.unit == "s"


def test_no_baseline_phase_leaves_the_comparison_out():
    gd = Gameday([info("pod-kill")])
    gd.events = [e for e in gd.events if not isinstance(e, PhaseStarted)]
    end = gd.step("pod-kill", 11.0, 4.0)
    gd.finish(end, Outcome.PASSED, 0)
    a = analyse([*gd.events, *gd.sampled(end)])
    impact = a.steps[0].impact[0]
    assert a.baseline is None and impact.baseline is None and impact.availability_change is None
    assert impact.fault.availability == 1.0


def test_a_step_that_never_reached_its_method_has_no_impact(make):
    a = analyse(read_journal(make("crashed") / "journal.jsonl").events)
    never = next(s for s in a.steps if s.id == "dns-loss")
    assert never.impact == ()
    open_fault = next(s for s in a.steps if s.id == "all-pods")  # the fault is open: its window ends with the journal
    assert open_fault.impact == ()


def test_a_window_with_no_sample_has_no_availability():
    gd = Gameday([info("pod-kill")], slos=(CHECKOUT,))
    end = gd.step("pod-kill", 11.0, 0.2)
    gd.finish(end, Outcome.PASSED, 0)
    samples = [s for s in gd.sampled(end) if not (T0 + 11.0 < s.at < T0 + 12.0)]
    impact = analyse([*gd.events, *samples]).steps[0].impact[0]
    assert (impact.fault.samples, impact.fault.availability) == (0, None) and impact.availability_change is None


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=200))
def test_p95_is_a_sampled_value_with_at_least_95_percent_at_or_below_it(values):
    p95 = percentile(values, 0.95)
    assert p95 in values
    assert sum(1 for v in values if v <= p95) >= 0.95 * len(values)
    assert sum(1 for v in values if v < p95) < 0.95 * len(values)


def test_percentile_of_nothing_is_none():
    assert percentile([], 0.95) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
