"""The AWS sandbox: a seeded moto server on 127.0.0.1 that starts fast, runs side by side and leaves nothing behind."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gamedays.model.errors import SandboxError
from gamedays.sandbox.aws import DUMMY_ACCESS_KEY_ID, AwsSandbox
from gamedays.sandbox.ports import LOOPBACK

from .conftest import children_of, wait_not_running


def port_is_free(port: int) -> bool:
    """Nothing listens on ``port`` (connections of the server that closed it may linger in TIME_WAIT: not a listener)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def test_the_endpoint_listens_on_loopback_only(aws: AwsSandbox):
    assert aws.endpoint_url == f"http://127.0.0.1:{aws.port}"
    with socket.create_connection((LOOPBACK, aws.port), timeout=2):
        pass
    assert not port_is_free(aws.port)


def test_the_aurora_cluster_has_a_writer_and_a_reader(aws: AwsSandbox):
    cluster = aws.client("rds").describe_db_clusters(DBClusterIdentifier=aws.seed.cluster_id)["DBClusters"][0]
    assert cluster["Engine"] == "aurora-postgresql"
    members = {m["DBInstanceIdentifier"]: m["IsClusterWriter"] for m in cluster["DBClusterMembers"]}
    assert set(members) == {aws.seed.writer_instance_id, aws.seed.reader_instance_id}
    assert sorted(members.values()) == [False, True]  # exactly one writer, whichever it is after other tests


def test_the_legacy_instance_is_multi_az_postgres(aws: AwsSandbox):
    instance = aws.client("rds").describe_db_instances(DBInstanceIdentifier="shop-db-legacy")["DBInstances"][0]
    assert aws.seed.legacy_instance_id == "shop-db-legacy"
    assert (instance["Engine"], instance["MultiAZ"], instance.get("DBClusterIdentifier")) == ("postgres", True, None)


def test_the_private_zone_has_the_shop_records(aws: AwsSandbox):
    route53 = aws.client("route53")
    zone = route53.get_hosted_zone(Id=aws.seed.hosted_zone_id)
    assert zone["HostedZone"]["Name"] == "shop.internal."
    assert zone["HostedZone"]["Config"]["PrivateZone"] is True
    assert [vpc["VPCId"] for vpc in zone["VPCs"]] == [aws.seed.vpc_id]
    listed = route53.list_resource_record_sets(HostedZoneId=aws.seed.hosted_zone_id)["ResourceRecordSets"]
    names = {(r["Name"], r["Type"]) for r in listed}
    assert {("db.shop.internal.", "A"), ("api.shop.internal.", "A")} <= names
    assert [r.name for r in aws.seed.records] == ["db.shop.internal.", "api.shop.internal."]


def test_the_ec2_instance_is_tagged_for_the_shop(aws: AwsSandbox):
    reservations = aws.client("ec2").describe_instances(
        Filters=[{"Name": "tag:app", "Values": ["shop"]}, {"Name": "tag:gameday", "Values": ["sandbox"]}]
    )["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    assert [i["InstanceId"] for i in instances] == [aws.seed.ec2_instance_id]
    assert instances[0]["SubnetId"] == aws.seed.subnet_id
    assert instances[0]["Placement"]["AvailabilityZone"] == "us-east-1a"


def test_env_points_a_client_at_the_sandbox_and_nowhere_else(aws: AwsSandbox):
    env = aws.env()
    assert env["AWS_ENDPOINT_URL"] == aws.endpoint_url
    assert env["AWS_ACCESS_KEY_ID"] == DUMMY_ACCESS_KEY_ID
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    base = {
        "PATH": "/bin", "AWS_PROFILE": "prod", "AWS_SESSION_TOKEN": "x", "AWS_ENDPOINT_URL_RDS": "https://rds",
        "NO_PROXY": "corp",
    }
    child = aws.child_env(base)
    assert "AWS_PROFILE" not in child and "AWS_SESSION_TOKEN" not in child and "AWS_ENDPOINT_URL_RDS" not in child
    assert child["PATH"] == "/bin" and child["NO_PROXY"] == "corp,127.0.0.1" and child["no_proxy"] == "127.0.0.1"
    assert aws.child_env(child)["NO_PROXY"] == "corp,127.0.0.1"


def test_a_boto3_process_with_child_env_reaches_the_sandbox(aws: AwsSandbox, tmp_path):
    """A separate process, a hostile inherited profile, plain boto3: it must still land on moto."""
    script = textwrap.dedent(
        """
        import boto3
        zones = boto3.client("route53").list_hosted_zones_by_name(DNSName="shop.internal.")["HostedZones"]
        print(zones[0]["Id"].rsplit("/", 1)[-1])
        """
    )
    env = aws.child_env({**os.environ, "AWS_PROFILE": "does-not-exist", "AWS_ENDPOINT_URL": "http://192.0.2.1:9"})
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=30, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == aws.seed.hosted_zone_id


def test_two_sandboxes_run_side_by_side_and_stop_frees_everything(aws: AwsSandbox):
    other = AwsSandbox()
    try:
        seed = other.start()  # seeding the same names again only works if the state is not shared
        assert other.port != aws.port
        assert seed.hosted_zone_id != aws.seed.hosted_zone_id
        assert len(aws.client("route53").list_hosted_zones()["HostedZones"]) == 1
        assert len(other.client("route53").list_hosted_zones()["HostedZones"]) == 1
        pid, port, log_path = other.pid, other.port, other.log_path
        assert pid is not None and log_path is not None and log_path.exists()
    finally:
        other.stop()
    assert wait_not_running(pid, 5)
    assert port_is_free(port)
    assert not log_path.parent.exists()
    assert other.pid is None
    other.stop()  # idempotent
    with pytest.raises(SandboxError, match="not started"):
        other.endpoint_url  # noqa: B018 - reading it raises


def test_a_port_in_use_is_a_clear_error():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        sandbox = AwsSandbox(port)
        with pytest.raises(SandboxError, match=f"port {port} on 127.0.0.1 is in use"):
            sandbox.start()
    assert sandbox.pid is None and sandbox.log_path is None


def test_a_start_that_fails_halfway_leaves_nothing_behind():
    before = set(children_of(os.getpid()))
    sandbox = AwsSandbox(region="nowhere-1")  # moto serves no such region: seeding fails inside the child
    with pytest.raises(SandboxError, match=r"exited with code 1 while starting:\n(.|\n)*Internal Server Error"):
        sandbox.start()
    assert set(children_of(os.getpid())) <= before
    assert sandbox.pid is None and sandbox.log_path is None


def test_the_server_does_not_outlive_an_orchestrator_that_dies(tmp_path):
    script = textwrap.dedent(
        """
        import os, sys
        from gamedays.sandbox.aws import AwsSandbox
        sandbox = AwsSandbox()
        sandbox.start()
        print(sandbox.pid, sandbox.port, sandbox.log_path, flush=True)
        os._exit(0)  # no stop(): a crash
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    pid, port, log_path = done.stdout.split()
    assert wait_not_running(int(pid), 30), "the moto server outlived its orchestrator"
    assert port_is_free(int(port))
    assert not Path(log_path).parent.exists(), "the orphaned server did not remove its temporary directory"


def test_importing_the_modules_loads_no_heavy_sdk():
    probe = (
        "import sys, gamedays.sandbox.aws, gamedays.faults.aws.route53\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'moto', 'werkzeug', 'chaoslib'}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "[]", done.stderr
