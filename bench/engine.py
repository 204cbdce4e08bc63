"""The engine's targets, measured against a detached sandbox started here:

- detection-to-abort latency at 1 s sampling (target: median under 1.5 s);
- orchestration overhead per experiment against `chaos run` of the same file (target: no slower);
- sampler schedule jitter with 10 SLIs at 1 s while an experiment runs (target: p99 under 50 ms).

    python bench/engine.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gamedays.journal.io import read_journal  # noqa: E402
from targets import Targets  # noqa: E402 - bench/targets.py
from gamedays.engine.monitor import Monitor, Tick  # noqa: E402
from gamedays.model.slo import SLO  # noqa: E402
from gamedays.model.units import Percentage  # noqa: E402
from gamedays.reporting.analysis import analyse  # noqa: E402

SCALE = {"type": "python", "module": "chaosk8s.deployment.actions", "func": "scale_deployment"}
POD_KILL = REPO / "experiments/kubernetes/pod-kill.yaml"


def sandbox(home: str) -> dict[str, str]:
    env = {**os.environ, "GAMEDAY_HOME": home}
    env.pop("GAMEDAY_SANDBOX", None)
    up = subprocess.run([sys.executable, "-m", "gamedays", "sandbox", "up", "--detach"], env=env, capture_output=True, text=True, timeout=120, check=True)
    return {**env, **{line[7:].split("=", 1)[0]: shlex.split(line.split("=", 1)[1])[0] for line in up.stdout.splitlines()}}


def plan(folder: Path, steps: list[dict], **guardrails: object) -> Path:
    document = {
        "gameday": "bench", "title": "bench", "date": "2024-05-21", "environment": "sandbox",
        "team": {"commander": "bench"}, "slos": str(REPO / "probes/slos.yaml"),
        "monitor": {"interval": "1s", "baseline": "0s", "cooldown": "0s", "timeout": "1s"},
        "guardrails": guardrails, "experiments": steps, "report": {"out": str(folder / "report")},
    }
    path = folder / "plan.yaml"
    path.write_text(json.dumps(document))
    return path


def gameday(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "gamedays", *args], env=env, capture_output=True, text=True, timeout=300)


def detection_to_abort(env: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    """(detection-to-abort, fault-to-abort) latencies: the guardrail's reaction, and the whole loop from the fault."""
    experiment = {
        "title": "all pods gone", "description": "scale to zero, held",
        "method": [{"type": "action", "name": "zero", "provider": {**SCALE, "arguments": {"name": "shop-api", "replicas": 0, "ns": "shop"}}, "pauses": {"after": 60}}],
        "rollbacks": [{"type": "action", "name": "back", "provider": {**SCALE, "arguments": {"name": "shop-api", "replicas": 3, "ns": "shop"}}}],
    }
    latencies, from_fault = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "zero.json").write_text(json.dumps(experiment))
            path = plan(Path(folder), [{"id": "zero", "uses": str(Path(folder) / "zero.json"), "hypothesis": ["checkout-availability"]}],
                        abort_when=["checkout-availability"], tolerate="0s")
            gameday(env, "run", str(path))
            events = read_journal(Path(folder) / "report/journal.jsonl").events
            step = analyse(events).steps[0]
            trip = next((e for e in events if e.event == "guardrail"), None)
            if step.detection_to_abort is not None and trip is not None and step.fault_start is not None:
                latencies.append(step.detection_to_abort)
                from_fault.append(trip.at - step.fault_start)
        time.sleep(2)  # let the pods come back
    return latencies, from_fault


