"""The listeners' delivery (gamedays.journal.delivery): one thread, every event once, in order, typed hooks."""

from __future__ import annotations

import logging
import threading

from gamedays.journal.delivery import Delivery
from gamedays.model.events import StepFinished, StepStarted
from gamedays.model.outcomes import Outcome


def finished(step: str, at: float) -> StepFinished:
    return StepFinished(at=at, step=step, outcome=Outcome.PASSED, ctk_status="completed", deviated=False, journal="")


def test_events_reach_their_hooks_on_one_other_thread_in_order_with_the_fold_so_far():
    delivery = Delivery()
    seen: list[tuple[str, str, int, str]] = []
    delivery.hooks.on(StepStarted, lambda e, state: seen.append(("started", e.step, len(state.steps), threading.current_thread().name)))
    delivery.hooks.on(StepFinished, lambda e, state: seen.append(("finished", e.step, len(state.steps), threading.current_thread().name)))
    delivery.start()
    for number in range(50):
        delivery.put(StepStarted(at=float(2 * number), step=f"s{number}"))
        delivery.put(finished(f"s{number}", float(2 * number + 1)))
    delivery.stop()  # delivers everything queued first
    expected = [(kind, f"s{n}", n + 1, "gameday-listeners") for n in range(50) for kind in ("started", "finished")]
    assert seen == expected
    assert delivery.read(lambda state: sorted(state.steps)) == sorted(f"s{n}" for n in range(50))


def test_a_failing_listener_is_logged_and_the_others_still_get_every_event(caplog):
    delivery = Delivery().start()
    got: list[str] = []

    def broken(event: StepStarted, state: object) -> None:
        raise RuntimeError("a listener's bug")

    delivery.hooks.on(StepStarted, broken)
    delivery.hooks.on(StepStarted, lambda e, state: got.append(e.step))
    with caplog.at_level(logging.ERROR, logger="gamedays.journal.delivery"):
        delivery.put(StepStarted(at=1.0, step="a"))
        delivery.put(StepStarted(at=2.0, step="b"))
        delivery.stop()
    assert got == ["a", "b"]
    assert caplog.messages.count("a listener failed on the StepStarted event; the gameday goes on") == 2


def test_without_a_thread_an_event_is_delivered_at_once_in_the_callers_thread():
    delivery = Delivery()
    where: list[str] = []
    delivery.hooks.on(StepStarted, lambda e, state: where.append(threading.current_thread().name))
    delivery.put(StepStarted(at=1.0, step="a"))
    assert where == [threading.current_thread().name]
    delivery.stop()  # nothing started: nothing to stop
