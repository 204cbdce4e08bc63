"""A replica pg_rewind cannot repair is rebuilt from a fresh base backup, in its own folder, owned as before."""

from __future__ import annotations

import stat
from pathlib import Path

import psycopg
import pytest
from chaoslib.exceptions import ActivityFailed

from gamedays.faults.local import pgfailover, pglocal, postmaster
from tests.catalog.support import Target, wait_until


def break_for_pg_rewind(data_dir: Path) -> None:
    """Stop the server and take away its control file: pg_rewind cannot work, a base backup does not need it."""
    postmaster.kill_postmaster(str(data_dir))
    (data_dir / "global" / "pg_control").unlink()


def test_a_replica_pg_rewind_cannot_repair_is_rebuilt_by_pg_basebackup(target: Target, tmp_path: Path):
    env = target.env
    primary, replica = Path(env["SANDBOX_PG_PRIMARY_DATA"]), Path(env["SANDBOX_PG_REPLICA_DATA"])
    srv_before = target.lookup("db.shop.internal", "SRV")
    logs = str(tmp_path / "rebuild.log")
    before = replica.stat()
    opts = (replica / "postmaster.opts").read_bytes()
    port_before = target.query("SHOW port", "DATABASE_REPLICA_URL")
    with psycopg.connect(env["DATABASE_PRIMARY_URL"], autocommit=True, connect_timeout=3) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS rebuild_rows (note text NOT NULL)")
        conn.execute("INSERT INTO rebuild_rows VALUES ('before the rebuild')")

    break_for_pg_rewind(replica)
    with pytest.raises(ActivityFailed, match=f"pg_rewind of {replica} failed"):
        pglocal.rejoin_as_replica(str(replica), str(primary), allow_base_backup=False, log_file=logs)
    assert (replica / "PG_VERSION").is_file() and not (replica / "global" / "pg_control").exists()  # left as it was

    rejoined = pglocal.rejoin_as_replica(str(replica), str(primary), log_file=logs)
    assert rejoined["method"] == "pg_basebackup" and rejoined["streaming"] is True
    after = replica.stat()
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid) and after.st_uid != 0
    assert stat.S_IMODE(after.st_mode) == 0o700
    assert (replica / "global" / "pg_control").is_file() and (replica / "postmaster.opts").read_bytes() == opts
    assert "pg_basebackup" in Path(logs).read_text()

    target.assert_database_as_before(srv_before)
    assert target.query("SHOW port", "DATABASE_REPLICA_URL") == port_before
    with psycopg.connect(env["DATABASE_PRIMARY_URL"], autocommit=True, connect_timeout=3) as conn:
        conn.execute("INSERT INTO rebuild_rows VALUES ('after the rebuild')")
    rows = "SELECT count(*) FROM rebuild_rows"
    assert wait_until(lambda: target.query(rows, "DATABASE_REPLICA_URL") == 2, 15)
    with psycopg.connect(env["DATABASE_PRIMARY_URL"], autocommit=True, connect_timeout=3) as conn:
        conn.execute("DROP TABLE rebuild_rows")
    target.shop_takes_orders(timeout=30)


def test_fail_back_rebuilds_a_replica_pg_rewind_cannot_repair(target: Target, tmp_path: Path):
    """fail_back's rebuild path (always allowed to fall back): a stopped, broken replica comes back streaming."""
    env = target.env
    primary, replica = env["SANDBOX_PG_PRIMARY_DATA"], env["SANDBOX_PG_REPLICA_DATA"]
    srv_before = target.lookup("db.shop.internal", "SRV")
    logs = str(tmp_path / "failback.log")
    break_for_pg_rewind(Path(primary))  # the primary is lost, and cannot be rewound
    postmaster.promote(replica)  # a failover that stopped before the record moved: pg2 is the primary now

    done = pgfailover.fail_back(primary, replica, log_file=logs)
    assert done["steps"][0] == "rejoined pg1 as a standby of pg2 (pg_basebackup)", done["steps"]
    assert pglocal.rejoin_as_replica(replica, primary, log_file=logs)["method"] in ("pg_rewind", "none")
    target.assert_database_as_before(srv_before)
    target.shop_takes_orders(timeout=30)
