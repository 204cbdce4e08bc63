"""Bad object-storage input stops at once (exit 2) with a message naming what is wrong, and file:line for a plan.

An s3:// URL without a bucket (or without a folder), a bucket that does not exist, no credentials:
for a plan's report.out (`validate` and `run`, before anything starts) and for a folder named on
the command line (`report`, `recover`, `note`, `actions export`). No credential is ever echoed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gamedays.sandbox.aws import AwsSandbox
from tests.engine.run.conftest import PlanWriter, run_gameday, scale_to_zero_experiment
from tests.storage.conftest import S3, new_bucket_name, stored_plan
from tests.support import line_of

STEP = {"id": "scale", "uses": scale_to_zero_experiment(1)}


OUT = '"out"'


def out_line(plan: Path) -> str:
    """file:line of report.out in ``plan``."""
    return f"{plan}:{line_of(plan, OUT)}"


def test_a_plan_whose_report_out_names_no_bucket_is_refused_at_its_line(plans: PlanWriter, moto_env: dict[str, str]):
    plan = stored_plan(plans, [STEP], "s3:///reports/test")
    for command in ("validate", "run"):
        result = run_gameday(moto_env, command, str(plan), timeout=60)
        assert result.returncode == 2, result.stderr
        assert (f"{out_line(plan)}: report.out: 's3:///reports/test' names no bucket; "
                "allowed: s3://BUCKET/PREFIX/<gameday>") in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("s3://Reports_Bucket/test", "'Reports_Bucket' is not a bucket name"),
        ("s3://gameday-reports", "names no folder in the bucket"),
        ("s3://gameday-reports/a/../b", "its folder has an empty, '.' or '..' part"),
    ],
)
def test_a_malformed_report_out_is_refused_at_its_line(plans: PlanWriter, moto_env: dict[str, str], url: str, reason: str):
    plan = stored_plan(plans, [STEP], url)
    result = run_gameday(moto_env, "validate", str(plan), timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"{out_line(plan)}: report.out: {url!r}" in result.stderr
    assert reason in result.stderr


def test_a_run_into_a_bucket_that_does_not_exist_stops_before_anything_starts(plans: PlanWriter, moto_env: dict[str, str]):
    bucket = new_bucket_name()
    plan = stored_plan(plans, [STEP], f"s3://{bucket}/reports/test")
    result = run_gameday(moto_env, "run", str(plan), timeout=60)
    assert result.returncode == 2, result.stderr
    assert (f"{out_line(plan)}: report.out: s3://{bucket}/reports/test: the bucket '{bucket}' "
            "does not exist") in result.stderr
    assert not (Path(moto_env["GAMEDAY_HOME"]) / "sandboxes").exists(), "a sandbox was started"
    assert not (Path(moto_env["GAMEDAY_HOME"]) / "s3").exists(), "a working copy was made"


def without_credentials(env: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if key not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}


def test_a_run_without_credentials_stops_before_anything_starts(plans: PlanWriter, moto_env: dict[str, str], aws: AwsSandbox):
    s3 = S3(aws.endpoint_url, aws.region, new_bucket_name())
    plan = stored_plan(plans, [STEP], s3.url("reports/test"))
    result = run_gameday(without_credentials(moto_env), "run", str(plan), timeout=60)
    assert result.returncode == 2, result.stderr
    assert (f"{out_line(plan)}: report.out: {s3.url('reports/test')}: no AWS credentials found; "
            "gameday takes them from the standard chain") in result.stderr
    assert not (Path(moto_env["GAMEDAY_HOME"]) / "sandboxes").exists(), "a sandbox was started"


COMMANDS = (("report",), ("recover",), ("note", "{url}", "a note"), ("actions", "export"))


def _argv(command: tuple[str, ...], url: str) -> list[str]:
    if "{url}" in command:
        return [part.replace("{url}", url) for part in command]
    return [*command, url]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_folder_in_a_bucket_that_does_not_exist(moto_env: dict[str, str], command: tuple[str, ...]):
    bucket = new_bucket_name()
    url = f"s3://{bucket}/reports/2024-05"
    result = run_gameday(moto_env, *_argv(command, url), timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"{url}: the bucket '{bucket}' does not exist (or these credentials cannot see it)" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_folder_url_without_a_bucket(moto_env: dict[str, str], command: tuple[str, ...]):
    result = run_gameday(moto_env, *_argv(command, "s3:///reports/2024-05"), timeout=60)
    assert result.returncode == 2, result.stderr
    assert "'s3:///reports/2024-05' names no bucket; allowed: s3://BUCKET/PREFIX/<gameday>" in result.stderr


def test_a_folder_without_credentials_and_no_secret_in_the_message(moto_env: dict[str, str], aws: AwsSandbox):
    s3 = S3(aws.endpoint_url, aws.region, new_bucket_name())
    env = without_credentials(moto_env)
    result = run_gameday(env, "report", s3.url("reports/2024-05"), timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"{s3.url('reports/2024-05')}: no AWS credentials found; gameday takes them from the standard chain" in result.stderr
    secret = "wJalrXUtnFEMI-not-really-secret"
    partial = {**env, "AWS_SECRET_ACCESS_KEY": secret}  # a secret without its key id: incomplete
    result = run_gameday(partial, "report", s3.url("reports/2024-05"), timeout=60)
    assert result.returncode == 2, result.stderr
    assert "incomplete AWS credentials" in result.stderr or "no AWS credentials found" in result.stderr
    assert secret not in result.stderr + result.stdout


def test_a_folder_that_holds_no_journal(moto_env: dict[str, str], aws: AwsSandbox):
    s3 = S3(aws.endpoint_url, aws.region, new_bucket_name())
    s3.put("reports/2024-05/rehearsal/journal.jsonl", b"")
    result = run_gameday(moto_env, "report", s3.url("reports/2024-05"), timeout=60)
    assert result.returncode == 2, result.stderr
    assert (f"{s3.url('reports/2024-05')}: no journal.jsonl there (a gameday whose report.out is this folder writes it); "
            f"a rehearsal's journal is in {s3.url('reports/2024-05')}/rehearsal") in result.stderr


def test_unreachable_s3_is_named_without_its_credentials(moto_env: dict[str, str]):
    from gamedays.sandbox.ports import free_port

    env = {**moto_env, "AWS_ENDPOINT_URL": f"http://user:hunter2@127.0.0.1:{free_port()}"}
    result = run_gameday(env, "report", "s3://gameday-reports/reports/2024-05", timeout=120)
    assert result.returncode == 2, result.stderr
    assert "s3://gameday-reports/reports/2024-05: cannot reach S3 at http://127.0.0.1:" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
