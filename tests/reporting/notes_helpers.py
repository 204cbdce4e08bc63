"""Taking a note the way `gameday note` does, for the report tests."""

from __future__ import annotations

from pathlib import Path

from gamedays.reporting.notes import append_note, make_note
from tests.reporting.journals import T0


def take_note(folder: Path, text: str, *, at: float = T0 + 30.0, author: str = "bob", action: bool = False,
              owner: str | None = None) -> Path:
    return append_note(folder, make_note(text, author=author, at=at, action=action, owner=owner))
