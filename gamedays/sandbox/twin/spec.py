"""What the twin's process is told to drive: plain frozen data, written to a JSON file by the launcher."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gamedays.model.dnsrecords import RecordSet
from gamedays.model.errors import SandboxError

if TYPE_CHECKING:
    from gamedays.sandbox.aws import AwsSandbox


@dataclass(frozen=True)
class Instance:
    """One DB instance of the cluster: its identifier, its server's data directory, its SRV target name."""

    identifier: str
    data_dir: str
    host: str

    @classmethod
    def parse(cls, text: str) -> Instance:
        """``shop-db-1=/path/to/data=pg-0``, as the spec file holds it."""
        identifier, rest = text.split("=", 1)
        data_dir, host = rest.rsplit("=", 1)
        return cls(identifier, data_dir, host)

    def argument(self) -> str:
        return f"{self.identifier}={self.data_dir}={self.host}"


@dataclass(frozen=True)
class TwinSpec:
    """What the twin drives: moto's endpoint, the Aurora cluster's instances, the zone and its records."""

    endpoint_url: str
    region: str
    trail: str
    cluster: str
    instances: tuple[str, ...]  # Instance.argument() of each
    dns_server: str
    zone: str
    writer_record: str
    database: str
    hosted_zone_id: str
    records: tuple[dict[str, object], ...]
    postgres_log: str

    @classmethod
    def of(
        cls, aws: AwsSandbox, instances: tuple[Instance, ...], dns_server: str, zone: str, records: tuple[RecordSet, ...],
        *, writer_record: str, database: str, postgres_log: Path,
    ) -> TwinSpec:  # fmt: skip
        seed = aws.seed
        if aws.trail_path is None:
            raise SandboxError("the AWS sandbox is not started")
        return cls(
            endpoint_url=aws.endpoint_url, region=aws.region, trail=str(aws.trail_path), cluster=seed.cluster_id,
            instances=tuple(i.argument() for i in instances), dns_server=dns_server, zone=zone,
            writer_record=writer_record, database=database, hosted_zone_id=seed.hosted_zone_id,
            records=tuple({"name": r.name, "rdtype": r.rdtype, "ttl": r.ttl, "values": list(r.values)} for r in records),
            postgres_log=str(postgres_log),
        )  # fmt: skip
