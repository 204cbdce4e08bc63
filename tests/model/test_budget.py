"""Error-budget maths: properties that must hold for any counts, objectives and windows."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamedays.model.budget import allowed_bad_time, budget_burned, burn_rate, compliance, meets_objective
from gamedays.model.units import Duration, Percentage

objectives = st.floats(min_value=0.5, max_value=0.99999).map(Percentage)
windows = st.floats(min_value=60, max_value=90 * 86400).map(Duration)
counts = st.integers(min_value=0, max_value=10**6).flatmap(lambda total: st.tuples(st.integers(0, total), st.just(total)))


def test_a_99_9_percent_monthly_budget_is_43_minutes():
    assert allowed_bad_time(Percentage(0.999), Duration(30 * 86400)).seconds == pytest.approx(2592)


def test_one_minute_down_burns_its_share_of_the_month():
    burned = budget_burned(Duration(60), Percentage(0.999), Duration(30 * 86400))
    assert burned == pytest.approx(60 / 2592)


@given(counts)
def test_compliance_is_a_share(sample):
    good, total = sample
    assert 0.0 <= compliance(good, total) <= 1.0


@given(counts, objectives)
def test_meeting_the_objective_means_burning_at_most_the_budget(sample, objective):
    good, total = sample
    rate = burn_rate(good, total, objective)
    if meets_objective(good, total, objective):
        assert rate <= 1.0 + 1e-9
    else:
        assert rate > 1.0 - 1e-9


@given(st.floats(min_value=0, max_value=86400), st.floats(min_value=0, max_value=86400), objectives, windows)
def test_more_bad_time_burns_more_budget(a, b, objective, window):
    low, high = sorted((a, b))
    assert budget_burned(Duration(low), objective, window) <= budget_burned(Duration(high), objective, window)


@given(windows, objectives)
def test_spending_the_allowed_bad_time_burns_the_whole_budget(window, objective):
    assert budget_burned(allowed_bad_time(objective, window), objective, window) == pytest.approx(1.0)


@given(counts, objectives, objectives)
def test_a_stricter_objective_burns_faster(sample, a, b):
    good, total = sample
    loose, strict = sorted((a, b), key=lambda p: p.fraction)
    assert burn_rate(good, total, loose) <= burn_rate(good, total, strict) + 1e-9


def test_a_100_percent_objective_has_no_budget():
    assert budget_burned(Duration(0), Percentage(1.0), Duration(60)) == 0.0
    assert budget_burned(Duration(1), Percentage(1.0), Duration(60)) == math.inf
    assert burn_rate(9, 10, Percentage(1.0)) == math.inf


def test_nothing_sampled_is_full_compliance():
    assert compliance(0, 0) == 1.0


@pytest.mark.parametrize(("good", "total"), [(-1, 5), (6, 5), (0, -1)])
def test_impossible_counts_are_rejected(good, total):
    with pytest.raises(ValueError, match="0 <= good <= total"):
        compliance(good, total)
