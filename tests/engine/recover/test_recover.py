"""`gameday recover` and the dead man's switch, end to end: a real `gameday run` of catalog entries, killed mid-fault.

Every catalog entry is killed mid-fault (or excluded, saying why). The target itself is checked
(DNS answers, pods, which server takes writes, what a client meets through the fault proxy, the
AWS twin's state), with the catalog tests' checks (tests/catalog/support.py). Every test leaves the shared sandbox as it found it and checks so.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from typing import Callable

import pytest
import yaml

from tests.catalog.support import DatabaseState, Target, wait_until
from tests.engine.run.conftest import (
    REPO,
    gameday_process,
    power_loss,
    run_gameday,
    scale_to_zero_experiment,
    wait_for_journal,
)
from tests.sandbox.proctable import alive, descendants

HOLD = 300  # far longer than any test waits: a restored target was restored by a rollback, not by the hold ending


@dataclass(frozen=True)
class Entry:
    """A catalog entry, how its fault shows on the target, and the target as it must be again."""

    path: str
    values: dict
    snapshot: Callable[[Target], object]
    injected: Callable[[Target, object], bool]
    restore_within: float = 30  # seconds the rollbacks take to bring the snapshot back


NODE = "sandbox-node-1"


def srv(target: Target) -> object:
    return target.lookup("db.shop.internal", "SRV")


def pg0(target: Target) -> object:
    return target.lookup("pg-0.shop.internal", "A")


def database(target: Target) -> DatabaseState:
    return target.database()


def proxied(target: Target, before: DatabaseState) -> bool:
    """The db record moved away (to the fault proxy's port): clients go through the proxy."""
    now = target.answers("db.shop.internal", "SRV", timeout=2.0)
    return now is not None and tuple(now) != before.record


def failed_over(target: Target, before: DatabaseState) -> bool:
    now = target.database()
    return (now.primary_in_recovery, now.replica_in_recovery, now.takes_writes) == (None, False, True) and now.record != before.record


def exhausted(target: Target, before: object) -> bool:
    refused = target.connect_error("DATABASE_PRIMARY_URL") or ""
    return "too many clients" in refused or "connection slots are reserved" in refused


def resolver(target: Target) -> object:
    return target.answers("db.shop.internal", "SRV", timeout=3.0), target.resolver_fault()


def pods(target: Target) -> object:
    return target.deployment_replicas(), target.pods_ready()


def drained(target: Target) -> object:
    return target.unschedulable(NODE), target.pods_ready()


def lost(target: Target) -> object:
    return target.node_ready(NODE), target.pods_ready()


def isolated(target: Target) -> object:
    return target.network_policies("shop")


# Every catalog entry with rollbacks. Those without are in QUIET below, but for three left out
# (NO_WINDOW): their one fault ends by itself at once, so nothing shows on the target to cut the power
# in the middle of (aws/rds-reboot-with-failover: moto shows the instance "available" again at once;
# aws/aurora-writer-reboot: the twin restarts the writer's server within a second or two;
# postgres/postgres-backend-termination: the server ends the backends and takes new connections at
# once); they declare no rollbacks, so recover's answer is QUIET's, by the same code.
ENTRIES = {
    "aws/ec2-stop-start": Entry("aws/ec2-stop-start.yaml", {}, lambda t: t.ec2_state("shop-api-1"),
                                lambda t, before: t.ec2_state("shop-api-1") in ("stopping", "stopped")),
    "aws/aurora-cluster-failover": Entry("aws/aurora-cluster-failover.yaml", {}, lambda t: t.aurora_writer(),
                                              lambda t, before: t.aurora_writer() == "shop-db-2"),
    "local/database-blackhole": Entry("local/database-blackhole.yaml", {}, database,
                                         lambda t, before: proxied(t, before) and not t.write()),
    "local/database-connection-reset": Entry("local/database-connection-reset.yaml", {}, database,
                                                lambda t, before: proxied(t, before) and not t.write()),
    "local/slow-database": Entry("local/slow-database.yaml", {"latency_ms": 400, "jitter_ms": 0}, database,
                                    lambda t, before: proxied(t, before) and (t.write_seconds() or 0.0) >= 0.4),
    "postgres/postgres-connection-exhaustion": Entry("postgres/postgres-connection-exhaustion.yaml", {}, database, exhausted),
    "local/postgres-primary-failover": Entry("local/postgres-primary-failover.yaml", {}, database, failed_over, 90),
    "local/postgres-primary-kill": Entry("local/postgres-primary-kill.yaml", {}, database,
                                            lambda t, before: t.in_recovery("DATABASE_PRIMARY_URL") is None, 60),
    "aws/eks-node-loss": Entry("aws/eks-node-loss.yaml", {"instance_name": NODE}, lost, lambda t, before: not t.node_ready(NODE)),
    "dns/record-removal": Entry("dns/record-removal.yaml", {}, srv, lambda t, before: srv(t) == []),
    "dns/record-wrong-address": Entry("dns/record-wrong-address.yaml", {}, pg0, lambda t, before: pg0(t) == ["192.0.2.10"]),
    "sandbox/resolver-outage": Entry("sandbox/resolver-outage.yaml", {}, resolver,
                                 lambda t, before: t.answers("db.shop.internal", "SRV", timeout=1.0) is None),
    "sandbox/resolver-slowdown": Entry("sandbox/resolver-slowdown.yaml", {"delay_seconds": 1.0}, resolver,
                                   lambda t, before: bool(t.resolver_fault()) and t.lookup_seconds("db.shop.internal", "SRV") >= 1.0),
    "aws/route53-record-change": Entry("aws/route53-record-change.yaml", {}, lambda t: t.route53_records(),
                                       lambda t, before: t.route53_values("db", "A") == ["192.0.2.10"]),
    "aws/route53-record-removal": Entry("aws/route53-record-removal.yaml", {}, lambda t: (t.route53_records(), srv(t)),
                                        lambda t, before: t.route53_values("db", "SRV") == [] and srv(t) == []),
    "kubernetes/deployment-scale-to-zero": Entry("kubernetes/deployment-scale-to-zero.yaml", {}, pods,
                                                 lambda t, before: t.shop_pods() == []),
    "kubernetes/namespace-network-deny": Entry("kubernetes/namespace-network-deny.yaml", {}, isolated,
                                               lambda t, before: t.network_policies("shop") != [] and t.order() is None),
    "kubernetes/node-drain": Entry("kubernetes/node-drain.yaml", {"node": NODE}, drained, lambda t, before: t.unschedulable(NODE)),
}  # fmt: skip

# Entries that declare no rollbacks: their controller (or the end of their process) undoes what they did.
NO_WINDOW = {"aws/rds-reboot-with-failover.yaml", "aws/aurora-writer-reboot.yaml", "postgres/postgres-backend-termination.yaml"}
QUIET = {
    "kubernetes/pod-kill": ("kubernetes/pod-kill.yaml", {"namespace": "shop"}),
    "kubernetes/rolling-pod-loss": ("kubernetes/rolling-pod-loss.yaml", {"rounds": 60, "interval_seconds": 1.0}),
}


def test_every_catalog_entry_is_proven_or_excluded():
    catalog = {str(path.relative_to(REPO / "experiments")) for path in (REPO / "experiments").rglob("*") if path.is_file()}
    covered = {entry.path for entry in ENTRIES.values()} | {path for path, _ in QUIET.values()}
    assert catalog - covered == NO_WINDOW  # see the comment above ENTRIES
    for path in NO_WINDOW:
        assert yaml.safe_load((REPO / "experiments" / path).read_text())["rollbacks"] == [], path
    for name, entry in ENTRIES.items():
        experiment = yaml.safe_load((REPO / "experiments" / entry.path).read_text())
        assert experiment["rollbacks"] and "hold_seconds" in experiment["configuration"], name
    for name, (path, _) in QUIET.items():
        assert yaml.safe_load((REPO / "experiments" / path).read_text())["rollbacks"] == [], name


def events_of(journal) -> list[dict]:
    return [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]


def kill(pids: set[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert wait_until(lambda: not alive(pids), 10), f"still alive after SIGKILL: {alive(pids)}"


def start_fault(sandbox, plans, uses, values: dict, hold: bool = True):
    """`gameday run` of a one-step plan, until the journal shows the method started (held HOLD seconds if ``hold``)."""
    step = {"id": "fault", "uses": uses} if isinstance(uses, dict) else {"id": "fault", "uses": uses, "with": {**values, **({"hold_seconds": HOLD} if hold else {})}}
    plan = plans.write([step])
    process = gameday_process(sandbox, "run", str(plan))
    journal = plans.folder / "report/journal.jsonl"
    wait_for_journal(journal, lambda ev: any(e.get("kind") == "method_started" for e in ev))
    return process, journal


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_sigkill_of_the_orchestrator_and_its_experiment_then_recover_restores_the_target(sandbox, plans, name):
    entry, target = ENTRIES[name], Target(sandbox)
    target.shop_is_steady()
    before = entry.snapshot(target)
    process, journal = start_fault(sandbox, plans, str(REPO / "experiments" / entry.path), entry.values)
    try:
        assert wait_until(lambda: entry.injected(target, before) and held(entry, target, before), 30), (
            f"{name}: the fault never showed on the target"
        )
        power_loss(process)  # the orchestrator and its experiment together
    finally:
        if process.poll() is None:
            process.kill()
    time.sleep(1.0)
    assert entry.injected(target, before), f"{name}: the fault went before recover"  # nobody rolled it back
    armed = next(e for e in events_of(journal) if e["event"] == "fault_armed")
    assert armed["cwd"] == str(plans.folder / "report/experiments")

    recovered = run_gameday(sandbox, "recover", str(plans.folder / "report"))
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "step fault: rolled back" in recovered.stdout
    restored = wait_until(lambda: entry.snapshot(target) == before, entry.restore_within, every=0.5)
    assert restored, f"{name}: not restored: {entry.snapshot(target)} != {before}"
    played = [e for e in events_of(journal) if e["event"] == "rollbacks_played"]
    assert [(e["by"], e["succeeded"]) for e in played] == [("recover", True)]  # closed: a second recover has nothing to do
    target.shop_is_steady()


def held(entry: Entry, target: Target, before: object) -> bool:
    """The fault shows again a second later: a single failed write on a busy machine is not yet the fault.

    Between an entry's first action (e.g. routing through the proxy) and its fault (the blackhole),
    a write can time out by chance; killing the run then leaves only the first action in place.
    """
    time.sleep(1.0)
    return entry.injected(target, before)


@pytest.mark.parametrize("name", sorted(QUIET))
def test_after_a_power_loss_an_entry_without_rollbacks_has_nothing_to_roll_back_and_the_target_comes_back(sandbox, plans, name):
    path, values = QUIET[name]
    target = Target(sandbox)
    target.shop_is_steady()
    before = {p.metadata.name for p in target.ready_pods(3)}
    process, journal = start_fault(sandbox, plans, str(REPO / "experiments" / path), values, hold=False)
    try:
        assert wait_until(lambda: before - target.shop_pod_names(), 20), f"{name}: no pod was killed"
        power_loss(process)
    finally:
        if process.poll() is None:
            process.kill()
    recovered = run_gameday(sandbox, "recover", str(plans.folder / "report"))
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "step fault: its experiment declares no rollbacks: nothing to roll back" in recovered.stdout
    played = [e for e in events_of(journal) if e["event"] == "rollbacks_played"]
    assert [(e["by"], e["succeeded"]) for e in played] == [("recover", True)]
    after = {p.metadata.name for p in target.ready_pods(3)}  # the controller replaced what was killed, by itself
    assert not wait_until(lambda: target.shop_pod_names() != after, 3), "pods still die after the power loss"
    assert "nothing to recover" in run_gameday(sandbox, "recover", str(plans.folder / "report")).stdout
    target.shop_is_steady()


def test_the_rollbacks_played_again_change_nothing(sandbox, plans):
    """Idempotent rollbacks: recover against a journal whose fault was rolled back already, the target unchanged."""
    target = Target(sandbox)
    target.shop_is_steady()
    before = srv(target)
    process, journal = start_fault(sandbox, plans, str(REPO / "experiments/dns/record-removal.yaml"), {})
    try:
        assert wait_until(lambda: srv(target) == [], 20)
        power_loss(process)
    finally:
        if process.poll() is None:
            process.kill()
    folder = plans.folder / "report"
    assert run_gameday(sandbox, "recover", str(folder)).returncode == 0
    assert srv(target) == before
    # drop the recover's record of it: a second recover plays the same rollbacks again
    lines = [line for line in journal.read_text().splitlines() if '"rollbacks_played"' not in line]
    journal.write_text("\n".join(lines) + "\n")
    second = run_gameday(sandbox, "recover", str(folder))
    assert second.returncode == 0 and "step fault: rolled back" in second.stdout, second.stdout + second.stderr
    assert srv(target) == before
    target.shop_is_steady()


def test_sigkill_of_gameday_alone_the_experiment_rolls_back_at_once(sandbox, plans):
    """The dead man's switch: its orchestrator gone, the experiment process stops holding the fault."""
    target = Target(sandbox)
    target.ready_pods(3)
    process, journal = start_fault(sandbox, plans, scale_to_zero_experiment(HOLD), {})
    children = set()
    try:
        assert wait_until(lambda: target.shop_pods() == [], 20)
        children = descendants(process.pid)
        assert children, "the experiment process was not found"
        os.kill(process.pid, signal.SIGKILL)  # gameday alone; its experiment process lives on, in its own session
        process.communicate(timeout=10)
        killed_at = time.monotonic()
        target.ready_pods(3, timeout=30)  # rolled back now, not after HOLD seconds
        assert time.monotonic() - killed_at < 30 < HOLD
        assert wait_until(lambda: not alive(children), 15), f"the experiment process stayed: {alive(children)}"
    finally:
        if process.poll() is None:
            process.kill()
        kill(children)
    ctk = json.loads((plans.folder / "report/experiments/fault.journal.json").read_text())
    assert ctk["status"] == "interrupted" and [r["status"] for r in ctk["rollbacks"]] == ["succeeded"]
    recovered = run_gameday(sandbox, "recover", str(plans.folder / "report"))
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "step fault: rolled back" in recovered.stdout
    played = [e for e in events_of(journal) if e["event"] == "rollbacks_played"]
    assert [(e["by"], e["succeeded"]) for e in played] == [("experiment", True)]  # nothing replayed
    assert "nothing to recover" in run_gameday(sandbox, "recover", str(plans.folder / "report")).stdout
    target.ready_pods(3)
