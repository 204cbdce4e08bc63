"""The catalog's database experiments under `chaos run` against the sandbox: the fault is real, the target restored.

After each, the database is as before: the same primary on the same port, a write through
DATABASE_URL (which follows the db record) goes through, the replica streams, the record
is unchanged, and no helper process (proxy, connection holder) is left.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.catalog.support import (
    ChaosRunner,
    Target,
    assert_rolled_back,
    output,
    pid_alive,
    statuses,
    wait_until,
)


def primary_pid(target: Target) -> int:
    return int(Path(target.env["SANDBOX_PG_PRIMARY_DATA"], "postmaster.pid").read_text().split()[0])


def test_primary_failover_moves_the_shop_to_the_replica_and_fails_back_without_losing_a_write(
    chaos: ChaosRunner, target: Target
):
    srv_before = target.lookup("db.shop.internal", "SRV")
    last_order = target.query("SELECT coalesce(max(id), 0) FROM orders")
    journal = chaos.run("local/postgres-primary-failover")
    assert_rolled_back(journal, 2)
    assert journal["deviated"] is False, journal["steady_states"]["after"]  # the shop survived the failover
    replica_port = int(target.env["DATABASE_REPLICA_URL"].rsplit(":", 1)[1].split("/")[0])
    moved = output(journal, "move-db-record-to-replica")
    assert moved["values"] == srv_before and moved["moved_to"] == f"0 0 {replica_port} pg-1.shop.internal."
    assert isinstance(output(journal, "seconds-until-writes-go-through"), float)
    fail_back = journal["rollbacks"][0]["output"]
    assert fail_back["steps"][:2] == ["rejoined pg1 as a standby of pg2 (pg_rewind)", "stopped pg2 cleanly and promoted pg1"]
    assert fail_back["record"]["values"] == srv_before
    assert journal["rollbacks"][1]["output"]["method"] == "pg_rewind"
    target.assert_database_as_before(srv_before)
    assert not (chaos.workdir / "postgres-failover.db-record.backup.json").exists()  # consumed: never restored stale
    # the order the after-failover hypothesis placed went to the promoted replica: it survived the failback
    moved_at = dt.datetime.fromisoformat(journal["run"][2]["end"])
    failed_back_at = dt.datetime.fromisoformat(journal["rollbacks"][0]["start"])
    taken_on_replica = target.query(
        "SELECT count(*) FROM orders WHERE id > %s AND created_at BETWEEN %s AND %s",
        params=(last_order, moved_at, failed_back_at),
    )
    assert taken_on_replica >= 1
    target.shop_takes_orders()


def test_primary_kill_costs_the_database_until_the_rollback_starts_it_again(chaos: ChaosRunner, target: Target):
    srv_before = target.lookup("db.shop.internal", "SRV")
    killed = primary_pid(target)
    journal = chaos.run("local/postgres-primary-kill", hold_seconds=1)
    assert_rolled_back(journal, 2)
    assert journal["deviated"] is True  # no failover: no database while the primary was down
    assert output(journal, "kill-primary") == killed and not pid_alive(killed)
    started = journal["rollbacks"][0]["output"]
    assert started["started"] is True and started["pid"] == primary_pid(target) != killed
    target.assert_database_as_before(srv_before)
    target.shop_takes_orders()


def test_connection_exhaustion_refuses_new_connections_until_released(chaos: ChaosRunner, target: Target):
    journal = chaos.run("postgres/postgres-connection-exhaustion", hold_seconds=1)
    assert_rolled_back(journal, 1)
    assert output(journal, "exhaust-connections") > 10
    refused = output(journal, "new-connection-while-exhausted")
    assert refused["good"] is False and "connection slots are reserved" in refused["error"]
    assert journal["rollbacks"][0]["output"] == output(journal, "exhaust-connections")  # all released
    assert not (chaos.workdir / "postgres-connection-exhaustion.state.json").exists()
    holders = target.query(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'gameday-exhaust-connections'",
        "DATABASE_PRIMARY_URL",
    )
    assert holders == 0
    assert target.write("DATABASE_PRIMARY_URL")


def run_through_proxy(chaos: ChaosRunner, target: Target, experiment: str, **variables: object) -> dict:
    srv_before = target.lookup("db.shop.internal", "SRV")
    journal = chaos.run(f"local/{experiment}", hold_seconds=1, **variables)
    assert_rolled_back(journal, 1)
    routed = output(journal, "route-database-through-proxy")
    proxy_port = routed["proxy"]["listen_port"]
    assert routed["record"]["moved_to"] == f"0 0 {proxy_port} pg-0.shop.internal."
    assert routed["record"]["values"] == srv_before
    back = journal["rollbacks"][0]["output"]
    assert back["proxy"]["stopped"] is True and back["record"]["values"] == srv_before
    assert wait_until(lambda: not pid_alive(routed["proxy"]["pid"]), 5), "the proxy process outlived the rollback"
    assert not (chaos.workdir / f"{experiment}.proxy.json").exists()
    target.assert_database_as_before(srv_before)
    target.shop_takes_orders()
    return journal


def test_slow_database_adds_latency_through_the_proxy(chaos: ChaosRunner, target: Target):
    journal = run_through_proxy(chaos, target, "slow-database", latency_ms=400, jitter_ms=0)
    assert output(journal, "add-latency")["fault"]["latency_ms"] == 400
    assert journal["deviated"] is True  # an order takes several round trips of 400 ms: over the 300 ms objective


def test_database_blackhole_hangs_the_shop_until_the_proxy_is_removed(chaos: ChaosRunner, target: Target):
    journal = run_through_proxy(chaos, target, "database-blackhole")
    assert output(journal, "blackhole-database-network")["fault"]["blackhole"] is True
    assert journal["deviated"] is True


def test_database_connection_reset_breaks_every_connection(chaos: ChaosRunner, target: Target):
    journal = run_through_proxy(chaos, target, "database-connection-reset")
    assert output(journal, "reset-database-connections")["fault"]["reset"] is True
    assert journal["deviated"] is True


def test_rds_reboot_with_failover_against_moto(chaos: ChaosRunner, target: Target):
    journal = chaos.run("aws/rds-reboot-with-failover")
    assert (journal["status"], journal["deviated"], statuses(journal, "run")) == ("completed", False, ["succeeded"])
    rebooted = output(journal, "reboot-with-failover")["DBInstance"]
    assert (rebooted["DBInstanceIdentifier"], rebooted["MultiAZ"]) == ("shop-db-legacy", True)
    status = target.aws("rds").describe_db_instances(DBInstanceIdentifier="shop-db-legacy")["DBInstances"][0]
    assert status["DBInstanceStatus"] == "available"


def test_aurora_failover_moves_the_writes_to_the_replica_and_the_rollback_moves_them_back(chaos: ChaosRunner, target: Target):
    assert target.aurora_writer() == "shop-db-1"
    srv_before = target.lookup("db.shop.internal", "SRV")
    timeline_before = timeline(target)
    journal = chaos.run("aws/aurora-cluster-failover")
    assert_rolled_back(journal, 2)
    assert journal["deviated"] is False, journal["steady_states"]["after"]
    during = output(journal, "failover-to-the-reader")["DBCluster"]["DBClusterMembers"]
    assert [m["DBInstanceIdentifier"] for m in during if m["IsClusterWriter"]] == ["shop-db-2"]
    # the sandbox's twin made it real: the reader's server took writes through DATABASE_URL, then the writer's again
    assert isinstance(output(journal, "seconds-until-the-reader-takes-writes"), float)
    assert journal["rollbacks"][1]["output"] >= 0
    # the replica was promoted, then the primary again: two new timelines on the server that takes the writes
    assert timeline(target) == timeline_before + 2
    assert target.aurora_writer() == "shop-db-1"
    target.assert_database_as_before(srv_before)


def timeline(target: Target) -> int:
    """The primary's timeline, from the name of its current WAL file."""
    return int(target.query("SELECT pg_walfile_name(pg_current_wal_lsn())", "DATABASE_PRIMARY_URL")[:8], 16)


