"""PostgreSQL disaster recovery against the sandbox's servers: both hosts lost, the primary restored from a base backup."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from chaoslib.exceptions import ActivityFailed

from gamedays.faults.local import pgbackup, pglocal, postmaster
from gamedays.sandbox.ports import free_port
from tests.catalog.support import Target, wait_until


def write_row(target: Target, note: str) -> None:
    with psycopg.connect(target.env["DATABASE_URL"], autocommit=True, connect_timeout=3) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS dr_rows (id serial PRIMARY KEY, note text NOT NULL)")
        conn.execute("INSERT INTO dr_rows (note) VALUES (%s)", (note,))


def notes(target: Target) -> list[str]:
    with psycopg.connect(target.env["DATABASE_URL"], autocommit=True, connect_timeout=3) as conn:
        return [row[0] for row in conn.execute("SELECT note FROM dr_rows ORDER BY id")]


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def test_with_no_usable_replica_the_primary_comes_back_from_the_base_backup(target: Target, tmp_path: Path):
    env = target.env
    primary, replica = Path(env["SANDBOX_PG_PRIMARY_DATA"]), Path(env["SANDBOX_PG_REPLICA_DATA"])
    srv_before = target.lookup("db.shop.internal", "SRV")
    logs, backup = str(tmp_path / "dr.log"), tmp_path / "backup"
    write_row(target, "before the backup")

    taken = pgbackup.take_base_backup(env["DATABASE_PRIMARY_URL"], str(backup), user="postgres", log_file=logs)
    assert taken["port"] == port_of(env["DATABASE_PRIMARY_URL"]) and taken["end_lsn"] and taken["label"].startswith("gameday-")
    assert (backup / "PG_VERSION").is_file() and (backup / "pg_wal").is_dir() and (backup / "gameday_backup.json").is_file()
    write_row(target, "after the backup")  # lost with both hosts: the RPO

    lost = [pgbackup.lose_server(str(primary)), pgbackup.lose_server(str(replica))]
    assert not primary.exists() and not replica.exists() and all(Path(x["moved_to"]).is_dir() for x in lost)
    assert all(x["killed"] for x in lost)
    assert pgbackup.lose_server(str(primary))["already_lost"] is True
    assert not target.write("DATABASE_URL") and not target.write("DATABASE_REPLICA_URL")
    with pytest.raises(ActivityFailed, match="is not a PostgreSQL data directory"):
        pglocal.start_server(str(primary), log_file=logs)  # the host is lost: nothing to start again

    done = pgbackup.restore_base_backup(str(backup), str(primary), log_file=logs)
    assert done["restored"] is True and done["port"] == taken["port"] and done["label"] == taken["label"]
    assert wait_until(target.write, 15), "no write goes through DATABASE_URL after the restore"
    assert target.query("SELECT pg_is_in_recovery()", "DATABASE_PRIMARY_URL") is False
    assert notes(target) == ["before the backup"]  # the row written after the backup is lost
    again = pgbackup.restore_base_backup(str(backup), str(primary), log_file=logs)
    assert again["restored"] is False and again["pid"] == done["pid"]
    postmaster.kill_postmaster(str(primary))  # a restored server that stopped is started again, never overwritten
    started = pgbackup.restore_base_backup(str(backup), str(primary), log_file=logs)
    assert started["restored"] is False and started["pid"] != done["pid"]
    assert wait_until(target.write, 15) and notes(target) == ["before the backup"]

    rebuilt = pgbackup.rebuild_replica(str(primary), str(replica), log_file=logs)
    assert rebuilt == {"replica": "pg2", "port": port_of(env["DATABASE_REPLICA_URL"]), "method": "pg_basebackup", "streaming": True}
    assert pgbackup.rebuild_replica(str(primary), str(replica), log_file=logs)["method"] == "none"
    removed = [pgbackup.remove_lost(str(primary)), pgbackup.remove_lost(str(replica))]
    assert [r["removed"] for r in removed] == [[lost[0]["moved_to"]], [lost[1]["moved_to"]]]
    assert not list(primary.parent.glob("data.lost-*")) and not list(replica.parent.glob("data.lost-*"))

    target.assert_database_as_before(srv_before)
    assert wait_until(lambda: target.query("SELECT count(*) FROM dr_rows", "DATABASE_REPLICA_URL") == 1, 10)
    target.shop_takes_orders(timeout=30)
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("DROP TABLE dr_rows")


def test_bad_arguments_name_the_thing_and_what_is_expected(target: Target, tmp_path: Path):
    env = target.env
    primary, replica = env["SANDBOX_PG_PRIMARY_DATA"], env["SANDBOX_PG_REPLICA_DATA"]
    with pytest.raises(ActivityFailed, match=f"{tmp_path} holds no base backup taken by take_base_backup "
                       r"\(no gameday_backup.json\): backup_dir must be its folder"):
        pgbackup.restore_base_backup(str(tmp_path), str(tmp_path / "data"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "file").write_text("x")
    with pytest.raises(ActivityFailed, match=f"backup folder {tmp_path / 'full'} is not empty: give a new folder"):
        pgbackup.take_base_backup(env["DATABASE_PRIMARY_URL"], str(tmp_path / "full"), user="postgres")
    closed = free_port()
    with pytest.raises(ActivityFailed, match=rf"cannot connect to PostgreSQL \(user=postgres dbname=shop host=127.0.0.1 port={closed}\) to back it up") as refused:
        pgbackup.take_base_backup(f"postgresql://shop:secret@127.0.0.1:{closed}/shop", str(tmp_path / "b"), user="postgres")
    assert "secret" not in str(refused.value)
    with pytest.raises(ActivityFailed, match=f"{tmp_path / 'nothing'} does not exist, and nothing was lost there"):
        pgbackup.lose_server(str(tmp_path / "nothing"))
    pgbackup.take_base_backup(env["DATABASE_PRIMARY_URL"], str(tmp_path / "ok"), user="postgres", log_file=str(tmp_path / "l"))
    with pytest.raises(ActivityFailed, match=f"{primary} exists: move the lost server's data aside first"):
        pgbackup.restore_base_backup(str(tmp_path / "ok"), primary)
    with pytest.raises(ActivityFailed, match=f"{tmp_path / 'r'} holds no data directory and no r.lost-\\* beside it"):
        pgbackup.rebuild_replica(primary, str(tmp_path / "r"))
    assert pgbackup.rebuild_replica(primary, replica)["method"] == "none"  # a healthy replica is left alone
    assert target.replica_streams()
