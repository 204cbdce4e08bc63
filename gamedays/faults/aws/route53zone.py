"""Route53 disaster recovery: back a hosted zone up, lose its record sets, restore them from the backup.

The Route53 playbook's disaster is "the hosted zone's record sets are gone" (a bad Terraform
apply, a wrong automation run): every record set but the apex SOA and NS is deleted
(:func:`delete_hosted_zone_records`); the recovery makes the zone hold again what
:func:`backup_hosted_zone` saved (:func:`restore_hosted_zone`), and waits until Route53
reports the change INSYNC (on its name servers), so the RTO includes the propagation.

    backup                                    disaster                                recovery
    backup_hosted_zone(zone_name, path)       delete_hosted_zone_records(zone_name)   restore_hosted_zone(zone_name, path)

Record sets are kept whole, as Route53 lists them (alias targets, routing policies, health
checks and all), and changed in batches of at most :data:`BATCH` changes, each all or
nothing. The backup is JSON, written atomically: ``{"format", "zone_id", "zone_name",
"taken_at", "record_sets": [...]}``. They take Chaos Toolkit's ``configuration`` and
``secrets`` as :mod:`gamedays.faults.aws.route53` does (the standard boto3 credential chain,
``AWS_ENDPOINT_URL``). Failures raise chaoslib's ``ActivityFailed`` naming the zone.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Mapping

from gamedays.atomicfile import write_atomically
from gamedays.faults.aws.route53 import locate_zone, normal_name, route53_client
from gamedays.model.reach import Reach, acts_on

__all__ = ["backup_hosted_zone", "delete_hosted_zone_records", "restore_hosted_zone"]

log = logging.getLogger(__name__)

FORMAT = "gameday.route53-zone-backup/1"
BATCH = 100  # changes per ChangeResourceRecordSets call (Route53 takes up to 1,000 records and 32,000 characters)
INSYNC_POLL_SECONDS = 2.0
_APEX_KEPT = ("SOA", "NS")


@acts_on(Reach.AWS)
def backup_hosted_zone(
    zone_name: str,
    path: str,
    configuration: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Save every record set of the hosted zone ``zone_name`` (or id) to ``path``; returns a summary."""
    client = route53_client(configuration, secrets)
    zone_id, name = locate_zone(client, zone_name)
    record_sets = _record_sets(client, zone_id, name)
    data = {"format": FORMAT, "zone_id": zone_id, "zone_name": name, "taken_at": time.time(), "record_sets": record_sets}
    try:
        write_atomically(Path(path), json.dumps(data, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise _failed(f"cannot write the Route53 zone backup {path}: {exc.strerror or exc}") from None
    log.info("backed up %d record set(s) of %s (%s) to %s", len(record_sets), name, zone_id, path)
    return {"zone_id": zone_id, "zone_name": name, "path": str(path), "record_sets": len(record_sets)}


@acts_on(Reach.AWS)
def delete_hosted_zone_records(
    zone_name: str,
    configuration: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The disaster: delete every record set of the zone but the apex SOA and NS. Returns what went."""
    client = route53_client(configuration, secrets)
    zone_id, name = locate_zone(client, zone_name)
    doomed = [rrset for rrset in _record_sets(client, zone_id, name) if not _kept(rrset, name)]
    _change(client, zone_id, name, [("DELETE", rrset) for rrset in doomed], "gameday DR disaster: delete the record sets")
    log.info("deleted %d record set(s) of %s (%s)", len(doomed), name, zone_id)
    return {"zone_id": zone_id, "zone_name": name, "deleted": [_label(rrset) for rrset in doomed]}


@acts_on(Reach.AWS)
def restore_hosted_zone(
    zone_name: str,
    path: str,
    insync_timeout: float = 300.0,
    configuration: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Make the zone hold exactly what the backup at ``path`` holds (apex SOA and NS aside). Idempotent.

    Record sets not in the backup are deleted, the backup's are put back (UPSERT), then the
    changes are waited for (INSYNC, at most ``insync_timeout`` seconds) and the zone is read
    again and checked. Returns the record sets ``restored``, ``removed`` and ``unchanged``.
    """
    saved = _read_backup(Path(path))
    client = route53_client(configuration, secrets)
    zone_id, name = locate_zone(client, zone_name)
    if normal_name(saved["zone_name"]) != name:
        raise _failed(f"the Route53 zone backup {path} is of zone {saved['zone_name']}, not of {name}")
    wanted = {_key(rrset): rrset for rrset in saved["record_sets"] if not _kept(rrset, name)}
    present = {_key(rrset): rrset for rrset in _record_sets(client, zone_id, name) if not _kept(rrset, name)}
    removed = [key for key in present if key not in wanted]
    restored = [key for key, rrset in wanted.items() if present.get(key) != rrset]
    changes = [("DELETE", present[key]) for key in removed] + [("UPSERT", wanted[key]) for key in restored]
    change_ids = _change(client, zone_id, name, changes, f"gameday DR recovery: restore from {Path(path).name}")
    _wait_insync(client, change_ids, float(insync_timeout), name)
    after = {_key(rrset): rrset for rrset in _record_sets(client, zone_id, name) if not _kept(rrset, name)}
    wrong = sorted(" ".join(key) for key in set(after) | set(wanted) if after.get(key) != wanted.get(key))
    if wrong:
        raise _failed(f"hosted zone {name} ({zone_id}) does not hold what was restored from {path}: {', '.join(wrong)}")
    log.info("restored %s (%s) from %s: %d put back, %d removed", name, zone_id, path, len(restored), len(removed))
    return {
        "zone_id": zone_id,
        "zone_name": name,
        "restored": [" ".join(key) for key in restored],
        "removed": [" ".join(key) for key in removed],
        "unchanged": len(wanted) - len(restored),
    }


def _record_sets(client: Any, zone_id: str, zone_name: str) -> list[dict[str, Any]]:
    """Every record set of the zone, as Route53 lists them, page after page."""
    from botocore.exceptions import BotoCoreError, ClientError

    found: list[dict[str, Any]] = []
    start: dict[str, str] = {}
    try:
        while True:
            page = client.list_resource_record_sets(HostedZoneId=zone_id, MaxItems="300", **start)
            found.extend(page["ResourceRecordSets"])
            if not page.get("IsTruncated"):
                return found
            start = {"StartRecordName": page["NextRecordName"], "StartRecordType": page["NextRecordType"]}
            if "NextRecordIdentifier" in page:
                start["StartRecordIdentifier"] = page["NextRecordIdentifier"]
    except (BotoCoreError, ClientError) as exc:
        raise _failed(f"cannot list the record sets of hosted zone {zone_name} ({zone_id}): {exc}") from exc


def _change(client: Any, zone_id: str, zone_name: str, changes: list[tuple[str, dict[str, Any]]], comment: str) -> list[str]:
    """Apply ``changes`` in batches of :data:`BATCH`; the ids of the changes Route53 accepted."""
    from botocore.exceptions import BotoCoreError, ClientError

    ids = []
    for first in range(0, len(changes), BATCH):
        batch = [{"Action": action, "ResourceRecordSet": rrset} for action, rrset in changes[first : first + BATCH]]
        try:
            info = client.change_resource_record_sets(
                HostedZoneId=zone_id, ChangeBatch={"Comment": comment[:256], "Changes": batch}
            )["ChangeInfo"]
        except (BotoCoreError, ClientError) as exc:
            done = f" ({first} of {len(changes)} changes were applied before)" if first else ""
            raise _failed(f"Route53 refused to change hosted zone {zone_name} ({zone_id}): {exc}{done}") from exc
        ids.append(str(info["Id"]))
    return ids


def _wait_insync(client: Any, change_ids: list[str], timeout: float, zone_name: str) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    deadline = time.monotonic() + max(0.0, timeout)
    for change_id in change_ids:
        while True:
            try:
                status = client.get_change(Id=change_id)["ChangeInfo"]["Status"]
            except (BotoCoreError, ClientError) as exc:
                raise _failed(f"cannot read the status of change {change_id} of hosted zone {zone_name}: {exc}") from exc
            if status == "INSYNC":
                break
            if time.monotonic() >= deadline:
                raise _failed(f"change {change_id} of hosted zone {zone_name} was still {status} after {timeout:g}s")
            time.sleep(INSYNC_POLL_SECONDS)


def _read_backup(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _failed(f"cannot read the Route53 zone backup {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise _failed(f"the Route53 zone backup {path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("record_sets"), list):
        raise _failed(f"{path} is not a Route53 zone backup ({FORMAT}): take one with backup_hosted_zone")
    return data


def _key(rrset: Mapping[str, Any]) -> tuple[str, ...]:
    return (normal_name(str(rrset["Name"])), str(rrset["Type"]), *((str(rrset["SetIdentifier"]),) if "SetIdentifier" in rrset else ()))


def _kept(rrset: Mapping[str, Any], zone_name: str) -> bool:
    """The apex SOA and NS: what the disaster leaves and the recovery never touches."""
    return normal_name(str(rrset["Name"])) == zone_name and rrset["Type"] in _APEX_KEPT


def _label(rrset: Mapping[str, Any]) -> str:
    return " ".join(_key(rrset))


def _failed(message: str) -> Exception:
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
