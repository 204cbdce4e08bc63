"""The sandbox's AWS twin: what is asked through the AWS API is real, and how soon.

    python bench/twin.py [--runs N]

Starts a detached sandbox through the real CLI (a temporary GAMEDAY_HOME) and, through the
AWS API only (boto3 against the sandbox's endpoint, as chaosaws does), times:

- an Aurora failover (``failover_db_cluster`` to the reader) until a write through the
  writer endpoint (``DATABASE_URL``) is taken by the reader, and the failover back; target
  under 15 s each (a real Aurora failover takes 30 s or more);
- a Route53 record change (``change_resource_record_sets``) until the sandbox DNS, what the
  shop resolves, answers it; target under 2 s;
- an EC2 instance of a Kubernetes node stopped until none of the shop's pods runs on that
  node and three are Ready elsewhere; target under 5 s;
- a point-in-time restore (``restore_db_cluster_to_point_in_time`` and its instance) of a
  database holding 10,000 rows, to a time before 100 more were written, until its writer
  endpoint (``DATABASE_RESTORED_URL``) takes writes, checked to hold exactly the 10,000;
  target under 30 s (a real Aurora point-in-time restore takes minutes).

Each figure is also printed against a baseline measured in the same run: one write round
trip through ``DATABASE_URL``, one DNS lookup, one pod listing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from targets import Targets  # noqa: E402 - bench/targets.py

from sandbox import cli, exports  # noqa: E402 - bench/sandbox.py

TARGET_FAILOVER, TARGET_RECORD, TARGET_NODE, TARGET_PITR = 15.0, 2.0, 5.0, 30.0
ROWS = 10_000
WAIT = 60.0  # seconds: each figure's bound
CLUSTER, WRITER, READER = "shop-db", "shop-db-1", "shop-db-2"


def timed(work: Callable[[], Any]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise SystemExit(f"bench/twin.py: {what} did not happen within {WAIT:g}s")


def aws(service: str, env: dict[str, str]) -> Any:
    import boto3

    return boto3.client(
        service, endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "testing"), aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "testing"),
    )  # fmt: skip


def lookup(server: str, name: str, rdtype: str) -> list[str]:
    """What ``server`` (host:port) holds for ``name`` ([] for nothing)."""
    from gamedays.faults.dns.records import read_rdataset

    return sorted(
        rdata.to_text() for rdata in read_rdataset(server, ".", name, rdtype, 1.0) or ()
    )


def failover_seconds(env: dict[str, str], to: str) -> float:
    from gamedays.faults.postgres.aurora import wait_for_writer

    rds = aws("rds", env)
    start = time.perf_counter()
    rds.failover_db_cluster(DBClusterIdentifier=CLUSTER, TargetDBInstanceIdentifier=to)
    wait_for_writer(env["DATABASE_URL"], to, timeout_seconds=WAIT)
    return time.perf_counter() - start


def record_seconds(env: dict[str, str], address: str) -> float:
    route53 = aws("route53", env)
    zone = route53.list_hosted_zones_by_name(DNSName="shop.internal.")["HostedZones"][
        0
    ]["Id"]
    start = time.perf_counter()
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
        "Name": "bench.shop.internal.", "Type": "A", "TTL": 0, "ResourceRecords": [{"Value": address}]}}]})  # fmt: skip
    until(
        lambda: lookup(env["SANDBOX_DNS"], "bench.shop.internal.", "A") == [address],
        f"bench.shop.internal A {address}",
    )
    return time.perf_counter() - start


def node_seconds(env: dict[str, str]) -> float:
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(config_file=env["KUBECONFIG"]))

    def pods() -> list[Any]:
        return list(
            api.list_namespaced_pod("shop", label_selector="app=shop-api").items
        )

    def ready(pod: Any) -> bool:
        return any(
            c.type == "Ready" and c.status == "True"
            for c in pod.status.conditions or []
        )

    until(lambda: sum(1 for p in pods() if ready(p)) == 3, "three shop pods Ready")
    node = pods()[0].spec.node_name
    ec2 = aws("ec2", env)
    instances = [
        i["InstanceId"]
        for r in ec2.describe_instances(
            Filters=[{"Name": "tag:Name", "Values": [node]}]
        )["Reservations"]
        for i in r["Instances"]
    ]
    start = time.perf_counter()
    ec2.stop_instances(InstanceIds=instances)
    try:
        until(lambda: all(p.spec.node_name != node for p in pods()) and sum(1 for p in pods() if ready(p)) == 3,
              f"the pods of {node} running elsewhere")  # fmt: skip
        return time.perf_counter() - start
    finally:
        ec2.start_instances(InstanceIds=instances)
        until(
            lambda: any(c.type == "Ready" and c.status == "True" for c in api.read_node(node).status.conditions or []),
            f"{node} Ready again",
        )


def superuser(env: dict[str, str], name: str) -> str:
    return env[name].replace("postgresql://shop@", "postgresql://postgres@", 1)


def pitr_seconds(env: dict[str, str], run: int) -> float:
    """10,000 rows, then 100 more after the restore time: the restored cluster must hold the 10,000 exactly."""
    import psycopg

    from gamedays.faults.aws.aurora import delete_cluster, restore_cluster_to_point_in_time
    from gamedays.faults.postgres.aurora import wait_for_writer

    table = f"bench_pitr_{run}"
    with psycopg.connect(superuser(env, "DATABASE_URL"), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (n int PRIMARY KEY, payload text)")
        conn.execute(f"INSERT INTO {table} SELECT n, md5(n::text) FROM generate_series(1, {ROWS}) AS n")
    time.sleep(1.0)
    restore_time = time.time()
    time.sleep(1.0)
    with psycopg.connect(superuser(env, "DATABASE_URL"), autocommit=True) as conn:
        conn.execute(f"INSERT INTO {table} SELECT n, md5(n::text) FROM generate_series({ROWS + 1}, {ROWS + 100}) AS n")
    settings = {
        "configuration": {"aws_endpoint_url": env["AWS_ENDPOINT_URL"], "aws_region": env.get("AWS_REGION", "us-east-1")},
        "secrets": {"aws_access_key_id": env.get("AWS_ACCESS_KEY_ID", "testing"), "aws_secret_access_key": env.get("AWS_SECRET_ACCESS_KEY", "testing")},
    }
    cluster, instance = f"bench-pitr-{run}", f"bench-pitr-{run}-1"
    at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(restore_time)) + f".{int(restore_time % 1 * 1000):03d}Z"
    start = time.perf_counter()
    restore_cluster_to_point_in_time(CLUSTER, cluster, instance, restore_time=at, **settings)
    wait_for_writer(env["DATABASE_RESTORED_URL"], instance, timeout_seconds=WAIT)
    took = time.perf_counter() - start
    with psycopg.connect(superuser(env, "DATABASE_RESTORED_URL")) as conn:
        found = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    delete_cluster(cluster, **settings)
    with psycopg.connect(superuser(env, "DATABASE_URL"), autocommit=True) as conn:
        conn.execute(f"DROP TABLE {table}")
    if not found or found[0] != ROWS:
        raise SystemExit(f"bench/twin.py: the restored cluster holds {found} rows of {table}, not {ROWS}")
    return took


def baselines(env: dict[str, str]) -> tuple[float, float, float]:
    """One write round trip, one DNS lookup, one pod listing: medians of 5."""
    from kubernetes import client, config

    from gamedays.faults.postgres.aurora import writer_identity

    api = client.CoreV1Api(config.new_client_from_config(config_file=env["KUBECONFIG"]))
    write = statistics.median(
        timed(lambda: writer_identity(env["DATABASE_URL"])) for _ in range(5)
    )
    dns = statistics.median(
        timed(lambda: lookup(env["SANDBOX_DNS"], "db.shop.internal.", "SRV"))
        for _ in range(5)
    )
    listing = statistics.median(
        timed(lambda: api.list_namespaced_pod("shop")) for _ in range(5)
    )
    return write, dns, listing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    runs = max(1, min(parser.parse_args().runs, 10))
    failovers, failbacks, records, nodes, restores = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="gameday-bench-") as home:
        env = {**os.environ, **exports(cli(home, "sandbox", "up", "--detach").stdout)}
        try:
            write, dns, listing = baselines(env)
            for run in range(runs):
                failovers.append(failover_seconds(env, READER))
                failbacks.append(failover_seconds(env, WRITER))
                records.append(record_seconds(env, f"192.0.2.{run + 1}"))
                nodes.append(node_seconds(env))
                restores.append(pitr_seconds(env, run))
        finally:
            cli(home, "sandbox", "down")
    figures = [
        (
            "Aurora failover to writes taken by the reader (median)",
            statistics.median(failovers),
            TARGET_FAILOVER,
            write,
            "write",
        ),
        (
            "Aurora failover back to the writer (median)",
            statistics.median(failbacks),
            TARGET_FAILOVER,
            write,
            "write",
        ),
        (
            "Route53 change to the sandbox DNS answering it (median)",
            statistics.median(records),
            TARGET_RECORD,
            dns,
            "lookup",
        ),
        (
            "node's instance stopped to its pods Ready elsewhere (median)",
            statistics.median(nodes),
            TARGET_NODE,
            listing,
            "listing",
        ),
        (
            f"point-in-time restore of {ROWS:,} rows to writes taken (median)",
            statistics.median(restores),
            TARGET_PITR,
            write,
            "write",
        ),
    ]
    print(
        f"AWS twin, {runs} run(s); baselines: write {write * 1000:.1f} ms, lookup {dns * 1000:.1f} ms, pod listing {listing * 1000:.1f} ms"
    )
    for name, value, _target, baseline, unit in figures:
        print(f"{name:62} {value:8.2f}s  ({value / baseline:.0f}x one {unit})")
    targets = Targets()
    for name, value, target, _baseline, _unit in figures:
        targets.below(name, value, target, "s")
    return targets.close()


if __name__ == "__main__":
    sys.exit(main())
