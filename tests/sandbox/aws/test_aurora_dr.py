"""Aurora DR through the RDS API on the AWS twin: a cluster snapshotted, lost and restored, or restored to a point in time.

gamedays.faults.aws.aurora acts through boto3 only; the twin makes each call real: the snapshot
is a base backup of the writer, deleting the instances loses both servers (nothing takes writes,
the data directories are gone), the restore brings the writer back from the backup (what was
written after the snapshot is lost) and rebuilds the reader. A point-in-time restore is a new
server behind DATABASE_RESTORED_URL holding what was written up to that time and nothing after.
The sandbox ends as it began.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from chaoslib.exceptions import ActivityFailed

from gamedays.faults.aws.aurora import (
    delete_cluster,
    delete_snapshot,
    restore_cluster_from_snapshot,
    restore_cluster_to_point_in_time,
    snapshot_cluster,
)
from gamedays.faults.postgres.aurora import wait_for_writer
from gamedays.faults.postgres.data import delete_rows
from tests.catalog.support import Target, wait_until
from tests.sandbox.aws.twin import as_before, sandbox  # noqa: F401 - fixtures
from tests.sandbox.aws.twin import CLUSTER, aws_settings, data, superuser_dsn, writer, writing_server
from tests.sandboxes import target  # noqa: F401 - a fixture

MARKS = "CREATE TABLE IF NOT EXISTS gameday_dr_marks (mark text PRIMARY KEY)"


def mark(target: Target, name: str) -> None:
    with psycopg.connect(superuser_dsn(target), autocommit=True, connect_timeout=5) as conn:
        conn.execute(MARKS)
        conn.execute("INSERT INTO gameday_dr_marks VALUES (%s)", (name,))


def marks(target: Target, name: str = "DATABASE_URL") -> set[str]:
    with psycopg.connect(superuser_dsn(target, name), autocommit=True, connect_timeout=5) as conn:
        return {row[0] for row in conn.execute("SELECT mark FROM gameday_dr_marks")}


@pytest.fixture
def no_marks_left(target: Target) -> Iterator[None]:
    yield
    with psycopg.connect(superuser_dsn(target), autocommit=True, connect_timeout=5) as conn:
        conn.execute("DROP TABLE IF EXISTS gameday_dr_marks")


def test_a_lost_cluster_comes_back_from_its_snapshot_and_what_came_after_it_is_lost(
    target: Target, as_before: list[str], no_marks_left: None, tmp_path: Path
):
    settings = aws_settings(target)
    backup = tmp_path / "cluster.json"
    mark(target, "before the snapshot")
    taken = snapshot_cluster(CLUSTER, str(backup), **settings)
    assert [(i["id"], i["writer"]) for i in taken["instances"]] == [("shop-db-1", True), ("shop-db-2", False)]
    assert json.loads(backup.read_text())["snapshot"] == taken["snapshot"]
    mark(target, "after the snapshot")

    lost = delete_cluster(CLUSTER, **settings)
    assert sorted(lost["instances"]) == ["shop-db-1", "shop-db-2"]
    gone = [Path(data(target, "PRIMARY")), Path(data(target, "REPLICA"))]
    assert wait_until(lambda: writing_server(target) is None and not any(d.exists() for d in gone), 30), (
        "a server still takes writes, or still has its data, after its cluster was deleted"
    )
    assert CLUSTER not in {c["DBClusterIdentifier"] for c in target.aws("rds").describe_db_clusters()["DBClusters"]}

    restored = restore_cluster_from_snapshot(str(backup), **settings)
    assert restored["restored"] is True and restored["instances"] == ["shop-db-1", "shop-db-2"]
    wait_for_writer(target.env["DATABASE_URL"], "shop-db-1", timeout_seconds=60)
    assert writing_server(target) == (data(target, "PRIMARY"), "shop-db-1") and writer(target) == "shop-db-1"
    assert target.query("SHOW cluster_name", "DATABASE_PRIMARY_URL") == "pg1"  # the same server as before, by name too
    assert marks(target) == {"before the snapshot"}  # the write after the snapshot is lost: the RPO
    assert wait_until(target.replica_streams, 60), "the reader was not rebuilt as a streaming replica"
    assert wait_until(lambda: not list(Path(data(target, "PRIMARY")).parent.glob("data.lost-*")), 30)
    assert restore_cluster_from_snapshot(str(backup), **settings)["restored"] is False  # idempotent
    target.shop_takes_orders()
    snapshots = Path(target.env["SANDBOX_PG_PRIMARY_DATA"]).parent.parent / "aws-snapshots"
    assert (snapshots / taken["snapshot"]).is_dir()  # the base backup the snapshot is
    assert delete_snapshot(str(backup), **settings) == {"snapshot": taken["snapshot"], "deleted": True}
    assert wait_until(lambda: not (snapshots / taken["snapshot"]).exists(), 10), "the snapshot's base backup stayed"
    assert delete_snapshot(str(backup), **settings)["deleted"] is False  # idempotent


def test_a_cluster_that_does_not_exist_is_named_and_nothing_is_touched(target: Target, tmp_path: Path):
    settings = aws_settings(target)
    with pytest.raises(ActivityFailed, match="there is no DB cluster shop-db-gone for these credentials"):
        snapshot_cluster("shop-db-gone", str(tmp_path / "b.json"), **settings)
    with pytest.raises(ActivityFailed, match="there is no DB cluster shop-db-gone"):
        delete_cluster("shop-db-gone", **settings)
    with pytest.raises(ActivityFailed, match=r"the cluster backup .*missing\.json does not exist: the backup step"):
        restore_cluster_from_snapshot(str(tmp_path / "missing.json"), **settings)
    assert not (tmp_path / "b.json").exists()
    assert writing_server(target) == (data(target, "PRIMARY"), "shop-db-1")


def test_a_cluster_that_is_not_available_is_not_snapshotted(target: Target, tmp_path: Path):
    rds, settings = target.aws("rds"), aws_settings(target)
    rds.stop_db_cluster(DBClusterIdentifier=CLUSTER)
    try:
        with pytest.raises(ActivityFailed, match="cluster shop-db is 'stopped', not 'available': a snapshot needs"):
            snapshot_cluster(CLUSTER, str(tmp_path / "b.json"), **settings)
    finally:
        rds.start_db_cluster(DBClusterIdentifier=CLUSTER)
    assert not (tmp_path / "b.json").exists()


def test_a_point_in_time_restore_holds_what_was_written_before_that_time_and_nothing_after(
    target: Target, as_before: list[str], no_marks_left: None, tmp_path: Path
):
    settings, point = aws_settings(target), tmp_path / "restore-point.json"
    mark(target, "well before")
    time.sleep(1.5)
    deleted = delete_rows(superuser_dsn(target), "gameday_dr_marks", restore_point=str(point))
    assert deleted["deleted"] == 1 and marks(target) == set()  # the faulty migration, on the writer
    mark(target, "after the migration")
    restored = restore_cluster_to_point_in_time(CLUSTER, "shop-db-pitr", "shop-db-pitr-1", restore_point=str(point),
                                                before_seconds=0.5, **settings)  # fmt: skip
    assert restored["restored_to"] < deleted["at"]
    took = wait_for_writer(target.env["DATABASE_RESTORED_URL"], "shop-db-pitr-1", timeout_seconds=60)
    assert took < 60 and marks(target, "DATABASE_RESTORED_URL") == {"well before"}  # as it was then: the RPO
    assert target.query("SHOW cluster_name", "DATABASE_RESTORED_URL") == "shop-db-pitr"  # a server of its own
    assert marks(target) == {"after the migration"}  # the cluster itself goes on as it was
    assert writing_server(target) == (data(target, "PRIMARY"), "shop-db-1")

    delete_cluster("shop-db-pitr", **settings)
    assert wait_until(lambda: target.lookup("restored.shop.internal", "SRV") == [], 10), "the restored endpoint stayed"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(target.env["DATABASE_RESTORED_URL"], connect_timeout=2).close()
    assert not list(Path(data(target, "PRIMARY")).parent.parent.glob("restored-*/data"))


def test_a_restore_time_before_the_oldest_backup_or_not_a_time_is_refused_naming_it(target: Target):
    settings = aws_settings(target)
    with pytest.raises(ActivityFailed, match=r"cannot restore cluster shop-db to 2020-01-01T00:00:00\+00:00: it is before its oldest backup \(earliest restorable time 20"):
        restore_cluster_to_point_in_time(CLUSTER, "shop-db-pitr", "shop-db-pitr-1", restore_time="2020-01-01T00:00:00Z", **settings)
    with pytest.raises(ActivityFailed, match=r"restore_time: 'yesterday' is not an ISO 8601 time \(e\.g\. 2024-06-18T10:15:00Z\)"):
        restore_cluster_to_point_in_time(CLUSTER, "shop-db-pitr", "shop-db-pitr-1", restore_time="yesterday", **settings)
    with pytest.raises(ActivityFailed, match=r"restore_time: '2024-06-18T10:15:00' has no time zone \(add Z for UTC\)"):
        restore_cluster_to_point_in_time(CLUSTER, "shop-db-pitr", "shop-db-pitr-1", restore_time="2024-06-18T10:15:00", **settings)
    clusters = {c["DBClusterIdentifier"] for c in target.aws("rds").describe_db_clusters()["DBClusters"]}
    assert "shop-db-pitr" not in clusters  # nothing was asked of RDS
