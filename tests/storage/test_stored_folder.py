"""`gameday report`, `actions export` and `note` on a folder in S3 (moto): the same report as at home, trend included.

Two months rendered locally, as tests/reporting/test_trend.py makes them; May's whole folder and
June's journal alone are put in a bucket. `gameday report s3://.../2024-06` on a machine of its
own brings June's journal and May's report down, and stores the very bytes the local render wrote
(June's trend and carried-over actions come from May's stored report); `actions export` lists what
the local folder lists; a `note` is stored and shows in the next report.
"""

from __future__ import annotations

import json
from pathlib import Path

from gamedays.sandbox.aws import AwsSandbox
from tests.engine.run.conftest import run_gameday
from tests.reporting.test_trend import may_and_june
from tests.storage.conftest import S3, new_bucket_name

REPORT_FILES = ("report.html", "report.md", "report.json", "junit.xml", "actions.md", "actions.yaml")


def test_report_export_and_note_of_a_stored_folder(tmp_path: Path, moto_env: dict[str, str], aws: AwsSandbox):
    may_and_june(tmp_path)
    reports = tmp_path / "reports"
    s3 = S3(aws.endpoint_url, aws.region, new_bucket_name())
    for path in (reports / "2024-05").rglob("*"):
        if path.is_file():
            s3.put(f"reports/2024-05/{path.relative_to(reports / '2024-05').as_posix()}", path.read_bytes())
    s3.put("reports/2024-06/journal.jsonl", (reports / "2024-06" / "journal.jsonl").read_bytes())
    url = s3.url("reports/2024-06")

    rendered = run_gameday(moto_env, "report", url, timeout=120)
    assert rendered.returncode == 1, rendered.stdout + rendered.stderr  # June deviated
    assert f"{url}/report.html" in rendered.stdout and "gameday deviated" in rendered.stdout
    for name in REPORT_FILES:
        assert s3.get(f"reports/2024-06/{name}") == (reports / "2024-06" / name).read_bytes(), f"the stored {name} differs"
    june = json.loads((reports / "2024-06" / "report.json").read_text())
    assert june["trend"]["previous"] == "2024-05", "the local June report has no trend: the comparison proves nothing"

    exported = run_gameday(moto_env, "actions", "export", url, "--format", "json", timeout=120)
    at_home = run_gameday(moto_env, "actions", "export", str(reports / "2024-06"), "--format", "json", timeout=120)
    assert exported.returncode == 0 and at_home.returncode == 0, exported.stderr + at_home.stderr
    assert exported.stdout == at_home.stdout and json.loads(exported.stdout)["actions"]

    noted = run_gameday(moto_env, "note", url, "the replica lag alert fired late", "--author", "erin", timeout=120)
    assert noted.returncode == 0, noted.stderr
    assert f"added to {url}/notes.jsonl; `gameday report {url}` shows it" in noted.stdout
    assert b"the replica lag alert fired late" in (s3.get("reports/2024-06/notes.jsonl") or b"")
    again = run_gameday({**moto_env, "GAMEDAY_HOME": str(tmp_path / "third")}, "report", url, timeout=120)
    assert again.returncode == 1, again.stderr
    assert b"the replica lag alert fired late" in (s3.get("reports/2024-06/report.md") or b"")
