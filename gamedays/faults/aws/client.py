"""A boto3 client for the AWS fault functions, from Chaos Toolkit's configuration and secrets, as chaosaws reads them.

``aws_region`` (else ``AWS_REGION``, ``AWS_DEFAULT_REGION``, us-east-1), ``aws_profile_name``,
``aws_assume_role_arn``, ``aws_endpoint_url`` (else botocore's ``AWS_ENDPOINT_URL``) from the
configuration; the keys from the secrets, or the standard credential chain.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

__all__ = ["aws_client"]

FALLBACK_REGION = "us-east-1"


def aws_client(service: str, configuration: Mapping[str, Any] | None = None, secrets: Mapping[str, Any] | None = None) -> Any:
    """A boto3 client of ``service`` from Chaos Toolkit's configuration and secrets, read the way chaosaws reads them."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    configuration = configuration or {}
    secrets = secrets or {}
    key_id = secrets.get("aws_access_key_id")
    secret_key = secrets.get("aws_secret_access_key")
    if bool(key_id) != bool(secret_key):
        raise _failed("secrets must give both aws_access_key_id and aws_secret_access_key, or neither")
    region = (
        configuration.get("aws_region")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or FALLBACK_REGION
    )
    endpoint_url = configuration.get("aws_endpoint_url") or None  # None: botocore reads AWS_ENDPOINT_URL
    try:
        session = boto3.session.Session(
            aws_access_key_id=key_id or None,
            aws_secret_access_key=secret_key or None,
            aws_session_token=secrets.get("aws_session_token") or None,
            region_name=region,
            profile_name=configuration.get("aws_profile_name") or None,
        )
        role_arn = configuration.get("aws_assume_role_arn")
        if role_arn:
            sts = session.client("sts", endpoint_url=endpoint_url)
            creds = sts.assume_role(
                RoleArn=role_arn,
                RoleSessionName=configuration.get("aws_assume_role_session_name") or "ChaosToolkit",
            )["Credentials"]
            session = boto3.session.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name=region,
            )
        return session.client(service, endpoint_url=endpoint_url)
    except (BotoCoreError, ClientError) as exc:
        raise _failed(f"cannot create an AWS {service} client: {exc}") from exc


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed (imported late: chaoslib is heavy and this module must import fast)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)
