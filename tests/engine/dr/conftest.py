"""DR checks end to end against the session's shared detached sandbox (the fixture of tests/engine/run)."""

from __future__ import annotations

from tests.engine.run.conftest import sandbox  # noqa: F401 - a fixture, re-used here
