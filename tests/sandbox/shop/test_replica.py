"""One replica against real PostgreSQL and the real sandbox DNS: the API, start-up, SIGTERM, DNS faults."""

from __future__ import annotations

import signal
import time

from gamedays.faults.dns import records as faults
from gamedays.faults.local import resolver as resolver_faults
from gamedays.processes import wait_gone
from gamedays.sandbox import processes
from gamedays.sandbox.dns import ZoneServer, srv_value
from gamedays.sandbox.ports import free_port, wait_for_port
from gamedays.sandbox.shop import ReplicaSpec
from tests.sandbox.shop.client import get, post, request, wait_until
from tests.sandbox.shop.parts import Postgres, Shop

ZONE = "shop.internal"


def test_post_then_get_an_order(shop: Shop, postgres: Postgres):
    replica = shop.replica("r0")
    status, headers, created = post(f"{replica.url}/orders", {"item": "teapot", "quantity": 2})
    assert status == 201, created
    assert created["item"] == "teapot" and created["quantity"] == 2 and created["database"] == f"127.0.0.1:{postgres.port}"
    assert headers["x-shop-replica"] == "r0"
    status, _, read = get(f"{replica.url}/orders/{created['id']}")
    assert status == 200 and read["id"] == created["id"] and read["item"] == "teapot"
    assert "teapot" in postgres.items()


def test_bad_requests_get_4xx_with_a_json_reason(shop: Shop):
    replica = shop.replica("r0")
    assert get(f"{replica.url}/orders/999999999")[0] == 404
    assert get(f"{replica.url}/nowhere")[0] == 404
    assert get(f"{replica.url}/orders")[0] == 405
    for payload in ({"item": "", "quantity": 1}, {"item": "x", "quantity": 0}, {"item": "x", "quantity": True}, ["x"]):
        status, _, body = post(f"{replica.url}/orders", payload)
        assert status == 400 and body["error"] == "bad request", payload
    status, _, body = request("POST", f"{replica.url}/orders")
    assert status == 400 and "JSON object" in body["detail"]


def test_healthz_is_200_with_the_database_reachable(shop: Shop, postgres: Postgres):
    replica = shop.replica("r0")
    status, _, body = get(f"{replica.url}/healthz")
    assert status == 200 and body == {"status": "ok", "database": f"127.0.0.1:{postgres.port}"}


def test_removing_the_db_record_breaks_requests_and_restoring_it_recovers(shop: Shop, zone: ZoneServer, tmp_path):
    replica = shop.replica("r0")
    assert post(f"{replica.url}/orders", {"item": "before", "quantity": 1})[0] == 201
    backup = str(tmp_path / "db.json")
    faults.remove_record(zone.address, ZONE, "db", "SRV", backup=backup)
    wait_until(lambda: get(f"{replica.url}/healthz")[0] == 503, 3.0, "/healthz to turn 503 (TTL 1 s)")
    status, _, body = post(f"{replica.url}/orders", {"item": "during", "quantity": 1})
    assert status == 503 and body["error"] == "database unresolvable"
    assert "db.shop.internal" in body["detail"]
    faults.restore_record(zone.address, ZONE, "db", "SRV", backup=backup)
    wait_until(lambda: get(f"{replica.url}/healthz")[0] == 200, 3.0, "/healthz to recover")
    assert post(f"{replica.url}/orders", {"item": "after", "quantity": 1})[0] == 201


def test_moving_the_srv_record_moves_the_writes(shop: Shop, zone: ZoneServer, postgres_pair: tuple[Postgres, Postgres]):
    primary, other = postgres_pair
    replica = shop.replica("r0")
    assert post(f"{replica.url}/orders", {"item": "written-to-primary", "quantity": 1})[0] == 201
    zone.set_records("db", "SRV", [srv_value(other.port, "pg-1")])

    def moved() -> bool:
        status, _, body = post(f"{replica.url}/orders", {"item": "probe-after-move", "quantity": 1})
        return status == 201 and body["database"] == f"127.0.0.1:{other.port}"

    wait_until(moved, 3.0, "writes to follow the SRV record to the other server")
    status, _, created = post(f"{replica.url}/orders", {"item": "written-to-other", "quantity": 1})
    assert status == 201
    assert "written-to-other" in other.items() and "written-to-other" not in primary.items()
    assert "written-to-primary" in primary.items() and "written-to-primary" not in other.items()
    assert get(f"{replica.url}/orders/{created['id']}")[2]["item"] == "written-to-other"  # reads follow too


def test_a_slow_resolver_makes_requests_slow(shop: Shop, zone: ZoneServer):
    replica = shop.replica("r0")
    assert get(f"{replica.url}/healthz")[0] == 200
    resolver_faults.resolver_fault(zone.address, ZONE, delay=0.4)
    time.sleep(1.1)  # let the cached answers (TTL 1 s) expire
    started = time.monotonic()
    assert post(f"{replica.url}/orders", {"item": "slow", "quantity": 1})[0] == 201
    assert time.monotonic() - started >= 0.4
    resolver_faults.resolver_fault(zone.address, ZONE, drop=True)
    time.sleep(1.1)
    status, _, body = post(f"{replica.url}/orders", {"item": "lost", "quantity": 1})
    assert status == 503 and body["error"] == "database unresolvable"
    resolver_faults.clear_resolver_fault(zone.address, ZONE)
    wait_until(lambda: post(f"{replica.url}/orders", {"item": "ok", "quantity": 1})[0] == 201, 3.0, "recovery")


def test_a_replica_listens_and_sigterm_stops_it_cleanly(zone: ZoneServer, tmp_path):
    """How fast it starts is bench/sandbox.py's to measure (a killed pod Ready again in under 3 s)."""
    spec = ReplicaSpec(port=free_port(), dns=zone.address, name="timed")
    process = processes.spawn(spec.argv(), log=tmp_path / "timed.log")
    try:
        assert wait_for_port(spec.port, 5.0), (tmp_path / "timed.log").read_text()
        process.send_signal(signal.SIGTERM)
        assert process.wait(3.0) == 0
    finally:
        processes.stop(process)
    assert wait_gone([process.pid], 2.0)
    assert not wait_for_port(spec.port, 0.05)


def test_a_taken_port_makes_the_replica_exit_with_a_message(zone: ZoneServer, tmp_path, shop: Shop):
    first = shop.replica("first")
    spec = ReplicaSpec(port=first.spec.port, dns=zone.address, name="second")
    process = processes.spawn(spec.argv(), log=tmp_path / "second.log")
    try:
        assert process.wait(5.0) == 2
    finally:
        processes.stop(process)
    assert f"cannot listen on 127.0.0.1:{spec.port}" in (tmp_path / "second.log").read_text()
