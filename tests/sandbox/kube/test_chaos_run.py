"""`chaos run` (the Chaos Toolkit CLI, in its own process) of pod-kill experiments against the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gamedays.processes import alive as pid_alive
from tests.sandbox.kube.support import Cluster

NS = "shop"
CHAOS = str(Path(sys.executable).with_name("chaos"))


def _probe(title: str, module: str, func: str, tolerance: object, **arguments: object) -> dict:
    return {
        "type": "probe",
        "name": title,
        "tolerance": tolerance,
        "provider": {"type": "python", "module": module, "func": func, "arguments": arguments},
    }


def _action(title: str, module: str, func: str, pause_after: float = 0, **arguments: object) -> dict:
    found: dict = {
        "type": "action",
        "name": title,
        "provider": {"type": "python", "module": module, "func": func, "arguments": arguments},
    }
    if pause_after:
        found["pauses"] = {"after": pause_after}
    return found


HYPOTHESIS = {
    "title": "web serves with all its replicas",
    "probes": [
        _probe(
            "web-available",
            "chaosk8s.deployment.probes",
            "deployment_available_and_healthy",
            True,
            name="web",
            ns=NS,
            raise_on_unavailable=False,
        ),
        _probe(
            "three-running", "chaosk8s.pod.probes", "count_pods", 3, label_selector="app=web", phase="Running", ns=NS
        ),
    ],
}


def _run(kube: Cluster, folder: Path, experiment: dict) -> tuple[dict, subprocess.CompletedProcess[str]]:
    path = folder / "experiment.json"
    path.write_text(json.dumps(experiment))
    journal = folder / "journal.json"
    run = subprocess.run(
        [
            CHAOS,
            "--no-version-check",
            "--settings",
            str(folder / "settings.yaml"),
            "--log-file",
            str(folder / "chaos.log"),
            "run",
            "--journal-path",
            str(journal),
            str(path),
        ],
        cwd=folder,
        env={**os.environ, "KUBECONFIG": str(kube.kubeconfig)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert journal.exists(), run.stdout + run.stderr
    return json.loads(journal.read_text()), run


def test_pod_kill_experiment_completes(private_kube: Cluster, tmp_path: Path):
    before = private_kube.deploy(NS, "web")
    experiment = {
        "version": "1.0.0",
        "title": "A killed web pod is replaced before anyone notices",
        "description": "terminate one random pod; the deployment must be whole again 2 s later",
        "steady-state-hypothesis": HYPOTHESIS,
        "method": [
            _action(
                "kill-one-web-pod",
                "chaosk8s.pod.actions",
                "terminate_pods",
                pause_after=2,
                label_selector="app=web",
                qty=1,
                rand=True,
                ns=NS,
            )
        ],
        "rollbacks": [],
    }
    journal, run = _run(private_kube, tmp_path, experiment)
    assert (journal["status"], journal["deviated"]) == ("completed", False), run.stdout + run.stderr
    killed = journal["run"][0]["output"]
    assert len(killed) == 1 and killed[0] in before and not pid_alive(before[killed[0]])
    after = private_kube.pids(NS)
    assert len(after) == 3 and killed[0] not in after
    assert journal["steady_states"]["after"]["steady_state_met"] is True


def test_an_experiment_whose_fault_breaks_the_hypothesis_deviates(private_kube: Cluster, tmp_path: Path):
    before = private_kube.deploy(NS, "web")
    experiment = {
        "version": "1.0.0",
        "title": "Losing every node and every pod is survivable (it is not)",
        "description": "cordon all nodes, kill all web pods: nothing can be rescheduled, the hypothesis must fail",
        "steady-state-hypothesis": HYPOTHESIS,
        "method": [
            _action(
                "cordon-every-node", "chaosk8s.node.actions", "cordon_node", label_selector="kubernetes.io/os=linux"
            ),
            _action(
                "kill-every-web-pod",
                "chaosk8s.pod.actions",
                "terminate_pods",
                pause_after=1,
                label_selector="app=web",
                all=True,
                grace_period=0,
                ns=NS,
            ),
        ],
        "rollbacks": [
            _action(
                "uncordon-every-node", "chaosk8s.node.actions", "uncordon_node", label_selector="kubernetes.io/os=linux"
            )
        ],
    }
    journal, run = _run(private_kube, tmp_path, experiment)
    assert (journal["status"], journal["deviated"]) == ("completed", True), run.stdout + run.stderr
    after = journal["steady_states"]["after"]
    assert after["steady_state_met"] is False
    assert {p["activity"]["name"]: p["output"] for p in after["probes"]}["web-available"] is False
    assert not any(pid_alive(pid) for pid in before.values())
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
    assert private_kube.sandbox.wait_ready(NS, "web", 10.0)  # uncordoned by the rollback: it heals
    private_kube.pids(NS)
