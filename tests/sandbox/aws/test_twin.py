"""The sandbox as an AWS twin: what is done through moto's API happens to the real parts, checked on them.

Aurora: a failover through boto3 moves the writes to the other local server, the way back
leaves the sandbox as it began; a reboot restarts the server. (The catalog's tests run the
experiments, chaosaws under ``chaos run``, and check the same effects.)
Route53: a record changed through the API is what the sandbox DNS answers, and its
backup restores it; a record created and deleted there appears and goes.
"""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from gamedays.faults.aws import route53 as route53_faults
from tests.catalog.support import Target, pid_alive, wait_until
from tests.sandbox.aws.twin import as_before, sandbox  # noqa: F401 - fixtures
from tests.sandbox.aws.twin import CLUSTER, aws_settings, data, writing_server
from tests.sandboxes import target  # noqa: F401 - a fixture


def route53_srv(target: Target) -> list[str]:
    route53 = target.aws("route53")
    zone_id = route53.list_hosted_zones_by_name(DNSName="shop.internal.")["HostedZones"][0]["Id"]
    listed = route53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName="db.shop.internal.", StartRecordType="SRV")
    found = [r for r in listed["ResourceRecordSets"] if r["Name"] == "db.shop.internal." and r["Type"] == "SRV"]
    return sorted(v["Value"] for v in found[0]["ResourceRecords"]) if found else []


def postmaster_pid(data_dir: str) -> int:
    return int(Path(data_dir, "postmaster.pid").read_text().split()[0])


# -- Aurora ------------------------------------------------------------------------------------


def test_a_failover_through_the_api_promotes_the_replica_moves_the_record_and_back(target: Target, as_before: list[str]):
    rds = target.aws("rds")
    replica_port = int(conninfo_to_dict(target.env["DATABASE_REPLICA_URL"])["port"])
    rds.failover_db_cluster(DBClusterIdentifier=CLUSTER, TargetDBInstanceIdentifier="shop-db-2")
    assert wait_until(lambda: writing_server(target) == (data(target, "REPLICA"), "shop-db-2"), 30)
    moved = [f"0 0 {replica_port} pg-1.shop.internal."]
    assert target.lookup("db.shop.internal", "SRV") == moved  # what the shop and DATABASE_URL follow
    assert wait_until(lambda: route53_srv(target) == moved, 5), "Route53 does not show the moved writer endpoint"
    assert target.query("SELECT pg_is_in_recovery()", "DATABASE_REPLICA_URL") is False
    # the old primary rejoined as a standby of the new one: the sandbox can go back
    assert wait_until(lambda: _in_recovery(target, "DATABASE_PRIMARY_URL") is True, 30)
    target.shop_takes_orders()
    rds.failover_db_cluster(DBClusterIdentifier=CLUSTER, TargetDBInstanceIdentifier="shop-db-1")
    assert wait_until(lambda: writing_server(target) == (data(target, "PRIMARY"), "shop-db-1"), 30)
    assert wait_until(lambda: route53_srv(target) == as_before, 5)


def test_a_reboot_of_the_reader_restarts_it_and_moves_nothing_else(target: Target, as_before: list[str]):
    replica = data(target, "REPLICA")
    before = postmaster_pid(replica)
    target.aws("rds").reboot_db_instance(DBInstanceIdentifier="shop-db-2")
    assert wait_until(lambda: pid_alive(before) is False and _in_recovery(target, "DATABASE_REPLICA_URL") is True, 30)
    assert postmaster_pid(replica) != before
    assert wait_until(target.replica_streams, 15), "the rebooted reader does not stream again"
    assert writing_server(target) == (data(target, "PRIMARY"), "shop-db-1")


def test_a_reboot_of_the_writer_restarts_its_server_with_a_real_outage(target: Target, as_before: list[str]):
    primary = data(target, "PRIMARY")
    before_pid = postmaster_pid(primary)
    started_before = target.query("SELECT pg_postmaster_start_time()", "DATABASE_PRIMARY_URL")
    seen: list[bool] = []
    done = threading.Event()

    def write_until_done() -> None:
        for _ in range(3000):  # bounded: 3000 attempts of at most a few seconds each
            if done.is_set():
                return
            seen.append(target.write())
            done.wait(0.02)

    writer_thread = threading.Thread(target=write_until_done, daemon=True)
    writer_thread.start()
    try:
        target.aws("rds").reboot_db_instance(DBInstanceIdentifier="shop-db-1")
        assert wait_until(lambda: not pid_alive(before_pid), 30), "the writer's server was not stopped"
        assert wait_until(lambda: target.write("DATABASE_PRIMARY_URL"), 30), "the writer's server did not come back"
        assert wait_until(lambda: seen and seen[-1], 15)
    finally:
        done.set()
        writer_thread.join(10)
    assert False in seen, "no write failed while the writer rebooted"
    assert postmaster_pid(primary) != before_pid
    assert target.query("SELECT pg_postmaster_start_time()", "DATABASE_PRIMARY_URL") > started_before


