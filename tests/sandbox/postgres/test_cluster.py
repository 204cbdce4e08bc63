"""The PostgreSQL cluster for real: replication, failover, rebuild, crash and restart, clean stop."""

from __future__ import annotations

import shutil
import socket
import threading
from pathlib import Path

import psycopg
import pytest

from gamedays.model.errors import SandboxError
from gamedays.sandbox.postgres import PostgresCluster, PostgresServer, RebuildMethod
from gamedays.sandbox.ports import LOOPBACK, free_port
from tests.sandbox.postgres.helpers import MakeCluster, connect, processes_under, wait_until


def shop_dsn(server: PostgresServer) -> str:
    return server.conninfo("shop", "shop")


def rows_on(server: PostgresServer) -> list[str]:
    with connect(shop_dsn(server)) as conn:
        return [row[0] for row in conn.execute("SELECT item FROM orders ORDER BY id")]


def write(server: PostgresServer, item: str) -> None:
    with connect(shop_dsn(server)) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, item text NOT NULL)")
        conn.execute("INSERT INTO orders (item) VALUES (%s)", (item,))


def replicated(server: PostgresServer, item: str) -> bool:
    try:
        return item in rows_on(server)
    except psycopg.errors.UndefinedTable:  # the CREATE TABLE is not replayed yet
        return False


def test_a_write_on_the_primary_is_visible_on_the_replica(cluster: PostgresCluster) -> None:
    primary, replica = cluster.primary, cluster.replica
    assert (primary.name, replica.name) == ("pg1", "pg2")
    assert not primary.is_in_recovery()
    assert replica.is_in_recovery()
    write(primary, "espresso")
    assert wait_until(lambda: replicated(replica, "espresso"), timeout=5.0)
    with connect(shop_dsn(replica)) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("INSERT INTO orders (item) VALUES ('on the replica')")
    lag = cluster.replication_lag()
    assert lag is not None and 0.0 <= lag < 5.0
    assert cluster.replication_status().streaming


def test_servers_are_small_and_listen_on_loopback_only(cluster: PostgresCluster) -> None:
    with connect(cluster.primary.dsn) as conn:
        settings = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('listen_addresses', 'shared_buffers', 'wal_level', 'hot_standby', 'unix_socket_directories')"
            ).fetchall()
        )
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'shop'").fetchone()
    assert settings["listen_addresses"] == LOOPBACK
    assert settings["shared_buffers"] == "2048"  # 8 kB pages: 16 MB
    assert settings["wal_level"] == "replica"
    assert settings["hot_standby"] == "on"
    assert settings["unix_socket_directories"] == str(cluster.primary.folder)
    assert owner == ("shop",)
    assert cluster.primary.port != cluster.replica.port


def test_failover_then_rebuild_twice_restores_the_original_topology(cluster: PostgresCluster) -> None:
    write(cluster.primary, "before failover")
    assert wait_until(lambda: replicated(cluster.replica, "before failover"))

    failover = cluster.failover()
    assert (failover.old_primary, failover.new_primary) == ("pg1", "pg2")
    assert (failover.host, failover.port) == (LOOPBACK, cluster.primary.port)
    assert cluster.primary.name == "pg2" and not cluster.primary.is_in_recovery()
    assert not cluster.replica.is_running()  # the old primary is fenced
    write(cluster.primary, "after failover")  # writes succeed on the new primary
    assert rows_on(cluster.primary) == ["before failover", "after failover"]
    assert cluster.replication_lag() is None  # no replica streams now

    assert cluster.rebuild_replica() is RebuildMethod.REWIND
    assert cluster.replica.name == "pg1" and cluster.replica.is_in_recovery()
    assert cluster.replication_status().streaming
    write(cluster.primary, "after rebuild")
    assert wait_until(lambda: replicated(cluster.replica, "after rebuild"))

    back = cluster.failover()
    assert (back.new_primary, back.port) == ("pg1", cluster.servers[0].port)
    cluster.rebuild_replica()
    assert (cluster.primary.name, cluster.replica.name) == ("pg1", "pg2")
    write(cluster.primary, "original topology")
    assert wait_until(lambda: replicated(cluster.replica, "original topology"))
    assert rows_on(cluster.primary) == ["before failover", "after failover", "after rebuild", "original topology"]


def test_failover_after_a_crash_then_rebuild_with_pg_rewind(cluster: PostgresCluster) -> None:
    write(cluster.primary, "committed before the crash")
    assert wait_until(lambda: replicated(cluster.replica, "committed before the crash"))
    cluster.primary.kill()

    failover = cluster.failover()  # clears the crashed primary's orphans, promotes pg2
    assert failover.new_primary == "pg2"
    write(cluster.primary, "after the crash")
    assert cluster.rebuild_replica() is RebuildMethod.REWIND  # pg_rewind runs crash recovery on pg1 first
    assert wait_until(lambda: replicated(cluster.replica, "after the crash"))
    assert rows_on(cluster.replica) == ["committed before the crash", "after the crash"]
    assert "pg_rewind: Done!" in cluster.setup_log.read_text()


