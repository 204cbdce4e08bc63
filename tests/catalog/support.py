"""Helpers of the catalog tests: ``chaos run`` a catalog file, and read the sandbox's parts with real clients."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import dns.exception
import dns.message
import dns.query
import psycopg

from gamedays.faults.local.pgserver import processes_in
from gamedays.journal.io import read_journal
from tests.support import REPO

CHAOS = str(Path(sys.executable).with_name("chaos"))
ORDER = json.dumps({"item": "catalog-test", "quantity": 1}).encode()


def wait_until(check: Callable[[], Any], timeout: float, every: float = 0.1) -> Any:
    """The first truthy result of ``check`` within ``timeout`` seconds, else its last (falsy) result."""
    deadline = time.monotonic() + timeout
    result = check()
    while not result and time.monotonic() < deadline:
        time.sleep(every)
        result = check()
    return result


def postgres_processes(data_dirs: tuple[Path, ...]) -> list[int]:
    """Live processes working in any of ``data_dirs`` (a server and its backends), read from /proc."""
    return [pid for data_dir in data_dirs for pid in processes_in(data_dir)]


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass(frozen=True)
class ChaosRunner:
    """Runs ``chaos run`` (the Chaos Toolkit CLI, its own process) on a catalog file in ``workdir``."""

    env: dict[str, str]
    workdir: Path
    catalog: Path

    def run(self, experiment_id: str, **variables: Any) -> dict[str, Any]:
        """The journal of ``chaos run experiments/<id>.yaml`` with ``--var`` for each variable (typed).

        Starts from a steady state: the shop must take a few orders in a row first, so one
        experiment's recovery (a balancer's health checks catching up) never fails the next
        one's hypothesis on a loaded machine.
        """
        assert wait_until(self._steady, 30, every=0.2), "the shop is not in a steady state before the experiment"
        args = [CHAOS, "--no-version-check", "--log-file", str(self.workdir / "chaostoolkit.log"), "run"]
        args += ["--journal-path", str(self.workdir / "journal.json")]
        for name, value in variables.items():
            kind = "int" if isinstance(value, int) else "float" if isinstance(value, float) else "str"
            args += ["--var", f"{name}:{kind}={value}"]
        done = subprocess.run(
            [*args, str(self.catalog / f"{experiment_id}.yaml")],
            env=self.env, cwd=self.workdir, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        journal_path = self.workdir / "journal.json"
        assert journal_path.exists(), done.stdout[-3000:] + done.stderr[-3000:]
        return dict(json.loads(journal_path.read_text()))


    def _steady(self) -> bool:
        for _ in range(3):
            request = urllib.request.Request(
                self.env["SHOP_URL"] + "/orders", data=b'{"item": "steady", "quantity": 1}', method="POST",
                headers={"Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=3) as response:
                    if response.status != 201:
                        return False
            except OSError:
                return False
        return True


def statuses(journal: dict[str, Any], section: str) -> list[str]:
    return [run["status"] for run in journal.get(section) or []]


def output(journal: dict[str, Any], name: str) -> Any:
    """The output of the method activity ``name``."""
    for run in journal["run"]:
        if run["activity"]["name"] == name:
            return run.get("output")
    raise AssertionError(f"no activity {name!r} ran: {[r['activity']['name'] for r in journal['run']]}")


def assert_rolled_back(journal: dict[str, Any], rollbacks: int) -> None:
    """The run completed (deviated or not) and every one of its ``rollbacks`` succeeded."""
    assert journal["status"] == "completed", json.dumps(journal["run"], indent=1)[-3000:]
    assert statuses(journal, "run") and set(statuses(journal, "run")) == {"succeeded"}, statuses(journal, "run")
    assert statuses(journal, "rollbacks") == ["succeeded"] * rollbacks, json.dumps(journal.get("rollbacks"))[-3000:]


def plan_of(title: str, experiments: list[dict[str, Any]], report: Path, cooldown: str = "1s") -> dict[str, Any]:
    """A sandbox plan of the catalog tests: the repository's SLOs, fast sampling, no guardrail, ``report`` its folder."""
    return {
        "gameday": "catalog", "title": f"catalog test: {title}", "date": "2024-05-21", "environment": "sandbox",
        "team": {"commander": "tester"}, "slos": str(REPO / "probes/slos.yaml"),
        "monitor": {"interval": "500ms", "baseline": "1s", "cooldown": cooldown, "timeout": "1s"},
        "guardrails": {"abort_when": []}, "experiments": experiments, "report": {"out": str(report)},
    }  # fmt: skip


