"""The test suite's two tiers, ``unit`` and ``e2e`` (pytest markers).

- ``unit``: no server, no subprocess, no socket; each test under 2 s (pytest-timeout).
  ``make test-unit`` runs them alone, in well under a minute.
- ``e2e``: real servers on 127.0.0.1 (the sandbox, PostgreSQL, DNS, moto, HTTP), real
  processes, the real ``gameday`` end to end.

A test is ``e2e`` when its module's path starts with one of :data:`E2E` or when it is
marked ``@pytest.mark.e2e``; every other test is ``unit``. The tier is checked, not
trusted: during a unit test an audit hook (:func:`sys.addaudithook`) records every
process started and every socket bound or connected, and the test fails naming them,
so a test that needs a server cannot hide in the fast tier.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

UNIT_TIMEOUT = 2.0  # seconds, per unit test, when the unit tier runs alone (`make test-unit`, `-m unit`)
HANG_TIMEOUT = 60.0  # seconds, per unit test, when it shares the machine with the e2e tier: a hang, not slowness

# folders and modules of end-to-end tests, relative to the repository
E2E: tuple[str, ...] = (
    "tests/architecture/",
    "tests/catalog/",
    "tests/deploy/test_apply.py",
    "tests/cli/test_without_sandbox_extra.py",
    "tests/engine/dr/",
    "tests/engine/experiment_process/",
    "tests/engine/observe/",
    "tests/engine/recover/",
    "tests/engine/run/",
    "tests/engine/secrets/",
    "tests/engine/test_monitor.py",
    "tests/faults/",
    "tests/sandbox/",
    "tests/sli/",
    "tests/storage/",
    "tests/notify/test_notifier.py",
    "tests/notify/test_webhook.py",
    "tests/reporting/test_browser.py",
    "tests/reporting/test_trackers.py",
    "tests/reporting/test_two_hour_gameday.py",
    "tests/loading/test_fuzz.py",
    "tests/test_processes.py",
)

# audit events that a unit test must not cause (https://docs.python.org/3/library/audit_events.html)
_FORBIDDEN = frozenset({"subprocess.Popen", "os.posix_spawn", "os.fork", "os.exec", "socket.bind", "socket.connect"})


@dataclass
class Watch:
    """What the running unit test did that a unit test must not: filled by the audit hook."""

    thread: int | None = None  # the test's own thread while it runs (background threads of other tests are theirs)
    seen: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.seen.clear()
        self.thread = threading.get_ident()

    def stop(self) -> list[str]:
        self.thread = None
        return list(self.seen)

    def hook(self, event: str, args: tuple[object, ...]) -> None:
        if event == "socket.bind" and _port(args) == 0:
            return  # e.g. urllib3's import-time probe for IPv6; a server on a free port is caught when it is connected to
        if event in _FORBIDDEN and self.thread == threading.get_ident() and len(self.seen) < 5:
            self.seen.append(f"{event}{_short(args)}")


def _port(args: tuple[object, ...]) -> int | None:
    address = args[1] if len(args) > 1 else None
    return address[1] if isinstance(address, tuple) and len(address) > 1 and isinstance(address[1], int) else None


def _short(args: tuple[object, ...]) -> str:
    text = repr(args[:2])
    return text if len(text) < 120 else text[:117] + "..."


def tier_of(path: Path, root: Path) -> str:
    relative = path.resolve().relative_to(root).as_posix()
    return "e2e" if relative.startswith(E2E) else "unit"


def assign(items: list[pytest.Item], root: Path, unit_alone: bool) -> None:
    """Mark every collected test with its tier; unit tests get their timeout; order and group them for pytest-xdist.

    The 2 s limit holds when the unit tier runs alone (``unit_alone``); beside the e2e
    tier's servers on a small machine, a unit test is only stopped when it hangs.

    Under pytest-xdist (``--dist loadgroup``) the sandbox is the session's, one per worker
    (``shared_sandbox``), so the tests that use it go to whichever worker is free. The tests
    of a module with a module- or package-scoped fixture of their own share one worker (an
    ``xdist_group`` per module), so that fixture's servers start once. The slowest go first:
    the sandbox's tests, then the other end-to-end tests, then the unit tests, which fill in
    the end (a long test handed out last would leave the other workers idle).
    """
    for item in items:
        if item.get_closest_marker("e2e") is None and tier_of(Path(item.path), root) == "e2e":
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("e2e") is not None:
            if _shares_a_module_fixture(item):
                item.add_marker(pytest.mark.xdist_group(Path(item.path).resolve().relative_to(root).as_posix()))
        else:
            item.add_marker(pytest.mark.unit)
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(UNIT_TIMEOUT if unit_alone else HANG_TIMEOUT))
    items.sort(key=_start_order)  # stable: the tests of a module stay together, in their order


def _shares_a_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.values() if info is not None else ()
    return any(d.scope in ("module", "package") for defs in definitions for d in defs)


def _start_order(item: pytest.Item) -> int:
    if "shared_sandbox" in getattr(item, "fixturenames", ()):
        return 0
    return 1 if item.get_closest_marker("e2e") is not None else 2


def install(watch: Watch) -> None:
    sys.addaudithook(watch.hook)  # audit hooks cannot be removed: the watch is switched on per unit test
