"""`chaos run` of the catalog's pod-kill experiment against a detached sandbox, unmodified."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import sandboxes

REPO = Path(__file__).resolve().parents[3]
CHAOS = str(Path(sys.executable).with_name("chaos"))


@pytest.fixture
def sandbox_env(shared_sandbox: sandboxes.SharedSandbox):
    """The shared detached sandbox's environment; the test must leave it as it found it."""
    base = {key: value for key, value in os.environ.items() if key != "GAMEDAY_SANDBOX"}
    yield shared_sandbox.cli_env(base)
    shared_sandbox.check_as_found()


def chaos_run(env: dict, experiment: Path, workdir: Path, *variables: str) -> dict:
    args = [CHAOS, "--no-version-check", "run", "--journal-path", str(workdir / "journal.json")]
    for variable in variables:
        args += ["--var", variable]
    subprocess.run([*args, str(experiment)], env=env, cwd=workdir, capture_output=True, text=True, timeout=120)
    return json.loads((workdir / "journal.json").read_text())


def test_pod_kill_completes_against_the_sandbox(sandbox_env, tmp_path):
    journal = chaos_run(sandbox_env, REPO / "experiments/kubernetes/pod-kill.yaml", tmp_path, "namespace=shop", "label_selector=app=shop-api")
    assert journal["status"] == "completed" and journal["deviated"] is False
    killed = journal["run"][0]["output"]
    assert killed  # terminate_pods really deleted a pod


def test_a_hypothesis_the_fault_makes_impossible_deviates_and_the_rollback_restores(sandbox_env, tmp_path):
    count_running = {
        "type": "python",
        "module": "chaosk8s.pod.probes",
        "func": "count_pods",
        "arguments": {"label_selector": "app=shop-api", "ns": "shop", "phase": "Running"},
    }
    scale = {"type": "python", "module": "chaosk8s.deployment.actions", "func": "scale_deployment"}
    experiment = {
        "title": "Three shop pods keep running while the deployment is scaled to zero",
        "description": "Impossible by construction: the method removes every pod.",
        "steady-state-hypothesis": {
            "title": "three pods run",
            "probes": [{"type": "probe", "name": "three-running", "tolerance": 3, "provider": count_running}],
        },
        "method": [
            {"type": "action", "name": "scale-to-zero", "provider": {**scale, "arguments": {"name": "shop-api", "replicas": 0, "ns": "shop"}}, "pauses": {"after": 2}},
        ],
        "rollbacks": [
            {"type": "action", "name": "scale-back", "provider": {**scale, "arguments": {"name": "shop-api", "replicas": 3, "ns": "shop"}}},
        ],
    }
    path = tmp_path / "impossible.json"
    path.write_text(json.dumps(experiment))
    journal = chaos_run(sandbox_env, path, tmp_path)
    assert journal["status"] == "completed" and journal["deviated"] is True
    assert journal["rollbacks"][0]["status"] == "succeeded"

    # the target, not the journal: three pods are back
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(config_file=sandbox_env["KUBECONFIG"]))
    pods = api.list_namespaced_pod("shop", label_selector="app=shop-api").items
    assert len(pods) == 3
