from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamedays.model.units import Duration, Percentage, parse_duration, parse_percentage


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("500ms", 0.5), ("2d", 172800), ("1.5s", 1.5), (" 10s ", 10), ("0s", 0)],
)
def test_durations_parse(text, seconds):
    assert parse_duration(text) == Duration(seconds)


@pytest.mark.parametrize("text", ["30", "30 s", "s", "-5s", "5y", "", "1h 30m", "5M"])
def test_bad_durations_say_what_is_allowed(text):
    with pytest.raises(ValueError, match=r"bad duration .*: use a number with a unit \(ms, s, m, h or d\)"):
        parse_duration(text)


@pytest.mark.parametrize("value", [30, 1.5, True, None, ["30s"]])
def test_non_text_is_not_a_duration(value):
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration(value)


@given(st.integers(min_value=0, max_value=10**9))
def test_duration_text_round_trips(millis):
    duration = Duration(millis / 1000)
    assert parse_duration(str(duration)) == duration


@pytest.mark.parametrize(("text", "fraction"), [("5%", 0.05), ("99.9%", 0.999), ("100%", 1.0), ("0%", 0.0), ("12.5 %", 0.125)])
def test_percentages_parse(text, fraction):
    assert parse_percentage(text).fraction == pytest.approx(fraction)


@pytest.mark.parametrize("value", ["5", "101%", "-1%", "five%", 5, 0.05, None])
def test_bad_percentages_say_what_is_allowed(value):
    with pytest.raises(ValueError, match=r"bad percentage .*: use a percentage between 0% and 100%"):
        parse_percentage(value)


@given(st.decimals(min_value=0, max_value=100, places=3))
def test_percentage_text_round_trips(percent):
    parsed = parse_percentage(f"{percent}%")
    assert parse_percentage(str(parsed)).fraction == pytest.approx(parsed.fraction)


def test_percentages_order_by_value():
    assert Percentage(0.999) > Percentage(0.99)
