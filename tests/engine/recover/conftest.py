"""The engine's fixtures for `gameday recover`'s tests: the session's shared sandbox and plans (of tests/engine/run)."""

from __future__ import annotations

from tests.engine.run.conftest import plans, sandbox  # noqa: F401 - fixtures, re-used here
