"""The session's shared sandbox for the disaster-recovery functions.

Each test breaks the sandbox, recovers it with the functions under test, and leaves it
in its normal shape (checked by the test itself, and by the fixture after it); at the end
of the session the sandbox goes down with nothing of PostgreSQL left, including the
servers the recovery functions started.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import sandboxes
from tests.sandboxes import target  # noqa: F401 - a fixture


@pytest.fixture
def sandbox(shared_sandbox: sandboxes.SharedSandbox) -> Iterator[dict[str, str]]:
    """The shared sandbox's exports merged into this environment; the test must leave it as it found it."""
    yield shared_sandbox.registered_env()
    shared_sandbox.check_as_found()


@pytest.fixture(autouse=True)
def _in_a_scratch_folder(tmp_path, monkeypatch):
    """Relative files the DR functions write by default (their logs) land in the test's folder, not the repo."""
    monkeypatch.chdir(tmp_path)