def test_rebuild_falls_back_to_a_base_backup_when_the_old_primary_is_lost(cluster: PostgresCluster) -> None:
    write(cluster.primary, "kept on the replica")
    assert wait_until(lambda: replicated(cluster.replica, "kept on the replica"))
    cluster.failover()
    shutil.rmtree(cluster.replica.data_dir)  # the old primary's disk is gone

    assert cluster.rebuild_replica() is RebuildMethod.BASE_BACKUP
    assert cluster.replica.is_in_recovery()
    assert rows_on(cluster.replica) == ["kept on the replica"]
    write(cluster.primary, "after the rebuild")
    assert wait_until(lambda: replicated(cluster.replica, "after the rebuild"))


def test_sigkill_of_the_primary_then_restart_waits_for_the_orphans(cluster: PostgresCluster) -> None:
    primary = cluster.primary
    write(primary, "before the crash")
    idle = connect(shop_dsn(primary))
    busy = connect(shop_dsn(primary))
    idle_pid, busy_pid = idle.info.backend_pid, busy.info.backend_pid
    outcome: list[BaseException] = []

    def spin() -> None:  # a backend busy in a loop never notices the postmaster's death: it must be killed
        try:
            busy.execute("DO $$ BEGIN LOOP END LOOP; END $$")
        except psycopg.OperationalError as exc:
            outcome.append(exc)

    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()
    assert wait_until(lambda: _active(primary, busy_pid))

    postmaster = primary.kill()
    assert not primary.is_running()
    assert postmaster not in processes_under(primary.data_dir)
    assert busy_pid in processes_under(primary.data_dir)  # orphaned, still holding the shared memory

    primary.start()  # waits for the orphans, SIGKILLs the stuck one after orphan_grace
    assert busy_pid not in processes_under(primary.data_dir)
    assert idle_pid not in processes_under(primary.data_dir)
    spinner.join(timeout=5)
    assert not spinner.is_alive() and len(outcome) == 1
    with pytest.raises(psycopg.OperationalError):
        idle.execute("SELECT 1")
    idle.close()
    busy.close()

    write(primary, "after the restart")
    assert rows_on(primary) == ["before the crash", "after the restart"]
    cluster.wait_streaming(timeout=10)  # the replica reconnects by itself
    assert wait_until(lambda: replicated(cluster.replica, "after the restart"))


def _active(server: PostgresServer, pid: int) -> bool:
    with connect(server.dsn) as conn:
        row = conn.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return row == ("active",)


def test_restart_keeps_the_port_and_the_data(cluster: PostgresCluster) -> None:
    write(cluster.primary, "kept")
    port = cluster.primary.port
    cluster.primary.restart()
    assert cluster.primary.port == port
    assert rows_on(cluster.primary) == ["kept"]


def test_stop_leaves_no_process_no_port_and_no_data(make_cluster: MakeCluster) -> None:
    cluster = make_cluster()
    runtime = cluster.runtime_dir
    assert runtime is not None
    pids = processes_under(runtime)
    assert len(pids) >= 10  # two postmasters with their auxiliary processes, a walsender, a walreceiver
    ports = [server.port for server in cluster.servers]

    cluster.stop()

    assert processes_under(runtime) == []
    assert not any(Path(f"/proc/{pid}").exists() and _not_zombie(pid) for pid in pids)
    assert not runtime.exists()
    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((LOOPBACK, port), timeout=1).close()
        with socket.socket() as probe:  # SO_REUSEADDR as servers do: only a listener (not TIME_WAIT) blocks it
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((LOOPBACK, port))
            probe.listen()
    assert (cluster.workdir / "postgres-pg1.log").stat().st_size > 0  # the logs stay
    cluster.stop()  # idempotent


def _not_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def test_a_port_in_use_fails_create_with_a_clear_error_and_stops_what_started(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind((LOOPBACK, 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        cluster = PostgresCluster(tmp_path, ports=(free_port(), taken))
        with pytest.raises(SandboxError, match=rf"PostgreSQL server pg2 cannot listen on 127.0.0.1:{taken}: the port is in use"):
            cluster.create()
    primary_folder = cluster.servers[0].folder
    assert processes_under(primary_folder.parent) == []  # the primary, already running, was stopped
    assert not primary_folder.parent.exists()
    assert cluster.runtime_dir is None


def test_two_clusters_run_side_by_side(make_cluster: MakeCluster) -> None:
    first, second = make_cluster(), make_cluster()
    assert {s.port for s in first.servers}.isdisjoint(s.port for s in second.servers)
    write(first.primary, "first")
    write(second.primary, "second")
    assert rows_on(first.primary) == ["first"] and rows_on(second.primary) == ["second"]
    second.stop()
    assert rows_on(first.primary) == ["first"]
