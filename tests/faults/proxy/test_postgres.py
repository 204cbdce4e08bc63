"""psycopg through the proxy to a real PostgreSQL (the sandbox's): latency and reset as a database client sees them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from gamedays.faults.local.tcpproxy import ProxyFault, TcpProxy
from gamedays.sandbox.postgres import PostgresCluster
from tests.faults.proxy.conftest import MakeProxy


@pytest.fixture(scope="module")
def primary_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    cluster = PostgresCluster(Path(tmp_path_factory.mktemp("pg")))
    try:
        cluster.create()
        yield cluster.primary.port
    finally:
        cluster.stop()


def _connect(port: int) -> psycopg.Connection[Any]:
    conninfo = make_conninfo(host="127.0.0.1", port=str(port), dbname="postgres", user="postgres")
    return psycopg.connect(conninfo, autocommit=True, connect_timeout=5)


def _timed_query(conn: psycopg.Connection[Any]) -> float:
    started = time.monotonic()
    assert conn.execute("SELECT 1").fetchone() == (1,)
    return time.monotonic() - started


def test_a_query_through_the_proxy_takes_the_latency_and_a_reset_breaks_the_connection(
    make_proxy: MakeProxy, primary_port: int
):
    proxy: TcpProxy = make_proxy(lambda: ("127.0.0.1", primary_port))
    with _connect(proxy.port) as conn:
        assert _timed_query(conn) < 0.1
        proxy.set_fault(ProxyFault(latency=0.3))
        assert 0.3 <= _timed_query(conn) < 0.8
        proxy.clear_fault()
        assert _timed_query(conn) < 0.1
        proxy.set_fault(ProxyFault(reset=True))
        time.sleep(0.2)  # the RST reaches the client within 50 ms
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    proxy.clear_fault()
    with _connect(proxy.port) as conn:  # a new connection goes through again
        assert _timed_query(conn) < 0.1
