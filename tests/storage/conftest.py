"""Report folders in the sandbox's moto S3 (AWS_ENDPOINT_URL): a bucket per test, plans whose report.out is in it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gamedays.sandbox.aws import AwsSandbox, isolated_client
from tests.engine.run.conftest import PlanWriter, plans, sandbox  # noqa: F401 - fixtures, re-used here
from tests.sandbox.aws.conftest import aws  # noqa: F401 - the session's moto server, for the tests without a sandbox


class S3:
    """A bucket of a moto server, read with an ordinary boto3 client (not gameday's)."""

    def __init__(self, endpoint: str, region: str, bucket: str) -> None:
        self.client = isolated_client("s3", endpoint, region)
        self.bucket = bucket
        self.client.create_bucket(Bucket=bucket)

    def url(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def keys(self, prefix: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", ()))

    def objects(self, prefix: str) -> dict[str, bytes]:
        return {key: self.get(key) or b"" for key in self.keys(prefix)}

    def drop_bucket(self) -> bool:
        """Empty the bucket and delete it (an S3 outage, as gameday sees it); False when an upload got in between."""
        for key in self.keys(""):
            self.client.delete_object(Bucket=self.bucket, Key=key)
        try:
            self.client.delete_bucket(Bucket=self.bucket)
        except self.client.exceptions.ClientError:
            return False
        return True

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)


def new_bucket_name() -> str:
    return f"gameday-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def s3(sandbox: dict[str, str]) -> S3:  # noqa: F811 - the fixture imported above
    """A fresh bucket in the sandbox's own moto server (the one its AWS_ENDPOINT_URL names)."""
    return S3(sandbox["AWS_ENDPOINT_URL"], sandbox["AWS_DEFAULT_REGION"], new_bucket_name())


@pytest.fixture
def moto_env(aws: AwsSandbox, tmp_path: Path) -> Iterator[dict[str, str]]:  # noqa: F811 - the fixture imported above
    """This environment with only the moto server's AWS settings, and a GAMEDAY_HOME of the test's own."""
    import os

    yield {**aws.child_env(os.environ), "GAMEDAY_HOME": str(tmp_path / "home")}


def stored_plan(writer: PlanWriter, steps: list[dict], url: str, **options) -> Path:
    """A plan of :class:`PlanWriter` whose report.out is ``url``."""
    path = writer.write(steps, **options)
    plan = json.loads(path.read_text())
    plan["report"] = {"out": url, "formats": ["html", "md", "json", "junit"]}
    path.write_text(json.dumps(plan, indent=2))  # one key per line: report.out has a line of its own
    return path
