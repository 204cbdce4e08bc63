"""The AWS endpoint's trail: the calls moto accepted that change something, and nothing else.

Against the folder's bare moto server (no twin attached): what the twin's worker is handed is
exactly what the trail shows, so a read, a refused call and the twin's own calls wake nothing.
"""

from __future__ import annotations

import botocore.exceptions
import pytest

from gamedays.sandbox.aws import AwsSandbox, isolated_client
from gamedays.sandbox.twin.trail import OWN_AGENT, TrailEvent


def trail(aws: AwsSandbox) -> list[TrailEvent]:
    assert aws.trail_path is not None
    if not aws.trail_path.exists():
        return []
    return [TrailEvent.from_json(line) for line in aws.trail_path.read_text().splitlines()]


def test_reads_are_not_in_the_trail_and_an_accepted_change_is(aws: AwsSandbox):
    before = len(trail(aws))
    rds = aws.client("rds")
    rds.describe_db_clusters(DBClusterIdentifier=aws.seed.cluster_id)
    aws.client("route53").list_resource_record_sets(HostedZoneId=aws.seed.hosted_zone_id)
    assert len(trail(aws)) == before
    rds.add_tags_to_resource(
        ResourceName=f"arn:aws:rds:{aws.region}:123456789012:cluster:{aws.seed.cluster_id}",
        Tags=[{"Key": "team", "Value": "sre"}],
    )
    (added,) = trail(aws)[before:]
    assert (added.service, added.action, added.parameters["Tags.Tag.1.Value"]) == ("rds", "AddTagsToResource", "sre")


def test_a_route53_record_change_names_its_hosted_zone(aws: AwsSandbox):
    before = len(trail(aws))
    rrset = {"Name": f"trail.{aws.seed.zone_name}", "Type": "A", "TTL": 1, "ResourceRecords": [{"Value": "192.0.2.1"}]}
    route53 = aws.client("route53")
    for action in ("CREATE", "DELETE"):
        route53.change_resource_record_sets(
            HostedZoneId=aws.seed.hosted_zone_id, ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": rrset}]}
        )
    assert [(e.service, e.action, e.parameters) for e in trail(aws)[before:]] == [
        ("route53", "ChangeResourceRecordSets", {"HostedZoneId": aws.seed.hosted_zone_id})
    ] * 2


def test_a_refused_call_and_the_twins_own_calls_are_not_in_the_trail(aws: AwsSandbox):
    before = len(trail(aws))
    with pytest.raises(botocore.exceptions.ClientError, match="DBClusterNotFoundFault"):
        aws.client("rds").failover_db_cluster(DBClusterIdentifier="no-such-cluster")
    own = isolated_client("ec2", aws.endpoint_url, aws.region, user_agent_extra=OWN_AGENT)
    own.create_tags(Resources=[aws.seed.ec2_instance_id], Tags=[{"Key": "seen-by", "Value": "twin"}])
    assert len(trail(aws)) == before
    assert own.describe_tags(Filters=[{"Name": "key", "Values": ["seen-by"]}])["Tags"], "the twin's own call was not served"


def test_no_secret_parameter_is_written(aws: AwsSandbox):
    before = len(trail(aws))
    aws.client("rds").modify_db_cluster(DBClusterIdentifier=aws.seed.cluster_id, MasterUserPassword="not-in-the-trail")
    (modified,) = trail(aws)[before:]
    assert modified.action == "ModifyDBCluster" and "MasterUserPassword" not in modified.parameters
    assert "not-in-the-trail" not in aws.trail_path.read_text()
