"""The composed sandbox, through the real CLI: up --detach, eval its exports, use every part, down.

Every check looks at the target (process table, ports, real clients), not at our bookkeeping.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.sandbox.proctable import alive, descendants

REQUIRED = ("KUBECONFIG", "AWS_ENDPOINT_URL", "DATABASE_URL", "SHOP_URL", "SANDBOX_DNS", "GAMEDAY_SANDBOX")


def gameday(home: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GAMEDAY_HOME": str(home)}
    env.pop("GAMEDAY_SANDBOX", None)
    return subprocess.run([sys.executable, "-m", "gamedays", *args], env=env, capture_output=True, text=True, timeout=timeout)


def parse_exports(text: str) -> dict[str, str]:
    env = {}
    for line in text.splitlines():
        assert line.startswith("export "), f"not an export line: {line!r}"
        name, _, value = line[len("export "):].partition("=")
        env[name] = shlex.split(value)[0]
    return env


def refused(address: str) -> bool:
    host, _, port = address.rpartition(":")
    host = host.split("//")[-1]
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return False
    except OSError:
        return True


def supervisor_pid(home: Path, name: str) -> int:
    return json.loads((home / "sandboxes" / name / "state.json").read_text())["pid"]


@pytest.fixture
def home(tmp_path: Path):
    yield tmp_path
    for name in ("default", "second", "fg"):
        gameday(tmp_path, "sandbox", "down", "--name", name)


def test_up_detached_points_every_client_at_the_sandbox_and_down_leaves_nothing(home):
    up = gameday(home, "sandbox", "up", "--detach")
    assert up.returncode == 0, up.stderr
    env = parse_exports(up.stdout)
    for name in REQUIRED:
        assert name in env
    pid = supervisor_pid(home, "default")
    tree = descendants(pid) | {pid}
    assert len(tree) >= 8  # postgres x2 (+ their workers), balancer, 3 shop pods, moto, ...

    # curl: the shop answers through its load balancer
    request = urllib.request.Request(env["SHOP_URL"] + "/orders", data=b'{"item": "t", "quantity": 2}', method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as response:
        order = json.loads(response.read())
    assert response.status == 201

    # psql: the order is in PostgreSQL, through the database endpoint
    import psycopg

    with psycopg.connect(env["DATABASE_URL"], connect_timeout=5) as conn:
        assert conn.execute("SELECT item, quantity FROM orders WHERE id = %s", (order["id"],)).fetchone() == ("t", 2)

    # the kubernetes client, through the exported kubeconfig
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=env["KUBECONFIG"])
    pods = client.CoreV1Api(api).list_namespaced_pod("shop", label_selector="app=shop-api").items
    assert len(pods) == 3 and all(p.status.phase == "Running" for p in pods)

    # dnspython, through the sandbox DNS
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=False)
    host, _, port = env["SANDBOX_DNS"].rpartition(":")
    resolver.nameservers, resolver.port = [host], int(port)
    assert resolver.resolve("db.shop.internal", "SRV")[0].port > 0

    # boto3 (as chaosaws uses it), through AWS_ENDPOINT_URL
    completed = subprocess.run(
        [sys.executable, "-c", "import boto3; print(boto3.client('rds').describe_db_clusters()['DBClusters'][0]['DBClusterIdentifier'])"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
    )
    assert completed.stdout.strip() == "shop-db", completed.stderr

    status = gameday(home, "sandbox", "status")
    assert status.returncode == 0 and "is running" in status.stdout

    down = gameday(home, "sandbox", "down")
    assert down.returncode == 0 and "stopped" in down.stdout
    assert alive(tree) == set()
    for name in ("SHOP_URL", "SANDBOX_DNS", "AWS_ENDPOINT_URL", "DATABASE_URL", "DATABASE_REPLICA_URL"):
        assert refused(env[name].split("@")[-1].split("/")[0] if "postgresql" in env[name] else env[name])
    assert not Path(env["GAMEDAY_SANDBOX"]).exists()
    assert not Path(env["SANDBOX_PG_PRIMARY_DATA"]).exists()
    assert gameday(home, "sandbox", "status").returncode == 1


def test_two_sandboxes_run_side_by_side(home):
    first = gameday(home, "sandbox", "up", "--detach")
    second = gameday(home, "sandbox", "up", "--detach", "--name", "second", "--replicas", "1")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    a, b = parse_exports(first.stdout), parse_exports(second.stdout)
    assert a["SHOP_URL"] != b["SHOP_URL"] and a["SANDBOX_DNS"] != b["SANDBOX_DNS"]
    for env in (a, b):
        with urllib.request.urlopen(env["SHOP_URL"] + "/healthz", timeout=5) as response:
            assert response.status == 200
    again = gameday(home, "sandbox", "up", "--detach", "--name", "second")
    assert again.returncode == 2 and "already running" in again.stderr
    assert gameday(home, "sandbox", "down", "--name", "second").returncode == 0
    with urllib.request.urlopen(a["SHOP_URL"] + "/healthz", timeout=5) as response:
        assert response.status == 200  # the first one is untouched


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_foreground_up_tears_everything_down_on_a_signal(home, sig):
    env = {**os.environ, "GAMEDAY_HOME": str(home)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gamedays", "sandbox", "up", "--name", "fg", "--replicas", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        state = home / "sandboxes" / "fg" / "state.json"
        deadline = time.monotonic() + 60
        while not state.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        assert state.exists(), process.stderr.read() if process.poll() is not None else "no state after 60s"
        tree = descendants(process.pid)
        assert tree
        process.send_signal(sig)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "sandbox 'fg' is up" in out and "sandbox 'fg' stopped." in out
    assert alive(tree) == set()
    assert not (home / "sandboxes" / "fg").exists()
