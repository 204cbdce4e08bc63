"""Aurora cluster disaster recovery through the RDS API: snapshot a cluster, lose it, restore it from the snapshot.

The Aurora playbook's disaster is "the cluster is gone" (deleted by a bad automation run, a
wrong Terraform destroy): :func:`delete_cluster` deletes its DB instances, then the cluster,
with no final snapshot. The recovery restores the manual cluster snapshot
:func:`snapshot_cluster` took before the disaster under the *same* cluster identifier, so the
cluster's endpoints (derived from the identifier) come back with the same names and the
applications need no change (:func:`restore_cluster_from_snapshot`), then creates the same DB
instances, the writer first. Every write acknowledged after the snapshot is lost: the RPO the
playbook's writer measures.

    backup                            disaster                recovery                              afterwards
    snapshot_cluster(cluster, path)   delete_cluster(cluster) restore_cluster_from_snapshot(path)   delete_snapshot(path)
                                                              postgres.aurora.wait_for_writer(dsn, writer)

The point-in-time playbook's disaster is "a faulty migration deleted the data" (the cluster
stays): :func:`restore_cluster_to_point_in_time` restores the cluster as it was just before the
disaster into a *new* cluster with one instance, whose writer endpoint then holds what was
written up to that point; what came after is lost (the RPO); :func:`delete_cluster` removes the
new cluster once the drill is done.

``path`` (relative paths land in the DR check's folder) holds what a restore needs: the
snapshot's identifier and the cluster's settings and instances, as RDS described them; no
credential is in it. Each call names the cluster or snapshot it acted on when RDS refuses
(AccessDenied, a cluster that does not exist or is not ``available``, deletion protection):
chaoslib's ``ActivityFailed``. The client comes from Chaos Toolkit's configuration and secrets
as chaosaws reads them (:mod:`gamedays.faults.aws.client`). On the sandbox, the AWS twin makes
these calls real: the snapshot is a base backup of the writer, the deletion loses the servers,
the restore starts them again from the backup (:mod:`gamedays.sandbox.twin.aurora`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping

from gamedays.atomicfile import write_atomically
from gamedays.faults.aws.client import aws_client
from gamedays.model.reach import Reach, acts_on

__all__ = ["delete_cluster", "delete_snapshot", "restore_cluster_from_snapshot", "restore_cluster_to_point_in_time", "snapshot_cluster"]

log = logging.getLogger(__name__)

_POLL = 0.5
#: The cluster settings a restore carries over from the snapshot's cluster, when RDS described them.
_CARRIED = (("EngineVersion", "EngineVersion"), ("Port", "Port"), ("DBSubnetGroup", "DBSubnetGroupName"),
            ("DBClusterParameterGroup", "DBClusterParameterGroupName"))  # fmt: skip


@acts_on(Reach.AWS)
def snapshot_cluster(
    cluster: str,
    path: str,
    prefix: str = "gameday",
    timeout_seconds: float = 900.0,
    configuration: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Take a manual snapshot of ``cluster`` (``available``), wait until it is available, write the backup to ``path``.

    The snapshot is named ``<prefix>-<cluster>-<UTC time>``. Returns the backup: ``cluster``,
    ``snapshot``, ``taken_at`` (ISO 8601), ``engine`` and the ``instances`` (writer first).
    """
    rds = aws_client("rds", configuration, secrets)
    described = _available_cluster(rds, cluster)
    snapshot = f"{prefix}-{cluster}-{datetime.now(timezone.utc).strftime('%Y%m%d%H%M%S')}"
    taken_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    _call(f"snapshot cluster {cluster} as {snapshot}", rds.create_db_cluster_snapshot,
          DBClusterIdentifier=cluster, DBClusterSnapshotIdentifier=snapshot)  # fmt: skip
    _wait(f"snapshot {snapshot} of cluster {cluster} to be available", timeout_seconds,
          lambda: _snapshot_status(rds, snapshot) == "available")  # fmt: skip
    backup = {
        "cluster": cluster, "snapshot": snapshot, "taken_at": taken_at, "engine": described["Engine"],
        "settings": {name: described[key] for key, name in _CARRIED if described.get(key)},
        "security_groups": [g["VpcSecurityGroupId"] for g in described.get("VpcSecurityGroups", [])],
        "instances": _instances(rds, described),
    }  # fmt: skip
    try:
        write_atomically(Path(path), json.dumps(backup, indent=2) + "\n")
    except OSError as exc:
        raise _failed(f"cannot write the cluster backup {path}: {exc.strerror or exc}") from None
    log.info("snapshot %s of %s taken (%d instances)", snapshot, cluster, len(backup["instances"]))
    return backup


