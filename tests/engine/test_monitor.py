"""The monitor samples every SLI on schedule; a slow source delays neither the others nor itself."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict

from gamedays.engine.monitor import Monitor
from gamedays.model.measurement import Measurement
from gamedays.model.slo import SLO
from gamedays.model.units import Percentage
from tests import httpserver


def http_slo(name: str, url: str) -> SLO:
    return SLO(name=name, service="s", sli={"source": "http", "url": url, "timeout": "2s"}, objective=Percentage(0.99))


def test_a_slow_source_keeps_neither_the_others_nor_itself_off_schedule(http_server):
    fast_url, _ = http_server
    stack = contextlib.ExitStack()
    slow_url, slow = stack.enter_context(contextlib.contextmanager(httpserver.serve)())
    slow.delay = 0.7  # longer than half the interval: overlapping measurements
    samples: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    lock = threading.Lock()

    def sink(name, measurement, at):
        with lock:
            samples[name].append((at, measurement.good))

    monitor = Monitor([http_slo("fast", fast_url), http_slo("slow", slow_url)], {}, interval=0.25, timeout=2.0, sink=sink)
    start = time.time()
    monitor.start()
    time.sleep(2.0)
    monitor.stop(drain=2.0)
    stack.close()
    fast = sorted(at for at, _ in samples["fast"])
    slow_ticks = sorted(at for at, _ in samples["slow"])
    assert len(fast) >= 7, fast
    assert len(slow_ticks) >= 5, slow_ticks  # each tick measured even though each takes 0.7 s
    gaps = [b - a for a, b in zip(fast, fast[1:])]
    assert all(abs(gap - 0.25) < 0.02 for gap in gaps), gaps  # scheduled times, evenly spaced
    assert fast[0] - start < 0.1
    assert all(good for _, good in samples["slow"])


def test_a_dead_target_gives_bad_samples_not_a_dead_monitor():
    seen = []
    monitor = Monitor([http_slo("dead", "http://127.0.0.1:9/")], {}, interval=0.1, timeout=0.5, sink=lambda n, m, at: seen.append(m))
    monitor.start()
    time.sleep(0.45)
    monitor.stop()
    assert len(seen) >= 3 and not any(m.good for m in seen)
    assert "refused" in seen[0].error.lower()


def test_a_stalled_schedule_skips_the_missed_ticks_and_says_so():
    """The scheduling thread itself held up (here by its tick hook, as by a stalled machine): the ticks missed are
    skipped, not sampled late, and on_behind is told how many, from which tick on."""
    samples: list[float] = []
    behind: list[tuple[str, int, float]] = []
    stalled = threading.Event()

    def stall_once(tick):
        if not stalled.is_set():
            stalled.set()
            time.sleep(0.55)  # more than five ticks of 0.1 s

    monitor = Monitor([http_slo("shop", "http://127.0.0.1:9/")], {}, interval=0.1, timeout=0.5,
                      sink=lambda n, m, at: samples.append(at), on_tick=stall_once,
                      on_behind=lambda *args: behind.append(args),
                      measure_one=lambda slo, env, timeout: Measurement(True, 0.01))
    start = time.time()
    monitor.start()
    deadline = time.monotonic() + 5
    while not behind and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.25)
    monitor.stop()
    assert behind, "the stall was not reported"
    [(name, skipped, first)] = behind
    assert name == "shop" and skipped >= 3
    assert abs(first - (start + 0.1)) < 0.1  # the tick after the stalled one was the first skipped
    ticks = sorted(samples)
    assert ticks[0] - start < 0.1
    assert not any(first <= at < first + skipped * 0.1 - 1e-6 for at in ticks), (ticks, first, skipped)  # no late samples
    assert len(ticks) >= 3  # and the schedule went on
