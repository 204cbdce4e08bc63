"""The whole sandbox, composed: DNS, PostgreSQL, the database endpoint, AWS, Kubernetes, the shop.

    with Sandbox(directory) as info:        # all healthy when this returns
        print(info.exports())               # export KUBECONFIG=... lines

Start order follows the dependencies: PostgreSQL first (its port goes into the
DNS zone), then DNS, the database endpoint (a proxy that follows the ``db``
SRV record, so DATABASE_URL stays right across a failover), the load balancer,
and the Kubernetes API whose ``shop-api`` pods are shop replica processes (the
endpoints hook writes the balancer's backends file). moto's AWS endpoint starts
in a child process in parallel; while the shop's pods start, its AWS twin
(:mod:`gamedays.sandbox.twin`, in that child) is attached to these parts, so what is done through the AWS API happens
to them. If any step fails, everything already started
is stopped before the error propagates; :meth:`Sandbox.stop` is safe to call
twice and from any state.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from gamedays.faults.local.tcpproxy import TargetUnavailable, TcpProxy
from gamedays.model.errors import SandboxError
from gamedays.sandbox import awsseed, processes
from gamedays.sandbox.aws import AwsSandbox
from gamedays.sandbox.dns import DEFAULT_ZONE, ZoneServer, default_records
from gamedays.sandbox.kube import Endpoints, KubeSandbox, ProcessRuntime
from gamedays.sandbox.ports import LOOPBACK, free_port, wait_for_port
from gamedays.sandbox.postgres import PostgresCluster
from gamedays.sandbox.postgres.cluster import WAL_ARCHIVE
from gamedays.sandbox.shop import BalancerSpec, write_backends_file
from gamedays.sandbox.twin import endpoint as twin
from gamedays.sandbox.twin.identity import define_instance_identifiers
from gamedays.sandbox.twin.spec import Instance, TwinSpec

logger = logging.getLogger(__name__)

SHOP_NAMESPACE = "shop"
SHOP_DEPLOYMENT = "shop-api"
SHOP_LABELS = {"app": "shop-api"}
DB_SRV = f"db.{DEFAULT_ZONE}"
#: The SRV record of a restored database (the AWS twin's point-in-time restores): DATABASE_RESTORED_URL follows it.
RESTORED_SRV = f"restored.{DEFAULT_ZONE}"


@dataclass(frozen=True)
class SandboxInfo:
    """What a running sandbox tells its users: where everything is."""

    directory: Path
    env: dict[str, str]
    endpoints: dict[str, str] = field(default_factory=dict)
    started_seconds: float = 0.0

    def exports(self) -> str:
        """Shell lines, ``eval``-able: ``export NAME='value'``."""
        return "\n".join(f"export {name}={_quote(value)}" for name, value in self.env.items())

    def to_json(self) -> str:
        return json.dumps(
            {"directory": str(self.directory), "env": self.env, "endpoints": self.endpoints, "started_seconds": self.started_seconds},
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> SandboxInfo:
        data = json.loads(text)
        return cls(Path(data["directory"]), dict(data["env"]), dict(data.get("endpoints", {})), float(data.get("started_seconds", 0)))


class Sandbox:
    """A small real system to break, on 127.0.0.1, in ``directory`` (logs, kubeconfig, backends file)."""

    def __init__(self, directory: Path, *, replicas: int = 3, nodes: int = 3, ready_timeout: float = 30.0) -> None:
        self.directory = Path(directory)
        self.replicas = replicas
        self.nodes = nodes
        self.ready_timeout = ready_timeout
        self._stops: list[tuple[str, Callable[[], Any]]] = []
        self._lock = threading.Lock()
        self.postgres: PostgresCluster | None = None
        self.dns: ZoneServer | None = None
        self.kube: KubeSandbox | None = None
        self.aws: AwsSandbox | None = None
        self.db_endpoint: TcpProxy | None = None

    def __enter__(self) -> SandboxInfo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> SandboxInfo:
        began = time.monotonic()
        logs = self.directory / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        try:
            # first started, last stopped: if this process dies without stopping the sandbox, the watch does
            watch = processes.spawn(_owner_watch_argv(self.directory), log=logs / "ownerwatch.log")
            self._on_stop("owner watch", lambda: processes.stop(watch))
            nodes = tuple(f"sandbox-node-{i}" for i in range(1, self.nodes + 1))
            aws = AwsSandbox(nodes=nodes)  # a node's EC2 instance each
            self.aws = aws
            self._on_stop("aws", aws.stop)
            aws_started: list[BaseException] = []
            aws_thread = threading.Thread(target=_capture(aws.start, aws_started), name="sandbox-aws-start", daemon=True)
            aws_thread.start()

            postgres = PostgresCluster(self.directory / "postgres", archive_wal=True)  # the twin's point-in-time restores
            self.postgres = postgres
            self._on_stop("postgres", postgres.stop)
            postgres.create()

            dns = ZoneServer(records=default_records(postgres.primary.port))
            self.dns = dns
            self._on_stop("dns", dns.stop)
            dns.start()

            endpoint = TcpProxy(_srv_target(dns.address, DB_SRV))
            self.db_endpoint = endpoint
            self._on_stop("database endpoint", endpoint.stop)
            endpoint.start()
            restored_endpoint = TcpProxy(_srv_target(dns.address, RESTORED_SRV))  # refuses until a restore names it
            self._on_stop("restored database endpoint", restored_endpoint.stop)
            restored_endpoint.start()

            backends = self.directory / "backends.json"
            write_backends_file(backends, [])
            balancer = BalancerSpec(port=free_port(), backends_file=backends)
            lb = processes.spawn(balancer.argv(), log=logs / "balancer.log")
            self._on_stop("balancer", lambda: processes.stop(lb))
            if not wait_for_port(balancer.port, 10):
                raise SandboxError(f"the shop's load balancer did not listen on {balancer.port}: see {logs / 'balancer.log'}")

            runtime = ProcessRuntime(_replica_argv(dns.address), log_dir=logs / "pods")
            kube = KubeSandbox(runtime, nodes=nodes, on_endpoints=_backends_writer(backends))
            self.kube = kube
            self._on_stop("kubernetes", kube.stop)
            kube.start()
            kubeconfig = kube.write_kubeconfig(self.directory / "kubeconfig", namespace=SHOP_NAMESPACE)
            kube.create_deployment(SHOP_NAMESPACE, SHOP_DEPLOYMENT, labels=SHOP_LABELS, replicas=self.replicas, grace_seconds=2)
            # while the shop's pods start (and moto may still be starting), its twin is attached to the parts
            twin_spec = _twin_spec(postgres, dns, kube, logs)
            twin_failed: list[BaseException] = []
            twin_thread = threading.Thread(
                target=_capture(lambda: self._attach_twin(aws, aws_thread, aws_started, twin_spec), twin_failed),
                name="sandbox-aws-twin", daemon=True,
            )  # fmt: skip
            twin_thread.start()
            if not kube.wait_ready(SHOP_NAMESPACE, SHOP_DEPLOYMENT, self.ready_timeout):
                raise SandboxError(f"the shop's pods did not become ready in {self.ready_timeout:g}s: see {logs / 'pods'}")
            _wait_balanced(balancer.url, self.replicas, self.ready_timeout)

            twin_thread.join(2 * self.ready_timeout + 10)
            if twin_thread.is_alive():
                raise SandboxError(f"the AWS endpoint (moto) and its twin did not start in {2 * self.ready_timeout:g}s")
            if twin_failed:
                raise twin_failed[0]
        except BaseException:
            self.stop()
            raise
        env = {
            "GAMEDAY_SANDBOX": str(self.directory),
            "KUBECONFIG": str(kubeconfig),
            "SHOP_URL": balancer.url,
            "DATABASE_URL": f"postgresql://shop@{LOOPBACK}:{endpoint.port}/shop",
            "DATABASE_PRIMARY_URL": f"postgresql://shop@{LOOPBACK}:{postgres.primary.port}/shop",
            "DATABASE_REPLICA_URL": f"postgresql://shop@{LOOPBACK}:{postgres.replica.port}/shop",
            "DATABASE_RESTORED_URL": f"postgresql://shop@{LOOPBACK}:{restored_endpoint.port}/shop",
            "SANDBOX_DNS": dns.address,
            "SANDBOX_DNS_ZONE": DEFAULT_ZONE,
            "SANDBOX_PG_PRIMARY_DATA": str(postgres.primary.data_dir),
            "SANDBOX_PG_REPLICA_DATA": str(postgres.replica.data_dir),
            **aws.env(),
        }
        endpoints = {
            "shop (load balancer)": balancer.url,
            "kubernetes API": kube.url,
            "database endpoint (follows db SRV)": f"{LOOPBACK}:{endpoint.port}",
            "restored database endpoint (follows restored SRV)": f"{LOOPBACK}:{restored_endpoint.port}",
            "postgresql primary": f"{LOOPBACK}:{postgres.primary.port}",
            "postgresql replica": f"{LOOPBACK}:{postgres.replica.port}",
            f"dns ({DEFAULT_ZONE})": dns.address,
            "aws (moto)": aws.endpoint_url,
        }
        return SandboxInfo(self.directory, env, endpoints, round(time.monotonic() - began, 3))

    def stop(self) -> None:
        """Stop everything started, last first; every step runs even when one fails."""
        with self._lock:
            stops, self._stops = self._stops, []
        failures = []
        for name, stop in reversed(stops):
            try:
                stop()
            except Exception as exc:  # noqa: BLE001 - keep stopping the rest, then report
                logger.error("stopping %s failed: %s", name, exc)
                failures.append(f"{name}: {exc}")
        if failures:
            raise SandboxError("the sandbox did not stop cleanly: " + "; ".join(failures))

    def _attach_twin(self, aws: AwsSandbox, started: threading.Thread, failed: list[BaseException], spec: TwinSpec) -> None:
        """The servers answer their instance identifier; once moto runs (``started`` ended, ``failed`` empty), its
        twin is attached to the parts (and detached first on stop)."""
        define_instance_identifiers(spec.instances[0], spec.instances, spec.database)
        started.join(self.ready_timeout)
        if started.is_alive():
            raise SandboxError(f"the AWS endpoint (moto) did not start in {self.ready_timeout:g}s")
        if failed:
            raise failed[0]
        self._on_stop("aws twin", lambda: twin.detach(aws.endpoint_url, self.ready_timeout))
        twin.attach(aws.endpoint_url, replace(spec, hosted_zone_id=aws.seed.hosted_zone_id), self.ready_timeout)

    def _on_stop(self, name: str, stop: Callable[[], Any]) -> None:
        with self._lock:
            self._stops.append((name, stop))


def _twin_spec(postgres: PostgresCluster, dns: ZoneServer, kube: KubeSandbox, logs: Path) -> TwinSpec:
    """The Aurora cluster's writer and reader are the primary and the replica; the hosted zone (its id known once
    moto runs) is the sandbox zone; the Kubernetes nodes are EC2 instances."""
    runtime = Path(postgres.runtime_dir or postgres.primary.data_dir.parent.parent)
    return TwinSpec(
        cluster=awsseed.CLUSTER, writer=awsseed.WRITER,
        instances=(
            Instance(awsseed.WRITER, str(postgres.primary.data_dir), "pg-0"),
            Instance(awsseed.READER, str(postgres.replica.data_dir), "pg-1"),
        ),
        dns_server=dns.address, zone=DEFAULT_ZONE, writer_record="db", database="shop",
        hosted_zone_id="", records=dns.snapshot().records, kube_url=kube.url, nodes=kube.nodes,
        postgres_log=str(logs / "twin-postgres.log"), log_file=str(logs / "twin.log"),
        snapshots_dir=str(runtime / "aws-snapshots"), archive_dir=str(runtime / WAL_ARCHIVE), restored_record="restored",
    )  # fmt: skip


def _owner_watch_argv(directory: Path) -> list[str]:
    owner = processes.identity(os.getpid()) or str(os.getpid())
    return [sys.executable, "-m", "gamedays.sandbox.ownerwatch", owner, str(directory)]


def _replica_argv(dns_address: str) -> list[str]:
    return [
        sys.executable, "-m", "gamedays.sandbox.shop.replica",
        "--port", "{port}", "--dns", dns_address, "--db-srv", DB_SRV, "--name", "{pod}",
    ]  # fmt: skip


def _backends_writer(path: Path) -> Callable[[Endpoints], None]:
    def write(endpoints: Endpoints) -> None:
        if endpoints.namespace == SHOP_NAMESPACE and endpoints.deployment == SHOP_DEPLOYMENT:
            write_backends_file(path, endpoints.addresses)

    return write


def _srv_target(dns_address: str, name: str) -> Callable[[], tuple[str, int]]:
    """Where the ``db`` SRV record points now, asked for each new connection."""
    from gamedays.sandbox.shop.database import DatabaseLocator, DatabaseUnresolvable

    host, _, port = dns_address.rpartition(":")
    locator = DatabaseLocator((host, int(port)), name, lifetime=1.0)

    def target() -> tuple[str, int]:
        try:
            found = locator.locate()
        except DatabaseUnresolvable as exc:
            raise TargetUnavailable(str(exc)) from None
        return found.host, found.port

    return target


def _wait_balanced(url: str, replicas: int, timeout: float) -> None:
    """Until the balancer sees every replica healthy."""
    deadline = time.monotonic() + timeout
    healthy = 0
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/-/backends", timeout=1) as response:
                backends = json.loads(response.read())["backends"]
            healthy = sum(1 for b in backends if b.get("healthy"))
            if healthy >= replicas:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise SandboxError(f"the shop's load balancer saw {healthy} of {replicas} replicas healthy after {timeout:g}s")


def _capture(work: Callable[[], Any], errors: list[BaseException]) -> Callable[[], None]:
    def run() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - handed to the starting thread, which raises it
            errors.append(exc)

    return run


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"
