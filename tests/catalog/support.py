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

import dns.message
import dns.query
import psycopg

from gamedays.faults.pgserver import processes_in

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

    # -- PostgreSQL --------------------------------------------------------------------------

    def write(self, dsn_name: str = "DATABASE_URL") -> bool:
        try:
            with psycopg.connect(self.env[dsn_name], autocommit=True, connect_timeout=2) as conn:
                conn.execute("SELECT pg_current_xact_id()")
            return True
        except psycopg.Error:
            return False

    def query(self, sql: str, dsn_name: str = "DATABASE_URL", params: tuple[Any, ...] = ()) -> Any:
        with psycopg.connect(self.env[dsn_name], autocommit=True, connect_timeout=2) as conn:
            row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None

    def replica_streams(self) -> bool:
        """The primary (on its own port, as before any failover) shows the replica ``pg2`` streaming."""
        try:
            return bool(
                self.query(
                    "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pg2' AND state = 'streaming'",
                    "DATABASE_PRIMARY_URL",
                )
            )
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

    def ready_pods(self, count: int = 3, timeout: float = 30) -> list[Any]:
        """Exactly ``count`` shop pods, all Ready (waits for replacements to come up)."""

        def ready() -> list[Any]:
            pods = self.shop_pods()
            good = [p for p in pods if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])]
            return good if len(good) == count == len(pods) else []

        found = wait_until(ready, timeout, every=0.2)
        assert found, f"expected {count} ready shop pods, found {[p.metadata.name for p in self.shop_pods()]}"
        return list(found)

    # -- AWS (moto) --------------------------------------------------------------------------

    def aws(self, service: str) -> Any:
        from gamedays.sandbox.aws import isolated_client

        return isolated_client(service, self.env["AWS_ENDPOINT_URL"], self.env["AWS_REGION"])
