"""Rendering a long gameday's report: a 2-hour gameday sampled every second for 6 SLIs (43,206 samples,
11 experiments, 2 DR checks; a generated journal) against an empty gameday rendered in the same run.

Targets (issue 7): the long report renders in under 2 s and its files stay under 3 MB.

    python bench/report.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gamedays.reporting.render import render_report  # noqa: E402
from tests.reporting.journals import empty, two_hours  # noqa: E402
from targets import Targets  # noqa: E402 - bench/targets.py

TARGET_SECONDS = 2.0
TARGET_BYTES = 3 * 1024 * 1024


def timed(folder: Path, runs: int) -> tuple[list[float], dict[str, int]]:
    times = []
    sizes: dict[str, int] = {}
    for _ in range(runs):
        began = time.perf_counter()
        rendered = render_report(folder)
        times.append(time.perf_counter() - began)
        sizes = {p.name: p.stat().st_size for p in rendered.paths}
    return times, sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = max(1, parser.parse_args().runs)
    with tempfile.TemporaryDirectory(prefix="gameday-bench-report-") as tmp:
        long_folder, empty_folder = Path(tmp) / "long", Path(tmp) / "empty"
        two_hours(long_folder)
        empty(empty_folder)
        journal = (long_folder / "journal.jsonl").stat().st_size
        empty_times, empty_sizes = timed(empty_folder, runs)
        long_times, long_sizes = timed(long_folder, runs)
    long_median, empty_median = statistics.median(long_times), statistics.median(empty_times)
    long_total, empty_total = sum(long_sizes.values()), sum(empty_sizes.values())
    html = long_sizes.get("report.html", 0)
    print(f"journal: 2 h, 6 SLIs at 1 s, {journal / 1e6:.1f} MB")
    print(f"render, empty gameday: median {empty_median * 1000:.0f} ms over {runs} runs; files {empty_total / 1e3:.1f} kB")
    print(f"render, 2-hour gameday: median {long_median * 1000:.0f} ms over {runs} runs (max {max(long_times) * 1000:.0f} ms); "
          f"files {long_total / 1e6:.2f} MB (report.html {html / 1e3:.0f} kB)")
    print(f"ratio to the empty gameday: time ×{long_median / empty_median:.1f}, size ×{long_total / empty_total:.1f}")
    print("  " + ", ".join(f"{name} {size / 1e3:.0f} kB" for name, size in long_sizes.items()))
    targets = Targets()
    targets.below("render, 2-hour gameday (median)", long_median, TARGET_SECONDS, "s")
    targets.below("the report's files together", long_total / 2**20, TARGET_BYTES / 2**20, "MB")
    return targets.close()


if __name__ == "__main__":
    sys.exit(main())
