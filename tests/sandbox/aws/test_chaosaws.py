"""The real chaosaws actions and probes, unchanged, against the sandbox's moto server through AWS_ENDPOINT_URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gamedays.sandbox.aws import AwsSandbox


def writer_of(aws: AwsSandbox, cluster_id: str) -> str:
    cluster = aws.client("rds").describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
    writers = [m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"] if m["IsClusterWriter"]]
    assert len(writers) == 1, cluster["DBClusterMembers"]
    return writers[0]


def ec2_state(aws: AwsSandbox, instance_id: str) -> str:
    reservations = aws.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
    return str(reservations[0]["Instances"][0]["State"]["Name"])


def reader_of(aws: AwsSandbox, cluster_id: str) -> str:
    cluster = aws.client("rds").describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
    readers = [m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"] if not m["IsClusterWriter"]]
    assert len(readers) == 1, cluster["DBClusterMembers"]
    return readers[0]


def test_failover_db_cluster_moves_the_writer(aws: AwsSandbox, aws_env: dict[str, str]):
    from chaosaws.rds.actions import failover_db_cluster
    from chaosaws.rds.probes import cluster_status

    before, reader = writer_of(aws, aws.seed.cluster_id), reader_of(aws, aws.seed.cluster_id)
    assert {before, reader} == {aws.seed.writer_instance_id, aws.seed.reader_instance_id}
    failover_db_cluster(db_cluster_identifier=aws.seed.cluster_id, target_db_instance_identifier=reader)
    assert writer_of(aws, aws.seed.cluster_id) == reader
    assert reader_of(aws, aws.seed.cluster_id) == before
    assert cluster_status(cluster_id=aws.seed.cluster_id) == "available"
    failover_db_cluster(db_cluster_identifier=aws.seed.cluster_id, target_db_instance_identifier=before)  # and back
    assert writer_of(aws, aws.seed.cluster_id) == before


def test_chaosaws_failover_needs_a_target_instance(aws: AwsSandbox, aws_env: dict[str, str]):
    """chaosaws 0.35 sends TargetDBInstanceIdentifier=None when no target is given, which botocore rejects.

    Experiments must name the target instance. When this test fails, chaosaws was fixed.
    """
    from chaosaws.rds.actions import failover_db_cluster
    from chaoslib.exceptions import ActivityFailed

    before = writer_of(aws, aws.seed.cluster_id)
    with pytest.raises(ActivityFailed, match="Invalid type for parameter TargetDBInstanceIdentifier, value: None"):
        failover_db_cluster(db_cluster_identifier=aws.seed.cluster_id)
    assert writer_of(aws, aws.seed.cluster_id) == before


def test_failover_of_an_unknown_cluster_fails_the_activity(aws_env: dict[str, str]):
    from chaosaws.rds.actions import failover_db_cluster
    from chaoslib.exceptions import ActivityFailed

    with pytest.raises(ActivityFailed, match="DBClusterNotFoundFault"):
        failover_db_cluster(db_cluster_identifier="no-such-cluster", target_db_instance_identifier="shop-db-1")


def test_reboot_db_instance_with_failover(aws: AwsSandbox, aws_env: dict[str, str]):
    from chaosaws.rds.actions import reboot_db_instance
    from chaosaws.rds.probes import instance_status
    from chaoslib.exceptions import ActivityFailed

    rebooted = reboot_db_instance(db_instance_identifier=aws.seed.legacy_instance_id, force_failover=True)
    assert rebooted["DBInstance"]["DBInstanceIdentifier"] == "shop-db-legacy"
    assert rebooted["DBInstance"]["MultiAZ"] is True
    assert instance_status(instance_id=aws.seed.legacy_instance_id) == "available"
    with pytest.raises(ActivityFailed, match="DBInstanceNotFound"):
        reboot_db_instance(db_instance_identifier="no-such-instance", force_failover=True)


def test_stop_and_start_the_ec2_instance(aws: AwsSandbox, aws_env: dict[str, str]):
    from chaosaws.ec2.actions import start_instances, stop_instances

    instance_id = aws.seed.ec2_instance_id
    assert ec2_state(aws, instance_id) == "running"
    try:
        stop_instances(instance_ids=[instance_id])
        assert ec2_state(aws, instance_id) == "stopped"
    finally:
        start_instances(filters=[{"Name": "tag:app", "Values": ["shop"]}])
    assert ec2_state(aws, instance_id) == "running"


EXPERIMENT = {
    "version": "1.0.0",
    "title": "The shop survives an Aurora writer failover and a wrong db record",
    "description": "Runs unmodified under `chaos run` against the sandbox's moto endpoint.",
    "tags": ["aws", "sandbox"],
    "steady-state-hypothesis": {
        "title": "the shop's cluster is available",
        "probes": [
            {
                "type": "probe",
                "name": "cluster-is-available",
                "tolerance": "available",
                "provider": {
                    "type": "python",
                    "module": "chaosaws.rds.probes",
                    "func": "cluster_status",
                    "arguments": {"cluster_id": "shop-db"},
                },
            }
        ],
    },
    "method": [
        {
            "type": "action",
            "name": "failover-the-writer",
            "provider": {
                "type": "python",
                "module": "chaosaws.rds.actions",
                "func": "failover_db_cluster",
                "arguments": {"db_cluster_identifier": "shop-db", "target_db_instance_identifier": "${target}"},
            },
        },
        {
            "type": "action",
            "name": "point-db-somewhere-wrong",
            "provider": {
                "type": "python",
                "module": "gamedays.faults.aws.route53",
                "func": "change_record",
                "arguments": {
                    "zone_name": "shop.internal",
                    "name": "db",
                    "rdtype": "A",
                    "values": ["192.0.2.10"],
                    "backup": "${backup}",
                },
            },
        },
    ],
    "rollbacks": [
        {
            "type": "action",
            "name": "restore-db",
            "provider": {
                "type": "python",
                "module": "gamedays.faults.aws.route53",
                "func": "restore_record",
                "arguments": {"backup": "${backup}"},
            },
        }
    ],
}


def test_chaos_run_of_an_aws_experiment_completes(aws: AwsSandbox, tmp_path: Path):
    target = reader_of(aws, aws.seed.cluster_id)
    experiment = dict(EXPERIMENT, configuration={"backup": str(tmp_path / "db-record.json"), "target": target})
    (tmp_path / "experiment.json").write_text(json.dumps(experiment))
    route53 = aws.client("route53")
    records_before = route53.list_resource_record_sets(HostedZoneId=aws.seed.hosted_zone_id)["ResourceRecordSets"]
    writer_before = writer_of(aws, aws.seed.cluster_id)
    chaos = Path(sys.executable).with_name("chaos")
    done = subprocess.run(
        [
            str(chaos), "--no-version-check", "--settings", str(tmp_path / "settings.yaml"),
            "--log-file", str(tmp_path / "chaostoolkit.log"),
            "run", "--journal-path", str(tmp_path / "journal.json"), str(tmp_path / "experiment.json"),
        ],
        env=aws.child_env(os.environ),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
    )
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert done.returncode == 0, done.stdout + done.stderr
    assert (journal["status"], journal["deviated"]) == ("completed", False)
    assert [run["status"] for run in journal["run"]] == ["succeeded", "succeeded"]
    assert [run["status"] for run in journal["rollbacks"]] == ["succeeded"]
    assert writer_of(aws, aws.seed.cluster_id) == target != writer_before
    records_after = route53.list_resource_record_sets(HostedZoneId=aws.seed.hosted_zone_id)["ResourceRecordSets"]
    assert records_after == records_before  # the rollback put db back
    assert journal["run"][1]["output"]["current"]["ResourceRecords"] == [{"Value": "192.0.2.10"}]
