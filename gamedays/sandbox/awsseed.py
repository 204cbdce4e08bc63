"""What the sandbox's moto server holds from the start: the shop's resources, created as a user of AWS would.

The moto child (:mod:`gamedays.sandbox.aws`) calls :func:`seed_resources` through its own
endpoint with boto3 and reports the :class:`AwsSeed` in its ready file: a VPC, an EC2
instance and one per Kubernetes node of the sandbox (tagged :data:`NODE_TAG`), the Aurora PostgreSQL cluster ``shop-db`` (writer ``shop-db-1``, reader
``shop-db-2``), a Multi-AZ RDS instance, and the private hosted zone ``shop.internal.``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from gamedays.sandbox.ports import LOOPBACK

#: A made-up image id; moto does not validate AMIs unless MOTO_ENABLE_AMI_VALIDATION is set.
_SHOP_AMI = "ami-0a5a5a5a5a5a5a5a5"
_SHOP_TAGS = (("app", "shop"), ("gameday", "sandbox"))
#: The Aurora PostgreSQL cluster and its instances (the first one is the writer).
CLUSTER, WRITER, READER = "shop-db", "shop-db-1", "shop-db-2"
#: The tag that names the Kubernetes node an EC2 instance is (the sandbox's AWS twin follows it).
NODE_TAG = "gameday:kubernetes-node"
_DB_MASTER_USER = "shop"
_DB_MASTER_PASSWORD = "moto-dummy-password"  # moto keeps it, nothing checks it: not a secret


@dataclass(frozen=True)
class SeededRecord:
    """One record of the seeded Route53 zone, with its absolute name (``db.shop.internal.``)."""

    name: str
    rdtype: str
    values: tuple[str, ...]
    ttl: int


@dataclass(frozen=True)
class AwsSeed:
    """The identifiers of what the sandbox seeded, for experiments and tests to aim at."""

    region: str
    vpc_id: str
    subnet_id: str
    ec2_instance_id: str
    cluster_id: str
    writer_instance_id: str
    reader_instance_id: str
    legacy_instance_id: str
    hosted_zone_id: str
    zone_name: str
    records: tuple[SeededRecord, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AwsSeed:
        data = json.loads(text)
        records = tuple(
            SeededRecord(r["name"], r["rdtype"], tuple(r["values"]), int(r["ttl"])) for r in data.pop("records")
        )
        return cls(records=records, **data)


def seed_resources(endpoint_url: str, region: str, nodes: Sequence[str] = (), session: Any = None) -> AwsSeed:
    """Create the shop's resources through the endpoint with boto3, as a user of AWS would (an instance per node)."""
    tags = [{"Key": key, "Value": value} for key, value in _SHOP_TAGS]

    def named(kind: str, name: str) -> list[dict[str, Any]]:
        return [{"ResourceType": kind, "Tags": [*tags, {"Key": "Name", "Value": name}]}]

    from gamedays.sandbox.aws import isolated_client

    ec2 = isolated_client("ec2", endpoint_url, region, session=session)
    vpc_id = ec2.create_vpc(CidrBlock="10.42.0.0/16", TagSpecifications=named("vpc", "shop-vpc"))["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.42.1.0/24", AvailabilityZone=f"{region}a")["Subnet"]
    instance = ec2.run_instances(
        ImageId=_SHOP_AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=subnet["SubnetId"],
        TagSpecifications=named("instance", "shop-api-1"),
    )["Instances"][0]
    for node in nodes:  # as an EKS node group's: the cluster tag, and the node's name
        ec2.run_instances(
            ImageId=_SHOP_AMI, InstanceType="t3.medium", MinCount=1, MaxCount=1, SubnetId=subnet["SubnetId"],
            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                *tags, {"Key": "Name", "Value": node}, {"Key": NODE_TAG, "Value": node},
                {"Key": "kubernetes.io/cluster/sandbox", "Value": "owned"},
            ]}],
        )  # fmt: skip

    rds = isolated_client("rds", endpoint_url, region, session=session)
    login = {"MasterUsername": _DB_MASTER_USER, "MasterUserPassword": _DB_MASTER_PASSWORD}
    rds.create_db_cluster(
        DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", DatabaseName="shop", Tags=tags, **login
    )
    for identifier, zone in ((WRITER, "a"), (READER, "b")):  # the first one becomes the writer
        rds.create_db_instance(
            DBInstanceIdentifier=identifier, DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large", AvailabilityZone=f"{region}{zone}", Tags=tags,
        )
    rds.create_db_instance(
        DBInstanceIdentifier="shop-db-legacy", Engine="postgres", DBInstanceClass="db.t3.medium",
        AllocatedStorage=20, MultiAZ=True, Tags=tags, **login,
    )

    route53 = isolated_client("route53", endpoint_url, region, session=session)
    zone_name = "shop.internal."
    zone_id = route53.create_hosted_zone(
        Name=zone_name,
        CallerReference=f"gameday-sandbox-{os.getpid()}-{time.time_ns()}",
        HostedZoneConfig={"Comment": "gameday sandbox: the shop's private zone", "PrivateZone": True},
        VPC={"VPCRegion": region, "VPCId": vpc_id},
    )["HostedZone"]["Id"].rsplit("/", 1)[-1]
    records = (
        SeededRecord(f"db.{zone_name}", "A", (LOOPBACK,), 30),
        SeededRecord(f"api.{zone_name}", "A", (LOOPBACK,), 30),
    )
    changes = [
        {
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": r.name, "Type": r.rdtype, "TTL": r.ttl, "ResourceRecords": [{"Value": v} for v in r.values],
            },
        }
        for r in records
    ]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Comment": "seed", "Changes": changes})
    return AwsSeed(
        region=region, vpc_id=vpc_id, subnet_id=subnet["SubnetId"], ec2_instance_id=instance["InstanceId"],
        cluster_id=CLUSTER, writer_instance_id=WRITER, reader_instance_id=READER,
        legacy_instance_id="shop-db-legacy", hosted_zone_id=zone_id, zone_name=zone_name, records=records,
    )
