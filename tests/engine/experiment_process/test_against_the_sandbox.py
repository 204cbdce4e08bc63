"""Chaos Toolkit experiments in their own process against the real sandbox: every outcome checked on the target.

The target is the sandbox's Kubernetes API, read with the official client through
its kubeconfig: pod names, ready pods, the deployment's replicas.
"""

from __future__ import annotations

import json

import yaml

from gamedays.engine.experiment_process import rollbacks_journal_for, run_rollbacks
from tests.engine.experiment_process.support import REPO, Launch, Shop, activity, experiment

K8S_SCALE = {"module": "chaosk8s.deployment.actions", "func": "scale_deployment"}


def scale(replicas: int, *, pause_after: float = 0) -> dict:
    name = f"scale-shop-api-to-{replicas}"
    return activity("action", name, K8S_SCALE["func"], module=K8S_SCALE["module"], pause_after=pause_after, name="shop-api", replicas=replicas, ns="shop")


def three_pods_running() -> dict:
    probe = activity("probe", "three-pods-running", "count_pods", module="chaosk8s.pod.probes", label_selector="app=shop-api", ns="shop", phase="Running")
    return {**probe, "tolerance": 3}


def test_pod_kill_reports_each_step_in_order_and_a_pod_is_replaced(launch: Launch, shop: Shop, sandbox_env):
    body = yaml.safe_load((REPO / "experiments/kubernetes/pod-kill.yaml").read_text())
    before = shop.pod_names()

    run = launch(body, {"namespace": "shop", "label_selector": "app=shop-api"}, env=sandbox_env)
    result = run.result()

    assert run.kinds() == [
        "started", "hypothesis_before", "method_started", "method_completed",
        "hypothesis_after", "rollbacks_started", "rollbacks_completed", "finished",
    ]  # fmt: skip
    assert run.events[1].met is True and run.events[4].met is True
    assert (run.events[-1].status, run.events[-1].deviated) == ("completed", False)
    assert (result.status, result.deviated, result.crashed, result.rollbacks_completed) == ("completed", False, False, True)
    assert result.exit_code == 0 and result.error is None
    journal = json.loads(result.journal_path.read_text())
    assert journal["status"] == "completed" and journal["run"][0]["status"] == "succeeded"
    assert [e.at for e in run.events] == sorted(e.at for e in run.events)
    assert body == yaml.safe_load((REPO / "experiments/kubernetes/pod-kill.yaml").read_text())  # never mutated
    # on the target: a pod was deleted and the deployment replaced it
    assert shop.wait_ready(3)
    after = shop.pod_names()
    assert len(before - after) == 1 and len(after - before) == 1


def test_interrupt_during_the_pause_plays_the_rollbacks_and_the_pods_come_back(launch: Launch, shop: Shop, sandbox_env):
    body = experiment([scale(0, pause_after=30)], rollbacks=[scale(3)], probes=[three_pods_running()])

    run = launch(body, env=sandbox_env)
    run.wait_for("method_started")
    assert shop.wait_until(lambda: shop.replicas() == 0 and not shop.pods(), 15), "the action did not scale to zero"
    run.process.interrupt()
    run.process.interrupt()  # idempotent: a second call must not cut the rollbacks short
    result = run.result(30)

    assert (result.status, result.crashed, result.rollbacks_completed) == ("interrupted", False, True)
    assert "method_completed" not in run.kinds() and "hypothesis_after" not in run.kinds()
    assert run.kinds()[-3:] == ["rollbacks_started", "rollbacks_completed", "finished"]
    journal = json.loads(result.journal_path.read_text())
    assert journal["status"] == "interrupted"
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
    assert journal["duration"] < 20  # it did not sit out the 30 s pause
    # on the target: the rollback scaled the deployment back up
    assert shop.replicas() == 3
    assert shop.wait_ready(3), f"{shop.ready()} ready pods after the rollback"


