"""The SLO monitor: every SLI of the plan sampled on a fixed schedule, independent of Chaos Toolkit.

Each SLO has its own scheduling thread, which hands each measurement to a shared
pool and goes straight back to its schedule: a slow source never delays another
one, nor its own next tick. Every source bounds its own time (``timeout``); the
sample is stamped with the tick it belongs to. When the scheduling thread itself falls
behind (the machine stalled), the ticks already missed are skipped, not sampled late,
and ``on_behind`` is told (the orchestrator journals it: the report shows the gap).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from gamedays.model.measurement import Measurement
from gamedays.model.slo import SLO
from gamedays.sli.measure import measure

logger = logging.getLogger(__name__)

Sink = Callable[[str, Measurement, float], None]  # (slo name, measurement, scheduled time)
Behind = Callable[[str, int, float], None]  # (slo name, ticks skipped, the first skipped tick's time)


@dataclass(frozen=True)
class Tick:
    slo: str
    scheduled: float
    dispatched: float


class Monitor:
    def __init__(
        self,
        slos: Sequence[SLO],
        env: Mapping[str, str],
        *,
        interval: float,
        timeout: float,
        sink: Sink,
        measure_one: Callable[[SLO, Mapping[str, str], float], Measurement] | None = None,
        on_tick: Callable[[Tick], None] | None = None,
        on_behind: Behind | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("the sampling interval must be positive")
        self._slos = tuple(slos)
        self._env = dict(env)
        self._interval = interval
        self._timeout = min(timeout, interval * 5)
        self._sink = sink
        self._measure = measure_one or (lambda slo, env, timeout: measure(slo.sli, env, timeout))
        self._on_tick = on_tick
        self._on_behind = on_behind
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=max(4, 4 * len(self._slos)), thread_name_prefix="sli")
        self._threads: list[threading.Thread] = []
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        origin = time.time()
        for slo in self._slos:
            thread = threading.Thread(target=self._schedule, args=(slo, origin), name=f"monitor-{slo.name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self, drain: float = 5.0) -> None:
        """Stop scheduling; wait up to ``drain`` seconds for measurements under way to be delivered."""
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        with self._lock:
            pending = list(self._pending)
        deadline = time.monotonic() + drain
        for future in pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                future.result(remaining)
            except Exception:  # noqa: S110 - a failing delivery is logged by _run
                pass
        self._pool.shutdown(wait=False, cancel_futures=True)

    def sample_once(self, slo: SLO) -> Measurement:
        """One measurement now, outside the schedule (preflight)."""
        return self._measure(slo, self._env, self._timeout)

    def _schedule(self, slo: SLO, origin: float) -> None:
        tick = 0
        while not self._stop.is_set():
            scheduled = origin + tick * self._interval
            delay = scheduled - time.time()
            if delay > 0 and self._stop.wait(delay):
                return
            dispatched = time.time()
            if self._on_tick is not None:
                self._on_tick(Tick(slo.name, scheduled, dispatched))
            future = self._pool.submit(self._run, slo, scheduled)
            with self._lock:
                self._pending.add(future)
            future.add_done_callback(self._forget)
            tick += 1
            behind = int((time.time() - origin) / self._interval) + 1
            if behind > tick + 1:  # the machine stalled: skip the ticks already missed, keep the phase
                skipped = behind - tick - 1
                logger.warning("monitor for %s skipped %d ticks", slo.name, skipped)
                if self._on_behind is not None:
                    self._on_behind(slo.name, skipped, origin + tick * self._interval)
                tick = behind - 1

    def _run(self, slo: SLO, scheduled: float) -> None:
        try:
            result = self._measure(slo, self._env, self._timeout)
        except Exception as exc:  # noqa: BLE001 - a source bug is a bad sample, never a dead monitor
            logger.exception("measuring %s failed", slo.name)
            result = Measurement.failed(f"{type(exc).__name__}: {exc}")
        self._sink(slo.name, result, scheduled)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)
