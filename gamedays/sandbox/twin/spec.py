"""What the twin drives: plain frozen data, sent by the sandbox to the moto child as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from gamedays.model.dnsrecords import RecordSet


@dataclass(frozen=True)
class Instance:
    """One DB instance of the Aurora cluster: its identifier, its server's data directory, its SRV target label."""

    identifier: str
    data_dir: str
    host: str


@dataclass(frozen=True)
class TwinSpec:
    """The Aurora cluster's instances, the sandbox DNS zone and its records, the Kubernetes nodes, where the twin logs and keeps snapshots."""

    cluster: str
    writer: str  # the instance that is the writer when the twin is attached
    instances: tuple[Instance, ...]
    dns_server: str  # host:port of the sandbox DNS
    zone: str  # shop.internal.
    writer_record: str  # the SRV record that is the cluster's writer endpoint: db
    database: str
    hosted_zone_id: str
    records: tuple[RecordSet, ...]
    kube_url: str
    nodes: tuple[str, ...]
    postgres_log: str
    log_file: str
    snapshots_dir: str  # the cluster snapshots' base backups, and the automated ones point-in-time restores start from
    archive_dir: str  # where the writer archives its WAL (point-in-time restores replay it)
    restored_record: str  # the SRV record that is the writer endpoint of a cluster restored to a point in time: restored

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> TwinSpec:
        data = json.loads(text)
        instances = tuple(Instance(**i) for i in data.pop("instances"))
        records = tuple(
            RecordSet(r["name"], r["rdtype"], int(r["ttl"]), tuple(r["values"])) for r in data.pop("records")
        )
        return cls(instances=instances, records=records, nodes=tuple(data.pop("nodes")), **data)
