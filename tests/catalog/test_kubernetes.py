"""The catalog's Kubernetes experiments under `chaos run` against the sandbox: the fault is real, the target restored."""

from __future__ import annotations

from tests.catalog.support import ChaosRunner, Target, assert_rolled_back, output, statuses, wait_until


def test_pod_kill_replaces_the_killed_pod(chaos: ChaosRunner, target: Target):
    before = {p.metadata.name for p in target.ready_pods()}
    journal = chaos.run("kubernetes/pod-kill", namespace="shop")
    assert (journal["status"], journal["deviated"], journal["rollbacks"]) == ("completed", False, [])
    killed = output(journal, "terminate-pods")
    assert len(killed) == 1 and killed[0] in before
    after = {p.metadata.name for p in target.ready_pods()}
    assert killed[0] not in after
    target.shop_takes_orders()


def test_node_drain_evicts_its_pods_and_the_rollback_uncordons_it(chaos: ChaosRunner, target: Target):
    pods = target.ready_pods()
    node = pods[0].spec.node_name
    on_node = {p.metadata.name for p in pods if p.spec.node_name == node}
    journal = chaos.run("kubernetes/node-drain", node=node, hold_seconds=1)
    assert_rolled_back(journal, 1)
    assert journal["deviated"] is False, journal["steady_states"]["after"]  # the shop kept taking orders
    after = target.ready_pods()
    assert not on_node & {p.metadata.name for p in after}, "the drained node's pods were not evicted"
    assert not target.unschedulable(node)
    target.shop_takes_orders()


def test_scale_to_zero_takes_every_pod_and_the_rollback_restores_the_replicas(chaos: ChaosRunner, target: Target):
    before = {p.metadata.name for p in target.ready_pods()}
    journal = chaos.run("kubernetes/deployment-scale-to-zero", hold_seconds=1)
    assert_rolled_back(journal, 1)
    assert journal["deviated"] is True  # no pod, no order: the outage was real
    after = {p.metadata.name for p in target.ready_pods()}
    assert not before & after, "the old pods survived a scale to zero"
    target.shop_takes_orders()


def test_rolling_pod_loss_kills_a_pod_each_round_in_the_background(chaos: ChaosRunner, target: Target):
    before = {p.metadata.name for p in target.ready_pods()}
    journal = chaos.run("kubernetes/rolling-pod-loss", rounds=2, interval_seconds=2.0)
    assert (journal["status"], journal["deviated"]) == ("completed", False), journal["steady_states"]["after"]
    assert statuses(journal, "run") == ["succeeded"] * 3 and journal["rollbacks"] == []
    rounds = output(journal, "rolling-pod-loss")
    assert [r["round"] for r in rounds] == [1, 2] and all(len(r["terminated"]) == 1 for r in rounds)
    assert rounds[1]["at"] - rounds[0]["at"] >= 1.5  # spread over time, not all at once (2 s interval)
    killed = {name for r in rounds for name in r["terminated"]}
    assert len(killed) == 2 and killed <= before  # each round took a pod not yet replaced
    samples = [output(journal, "checkout-during-the-loss"), output(journal, "checkout-later-in-the-loss")]
    assert all(set(s) == {"good", "value", "error", "elapsed"} for s in samples)
    after = {p.metadata.name for p in target.ready_pods()}
    assert not killed & after


def test_namespace_deny_isolates_the_pods_until_the_rollback_removes_the_policy(chaos: ChaosRunner, target: Target):
    journal = chaos.run("kubernetes/namespace-network-deny", hold_seconds=1)
    assert_rolled_back(journal, 1)
    assert journal["deviated"] is True  # isolated pods leave the load balancer: the shop had no backend
    assert target.network_policies("shop") == []
    target.ready_pods()
    assert wait_until(lambda: target.order() is not None, 20, every=0.2)
