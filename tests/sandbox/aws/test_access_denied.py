"""A missing IAM permission: moto's server enforcing IAM, a role allowed to read but not to act.

The AWS fault functions end in ActivityFailed naming what they were refused and on which
resource, with the endpoint's own AccessDenied text, and change nothing. moto enforces IAM once
its first ``INITIAL_NO_AUTH_ACTION_COUNT`` calls are made: those set the test up (a cluster, a
user with a read-only policy and its keys), every later call is checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from chaoslib.exceptions import ActivityFailed

from gamedays.faults.aws.aurora import delete_cluster, snapshot_cluster
from gamedays.sandbox.ports import free_port
from tests.catalog.support import wait_until

pytestmark = pytest.mark.e2e

#: The calls before IAM is enforced: the cluster, the user, its policy, its keys.
SETUP_CALLS = 4
READ_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["rds:Describe*"], "Resource": "*"}]}


def client(service: str, url: str, **keys: str) -> Any:
    keys = keys or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", **keys)


@pytest.fixture
def enforcing(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A moto server enforcing IAM after the set-up; (its URL, the read-only user's keys)."""
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_CALLS)}
    log = (tmp_path / "moto.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: _answers(url), 30), "moto's server did not start"
        client("rds", url).create_db_cluster(DBClusterIdentifier="shop-db", Engine="aurora-postgresql",
                                             MasterUsername="shop", MasterUserPassword="moto-dummy-password")  # fmt: skip
        iam = client("iam", url)
        iam.create_user(UserName="gameday-drill")
        iam.put_user_policy(UserName="gameday-drill", PolicyName="read-only", PolicyDocument=json.dumps(READ_ONLY))
        key = iam.create_access_key(UserName="gameday-drill")["AccessKey"]
        yield url, {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    finally:
        server.terminate()
        server.wait(10)
        log.close()


def _answers(url: str) -> bool:
    import urllib.request

    try:
        urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
    except OSError:
        return False
    return True


def settings(url: str, keys: dict[str, str]) -> dict[str, Any]:
    return {"configuration": {"aws_endpoint_url": url, "aws_region": "us-east-1"}, "secrets": keys}


def test_a_missing_iam_permission_is_named_with_the_resource_and_nothing_changes(enforcing, tmp_path: Path):
    url, keys = enforcing
    readable = client("rds", url, **keys).describe_db_clusters(DBClusterIdentifier="shop-db")["DBClusters"]
    assert readable[0]["DBClusterIdentifier"] == "shop-db"  # the policy lets it read

    with pytest.raises(ActivityFailed, match=r"RDS refused to snapshot cluster shop-db as gameday-shop-db-\d+: AccessDenied: .*rds:CreateDBClusterSnapshot"):
        snapshot_cluster("shop-db", str(tmp_path / "backup.json"), **settings(url, keys))
    assert not (tmp_path / "backup.json").exists()
    with pytest.raises(ActivityFailed, match=r"RDS refused to delete cluster shop-db: AccessDenied: .*rds:DeleteDBCluster"):
        delete_cluster("shop-db", **settings(url, keys))
    assert client("rds", url, **keys).describe_db_clusters(DBClusterIdentifier="shop-db")["DBClusters"]  # still there
