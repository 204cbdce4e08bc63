"""The S3 bucket of a stored report folder: boto3's standard credential chain, ``AWS_ENDPOINT_URL`` honoured.

boto3 is imported when a bucket is first used, never at import time, so ``gameday --help``
stays fast. Every failure is a :class:`StorageError` in plain words (no such bucket, no
credentials, access denied, S3 unreachable), and no credential ever reaches its message:
the values of the credential variables are cut out of whatever botocore said.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator, Mapping
from urllib.parse import urlsplit

from gamedays.model.errors import GamedayError, InvalidInput, Problem
from gamedays.model.location import ALLOWED, ReportStore, S3Location, parse_s3_url

#: Short timeouts and few retries: an S3 outage must not hold a run's end for minutes.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
ATTEMPTS = 3
#: What S3 answers a conditional write that lost: the condition failed, or a concurrent one won.
_CONDITION_FAILED = ("PreconditionFailed", "412", "ConditionalRequestConflict", "409")
#: The credential chain's variables whose values never appear in a message.
SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ACCESS_KEY_ID")
CHAIN = (
    "gameday takes them from the standard chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
    "AWS_PROFILE and ~/.aws, a web identity token, or the instance's or pod's role"
)


class StorageError(GamedayError):
    """A stored report folder cannot be used: bad URL, no such bucket, no credentials, no access, S3 unreachable."""

    exit_code = 2


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    etag: str  # without its quotes: the MD5 of the content for objects uploaded in one part
    modified: float  # epoch seconds


class Bucket:
    """The bucket of ``location``; one boto3 session and client of its own (safe for the thread that uses it)."""

    def __init__(self, location: S3Location, env: Mapping[str, str] = os.environ) -> None:
        self.location = location
        self._env = env
        self._client: Any = None

    def check(self) -> None:
        """The bucket exists and these credentials reach it; StorageError otherwise."""
        self._call("head_bucket", Bucket=self.location.bucket)

    def objects(self, prefix: str) -> Iterator[StoredObject]:
        """Every object whose key starts with ``prefix``."""
        token: str | None = None
        while True:
            extra: dict[str, Any] = {"ContinuationToken": token} if token else {}
            page = self._call("list_objects_v2", Bucket=self.location.bucket, Prefix=prefix, **extra)
            for item in page.get("Contents", ()):
                yield StoredObject(str(item["Key"]), int(item["Size"]), str(item.get("ETag", "")).strip('"'),
                                   item["LastModified"].timestamp())
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    def folders(self, prefix: str) -> list[str]:
        """The "folders" right below ``prefix`` (common prefixes, each ending with /)."""
        found: list[str] = []
        token: str | None = None
        while True:
            extra: dict[str, Any] = {"ContinuationToken": token} if token else {}
            page = self._call("list_objects_v2", Bucket=self.location.bucket, Prefix=prefix, Delimiter="/", **extra)
            found += [str(item["Prefix"]) for item in page.get("CommonPrefixes", ())]
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return found

    def get(self, key: str) -> bytes | None:
        """The object's content; None when there is no such object."""
        found = self.get_with_etag(key)
        return found[0] if found is not None else None

    def put(self, key: str, data: bytes) -> None:
        self._call("put_object", Bucket=self.location.bucket, Key=key, Body=data)

    def get_with_etag(self, key: str) -> tuple[bytes, str] | None:
        """The object's content and ETag; None when there is no such object."""
        from botocore.exceptions import ClientError

        try:
            response = self._call("get_object", Bucket=self.location.bucket, Key=key, raw=True)
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return None
            raise self._explain(exc) from None
        return bytes(response["Body"].read()), str(response["ETag"])

    def put_conditional(self, key: str, data: bytes, *, if_none_match: bool = False, if_match: str | None = None) -> str | None:
        """Write ``key`` only if it does not exist (``if_none_match``) or still has the ETag ``if_match``.

        Returns the new ETag, or None when the condition failed (another writer came first).
        """
        from botocore.exceptions import ClientError

        condition = {"IfNoneMatch": "*"} if if_none_match else {"IfMatch": if_match} if if_match else {}
        try:
            response = self._call("put_object", Bucket=self.location.bucket, Key=key, Body=data, raw=True, **condition)
        except ClientError as exc:
            if _code(exc) in _CONDITION_FAILED:
                return None
            raise self._explain(exc) from None
        return str(response["ETag"])

    def delete_conditional(self, key: str, *, if_match: str) -> bool:
        """Delete ``key`` if it still has the ETag ``if_match``; False when it changed or is gone."""
        from botocore.exceptions import ClientError

        try:
            self._call("delete_object", Bucket=self.location.bucket, Key=key, IfMatch=if_match, raw=True)
        except ClientError as exc:
            if _code(exc) in (*_CONDITION_FAILED, "NoSuchKey", "404"):
                return False
            raise self._explain(exc) from None
        return True

    # ------------------------------------------------------------------ internals

    def _call(self, operation: str, *, raw: bool = False, **arguments: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self._s3(), operation)(**arguments)
        except ClientError as exc:
            if raw:
                raise
            raise self._explain(exc) from None
        except BotoCoreError as exc:
            raise self._explain(exc) from None

    def _s3(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                            retries={"max_attempts": ATTEMPTS, "mode": "standard"})
            self._client = boto3.session.Session().client("s3", config=config)
        return self._client

    def _explain(self, exc: BaseException) -> StorageError:
        from botocore.exceptions import (
            ClientError, ConnectTimeoutError, EndpointConnectionError, NoCredentialsError, PartialCredentialsError,
        )

        url = self.location.url
        bucket = self.location.bucket
        if isinstance(exc, NoCredentialsError):
            return StorageError(f"{url}: no AWS credentials found; {CHAIN}")
        if isinstance(exc, PartialCredentialsError):
            return StorageError(f"{url}: incomplete AWS credentials ({self._scrub(str(exc))}); {CHAIN}")
        if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
            return StorageError(f"{url}: cannot reach S3 at {self._endpoint()} ({type(exc).__name__})")
        if isinstance(exc, ClientError):
            code = _code(exc)
            if code in ("NoSuchBucket", "404"):
                return StorageError(f"{url}: the bucket {bucket!r} does not exist (or these credentials cannot see it)")
            if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"):
                return StorageError(f"{url}: access to the bucket {bucket!r} is denied with these credentials ({code}); {CHAIN}")
            return StorageError(f"{url}: S3 said {code or 'an error'}: {self._scrub(str(exc))}")
        return StorageError(f"{url}: S3 failed: {type(exc).__name__}: {self._scrub(str(exc))}")

    def _endpoint(self) -> str:
        """Where the client talks to, without any user or password a URL could carry."""
        configured = self._env.get("AWS_ENDPOINT_URL_S3") or self._env.get("AWS_ENDPOINT_URL")
        if not configured:
            return "the region's endpoint"
        parts = urlsplit(configured)
        host = parts.hostname or "?"
        return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "") + " (AWS_ENDPOINT_URL)"

    def _scrub(self, text: str) -> str:
        for name in SECRET_VARIABLES:
            value = self._env.get(name)
            if value and len(value) >= 4:
                text = text.replace(value, "***")
        return text


def bucket_of(url: str, env: Mapping[str, str] = os.environ) -> Bucket:
    """The bucket of a folder named on the command line, checked (StorageError: a bad URL, no bucket, no access)."""
    try:
        location = parse_s3_url(url)
    except ValueError as exc:
        raise StorageError(f"{exc}; {ALLOWED}") from None
    bucket = Bucket(location, env)
    bucket.check()
    return bucket


def checked_store(store: ReportStore, env: Mapping[str, str] = os.environ) -> Bucket:
    """The bucket of a plan's ``report.out``, checked before anything starts: InvalidInput at report.out's line."""
    bucket = Bucket(store.location, env)
    try:
        bucket.check()
    except StorageError as exc:
        raise InvalidInput([Problem(*store.named_at, f"report.out: {exc}")]) from None
    return bucket


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", "")) if hasattr(exc, "response") else ""
