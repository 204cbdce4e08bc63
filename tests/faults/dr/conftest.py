"""A detached sandbox for the disaster-recovery functions, shared by the folder.

Each test breaks the sandbox, recovers it with the functions under test, and leaves it
in its normal shape (checked by the test itself); at the end the sandbox goes down with
nothing of PostgreSQL left, including the servers the recovery functions started.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import sandboxes
from tests.sandboxes import target  # noqa: F401 - a fixture


@pytest.fixture(scope="package")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The sandbox's exports merged into this environment."""
    yield from sandboxes.registered(tmp_path_factory, "dr")


@pytest.fixture(autouse=True)
def _in_a_scratch_folder(tmp_path, monkeypatch):
    """Relative files the DR functions write by default (their logs) land in the test's folder, not the repo."""
    monkeypatch.chdir(tmp_path)
