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
  real outage of a second or two for the writer).

A local fault (a killed primary, a promotion by an experiment) does not change moto's writer,
so the twin leaves it alone. After a failover the new writer defines
``aurora_db_instance_identifier()`` again (:mod:`gamedays.sandbox.twin.identity`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gamedays.faults.dns import srv
from gamedays.faults.local import pgfailover, pglocal
from gamedays.faults.local.pgcontrol import start, stop
from gamedays.faults.local.pgserver import LocalServer, Role
from gamedays.sandbox.twin.identity import SUPERUSER, define_instance_identifiers
from gamedays.sandbox.twin.spec import Instance, TwinSpec

log = logging.getLogger(__name__)

_TIMEOUT = 60.0

#: Told when the writer endpoint moved: (record name, type, values, ttl), so Route53 shows it too.
RecordMoved = Callable[[str, str, Sequence[str], int], None]


class AuroraTwin:
    """Makes the local servers follow moto's view of the Aurora cluster."""

    def __init__(self, spec: TwinSpec, rds: Any, on_record_moved: RecordMoved) -> None:
        self._spec = spec
        self._rds = rds
        self._on_record_moved = on_record_moved
        self._applied = spec.writer  # the sandbox made its server the primary

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
        port, _hosts = LocalServer.of(new.data_dir).address()
        current = srv.read_srv(spec.dns_server, spec.zone, spec.writer_record)
        moved = srv.move_srv(spec.dns_server, spec.zone, spec.writer_record, port, target=new.host, wait_ttl=False)
        self._on_record_moved(current.name, "SRV", [moved["moved_to"]], current.ttl)
        define_instance_identifiers(new, spec.instances, spec.database)
        for old in others:
            rejoined = pglocal.rejoin_as_replica(old.data_dir, new.data_dir, log_file=spec.postgres_log, timeout_seconds=_TIMEOUT)
            log.info("%s streams from %s again (%s)", old.identifier, new.identifier, rejoined.get("method"))
        log.info("%s is the writer of %s after %.1fs", new.identifier, spec.cluster, time.monotonic() - began)