def run_plan(
    target: Target, plan: dict[str, Any], folder: Path, timeout: float = 240
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """`gameday run` of ``plan`` (written as ``folder``/plan.yaml) on the target's sandbox, and its journal's events."""
    path = folder / "plan.yaml"
    path.write_text(json.dumps(plan))  # JSON is YAML
    command = [sys.executable, "-m", "gamedays", "run", str(path)]
    done = subprocess.run(command, env=target.env, capture_output=True, text=True, timeout=timeout)
    journal = Path(plan["report"]["out"]) / "journal.jsonl"
    events = [json.loads(e.model_dump_json()) for e in read_journal(journal).events] if journal.exists() else []
    return done, events


@dataclass(frozen=True)
class DatabaseState:
    """The database as its clients find it: where the record points, which server takes writes."""

    record: tuple[str, ...] | None  # the db SRV record (None: no answer)
    takes_writes: bool  # a write through DATABASE_URL, which follows the record
    primary_in_recovery: bool | None  # None: the primary's port takes no connection
    replica_in_recovery: bool | None
    replica_streams: bool


class Target:
    """The sandbox's parts as a client sees them: the shop, DNS, PostgreSQL, Kubernetes, AWS."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    # -- the shop ----------------------------------------------------------------------------

    def order(self) -> int | None:
        """POST an order; its id, or None when the shop refused."""
        request = urllib.request.Request(f"{self.env['SHOP_URL']}/orders", data=ORDER, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=3) as response:
                return int(json.loads(response.read())["id"])
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            return None

    def shop_takes_orders(self, timeout: float = 20) -> None:
        assert wait_until(lambda: self.order() is not None, timeout, every=0.2), "the shop takes no orders"

    def shop_is_steady(self, timeout: float = 30, in_a_row: int = 6) -> None:
        """Orders go through ``in_a_row`` times running (every replica behind the balancer, twice over):
        what a previous test shook (a replica ejected, a slow lookup) has settled."""
        streak = [0]

        def steady() -> bool:
            streak[0] = streak[0] + 1 if self.order() is not None else 0
            return streak[0] >= in_a_row

        assert wait_until(steady, timeout, every=0.1), f"the shop did not take {in_a_row} orders in a row"

    # -- DNS ---------------------------------------------------------------------------------

    def lookup(self, name: str, rdtype: str, timeout: float = 2.0) -> list[str]:
        host, _, port = self.env["SANDBOX_DNS"].rpartition(":")
        response = dns.query.tcp(dns.message.make_query(name, rdtype), host, port=int(port), timeout=timeout)
        return sorted(rdata.to_text() for rrset in response.answer for rdata in rrset)

    def answers(self, name: str, rdtype: str, timeout: float = 1.0) -> list[str] | None:
        """What DNS answers within ``timeout`` seconds; None when it answers nothing in time (a dropped query)."""
        try:
            return self.lookup(name, rdtype, timeout)
        except (dns.exception.Timeout, OSError):
            return None

    def lookup_seconds(self, name: str, rdtype: str, timeout: float = 5.0) -> float:
        """How long DNS took to answer (``timeout`` when it did not)."""
        began = time.monotonic()
        self.answers(name, rdtype, timeout)
        return time.monotonic() - began

    def resolver_fault(self, zone: str = "shop.internal") -> list[str] | None:
        """The resolver fault the zone's server honours (its TXT record; [] when none is set)."""
        return self.answers(f"_gameday-fault.{zone}", "TXT", timeout=5.0)

    # -- PostgreSQL --------------------------------------------------------------------------

    def write(self, dsn_name: str = "DATABASE_URL") -> bool:
        try:
            with psycopg.connect(self.env[dsn_name], autocommit=True, connect_timeout=2) as conn:
                conn.execute("SELECT pg_current_xact_id()")
            return True
        except psycopg.Error:
            return False

    def connect_error(self, dsn_name: str = "DATABASE_URL") -> str | None:
        """Why a new connection is refused (the server's message), or None when one is taken."""
        try:
            with psycopg.connect(self.env[dsn_name], autocommit=True, connect_timeout=2):
                return None
        except psycopg.Error as exc:
            return str(exc)

    def write_seconds(self, dsn_name: str = "DATABASE_URL") -> float | None:
        """How long a new connection and a write took; None when it failed."""
        began = time.monotonic()
        wrote = self.write(dsn_name)
        return time.monotonic() - began if wrote else None

    def in_recovery(self, dsn_name: str) -> bool | None:
        """Whether the server is a standby (True) or takes writes (False); None when it takes no connection."""
        try:
            return bool(self.query("SELECT pg_is_in_recovery()", dsn_name))
        except psycopg.Error:
            return None

    def database(self) -> DatabaseState:
        record = self.answers("db.shop.internal", "SRV", timeout=2.0)
        return DatabaseState(
            record=None if record is None else tuple(record),
            takes_writes=self.write(),
            primary_in_recovery=self.in_recovery("DATABASE_PRIMARY_URL"),
            replica_in_recovery=self.in_recovery("DATABASE_REPLICA_URL"),
            replica_streams=self.replica_streams(),
        )

    def query(self, sql: str, dsn_name: str = "DATABASE_URL", params: tuple[Any, ...] = ()) -> Any:
        with psycopg.connect(self.env[dsn_name], autocommit=True, connect_timeout=2) as conn:
            row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None

    def replica_streams(self) -> bool:
        """The primary (on its own port, as before any failover) shows the replica ``pg2`` streaming, and it answers.

        Both: while the replica is rebuilt, ``pg_basebackup``'s own WAL stream shows as ``pg2`` streaming too.
        """
        try:
            return bool(
                self.query(
                    "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pg2' AND state = 'streaming'",
                    "DATABASE_PRIMARY_URL",
                )
            ) and self.query("SELECT pg_is_in_recovery()", "DATABASE_REPLICA_URL") is True
        except psycopg.Error:
            return False

    def assert_database_as_before(self, srv_before: list[str]) -> None:
        """Writes through DATABASE_URL, the same roles and ports, the replica streaming, the record unchanged."""
        assert self.lookup("db.shop.internal", "SRV") == srv_before
        assert wait_until(self.write, 15), "no write goes through DATABASE_URL"
        assert self.query("SELECT pg_is_in_recovery()", "DATABASE_PRIMARY_URL") is False
        assert self.query("SELECT pg_is_in_recovery()", "DATABASE_REPLICA_URL") is True
        assert wait_until(self.replica_streams, 15), "the replica does not stream from the primary"

    # -- Kubernetes --------------------------------------------------------------------------

    def core(self) -> Any:
        from kubernetes import client, config

        return client.CoreV1Api(config.new_client_from_config(config_file=self.env["KUBECONFIG"]))

    def shop_pods(self) -> list[Any]:
        return list(self.core().list_namespaced_pod("shop", label_selector="app=shop-api").items)

    def shop_pod_names(self) -> set[str]:
        return {p.metadata.name for p in self.shop_pods()}

    def pods_ready(self) -> tuple[int, int]:
        """How many shop pods there are, and how many of them are Ready."""
        pods = self.shop_pods()
        return len(pods), sum(1 for p in pods if _is_ready(p))

    def deployment_replicas(self, name: str = "shop-api", namespace: str = "shop") -> int:
        from kubernetes import client

        return int(client.AppsV1Api(self.core().api_client).read_namespaced_deployment(name, namespace).spec.replicas)

    def unschedulable(self, node: str) -> bool:
        """The node is cordoned."""
        return bool(self.core().read_node(node).spec.unschedulable)

    def node_ready(self, node: str) -> bool:
        """The node's Ready condition is True (a stopped instance's node is NotReady: Unknown)."""
        return any(c.type == "Ready" and c.status == "True" for c in self.core().read_node(node).status.conditions or [])

    def node_taints(self, node: str) -> set[str]:
        return {t.key for t in self.core().read_node(node).spec.taints or []}

    def network_policies(self, namespace: str = "shop") -> list[str]:
        from kubernetes import client

        policies = client.NetworkingV1Api(self.core().api_client).list_namespaced_network_policy(namespace).items
        return sorted(p.metadata.name for p in policies)

    def ready_pods(self, count: int = 3, timeout: float = 30) -> list[Any]:
        """Exactly ``count`` shop pods, all Ready (waits for replacements to come up)."""

        def ready() -> list[Any]:
            pods = self.shop_pods()
            good = [p for p in pods if _is_ready(p)]
            return good if len(good) == count == len(pods) else []

        found = wait_until(ready, timeout, every=0.2)
        assert found, f"expected {count} ready shop pods, found {[p.metadata.name for p in self.shop_pods()]}"
        return list(found)

    # -- AWS (moto) --------------------------------------------------------------------------

    def aws(self, service: str) -> Any:
        from gamedays.sandbox.aws import isolated_client

        return isolated_client(service, self.env["AWS_ENDPOINT_URL"], self.env["AWS_REGION"])

    def aurora_writer(self, cluster: str = "shop-db") -> str:
        """The instance the Aurora cluster's writer endpoint points at."""
        found = self.aws("rds").describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"][0]
        return str(next(m["DBInstanceIdentifier"] for m in found["DBClusterMembers"] if m["IsClusterWriter"]))

    def ec2_state(self, name: str = "shop-api-1") -> str:
        """The state of the EC2 instance tagged Name=``name`` (running, stopping, stopped...)."""
        reservations = self.aws("ec2").describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])["Reservations"]
        return str(reservations[0]["Instances"][0]["State"]["Name"])

    def route53_records(self, zone: str = "shop.internal") -> list[dict[str, Any]]:
        """Every record set of the hosted zone, as Route53 lists them."""
        route53 = self.aws("route53")
        zone_id = route53.list_hosted_zones_by_name(DNSName=f"{zone}.")["HostedZones"][0]["Id"]
        return list(route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"])

    def route53_values(self, name: str, rdtype: str, zone: str = "shop.internal") -> list[str]:
        """The values of one record set of the hosted zone ([] when there is none)."""
        fqdn = f"{name}.{zone}."
        found = [r for r in self.route53_records(zone) if r["Name"] == fqdn and r["Type"] == rdtype]
        return sorted(v["Value"] for r in found for v in r.get("ResourceRecords", []))


def _is_ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
