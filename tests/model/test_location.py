"""s3://bucket/prefix/<gameday> parsed: the bucket, the folder's key prefix, its siblings' prefix; malformed ones refused."""

from __future__ import annotations

import pytest

from gamedays.model.location import S3Location, is_s3_url, parse_s3_url


def test_a_folder_url_gives_its_bucket_prefix_and_keys():
    location = parse_s3_url("s3://acme-gamedays/reports/2024-05/")
    assert location == S3Location("acme-gamedays", "reports/2024-05")
    assert location.url == "s3://acme-gamedays/reports/2024-05"
    assert location.key("experiments/pod-kill.journal.json") == "reports/2024-05/experiments/pod-kill.journal.json"
    assert location.parent == "reports/"
    assert parse_s3_url("s3://acme-gamedays/2024-05").parent == ""


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("s3:///reports/2024-05", "names no bucket"),
        ("s3://", "names no bucket"),
        ("s3://ab/x", "'ab' is not a bucket name"),
        ("s3://Acme/x", "'Acme' is not a bucket name"),
        ("s3://acme..reports/x", "is not a bucket name"),
        ("s3://acme-gamedays", "names no folder in the bucket"),
        ("s3://acme-gamedays/", "names no folder in the bucket"),
        ("s3://acme-gamedays/a//b", "an empty, '.' or '..' part"),
        ("s3://acme-gamedays/a/../b", "an empty, '.' or '..' part"),
        ("s3://acme-gamedays/a\\b", "a control character or a backslash"),
        ("S3://acme-gamedays/x", "does not start with s3:// (lowercase)"),
    ],
)
def test_a_malformed_url_is_refused_saying_why(url: str, reason: str):
    with pytest.raises(ValueError) as refused:
        parse_s3_url(url)
    assert reason in str(refused.value)
    assert repr(url) in str(refused.value)


def test_any_case_of_the_scheme_is_meant_as_object_storage_never_as_a_local_path():
    assert is_s3_url("S3://x/y") and is_s3_url(" s3://x/y") and not is_s3_url("reports/s3://x") and not is_s3_url("../reports")
