"""The session's shared sandbox for the engine's end-to-end tests, and plans written against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import sandboxes

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent


@pytest.fixture
def sandbox(shared_sandbox: sandboxes.SharedSandbox) -> Iterator[dict[str, str]]:
    """The shared sandbox, the default one of its GAMEDAY_HOME (as ``gameday sandbox up --detach`` starts it):
    this environment with that GAMEDAY_HOME, its exports, and PYTHONPATH. The test must leave it as it found it."""
    base = {key: value for key, value in os.environ.items() if key != "GAMEDAY_SANDBOX"}
    yield {**shared_sandbox.cli_env(base), "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO)])}
    shared_sandbox.check_as_found()


SCALE = {"type": "python", "module": "chaosk8s.deployment.actions", "func": "scale_deployment"}


def scale_to_zero_experiment(hold: int) -> dict:
    """Scales the shop to zero pods for ``hold`` seconds; the rollback scales it back to three."""
    return {
        "title": "The shop survives losing every pod",
        "description": "Scales shop-api to zero; the rollback scales it back to three.",
        "method": [
            {"type": "action", "name": "scale-to-zero", "provider": {**SCALE, "arguments": {"name": "shop-api", "replicas": 0, "ns": "shop"}},
             "pauses": {"after": hold}},
        ],
        "rollbacks": [
            {"type": "action", "name": "scale-back", "provider": {**SCALE, "arguments": {"name": "shop-api", "replicas": 3, "ns": "shop"}}},
        ],
    }


def crashing_experiment() -> dict:
    experiment = scale_to_zero_experiment(0)
    experiment["method"].append(
        {"type": "action", "name": "crash", "provider": {"type": "python", "module": "crasher", "func": "crash_now"}}
    )
    return experiment


@dataclass
class PlanWriter:
    folder: Path

    def write(self, steps: list[dict], *, abort_when: list[str] | None = None, tolerate: str = "1s", name: str = "plan.yaml") -> Path:
        experiments = []
        for step in steps:
            uses = step["uses"]
            if isinstance(uses, dict):
                path = self.folder / f"{step['id']}.json"
                path.write_text(json.dumps(uses))
                uses = str(path)
            experiments.append({**step, "uses": uses})
        plan = {
            "gameday": "test",
            "title": "engine test",
            "date": "2024-05-21",
            "environment": "sandbox",
            "team": {"commander": "tester"},
            "slos": str(REPO / "probes/slos.yaml"),
            "monitor": {"interval": "500ms", "baseline": "1s", "cooldown": "1s", "timeout": "1s"},
            "guardrails": {"abort_when": abort_when or [], "tolerate": tolerate},
            "experiments": experiments,
            "report": {"out": str(self.folder / "report")},
        }
        path = self.folder / name
        path.write_text(json.dumps(plan))  # JSON is YAML
        return path


@pytest.fixture
def plans(tmp_path: Path) -> PlanWriter:
    return PlanWriter(tmp_path)


def gameday_process(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "gamedays", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_gameday(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gamedays", *args], env=env, capture_output=True, text=True, timeout=timeout)


def wait_for_journal(path: Path, predicate, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            if predicate(events):
                return events
        time.sleep(0.1)
    raise AssertionError(f"the journal {path} never showed what was awaited")


def shop_pods(env: dict[str, str]):
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(config_file=env["KUBECONFIG"]))
    return api.list_namespaced_pod("shop", label_selector="app=shop-api").items


def wait_ready_pods(env: dict[str, str], count: int, timeout: float = 30) -> list:
    deadline = time.monotonic() + timeout
    pods = []
    while time.monotonic() < deadline:
        pods = shop_pods(env)
        ready = [p for p in pods if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])]
        if len(ready) == count and len(pods) == count:
            return ready
        time.sleep(0.2)
    raise AssertionError(f"expected {count} ready shop pods, saw {len(pods)}")


def power_loss(process: subprocess.Popen[str]) -> None:
    """SIGKILL a running `gameday` and every process under it, as a power loss would, and reap it.

    The experiment dies before the orchestrator: killed the other way round, its dead man's switch
    would rightly start the rollbacks in the moment between the two kills.
    """
    import os
    import signal

    from tests.sandbox.proctable import alive, descendants

    everything = descendants(process.pid) | {process.pid}
    for pid in sorted(everything, key=lambda pid: pid == process.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while alive(everything) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(everything), f"left running after the power loss: {sorted(alive(everything))}"
