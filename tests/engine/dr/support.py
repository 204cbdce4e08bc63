"""Plans with DR checks, and what the tests read off the target."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from subprocess import Popen
from typing import Any, Callable

import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.zone
import psycopg
from ruamel.yaml import YAML

from tests.engine.run.conftest import REPO, gameday_process, shop_pods, wait_for_journal

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


def remove_rpo_stamps(env: dict[str, str]) -> list[str]:
    """Delete the RPO writer's stamps (``_gameday-rpo-*`` TXT) from the sandbox zone; the names removed.

    For a test that restores a zone backup by hand after the run: the writer's own cleanup ran
    before, so the stamps the backup holds come back, and the test must leave the zone as it found it.
    """
    import dns.update

    host, _, port = env["SANDBOX_DNS"].rpartition(":")
    zone = dns.zone.from_xfr(dns.query.xfr(host, env["SANDBOX_DNS_ZONE"], port=int(port), timeout=5))
    stamps = sorted(str(name) for name in zone.nodes if str(name).startswith("_gameday-rpo-"))
    if stamps:
        update = dns.update.UpdateMessage(env["SANDBOX_DNS_ZONE"])
        for name in stamps:
            update.delete(name, "TXT")
        response = dns.query.tcp(update, host, port=int(port), timeout=5)
        assert response.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(response.rcode())
    return stamps


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


def delay_recovery(tmp_path: Path, playbook: str, seconds: int) -> None:
    """The copied ``playbook``'s recovery starts with a ``seconds`` wait (a change freeze), so a test sees the disaster on the target."""
    slow = {"name": "Wait for the change freeze to lift", "automated": {
        "type": "probe", "name": "wait", "provider": {"type": "process", "path": "sleep", "arguments": str(seconds)}}}
    edit_playbook(tmp_path / "playbooks" / playbook, lambda pb: pb["steps"].insert(0, slow))


def stop_once_struck(
    sandbox: dict[str, str], tmp_path: Path, playbook: str, struck: Callable[[dict[str, str]], bool],
    stop: Callable[[Popen[str]], None], wait_seconds: int,
) -> tuple[int | None, str]:
    """Run a one-check plan of ``playbook`` whose recovery starts with a ``wait_seconds`` wait; once every
    disaster step is in the journal and ``struck(sandbox)`` sees the disaster on the target, ``stop`` the
    run (a signal, a power loss). Returns the process's code and output (none after a power loss)."""
    plans = layout(tmp_path)
    delay_recovery(tmp_path, playbook, wait_seconds)
    injected = len(YAML(typ="safe").load((tmp_path / "playbooks" / playbook).read_text())["disaster"]["inject"])
    plan = write_plan(plans, [playbook])
    process = gameday_process(sandbox, "run", str(plan))
    try:
        wait_for_journal(tmp_path / "reports/dr/journal.jsonl",
                         lambda events: len([e for e in events if e["event"] == "dr_step" and e["phase"] == "disaster"]) == injected,
                         timeout=240)
        deadline = time.monotonic() + 10
        while not struck(sandbox):
            assert time.monotonic() < deadline, f"the disaster of {playbook} is journaled but not seen on the target"
            time.sleep(0.2)
        assert process.poll() is None, "the run ended before it could be stopped mid-check"
        stop(process)
        out, err = process.communicate(timeout=240) if process.returncode is None else ("", "")  # a power loss reaped it
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)
    return process.returncode, (out or "") + (err or "")


def shop_workloads(env: dict[str, str]) -> dict[str, Any]:
    """The shop namespace's deployments (with their replicas) and services, by name."""
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=env["KUBECONFIG"])
    deployments = client.AppsV1Api(api).list_namespaced_deployment("shop").items
    services = client.CoreV1Api(api).list_namespaced_service("shop").items
    return {"deployments": sorted((d.metadata.name, d.spec.replicas) for d in deployments),
            "services": sorted(s.metadata.name for s in services)}


def writer_stamps(env: dict[str, str]) -> dict[str, int]:
    """How many stamps of RPO writers the target holds: PostgreSQL rows, DNS TXT names, Kubernetes services."""
    from kubernetes import client, config

    host, _, port = env["SANDBOX_DNS"].rpartition(":")
    zone = dns.zone.from_xfr(dns.query.xfr(host, env["SANDBOX_DNS_ZONE"], port=int(port), timeout=5))
    api = client.CoreV1Api(config.new_client_from_config(config_file=env["KUBECONFIG"]))
    with psycopg.connect(env["DATABASE_PRIMARY_URL"], connect_timeout=5, autocommit=True) as conn:
        table = conn.execute("select to_regclass('gameday_rpo')").fetchone()[0]
        rows = conn.execute("select count(*) from gameday_rpo").fetchone()[0] if table else 0
    return {"postgres": rows,
            "dns": sum(1 for name in zone.nodes if str(name).startswith("_gameday-rpo-")),
            "kubernetes": len(api.list_namespaced_service("shop", label_selector="gameday.rpo/run").items)}


def route53_records(env: dict[str, str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """The sandbox's Route53 hosted zone shop.internal as its API lists it: (name, type, values), sorted."""
    import boto3

    client = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], region_name=env["AWS_REGION"]
    ).client("route53", endpoint_url=env["AWS_ENDPOINT_URL"])
    zone = client.list_hosted_zones_by_name(DNSName="shop.internal.")["HostedZones"][0]["Id"]
    pages = client.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone)
    return sorted(
        (r["Name"], r["Type"], tuple(sorted(v["Value"] for v in r.get("ResourceRecords", []))))
        for page in pages for r in page["ResourceRecordSets"]
    )  # fmt: skip
