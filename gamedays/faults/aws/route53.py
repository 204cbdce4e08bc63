"""Route53 record faults as Chaos Toolkit python-provider functions: change, delete, restore.

chaosaws can read Route53 but has no action that changes a record, so these
boto3 functions fill the gap: :func:`change_record` points a record somewhere
wrong, :func:`delete_record` removes it, and :func:`restore_record` (the
rollback) puts back exactly the record set saved before the fault.

They take Chaos Toolkit's ``configuration`` and ``secrets`` like chaosaws does
(``aws_region``, ``aws_profile_name``, ``aws_assume_role_arn``,
``aws_assume_role_session_name``; secrets ``aws_access_key_id``,
``aws_secret_access_key``, ``aws_session_token``), plus ``aws_endpoint_url``.
botocore itself honours ``AWS_ENDPOINT_URL``, which is how the sandbox points
them at moto. Unlike chaosaws they build a private boto3 session per call, so
they never share boto3's process-wide default session.

The backup file is JSON, written atomically before the record changes. When a
backup for the same record is already there and not yet restored (an earlier
fault was never rolled back), it is kept: it holds the state before the first
fault. :func:`restore_record` marks the file restored, so a second rollback is
a no-op and the next fault may write a fresh backup.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

from gamedays.atomicfile import write_atomically
from gamedays.faults.aws.client import aws_client
from gamedays.model.reach import Reach, acts_on

__all__ = ["change_record", "delete_record", "restore_record"]

log = logging.getLogger(__name__)

BACKUP_FORMAT = "gameday.route53-backup/1"
#: Route53 is a global service: without a configured region any region signs correctly.
_MAX_RECORDS_PER_LOOKUP = "100"


@dataclass(frozen=True)
class RecordKey:
    """One record set's address: the zone (id and absolute name) and the record's absolute name and type."""

    zone_id: str
    zone_name: str
    name: str
    rdtype: str

    def describe(self) -> str:
        return f"{self.rdtype} record {self.name} in zone {self.zone_name} ({self.zone_id})"


@dataclass(frozen=True)
class Backup:
    """The record set as it was before a fault (``None``: there was none), as stored in the backup file."""

    key: RecordKey
    previous: Mapping[str, Any] | None
    restored: bool
    saved_at: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": BACKUP_FORMAT,
                "zone_id": self.key.zone_id,
                "zone_name": self.key.zone_name,
                "name": self.key.name,
                "type": self.key.rdtype,
                "previous": dict(self.previous) if self.previous is not None else None,
                "restored": self.restored,
                "saved_at": self.saved_at,
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str, source: str) -> Backup:
        try:
            data = json.loads(text)
            if data.get("format") != BACKUP_FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, expected {BACKUP_FORMAT!r}")
            key = RecordKey(str(data["zone_id"]), str(data["zone_name"]), str(data["name"]), str(data["type"]))
            previous = data["previous"]
            if previous is not None and not isinstance(previous, dict):
                raise ValueError("'previous' must be a record set or null")
            return cls(key, previous, bool(data["restored"]), str(data["saved_at"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise _failed(f"{source} is not a Route53 record backup written by gameday: {exc}") from None


@acts_on(Reach.AWS)
def change_record(
    zone_name: str,
    name: str,
    rdtype: str,
    values: Sequence[str],
    ttl: int = 60,
    backup: str | None = None,
    configuration: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """UPSERT ``name``/``rdtype`` in the zone to ``values`` (e.g. a wrong address), saving the old record set first.

    ``name`` may be relative to the zone (``db``), absolute (``db.shop.internal.``) or ``@`` for the apex;
    ``zone_name`` may also be a hosted zone id when several zones share a name. Returns the previous and
    the new record set and the Route53 change id.
    """
    if isinstance(values, str) or not values or not all(isinstance(v, str) and v for v in values):
        raise _failed(f"values must be a non-empty list of strings, got {values!r}")
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
        raise _failed(f"ttl must be a whole number of seconds >= 0, got {ttl!r}")
    client = route53_client(configuration, secrets)
    key = _locate(client, zone_name, name, rdtype)
    previous = _current(client, key)
    _save(backup, key, previous)
    desired = {"Name": key.name, "Type": key.rdtype, "TTL": ttl, "ResourceRecords": [{"Value": v} for v in values]}
    change = _apply(client, key, "UPSERT", desired)
    log.info("changed %s to %s", key.describe(), list(values))
    return {**_describe(key), "previous": previous, "current": desired, "change": change, "backup": backup}


@acts_on(Reach.AWS)
def delete_record(
    zone_name: str,
    name: str,
    rdtype: str,
    backup: str | None = None,
    configuration: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Delete ``name``/``rdtype`` from the zone, saving it first. Fails when there is no such record."""
    client = route53_client(configuration, secrets)
    key = _locate(client, zone_name, name, rdtype)
    previous = _current(client, key)
    if previous is None:
        raise _failed(f"there is no {key.describe()}: nothing to delete")
    _save(backup, key, previous)
    change = _apply(client, key, "DELETE", previous)
    log.info("deleted %s", key.describe())
    return {**_describe(key), "previous": previous, "change": change, "backup": backup}


