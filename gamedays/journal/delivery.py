"""Events to the listeners: typed hooks, one delivery thread, one fold of the listeners' own.

A listener subscribes to the event types it wants (``hooks.on(StepFinished, handler)``, as
locust's ``Events`` does) and is called with the event and the fold of every event so far
(:class:`gamedays.journal.state.GamedayState`, without the samples: constant memory per SLO).
The orchestrator puts each event in the queue as it journals it, in journal order; one thread
takes them out, folds each into the listeners' state, then calls the hooks of its type. So a
listener runs on that thread only, sees every event once, in order, and never holds up the
monitor, the experiment's reader or a signal. A listener that fails is logged and the gameday
goes on.

Readers on other threads (a ``/metrics`` scrape, the terminal panel's refresh) read the state
through :meth:`Delivery.read`, under the lock the fold takes; the hooks run outside it.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable, Protocol, TypeVar

from gamedays.journal.state import GamedayState
from gamedays.model.events import Event

logger = logging.getLogger(__name__)

E = TypeVar("E")
T = TypeVar("T")
Handler = Callable[[Any, GamedayState], None]

_STOP = object()


class Reader(Protocol):
    """:meth:`Delivery.read`: a function of the state, called under the fold's lock, its result returned."""

    def __call__(self, reader: Callable[[GamedayState], T]) -> T: ...


class Hooks:
    """Handlers by event type."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = {}

    def on(self, kind: type[E], handler: Callable[[E, GamedayState], None]) -> None:
        self._handlers.setdefault(kind, []).append(handler)

    def of(self, kind: type) -> tuple[Handler, ...]:
        return tuple(self._handlers.get(kind, ()))


class Delivery:
    """One thread hands each event to the hooks of its type; ``stop()`` delivers what is queued first."""

    def __init__(self) -> None:
        self.hooks = Hooks()
        self._state = GamedayState(keep_samples=False)
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> Delivery:
        if self._thread is None:
            self._thread = threading.Thread(target=self._drain, name="gameday-listeners", daemon=True)
            self._thread.start()
        return self

    def put(self, event: Event) -> None:
        """Queue the event (never blocks); delivered at once, in this thread, when the delivery is not running."""
        if self._thread is None:
            self._deliver(event)
        else:
            self._queue.put(event)

    def stop(self, timeout: float = 30.0) -> None:
        """Deliver every event queued, then end the thread (a listener stuck past ``timeout`` is left behind)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(_STOP)
        thread.join(timeout)
        if thread.is_alive():
            logger.error("the listeners did not take the last events within %.0fs; the gameday goes on without them", timeout)

    def read(self, reader: Callable[[GamedayState], T]) -> T:
        """``reader(state)`` under the fold's lock: for threads other than the delivery's."""
        with self._lock:
            return reader(self._state)

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            self._deliver(item)  # type: ignore[arg-type]

    def _deliver(self, event: Event) -> None:
        with self._lock:
            self._state.apply(event)
        for handler in self.hooks.of(type(event)):
            try:
                handler(event, self._state)
            except Exception:  # a listener's bug must never stop a gameday (or skip a rollback)
                logger.exception("a listener failed on the %s event; the gameday goes on", type(event).__name__)
