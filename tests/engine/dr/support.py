"""Plans with DR checks, and what the tests read off the target."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import dns.query
import dns.rdatatype
import dns.resolver
import dns.zone
import psycopg
from ruamel.yaml import YAML

from tests.engine.run.conftest import REPO, shop_pods

QUICK_STEP = {
    "id": "pod-loss",
    "uses": "../experiments/kubernetes/pod-kill.yaml",
    "with": {"namespace": "shop", "label_selector": "app=shop-api", "qty": 1},
    "hypothesis": ["checkout-availability"],
    "recover_within": "20s",
}


def layout(root: Path) -> Path:
    """A copy of the repository's probes/, experiments/ and playbooks/; returns the plans folder."""
    for folder in ("probes", "experiments", "playbooks"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "plans").mkdir()
    return root / "plans"


def write_plan(plans: Path, playbooks: list[str], components: list[dict[str, str]] | None = None, name: str = "dr.yaml") -> Path:
    plan = {
        "gameday": "dr",
        "title": "DR checks",
        "date": "2024-05-21",
        "environment": "sandbox",
        "components": components or [],
        "team": {"commander": "tester"},
        "slos": "../probes/slos.yaml",
        "monitor": {"interval": "500ms", "baseline": "1s", "cooldown": "1s", "timeout": "1s"},
        "experiments": [QUICK_STEP],
        "disaster_recovery": [{"playbook": f"../playbooks/{p}"} for p in playbooks],
    }
    path = plans / name
    path.write_text(json.dumps(plan))
    return path


def edit_playbook(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    yaml = YAML()
    document = yaml.load(path.read_text())
    change(document)
    with open(path, "w") as out:
        yaml.dump(document, out)


def events_of(journal: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]


def kinds(events: list[dict[str, Any]], kind: str, check: str | None = None) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == kind and (check is None or e.get("check") == check)]


def zone_records(env: dict[str, str]) -> dict[str, list[str]]:
    """Every record set of the sandbox zone but the SOA, by AXFR, as text (the RPO writer's stamps aside:
    a backup taken while the writer ran holds some, and restoring it by hand brings them back)."""
    host, _, port = env["SANDBOX_DNS"].rpartition(":")
    zone = dns.zone.from_xfr(dns.query.xfr(host, env["SANDBOX_DNS_ZONE"], port=int(port), timeout=5))
    records: dict[str, list[str]] = {}
    for name, node in zone.nodes.items():
        if str(name).startswith("_gameday-rpo-"):
            continue
        for rdataset in node.rdatasets:
            if rdataset.rdtype == dns.rdatatype.SOA:
                continue
            records[f"{name} {dns.rdatatype.to_text(rdataset.rdtype)}"] = sorted(r.to_text() for r in rdataset)
    return records


def db_srv(env: dict[str, str]) -> list[str] | None:
    resolver = dns.resolver.Resolver(configure=False)
    host, _, port = env["SANDBOX_DNS"].rpartition(":")
    resolver.nameservers, resolver.port = [host], int(port)
    try:
        return sorted(r.to_text() for r in resolver.resolve("db.shop.internal", "SRV"))
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None


def cluster_shape(env: dict[str, str]) -> dict[str, Any]:
    """Who is primary, who streams from it: what the sandbox's exports promise."""
    with psycopg.connect(env["DATABASE_PRIMARY_URL"], connect_timeout=5, autocommit=True) as primary:
        in_recovery = primary.execute("select pg_is_in_recovery()").fetchone()[0]
        streaming = primary.execute("select count(*) from pg_stat_replication where state = 'streaming'").fetchone()[0]
    with psycopg.connect(env["DATABASE_URL"], connect_timeout=5, autocommit=True) as through_dns:
        through_dns.execute("create table if not exists dr_probe (at double precision)")
        through_dns.execute("insert into dr_probe values (%s)", (time.time(),))
    return {"primary_in_recovery": in_recovery, "streaming_replicas": streaming}


def wait_cluster_streaming(env: dict[str, str], timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    shape: dict[str, Any] = {}
    while time.monotonic() < deadline:
        shape = cluster_shape(env)
        if shape == {"primary_in_recovery": False, "streaming_replicas": 1}:
            return shape
        time.sleep(0.3)
    raise AssertionError(f"the cluster did not get back its shape: {shape}")


def pod_names(env: dict[str, str]) -> list[str]:
    return sorted(p.metadata.name for p in shop_pods(env))
