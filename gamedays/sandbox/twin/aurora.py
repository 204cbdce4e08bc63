"""The Aurora cluster's instances are the sandbox's PostgreSQL servers: failover and reboot act on them.

Each DB instance of the cluster is one local server (its data directory) and one SRV target
name (``pg-0``). The ``db`` SRV record, which the shop and ``DATABASE_URL`` follow, is the
cluster's writer endpoint. :class:`AuroraTwin` reconciles as a controller does, when the
endpoint's trail shows a call that may have changed the cluster:

- :meth:`AuroraTwin.reconcile_writer` (after ``FailoverDBCluster``): when moto's writer
  (``DBClusterMembers[].IsClusterWriter``) differs from the one last made real, the writer's
  server becomes the primary by a clean switchover, the way the sandbox fails back
  (:func:`gamedays.faults.local.pgfailover.fail_back`: the old primary is stopped once the new one
  has all of its WAL, then the new one is promoted), the SRV record moves to it, and the old
  primary rejoins as its standby (``pg_rewind``, :func:`gamedays.faults.local.pglocal.rejoin_as_replica`).
  Failing over back to the first writer leaves the sandbox as it began: the same roles, ports
  and record;
- :meth:`AuroraTwin.reboot` (after ``RebootDBInstance``): restarts that instance's server (a
  real outage of a second or two for the writer);
- :meth:`AuroraTwin.snapshot` (after ``CreateDBClusterSnapshot``, answered once it is taken): a
  base backup of the writer's server (``pg_basebackup``) into the spec's snapshots folder, under
  the snapshot's identifier; :meth:`AuroraTwin.forget_snapshot` (``DeleteDBClusterSnapshot``)
  removes it;
- :meth:`AuroraTwin.lose` (after ``DeleteDBInstance``): the instance's server is killed and its
  data moved aside (:func:`gamedays.faults.local.pgbackup.lose_server`): the shop's writes fail;
  :meth:`AuroraTwin.cluster_deleted` (after ``DeleteDBCluster``) drops moto's automated
  snapshots of the cluster, as AWS does, so that it can be restored under its identifier;
- :meth:`AuroraTwin.restoring` (after ``RestoreDBClusterFromSnapshot`` under the cluster's
  identifier) and :meth:`AuroraTwin.create_instance` (after ``CreateDBInstance`` in it): the
  first instance created is the writer, its server restored from the snapshot's base backup on
  its own data directory and port, the writer endpoint (the SRV record) on it; the next ones
  are rebuilt as its streaming replicas. What the deletion moved aside is removed then.

A local fault (a killed primary, a promotion by an experiment) does not change moto's writer,
so the twin leaves it alone. After a failover the new writer defines
``aurora_db_instance_identifier()`` again (:mod:`gamedays.sandbox.twin.identity`).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gamedays.faults.dns import srv
from gamedays.faults.local import pgbackup, pgfailover, pglocal
from gamedays.faults.local.pgcontrol import start, stop
from gamedays.faults.local.pgserver import LocalServer, Role
from gamedays.sandbox.twin.identity import SUPERUSER, define_instance_identifiers
from gamedays.sandbox.twin.spec import Instance, TwinSpec

log = logging.getLogger(__name__)

_TIMEOUT = 60.0
#: In a snapshot's folder: the instance whose server the base backup was taken from.
_SOURCE = "gameday_snapshot_of"

#: Told when the writer endpoint moved: (record name, type, values, ttl), so Route53 shows it too.
RecordMoved = Callable[[str, str, Sequence[str], int], None]


class AuroraTwin:
    """Makes the local servers follow moto's view of the Aurora cluster."""

    def __init__(self, spec: TwinSpec, rds: Any, on_record_moved: RecordMoved, on_new_history: Callable[[], None]) -> None:
        self._spec = spec
        self._rds = rds
        self._on_record_moved = on_record_moved
        self._on_new_history = on_new_history  # told once restored from a snapshot: the backups so far are of another history
        self._applied = spec.writer  # the sandbox made its server the primary
        self._restoring: str | None = None  # the snapshot the cluster is being restored from

    def reconcile_writer(self) -> None:
        """When moto's writer is not the one made real, make it real (raises when that failed: retried later)."""
        writer = self._writer()
        if writer != self._applied:
            self._fail_over_to(self._instance(writer))
            self._applied = writer

    def reboot(self, identifier: str) -> None:
        """Restart the server of instance ``identifier`` (an instance of another cluster is not ours)."""
        known = self._known(identifier)
        if known is None:
            log.info("%s is not an instance of %s: nothing local to reboot", identifier, self._spec.cluster)
            return
        server = LocalServer.of(known.data_dir)
        began = time.monotonic()
        stop(server, timeout=30.0)
        pid = start(server, Path(self._spec.postgres_log), _TIMEOUT)
        log.info("rebooted %s: its server runs again (pid %d) after %.1fs", known.identifier, pid, time.monotonic() - began)

    def snapshot(self, snapshot: str) -> None:
        """Take the base backup that is snapshot ``snapshot`` of the cluster, from the writer's server."""
        folder = self._snapshot_dir(snapshot)
        if (folder / pgbackup.METADATA).is_file():
            return  # taken already (a step tried again)
        writer = self._instance(self._applied)
        dsn = LocalServer.of(writer.data_dir).tcp_conninfo(SUPERUSER)
        taken = pgbackup.take_base_backup(dsn, str(folder), user=SUPERUSER, log_file=self._spec.postgres_log)
        (folder / _SOURCE).write_text(writer.identifier + "\n")
        log.info("snapshot %s of %s: base backup %s of %s (%.2fs)", snapshot, self._spec.cluster, taken["label"],
                 writer.identifier, taken["seconds"])  # fmt: skip

    def forget_snapshot(self, snapshot: str) -> None:
        """Snapshot ``snapshot`` is deleted: its base backup goes too."""
        folder = self._snapshot_dir(snapshot)
        if folder.exists():
            shutil.rmtree(folder)
            log.info("snapshot %s deleted: its base backup removed", snapshot)

    def lose(self, identifier: str) -> None:
        """The instance ``identifier`` is deleted: its server is lost (killed, its data moved aside)."""
        known = self._known(identifier)
        if known is None:
            log.info("%s is not an instance of %s: nothing local to lose", identifier, self._spec.cluster)
            return
        lost = pgbackup.lose_server(known.data_dir)
        log.info("deleted %s: its server is lost (data moved to %s)", identifier, lost["moved_to"])

    def writer(self) -> Instance:
        """The instance whose server takes the writes now."""
        return self._instance(self._applied)

    def cluster_deleted(self, cluster: str) -> None:
        """Drop moto's automated snapshots of the deleted cluster (AWS deletes them with it; moto keeps them)."""
        listed = self._rds.describe_db_cluster_snapshots(DBClusterIdentifier=cluster, SnapshotType="automated")
        for found in listed["DBClusterSnapshots"]:
            self._rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=found["DBClusterSnapshotIdentifier"])

    def restoring(self, snapshot: str) -> None:
        """The cluster is restored from ``snapshot``: its instances, once created, come from its base backup."""
        if not (self._snapshot_dir(snapshot) / pgbackup.METADATA).is_file():
            raise RuntimeError(f"snapshot {snapshot} was not taken through the twin: it has no base backup to restore")
        self._restoring = snapshot

    def create_instance(self, identifier: str) -> None:
        """Instance ``identifier`` is created in the restored cluster: restore it as the writer, or rebuild it as a reader.

        Idempotent (a step tried again): an instance whose server runs is only tidied up.
        """
        known, snapshot = self._known(identifier), self._restoring
        if known is None or snapshot is None:
            log.info("%s: not an instance of %s being restored: nothing local to create", identifier, self._spec.cluster)
            return
        if LocalServer(Path(known.data_dir)).pid() is None:
            others = [i for i in self._spec.instances if i != known and LocalServer(Path(i.data_dir)).pid() is not None]
            if not others:
                self._restore_writer(known, snapshot)
            else:
                writer = self._instance(self._applied)
                rebuilt = pgbackup.rebuild_replica(writer.data_dir, known.data_dir, user=SUPERUSER,
                                                   log_file=self._spec.postgres_log, timeout_seconds=_TIMEOUT)  # fmt: skip
                define_instance_identifiers(writer, self._spec.instances, self._spec.database)  # names the reader again
                log.info("%s is a reader of %s again (%s)", identifier, writer.identifier, rebuilt["method"])
        pgbackup.remove_lost(known.data_dir)

    def _restore_writer(self, instance: Instance, snapshot: str) -> None:
        folder = self._snapshot_dir(snapshot)
        source = (folder / _SOURCE).read_text().strip()
        if source != instance.identifier:
            raise RuntimeError(f"snapshot {snapshot} is of {source}'s server: create {source} first, it is the writer")
        restored = pgbackup.restore_base_backup(str(folder), instance.data_dir, user=SUPERUSER,
                                                log_file=self._spec.postgres_log, timeout_seconds=_TIMEOUT)  # fmt: skip
        self._point_writer_endpoint_at(instance)
        self._applied = instance.identifier
        log.info("%s restored from snapshot %s as the writer (port %d, %.2fs)", instance.identifier, snapshot,
                 restored["port"], restored["seconds"])  # fmt: skip
        self._on_new_history()

    def _snapshot_dir(self, snapshot: str) -> Path:
        if not snapshot or "/" in snapshot or snapshot.startswith("."):
            raise RuntimeError(f"snapshot identifier {snapshot!r} cannot name a folder")
        return Path(self._spec.snapshots_dir) / snapshot

    def _point_writer_endpoint_at(self, instance: Instance) -> None:
        """Move the SRV record that is the writer endpoint to ``instance``'s server, and mirror it in Route53."""
        spec = self._spec
        port, _hosts = LocalServer.of(instance.data_dir).address()
        current = srv.read_srv(spec.dns_server, spec.zone, spec.writer_record)
        moved = srv.move_srv(spec.dns_server, spec.zone, spec.writer_record, port, target=instance.host, wait_ttl=False)
        self._on_record_moved(current.name, "SRV", [moved["moved_to"]], current.ttl)
        define_instance_identifiers(instance, spec.instances, spec.database)

    def _writer(self) -> str:
        cluster = self._rds.describe_db_clusters(DBClusterIdentifier=self._spec.cluster)["DBClusters"][0]
        writers = [m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"] if m["IsClusterWriter"]]
        if len(writers) != 1:
            raise RuntimeError(f"cluster {self._spec.cluster} has {len(writers)} writers in moto: {writers}")
        return str(writers[0])

    def _known(self, identifier: str) -> Instance | None:
        return next((i for i in self._spec.instances if i.identifier == identifier), None)

    def _instance(self, identifier: str) -> Instance:
        found = self._known(identifier)
        if found is None:
            raise RuntimeError(f"instance {identifier} of cluster {self._spec.cluster} has no local server")
        return found

    def _fail_over_to(self, new: Instance) -> None:
        began = time.monotonic()
        spec = self._spec
        others = [i for i in spec.instances if i != new]
        primaries = [i for i in others if LocalServer.of(i.data_dir).role(SUPERUSER) is Role.PRIMARY]
        log.info("failing over %s to %s (primary now: %s)", spec.cluster, new.identifier, [i.identifier for i in primaries])
        for old in primaries or others[:1]:
            done = pgfailover.fail_back(new.data_dir, old.data_dir, user=SUPERUSER, log_file=spec.postgres_log, timeout_seconds=_TIMEOUT)
            log.info("%s: %s", new.identifier, "; ".join(done["steps"]) or "already the primary")
        self._point_writer_endpoint_at(new)
        for old in others:
            rejoined = pglocal.rejoin_as_replica(old.data_dir, new.data_dir, log_file=spec.postgres_log, timeout_seconds=_TIMEOUT)
            log.info("%s streams from %s again (%s)", old.identifier, new.identifier, rejoined.get("method"))
        log.info("%s is the writer of %s after %.1fs", new.identifier, spec.cluster, time.monotonic() - began)
