"""Where a gameday is about to act, checked before the first fault: the AWS account and the Kubernetes cluster.

A plan whose steps or DR playbooks reach ``aws`` or ``kubernetes`` is checked, in the
preflight of ``run`` and ``rehearse``, with the credentials its experiments will use: a
child process with the target's environment asks AWS STS who it is
(``GetCallerIdentity``: account, identity ARN, region) and the Kubernetes API its version
(current context, server). The answers are printed and journaled (``gameday_started``
``access``), so the team sees the account and cluster before anything is injected, and the
report keeps them; a reach that cannot be used (no credentials, expired ones, an API out of
reach) stops the gameday there, naming it: nothing was injected.

    python -m gamedays.engine.access aws kubernetes      # one JSON list of {reach, where, problem}

Nothing secret is read back or printed: an ARN, an account id, a context name and a URL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gamedays.kubecontext import NoCluster, current_cluster
from gamedays.model.loaded import LoadedPlan
from gamedays.model.reach import Reach

CHECKED = (Reach.AWS, Reach.KUBERNETES)
TIMEOUT_SECONDS = 30.0
_API_TIMEOUT = 10  # seconds per call to STS or the Kubernetes API


@dataclass(frozen=True)
class Access:
    """One reach: where it acts (``where``) or why it cannot (``problem``)."""

    reach: Reach
    where: str | None = None
    problem: str | None = None

    def describe(self) -> str:
        return f"{self.reach.value}: {self.where}" if self.problem is None else f"{self.reach.value}: {self.problem}"


def reaches_of(loaded: LoadedPlan) -> tuple[Reach, ...]:
    """The reaches among :data:`CHECKED` that the plan's steps and DR playbooks declare, in that order."""
    declared: set[Reach] = set()
    for resolved in loaded.steps:
        if resolved.reach is not None:
            declared.update(resolved.reach.reach)
    for check in loaded.disaster_recovery:
        declared.update(check.playbook.reach or ())
    return tuple(reach for reach in CHECKED if reach in declared)


def check_access(reaches: Iterable[Reach], env: Mapping[str, str], timeout: float = TIMEOUT_SECONDS) -> tuple[Access, ...]:
    """Each reach checked in a child process with ``env``, the environment the experiments get."""
    wanted = [reach for reach in reaches if reach in CHECKED]
    if not wanted:
        return ()
    argv = [sys.executable, "-m", __name__, *(reach.value for reach in wanted)]
    try:
        done = subprocess.run(argv, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return tuple(Access(reach, problem=f"no answer within {timeout:g}s") for reach in wanted)
    try:
        return tuple(Access(Reach(a["reach"]), a.get("where"), a.get("problem")) for a in json.loads(done.stdout))
    except (ValueError, KeyError, TypeError):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return tuple(Access(reach, problem=f"the check failed ({last})") for reach in wanted)


def _aws() -> Access:
    import boto3
    import botocore.config
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    try:
        session = boto3.session.Session()
        region = session.region_name
        config = botocore.config.Config(
            connect_timeout=_API_TIMEOUT, read_timeout=_API_TIMEOUT, retries={"max_attempts": 1}
        )
        identity = session.client("sts", region_name=region or "us-east-1", config=config).get_caller_identity()
    except NoCredentialsError:
        return Access(Reach.AWS, problem=(
            "no AWS credentials found by the standard chain (AWS_PROFILE, AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, web identity, an instance or pod role)"
        ))  # fmt: skip
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return Access(Reach.AWS, problem=f"AWS STS refused the credentials: {error.get('Code')}: {error.get('Message')}")
    except (NoRegionError, BotoCoreError) as exc:
        return Access(Reach.AWS, problem=f"cannot ask AWS STS who these credentials are: {exc}")
    where = f"account {identity['Account']} as {identity['Arn']}, region {region or 'not set (AWS_REGION)'}"
    return Access(Reach.AWS, where=where)


def _kubernetes() -> Access:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        api, cluster = current_cluster()
    except NoCluster as exc:
        return Access(Reach.KUBERNETES, problem=str(exc))
    try:
        version = client.VersionApi(api).get_code(_request_timeout=_API_TIMEOUT)
    except ApiException as exc:
        return Access(Reach.KUBERNETES, problem=f"the Kubernetes API of {cluster} refused: {exc.status} {exc.reason}")
    except Exception as exc:  # noqa: BLE001 - urllib3's connection errors, named in the message
        return Access(Reach.KUBERNETES, problem=f"cannot reach the Kubernetes API of {cluster}: {type(exc).__name__}")
    return Access(Reach.KUBERNETES, where=f"{cluster}, Kubernetes {version.git_version}")


def main(argv: list[str]) -> int:
    probes = {Reach.AWS.value: _aws, Reach.KUBERNETES.value: _kubernetes}
    found: list[dict[str, Any]] = []
    for name in argv:
        access = probes[name]()
        found.append({"reach": access.reach.value, "where": access.where, "problem": access.problem})
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
