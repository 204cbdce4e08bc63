"""The PostgreSQL RPO writer against the sandbox's real primary and streaming replica on 127.0.0.1."""

from __future__ import annotations

import time

import psycopg
import pytest

from gamedays.faults.local.tcpproxy import ProxyFault, TcpProxy
from gamedays.model.playbook import DataWriter
from gamedays.sandbox.postgres import PostgresCluster, PostgresServer
from gamedays.sli.writers import (
    MissingWriterVariable,
    WriteRecorder,
    WriterError,
    writer_for,
)
from gamedays.sli.writers.postgres import TABLE, PostgresWriter
from tests.sli.fixtures import pg, wait_until  # noqa: F401 - fixtures
from tests.sli.writers.support import (
    an_outage_fails_writes_within_the_timeout,
    closed_port,
    losing_some_is_counted,
    silent_port,
    write_some,
)

SECRET = "hunter2-Sekr3t"


def shop(server: PostgresServer, port: int | None = None) -> str:
    """The application's connection string, with a password (trust authentication ignores it)."""
    return f"postgresql://shop:{SECRET}@127.0.0.1:{port or server.port}/shop"


def pg_writer(dsn: str, run: str = "run-1", **kwargs: float) -> PostgresWriter:
    writer = writer_for(DataWriter(kind="postgres", target="${DATABASE_URL}"), {"DATABASE_URL": dsn}, run, **kwargs)
    assert isinstance(writer, PostgresWriter)
    return writer


def rows(server: PostgresServer, run: str) -> list[tuple[int, float]]:
    with psycopg.connect(server.conninfo("shop", "shop"), autocommit=True) as conn:
        return conn.execute(f"SELECT seq, at FROM {TABLE} WHERE run = %s ORDER BY seq", (run,)).fetchall()


def test_acknowledged_writes_are_rows_with_their_stamp(pg: PostgresCluster):
    writer = pg_writer(shop(pg.primary))
    writer.prepare()
    writer.prepare()  # twice is harmless: the table is made if missing
    acked = write_some(writer, 3)
    assert rows(pg.primary, "run-1") == acked
    assert writer.survivors() == {1, 2, 3}
    assert writer.cleanup() is None and rows(pg.primary, "run-1") == []
    writer.close()


def test_rows_deleted_behind_its_back_are_missing_and_counted_lost(pg: PostgresCluster):
    writer = pg_writer(shop(pg.primary), "run-lost")
    writer.prepare()

    def delete(seqs: list[int]) -> None:
        with psycopg.connect(pg.primary.conninfo("shop", "shop"), autocommit=True) as conn:
            deleted = conn.execute(f"DELETE FROM {TABLE} WHERE run = 'run-lost' AND seq = ANY(%s)", (seqs,)).rowcount
        assert deleted == len(seqs)

    try:
        losing_some_is_counted(writer, delete)
    finally:
        assert writer.cleanup() is None
        writer.close()


def test_acknowledged_writes_reach_the_streaming_replica(pg: PostgresCluster):
    writer = pg_writer(shop(pg.primary), "run-replica")
    writer.prepare()
    acked = write_some(writer, 3)
    replica = pg_writer(shop(pg.replica), "run-replica")
    assert wait_until(lambda: replica.survivors() == {1, 2, 3}, timeout=10), replica.survivors()
    assert writer.cleanup() is None and acked


def test_writes_are_read_back_where_the_playbook_says_a_restored_copy_answers(pg: PostgresCluster):
    spec = DataWriter(kind="postgres", target="${DATABASE_URL}", read_back="${DATABASE_RESTORED_URL}")
    writer = writer_for(spec, {"DATABASE_URL": shop(pg.primary), "DATABASE_RESTORED_URL": shop(pg.replica)}, "run-back")
    writer.prepare()
    acked = write_some(writer, 3)

    def read_back() -> set[int] | None:
        try:
            return writer.survivors()
        except WriterError:  # the replica has not replayed the table's creation yet
            return None

    assert wait_until(lambda: read_back() == {1, 2, 3}, timeout=10), "read back from the replica"
    assert writer.cleanup() is None and acked and rows(pg.primary, "run-back") == []


def test_a_read_back_that_does_not_answer_fails_the_read_not_the_cleanup(pg: PostgresCluster):
    gone = f"postgresql://shop:{SECRET}@127.0.0.1:{closed_port()}/shop"
    spec = DataWriter(kind="postgres", target="${DATABASE_URL}", read_back="${DATABASE_RESTORED_URL}")
    writer = writer_for(spec, {"DATABASE_URL": shop(pg.primary), "DATABASE_RESTORED_URL": gone}, "run-gone")
    writer.prepare()
    write_some(writer, 2)
    with pytest.raises(WriterError, match=r"postgresql://127\.0\.0\.1:\d+/shop: cannot read the rows: connection failed") as raised:
        writer.survivors()
    assert SECRET not in str(raised.value)
    assert writer.cleanup() is None and rows(pg.primary, "run-gone") == []  # where it wrote: cleaned all the same


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "dns", "target": "127.0.0.1:53", "zone": "z.", "read_back": "postgresql://h/db"}, "only a postgres writer takes a read_back"),
        ({"kind": "postgres", "target": "postgresql://h/db", "read_back": "https://h/db"}, "read_back: "),
    ],
)
def test_a_read_back_only_for_postgres_and_only_a_dsn(fields: dict[str, str], message: str):
    with pytest.raises(ValueError, match=message):
        DataWriter(**fields)


