"""Durations ("30s", "5m", "1h30m") and percentages ("5%", "99.9%") as typed values.

Each has a pure parser raising ``ValueError`` with a message that says what is
allowed, and an ``Annotated`` pydantic field type that uses it, so plans, the
SLO catalog and playbooks all accept and reject the same spellings, and the JSON
Schema advertises them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import CoreSchema, core_schema

_UNITS = {"ms": (1, 1000), "s": (1, 1), "m": (60, 1), "h": (3600, 1), "d": (86400, 1)}  # (times, divided by)
_PART = r"(\d+(?:\.\d+)?)(ms|s|m|h|d)"
_DURATION_RE = re.compile(rf"^(?:{_PART})+$")
_PART_RE = re.compile(_PART)
DURATION_PATTERN = r"^(\d+(\.\d+)?(ms|s|m|h|d))+$"
DURATION_HELP = "a number with a unit (ms, s, m, h or d), e.g. 500ms, 30s, 5m, 1h30m"

_PERCENT_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*%$")
PERCENT_PATTERN = r"^\d+(\.\d+)?\s*%$"
PERCENT_HELP = "a percentage between 0% and 100%, e.g. 5% or 99.9%"


@dataclass(frozen=True, order=True)
class Duration:
    """A non-negative span of time, kept in seconds."""

    seconds: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.seconds) or self.seconds < 0:
            raise ValueError(f"a duration must be finite and non-negative, not {self.seconds}")
        # microsecond resolution, so that 1m34.145s equals 94.145s despite binary floats
        object.__setattr__(self, "seconds", round(float(self.seconds), 6))

    def __add__(self, other: Duration) -> Duration:
        return Duration(self.seconds + other.seconds)

    def __str__(self) -> str:
        if self.seconds == 0:
            return "0s"
        millis = round(self.seconds * 1000)
        if millis < 1000:
            return f"{millis}ms"
        parts = []
        rest = millis
        for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)):
            count, rest = divmod(rest, size)
            if count:
                parts.append(f"{count}{unit}")
        if rest:
            secs = rest / 1000
            parts.append(f"{secs:g}s")
        return "".join(parts)


def parse_duration(value: object) -> Duration:
    """Parse "30s", "5m", "1h30m", "500ms" (a bare number is not accepted: units matter)."""
    if isinstance(value, Duration):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"bad duration {value!r}: use {DURATION_HELP}")
    text = value.strip()
    if not _DURATION_RE.match(text):
        raise ValueError(f"bad duration {value!r}: use {DURATION_HELP}")
    seconds = sum(float(n) * _UNITS[u][0] / _UNITS[u][1] for n, u in _PART_RE.findall(text))
    return Duration(seconds)


@dataclass(frozen=True, order=True)
class Percentage:
    """A share between 0 and 1, written in files as a percentage."""

    fraction: float

    def __post_init__(self) -> None:
        if not (0.0 <= self.fraction <= 1.0):
            raise ValueError(f"a percentage must lie between 0% and 100%, not {self.fraction:.6g}")

    @property
    def percent(self) -> float:
        return self.fraction * 100

    def __str__(self) -> str:
        return f"{self.percent:.6g}%"


def parse_percentage(value: object) -> Percentage:
    """Parse "5%" or "99.9%" into a :class:`Percentage`."""
    if isinstance(value, Percentage):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"bad percentage {value!r}: use {PERCENT_HELP}")
    match = _PERCENT_RE.match(value.strip())
    if not match:
        raise ValueError(f"bad percentage {value!r}: use {PERCENT_HELP}")
    percent = float(match.group(1))
    if percent > 100:
        raise ValueError(f"bad percentage {value!r}: use {PERCENT_HELP}")
    return Percentage(percent / 100)


def _schema(pattern: str, help_text: str, examples: list[str]) -> dict[str, Any]:
    return {"type": "string", "pattern": pattern, "description": help_text, "examples": examples}


DurationField = Annotated[
    Duration,
    PlainValidator(parse_duration),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(_schema(DURATION_PATTERN, DURATION_HELP, ["30s", "5m", "1h30m"])),
]



def _bounds_text(low: Duration, high: Duration, low_open: bool) -> str:
    lower = f"longer than {low}" if low_open else f"at least {low}"
    return f"{lower} and at most {high}"


@dataclass(frozen=True)
class DurationBounds:
    """Metadata of a duration field refusing values outside ``[low, high]`` (``(low, high]`` with ``low_open``):
    ``Annotated[Duration, DurationBounds(low, high)]``.

    The message names the value written and the bounds, e.g. "0s is not allowed:
    use a duration longer than 0s and at most 1d".
    """

    low: Duration
    high: Duration
    low_open: bool = False

    @property
    def allowed(self) -> str:
        return _bounds_text(self.low, self.high, self.low_open)

    def check(self, value: object) -> Duration:
        duration = parse_duration(value)
        too_low = duration <= self.low if self.low_open else duration < self.low
        if too_low or duration > self.high:
            raise ValueError(f"{value!s} is not allowed: use a duration {self.allowed}")
        return duration

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(
            self.check, serialization=core_schema.plain_serializer_function_ser_schema(str, return_schema=core_schema.str_schema())
        )

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        example = str(self.high if self.low_open else self.low)
        return _schema(DURATION_PATTERN, f"{DURATION_HELP}; {self.allowed}", [example])


# recovery targets (RTO, RPO, recover_within) of plans and playbooks: above zero, at most a day
TargetField = Annotated[Duration, DurationBounds(Duration(0.0), Duration(86400.0), low_open=True)]


def _positive_percentage(value: object) -> Percentage:
    share = parse_percentage(value)
    if share.fraction <= 0:
        raise ValueError(f"{value!s} is not allowed: use a percentage above 0% and at most 100%, e.g. 5%")
    return share


PositivePercentageField = Annotated[
    Percentage,
    PlainValidator(_positive_percentage),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(_schema(PERCENT_PATTERN, "a percentage above 0% and at most 100%, e.g. 5%", ["5%", "25%"])),
]

PercentageField = Annotated[
    Percentage,
    PlainValidator(parse_percentage),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(_schema(PERCENT_PATTERN, PERCENT_HELP, ["5%", "99.9%"])),
]
