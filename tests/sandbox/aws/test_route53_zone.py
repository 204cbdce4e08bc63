"""gamedays.faults.aws.route53zone against the sandbox's Route53: the hosted zone's record sets are the evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed

from gamedays.faults.aws.route53zone import (
    BATCH,
    backup_hosted_zone,
    delete_hosted_zone_records,
    restore_hosted_zone,
)
from gamedays.sandbox.aws import AwsSandbox


def record_sets(aws: AwsSandbox) -> list[dict[str, Any]]:
    pages = aws.client("route53").get_paginator("list_resource_record_sets")
    return [r for page in pages.paginate(HostedZoneId=aws.seed.hosted_zone_id) for r in page["ResourceRecordSets"]]


def kinds(aws: AwsSandbox) -> set[tuple[str, str]]:
    return {(r["Name"], r["Type"]) for r in record_sets(aws)}


@pytest.fixture
def zone_as_found(aws: AwsSandbox, aws_env: dict[str, str], tmp_path: Path):
    """The zone is put back as the test found it, whatever the test did; checked."""
    before = record_sets(aws)
    keep = tmp_path / "as-found.json"
    backup_hosted_zone("shop.internal", str(keep))
    yield before
    restore_hosted_zone("shop.internal", str(keep))
    assert record_sets(aws) == before


def test_a_lost_zone_comes_back_from_its_backup_exactly(aws: AwsSandbox, zone_as_found, tmp_path: Path):
    backup = tmp_path / "zone.json"
    taken = backup_hosted_zone("shop.internal.", str(backup))
    assert taken["record_sets"] == len(zone_as_found) and json.loads(backup.read_text())["zone_id"] == aws.seed.hosted_zone_id

    lost = delete_hosted_zone_records("shop.internal")
    assert kinds(aws) == {("shop.internal.", "SOA"), ("shop.internal.", "NS")}  # the apex stays
    assert ("db.shop.internal.", "A") in {tuple(d.split(" ")) for d in lost["deleted"]}

    out = restore_hosted_zone("shop.internal", str(backup))
    assert record_sets(aws) == zone_as_found
    assert out["removed"] == [] and len(out["restored"]) == len(zone_as_found) - 2
    assert restore_hosted_zone("shop.internal", str(backup))["restored"] == []  # idempotent


def test_a_record_set_added_after_the_backup_is_removed_by_the_restore(aws: AwsSandbox, zone_as_found, tmp_path: Path):
    backup = tmp_path / "zone.json"
    backup_hosted_zone("shop.internal", str(backup))
    aws.client("route53").change_resource_record_sets(
        HostedZoneId=aws.seed.hosted_zone_id,
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
            "Name": "late.shop.internal.", "Type": "TXT", "TTL": 60, "ResourceRecords": [{"Value": '"written after"'}]}}]},
    )  # fmt: skip
    out = restore_hosted_zone("shop.internal", str(backup))
    assert out["removed"] == ["late.shop.internal. TXT"]
    assert record_sets(aws) == zone_as_found


def test_more_record_sets_than_one_batch_are_deleted_and_restored(aws: AwsSandbox, zone_as_found, tmp_path: Path):
    many = [{"Action": "CREATE", "ResourceRecordSet": {
        "Name": f"host-{n}.shop.internal.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": f"192.0.2.{n % 250}"}]}}
        for n in range(BATCH + 20)]  # fmt: skip
    aws.client("route53").change_resource_record_sets(HostedZoneId=aws.seed.hosted_zone_id, ChangeBatch={"Changes": many})
    full = record_sets(aws)
    backup = tmp_path / "zone.json"
    backup_hosted_zone("shop.internal", str(backup))
    delete_hosted_zone_records("shop.internal")
    assert len(record_sets(aws)) == 2
    restore_hosted_zone("shop.internal", str(backup))
    assert record_sets(aws) == full
    aws.client("route53").change_resource_record_sets(
        HostedZoneId=aws.seed.hosted_zone_id,
        ChangeBatch={"Changes": [{**c, "Action": "DELETE"} for c in many]},
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read the Route53 zone backup {path}: No such file or directory"),
        ("{not json", "the Route53 zone backup {path} is not JSON: "),
        ('{"format": "other"}', "{path} is not a Route53 zone backup (gameday.route53-zone-backup/1): take one with backup_hosted_zone"),
        ('{"format": "gameday.route53-zone-backup/1", "zone_name": "other.internal.", "record_sets": []}',
         "the Route53 zone backup {path} is of zone other.internal., not of shop.internal."),
    ],
)
def test_a_bad_backup_is_refused_before_anything_changes(aws: AwsSandbox, zone_as_found, tmp_path: Path, content, expected):
    path = tmp_path / "zone.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ActivityFailed) as failed:
        restore_hosted_zone("shop.internal", str(path))
    assert str(failed.value).startswith(expected.format(path=path))
    assert record_sets(aws) == zone_as_found


def test_an_unknown_zone_is_named(aws: AwsSandbox, aws_env: dict[str, str], tmp_path: Path):
    with pytest.raises(ActivityFailed) as failed:
        backup_hosted_zone("nowhere.internal", str(tmp_path / "zone.json"))
    assert str(failed.value) == "there is no hosted zone named nowhere.internal. (nor with that id) for these credentials"
    assert not (tmp_path / "zone.json").exists()
