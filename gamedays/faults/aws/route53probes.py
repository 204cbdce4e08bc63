"""Probes for the Route53 record faults of :mod:`gamedays.faults.aws.route53`: what a record holds now.

chaosaws' Route53 probes cannot tell what a record holds without a hosted zone id
(``get_hosted_zone``) or Route53's ``TestDNSAnswer`` (``get_dns_answer``, which moto does
not implement), so a steady-state hypothesis about a record reads it here, through the
Route53 API, with the same client and zone lookup as the faults::

    - type: probe
      name: db-record-points-at-the-database
      tolerance: true
      provider: {type: python, module: gamedays.faults.aws.route53probes, func: record_has_values,
                 arguments: {zone_name: shop.internal, name: db, rdtype: A, values: ["127.0.0.1"]}}
"""

from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

from gamedays.faults.aws.route53 import absolute_name, route53_client
from gamedays.model.reach import Reach, acts_on

__all__ = ["record_has_values", "record_values"]

logger = logging.getLogger(__name__)


@acts_on(Reach.AWS)
def record_values(
    zone_name: str,
    name: str,
    rdtype: str,
    configuration: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> list[str]:
    """The sorted values of the ``rdtype`` record ``name`` in the hosted zone ``zone_name`` ([] when absent)."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = route53_client(configuration, secrets)
    wanted_zone = absolute_name("@", zone_name)
    try:
        zones = [
            z for z in client.list_hosted_zones_by_name(DNSName=wanted_zone, MaxItems="100")["HostedZones"]
            if absolute_name("@", z["Name"]) == wanted_zone
        ]  # fmt: skip
        if len(zones) != 1:
            raise _failed(f"{len(zones)} hosted zones are named {wanted_zone}; expected exactly one")
        zone_id = str(zones[0]["Id"]).rsplit("/", 1)[-1]
        record = absolute_name(name, zone_name)
        kind = rdtype.strip().upper()
        listed = client.list_resource_record_sets(
            HostedZoneId=zone_id, StartRecordName=record, StartRecordType=kind, MaxItems="100"
        )["ResourceRecordSets"]
    except (BotoCoreError, ClientError) as exc:
        raise _failed(f"cannot read {name} {rdtype} in {zone_name}: {exc}") from exc
    values = [
        str(rr["Value"])
        for rrset in listed
        if absolute_name(str(rrset["Name"]).replace("\\052", "*"), zone_name) == record and rrset["Type"] == kind
        for rr in rrset.get("ResourceRecords", [])
    ]
    return sorted(values)


@acts_on(Reach.AWS)
def record_has_values(
    zone_name: str,
    name: str,
    rdtype: str,
    values: Sequence[str],
    configuration: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> bool:
    """True when the record holds exactly ``values`` (in any order)."""
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise _failed(f"values must be a list of record values, got {values!r}")
    found = record_values(zone_name, name, rdtype, configuration, secrets)
    good = found == sorted(str(v) for v in values)
    if not good:
        logger.warning("%s %s in %s holds %s, expected %s", name, rdtype, zone_name, found, sorted(values))
    return good


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed (imported late, as in the other fault modules)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
