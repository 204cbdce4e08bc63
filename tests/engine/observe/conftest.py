"""The engine's fixtures (the session's shared sandbox, plans) and a recording webhook."""

from __future__ import annotations

import pytest

from tests.engine.run.conftest import plans, sandbox  # noqa: F401 - fixtures, re-used here
from tests.notify import recorder as recording


@pytest.fixture
def webhook():
    yield from recording.serve()


@pytest.fixture
def failing_webhook():
    yield from recording.serve("/services/T000/B000/canary-slack-key")
