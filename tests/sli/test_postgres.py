"""The PostgreSQL SLI source against the sandbox's real primary and streaming replica on 127.0.0.1."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest

from gamedays.model.slo import PostgresSLI
from gamedays.model.units import Duration
from gamedays.sandbox.postgres import PostgresCluster, PostgresServer
from gamedays.sandbox.ports import free_port
from gamedays.sli.measure import measure
from gamedays.sli.postgres import PROBE_TABLE
from tests.sli.fixtures import MakeCluster, make_pg, pg, wait_until  # noqa: F401 - fixtures

SECRET = "hunter2-Sekr3t"


def pg_sli(dsn: str, **extra: Any) -> PostgresSLI:
    return PostgresSLI(source="postgres", dsn=dsn, **extra)


def shop(server: PostgresServer) -> str:
    """The application's connection string (role and database ``shop``), as DATABASE_URL would be."""
    return server.conninfo("shop", "shop")


def where(server: PostgresServer, db: str = "shop") -> str:
    """How an SLI error names a server: host, port and database, nothing else."""
    return f"postgresql://127.0.0.1:{server.port}/{db}"


def rows_in_probe_table(server: PostgresServer) -> int:
    with psycopg.connect(shop(server), autocommit=True) as conn:
        return conn.execute(f"SELECT count(*) FROM {PROBE_TABLE}").fetchone()[0]


# -- write and read --------------------------------------------------------------------------------


def test_a_write_round_trip_on_the_primary_is_good(pg: PostgresCluster):
    m = measure(pg_sli(shop(pg.primary)), {}, timeout=2)
    assert m.good and m.error is None
    assert m.value is not None and 0 < m.value <= m.elapsed < 2
    assert rows_in_probe_table(pg.primary) >= 1  # it really wrote


def test_the_probe_table_stays_small(pg: PostgresCluster):
    for _ in range(3):
        assert measure(pg_sli(shop(pg.primary)), {}, timeout=2).good
    with psycopg.connect(shop(pg.primary), autocommit=True) as conn:
        conn.execute(f"INSERT INTO {PROBE_TABLE} SELECT FROM generate_series(1, 1500)")
    assert measure(pg_sli(shop(pg.primary)), {}, timeout=2).good
    assert rows_in_probe_table(pg.primary) <= 1001  # older rows are deleted as it goes


def test_a_write_on_the_replica_is_bad_because_it_is_read_only(pg: PostgresCluster):
    m = measure(pg_sli(shop(pg.replica)), {}, timeout=2)
    assert not m.good and m.value is None
    assert m.error.startswith(f"{where(pg.replica)}: cannot execute ")
    assert m.error.endswith("in a read-only transaction")


def test_a_read_is_good_on_both_servers(pg: PostgresCluster):
    for server in (pg.primary, pg.replica):
        m = measure(pg_sli(shop(server), check="read"), {}, timeout=2)
        assert m.good and m.value is not None and 0 < m.value < 2


def test_the_dsn_comes_from_the_environment(pg: PostgresCluster):
    sli = pg_sli("${DATABASE_URL}")
    assert measure(sli, {"DATABASE_URL": shop(pg.primary)}, timeout=2).good
    m = measure(sli, {}, timeout=2)
    assert not m.good and m.error == "environment variable DATABASE_URL is not set (the SLI refers to ${DATABASE_URL})"


def test_an_unknown_database_is_a_bad_sample_that_names_it(pg: PostgresCluster):
    m = measure(pg_sli(pg.primary.conninfo("nosuchdb", "shop"), check="read"), {}, timeout=2)
    assert not m.good
    assert m.error.startswith(f"{where(pg.primary, 'nosuchdb')}: connection failed: ")
    assert 'database "nosuchdb" does not exist' in m.error


# -- replication lag -------------------------------------------------------------------------------


def test_replication_lag_is_good_while_the_replica_streams(pg: PostgresCluster):
    m = measure(pg_sli(pg.primary.dsn, check="replication-lag", max_lag=Duration(5)), {}, timeout=2)
    assert m.good and m.error is None
    assert m.value is not None and 0.0 <= m.value < 5.0


def test_replication_lag_asked_of_the_replica_finds_no_streaming_replica(pg: PostgresCluster):
    m = measure(pg_sli(pg.replica.dsn, check="replication-lag"), {}, timeout=2)
    assert not m.good and m.error == "no streaming replica is connected to this server"


def test_a_role_that_may_not_read_the_replication_state_is_told_what_to_grant(pg: PostgresCluster):
    """Without pg_monitor the rows of pg_stat_replication are all NULL: that is not 'no replica'."""
    sli = pg_sli(shop(pg.primary), check="replication-lag")
    assert measure(sli, {}, timeout=2).good  # the sandbox grants pg_monitor to the shop's role
    with pg.primary.connect() as conn:
        conn.execute("REVOKE pg_monitor FROM shop")
    try:
        m = measure(sli, {}, timeout=2)
        assert not m.good
        assert m.error == "role shop may not read the replication state (pg_stat_replication): GRANT pg_monitor TO shop"
    finally:
        with pg.primary.connect() as conn:
            conn.execute("GRANT pg_monitor TO shop")


def test_replication_lag_is_bad_once_the_replica_is_stopped(make_pg: MakeCluster):
    cluster = make_pg()
    sli = pg_sli(cluster.primary.dsn, check="replication-lag")
    assert measure(sli, {}, timeout=2).good
    cluster.replica.stop()
    assert wait_until(lambda: not measure(sli, {}, timeout=2).good, timeout=5.0)
    m = measure(sli, {}, timeout=2)
    assert not m.good and m.value is None and m.error == "no streaming replica is connected to this server"


