"""DR checks end to end against a detached sandbox (the fixture of tests/engine/run)."""

from __future__ import annotations

from tests.engine.run.conftest import sandbox  # noqa: F401  (a package-scoped fixture of its own here)
