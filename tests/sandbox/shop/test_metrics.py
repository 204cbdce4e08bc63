"""/metrics of a replica and /-/metrics of the balancer: valid Prometheus text that counts what happened."""

from __future__ import annotations

import pytest

from gamedays.faults.dns import records as faults
from gamedays.sandbox.dns import ZoneServer
from gamedays.sandbox.shop.metrics import Registry
from tests.sandbox.shop.client import get, post, wait_until
from tests.sandbox.shop.parts import Shop
from tests.sandbox.shop.promtext import parse

ZONE = "shop.internal"


def test_replica_metrics_count_requests_errors_and_latency(shop: Shop, zone: ZoneServer, tmp_path):
    replica = shop.replica("r0")
    for index in range(3):
        assert post(f"{replica.url}/orders", {"item": f"m-{index}", "quantity": 1})[0] == 201
    assert get(f"{replica.url}/orders/0")[0] == 404
    faults.remove_record(zone.address, ZONE, "db", "SRV", backup=str(tmp_path / "db.json"))
    wait_until(lambda: post(f"{replica.url}/orders", {"item": "x", "quantity": 1})[0] == 503, 3.0, "a 503")
    status, headers, text = get(f"{replica.url}/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    metrics = parse(text)
    assert metrics.types["shop_requests_total"] == "counter"
    assert metrics.types["shop_request_duration_seconds"] == "histogram"
    assert metrics.value("shop_up") == 1
    assert metrics.value("shop_requests_total", method="GET", route="/orders/{id}", status="404") == 1
    created = metrics.value("shop_requests_total", method="POST", route="/orders", status="201")
    failed = metrics.value("shop_requests_total", method="POST", route="/orders", status="503")
    assert created >= 3 and failed >= 1
    assert metrics.value("shop_errors_total", route="/orders", reason="dns") == failed
    assert metrics.total("shop_errors_total") == failed  # 4xx are not errors
    assert metrics.value("shop_request_duration_seconds_count", route="/orders") == created + failed


def test_balancer_metrics_count_proxied_requests_errors_and_healthy_backends(shop: Shop):
    replicas = [shop.replica("r0"), shop.replica("r1")]
    balancer = shop.balancer([r.spec.address for r in replicas])
    balancer.wait_healthy(2)
    for _ in range(4):
        assert get(f"{balancer.url}/healthz")[0] == 200
    metrics = parse(get(f"{balancer.url}/-/metrics")[2])
    assert metrics.value("balancer_healthy_backends") == 2 and metrics.value("balancer_backends") == 2
    assert metrics.value("balancer_requests_total", method="GET", status="200") == 4
    assert metrics.value("balancer_request_duration_seconds_count") == 4
    assert sum(metrics.value("balancer_backend_requests_total", backend=r.spec.address) for r in replicas) == 4
    assert metrics.total("balancer_errors_total") == 0
    for replica in replicas:
        shop.stop_one(replica.process)
    balancer.wait_healthy(0, timeout=3.0)
    assert get(f"{balancer.url}/healthz")[0] == 503
    metrics = parse(get(f"{balancer.url}/-/metrics")[2])
    assert metrics.value("balancer_healthy_backends") == 0
    assert metrics.value("balancer_errors_total", reason="no_healthy_backend") == 1
    assert metrics.value("balancer_requests_total", method="GET", status="503") == 1


def test_the_exposition_escapes_labels_and_keeps_histograms_cumulative():
    registry = Registry()
    counter = registry.counter("t_total", "A help text\nwith a newline.", ("path",))
    counter.inc('/a "quoted"\\path\n')
    histogram = registry.histogram("t_seconds", "Latency.", buckets=(0.1, 1.0))
    for value in (0.05, 0.5, 5.0):
        histogram.observe(value)
    metrics = parse(registry.render())
    assert metrics.value("t_total", path='/a "quoted"\\path\n') == 1
    assert [metrics.value("t_seconds_bucket", le=le) for le in ("0.1", "1", "+Inf")] == [1, 2, 3]
    assert metrics.value("t_seconds_sum") == pytest.approx(5.55)
    with pytest.raises(ValueError, match="registered twice"):
        registry.counter("t_total", "again")
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc()
