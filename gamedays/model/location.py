"""A report folder in object storage: ``s3://bucket/prefix/<gameday>``, parsed and checked (no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass

SCHEME = "s3://"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
ALLOWED = (
    "allowed: s3://BUCKET/PREFIX/<gameday>, a bucket name of 3-63 lowercase letters, digits, dots and hyphens, "
    "then the gameday's folder in it"
)


@dataclass(frozen=True)
class S3Location:
    """A folder of a bucket: ``prefix`` has no leading or trailing slash and is never empty."""

    bucket: str
    prefix: str

    @property
    def url(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}"

    def key(self, relative: str) -> str:
        """The object key of ``relative`` (a POSIX path inside the folder)."""
        return f"{self.prefix}/{relative}"

    @property
    def parent(self) -> str:
        """The prefix the sibling gamedays share, with its trailing slash ("" at the bucket's root)."""
        head, _, _ = self.prefix.rpartition("/")
        return f"{head}/" if head else ""

    def __str__(self) -> str:
        return self.url


@dataclass(frozen=True)
class ReportStore:
    """Where a plan's ``report.out`` keeps its report folder in object storage, and the line naming it."""

    location: S3Location
    named_at: tuple[str, int]  # (file, line) of report.out


def is_s3_url(text: str) -> bool:
    """``text`` is meant as an object-storage folder (any case of the scheme: ``S3://`` is refused, not taken for a path)."""
    return text.strip().lower().startswith(SCHEME)


def parse_s3_url(text: str) -> S3Location:
    """``s3://bucket/prefix`` as a location; ValueError saying what is wrong (the caller adds :data:`ALLOWED`)."""
    stripped = text.strip()
    if not stripped.startswith(SCHEME):
        raise ValueError(f"{text!r} does not start with {SCHEME} (lowercase)")
    bucket, _, key = stripped[len(SCHEME):].partition("/")
    if not bucket:
        raise ValueError(f"{text!r} names no bucket")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise ValueError(f"{text!r}: {bucket!r} is not a bucket name")
    key = key.strip("/")
    if not key:
        raise ValueError(f"{text!r} names no folder in the bucket")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"{text!r}: its folder has an empty, '.' or '..' part")
    if any(ord(char) < 32 or char == "\\" for char in key):
        raise ValueError(f"{text!r}: its folder has a control character or a backslash")
    return S3Location(bucket, key)
