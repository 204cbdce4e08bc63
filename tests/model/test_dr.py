"""data_loss (RPO as measured), as properties over any acknowledged writes, survivors and disaster time."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gamedays.model.dr import data_loss

TIMES = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def runs(draw: st.DrawFn) -> tuple[list[tuple[int, float]], set[int], float]:
    """Acknowledged writes (distinct seqs, times rising with seqs), survivors (any seqs), a disaster time."""
    seqs = sorted(draw(st.sets(st.integers(min_value=1, max_value=10_000), max_size=40)))
    times = sorted(draw(st.lists(TIMES, min_size=len(seqs), max_size=len(seqs))))
    acked = list(zip(seqs, times))
    survivors = draw(st.sets(st.integers(min_value=1, max_value=10_000), max_size=40)) | draw(
        st.sets(st.sampled_from(seqs), max_size=len(seqs)) if seqs else st.just(set())
    )
    return acked, survivors, draw(TIMES)


@given(runs())
def test_lost_is_acknowledged_minus_survivors(run: tuple[list[tuple[int, float]], set[int], float]):
    acked, survivors, disaster_at = run
    loss = data_loss(acked, survivors, disaster_at)
    assert loss.acknowledged == len(acked)
    assert loss.lost == len({seq for seq, _ in acked} - survivors)
    assert loss.none_lost == (loss.lost == 0)


@given(runs())
def test_the_window_is_never_negative_and_spans_from_the_first_write_lost_before_the_disaster(
    run: tuple[list[tuple[int, float]], set[int], float],
):
    acked, survivors, disaster_at = run
    loss = data_loss(acked, survivors, disaster_at)
    assert loss.window_seconds >= 0
    lost_before = [at for seq, at in acked if seq not in survivors and at <= disaster_at]
    assert loss.window_seconds == (disaster_at - min(lost_before) if lost_before else 0.0)


@given(runs())
def test_the_window_is_zero_when_nothing_written_before_the_disaster_is_lost(
    run: tuple[list[tuple[int, float]], set[int], float],
):
    acked, survivors, disaster_at = run
    kept_before = survivors | {seq for seq, at in acked if at <= disaster_at}
    loss = data_loss(acked, kept_before, disaster_at)
    assert loss.window_seconds == 0.0
    assert loss.lost == sum(1 for seq, at in acked if at > disaster_at and seq not in survivors)


@given(runs(), st.sets(st.integers(min_value=10_001, max_value=20_000), max_size=20))
def test_survivors_that_were_never_acknowledged_change_nothing(
    run: tuple[list[tuple[int, float]], set[int], float], extra: set[int],
):
    acked, survivors, disaster_at = run
    assert data_loss(acked, survivors | extra, disaster_at) == data_loss(acked, survivors, disaster_at)


@given(runs())
def test_everything_surviving_loses_nothing_and_nothing_surviving_loses_everything(
    run: tuple[list[tuple[int, float]], set[int], float],
):
    acked, _, disaster_at = run
    assert data_loss(acked, {seq for seq, _ in acked}, disaster_at).lost == 0
    assert data_loss(acked, set(), disaster_at).lost == len(acked)


def test_writes_lost_after_the_disaster_count_but_do_not_widen_the_window():
    acked = [(1, 10.0), (2, 11.0), (3, 12.0), (4, 13.0)]
    loss = data_loss(acked, {1}, disaster_at=11.5)
    assert (loss.acknowledged, loss.lost, loss.window_seconds) == (4, 3, 0.5)
    assert data_loss(acked, {1, 2}, disaster_at=11.5).window_seconds == 0.0