def overhead(env: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    chaos = str(Path(sys.executable).with_name("chaos"))
    plain, ours = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            subprocess.run([chaos, "--no-version-check", "run", "--var", "namespace=shop", "--var", "label_selector=app=shop-api",
                            "--journal-path", f"{folder}/j.json", str(POD_KILL)], env=env, capture_output=True, cwd=folder, timeout=120)
            plain.append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as folder:
            path = plan(Path(folder), [{"id": "kill", "uses": str(POD_KILL), "with": {"namespace": "shop", "label_selector": "app=shop-api"}}])
            gameday(env, "run", str(path))
            events = read_journal(Path(folder) / "report/journal.jsonl").events
            started = next(e.at for e in events if e.event == "step_started")
            finished = next(e.at for e in events if e.event == "step_finished")
            ours.append(finished - started)
    return plain, ours


def jitter(env: dict[str, str], seconds: float) -> list[float]:
    slos = [SLO(name=f"shop-{i}", service="shop", sli={"source": "http", "url": "${SHOP_URL}/healthz"}, objective=Percentage(0.99)) for i in range(10)]
    ticks: list[Tick] = []
    lock = threading.Lock()

    def on_tick(tick: Tick) -> None:
        with lock:
            ticks.append(tick)

    monitor = Monitor(slos, env, interval=1.0, timeout=1.0, sink=lambda *a: None, on_tick=on_tick)
    chaos = str(Path(sys.executable).with_name("chaos"))
    monitor.start()
    with tempfile.TemporaryDirectory() as folder:  # an experiment runs meanwhile
        subprocess.run([chaos, "--no-version-check", "run", "--var", "namespace=shop", "--var", "label_selector=app=shop-api",
                        "--journal-path", f"{folder}/j.json", str(POD_KILL)], env=env, capture_output=True, cwd=folder, timeout=120)
    remaining = seconds - 1
    time.sleep(max(0.0, remaining))
    monitor.stop()
    return [t.dispatched - t.scheduled for t in ticks]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    runs = max(1, min(parser.parse_args().runs, 10))
    with tempfile.TemporaryDirectory(prefix="gameday-bench-") as home:
        env = sandbox(home)
        try:
            abort, from_fault = detection_to_abort(env, runs)
            plain, ours = overhead(env, runs)
            jitters = sorted(jitter(env, 12.0))
        finally:
            subprocess.run([sys.executable, "-m", "gamedays", "sandbox", "down"], env={**os.environ, "GAMEDAY_HOME": home}, capture_output=True, timeout=120)
    p99 = jitters[min(len(jitters) - 1, int(len(jitters) * 0.99))]
    print(f"engine, {runs} run(s) each, against a detached sandbox")
    print(f"{'figure':58} {'value':>9} {'target':>9} {'ratio':>7}")
    if abort:
        median = statistics.median(abort)
        print(f"{'detection-to-abort at 1 s sampling (median)':58} {median:8.3f}s {1.5:8.1f}s {median / 1.5:7.2f}")
        whole = statistics.median(from_fault)
        print(f"{'fault injected to abort asked, tolerate 0s (median)':58} {whole:8.3f}s {1.5:8.1f}s {whole / 1.5:7.2f}")
    else:
        print("detection-to-abort: the guardrail never tripped")
    chaos_median, ours_median = statistics.median(plain), statistics.median(ours)
    print(f"{'pod-kill under `chaos run` (median wall time)':58} {chaos_median:8.2f}s")
    print(f"{'pod-kill as a gameday step (median step time)':58} {ours_median:8.2f}s {chaos_median:8.2f}s {ours_median / chaos_median:7.2f}")
    print(f"{'sampler jitter, 10 SLIs at 1 s, experiment running (p50)':58} {statistics.median(jitters) * 1000:7.1f}ms")
    print(f"{'sampler jitter, 10 SLIs at 1 s, experiment running (p99)':58} {p99 * 1000:7.1f}ms {50:7.0f}ms {p99 * 1000 / 50:7.2f}")
    targets = Targets()
    if abort:
        targets.below("detection to abort at 1 s sampling (median)", statistics.median(abort), 1.5, "s")
        targets.below("fault injected to abort asked (median)", statistics.median(from_fault), 1.5, "s")
    else:
        targets.below("detection to abort: the guardrail never tripped", float("inf"), 1.5, "s")
    targets.below("pod-kill step time against `chaos run` (ratio)", ours_median / chaos_median, 1.5, "x")
    targets.below("sampler jitter p99, 10 SLIs at 1 s", p99 * 1000, 50, "ms")
    return targets.close()


if __name__ == "__main__":
    sys.exit(main())
