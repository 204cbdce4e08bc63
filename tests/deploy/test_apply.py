"""`gameday deploy PLAN` and `gameday status` against a real Kubernetes API (the sandbox's) on 127.0.0.1.

The cluster is what KUBECONFIG's current context names, as for kubectl. The objects are read
back from the API server; a Job's pod is made as the Job controller would make it (the sandbox
has no Job controller) and run by the sandbox's kubelet, its exit code the gameday's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.config import new_client_from_config

from gamedays.sandbox.kube import KubeSandbox, ProcessRuntime
from tests.deploy.test_deploy import PLAN

REPO = Path(__file__).resolve().parents[2]
#: a pod's process exits with the code its image's tag names: image "exit:1" exits 1
EXIT_BY_IMAGE = [sys.executable, "-c", "import sys; sys.exit(int('{image}'.rsplit(':', 1)[1]))"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A sandbox Kubernetes API with one node; yields its kubeconfig (namespaces shop and gameday made)."""
    root = tmp_path_factory.mktemp("cluster")
    sandbox = KubeSandbox(ProcessRuntime(EXIT_BY_IMAGE, log_dir=root / "logs"), nodes=1)
    sandbox.start()
    try:
        kubeconfig = Path(sandbox.write_kubeconfig(root / "kubeconfig"))
        yield kubeconfig
    finally:
        sandbox.stop()


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    for folder in ("probes", "experiments", "playbooks"):
        subprocess.run(["cp", "-R", str(REPO / folder), str(tmp_path / folder)], check=True)
    (tmp_path / "plans").mkdir()
    path = tmp_path / "plans/p.yaml"
    path.write_text(PLAN)
    return path


def gameday(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    return subprocess.run([sys.executable, "-m", "gamedays", *args], env=env, capture_output=True, text=True, timeout=120)


def api(kubeconfig: Path) -> client.ApiClient:
    return new_client_from_config(config_file=str(kubeconfig))


def namespace(kubeconfig: Path, name: str) -> None:
    core = client.CoreV1Api(api(kubeconfig))
    if name not in {n.metadata.name for n in core.list_namespace().items}:
        core.create_namespace({"metadata": {"name": name}})


def test_a_missing_namespace_is_named_and_nothing_is_applied(cluster: Path, plan: Path):
    done = gameday(cluster, "deploy", str(plan), "--confirm", "staging", "--namespace", "nowhere")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "gameday deploy: namespace nowhere does not exist on context " in done.stderr
    assert "nothing was applied. Create it (kubectl create namespace nowhere) or give --namespace" in done.stderr
    assert client.RbacAuthorizationV1Api(api(cluster)).list_cluster_role().items == []


def test_deploy_applies_the_objects_once_and_a_job_is_never_run_twice(cluster: Path, plan: Path):
    namespace(cluster, "shop")
    namespace(cluster, "gameday")
    done = gameday(cluster, "deploy", str(plan), "--confirm", "staging")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "job/gameday-2024-08 in namespace gameday created" in done.stdout
    assert "follow it with: gameday status --namespace gameday" in done.stdout
    rbac, batch, core = client.RbacAuthorizationV1Api(api(cluster)), client.BatchV1Api(api(cluster)), client.CoreV1Api(api(cluster))
    job = batch.read_namespaced_job("gameday-2024-08", "gameday")
    assert job.spec.backoff_limit == 0 and job.spec.template.spec.service_account_name == "gameday-2024-08"
    role = rbac.read_namespaced_role("gameday-2024-08", "shop")
    assert any(r.resources == ["pods"] and "delete" in r.verbs for r in role.rules)
    assert rbac.read_namespaced_role_binding("gameday-2024-08", "shop").subjects[0].name == "gameday-2024-08"
    assert rbac.read_cluster_role("gameday-2024-08").rules
    files = core.read_namespaced_config_map("gameday-2024-08", "gameday").data
    assert files["plans__p.yaml"] == PLAN

    again = gameday(cluster, "deploy", str(plan), "--confirm", "staging")
    assert again.returncode == 2, again.stdout + again.stderr
    assert "Job gameday-2024-08 exists in namespace gameday on context " in again.stderr
    assert "(not started): it ran this plan already. A Job runs once; to run it again delete it first " in again.stderr
    assert "(kubectl -n gameday delete job gameday-2024-08), or deploy with --schedule; applied before: " in again.stderr
    assert "serviceaccount/gameday-2024-08 in namespace gameday updated" in again.stderr


def test_status_follows_a_job_to_its_exit_code_and_lists_a_cronjob(cluster: Path, plan: Path):
    namespace(cluster, "shop")
    namespace(cluster, "status")
    scheduled = gameday(cluster, "deploy", str(plan), "--confirm", "staging", "--namespace", "status", "--schedule", "0 10 * * 2")
    assert scheduled.returncode == 0, scheduled.stderr
    batch, core = client.BatchV1Api(api(cluster)), client.CoreV1Api(api(cluster))
    cron = batch.read_namespaced_cron_job("gameday-2024-08", "status")
    job = batch.create_namespaced_job("status", {  # what the CronJob controller makes from the jobTemplate
        "metadata": {"name": "gameday-2024-08-28000000", "labels": cron.spec.job_template.metadata.labels},
        "spec": batch.api_client.sanitize_for_serialization(cron.spec.job_template.spec),
    })
    listed = gameday(cluster, "status", "--namespace", "status")
    assert listed.returncode == 0, listed.stderr
    assert "CronJob  gameday-2024-08           2024-08  schedule '0 10 * * 2', last started never, 0 running" in listed.stdout
    assert "Job      gameday-2024-08-28000000  2024-08  not started (no pod yet)" in listed.stdout

    core.create_namespaced_pod("status", {  # what the Job controller makes: its pod, the gameday exiting 1 (findings)
        "metadata": {"name": "gameday-2024-08-28000000-x1", "labels": job.spec.template.metadata.labels,
                     "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": job.metadata.name,
                                          "uid": job.metadata.uid, "controller": True}]},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "gameday", "image": "exit:1"}]},
    })
    deadline = time.monotonic() + 30
    while "findings (exit 1)" not in (listed := gameday(cluster, "status", "--namespace", "status")).stdout:
        assert time.monotonic() < deadline, listed.stdout + listed.stderr
        time.sleep(0.5)
    assert "Job      gameday-2024-08-28000000  2024-08  finished 20" in listed.stdout
    pod = core.read_namespaced_pod("gameday-2024-08-28000000-x1", "status")
    assert pod.status.phase == "Failed" and pod.status.container_statuses[0].restart_count == 0


def test_status_of_an_empty_namespace_says_so(cluster: Path):
    namespace(cluster, "empty")
    listed = gameday(cluster, "status", "--namespace", "empty")
    assert listed.returncode == 0 and listed.stdout.startswith("no gameday is deployed in namespace empty on context "), listed.stdout


def test_no_kubeconfig_is_a_clear_error(tmp_path: Path, plan: Path):
    done = gameday(tmp_path / "missing", "status")
    assert done.returncode == 2 and done.stderr.startswith("gameday status: no cluster: no Kubernetes credentials"), done.stderr