def test_max_lag_decides_on_the_lag_the_primary_measures(make_pg: MakeCluster):
    """The replica applies WAL 1 s late (recovery_min_apply_delay): a 300ms budget breaks, 10s holds."""
    cluster = make_pg()
    with cluster.replica.connect() as conn:
        conn.execute("ALTER SYSTEM SET recovery_min_apply_delay = '1s'")
        conn.execute("SELECT pg_reload_conf()")
    tight = pg_sli(cluster.primary.dsn, check="replication-lag", max_lag=Duration(0.3))
    loose = pg_sli(cluster.primary.dsn, check="replication-lag", max_lag=Duration(10))
    seen_tight = seen_loose = None
    deadline = time.monotonic() + 10.0
    with psycopg.connect(shop(cluster.primary), autocommit=True) as writer:
        writer.execute("CREATE TABLE ticks (at timestamptz DEFAULT now())")
        while time.monotonic() < deadline and (seen_tight is None or seen_loose is None):
            writer.execute("INSERT INTO ticks DEFAULT VALUES")
            m = measure(tight, {}, timeout=2)
            if not m.good and m.value is not None and m.value >= 0.5:
                seen_tight = m
            m = measure(loose, {}, timeout=2)
            if m.good and m.value is not None and m.value >= 0.5:
                seen_loose = m
            time.sleep(0.1)
    assert seen_tight is not None, "the lag never showed over the 300ms budget"
    assert seen_tight.error == f"replication lag {seen_tight.value:.2f}s over 300ms"
    assert seen_loose is not None and seen_loose.error is None, "a lag of about 1s should be good against 10s"


# -- a server that is gone -------------------------------------------------------------------------


def test_a_killed_primary_gives_bad_samples_at_once(make_pg: MakeCluster):
    cluster = make_pg()
    sli = pg_sli(shop(cluster.primary))
    assert measure(sli, {}, timeout=2).good
    cluster.primary.kill()
    for check in ("write", "read"):
        started = time.monotonic()
        m = measure(pg_sli(shop(cluster.primary), check=check), {}, timeout=2)
        assert not m.good and m.value is None
        assert m.error.startswith(f"{where(cluster.primary)}: connection failed: ")
        assert "Connection refused" in m.error
        assert time.monotonic() - started < 0.5
    m = measure(pg_sli(cluster.primary.dsn, check="replication-lag"), {}, timeout=2)
    assert not m.good and "Connection refused" in m.error


# -- never a password in an error ------------------------------------------------------------------


@pytest.fixture(scope="module")
def password_role(pg: PostgresCluster) -> str:
    """A role ``intruder`` that must log in with a password (scram), on 127.0.0.1 of the shared primary."""
    hba = pg.primary.data_dir / "pg_hba.conf"
    hba.write_text("host all intruder 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    with pg.primary.connect() as conn:
        conn.execute("CREATE ROLE intruder LOGIN PASSWORD 'the-right-one'")
        conn.execute("SELECT pg_reload_conf()")
    return "intruder"


def _no_secret(m: Any) -> None:
    assert not m.good
    for piece in (SECRET, "Sekr3t", "hunter2"):
        assert piece not in m.error, m.error


def test_a_wrong_password_is_refused_and_the_error_shows_no_password(pg: PostgresCluster, password_role: str):
    port = pg.primary.port
    for dsn in (
        f"postgresql://{password_role}:{SECRET}@127.0.0.1:{port}/shop",
        f"host=127.0.0.1 port={port} user={password_role} password={SECRET} dbname=shop",
        f"host=127.0.0.1 port={port} user={password_role} password='{SECRET} x' dbname=shop",
    ):
        m = measure(pg_sli(dsn), {}, timeout=2)
        _no_secret(m)
        assert m.error == (
            f"{where(pg.primary)}: connection failed: connection to server at \"127.0.0.1\", port {port} failed: "
            f'FATAL:  password authentication failed for user "{password_role}"'
        )
    right = f"postgresql://{password_role}:the-right-one@127.0.0.1:{port}/shop"
    assert measure(pg_sli(right, check="read"), {}, timeout=2).good  # the refusal was about the password


def test_a_password_never_reaches_the_error_whatever_breaks(pg: PostgresCluster):
    dead = free_port()
    cases = {
        # libpq quotes a bad percent-encoding back, password included
        f"postgresql://shop:{SECRET}%zz@127.0.0.1:{pg.primary.port}/shop": "invalid percent-encoded token",
        f"postgresql://shop:{SECRET}@127.0.0.1:{dead}/shop": "Connection refused",
        f"postgresql://shop:{SECRET}@127.0.0.1:notaport/shop": "invalid integer value",
        f"postgresql://shop:{SECRET}@127.0.0.1:{pg.primary.port}/shop?sslmode={SECRET}": "invalid sslmode value",
        f"postgresql://shop:{SECRET}@[::1/shop": "",
        f"host=127.0.0.1 port={dead} password={SECRET} dbname=shop": "Connection refused",
        f"host=127.0.0.1 password='{SECRET}": "unterminated quoted string",
    }
    for dsn, expected in cases.items():  # from the environment: a literal that cannot be is refused by validate already
        m = measure(pg_sli("${DSN}"), {"DSN": dsn}, timeout=2)
        _no_secret(m)
        assert expected in m.error, m.error
    via_env = measure(pg_sli("${DATABASE_URL}"), {"DATABASE_URL": f"postgresql://shop:{SECRET}%zz@127.0.0.1/shop"}, 2)
    _no_secret(via_env)