def test_a_crash_after_the_action_is_a_crash_and_run_rollbacks_restores(launch: Launch, shop: Shop, sandbox_env):
    body = experiment([scale(0), activity("action", "crash-the-child", "crash", code=9)], rollbacks=[scale(3)])

    run = launch(body, env=sandbox_env)
    result = run.result()

    assert (result.crashed, result.status, result.exit_code, result.rollbacks_completed) == (True, "crashed", 9, False)
    assert "exited with code 9" in (result.error or "")
    assert not result.journal_path.exists()
    assert "rollbacks_started" not in run.kinds() and "finished" not in run.kinds()
    assert shop.replicas() == 0  # on the target: no rollback ran in the crashed child

    recovered = run_rollbacks(run.spec, timeout=60)

    assert (recovered.crashed, recovered.status, recovered.rollbacks_completed, recovered.error) == (False, "completed", True, None)
    assert recovered.journal_path == rollbacks_journal_for(run.spec.journal_path) and recovered.journal_path.exists()
    assert not result.journal_path.exists()  # the rollbacks run keeps its own journal
    assert shop.wait_ready(3), f"{shop.ready()} ready pods after run_rollbacks"
    assert shop.replicas() == 3


def test_sigkill_mid_method_is_a_crash_and_run_rollbacks_restores(launch: Launch, shop: Shop, sandbox_env):
    body = experiment([scale(0, pause_after=30)], rollbacks=[scale(3)])

    run = launch(body, env=sandbox_env)
    run.wait_for("method_started")
    assert shop.wait_until(lambda: shop.replicas() == 0, 15)
    run.process.kill()
    result = run.result(10)

    assert (result.crashed, result.status, result.exit_code) == (True, "crashed", -9)
    assert "SIGKILL" in (result.error or "")
    assert shop.replicas() == 0 and not shop.pods()  # nothing rolled back by a killed child

    recovered = run_rollbacks(run.spec, timeout=60)

    assert (recovered.status, recovered.rollbacks_completed) == ("completed", True)
    assert shop.wait_ready(3), f"{shop.ready()} ready pods after run_rollbacks"


def test_a_dry_run_plays_the_probes_but_no_action(launch: Launch, shop: Shop, sandbox_env):
    body = yaml.safe_load((REPO / "experiments/kubernetes/pod-kill.yaml").read_text())
    before = shop.pod_names()

    run = launch(body, {"namespace": "shop", "label_selector": "app=shop-api"}, env=sandbox_env, dry=True)
    result = run.result()

    assert result.status == "completed" and not result.deviated
    met = {e.kind: e.met for e in run.events if e.kind.startswith("hypothesis")}
    assert met == {"hypothesis_before": True, "hypothesis_after": True}  # the probes ran, and saw the pods
    journal = json.loads(result.journal_path.read_text())
    assert journal["experiment"]["dry"] == "actions"
    assert journal["steady_states"]["before"]["probes"][0]["output"] is True
    assert journal["run"][0]["output"] is None  # terminate_pods was not called
    assert shop.pod_names() == before  # on the target: no pod was deleted
    assert shop.ready() == 3


def test_a_failing_steady_state_before_the_method_fails_the_run_and_the_method_never_runs(launch: Launch, shop: Shop, sandbox_env):
    missing = activity("probe", "a-missing-deployment-is-healthy", "deployment_available_and_healthy",
                       module="chaosk8s.deployment.probes", name="no-such-api", ns="shop")  # fmt: skip
    body = experiment([scale(0)], probes=[{**missing, "tolerance": True}])
    before = shop.pod_names()

    run = launch(body, env=sandbox_env)
    result = run.result()

    assert (result.status, result.crashed) == ("failed", False)
    assert "method_started" not in run.kinds()
    assert run.kinds()[:2] == ["started", "hypothesis_before"] and run.events[1].met is False
    assert "a-missing-deployment-is-healthy" in (result.error or "") and "no-such-api" in (result.error or "")
    journal = json.loads(result.journal_path.read_text())
    assert journal["status"] == "failed" and journal["run"] == []
    # on the target: the scale-to-zero never happened
    assert shop.replicas() == 3 and shop.pod_names() == before