@acts_on(Reach.AWS)
def restore_record(
    backup: str,
    configuration: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Put back exactly the record set saved in ``backup``, or delete the record if there was none before.

    Marks the backup restored; restoring it again changes nothing.
    """
    path = Path(backup)
    try:
        saved = Backup.from_json(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise _failed(f"cannot read the Route53 record backup {path}: {exc.strerror or exc}") from None
    key = saved.key
    if saved.restored:
        log.info("backup %s was already restored: nothing to do", path)
        return {**_describe(key), "action": "none", "restored": saved.previous, "change": None}
    client = route53_client(configuration, secrets)
    current = _current(client, key)
    change: dict[str, str] | None = None
    if saved.previous is not None:
        action = "UPSERT"
        change = _apply(client, key, action, saved.previous)
    elif current is not None:
        action = "DELETE"  # the record did not exist before the fault
        change = _apply(client, key, action, current)
    else:
        action = "none"
    _write_atomically(path, Backup(key, saved.previous, True, saved.saved_at).to_json())
    log.info("restored %s from %s (%s)", key.describe(), path, action)
    return {**_describe(key), "action": action, "restored": saved.previous, "change": change}


def route53_client(configuration: Mapping[str, Any] | None = None, secrets: Mapping[str, Any] | None = None) -> Any:
    """A boto3 Route53 client from Chaos Toolkit's configuration and secrets, read the way chaosaws reads them."""
    return aws_client("route53", configuration, secrets)


def absolute_name(name: str, zone_name: str) -> str:
    """``name`` as an absolute, lower-case DNS name inside ``zone_name`` (``db`` -> ``db.shop.internal.``)."""
    zone = normal_name(zone_name)
    given = name.strip()
    if given in ("", "@"):
        return zone
    lowered = given.lower()
    if lowered.endswith("."):
        absolute = lowered
    elif lowered + "." == zone or (lowered + ".").endswith("." + zone):
        absolute = lowered + "."
    else:
        absolute = f"{lowered}.{zone}"
    if absolute != zone and not absolute.endswith("." + zone):
        raise _failed(f"record {name!r} is not inside zone {zone_name!r}")
    return absolute


def normal_name(name: str) -> str:
    """A DNS name as Route53 lists it, compared case-insensitively: lower case, trailing dot, '*' unescaped."""
    lowered = name.strip().lower().replace("\\052", "*")
    return lowered if lowered.endswith(".") else lowered + "."


def locate_zone(client: Any, zone_name: str) -> tuple[str, str]:
    """(id, absolute name) of the hosted zone named ``zone_name`` (or with that id); fails unless exactly one."""
    from botocore.exceptions import BotoCoreError, ClientError

    wanted = normal_name(zone_name)
    try:
        listed = client.list_hosted_zones_by_name(DNSName=wanted, MaxItems=_MAX_RECORDS_PER_LOOKUP)["HostedZones"]
        zones = [zone for zone in listed if normal_name(zone["Name"]) == wanted]
        if not zones:
            zones = _zone_by_id(client, zone_name)
    except (BotoCoreError, ClientError) as exc:
        raise _failed(f"cannot look up hosted zone {zone_name!r}: {exc}") from exc
    if not zones:
        raise _failed(f"there is no hosted zone named {wanted} (nor with that id) for these credentials")
    if len(zones) > 1:
        ids = ", ".join(f"{_zone_id(z)} ({'private' if z.get('Config', {}).get('PrivateZone') else 'public'})" for z in zones)
        raise _failed(f"several hosted zones are named {wanted}: {ids}; pass the zone's id as zone_name")
    zone = zones[0]
    return _zone_id(zone), normal_name(zone["Name"])


def _locate(client: Any, zone_name: str, name: str, rdtype: str) -> RecordKey:
    """The zone and record a fault aims at; the zone is looked up by name, then by id."""
    if not isinstance(rdtype, str) or not rdtype.strip():
        raise _failed(f"rdtype must be a record type such as A or CNAME, got {rdtype!r}")
    zone_id, name_of_zone = locate_zone(client, zone_name)
    return RecordKey(zone_id, name_of_zone, absolute_name(name, name_of_zone), rdtype.strip().upper())


def _zone_by_id(client: Any, zone_id: str) -> list[dict[str, Any]]:
    from botocore.exceptions import ClientError

    try:
        return [client.get_hosted_zone(Id=zone_id.rsplit("/", 1)[-1])["HostedZone"]]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchHostedZone", "InvalidInput"):
            return []
        raise


def _zone_id(zone: Mapping[str, Any]) -> str:
    return str(zone["Id"]).rsplit("/", 1)[-1]


def _current(client: Any, key: RecordKey) -> dict[str, Any] | None:
    """The record set at ``key`` as Route53 lists it, or None. Refuses routing-policy record sets."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        listed = client.list_resource_record_sets(
            HostedZoneId=key.zone_id,
            StartRecordName=key.name,
            StartRecordType=key.rdtype,
            MaxItems=_MAX_RECORDS_PER_LOOKUP,
        )["ResourceRecordSets"]
    except (BotoCoreError, ClientError) as exc:
        raise _failed(f"cannot read the {key.describe()}: {exc}") from exc
    found = [rrset for rrset in listed if normal_name(rrset["Name"]) == key.name and rrset["Type"] == key.rdtype]
    if any("SetIdentifier" in rrset for rrset in found):
        raise _failed(f"the {key.describe()} uses a routing policy (SetIdentifier); such records are not supported")
    return found[0] if found else None


def _apply(client: Any, key: RecordKey, action: str, rrset: Mapping[str, Any]) -> dict[str, str]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        info = client.change_resource_record_sets(
            HostedZoneId=key.zone_id,
            ChangeBatch={
                "Comment": f"gameday fault: {action} {key.name} {key.rdtype}",
                "Changes": [{"Action": action, "ResourceRecordSet": dict(rrset)}],
            },
        )["ChangeInfo"]
    except (BotoCoreError, ClientError) as exc:
        raise _failed(f"Route53 refused to {action} the {key.describe()}: {exc}") from exc
    return {"id": str(info["Id"]), "status": str(info["Status"])}


def _save(backup: str | None, key: RecordKey, previous: Mapping[str, Any] | None) -> None:
    """Write the backup before the fault; keep an unrestored backup of the same record (it predates this fault)."""
    if backup is None:
        return
    path = Path(backup)
    if path.exists():
        try:
            existing = Backup.from_json(path.read_text(encoding="utf-8"), str(path))
        except OSError as exc:
            raise _failed(f"cannot read the existing backup {path}: {exc.strerror or exc}") from None
        if not existing.restored:
            if existing.key != key:
                raise _failed(
                    f"{path} holds the unrestored backup of the {existing.key.describe()}; "
                    "restore it or choose another backup file"
                )
            log.warning("keeping the unrestored backup %s: it holds the record as it was before an earlier fault", path)
            return
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    _write_atomically(path, Backup(key, previous, False, stamp).to_json())


def _write_atomically(path: Path, text: str) -> None:
    try:
        write_atomically(path, text)
    except OSError as exc:
        raise _failed(f"cannot write the Route53 record backup {path}: {exc.strerror or exc}") from None


def _describe(key: RecordKey) -> dict[str, str]:
    return {"zone_id": key.zone_id, "zone_name": key.zone_name, "name": key.name, "type": key.rdtype}


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed (imported late: chaoslib is heavy and this module must import fast)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
