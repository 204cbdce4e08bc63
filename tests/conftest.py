"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gamedays.cli import main
from tests import httpserver, tiers
from tests.support import REPO, Tree

if TYPE_CHECKING:
    from tests.sandboxes import SharedSandbox

# every `gameday run` serves /metrics (8067 by default): tests run gamedays side by side, so each
# takes a free port unless a test names one
os.environ.setdefault("GAMEDAY_METRICS_PORT", "0")


_WATCH = tiers.Watch()
_SHARED: pytest.StashKey[SharedSandbox] = pytest.StashKey()  # the session's SharedSandbox, once the shared_sandbox fixture made it


def pytest_configure(config: pytest.Config) -> None:
    tiers.install(_WATCH)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's, which reads the xdist_group marks assign() adds
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tiers.assign(items, REPO, unit_alone=config.getoption("markexpr", "").strip() == "unit")


@pytest.fixture(autouse=True)
def _unit_tier_guard(request: pytest.FixtureRequest):
    """A unit test starts no process and opens no socket (tests/tiers.py); checked, not trusted."""
    if request.node.get_closest_marker("unit") is None:
        yield
        return
    _WATCH.start()
    try:
        yield
    finally:
        seen = _WATCH.stop()
    if seen:
        pytest.fail(
            "a unit test must not start a process or open a socket; mark it @pytest.mark.e2e "
            "(or list its module in tests/tiers.py E2E). It did: " + "; ".join(seen),
            pytrace=False,
        )


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def gameday(capsys: pytest.CaptureFixture[str]):
    """Run the real `gameday` entry point in-process; returns exit code, stdout and stderr."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        else:  # pragma: no cover - main always exits
            raise AssertionError("gameday main() returned without exiting")
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def shared_sandbox(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The session's sandbox, one per xdist worker, started on first use (tests/sandboxes.py ``SharedSandbox``).

    Not for a test itself: a folder's ``sandbox`` fixture hands it out and checks, after each
    test, that the test left it as it found it.
    """
    from tests.sandboxes import SharedSandbox

    shared = SharedSandbox(tmp_path_factory)
    request.config.stash[_SHARED] = shared
    try:
        yield shared
    finally:
        shared.close()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """The tests that use the shared sandbox are handed out first (tests/tiers.py): once a worker gets one that
    does not, it will get no more that do, so its sandbox goes down (an idle one costs CPU the other tests need).
    Should one come after all, it gets a new sandbox."""
    shared = item.config.stash.get(_SHARED, None)
    if shared is not None and "shared_sandbox" not in getattr(item, "fixturenames", ()):
        shared.close()


@pytest.fixture(scope="session")
def python() -> str:
    return sys.executable


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tree:
    """A copy of the demo's probes/, experiments/ and playbooks/, with an empty plans/ to write into."""
    for folder in ("probes", "experiments", "playbooks"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    (tmp_path / "plans").mkdir()
    monkeypatch.chdir(tmp_path)  # messages name files relative to the working directory
    return Tree(tmp_path)


@pytest.fixture
def http_server():
    """(base URL, behaviour): a real local HTTP server; set behaviour.status/delay/body to change its answers."""
    yield from httpserver.serve()
