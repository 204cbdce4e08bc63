"""`gameday run` and `gameday rehearse` end to end against a detached sandbox.

Each test checks the target (pods, DNS, PostgreSQL) and the journal, never only our results.
"""

from __future__ import annotations

import json
import signal
import time

import dns.resolver

from gamedays.journal.io import read_journal
from gamedays.reporting.analysis import analyse
from tests.engine.run.conftest import (
    REPO,
    crashing_experiment,
    gameday_process,
    power_loss,
    run_gameday,
    scale_to_zero_experiment,
    shop_pods,
    wait_for_journal,
    wait_ready_pods,
)


def kinds(events, kind):
    return [e for e in events if e["event"] == kind]


def db_srv(env):
    resolver = dns.resolver.Resolver(configure=False)
    host, _, port = env["SANDBOX_DNS"].rpartition(":")
    resolver.nameservers, resolver.port = [host], int(port)
    return sorted(r.to_text() for r in resolver.resolve("db.shop.internal", "SRV"))


def test_a_full_run_accounts_for_every_step(sandbox, plans):
    records_before = db_srv(sandbox)
    plan = plans.write([
        {"id": "pod-loss", "uses": str(REPO / "experiments/kubernetes/pod-kill.yaml"),
         "with": {"namespace": "shop", "label_selector": "app=shop-api"}, "hypothesis": ["checkout-availability"],
         "recover_within": "10s"},
        {"id": "dns-loss", "uses": str(REPO / "experiments/dns/record-removal.yaml"),
         "with": {"hold_seconds": 2}, "hypothesis": ["dns-resolution"], "recover_within": "10s"},
    ])
    result = run_gameday(sandbox, "run", str(plan))
    assert result.returncode in (0, 1), result.stdout + result.stderr
    read = read_journal(plans.folder / "report/journal.jsonl")
    events = [json.loads(e.model_dump_json()) for e in read.events]
    assert events[0]["event"] == "gameday_started" and events[-1]["event"] == "gameday_finished"
    for step in ("pod-loss", "dns-loss"):
        mine = [e for e in events if e.get("step") == step]
        assert [e["event"] for e in mine if e["event"] != "experiment"][:2] == ["step_started", "fault_armed"]
        assert any(e["event"] == "experiment" and e["kind"] == "rollbacks_completed" for e in mine)
        assert mine[-1]["event"] == "step_finished" or any(e["event"] == "step_finished" for e in mine)
    samples = kinds(events, "sample")
    assert {s["slo"] for s in samples} == {"checkout-availability", "dns-resolution"}
    dns_bad = [s for s in samples if s["slo"] == "dns-resolution" and not s["good"]]
    assert dns_bad and dns_bad[0]["error"].startswith("db.shop.internal SRV: no answer")  # the fault really broke it
    analysis = analyse(read.events)
    dns_step = next(s for s in analysis.steps if s.id == "dns-loss")
    assert dns_step.time_to_detect is not None and dns_step.time_to_recover is not None
    # the target is as before
    assert db_srv(sandbox) == records_before
    wait_ready_pods(sandbox, 3)


def test_a_guardrail_aborts_the_fault_and_the_target_is_restored(sandbox, plans):
    plan = plans.write(
        [{"id": "all-pods", "uses": scale_to_zero_experiment(hold=60), "hypothesis": ["checkout-availability"]}],
        abort_when=["checkout-availability"], tolerate="1s",
    )
    began = time.monotonic()
    result = run_gameday(sandbox, "run", str(plan))
    took = time.monotonic() - began
    assert result.returncode == 1, result.stdout + result.stderr
    assert took < 45, f"the guardrail did not cut the 60 s fault short ({took:.0f}s)"
    events = read_journal(plans.folder / "report/journal.jsonl").events
    analysis = analyse(events)
    step = analysis.steps[0]
    assert step.outcome.value == "aborted" and "checkout-availability in breach" in step.guardrail
    assert step.detection_to_abort is not None and step.detection_to_abort < 1.0
    assert "GUARDRAIL: aborting all-pods" in result.stdout
    wait_ready_pods(sandbox, 3)


def test_ctrl_c_during_a_fault_rolls_back_and_closes_the_journal(sandbox, plans):
    experiment = scale_to_zero_experiment(hold=60)
    experiment["rollbacks"][0]["pauses"] = {"after": 2}  # slow rollbacks: the second Ctrl-C lands in them
    plan = plans.write([{"id": "all-pods", "uses": experiment}])
    process = gameday_process(sandbox, "run", str(plan))
    journal = plans.folder / "report/journal.jsonl"
    try:
        wait_for_journal(journal, lambda ev: any(e.get("kind") == "method_started" for e in ev))
        deadline = time.monotonic() + 30  # the scale-down reaches the pods in ~1 s; a busy machine takes longer
        while len(shop_pods(sandbox)) >= 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len([p for p in shop_pods(sandbox)]) < 3  # the fault is in place
        process.send_signal(signal.SIGINT)
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)  # impatient: a second Ctrl-C must not skip the rollbacks
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 3, out + err
    assert "SIGINT again: the rollbacks under way still run to their end" in out
    assert "report:  " in out  # the report was rendered all the same
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    assert kinds(events, "interrupted") and events[-1]["event"] == "gameday_finished"
    assert any(e.get("kind") == "rollbacks_completed" for e in events)
    wait_ready_pods(sandbox, 3)