# -- Route53 -----------------------------------------------------------------------------------


def test_a_route53_record_change_is_what_the_sandbox_dns_answers_until_restored(target: Target, tmp_path: Path):
    before = target.lookup("api.shop.internal", "A")
    backup = str(tmp_path / "api.backup.json")
    changed = route53_faults.change_record("shop.internal", "api", "A", ["192.0.2.10"], ttl=1, backup=backup, **aws_settings(target))
    assert changed["previous"]["ResourceRecords"] == [{"Value": v} for v in before]  # Route53 held what DNS held
    assert wait_until(lambda: target.lookup("api.shop.internal", "A") == ["192.0.2.10"], 5)
    route53_faults.restore_record(backup, **aws_settings(target))
    assert wait_until(lambda: target.lookup("api.shop.internal", "A") == before, 5)


def test_a_record_created_and_deleted_through_route53_appears_and_goes_in_the_sandbox_dns(target: Target):
    route53 = target.aws("route53")
    zone_id = route53.list_hosted_zones_by_name(DNSName="shop.internal.")["HostedZones"][0]["Id"]
    rrset = {"Name": "cache.shop.internal.", "Type": "A", "TTL": 1, "ResourceRecords": [{"Value": "127.0.0.9"}]}
    route53.change_resource_record_sets(
        HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": rrset}]}
    )
    assert wait_until(lambda: target.lookup("cache.shop.internal", "A") == ["127.0.0.9"], 5)
    route53.change_resource_record_sets(
        HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": rrset}]}
    )
    assert wait_until(lambda: target.lookup("cache.shop.internal", "A") == [], 5)


def _in_recovery(target: Target, name: str) -> bool | None:
    try:
        return bool(target.query("SELECT pg_is_in_recovery()", name))
    except psycopg.Error:
        return None


# -- EC2 instances as Kubernetes nodes ---------------------------------------------------------


def node_instance(target: Target, node: str) -> str:
    found = target.aws("ec2").describe_instances(Filters=[{"Name": "tag:gameday:kubernetes-node", "Values": [node]}])
    (instance,) = [i for r in found["Reservations"] for i in r["Instances"]]
    return str(instance["InstanceId"])


def pods_on(target: Target, node: str) -> set[str]:
    return {p.metadata.name for p in target.shop_pods() if p.spec.node_name == node and p.metadata.deletion_timestamp is None}


def test_stopping_a_nodes_instance_takes_the_node_out_and_its_pods_run_elsewhere_until_started(target: Target):
    pods = target.ready_pods(3)
    node = sorted(p.spec.node_name for p in pods)[0]
    before = pods_on(target, node)
    assert before, f"no shop pod on {node}"
    ec2 = target.aws("ec2")
    instance = node_instance(target, node)
    ec2.stop_instances(InstanceIds=[instance])
    try:
        assert wait_until(lambda: not target.node_ready(node), 15), f"{node} still Ready with its instance stopped"
        assert "node.cloudprovider.kubernetes.io/shutdown" in target.node_taints(node) and not target.unschedulable(node)
        assert wait_until(lambda: not pods_on(target, node), 15), f"pods still on {node}: {pods_on(target, node)}"
        again = target.ready_pods(3)  # the deployment's controller started them again, on the other nodes
        assert node not in {p.spec.node_name for p in again} and not before & {p.metadata.name for p in again}
        target.shop_takes_orders()
    finally:
        ec2.start_instances(InstanceIds=[instance])
    assert wait_until(lambda: target.node_ready(node), 15), f"{node} stayed NotReady with its instance running"
    assert "node.cloudprovider.kubernetes.io/shutdown" not in target.node_taints(node)
    target.ready_pods(3)
