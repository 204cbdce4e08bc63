"""The session's shared sandbox for test fixtures: one per xdist worker, started on first use.

:class:`SharedSandbox` starts a detached sandbox (the default one of a GAMEDAY_HOME of its
own, as ``gameday sandbox up --detach`` would), hands out its environment, and after each
test checks that the test left it in the :class:`Shape` it found (DNS zone, PostgreSQL roles
and streaming, the shop's pods and orders, nodes, network policies, the AWS twin's records):
a test that does not fails, and the next one gets a new sandbox. At the end it goes down with
nothing of PostgreSQL left. The root conftest's ``shared_sandbox`` fixture holds it; each
folder's ``sandbox`` fixture hands it out in the shape of environment that folder uses.
Tests that must break a sandbox for good (or test starting and stopping one) start their own.

:func:`target` is a fixture for folders whose ``sandbox`` fixture yields its environment:
import it into their conftest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.exception
import dns.query
import dns.rdatatype
import psycopg
import pytest

from gamedays.sandbox import registry
from tests.catalog.support import Target, postgres_processes, wait_until

START_TIMEOUT = 90  # seconds for the sandbox to come up
STOP_TIMEOUT = 60


@pytest.fixture
def target(sandbox: dict[str, str]) -> Target:
    """The sandbox's parts, read with ordinary clients, settled: the shop takes orders, steadily."""
    found = Target(sandbox)
    found.shop_is_steady(timeout=30)
    return found


# --- one sandbox per session (per xdist worker), shared by the folders whose tests restore it --------------------

AS_FOUND_TIMEOUT = 90  # seconds for what a test shook (pods replaced, a replica catching up) to settle again


@dataclass(frozen=True)
class Shape:
    """What a test must leave as it found it, read with ordinary clients (the data in the tables aside)."""

    zone: tuple[str, ...]  # every record of the zone by AXFR, the SOA aside (its serial counts the changes)
    resolver_fault: tuple[str, ...] | None  # the _gameday-fault TXT: () when none is set
    roles: tuple[bool | None, bool | None]  # pg_is_in_recovery() of the primary's and of the replica's port
    replica_streams: bool
    takes_writes: bool  # through DATABASE_URL, which follows the db record
    shop: tuple[int, int, int]  # the deployment's replicas, its pods, those Ready
    shop_steady: bool
    cordoned: tuple[str, ...]
    not_ready: tuple[str, ...]  # nodes whose Ready condition is not True (a stopped instance's)
    network_policies: tuple[str, ...]
    aurora_writer: str
    ec2: tuple[tuple[str, str], ...]  # (Name tag, state) of every instance
    route53: tuple[str, ...]

    @classmethod
    def of(cls, target: Target) -> Shape:
        core = target.core()
        instances = target.aws("ec2").describe_instances()["Reservations"]
        return cls(
            zone=_zone(target.env),
            resolver_fault=None if (fault := target.resolver_fault()) is None else tuple(fault),
            roles=(target.in_recovery("DATABASE_PRIMARY_URL"), target.in_recovery("DATABASE_REPLICA_URL")),
            replica_streams=target.replica_streams(),
            takes_writes=target.write(),
            shop=(target.deployment_replicas(), *target.pods_ready()),
            shop_steady=_steady(target),
            cordoned=tuple(sorted(n.metadata.name for n in core.list_node().items if n.spec.unschedulable)),
            not_ready=tuple(sorted(n.metadata.name for n in core.list_node().items if not _node_ready(n))),
            network_policies=tuple(target.network_policies()),
            aurora_writer=target.aurora_writer(),
            ec2=tuple(sorted((_name_tag(i), i["State"]["Name"]) for r in instances for i in r["Instances"])),
            route53=tuple(sorted(json.dumps(r, sort_keys=True) for r in target.route53_records())),
        )

    def differences(self, other: Shape) -> list[str]:
        return [
            f"{name}: {getattr(self, name)!r} -> {getattr(other, name)!r}"
            for name in self.__dataclass_fields__
            if getattr(self, name) != getattr(other, name)
        ]