def test_two_runs_never_see_each_others_rows(pg: PostgresCluster):
    first, second = pg_writer(shop(pg.primary), "run-a"), pg_writer(shop(pg.primary), "run-b")
    first.prepare()
    write_some(first, 2)
    write_some(second, 2)  # same seqs, other run
    assert first.survivors() == second.survivors() == {1, 2}
    assert first.cleanup() is None
    assert first.survivors() == set() and second.survivors() == {1, 2}
    assert second.cleanup() is None


def test_the_read_only_replica_refuses_and_says_why(pg: PostgresCluster):
    primary = pg_writer(shop(pg.primary))
    primary.prepare()  # the table exists, on the replica too (whichever test ran first): the INSERT is what it refuses
    primary.close()
    assert wait_until(lambda: _has_table(pg.replica), 10), "the table never reached the replica"
    writer = pg_writer(shop(pg.replica))
    with pytest.raises(WriterError) as error:
        writer.write(1, time.time())
    assert str(error.value) == (
        f"postgresql://127.0.0.1:{pg.replica.port}/shop: write 1 failed: cannot execute INSERT in a read-only transaction"
    )
    with pytest.raises(WriterError, match="cannot create the table gameday_rpo: cannot execute CREATE TABLE"):
        writer.prepare()


def _has_table(server: PostgresServer) -> bool:
    with psycopg.connect(server.conninfo("shop", "shop"), autocommit=True) as conn:
        return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (TABLE,)).fetchone()[0]


def test_a_stopped_server_fails_at_once_and_no_error_shows_the_password():
    port = closed_port()
    writer = pg_writer(f"postgresql://shop:{SECRET}@127.0.0.1:{port}/shop")
    assert writer.describe == f"postgresql://127.0.0.1:{port}/shop"
    recorder = WriteRecorder(writer, every=0.1).start()
    time.sleep(0.5)
    assert recorder.stop(timeout=3)
    counts = recorder.counts()
    assert counts.acknowledged == 0 and counts.failed >= 3
    assert counts.last_error is not None
    assert counts.last_error.startswith(f"postgresql://127.0.0.1:{port}/shop: write ")
    assert "Connection refused" in counts.last_error and SECRET not in counts.last_error
    problem = writer.cleanup()
    assert problem is not None and "cannot delete the rows" in problem and SECRET not in problem
    with pytest.raises(WriterError) as error:
        writer.survivors()
    assert SECRET not in str(error.value)


@pytest.mark.parametrize(
    ("dsn", "why"),
    [
        ("postgresql://shop:hunt%zzer2-Sekr3t@127.0.0.1/shop", 'invalid percent-encoded token: "***"'),
        (f"host=127.0.0.1 bogus=1 password={SECRET}", 'invalid connection option "bogus"'),
    ],
)
def test_a_bad_connection_string_is_refused_without_showing_its_password(dsn: str, why: str):
    with pytest.raises(WriterError) as error:
        pg_writer(dsn)
    where = "postgresql://127.0.0.1/shop" if "://" in dsn else "postgresql://127.0.0.1/"
    assert str(error.value) == f"postgres writer: bad connection string {where}: {why}"
    assert "Sekr3t" not in str(error.value)


def test_a_missing_variable_is_named():
    with pytest.raises(MissingWriterVariable) as error:
        writer_for(DataWriter(kind="postgres", target="${DATABASE_URL}"), {}, "run-1")
    assert str(error.value) == "environment variable DATABASE_URL is not set (the postgres writer's target refers to ${DATABASE_URL})"


def test_a_server_that_never_answers_costs_each_write_the_connect_timeout():
    with silent_port() as port:  # libpq waits at least 2 s to connect
        writer = pg_writer(f"postgresql://shop@127.0.0.1:{port}/shop", timeout=0.5)
        an_outage_fails_writes_within_the_timeout(writer, 2.0, "connection timeout expired")


def test_a_black_holed_connection_is_cut_after_the_timeout_and_writes_resume_after(pg: PostgresCluster):
    with TcpProxy(lambda: ("127.0.0.1", pg.primary.port)) as proxy:
        writer = pg_writer(shop(pg.primary, proxy.port), "run-blackhole", timeout=0.5)
        writer.prepare()
        write_some(writer, 1)  # the connection is open now
        proxy.set_fault(ProxyFault(blackhole=True))
        started = time.monotonic()
        with pytest.raises(WriterError) as error:
            writer.write(2, time.time())
        took = time.monotonic() - started
        assert 0.4 <= took < 1.5, f"the stuck write took {took:.2f}s"
        assert str(error.value).startswith(f"postgresql://127.0.0.1:{proxy.port}/shop: write 2 failed: ")
        proxy.clear_fault()
        write_some(writer, 1, start=3)  # a new connection
        # write 2 was never acknowledged, but the proxy kept its bytes and delivered them when the
        # black hole was lifted: it may have landed. Only acknowledged writes count for the RPO.
        assert {1, 3} <= writer.survivors() <= {1, 2, 3}
        assert writer.cleanup() is None
        writer.close()