def test_aurora_writer_reboot_restarts_the_writers_server_and_it_takes_the_writes_again(chaos: ChaosRunner, target: Target):
    before = primary_pid(target)
    journal = chaos.run("aws/aurora-writer-reboot")
    assert (journal["status"], journal["deviated"]) == ("completed", False), journal["steady_states"]["after"]
    rebooted = output(journal, "reboot-the-writer")["DBInstance"]
    assert rebooted["DBInstanceIdentifier"] == "shop-db-1"
    assert isinstance(output(journal, "seconds-until-the-writer-takes-writes-again"), float)
    # the twin made it real: the writer's PostgreSQL server was restarted (a new postmaster), and is still the writer
    assert not pid_alive(before) and primary_pid(target) != before
    assert target.aurora_writer() == "shop-db-1" and target.write()
    assert wait_until(target.replica_streams, 30), "the reader does not stream from the restarted writer"


def test_backend_termination_breaks_the_open_connections_of_the_shops_database(chaos: ChaosRunner, target: Target):
    import psycopg

    victim = psycopg.connect(target.env["DATABASE_PRIMARY_URL"], autocommit=True, connect_timeout=5)
    try:
        victim.execute("SELECT 1")
        journal = chaos.run("postgres/postgres-backend-termination")
        assert journal["status"] == "completed", journal
        # deviated or not is the finding: whether the shop's next request on a pooled connection fails
        # (the sandbox's shop drops the broken connection and reconnects on the request after)
        assert output(journal, "terminate-the-shops-backends") >= 2  # ours, and the shop's pooled connections
        try:  # the fault on the target: the open connection was terminated by the server
            victim.execute("SELECT 1")
            raise AssertionError("the open connection survived pg_terminate_backend")
        except psycopg.OperationalError as exc:
            assert "terminating connection due to administrator command" in str(exc)
    finally:
        victim.close()
    assert target.write()  # new connections are taken at once
    target.shop_takes_orders()
