"""The failover's rollbacks find out where they are: they finish a half-done failover and change nothing on a healthy cluster.

gameday plays the rollbacks after any abort, so they must work from every state the
method can stop in. These call the fault functions directly, as the rollbacks would,
against the sandbox's real servers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chaoslib.exceptions import ActivityFailed

from gamedays.faults.kubernetes import pods
from gamedays.faults.local import dbproxy, pgfailover, pglocal, postmaster
from tests.catalog.support import Target


@pytest.fixture
def cluster(target: Target, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = target.env
    srv_before = target.lookup("db.shop.internal", "SRV")
    yield {
        "primary": env["SANDBOX_PG_PRIMARY_DATA"],
        "replica": env["SANDBOX_PG_REPLICA_DATA"],
        "dns": env["SANDBOX_DNS"],
        "log": str(tmp_path / "postgres.log"),
        "backup": str(tmp_path / "db-record.backup.json"),
    }
    target.assert_database_as_before(srv_before)  # whatever the test did, the cluster is as it was


def pid_of(data_dir: str) -> int:
    return int(Path(data_dir, "postmaster.pid").read_text().split()[0])


def test_on_a_healthy_cluster_the_rollbacks_change_nothing(cluster: dict[str, str]):
    pids = pid_of(cluster["primary"]), pid_of(cluster["replica"])
    done = pgfailover.fail_back(
        cluster["primary"], cluster["replica"], cluster["dns"], "shop.internal", "db", cluster["backup"],
        log_file=cluster["log"],
    )  # fmt: skip
    assert (done["primary"], done["steps"], done["record"]) == ("pg1", [], None)
    assert pglocal.rejoin_as_replica(cluster["replica"], cluster["primary"], log_file=cluster["log"])["method"] == "none"
    assert (pid_of(cluster["primary"]), pid_of(cluster["replica"])) == pids


def test_a_failover_that_stopped_after_the_kill_is_finished_by_starting_the_primary(cluster: dict[str, str]):
    killed = postmaster.kill_postmaster(cluster["primary"])
    done = pgfailover.fail_back(cluster["primary"], cluster["replica"], log_file=cluster["log"])
    assert done["steps"] == ["started pg1 again"] and pid_of(cluster["primary"]) != killed
    rejoined = pglocal.rejoin_as_replica(cluster["replica"], cluster["primary"], log_file=cluster["log"])
    assert rejoined["streaming"] is True


def test_a_promoted_replica_whose_record_never_moved_is_failed_back_too(cluster: dict[str, str]):
    postmaster.kill_postmaster(cluster["primary"])
    postmaster.promote(cluster["replica"])
    done = pgfailover.fail_back(
        cluster["primary"], cluster["replica"], cluster["dns"], "shop.internal", "db", cluster["backup"],
        log_file=cluster["log"],
    )  # fmt: skip
    assert done["steps"] == ["rejoined pg1 as a standby of pg2 (pg_rewind)", "stopped pg2 cleanly and promoted pg1"]
    assert done["record"] is None  # no backup: the record was never moved, and is left alone
    assert pglocal.rejoin_as_replica(cluster["replica"], cluster["primary"], log_file=cluster["log"])["method"] == "pg_rewind"


def test_refusals_say_what_is_wrong(cluster: dict[str, str], tmp_path: Path):
    with pytest.raises(ActivityFailed, match="is not a running primary: fail over or back first"):
        pglocal.rejoin_as_replica(cluster["primary"], cluster["replica"], log_file=cluster["log"])
    with pytest.raises(ActivityFailed, match="cannot be a replica of itself"):
        pglocal.rejoin_as_replica(cluster["primary"], cluster["primary"], log_file=cluster["log"])
    with pytest.raises(ActivityFailed, match="is not a PostgreSQL data directory"):
        pglocal.start_server(str(tmp_path))
    with pytest.raises(ActivityFailed, match="has no SRV record"):
        pgfailover.point_srv_at_server(cluster["dns"], "shop.internal", "nothing-here", cluster["replica"])
    assert pglocal.start_server(cluster["primary"], log_file=cluster["log"])["started"] is False


def test_route_back_without_a_fault_only_tidies(cluster: dict[str, str], tmp_path: Path):
    done = dbproxy.route_back(cluster["dns"], "shop.internal", "db", str(tmp_path / "proxy.json"), cluster["backup"])
    assert done["record"] is None and done["proxy"]["stopped"] is False


def test_a_rolling_loss_with_a_wrong_selector_fails_at_once(target: Target, monkeypatch: pytest.MonkeyPatch):
    from kubernetes.config import kube_config

    monkeypatch.setenv("KUBECONFIG", target.env["KUBECONFIG"])  # chaosk8s reads it, as under chaos run
    # ...but the client fixed its default path when this process first imported it: point that there too
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", target.env["KUBECONFIG"])
    with pytest.raises(ActivityFailed, match="no pod in namespace 'shop' matches 'app=nothing'"):
        pods.terminate_pods_over_time("app=nothing", ns="shop", rounds=2, interval_seconds=5)
    with pytest.raises(ActivityFailed, match="rounds must be a whole number >= 1"):
        pods.terminate_pods_over_time("app=shop-api", ns="shop", rounds=0)
