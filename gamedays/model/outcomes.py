"""Outcome enums: never bare strings or ints for a result."""

from __future__ import annotations

from enum import Enum, IntEnum


class Outcome(str, Enum):
    """The outcome of one experiment step, one DR check or the whole gameday."""

    PASSED = "passed"
    DEVIATED = "deviated"
    ABORTED = "aborted"
    ERROR = "error"
    SKIPPED = "skipped"


class ExitCode(IntEnum):
    """Exit codes shared by every command (documented in README.md)."""

    OK = 0  # success, and every hypothesis held
    FINDINGS = 1  # the gameday ran but found deviations or missed targets
    INVALID = 2  # invalid input or usage
    ABORTED = 3  # aborted or interrupted
    INTERNAL = 70  # an internal error (a bug, never a user mistake): the log named on stderr holds the traceback

    @classmethod
    def for_outcome(cls, outcome: Outcome) -> ExitCode:
        return {
            Outcome.PASSED: cls.OK,
            Outcome.SKIPPED: cls.OK,
            Outcome.DEVIATED: cls.FINDINGS,
            Outcome.ERROR: cls.FINDINGS,
            Outcome.ABORTED: cls.ABORTED,
        }[outcome]
