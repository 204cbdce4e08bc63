"""The catalog's DNS and AWS experiments under `chaos run` against the sandbox: the fault is real, the target restored."""

from __future__ import annotations

import threading
from typing import Callable, TypeVar

from tests.catalog.support import (
    ChaosRunner,
    Target,
    assert_rolled_back,
    output,
    wait_until,
)

T = TypeVar("T")


def answers_while(target: Target, name: str, rdtype: str, run: Callable[[], T]) -> tuple[T, list[list[str]]]:
    """``run()``'s result, and what the sandbox DNS answered for ``name`` every 0.1 s while it ran."""
    seen: list[list[str]] = []
    done = threading.Event()

    def watch() -> None:
        for _ in range(1000):  # bounded: at most 1000 lookups, 0.1 s apart
            if done.wait(0.1):
                return
            seen.append(target.lookup(name, rdtype))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        return run(), seen
    finally:
        done.set()
        watcher.join(10)


def test_record_removal_breaks_resolution_and_the_backup_restores_it(chaos: ChaosRunner, target: Target):
    before = target.lookup("db.shop.internal", "SRV")
    journal = chaos.run("dns/record-removal", hold_seconds=1)
    assert_rolled_back(journal, 1)
    assert output(journal, "remove-record")["values"] == before
    assert journal["deviated"] is True  # the shop could not find its database
    assert target.lookup("db.shop.internal", "SRV") == before
    target.shop_takes_orders()


def test_record_wrong_address_points_away_and_the_backup_restores_it(chaos: ChaosRunner, target: Target):
    before = target.lookup("pg-0.shop.internal", "A")
    journal = chaos.run("dns/record-wrong-address", hold_seconds=1)
    assert_rolled_back(journal, 1)
    assert output(journal, "point-record-at-wrong-address")["values"] == before == ["127.0.0.1"]
    assert journal["deviated"] is True
    assert target.lookup("pg-0.shop.internal", "A") == before
    target.shop_takes_orders()


def test_resolver_slowdown_delays_lookups_until_cleared(chaos: ChaosRunner, target: Target):
    journal = chaos.run("sandbox/resolver-slowdown", hold_seconds=1, delay_seconds=0.5)
    assert_rolled_back(journal, 1)
    sample = output(journal, "lookup-while-slow")
    assert sample["good"] is True and sample["elapsed"] >= 0.5
    assert target.lookup("db.shop.internal", "SRV") and target.lookup_seconds("db.shop.internal", "SRV") < 0.3
    assert target.resolver_fault() == []


def test_resolver_outage_drops_lookups_until_cleared(chaos: ChaosRunner, target: Target):
    journal = chaos.run("sandbox/resolver-outage", hold_seconds=1)
    assert_rolled_back(journal, 1)
    assert output(journal, "lookup-during-the-outage")["good"] is False
    assert target.lookup("db.shop.internal", "SRV", timeout=1.0)
    target.shop_takes_orders()


def test_route53_record_change_is_what_the_sandbox_dns_answers_until_restored(chaos: ChaosRunner, target: Target):
    before, dns_before = target.route53_records(), target.lookup("db.shop.internal", "A")
    journal, seen = answers_while(target, "db.shop.internal", "A", lambda: chaos.run("aws/route53-record-change", hold_seconds=2))
    assert_rolled_back(journal, 1)
    assert journal["deviated"] is True  # the hypothesis read the wrong address
    assert output(journal, "point-record-at-wrong-address")["current"]["ResourceRecords"] == [{"Value": "192.0.2.10"}]
    # the sandbox's AWS twin made it real: the sandbox DNS answered the wrong address, then the right one again
    assert ["192.0.2.10"] in seen, f"the sandbox DNS never answered the wrong address: {seen[-5:]}"
    assert target.route53_records() == before
    assert wait_until(lambda: target.lookup("db.shop.internal", "A") == dns_before, 5)


def test_route53_record_removal_is_what_the_sandbox_dns_answers_until_restored(chaos: ChaosRunner, target: Target):
    before, dns_before = target.route53_records(), target.lookup("db.shop.internal", "SRV")
    assert dns_before, "the db SRV record does not resolve before the fault"
    journal, seen = answers_while(target, "db.shop.internal", "SRV", lambda: chaos.run("aws/route53-record-removal", hold_seconds=2))
    assert_rolled_back(journal, 1)
    assert journal["deviated"] is True  # the shop looks the record up on every request: no orders without it
    assert output(journal, "delete-record")["previous"]["Type"] == "SRV"
    # the sandbox's AWS twin made it real: the shop's DNS had no db record, then the same one again
    assert [] in seen, f"the sandbox DNS never lost the record: {seen[-5:]}"
    assert target.route53_records() == before
    assert wait_until(lambda: target.lookup("db.shop.internal", "SRV") == dns_before, 5)
    target.shop_takes_orders()


def test_ec2_stop_start_against_moto(chaos: ChaosRunner, target: Target):
    assert target.ec2_state("shop-api-1") == "running"
    journal = chaos.run("aws/ec2-stop-start", hold_seconds=1)
    assert_rolled_back(journal, 1)
    assert journal["deviated"] is True  # stopped while the hypothesis looked
    assert target.ec2_state("shop-api-1") == "running"


def test_eks_node_loss_moves_the_nodes_pods_and_the_shop_keeps_its_replicas(chaos: ChaosRunner, target: Target):
    node = target.ready_pods(3)[0].spec.node_name  # a node that runs a shop pod: its instance is the one lost
    on_node = {p.metadata.name for p in target.shop_pods() if p.spec.node_name == node}
    assert on_node
    journal = chaos.run("aws/eks-node-loss", instance_name=node, hold_seconds=3)
    assert_rolled_back(journal, 1)
    assert journal["deviated"] is False, journal["steady_states"]["after"]  # the replicas came up on the other nodes
    # the sandbox's AWS twin made it real: the instance's node was NotReady and its pods ended
    assert on_node.isdisjoint(target.shop_pod_names()), "the lost node's pods still run"
    assert all(p.spec.node_name != node for p in target.ready_pods(3))  # pods do not move back
    assert target.ec2_state(node) == "running"
    assert wait_until(lambda: target.node_ready(node), 10)  # Ready again once its instance runs again
    target.shop_takes_orders()
