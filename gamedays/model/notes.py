"""A team note taken during or after a gameday (`gameday note reports/<gameday> "..."`).

Notes join the report of their gameday; a note marked as an action becomes a
follow-up action, owned by ``owner`` (the commander when nobody is named).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_TEXT = 4000  # characters: a note is a remark for the review, not a document
MAX_NAME = 100


class Note(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: float = Field(description="when the note was taken (UNIX time, UTC)")
    author: str = Field(min_length=1, max_length=MAX_NAME)
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    action: bool = False  # the team wants it done: it becomes a follow-up action
    owner: str | None = Field(None, min_length=1, max_length=MAX_NAME)  # the action's owner; None: the commander

    @field_validator("text", "author", "owner")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value.strip() if value is not None else None
