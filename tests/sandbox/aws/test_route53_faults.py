"""gamedays.faults.aws.route53 against the sandbox's Route53: the target's record sets are the evidence, not the backup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed
from hypothesis import given
from hypothesis import strategies as st

from gamedays.faults.aws.route53 import (
    absolute_name,
    change_record,
    delete_record,
    restore_record,
)
from gamedays.sandbox.aws import (
    DUMMY_ACCESS_KEY_ID,
    DUMMY_SECRET_ACCESS_KEY,
    AwsSandbox,
)


def record_sets(aws: AwsSandbox) -> list[dict[str, Any]]:
    return aws.client("route53").list_resource_record_sets(HostedZoneId=aws.seed.hosted_zone_id)["ResourceRecordSets"]


def record(aws: AwsSandbox, name: str, rdtype: str) -> dict[str, Any] | None:
    found = [r for r in record_sets(aws) if r["Name"] == name and r["Type"] == rdtype]
    assert len(found) <= 1
    return found[0] if found else None


def test_change_then_restore_gives_back_the_original_answer(aws: AwsSandbox, aws_env: dict[str, str], tmp_path: Path):
    original = record_sets(aws)
    backup = tmp_path / "state" / "db.json"
    out = change_record("shop.internal", "db", "A", ["192.0.2.66", "192.0.2.67"], ttl=5, backup=str(backup))
    assert record(aws, "db.shop.internal.", "A") == {
        "Name": "db.shop.internal.", "Type": "A", "TTL": 5,
        "ResourceRecords": [{"Value": "192.0.2.66"}, {"Value": "192.0.2.67"}],
    }
    assert out["previous"]["ResourceRecords"] == [{"Value": "127.0.0.1"}]
    json.dumps(out)  # a Chaos Toolkit activity's output goes into the journal
    restored = restore_record(str(backup))
    assert restored["action"] == "UPSERT"
    assert record_sets(aws) == original


def test_delete_then_restore(aws: AwsSandbox, aws_env: dict[str, str], tmp_path: Path):
    original = record_sets(aws)
    backup = str(tmp_path / "api.json")
    delete_record("shop.internal.", "api.shop.internal.", "A", backup=backup)
    assert record(aws, "api.shop.internal.", "A") is None
    restore_record(backup)
    assert record_sets(aws) == original


def test_restoring_a_record_that_did_not_exist_deletes_it(aws: AwsSandbox, aws_env: dict[str, str], tmp_path: Path):
    original = record_sets(aws)
    backup = str(tmp_path / "new.json")
    out = change_record(aws.seed.hosted_zone_id, "cache", "CNAME", ["db.shop.internal."], backup=backup)
    assert out["previous"] is None
    assert record(aws, "cache.shop.internal.", "CNAME") is not None
    assert restore_record(backup)["action"] == "DELETE"
    assert record_sets(aws) == original


def test_a_second_restore_changes_nothing(aws: AwsSandbox, aws_env: dict[str, str], tmp_path: Path):
    backup = str(tmp_path / "db.json")
    change_record("shop.internal", "db", "A", ["192.0.2.1"], backup=backup)
    restore_record(backup)
    after_first = record_sets(aws)
    change_record("shop.internal", "api", "A", ["192.0.2.2"], backup=str(tmp_path / "api.json"))
    try:
        assert restore_record(backup)["action"] == "none"  # must not touch db again, nor api
        assert record(aws, "api.shop.internal.", "A")["ResourceRecords"] == [{"Value": "192.0.2.2"}]
    finally:
        restore_record(str(tmp_path / "api.json"))
    assert record_sets(aws) == after_first


def test_a_repeated_fault_keeps_the_state_from_before_the_first(
    aws: AwsSandbox, aws_env: dict[str, str], tmp_path: Path
):
    original = record_sets(aws)
    backup = str(tmp_path / "db.json")
    change_record("shop.internal", "db", "A", ["192.0.2.1"], backup=backup)
    change_record("shop.internal", "db", "A", ["192.0.2.2"], backup=backup)  # the rollback of the first never ran
    restore_record(backup)
    assert record_sets(aws) == original
    change_record("shop.internal", "db", "A", ["192.0.2.3"], backup=backup)  # a restored backup is replaced
    assert json.loads(Path(backup).read_text())["previous"]["ResourceRecords"] == [{"Value": "127.0.0.1"}]
    restore_record(backup)
    assert record_sets(aws) == original


def test_a_backup_of_another_record_is_not_overwritten(aws: AwsSandbox, aws_env: dict[str, str], tmp_path: Path):
    original = record_sets(aws)
    backup = str(tmp_path / "shared.json")
    change_record("shop.internal", "db", "A", ["192.0.2.1"], backup=backup)
    try:
        with pytest.raises(ActivityFailed, match="holds the unrestored backup of the A record db.shop.internal."):
            delete_record("shop.internal", "api", "A", backup=backup)
        assert record(aws, "api.shop.internal.", "A") is not None  # refused before changing anything
    finally:
        restore_record(backup)
    assert record_sets(aws) == original


def test_configuration_and_secrets_are_honoured_without_the_environment(
    aws: AwsSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    configuration = {"aws_region": "us-east-1", "aws_endpoint_url": aws.endpoint_url}
    secrets = {"aws_access_key_id": DUMMY_ACCESS_KEY_ID, "aws_secret_access_key": DUMMY_SECRET_ACCESS_KEY}
    original = record_sets(aws)
    backup = str(tmp_path / "db.json")
    change_record(
        "shop.internal", "db", "A", ["192.0.2.9"], backup=backup, configuration=configuration, secrets=secrets
    )
    assert record(aws, "db.shop.internal.", "A")["ResourceRecords"] == [{"Value": "192.0.2.9"}]
    restore_record(backup, configuration=configuration, secrets=secrets)
    assert record_sets(aws) == original
    with pytest.raises(ActivityFailed, match="both aws_access_key_id and aws_secret_access_key"):
        change_record("shop.internal", "db", "A", ["192.0.2.9"], configuration=configuration,
                      secrets={"aws_access_key_id": "only-half"})


def test_failures_are_activity_failures_with_clear_messages(aws: AwsSandbox, aws_env: dict[str, str], tmp_path: Path):
    original = record_sets(aws)
    with pytest.raises(ActivityFailed, match=r"there is no hosted zone named nowhere.internal. \(nor with that id\)"):
        change_record("nowhere.internal", "db", "A", ["192.0.2.1"])
    with pytest.raises(ActivityFailed, match=r"there is no A record gone\.shop\.internal\. in zone .*nothing to delete"):
        delete_record("shop.internal", "gone", "A")
    with pytest.raises(ActivityFailed, match="values must be a non-empty list of strings"):
        change_record("shop.internal", "db", "A", "192.0.2.1")  # type: ignore[arg-type]
    with pytest.raises(ActivityFailed, match="ttl must be a whole number"):
        change_record("shop.internal", "db", "A", ["192.0.2.1"], ttl=-1)
    with pytest.raises(ActivityFailed, match=r"record 'db\.elsewhere\.' is not inside zone 'shop\.internal\.'"):
        change_record("shop.internal", "db.elsewhere.", "A", ["192.0.2.1"])
    with pytest.raises(ActivityFailed, match="cannot read the Route53 record backup .*missing.json"):
        restore_record(str(tmp_path / "missing.json"))
    (tmp_path / "junk.json").write_text('{"format": "something else"}')
    with pytest.raises(ActivityFailed, match="junk.json is not a Route53 record backup written by gameday"):
        restore_record(str(tmp_path / "junk.json"))
    assert record_sets(aws) == original


def test_an_unreachable_endpoint_is_an_activity_failure(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    from gamedays.sandbox.ports import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(ActivityFailed, match="cannot look up hosted zone 'shop.internal'.*Could not connect"):
        change_record("shop.internal", "db", "A", ["192.0.2.1"])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("db", "db.shop.internal."),
        ("DB.Shop.Internal", "db.shop.internal."),
        ("db.shop.internal.", "db.shop.internal."),
        ("@", "shop.internal."),
        ("shop.internal", "shop.internal."),
        ("a.b", "a.b.shop.internal."),
    ],
)
def test_absolute_name(name: str, expected: str):
    assert absolute_name(name, "shop.internal.") == absolute_name(name, "Shop.Internal") == expected


labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


@given(st.lists(labels, min_size=1, max_size=4), st.lists(labels, min_size=1, max_size=3))
def test_absolute_names_always_land_inside_the_zone(relative: list[str], zone: list[str]):
    zone_name = ".".join(zone) + "."
    absolute = absolute_name(".".join(relative), zone_name)
    assert absolute.endswith("." + zone_name) or absolute == zone_name
    assert absolute_name(absolute, zone_name) == absolute  # idempotent


def test_a_zone_name_shared_by_two_zones_needs_the_zone_id(aws: AwsSandbox, aws_env: dict[str, str], tmp_path: Path):
    route53 = aws.client("route53")
    public = route53.create_hosted_zone(Name="shop.internal.", CallerReference="split-horizon-test")["HostedZone"]
    public_id = public["Id"].rsplit("/", 1)[-1]
    try:
        with pytest.raises(ActivityFailed, match=rf"several hosted zones are named shop\.internal\.: .*{public_id} \(public\)"):
            change_record("shop.internal", "db", "A", ["192.0.2.1"])
        original = record_sets(aws)
        backup = str(tmp_path / "db.json")
        change_record(f"/hostedzone/{aws.seed.hosted_zone_id}", "db", "A", ["192.0.2.1"], backup=backup)
        assert record(aws, "db.shop.internal.", "A")["ResourceRecords"] == [{"Value": "192.0.2.1"}]
        restore_record(backup)
        assert record_sets(aws) == original
    finally:
        route53.delete_hosted_zone(Id=public_id)
