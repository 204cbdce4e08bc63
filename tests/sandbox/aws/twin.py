"""What the AWS twin's tests share: the worker's sandbox, who takes the writes, the cluster as it began."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests import sandboxes
from tests.catalog.support import Target, wait_until

CLUSTER = "shop-db"


@pytest.fixture
def sandbox(shared_sandbox: sandboxes.SharedSandbox) -> Iterator[dict[str, str]]:
    """The session's shared sandbox (its twin runs in its moto child); each test leaves it as it found it."""
    yield shared_sandbox.registered_env()
    shared_sandbox.check_as_found()


def superuser_dsn(target: Target, name: str = "DATABASE_URL") -> str:
    return make_conninfo(**{**conninfo_to_dict(target.env[name]), "user": "postgres"})


def writing_server(target: Target) -> tuple[str, str] | None:
    """(data directory, instance) of the server that takes a write through DATABASE_URL now, None when none does."""
    try:
        with psycopg.connect(superuser_dsn(target), autocommit=True, connect_timeout=2) as conn:
            row = conn.execute(
                "SELECT current_setting('data_directory'), aurora_db_instance_identifier(), pg_current_xact_id()"
            ).fetchone()
    except psycopg.Error:
        return None
    return (str(Path(row[0]).resolve()), str(row[1])) if row else None


def writer(target: Target) -> str:
    cluster = target.aws("rds").describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]
    return next(m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"] if m["IsClusterWriter"])


def data(target: Target, role: str) -> str:
    return str(Path(target.env[f"SANDBOX_PG_{role}_DATA"]).resolve())


@pytest.fixture
def as_before(target: Target) -> Iterator[list[str]]:
    """The db record before the test; afterwards the cluster is as it began: writer shop-db-1 in moto and locally."""
    srv_before = target.lookup("db.shop.internal", "SRV")
    assert writer(target) == "shop-db-1" and writing_server(target) == (data(target, "PRIMARY"), "shop-db-1")
    yield srv_before
    assert writer(target) == "shop-db-1"
    assert wait_until(lambda: target.lookup("db.shop.internal", "SRV") == srv_before, 30), "the db record did not come back"
    target.assert_database_as_before(srv_before)
    assert wait_until(lambda: writing_server(target) == (data(target, "PRIMARY"), "shop-db-1"), 15)


def aws_settings(target: Target) -> dict[str, Any]:
    return {
        "configuration": {"aws_endpoint_url": target.env["AWS_ENDPOINT_URL"], "aws_region": target.env["AWS_REGION"]},
        "secrets": {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"},
    }
