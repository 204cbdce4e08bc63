"""The sandbox's targets: up to all-healthy < 10 s, resident memory < 600 MB, a killed pod Ready again < 3 s,
the AWS endpoint and its twin idle at < 1% of a core.

    python bench/sandbox.py [--runs N]

Starts detached sandboxes through the real CLI in a temporary GAMEDAY_HOME and prints
each figure, its ratio to the target, and (for start-up) its ratio to a bare
`python -c pass` measured in the same run.
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
import time
from pathlib import Path

TARGET_UP, TARGET_MB, TARGET_POD, TARGET_IDLE_AWS = 10.0, 600.0, 3.0, 1.0
IDLE_SECONDS = 10.0

sys.path.insert(0, str(Path(__file__).resolve().parent))
from targets import Targets  # noqa: E402 - bench/targets.py


def cli(home: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GAMEDAY_HOME": home}
    env.pop("GAMEDAY_SANDBOX", None)
    return subprocess.run([sys.executable, "-m", "gamedays", *args], env=env, capture_output=True, text=True, timeout=120, check=True)


def exports(text: str) -> dict[str, str]:
    return {line[7:].split("=", 1)[0]: shlex.split(line.split("=", 1)[1])[0] for line in text.splitlines()}


def tree(root: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = {root}, {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier and pid not in found}
        found |= frontier
    return found


def memory_mb(pids: set[int]) -> tuple[float, float]:
    """(sum of RSS, sum of PSS) in MB: RSS counts shared pages once per process, PSS shares them out."""
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            pass
    return rss / 1024, pss / 1024


def cpu_seconds(pids: set[int]) -> dict[int, float]:
    """utime + stime of each process, in seconds (from /proc/PID/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / tick
    return found


def idle_cpu_percent(pids: set[int]) -> tuple[float, float]:
    """(all processes, the AWS endpoint's process and its twin): % of one core over IDLE_SECONDS of doing nothing."""
    aws = {pid for pid in pids if b"gamedays.sandbox.aws" in _cmdline(pid)}
    before = cpu_seconds(pids)
    time.sleep(IDLE_SECONDS)
    after = cpu_seconds(pids)
    spent = {pid: after[pid] - before[pid] for pid in after if pid in before}
    return 100 * sum(spent.values()) / IDLE_SECONDS, 100 * sum(spent.get(pid, 0.0) for pid in aws) / IDLE_SECONDS


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def pod_replacement_seconds(kubeconfig: str, runs: int) -> list[float]:
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    times = []
    for _ in range(runs):
        before = {p.metadata.name for p in api.list_namespaced_pod("shop", label_selector="app=shop-api").items}
        victim = sorted(before)[0]
        start = time.perf_counter()
        api.delete_namespaced_pod(victim, "shop", grace_period_seconds=0)
        deadline = start + 15
        while time.perf_counter() < deadline:
            pods = api.list_namespaced_pod("shop", label_selector="app=shop-api").items
            fresh = [p for p in pods if p.metadata.name not in before]
            if fresh and any(c.type == "Ready" and c.status == "True" for c in fresh[0].status.conditions or []):
                break
            time.sleep(0.02)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    runs = max(1, min(parser.parse_args().runs, 10))
    baseline = statistics.median(
        [_timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True)) for _ in range(5)]
    )
    ups, mems, pods, idles = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="gameday-bench-") as home:
        for _ in range(runs):
            start = time.perf_counter()
            up = cli(home, "sandbox", "up", "--detach")
            ups.append(time.perf_counter() - start)
            env = exports(up.stdout)
            try:
                pid = json.loads(Path(env["GAMEDAY_SANDBOX"], "state.json").read_text())["pid"]
                time.sleep(1.0)  # let every part settle before reading memory
                mems.append(memory_mb(tree(pid)))
                idles.append(idle_cpu_percent(tree(pid)))
                pods.extend(pod_replacement_seconds(env["KUBECONFIG"], 5))
            finally:
                cli(home, "sandbox", "down")
    up_median = statistics.median(ups)
    rss = statistics.median(m[0] for m in mems)
    pss = statistics.median(m[1] for m in mems)
    pod_median, pod_max = statistics.median(pods), max(pods)
    idle_all = statistics.median(i[0] for i in idles)
    idle_aws = statistics.median(i[1] for i in idles)
    print(f"sandbox, {runs} start(s), {len(pods)} pod kills; baseline python -c pass = {baseline * 1000:.0f} ms")
    print(f"{'figure':44} {'value':>10} {'target':>8} {'/target':>8}")
    print(f"{'up --detach to all healthy (median)':44} {up_median:9.2f}s {TARGET_UP:7.0f}s {up_median / TARGET_UP:8.2f}  ({up_median / baseline:.0f}x python -c pass)")
    print(f"{'resident memory, PSS of all processes':44} {pss:8.0f}MB {TARGET_MB:6.0f}MB {pss / TARGET_MB:8.2f}")
    print(f"{'resident memory, RSS sum (shared counted often)':44} {rss:8.0f}MB {TARGET_MB:6.0f}MB {rss / TARGET_MB:8.2f}")
    print(f"{'killed pod replaced and Ready (median)':44} {pod_median:9.2f}s {TARGET_POD:7.0f}s {pod_median / TARGET_POD:8.2f}")
    print(f"{'killed pod replaced and Ready (max)':44} {pod_max:9.2f}s {TARGET_POD:7.0f}s {pod_max / TARGET_POD:8.2f}")
    print(f"{'idle CPU, all processes (% of a core)':44} {idle_all:9.2f}%")
    print(f"{'idle CPU, AWS endpoint + twin (% of a core)':44} {idle_aws:9.2f}% {TARGET_IDLE_AWS:7.0f}% {idle_aws / TARGET_IDLE_AWS:8.2f}")
    targets = Targets()
    targets.below("up --detach to all healthy (median)", up_median, TARGET_UP, "s")
    targets.below("resident memory, PSS of all processes", pss, TARGET_MB, "MB")
    targets.below("killed pod replaced and Ready (median)", pod_median, TARGET_POD, "s")
    targets.below("idle CPU, AWS endpoint + twin", idle_aws, TARGET_IDLE_AWS, "%")
    return targets.close()


def _timed(work) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
