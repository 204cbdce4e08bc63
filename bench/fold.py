"""The fold over a journal's events (gamedays.journal.state): what it costs per event, and how that grows.

A generated 2-hour gameday (6 SLIs sampled every second: 43,206 samples, 11 experiments, 2 DR
checks) is read once; its events are then folded as a report does (every sample kept), as the
listeners' delivery does (counts only), and one by one as the orchestrator does (each sample
judged by the guardrails). The baseline, measured in the same run, is reading the journal
itself (decoding its lines into events): the fold must cost a fraction of that. The same is
done at 1x, 2x and 4x the journal (the events repeated, later in time) to show how the cost
and the memory grow.

Targets: folding all at once under 25% of reading the journal; one by one with the guardrails
under 50% of it; the cost per event at 4x within 1.5x of the cost at 1x (linear growth); the
counts-only state at 4x within 1.2x of its memory at 1x (constant per SLO however long).

    python bench/fold.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gamedays.engine.guardrails import Guardrails  # noqa: E402
from gamedays.journal.io import read_journal  # noqa: E402
from gamedays.journal.state import GamedayState, fold  # noqa: E402
from gamedays.model.events import Event, SampleTaken  # noqa: E402
from targets import Targets  # noqa: E402 - bench/targets.py
from tests.reporting.journals import two_hours  # noqa: E402


def repeated(events: list[Event], times: int) -> list[Event]:
    """The gameday's events, then the same again ``times - 1`` times, each copy later by the gameday's span."""
    span = max(e.at for e in events) - min(e.at for e in events) + 1.0
    out = list(events)
    for n in range(1, times):
        out.extend(e.model_copy(update={"at": e.at + n * span}) for e in events[1:])  # one gameday_started
    return out


def live(events: list[Event]) -> GamedayState:
    """As the orchestrator does: fold each event, judge each sample."""
    state = GamedayState()
    guard = Guardrails(abort_when=["sli-0"], tolerate=5.0, allowance=0.05)
    guard.arm()
    for event in events:
        state.apply(event)
        if isinstance(event, SampleTaken):
            guard.observe(state, event)
    return state


def timed(work, runs: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def peak_of(work) -> float:  # type: ignore[no-untyped-def]
    """Memory ``work`` allocates and keeps (the events themselves already held), in MB."""
    tracemalloc.start()
    kept = work()
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return size / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = max(1, min(parser.parse_args().runs, 20))
    with tempfile.TemporaryDirectory(prefix="gameday-bench-fold-") as tmp:
        folder = two_hours(Path(tmp) / "long")
        path = folder / "journal.jsonl" if folder.is_dir() else folder
        read_seconds = timed(lambda: read_journal(path), runs)
        events = list(read_journal(path).events)
    print(f"journal: 2 h, 6 SLIs at 1 s, {len(events)} events; reading it (the baseline): {read_seconds * 1000:.0f} ms")
    print(f"{'size':>5} {'events':>9} {'all at once':>12} {'counts only':>12} {'one by one':>12} {'us/event':>9} {'MB added':>8} {'MB counts':>10}")
    per_event: dict[int, float] = {}
    counts_mb: dict[int, float] = {}
    first: dict[str, float] = {}
    for size in (1, 2, 4):
        journal = repeated(events, size)
        whole = timed(lambda j=journal: fold(j), runs)
        counts = timed(lambda j=journal: fold(j, GamedayState(keep_samples=False)), runs)
        one_by_one = timed(lambda j=journal: live(j), runs)
        per_event[size] = whole / len(journal) * 1e6
        kept_mb = peak_of(lambda j=journal: fold(j))
        counts_mb[size] = peak_of(lambda j=journal: fold(j, GamedayState(keep_samples=False)))
        if size == 1:
            first = {"whole": whole, "live": one_by_one}
        print(f"{size:>4}x {len(journal):>9} {whole * 1000:>10.0f}ms {counts * 1000:>10.0f}ms {one_by_one * 1000:>10.0f}ms "
              f"{per_event[size]:>9.2f} {kept_mb:>8.1f} {counts_mb[size]:>10.3f}")
    targets = Targets()
    targets.below("folding all at once, against reading the journal", first["whole"] / read_seconds, 0.25, "x")
    targets.below("one by one with the guardrails, against reading it", first["live"] / read_seconds, 0.50, "x")
    targets.below("cost per event at 4x against 1x", per_event[4] / per_event[1], 1.5, "x")
    targets.below("counts-only memory at 4x against 1x", counts_mb[4] / max(counts_mb[1], 1e-9), 1.2, "x")
    return targets.close()


if __name__ == "__main__":
    sys.exit(main())
