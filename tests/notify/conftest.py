"""A recording webhook for the notification tests."""

from __future__ import annotations

import pytest

from tests.notify import recorder as recording


@pytest.fixture
def webhook():
    """A real local webhook recording what it receives (statuses, delay changeable by the test)."""
    yield from recording.serve()
