"""The catalog's DNS and AWS experiments under `chaos run` against the sandbox: the fault is real, the target restored."""

from __future__ import annotations

import threading

from tests.catalog.support import ChaosRunner, Target, assert_rolled_back, output, wait_until


def test_record_removal_breaks_resolution_and_the_backup_restores_it(chaos: ChaosRunner, target: Target):
    before = target.lookup("db.shop.internal", "SRV")
    journal = chaos.run("dns/record-removal", hold_seconds=1)
    assert_rolled_back(journal, 1)
    assert output(journal, "remove-record")["values"] == before
    assert journal["deviated"] is True  # the shop could not find its database
    assert target.lookup("db.shop.internal", "SRV") == before
    target.shop_takes_orders()


def test_record_wrong_address_points_away_and_the_backup_restores_it(chaos: ChaosRunner, target: Target):
    before = target.lookup("pg-0.shop.internal", "A")
    journal = chaos.run("dns/record-wrong-address", hold_seconds=1)
    assert_rolled_back(journal, 1)
    assert output(journal, "point-record-at-wrong-address")["values"] == before == ["127.0.0.1"]
    assert journal["deviated"] is True
    assert target.lookup("pg-0.shop.internal", "A") == before
    target.shop_takes_orders()


def test_resolver_slowdown_delays_lookups_until_cleared(chaos: ChaosRunner, target: Target):
    journal = chaos.run("dns/resolver-slowdown", hold_seconds=1, delay_seconds=0.5)
    assert_rolled_back(journal, 1)
    sample = output(journal, "lookup-while-slow")
    assert sample["good"] is True and sample["elapsed"] >= 0.5
    assert target.lookup("db.shop.internal", "SRV") and target.lookup_seconds("db.shop.internal", "SRV") < 0.3
    assert target.resolver_fault() == []


def test_resolver_outage_drops_lookups_until_cleared(chaos: ChaosRunner, target: Target):
    journal = chaos.run("dns/resolver-outage", hold_seconds=1)
    assert_rolled_back(journal, 1)
    assert output(journal, "lookup-during-the-outage")["good"] is False
    assert target.lookup("db.shop.internal", "SRV", timeout=1.0)
    target.shop_takes_orders()


def test_route53_record_change_is_what_the_sandbox_dns_answers_until_restored(chaos: ChaosRunner, target: Target):
    before, dns_before = target.route53_records(), target.lookup("db.shop.internal", "A")
    seen: list[list[str]] = []
    done = threading.Event()

    def watch() -> None:
        for _ in range(1000):  # bounded: at most 1000 lookups, 0.1 s apart
            if done.wait(0.1):
                return
            seen.append(target.lookup("db.shop.internal", "A"))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        journal = chaos.run("dns/route53-record-change", hold_seconds=2)
    finally:
        done.set()
        watcher.join(10)
    assert_rolled_back(journal, 1)
    assert journal["deviated"] is True  # the hypothesis read the wrong address
    assert output(journal, "point-record-at-wrong-address")["current"]["ResourceRecords"] == [{"Value": "192.0.2.10"}]
    # the sandbox's AWS twin made it real: the sandbox DNS answered the wrong address, then the right one again
    assert ["192.0.2.10"] in seen, f"the sandbox DNS never answered the wrong address: {seen[-5:]}"
    assert target.route53_records() == before
    assert wait_until(lambda: target.lookup("db.shop.internal", "A") == dns_before, 5)


def test_ec2_stop_start_against_moto(chaos: ChaosRunner, target: Target):
    assert target.ec2_state("shop-api-1") == "running"
    journal = chaos.run("aws/ec2-stop-start", hold_seconds=1)
    assert_rolled_back(journal, 1)
    assert journal["deviated"] is True  # stopped while the hypothesis looked
    assert target.ec2_state("shop-api-1") == "running"
