"""Each local server answers ``aurora_db_instance_identifier()`` with its DB instance, as Aurora PostgreSQL does.

The function is created in the cluster's database on the writer (the standbys get it by
replication): a CASE over ``cluster_name``, the server's own name (``pg1``), so each server
answers its own instance whichever role it has. The sandbox defines it at start-up; the
Aurora twin again on the new writer after a failover (:mod:`gamedays.sandbox.twin.aurora`).
Probes such as :func:`gamedays.faults.postgres.aurora.wait_for_writer` ask it which instance took a write.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from gamedays.faults.local.pgserver import LocalServer
from gamedays.sandbox.twin.spec import Instance

SUPERUSER = "postgres"


def define_instance_identifiers(writer: Instance, instances: Sequence[Instance], database: str) -> None:
    """``CREATE OR REPLACE`` the function on ``writer``'s server, naming each of ``instances`` that has a server.

    An instance whose server is lost (deleted, not rebuilt yet) is left out: it is named again
    once rebuilt (the twin defines the function again then).
    """
    present = [i for i in instances if (Path(i.data_dir) / "PG_VERSION").is_file()]
    names = {LocalServer.of(i.data_dir).name(): i.identifier for i in present}
    cases = sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(sql.Literal(name), sql.Literal(identifier)) for name, identifier in names.items()
    )
    body = sql.SQL("SELECT CASE current_setting('cluster_name') {} END").format(cases).as_string(None)
    statement = sql.SQL(
        "CREATE OR REPLACE FUNCTION public.aurora_db_instance_identifier() RETURNS text LANGUAGE sql STABLE AS {}"
    ).format(sql.Literal(body))
    port, hosts = LocalServer.of(writer.data_dir).address()
    conninfo = make_conninfo(host=hosts[0], port=str(port), user=SUPERUSER, dbname=database)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5, application_name="gameday-twin") as conn:
        conn.execute(statement)
