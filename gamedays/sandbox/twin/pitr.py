"""Point-in-time restores of the Aurora cluster into new clusters: each a new local PostgreSQL, its WAL replayed.

Aurora keeps continuous backups; the twin keeps what a point-in-time restore of the sandbox
needs: the writer archives every WAL segment it completes (``archive_command`` into the spec's
archive folder, see :mod:`gamedays.sandbox.postgres.cluster`), and :class:`PointInTimeTwin`
takes an automated base backup when the twin is attached (the cluster's backup history
starts there, as moto's ``EarliestRestorableTime`` does at its creation), and again after the
cluster was restored from a snapshot (a restored cluster starts a new history, its archive
emptied).

- :meth:`PointInTimeTwin.restoring` (after ``RestoreDBClusterToPointInTime`` from the cluster):
  the new cluster's restore time (``RestoreToTime``, or the latest restorable time);
- :meth:`PointInTimeTwin.create_instance` (after ``CreateDBInstance`` in that new cluster): the
  writer's current WAL segment is switched and archived, the newest automated base backup
  taken before the restore time is copied into a folder of its own and started on a new port
  with the archived WAL replayed up to the restore time (``recovery_target_time``), then
  promoted; its ``aurora_db_instance_identifier()`` names the new instance, and the SRV record
  ``spec.restored_record`` (what ``DATABASE_RESTORED_URL`` follows) points at it;
- :meth:`PointInTimeTwin.delete_instance` (after ``DeleteDBInstance`` of that instance): the
  server is stopped, its folder removed, the record deleted.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from gamedays.faults.dns import records
from gamedays.faults.local import pgbackup
from gamedays.faults.local.pgcontrol import stop
from gamedays.faults.local.pgserver import LocalServer
from gamedays.sandbox.ports import free_port
from gamedays.sandbox.postgres import commands
from gamedays.sandbox.twin.identity import SUPERUSER, define_instance_identifiers
from gamedays.sandbox.twin.spec import Instance, TwinSpec

log = logging.getLogger(__name__)

_TIMEOUT = 120.0
#: An automated base backup's folder name in the snapshots folder: never a snapshot identifier (they start with a letter).
_AUTOMATED = "_automated-"


class PointInTimeTwin:
    """Restores the cluster to points in time as new local servers, from automated base backups and the WAL archive."""

    def __init__(self, spec: TwinSpec, writer: Callable[[], Instance]) -> None:
        self._spec = spec
        self._writer = writer  # the instance whose server takes the writes now
        self._restore_times: dict[str, float | None] = {}  # new cluster -> its restore time (None: the latest)
        self._restored: dict[str, Path] = {}  # instance -> the folder of its server

    def automated_backup(self) -> None:
        """A base backup of the writer's server: point-in-time restores start from the newest one before their time."""
        folder = Path(self._spec.snapshots_dir) / f"{_AUTOMATED}{time.time_ns()}"
        dsn = LocalServer.of(self._writer().data_dir).tcp_conninfo(SUPERUSER)
        taken = pgbackup.take_base_backup(dsn, str(folder), user=SUPERUSER, log_file=self._spec.postgres_log)
        log.info("automated base backup %s (%.2fs): restorable from now on", taken["label"], taken["seconds"])

    def new_history(self) -> None:
        """The cluster was restored from a snapshot: its WAL and backups so far describe another history."""
        for base in self._bases():
            shutil.rmtree(base, ignore_errors=True)
        archive = Path(self._spec.archive_dir)
        for segment in archive.iterdir() if archive.is_dir() else ():
            segment.unlink(missing_ok=True)
        self.automated_backup()

    def restoring(self, cluster: str, restore_time: str | None) -> None:
        """``cluster`` is restored from the sandbox's cluster as it was at ``restore_time`` (ISO 8601; None: latest)."""
        self._restore_times[cluster] = _epoch(restore_time) if restore_time else None

    def create_instance(self, cluster: str, instance: str) -> None:
        """Instance ``instance`` is created in ``cluster``: when that is a restored one, start its server. Idempotent."""
        if cluster not in self._restore_times:
            log.info("%s: %s is no cluster restored to a point in time: nothing local to create", instance, cluster)
            return
        if instance in self._restored and LocalServer(self._restored[instance] / "data").pid() is not None:
            return
        at = self._restore_times[cluster]
        self._archive_current_segment()
        base = self._base_before(at if at is not None else time.time())
        folder = Path(self._spec.snapshots_dir).parent / f"restored-{cluster}"
        if not folder.exists():
            commands.make_server_dir(folder)
        target = datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds") if at is not None else None
        restored = pgbackup.restore_base_backup(
            str(base), str(folder / "data"), user=SUPERUSER, log_file=self._spec.postgres_log, timeout_seconds=_TIMEOUT,
            port=free_port(), name=cluster, wal_archive=self._spec.archive_dir, target_time=target,
        )  # fmt: skip
        self._restored[instance] = folder
        writer = Instance(instance, str(folder / "data"), self._writer().host)
        define_instance_identifiers(writer, [writer], self._spec.database)
        spec = self._spec
        records.point_record(spec.dns_server, spec.zone, spec.restored_record, "SRV", [f"0 0 {restored['port']} {writer.host}.{spec.zone.rstrip('.')}."])
        log.info("%s of %s: restored to %s on port %d (%.2fs)", instance, cluster, target or "the latest time",
                 restored["port"], restored["seconds"])  # fmt: skip

    def delete_instance(self, instance: str) -> None:
        """Instance ``instance`` is deleted: when it is a restored one, stop its server and remove it."""
        folder = self._restored.pop(instance, None)
        if folder is None:
            return
        server = LocalServer(folder / "data")
        if server.pid() is not None:
            stop(server, timeout=30.0)
        shutil.rmtree(folder)
        spec = self._spec
        records.remove_record(spec.dns_server, spec.zone, spec.restored_record, "SRV")
        log.info("deleted the restored instance %s: its server is gone", instance)

    def _archive_current_segment(self) -> None:
        """Switch the writer's WAL segment and wait until the archive holds it: the restore replays up to now."""
        server = LocalServer.of(self._writer().data_dir)
        with server.connect(SUPERUSER) as conn:
            row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
        segment = Path(self._spec.archive_dir) / str(row[0] if row else "")
        deadline = time.monotonic() + 30.0
        while not segment.is_file():
            if time.monotonic() >= deadline:
                raise RuntimeError(f"the writer did not archive {segment.name} within 30s: see its log")
            time.sleep(0.05)

    def _base_before(self, at: float) -> Path:
        """The newest automated base backup that was complete before ``at`` (epoch seconds)."""
        done = [(self._finished_at(base), base) for base in self._bases()]
        before = [base for finished, base in sorted(done) if finished < at]
        if not before:
            oldest = min((finished for finished, _ in done), default=None)
            since = datetime.fromtimestamp(oldest, timezone.utc).isoformat() if oldest else "no backup yet"
            raise RuntimeError(f"the restore time is before the oldest backup of {self._spec.cluster} ({since})")
        return before[-1]

    def _bases(self) -> list[Path]:
        folder = Path(self._spec.snapshots_dir)
        return sorted(folder.glob(f"{_AUTOMATED}*")) if folder.is_dir() else []

    @staticmethod
    def _finished_at(base: Path) -> float:
        metadata = pgbackup.read_metadata(base)
        return float(metadata["taken_at"]) + float(metadata["seconds"])


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
