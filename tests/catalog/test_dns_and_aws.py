"""The catalog's DNS and AWS experiments under `chaos run` against the sandbox: the fault is real, the target restored."""

from __future__ import annotations

import time

from tests.catalog.support import ChaosRunner, Target, assert_rolled_back, output


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
    began = time.monotonic()
    assert target.lookup("db.shop.internal", "SRV") and time.monotonic() - began < 0.3
    assert target.lookup("_gameday-fault.shop.internal", "TXT") == []


def test_resolver_outage_drops_lookups_until_cleared(chaos: ChaosRunner, target: Target):
    journal = chaos.run("dns/resolver-outage", hold_seconds=1)
    assert_rolled_back(journal, 1)
    assert output(journal, "lookup-during-the-outage")["good"] is False
    assert target.lookup("db.shop.internal", "SRV", timeout=1.0)
    target.shop_takes_orders()


def test_route53_record_change_against_moto(chaos: ChaosRunner, target: Target):
    route53 = target.aws("route53")
    zone_id = route53.list_hosted_zones_by_name(DNSName="shop.internal.")["HostedZones"][0]["Id"]
    before = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    journal = chaos.run("dns/route53-record-change", hold_seconds=1)
    assert_rolled_back(journal, 1)
    assert journal["deviated"] is True  # the hypothesis read the wrong address
    assert output(journal, "point-record-at-wrong-address")["current"]["ResourceRecords"] == [{"Value": "192.0.2.10"}]
    assert route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] == before


def test_ec2_stop_start_against_moto(chaos: ChaosRunner, target: Target):
    ec2 = target.aws("ec2")
    tagged = [{"Name": "tag:Name", "Values": ["shop-api-1"]}]

    def state() -> str:
        return str(ec2.describe_instances(Filters=tagged)["Reservations"][0]["Instances"][0]["State"]["Name"])

    assert state() == "running"
    journal = chaos.run("aws/ec2-stop-start", hold_seconds=1)
    assert_rolled_back(journal, 1)
    assert journal["deviated"] is True  # stopped while the hypothesis looked
    assert state() == "running"
