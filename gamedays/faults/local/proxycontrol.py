"""The control file of a proxy process: the fault it applies, changed live by other processes.

The control file is small JSON, always replaced atomically (temp file, fsync, rename), so
a reader never sees half of it::

    {"generation": 3, "latency_ms": 300.0, "jitter_ms": 0.0, "bytes_per_second": null,
     "blackhole": false, "reset": false}

Missing fault keys mean "no such fault"; an unknown key is an error (it is a typo).
``generation`` grows with every change. The proxy process re-reads the file when its
mtime, inode or size change (and at least once a second, in case two changes share a
timestamp), applies the fault, and acknowledges in ``<control>.applied``::

    {"generation": 3, "pid": 4242, "fault": {...}, "error": null}

so the writer knows when the fault is in effect, or why it is not (``error``).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from gamedays.atomicfile import write_atomically
from gamedays.faults.local.proxyfault import NO_FAULT, ProxyFault

__all__ = [
    "Acknowledgement",
    "ControlState",
    "ControlWatcher",
    "acknowledgement_path",
    "fault_from_json",
    "fault_to_json",
    "read_acknowledgement",
    "read_control",
    "write_control",
    "write_json_atomically",
]

logger = logging.getLogger(__name__)

#: The watcher re-reads the control file at least this often, even if its stat looks unchanged.
REREAD_SECONDS = 1.0
_FAULT_KEYS = ("latency_ms", "jitter_ms", "bytes_per_second", "blackhole", "reset")


@dataclass(frozen=True)
class ControlState:
    """What the control file says: the fault, and the generation of that change."""

    generation: int
    fault: ProxyFault


@dataclass(frozen=True)
class Acknowledgement:
    """What the proxy process last applied (``error``: why it could not apply the file as it is)."""

    generation: int
    pid: int
    error: str | None


def fault_to_json(fault: ProxyFault) -> dict[str, Any]:
    """The fault in the control file's units (milliseconds, bytes per second)."""
    return {
        "latency_ms": round(fault.latency * 1000.0, 6),
        "jitter_ms": round(fault.jitter * 1000.0, 6),
        "bytes_per_second": fault.bandwidth,
        "blackhole": fault.blackhole,
        "reset": fault.reset,
    }


def fault_from_json(data: dict[str, Any]) -> ProxyFault:
    """The fault of a control file's keys; ValueError naming the bad key or value."""
    unknown = sorted(set(data) - set(_FAULT_KEYS) - {"generation"})
    if unknown:
        raise ValueError(f"unknown keys {unknown}; allowed: {', '.join(_FAULT_KEYS)}")
    latency = _number(data, "latency_ms")
    jitter = _number(data, "jitter_ms")
    bandwidth = data.get("bytes_per_second")
    return ProxyFault(
        latency=latency / 1000.0,
        jitter=jitter / 1000.0,
        bandwidth=bandwidth,
        blackhole=data.get("blackhole", False),
        reset=data.get("reset", False),
    )


def write_control(path: Path, state: ControlState) -> None:
    """Replace the control file atomically with ``state``."""
    write_json_atomically(path, {"generation": state.generation, **fault_to_json(state.fault)})


def read_control(path: Path) -> ControlState:
    """The control file's state; FileNotFoundError if it is missing, ValueError if it is not valid."""
    data = _load(path)
    generation = data.get("generation", 0)
    if isinstance(generation, bool) or not isinstance(generation, int) or generation < 0:
        raise ValueError(f"generation must be a whole number >= 0, got {generation!r}")
    return ControlState(generation, fault_from_json(data))


def acknowledgement_path(control: Path) -> Path:
    return control.with_name(control.name + ".applied")


def read_acknowledgement(path: Path) -> Acknowledgement | None:
    """The proxy's last acknowledgement, or None if there is none (yet) or it cannot be read."""
    try:
        data = _load(path)
        return Acknowledgement(int(data["generation"]), int(data["pid"]), data.get("error"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON, atomically (a watcher never reads half a control file)."""
    write_atomically(path, json.dumps(data))


class ControlWatcher:
    """In the proxy process: applies each new generation of the control file, and acknowledges it.

    Call :meth:`poll` often (every 50 ms); it costs one ``stat`` when nothing changed.
    A missing file leaves the current fault in place; an invalid one is refused (the
    current fault stays) and the refusal is acknowledged with its reason.
    """

    def __init__(self, control: Path, apply: Callable[[ProxyFault], None], pid: int) -> None:
        self._control = control
        self._ack = acknowledgement_path(control)
        self._apply = apply
        self._pid = pid
        self._signature: tuple[int, int, int] | None = None
        self._read_at = float("-inf")
        self._generation = -1
        self._fault = NO_FAULT
        self._error: str | None = None

    @property
    def generation(self) -> int:
        """The generation applied last (-1: none yet)."""
        return self._generation

    def poll(self) -> None:
        try:
            stat = self._control.stat()
        except FileNotFoundError:
            return
        signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        now = time.monotonic()
        if signature == self._signature and now - self._read_at < REREAD_SECONDS:
            return
        self._signature, self._read_at = signature, now
        try:
            state = read_control(self._control)
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            error = f"{self._control} is not a valid control file: {exc}"
            if error != self._error:
                logger.error("%s; keeping %s", error, self._fault)
                self._error = error
                self._acknowledge()
            return
        if state.generation == self._generation and self._error is None:
            return
        self._apply(state.fault)
        self._generation, self._fault, self._error = state.generation, state.fault, None
        logger.info("control generation %d applied: %s", state.generation, state.fault)
        self._acknowledge()

    def _acknowledge(self) -> None:
        data = {
            "generation": self._generation, "pid": self._pid, "fault": fault_to_json(self._fault), "error": self._error,
        }  # fmt: skip
        try:
            write_json_atomically(self._ack, data)
        except OSError as exc:
            logger.error("cannot write the acknowledgement %s: %s", self._ack, exc)


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def _number(data: dict[str, Any], key: str) -> float:
    value = data.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} must be a number, got {value!r}")
    return float(value)
