"""The per-SLI series: counts, breaches, gaps and buckets that add up, whatever the samples."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gamedays.model.events import SampleTaken
from gamedays.reporting.series import GAP_FACTOR, MAX_BUCKETS, sli_series


def sample(at: float, good: bool, value: float | None = 0.01, error: str | None = None) -> SampleTaken:
    return SampleTaken(at=at, slo="s", good=good, value=value, error=error if not good else None)


def test_breaches_gaps_and_errors_of_a_known_series():
    goods = [True, False, False, True, True, False, True]
    samples = [sample(100.0 + i, g, error="HTTP 503" if i < 3 else "timeout") for i, g in enumerate(goods)]
    samples += [sample(120.0, False, error="timeout"), sample(121.0, True)]  # after a 13 s silence
    series = sli_series("s", list(reversed(samples)), 1.0, 100.0, 122.0)
    assert (series.good, series.bad, series.first, series.last) == (5, 4, 100.0, 121.0)
    assert [(r.start, r.end, r.samples) for r in series.breaches] == [(101.0, 103.0, 2), (105.0, 106.0, 1), (120.0, 121.0, 1)]
    assert [(g.start, g.end) for g in series.gaps] == [(107.0, 120.0)]
    assert [(e.error, e.samples) for e in series.errors] == [("HTTP 503", 2), ("timeout", 2)]
    assert series.compliance == 5 / 9 and series.value_minimum == series.value_maximum == 0.01


def test_an_empty_series():
    series = sli_series("s", [], 1.0, 0.0, 60.0)
    assert series.total == 0 and series.compliance is None and not series.has_values
    assert series.breaches == series.gaps == series.buckets == ()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.1, 30.0), st.booleans(), st.one_of(st.none(), st.floats(0.0, 5.0))),
        min_size=1, max_size=400,
    ),
    st.sampled_from([0.5, 1.0, 5.0]),
)
def test_every_summary_adds_up(steps, interval):
    at, samples = 1_000.0, []
    for delta, good, value in steps:
        at += delta
        samples.append(sample(at, good, value))
    start, end = 1_000.0, at + 1.0
    series = sli_series("s", samples, interval, start, end)
    assert series.good + series.bad == len(samples)
    assert sum(b.good for b in series.buckets) == series.good and sum(b.bad for b in series.buckets) == series.bad
    assert sum(r.samples for r in series.breaches) == series.bad
    assert len(series.buckets) <= MAX_BUCKETS + 1
    assert all(a.end <= b.start for a, b in zip(series.buckets, series.buckets[1:]))
    assert all(a.end <= b.start for a, b in zip(series.breaches, series.breaches[1:]))
    assert all(g.end - g.start > (GAP_FACTOR - 1) * interval for g in series.gaps)
    values = [v for _, _, v in steps if v is not None]
    assert sum(b.values for b in series.buckets) == len(values)
    for bucket in series.buckets:
        if bucket.values:
            assert bucket.minimum <= bucket.mean + 1e-12 and bucket.mean <= bucket.maximum + 1e-12
    assert series == sli_series("s", list(reversed(samples)), interval, start, end)  # order of the journal does not matter
