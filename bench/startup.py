"""Start-up cost of the CLI: `gameday --help` and `gameday validate` of the May plan.

Prints the median wall time of each against `python -c pass` measured in the
same run, as a ratio (the targets: --help under 10x, validate under 30x), and which heavy SDKs each imported (the target: none).

    python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("boto3", "botocore", "kubernetes", "chaosk8s", "chaosaws")
# what a command may cost, in bare interpreter start-ups: --help loads click and little else; validate
# loads the models, YAML, and chaoslib to validate every experiment of the plan
TARGET_RATIO = {"gameday --help": 10.0, "gameday validate plans/2024-05.yaml": 30.0}

sys.path.insert(0, str(Path(__file__).resolve().parent))
from targets import Targets  # noqa: E402 - bench/targets.py
PROBE = (
    "import sys\nfrom gamedays.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
    "sys.stderr.write('HEAVY=' + ','.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))))\n"
)


def wall(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=60)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def heavy_imports(args: list[str]) -> str:
    code = PROBE.format(args=args, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    found = out.stderr.rsplit("HEAVY=", 1)[-1].strip()
    return found or "none"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    runs = max(1, min(parser.parse_args().runs, 100))
    cases = {
        "python -c pass": ([sys.executable, "-c", "pass"], None),
        "gameday --help": ([sys.executable, "-m", "gamedays", "--help"], ["--help"]),
        "gameday validate plans/2024-05.yaml": (
            [sys.executable, "-m", "gamedays", "validate", "plans/2024-05.yaml"],
            ["validate", "plans/2024-05.yaml"],
        ),
    }
    baseline = None
    figures: dict[str, tuple[float, object]] = {}
    print(f"start-up, median of {runs} runs")
    print(f"{'command':40} {'wall':>9} {'x python':>9}  heavy SDKs imported")
    for name, (argv, args) in cases.items():
        seconds = wall(argv, runs)
        baseline = baseline or seconds
        heavy = heavy_imports(args) if args is not None else "-"
        print(f"{name:40} {seconds * 1000:7.1f}ms {seconds / baseline:8.1f}x  {heavy}")
        figures[name] = (seconds / baseline, heavy)
    targets = Targets()
    for name in ("gameday --help", "gameday validate plans/2024-05.yaml"):
        ratio, heavy = figures[name]
        targets.below(f"{name}: wall time against python -c pass", ratio, TARGET_RATIO[name], "x")
        targets.below(f"{name}: heavy SDKs imported", 0 if heavy == "none" else len(str(heavy).split(",")), 1)
    return targets.close()


if __name__ == "__main__":
    sys.exit(main())
