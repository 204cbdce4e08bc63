"""Power loss mid-check, for every DR playbook shipped: `gameday run` and every process under it are
SIGKILLed once the disaster is on the target, then `gameday recover` plays the recovery steps and
`afterwards`, and the target itself is whole again (the cluster's shape and writes, the shop's
workloads, the zone's records), the RPO writer's stamps removed; a second `recover` has nothing to do.
"""

from __future__ import annotations

from typing import Any, Callable

import psycopg
import pytest

from tests.engine.dr.support import (
    db_srv,
    events_of,
    kinds,
    route53_records,
    shop_workloads,
    stop_once_struck,
    wait_cluster_streaming,
    writer_stamps,
    zone_records,
)
from tests.engine.run.conftest import REPO, power_loss, run_gameday, shop_pods, wait_ready_pods


def _down(env: dict[str, str], url: str) -> bool:
    try:
        psycopg.connect(env[url], connect_timeout=2).close()
    except psycopg.OperationalError:
        return True
    return False


def _rows_deleted(env: dict[str, str]) -> bool:
    """The faulty migration struck: the writer's first rows are gone (its later ones keep coming)."""
    with psycopg.connect(env["DATABASE_PRIMARY_URL"], connect_timeout=2, autocommit=True) as conn:
        row = conn.execute("SELECT count(*), min(seq) FROM gameday_rpo").fetchone()
    return bool(row and row[0] and row[1] > 10)


STRUCK: dict[str, Callable[[dict[str, str]], bool]] = {
    "database-cluster.yaml": lambda env: _down(env, "DATABASE_PRIMARY_URL"),
    "database-cluster-from-backup.yaml": lambda env: _down(env, "DATABASE_PRIMARY_URL") and _down(env, "DATABASE_REPLICA_URL"),
    "aurora-cluster.yaml": lambda env: _down(env, "DATABASE_PRIMARY_URL") and _down(env, "DATABASE_REPLICA_URL"),  # its servers lost
    "aurora-cluster-pitr.yaml": _rows_deleted,
    "kubernetes-cluster.yaml": lambda env: not shop_pods(env) and not shop_workloads(env)["deployments"],
    "dns.yaml": lambda env: db_srv(env) is None,
    "route53-zone.yaml": lambda env: not any(name == "db.shop.internal." for name, _, _ in route53_records(env)),
}


def test_every_shipped_playbook_has_a_power_loss_case():
    assert sorted(STRUCK) == sorted(p.name for p in (REPO / "playbooks").iterdir() if p.suffix == ".yaml")


def _sandbox_state(env: dict[str, str]) -> dict[str, Any]:
    """What every check must give back: the zone, the db record, the shop's workloads, no stamp of a writer."""
    return {
        "zone": zone_records(env), "db": db_srv(env), "shop": shop_workloads(env), "stamps": writer_stamps(env),
        "route53": route53_records(env),
    }  # fmt: skip


@pytest.mark.parametrize("playbook", sorted(STRUCK))
def test_after_a_power_loss_mid_check_recover_restores_the_target(sandbox, tmp_path, playbook):
    check = playbook.removesuffix(".yaml")
    before = _sandbox_state(sandbox)
    assert wait_cluster_streaming(sandbox) == {"primary_in_recovery": False, "streaming_replicas": 1}
    stop_once_struck(sandbox, tmp_path, playbook, STRUCK[playbook], power_loss, wait_seconds=5)
    assert STRUCK[playbook](sandbox), "the power loss took the disaster's recovery with it: it is still there"
    first = run_gameday(sandbox, "recover", str(tmp_path / "reports/dr"), timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"DR check {check}: recovery steps played" in first.stdout, first.stdout
    events = events_of(tmp_path / "reports/dr/journal.jsonl")
    assert [e["succeeded"] for e in kinds(events, "rollbacks_played") if e["step"] == f"dr/{check}"] == [True]
    # the target: the primary at its place taking writes through the db record, a streaming replica,
    # the shop's deployments, services and ready pods, the zone's records, no writer's stamp left
    assert wait_cluster_streaming(sandbox) == {"primary_in_recovery": False, "streaming_replicas": 1}
    wait_ready_pods(sandbox, 3)
    assert _sandbox_state(sandbox) == before
    second = run_gameday(sandbox, "recover", str(tmp_path / "reports/dr"), timeout=120)
    assert second.returncode == 0 and "nothing to recover" in second.stdout, second.stdout + second.stderr
