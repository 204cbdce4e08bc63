"""The balancer in front of two real replicas: round-robin, health checks, a killed replica, the backends file."""

from __future__ import annotations

import time

from gamedays.faults.dns import records as faults
from gamedays.sandbox import processes
from gamedays.sandbox.dns import ZoneServer
from gamedays.sandbox.shop import write_backends_file
from tests.sandbox.shop.client import get, post, wait_until
from tests.sandbox.shop.parts import Postgres, Shop

ZONE = "shop.internal"


def test_orders_round_trip_through_the_balancer_to_both_replicas(shop: Shop, postgres: Postgres):
    replicas = [shop.replica("r0"), shop.replica("r1")]
    balancer = shop.balancer([r.spec.address for r in replicas])
    balancer.wait_healthy(2)
    served_by: set[str] = set()
    for index in range(6):
        status, headers, created = post(f"{balancer.url}/orders", {"item": f"lb-{index}", "quantity": index + 1})
        assert status == 201, created
        served_by.add(headers["x-shop-replica"])
        status, headers, read = get(f"{balancer.url}/orders/{created['id']}")
        assert status == 200 and (read["item"], read["quantity"]) == (f"lb-{index}", index + 1)
        served_by.add(headers["x-shop-replica"])
    assert served_by == {"r0", "r1"}
    assert {f"lb-{i}" for i in range(6)} <= postgres.items()


def test_a_killed_replica_is_routed_around_without_failed_requests(shop: Shop):
    survivor, victim = shop.replica("survivor"), shop.replica("victim")
    balancer = shop.balancer([survivor.spec.address, victim.spec.address])
    balancer.wait_healthy(2)
    processes.kill(victim.process)  # SIGKILL: no goodbye
    for index in range(10):  # before the health check notices: refused connections are retried elsewhere
        status, headers, body = post(f"{balancer.url}/orders", {"item": f"k-{index}", "quantity": 1})
        assert status == 201, body
        assert headers["x-shop-replica"] == "survivor"
    balancer.wait_healthy(1, timeout=3.0)
    statuses = [get(f"{balancer.url}/healthz")[0] for _ in range(20)]
    assert statuses == [200] * 20
    _, _, listing = get(f"{balancer.url}/-/backends")
    assert listing["backends"] == [
        {"backend": survivor.spec.address, "healthy": True},
        {"backend": victim.spec.address, "healthy": False},
    ]


def test_no_healthy_backend_means_503_and_recovery_follows_the_database(shop: Shop, zone: ZoneServer, tmp_path):
    replicas = [shop.replica("r0"), shop.replica("r1")]
    balancer = shop.balancer([r.spec.address for r in replicas])
    balancer.wait_healthy(2)
    backup = str(tmp_path / "db.json")
    faults.remove_record(zone.address, ZONE, "db", "SRV", backup=backup)
    balancer.wait_healthy(0, timeout=4.0)
    status, _, body = post(f"{balancer.url}/orders", {"item": "nowhere", "quantity": 1})
    assert status == 503 and body["error"] == "no healthy backend"
    assert get(f"{balancer.url}/-/healthz")[0] == 503
    faults.restore_record(zone.address, ZONE, "db", "SRV", backup=backup)
    balancer.wait_healthy(2, timeout=4.0)
    assert post(f"{balancer.url}/orders", {"item": "back", "quantity": 1})[0] == 201
    assert get(f"{balancer.url}/-/healthz")[0] == 200


def test_the_backends_file_is_followed_as_it_changes(shop: Shop):
    first, second = shop.replica("first"), shop.replica("second")
    balancer = shop.balancer([first.spec.address])
    balancer.wait_healthy(1)
    assert {get(f"{balancer.url}/healthz")[1]["x-shop-replica"] for _ in range(4)} == {"first"}
    time.sleep(0.01)  # a new mtime even on coarse clocks; the inode changes anyway (atomic rename)
    write_backends_file(balancer.spec.backends_file, [first.spec.address, second.spec.address])
    balancer.wait_healthy(2)
    assert {get(f"{balancer.url}/healthz")[1]["x-shop-replica"] for _ in range(4)} == {"first", "second"}
    write_backends_file(balancer.spec.backends_file, [])
    wait_until(lambda: get(f"{balancer.url}/healthz")[0] == 503, 3.0, "the balancer to drop every backend")
    balancer.spec.backends_file.write_text("{not json")
    time.sleep(0.3)
    assert get(f"{balancer.url}/-/backends")[2] == {"backends": []}  # a broken file changes nothing
    assert balancer.process.poll() is None