@acts_on(Reach.AWS)
def delete_cluster(
    cluster: str,
    timeout_seconds: float = 1800.0,
    configuration: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The disaster "the cluster is gone": delete its DB instances, then the cluster, without a final snapshot.

    Waits until RDS no longer knows them. A cluster with deletion protection is refused (the
    protection is what stops this disaster: turn it off for the drill, or drill another one).
    Returns ``cluster`` and the ``instances`` deleted.
    """
    rds = aws_client("rds", configuration, secrets)
    described = _described(rds, cluster)
    if described.get("DeletionProtection"):
        raise _failed(f"cluster {cluster} has deletion protection: it cannot be lost this way (turn it off for the drill)")
    members = [m["DBInstanceIdentifier"] for m in described.get("DBClusterMembers", [])]
    for instance in members:
        _call(f"delete instance {instance} of cluster {cluster}", rds.delete_db_instance,
              DBInstanceIdentifier=instance, SkipFinalSnapshot=True)  # fmt: skip
    deadline = time.monotonic() + float(timeout_seconds)
    _wait(f"the instances of cluster {cluster} to be deleted", _left(deadline),
          lambda: not [i for i in members if _instance_exists(rds, i)])  # fmt: skip
    _call(f"delete cluster {cluster}", rds.delete_db_cluster, DBClusterIdentifier=cluster, SkipFinalSnapshot=True)
    _wait(f"cluster {cluster} to be deleted", _left(deadline), lambda: _find_cluster(rds, cluster) is None)
    log.info("deleted cluster %s and its instances %s", cluster, members)
    return {"cluster": cluster, "instances": members}


@acts_on(Reach.AWS)
def restore_cluster_from_snapshot(
    path: str,
    timeout_seconds: float = 3600.0,
    configuration: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Restore the cluster of the backup at ``path`` from its snapshot, under its own identifier, with its instances.

    The writer is created first (Aurora makes the first instance the writer), then the
    readers; returns once the cluster and every instance are ``available``. Idempotent: a
    cluster that exists already is not restored again, its missing instances are created.
    Returns ``cluster``, ``snapshot``, ``instances``, ``restored`` and ``seconds``.
    """
    began = time.monotonic()
    deadline = began + float(timeout_seconds)
    backup = _read_backup(path)
    rds = aws_client("rds", configuration, secrets)
    cluster, snapshot = backup["cluster"], backup["snapshot"]
    restored = _find_cluster(rds, cluster) is None
    if restored:
        extra: dict[str, Any] = dict(backup.get("settings", {}))
        if backup.get("security_groups"):
            extra["VpcSecurityGroupIds"] = backup["security_groups"]
        _call(f"restore cluster {cluster} from snapshot {snapshot}", rds.restore_db_cluster_from_snapshot,
              DBClusterIdentifier=cluster, SnapshotIdentifier=snapshot, Engine=backup["engine"], **extra)  # fmt: skip
    _wait(f"restored cluster {cluster} to be available", _left(deadline), lambda: _status(rds, cluster) == "available")
    for instance in backup["instances"]:
        if not _instance_exists(rds, instance["id"]):
            _call(f"create instance {instance['id']} in cluster {cluster}", rds.create_db_instance,
                  DBInstanceIdentifier=instance["id"], DBClusterIdentifier=cluster, Engine=backup["engine"],
                  DBInstanceClass=instance["class"], **({"AvailabilityZone": instance["zone"]} if instance.get("zone") else {}))  # fmt: skip
        _wait(f"instance {instance['id']} of cluster {cluster} to be available", _left(deadline),
              lambda name=instance["id"]: _instance_status(rds, name) == "available")  # fmt: skip
    seconds = round(time.monotonic() - began, 3)
    log.info("cluster %s %s from %s with %d instances in %.1fs", cluster, "restored" if restored else "was there",
             snapshot, len(backup["instances"]), seconds)  # fmt: skip
    return {"cluster": cluster, "snapshot": snapshot, "instances": [i["id"] for i in backup["instances"]],
            "restored": restored, "seconds": seconds}  # fmt: skip


@acts_on(Reach.AWS)
def restore_cluster_to_point_in_time(
    source: str,
    cluster: str,
    instance: str,
    restore_time: str | None = None,
    restore_point: str | None = None,
    before_seconds: float = 1.0,
    instance_class: str | None = None,
    timeout_seconds: float = 3600.0,
    configuration: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Restore ``source`` as it was at a point in time into the new cluster ``cluster``, with one instance, its writer.

    The point: ``restore_time`` (ISO 8601), or ``before_seconds`` before the time written in
    the file ``restore_point`` (what the disaster recorded when it struck, e.g.
    :func:`gamedays.faults.postgres.data.delete_rows`), or else the latest restorable time. It must lie within what the source's backups
    cover (``EarliestRestorableTime`` to ``LatestRestorableTime``): a time outside is refused
    naming both. The instance takes the class of the source's writer unless ``instance_class``
    is given. Returns once the cluster and the instance are ``available``: ``cluster``,
    ``restored_to`` (ISO 8601), ``instance``, ``seconds``. Idempotent.
    """
    began = time.monotonic()
    deadline = began + float(timeout_seconds)
    rds = aws_client("rds", configuration, secrets)
    described = _described(rds, source)
    target = _restore_target(source, described, restore_time, restore_point, float(before_seconds))
    if _find_cluster(rds, cluster) is None:
        point = {"RestoreToTime": target} if target is not None else {"UseLatestRestorableTime": True}
        _call(f"restore cluster {source} to {target.isoformat() if target else 'its latest restorable time'} as {cluster}",
              rds.restore_db_cluster_to_point_in_time, SourceDBClusterIdentifier=source, DBClusterIdentifier=cluster,
              **point)  # fmt: skip
    _wait(f"restored cluster {cluster} to be available", _left(deadline), lambda: _status(rds, cluster) == "available")
    if not _instance_exists(rds, instance):
        klass = instance_class or next((i["class"] for i in _instances(rds, described) if i["writer"]), "db.r6g.large")
        _call(f"create instance {instance} in cluster {cluster}", rds.create_db_instance, DBInstanceIdentifier=instance,
              DBClusterIdentifier=cluster, Engine=described["Engine"], DBInstanceClass=klass)  # fmt: skip
    _wait(f"instance {instance} of cluster {cluster} to be available", _left(deadline),
          lambda: _instance_status(rds, instance) == "available")  # fmt: skip
    seconds = round(time.monotonic() - began, 3)
    restored_to = (target or datetime.now(timezone.utc)).isoformat(timespec="milliseconds")
    log.info("cluster %s restored to %s as %s (instance %s) in %.1fs", source, restored_to, cluster, instance, seconds)
    return {"cluster": cluster, "source": source, "restored_to": restored_to, "instance": instance, "seconds": seconds}


@acts_on(Reach.AWS)
def delete_snapshot(
    path: str, configuration: Mapping[str, Any] | None = None, secrets: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Delete the manual snapshot the backup at ``path`` names (it costs storage once the drill is over). Idempotent."""
    backup = _read_backup(path)
    rds = aws_client("rds", configuration, secrets)
    snapshot = backup["snapshot"]
    from botocore.exceptions import ClientError

    try:
        rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=snapshot)
    except ClientError as exc:
        if _code(exc) != "DBClusterSnapshotNotFoundFault":
            raise _refused(f"delete snapshot {snapshot}", exc) from None
        return {"snapshot": snapshot, "deleted": False}
    log.info("deleted snapshot %s", snapshot)
    return {"snapshot": snapshot, "deleted": True}


def _restore_target(
    source: str, described: Mapping[str, Any], restore_time: str | None, restore_point: str | None, before: float
) -> datetime | None:
    """The time to restore ``source`` to (None: its latest restorable time), checked against what its backups cover."""
    if restore_time is not None and restore_point is not None:
        raise _failed("give restore_time or restore_point, not both")
    if restore_point is not None:
        try:
            at = json.loads(Path(restore_point).read_text(encoding="utf-8"))["at"]
        except FileNotFoundError:
            raise _failed(f"the restore point {restore_point} does not exist: the disaster did not record it") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise _failed(f"cannot read the restore point {restore_point}: {exc}") from None
        wanted = _parse_time(str(at), restore_point) - timedelta(seconds=before)
    elif restore_time is not None:
        wanted = _parse_time(restore_time, "restore_time")
    else:
        return None
    earliest, latest = described.get("EarliestRestorableTime"), described.get("LatestRestorableTime")
    if isinstance(earliest, datetime) and wanted < earliest:
        raise _failed(f"cannot restore cluster {source} to {wanted.isoformat()}: it is before its oldest backup "
                      f"(earliest restorable time {earliest.isoformat()})")  # fmt: skip
    if isinstance(latest, datetime) and wanted > latest and wanted > datetime.now(timezone.utc):
        raise _failed(f"cannot restore cluster {source} to {wanted.isoformat()}: it is in the future "
                      f"(latest restorable time {latest.isoformat()})")  # fmt: skip
    return wanted


def _parse_time(text: str, where: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _failed(f"{where}: {text!r} is not an ISO 8601 time (e.g. 2024-06-18T10:15:00Z)") from None
    if parsed.tzinfo is None:
        raise _failed(f"{where}: {text!r} has no time zone (add Z for UTC)")
    return parsed


def _instances(rds: Any, described: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The cluster's DB instances, the writer first: identifier, class, availability zone."""
    members = sorted(described.get("DBClusterMembers", []), key=lambda m: not m.get("IsClusterWriter"))
    found = []
    for member in members:
        name = member["DBInstanceIdentifier"]
        instance = _call(f"describe instance {name}", rds.describe_db_instances, DBInstanceIdentifier=name)["DBInstances"][0]
        found.append({"id": name, "class": instance["DBInstanceClass"], "zone": instance.get("AvailabilityZone"),
                      "writer": bool(member.get("IsClusterWriter"))})  # fmt: skip
    return found


def _available_cluster(rds: Any, cluster: str) -> dict[str, Any]:
    described = _described(rds, cluster)
    if described.get("Status") != "available":
        raise _failed(f"cluster {cluster} is {described.get('Status')!r}, not 'available': a snapshot needs an available cluster")
    return described


def _described(rds: Any, cluster: str) -> dict[str, Any]:
    found = _find_cluster(rds, cluster)
    if found is None:
        raise _failed(f"there is no DB cluster {cluster} for these credentials in this region")
    return found


def _find_cluster(rds: Any, cluster: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        clusters = rds.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"]
    except ClientError as exc:
        if _code(exc) == "DBClusterNotFoundFault":
            return None
        raise _refused(f"describe cluster {cluster}", exc) from None
    return dict(clusters[0]) if clusters else None


def _status(rds: Any, cluster: str) -> str | None:
    found = _find_cluster(rds, cluster)
    return None if found is None else str(found.get("Status"))


def _instance_status(rds: Any, instance: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        return str(rds.describe_db_instances(DBInstanceIdentifier=instance)["DBInstances"][0]["DBInstanceStatus"])
    except ClientError as exc:
        if _code(exc) == "DBInstanceNotFound":
            return None
        raise _refused(f"describe instance {instance}", exc) from None


def _instance_exists(rds: Any, instance: str) -> bool:
    return _instance_status(rds, instance) is not None


def _snapshot_status(rds: Any, snapshot: str) -> str | None:
    found = _call(f"describe snapshot {snapshot}", rds.describe_db_cluster_snapshots, DBClusterSnapshotIdentifier=snapshot)
    snapshots = found["DBClusterSnapshots"]
    return str(snapshots[0]["Status"]) if snapshots else None


def _read_backup(path: str) -> dict[str, Any]:
    source = Path(path)
    try:
        backup = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _failed(f"the cluster backup {source} does not exist: the backup step (snapshot_cluster) did not run") from None
    except (OSError, ValueError) as exc:
        raise _failed(f"cannot read the cluster backup {source}: {exc}") from None
    missing = [key for key in ("cluster", "snapshot", "engine", "instances") if key not in backup]
    if not isinstance(backup, dict) or missing:
        raise _failed(f"{source} is not a cluster backup written by snapshot_cluster (missing {missing})")
    return dict(backup)


def _call(what: str, method: Callable[..., Any], **parameters: Any) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return method(**parameters)
    except ClientError as exc:
        raise _refused(what, exc) from None
    except BotoCoreError as exc:
        raise _failed(f"cannot {what}: {exc}") from None


def _refused(what: str, exc: Any) -> Exception:
    message = exc.response.get("Error", {}).get("Message") or str(exc)
    return _failed(f"RDS refused to {what}: {_code(exc)}: {message}")


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", "unknown"))


def _wait(what: str, timeout: float, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() >= deadline:
            raise _failed(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(_POLL)


def _left(deadline: float) -> float:
    return max(1.0, deadline - time.monotonic())


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed (imported late: chaoslib is heavy and this module must import fast)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
