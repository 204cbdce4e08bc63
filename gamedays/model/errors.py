"""The one error hierarchy of gameday.

Every error a user can cause is a :class:`GamedayError`; the CLI prints its
message and exits with its ``exit_code``, never with a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class GamedayError(Exception):
    """Base of every error gameday raises on purpose."""

    exit_code = 2


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake in an input file, located at ``file:line`` (line 0: the file as a whole)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line > 0 else self.file
        return f"{where}: {self.message}"


class InvalidInput(GamedayError):
    """One or more problems in the user's files (plan, catalog, playbooks, experiments)."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        unique = sorted(set(problems))
        if not unique:
            raise ValueError("InvalidInput needs at least one problem")
        self.problems: tuple[Problem, ...] = tuple(unique)
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        head = "1 problem" if count == 1 else f"{count} problems"
        return "\n".join([f"error: {head} found", *(f"  {p}" for p in self.problems)])


class UsageError(GamedayError):
    """A command was called in a way it does not support."""

    exit_code = 2


class SandboxError(GamedayError):
    """The embedded sandbox could not start, answer or stop (ports, binaries, privileges)."""

    exit_code = 2
