"""Shared by the writer tests: a server that never answers, and the scenarios every writer kind must pass."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from gamedays.model.dr import data_loss
from gamedays.sli.writers import Writer, WriteRecorder

SLACK = 0.5  # scheduling slack on a busy 2-core machine


@contextmanager
def silent_port() -> Iterator[int]:
    """A port on 127.0.0.1 that takes connections (the kernel's backlog) and never answers a byte."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (connections are refused)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def write_some(writer: Writer, count: int, start: int = 1) -> list[tuple[int, float]]:
    """``count`` acknowledged writes, directly (no recorder): their (seq, time)."""
    acked = []
    for seq in range(start, start + count):
        at = time.time()
        writer.write(seq, at)
        acked.append((seq, at))
    return acked


def record_for(writer: Writer, seconds: float, every: float = 0.05) -> WriteRecorder:
    """A recorder run for ``seconds`` and stopped (within a bound)."""
    recorder = WriteRecorder(writer, every).start()
    time.sleep(seconds)
    assert recorder.stop(timeout=5), "the recorder did not stop within 5 s"
    return recorder


def losing_some_is_counted(writer: Writer, delete: Callable[[list[int]], None]) -> None:
    """Every acknowledged write survives; after ``delete`` removes some directly, exactly those are missing."""
    recorder = record_for(writer, 1.0)
    acked = recorder.acknowledged()
    counts = recorder.counts()
    assert counts.failed == 0, counts.last_error
    assert len(acked) >= 5, f"only {len(acked)} writes in 1 s at one per 50 ms"
    assert [seq for seq, _ in acked] == list(range(1, len(acked) + 1))
    assert writer.survivors() == {seq for seq, _ in acked}

    gone = [seq for seq, _ in acked[-3:]]
    delete(gone)
    assert writer.survivors() == {seq for seq, _ in acked} - set(gone)
    disaster_at = acked[-1][1] + 1
    loss = data_loss(acked, writer.survivors(), disaster_at)
    assert (loss.acknowledged, loss.lost) == (len(acked), 3)
    assert loss.window_seconds == disaster_at - acked[-3][1]


def an_outage_fails_writes_within_the_timeout(writer: Writer, timeout: float, expected: str) -> None:
    """Against a server that never answers: every write fails, none is acknowledged, the loop keeps going."""
    started = time.monotonic()
    recorder = WriteRecorder(writer, every=0.1).start()
    time.sleep(timeout * 2.5)
    stopping = time.monotonic()
    assert recorder.stop(timeout=timeout + SLACK + 1), "the recorder hung on a silent server"
    stop_took, ran = time.monotonic() - stopping, time.monotonic() - started
    assert stop_took <= timeout + SLACK + 0.5, f"stop took {stop_took:.2f}s"
    counts = recorder.counts()
    assert recorder.acknowledged() == [] and counts.acknowledged == 0
    assert counts.failed == counts.attempted >= 2, counts  # the loop went on after the first failure
    assert counts.attempted <= ran / timeout + 1, counts  # each one waited its timeout, no more, no less
    assert counts.last_error is not None and expected in counts.last_error, counts.last_error
