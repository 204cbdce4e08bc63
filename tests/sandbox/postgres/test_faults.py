"""The PostgreSQL faults (Chaos Toolkit python providers) against the sandbox's real servers."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import psycopg
import pytest
from chaoslib.exceptions import ActivityFailed

from gamedays.faults.local.postmaster import kill_postmaster, promote
from gamedays.faults.postgres.connections import exhaust_connections, release_connections, terminate_backends
from gamedays.sandbox.ports import LOOPBACK, free_port
from gamedays.sandbox.postgres import PostgresCluster, PostgresSettings
from tests.sandbox.postgres.helpers import MakeCluster, connect, processes_under, wait_until


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def test_terminate_backends_by_application_name_kills_only_those(cluster: PostgresCluster) -> None:
    shop = cluster.primary.conninfo("shop", "shop")
    victim = connect(shop, application_name="victim")
    bystander = connect(shop, application_name="bystander")
    victim_pid = victim.info.backend_pid

    assert terminate_backends(cluster.primary.dsn, application_name="victim") == 1

    with pytest.raises(psycopg.OperationalError, match="terminating connection due to administrator command"):
        victim.execute("SELECT 1")
    assert bystander.execute("SELECT 1").fetchone() == (1,)
    assert victim_pid not in processes_under(cluster.primary.data_dir)
    victim.close()

    assert terminate_backends(cluster.primary.dsn, database="shop") == 1  # the bystander, in shop
    with pytest.raises(psycopg.OperationalError):
        bystander.execute("SELECT 1")
    bystander.close()
    assert terminate_backends(cluster.primary.dsn, database="shop") == 0


def test_terminate_backends_reports_an_unreachable_server_without_the_password() -> None:
    dsn = f"host={LOOPBACK} port={free_port()} user=shop password=s3cret dbname=shop"
    with pytest.raises(ActivityFailed, match="cannot connect to PostgreSQL") as caught:
        terminate_backends(dsn)
    assert "s3cret" not in str(caught.value)


def test_exhaust_connections_then_release(make_cluster: MakeCluster, tmp_path: Path) -> None:
    cluster = make_cluster(PostgresSettings(max_connections=8, superuser_reserved_connections=0))
    state = tmp_path / "exhaust.json"
    shop = cluster.primary.conninfo("shop", "shop")

    held = exhaust_connections(shop, count=50, hold_seconds=60, state_file=str(state))

    assert held == 8
    recorded = json.loads(state.read_text())
    assert recorded["opened"] == 8 and "too many clients" in recorded["refused"]
    holder = recorded["pid"]
    assert _alive(holder)
    with pytest.raises(psycopg.OperationalError, match="too many clients"):
        connect(shop).close()
    with pytest.raises(ActivityFailed, match="call release_connections first"):
        exhaust_connections(shop, count=1, hold_seconds=1, state_file=str(state))

    assert release_connections(str(state)) == 8

    assert not _alive(holder)
    assert not state.exists()
    with connect(shop) as conn:  # at once: release waited for the server to free the slots
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert release_connections(str(state)) == 0  # a rollback may run twice


def test_a_slot_another_client_frees_while_exhausted_is_taken_too(make_cluster: MakeCluster, tmp_path: Path) -> None:
    """The server stays exhausted, not only at the moment the holder filled it (a monitor's connection comes and goes)."""
    cluster = make_cluster(PostgresSettings(max_connections=8, superuser_reserved_connections=0))
    state = tmp_path / "exhaust.json"
    shop = cluster.primary.conninfo("shop", "shop")
    bystander = connect(shop, application_name="bystander")
    try:
        assert exhaust_connections(shop, count=50, hold_seconds=60, state_file=str(state)) == 7
        bystander.close()

        def refused() -> bool:
            try:
                connect(shop).close()
            except psycopg.OperationalError as exc:
                return "too many clients" in str(exc)
            return False

        assert wait_until(refused, timeout=5.0), "the slot the bystander freed stayed free"
        time.sleep(0.5)
        with pytest.raises(psycopg.OperationalError, match="too many clients"):
            connect(shop).close()
    finally:
        bystander.close()
        assert release_connections(str(state)) == 7  # as reported at first; the slot taken later is let go too
    with connect(shop) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_exhausted_connections_are_let_go_after_hold_seconds(cluster: PostgresCluster, tmp_path: Path) -> None:
    state = tmp_path / "exhaust.json"
    assert exhaust_connections(cluster.primary.dsn, count=3, hold_seconds=0.3, state_file=str(state)) == 3
    holder = json.loads(state.read_text())["pid"]
    assert wait_until(lambda: not _alive(holder), timeout=5.0)
    assert release_connections(str(state)) == 0  # nothing left to release
    assert not state.exists()


def test_the_holder_is_recorded_before_it_opens_a_connection(tmp_path: Path) -> None:
    """A power loss of the caller while the connections are being opened: the rollback still finds the holder."""
    state = tmp_path / "exhaust.json"
    silent = socket.create_server((LOOPBACK, 0))  # takes the TCP connection, never says a word: the first open hangs
    dsn = f"host={LOOPBACK} port={silent.getsockname()[1]} user=shop dbname=shop"
    failed: list[BaseException] = []

    def exhaust() -> None:
        try:
            exhaust_connections(dsn, count=2, hold_seconds=60, state_file=str(state))
        except ActivityFailed as exc:
            failed.append(exc)

    caller = threading.Thread(target=exhaust)
    caller.start()
    try:
        assert wait_until(state.exists, timeout=10.0), "the holder did not record itself while opening"
        holder = json.loads(state.read_text())["pid"]
        assert _alive(holder) and caller.is_alive()  # still opening its first connection
        assert release_connections(str(state)) == 0  # none opened yet; the holder stopped all the same
        assert not _alive(holder) and not state.exists()
    finally:
        caller.join(timeout=30)
        silent.close()
    assert not caller.is_alive() and len(failed) == 1 and "did not report" in str(failed[0])
    assert not state.exists()


def test_exhaust_connections_fails_when_nothing_can_be_opened(tmp_path: Path) -> None:
    state = tmp_path / "exhaust.json"
    dsn = f"host={LOOPBACK} port={free_port()} user=shop dbname=shop"
    with pytest.raises(ActivityFailed, match="could not open any connection to .*Connection refused"):
        exhaust_connections(dsn, count=2, hold_seconds=5, state_file=str(state))
    assert not state.exists()
    with pytest.raises(ActivityFailed, match="count >= 1 and hold_seconds > 0"):
        exhaust_connections(dsn, count=0, hold_seconds=5, state_file=str(state))


def test_kill_postmaster_and_promote_by_data_dir(cluster: PostgresCluster) -> None:
    primary, replica = cluster.primary, cluster.replica
    postmaster = primary.postmaster_pid()

    assert kill_postmaster(str(primary.data_dir)) == postmaster
    assert not primary.is_running()
    with pytest.raises(ActivityFailed, match="is stale: process .* is not its server"):
        kill_postmaster(str(primary.data_dir))

    assert promote(str(replica.data_dir)) == replica.port
    assert not replica.is_in_recovery()
    with connect(replica.conninfo("shop", "shop")) as conn:
        conn.execute("CREATE TABLE promoted (ok boolean)")  # it takes writes now
    with pytest.raises(ActivityFailed, match="is not a standby: there is nothing to promote"):
        promote(str(replica.data_dir))


def test_local_faults_on_a_folder_without_a_server(tmp_path: Path) -> None:
    with pytest.raises(ActivityFailed, match="no postmaster.pid in .*: no server runs on that data directory"):
        kill_postmaster(str(tmp_path))
    with pytest.raises(ActivityFailed, match="no postmaster.pid"):
        promote(str(tmp_path))