class SharedSandbox:
    """The session's sandbox (one per xdist worker), started on first use, in a GAMEDAY_HOME of its own.

    It is that home's default sandbox, as ``gameday sandbox up --detach`` would start it, so a
    ``gameday run`` with that GAMEDAY_HOME uses it. :meth:`check_as_found` runs after every test
    that used it: the test must leave it in the :class:`Shape` it found; one that does not fails,
    and the next test gets a new sandbox (a broken one would fail every test after it).
    """

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._factory = tmp_path_factory
        self._home: Path | None = None
        self._running: registry.Running | None = None
        self._baseline: Shape | None = None
        self._target: _Checked | None = None
        self.started = 0

    @property
    def home(self) -> Path:
        self._ensure()
        assert self._home is not None
        return self._home

    @property
    def exports(self) -> dict[str, str]:
        """What ``gameday sandbox up --detach`` prints as ``export`` lines."""
        self._ensure()
        assert self._running is not None
        return dict(self._running.info.env)

    def registered_env(self) -> dict[str, str]:
        """This environment without AWS_*, GAMEDAY_*, PG*, with the exports (as :func:`registered` yields).

        GAMEDAY_METRICS_PORT stays 0: a `gameday run` of a test never takes the default port, which
        a run in another worker may hold (they collided: "Address already in use", exit 2).
        """
        env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "GAMEDAY_", "PG"))}
        return {**env, "GAMEDAY_METRICS_PORT": "0", **self.exports}

    def cli_env(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` with GAMEDAY_HOME and the exports (as :func:`through_the_cli` yields)."""
        home = str(self.home)
        return {**base, "GAMEDAY_HOME": home, **self.exports}

    def check_as_found(self) -> None:
        """Wait (bounded) for the sandbox to be back in its first shape; else fail, and start anew for the next test."""
        if self._running is None or self._baseline is None or self._target is None:
            return
        target, baseline = self._target, self._baseline
        found = wait_until(lambda: _shape_or_none(target) == baseline, AS_FOUND_TIMEOUT, every=1.0)
        if found:
            return
        now = _shape_or_none(target)
        self.close()  # the next test that needs it gets a new one
        differences = baseline.differences(now) if now is not None else ["a part of the sandbox does not answer"]
        raise AssertionError(
            f"the test left the shared sandbox other than it found it (after {AS_FOUND_TIMEOUT}s): " + "; ".join(differences)
        )

    def close(self) -> None:
        """Down, with nothing of PostgreSQL left (also servers a test or a rollback started again)."""
        running, self._running, self._baseline, self._target = self._running, None, None, None
        if running is None:
            return
        data_dirs = (Path(running.info.env["SANDBOX_PG_PRIMARY_DATA"]), Path(running.info.env["SANDBOX_PG_REPLICA_DATA"]))
        assert registry.down(running.info.directory, timeout=STOP_TIMEOUT), "the shared sandbox was not running any more at its end"
        left = wait_until(lambda: not postgres_processes(data_dirs), 10)
        assert left, f"PostgreSQL servers outlived the shared sandbox: {postgres_processes(data_dirs)}"
        assert not data_dirs[0].parent.parent.exists(), "the PostgreSQL runtime folder outlived the shared sandbox"

    def _ensure(self) -> None:
        if self._running is not None and registry.running(self._running.info.directory) is not None:
            return
        if self._running is not None:  # its supervisor is gone: a test broke it for good
            self._running = None
        self._home = self._factory.mktemp("home")
        self._running = registry.up_detached(registry.directory_of(registry.DEFAULT_NAME, {"GAMEDAY_HOME": str(self._home)}), timeout=START_TIMEOUT)
        self.started += 1
        target = _Checked(self.registered_env())
        target.shop_is_steady(timeout=30)
        baseline = wait_until(lambda: _shape_or_none(target), 30, every=1.0)
        assert baseline is not None, "the new sandbox does not answer on every part"
        assert baseline.shop_steady and baseline.takes_writes and baseline.replica_streams, baseline
        self._baseline, self._target = baseline, target


class _Checked(Target):
    """The :class:`Target` the check reads the sandbox with: its AWS clients made once (each costs half a second of CPU)."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env)
        self._clients: dict[str, Any] = {}

    def aws(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = super().aws(service)
        return self._clients[service]


def _shape_or_none(target: Target) -> Shape | None:
    """The sandbox's shape now; None while a part of it takes no request (a server restarting)."""
    import botocore.exceptions
    import kubernetes.client
    import urllib3.exceptions

    try:
        return Shape.of(target)
    except (
        OSError, EOFError, psycopg.Error, dns.exception.DNSException, kubernetes.client.ApiException,
        urllib3.exceptions.HTTPError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError,
    ):  # fmt: skip
        return None


def _zone(env: Mapping[str, str]) -> tuple[str, ...]:
    host, _, port = env["SANDBOX_DNS"].rpartition(":")
    zone = env["SANDBOX_DNS_ZONE"]
    found = []
    for message in dns.query.xfr(host, zone, port=int(port), lifetime=5):
        found += [rrset.to_text() for rrset in message.answer if rrset.rdtype != dns.rdatatype.SOA]
    return tuple(sorted(set(found)))


def _steady(target: Target) -> bool:
    """Six orders in a row go through (every replica behind the balancer, twice over)."""
    return all(target.order() is not None for _ in range(6))


def _name_tag(instance: dict[str, Any]) -> str:
    return next((t["Value"] for t in instance.get("Tags", []) if t["Key"] == "Name"), instance["InstanceId"])


def _node_ready(node: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
