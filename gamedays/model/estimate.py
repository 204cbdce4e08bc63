"""How long a gameday takes: what to expect, and apart, the longest its deadlines allow.

Expected: the waits that always happen (pauses, ``hold_seconds``-like arguments, with the
step's ``with:`` values), never a timeout. Longest: every deadline reached (activity and
probe timeouts, ``recover_within``, twice a DR check's RTO). Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from gamedays.model.units import Duration

# activity arguments that hold the fault for a while: the method waits them out
HOLDS = ("hold_seconds", "hold", "duration", "duration_seconds")


@dataclass(frozen=True)
class Estimate:
    expected: Duration
    longest: Duration

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(self.expected + other.expected, self.longest + other.longest)

    @classmethod
    def of(cls, expected: float, longest: float | None = None) -> Estimate:
        return cls(Duration(expected), Duration(max(expected, longest if longest is not None else expected)))


NOTHING = Estimate(Duration(0), Duration(0))


def experiment_estimate(experiment: Mapping[str, Any]) -> Estimate:
    """A Chaos Toolkit experiment (its configuration holding the step's values): method and rollbacks
    expected; its steady-state probes (before and after) and every timeout added for the longest."""
    configuration = experiment.get("configuration") or {}
    total = activities_estimate(_list(experiment.get("method")), configuration)
    total = total + activities_estimate(_list(experiment.get("rollbacks")), configuration)
    hypothesis = experiment.get("steady-state-hypothesis")
    if isinstance(hypothesis, dict):
        probes = activities_estimate(_list(hypothesis.get("probes")), configuration)
        total = total + probes + probes  # checked before the method and after it
    return total


def activities_estimate(activities: Iterable[Any], configuration: Mapping[str, Any]) -> Estimate:
    expected = longest = 0.0
    for activity in activities:
        if not isinstance(activity, dict):
            continue
        pauses = activity.get("pauses") or {}
        waits = sum(_seconds(pauses.get(key), configuration) for key in ("before", "after")) if isinstance(pauses, dict) else 0.0
        provider = activity.get("provider") or {}
        arguments = provider.get("arguments") if isinstance(provider, dict) else None
        arguments = arguments if isinstance(arguments, dict) else {}
        holds = sum(_seconds(value, configuration) for key, value in arguments.items() if key in HOLDS)
        timeouts = sum(_seconds(value, configuration) for key, value in arguments.items() if _is_timeout(key))
        if isinstance(provider, dict):
            timeouts += _seconds(provider.get("timeout"), configuration)
        expected += waits + holds
        longest += waits + holds + timeouts
    return Estimate.of(expected, longest)


def _is_timeout(key: str) -> bool:
    """``timeout``, ``recovery_timeout``, ``timeout_seconds``, ``wait_seconds``: waits up to, not for."""
    return "timeout" in key or key.startswith("wait")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _seconds(value: Any, configuration: Mapping[str, Any]) -> float:
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        value = configuration.get(value[2:-1])
    if isinstance(value, bool):
        return 0.0
    if isinstance(value, (int, float)) and value >= 0:
        return float(value)
    return 0.0