def test_sigkill_of_the_orchestrator_then_recover_restores_the_target(sandbox, plans):
    plan = plans.write([{"id": "all-pods", "uses": scale_to_zero_experiment(hold=120)}])
    process = gameday_process(sandbox, "run", str(plan))
    journal = plans.folder / "report/journal.jsonl"
    try:
        wait_for_journal(journal, lambda ev: any(e.get("kind") == "method_started" for e in ev))
        deadline = time.monotonic() + 30
        while shop_pods(sandbox) and time.monotonic() < deadline:  # the fault in place, on the target
            time.sleep(0.2)
        power_loss(process)
    finally:
        if process.poll() is None:
            process.kill()
    time.sleep(1.0)
    assert len(shop_pods(sandbox)) == 0  # the fault is still in place: nobody rolled it back
    recovered = run_gameday(sandbox, "recover", str(plans.folder / "report"))
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "step all-pods: rolled back" in recovered.stdout
    wait_ready_pods(sandbox, 3)
    events = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    assert kinds(events, "rollbacks_played")[-1]["by"] == "recover"
    again = run_gameday(sandbox, "recover", str(plans.folder / "report"))
    assert "nothing to recover" in again.stdout


def test_a_crashing_experiment_is_an_error_and_the_gameday_goes_on(sandbox, plans):
    plan = plans.write([
        {"id": "crash", "uses": crashing_experiment()},
        {"id": "pod-loss", "uses": str(REPO / "experiments/kubernetes/pod-kill.yaml"),
         "with": {"namespace": "shop", "label_selector": "app=shop-api"}},
    ])
    result = run_gameday(sandbox, "run", str(plan))
    assert result.returncode == 1, result.stdout + result.stderr
    analysis = analyse(read_journal(plans.folder / "report/journal.jsonl").events)
    crash, pod_loss = analysis.steps
    assert crash.outcome.value == "error" and "crashed" in crash.detail
    assert pod_loss.outcome.value == "passed"
    wait_ready_pods(sandbox, 3)  # the engine played the crashed experiment's rollbacks


def test_a_rehearsal_injects_nothing(sandbox, plans):
    pods_before = sorted(p.metadata.name for p in shop_pods(sandbox))
    records_before = db_srv(sandbox)
    plan = plans.write([
        {"id": "pod-loss", "uses": str(REPO / "experiments/kubernetes/pod-kill.yaml"),
         "with": {"namespace": "shop", "label_selector": "app=shop-api"}},
        {"id": "dns-loss", "uses": str(REPO / "experiments/dns/record-removal.yaml"), "with": {"hold_seconds": 1}},
        {"id": "all-pods", "uses": scale_to_zero_experiment(hold=1)},
    ])
    result = run_gameday(sandbox, "rehearse", str(plan))
    assert result.returncode == 0, result.stdout + result.stderr
    events = read_journal(plans.folder / "report/rehearsal/journal.jsonl").events
    assert events[0].mode.value == "rehearsal"
    assert not (plans.folder / "report/journal.jsonl").exists()
    assert sorted(p.metadata.name for p in shop_pods(sandbox)) == pods_before
    assert db_srv(sandbox) == records_before


def test_the_may_plan_runs_to_the_end(sandbox, tmp_path):
    """plans/2024-05.yaml itself, in a copy of the repository's layout so its report stays out of the tree."""
    import shutil

    for folder in ("plans", "probes", "experiments", "playbooks"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    result = run_gameday(sandbox, "run", str(tmp_path / "plans/2024-05.yaml"), timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr  # the DNS record loss deviates: a real finding
    read = read_journal(tmp_path / "reports/2024-05/journal.jsonl")
    assert not read.torn and read.skipped == ()
    events = [json.loads(e.model_dump_json()) for e in read.events]
    finished = {e["step"]: e["outcome"] for e in kinds(events, "step_finished")}
    assert finished == {"api-pod-loss": "passed", "db-primary-failover": "passed", "dns-record-loss": "deviated"}
    assert events[-1]["event"] == "gameday_finished" and events[-1]["exit_code"] == 1
    assert {s["slo"] for s in kinds(events, "sample")} == {
        "checkout-availability", "checkout-latency", "database-writes", "dns-resolution"}
    # every DR playbook of the plan recovered the sandbox, RTO and RPO measured
    dr = {e["check"]: e for e in kinds(events, "dr_finished")}
    assert sorted(dr) == ["database-cluster", "dns", "kubernetes-cluster"]
    assert all(e["failed_step"] is None and e["recovered_at"] is not None for e in dr.values()), dr
    assert all(not w["error"] and w["acknowledged"] > 0 for w in kinds(events, "dr_writes")), kinds(events, "dr_writes")
    wait_ready_pods(sandbox, 3)
