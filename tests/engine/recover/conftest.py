"""The engine's detached sandbox and plans, for `gameday recover`'s tests: a folder (an xdist group) of its own,
so they run beside the run's tests on another worker, against a sandbox of their own."""

from __future__ import annotations

from tests.engine.run.conftest import plans, sandbox  # noqa: F401 - fixtures, re-used here
