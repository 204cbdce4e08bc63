"""Network faults for Chaos Toolkit experiments: a TCP proxy process between a client and its dependency.

There is no netem or iptables: network faults are made by a userspace TCP proxy
(:class:`~gamedays.faults.local.tcpproxy.TcpProxy`) running as a detached process of its own
(``python -m gamedays.faults.local.proxy``, see :mod:`gamedays.faults.local.proxyprocess`). These
python-provider functions start it, change its fault live through its control file
(:mod:`gamedays.faults.local.proxycontrol`) and stop it:

    fault                                               rollback
    start_proxy(listen_port, target, state_file)        stop_proxy(state_file)
    add_latency(state_file, latency_ms, jitter_ms=0)    clear_faults(state_file)
    blackhole(state_file)                               clear_faults(state_file)
    reset_connections(state_file)                       clear_faults(state_file)
    limit_bandwidth(state_file, bytes_per_second)       clear_faults(state_file)

``state_file`` is where ``start_proxy`` records the proxy (pid, port, target, control
file); every other function finds the proxy there, so it works from any process: the
method and the rollbacks of a ``chaos run``, or two experiments of a gameday. Faults
compose (latency plus a bandwidth limit); each call replaces its own kind, and
``clear_faults`` removes them all. A fault function returns once the proxy process has
acknowledged the change, so the fault is in effect when the next activity starts.
``latency_ms`` is added to every round trip (half each way, pipelined like a real
link); ``blackhole`` forwards nothing, not even new connections, and clients hang until
their own timeouts (held bytes flow on once cleared); ``reset_connections`` resets open
connections and every new one until cleared. Every failure raises chaoslib's
``ActivityFailed`` with a message that says what to fix.

Putting the proxy in the path: the client must connect to the proxy's port instead of
its dependency's. In the sandbox the shop finds PostgreSQL through the SRV record
``db.shop.internal``, so an experiment starts a proxy in front of the database and
moves the record to the proxy's port with ``gamedays.faults.dns.records.point_record`` (new
connections go through the proxy from then on), and its rollbacks put the record back
first, then clear the faults and stop the proxy::

    "method": [
      {"type": "action", "name": "proxy-in-front-of-the-database",
       "provider": {"type": "python", "module": "gamedays.faults.local.proxy", "func": "start_proxy",
                    "arguments": {"listen_port": 25432, "target": "127.0.0.1:15432",
                                  "state_file": "/tmp/gameday/db-proxy.json"}}},
      {"type": "action", "name": "route-the-shop-through-the-proxy",
       "provider": {"type": "python", "module": "gamedays.faults.dns.records", "func": "point_record",
                    "arguments": {"server": "127.0.0.1:5353", "zone": "shop.internal", "name": "db",
                                  "rdtype": "SRV", "values": ["0 0 25432 pg-0.shop.internal."],
                                  "backup": "/tmp/gameday/db-srv.json"}}},
      {"type": "action", "name": "slow-database-network",
       "provider": {"type": "python", "module": "gamedays.faults.local.proxy", "func": "add_latency",
                    "arguments": {"state_file": "/tmp/gameday/db-proxy.json", "latency_ms": 300}},
       "pauses": {"after": 30}}
    ],
    "rollbacks": [
      {"type": "action", "name": "route-the-shop-back",
       "provider": {"type": "python", "module": "gamedays.faults.dns.records", "func": "restore_record",
                    "arguments": {"server": "127.0.0.1:5353", "zone": "shop.internal", "name": "db",
                                  "rdtype": "SRV", "backup": "/tmp/gameday/db-srv.json"}}},
      {"type": "action", "name": "clear-network-faults",
       "provider": {"type": "python", "module": "gamedays.faults.local.proxy", "func": "clear_faults",
                    "arguments": {"state_file": "/tmp/gameday/db-proxy.json"}}},
      {"type": "action", "name": "remove-the-proxy",
       "provider": {"type": "python", "module": "gamedays.faults.local.proxy", "func": "stop_proxy",
                    "arguments": {"state_file": "/tmp/gameday/db-proxy.json"}}}
    ]

Give a fixed ``listen_port`` when a record must name it before the proxy starts;
``listen_port=0`` takes a free port, returned as ``listen_port``. Outside the sandbox,
point the client's configuration (or its DNS record) at ``127.0.0.1:<listen_port>``
on the machine that runs the experiment. The proxy listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from gamedays.faults.local import proxyprocess
from gamedays.faults.local.proxycontrol import (
    ControlState,
    acknowledgement_path,
    fault_to_json,
    read_acknowledgement,
    read_control,
    write_control,
    write_json_atomically,
)
from gamedays.faults.local.proxyfault import NO_FAULT, ProxyFault
from gamedays.model.reach import Reach, acts_on
from gamedays.processes import alive, wait_gone

__all__ = [
    "add_latency",
    "blackhole",
    "clear_faults",
    "limit_bandwidth",
    "reset_connections",
    "start_proxy",
    "stop_proxy",
]

logger = logging.getLogger(__name__)

MODULE = "gamedays.faults.local.proxy"
#: How long start_proxy waits for the process to listen, in seconds.
START_TIMEOUT = 15.0
#: How long a fault function waits for the process to acknowledge the change, in seconds.
APPLY_TIMEOUT = 5.0
#: How long stop_proxy waits after SIGTERM, then after SIGKILL, in seconds.
STOP_TIMEOUT = 5.0


@acts_on(Reach.LOCAL_HOST)
def start_proxy(listen_port: int, target: str, state_file: str) -> dict[str, Any]:
    """Start a detached proxy on 127.0.0.1:``listen_port`` (0: a free port) forwarding to ``target`` (``host:port``).

    Returns once the proxy listens, with ``pid``, ``listen_port`` (the real one),
    ``target``, ``state_file``, ``control_file`` and ``log_file``; the same is recorded
    in ``state_file`` for the other functions. Fails if a proxy recorded there still runs.
    """
    port = _port(listen_port)
    try:
        host, target_port = proxyprocess.parse_target(str(target))
    except ValueError as exc:
        raise _failed(str(exc)) from None
    files = _Files.of(state_file)
    previous = _read_state(files)
    if previous is not None and _proxy_alive(previous):
        raise _failed(
            f"a proxy recorded in {state_file} still runs (pid {previous['pid']}, port {previous['listen_port']}): "
            "stop_proxy it first, or use another state_file"
        )
    try:
        write_control(files.control, ControlState(0, NO_FAULT))
        acknowledgement_path(files.control).unlink(missing_ok=True)
    except OSError as exc:
        raise _failed(f"cannot write the proxy's control file {files.control}: {exc.strerror or exc}") from None
    try:
        report = _launch(port, f"{host}:{target_port}", files)
    except Exception:
        _forget(files)  # a failed start leaves nothing behind but a log that says something
        raise
    state = {
        "pid": report["pid"], "listen_port": report["port"], "target": f"{host}:{target_port}",
        "state_file": str(files.state), "control_file": str(files.control), "log_file": str(files.log),
    }  # fmt: skip
    try:
        write_json_atomically(files.state, state)
    except OSError as exc:
        _terminate(int(report["pid"]))
        raise _failed(
            f"cannot write the state file {state_file}: {exc.strerror or exc}; the proxy was stopped"
        ) from None
    logger.info("proxy %d listens on 127.0.0.1:%d for %s:%d", report["pid"], report["port"], host, target_port)
    return state


@acts_on(Reach.LOCAL_HOST)
def stop_proxy(state_file: str) -> dict[str, Any]:
    """Stop the proxy recorded in ``state_file`` (its connections close) and forget it. Idempotent.

    Returns ``stopped`` (False if it was not running, or nothing was recorded), ``pid`` and ``listen_port``.
    """
    files = _Files.of(state_file)
    state = _read_state(files)
    if state is None:
        logger.info("no proxy recorded in %s: nothing to stop", state_file)
        return {"stopped": False, "state_file": state_file, "reason": "no proxy recorded"}
    running = _proxy_alive(state)
    if running and not _terminate(int(state["pid"])):
        raise _failed(f"the proxy (pid {state['pid']}) recorded in {state_file} did not stop, even after SIGKILL")
    _forget(files)
    outcome = "stopped" if running else "was not running"
    logger.info("proxy %d on port %d %s", state["pid"], state["listen_port"], outcome)
    return {"stopped": running, "state_file": state_file, "pid": state["pid"], "listen_port": state["listen_port"]}


@acts_on(Reach.LOCAL_HOST)
def add_latency(state_file: str, latency_ms: float, jitter_ms: float = 0) -> dict[str, Any]:
    """Add ``latency_ms`` (plus up to ``jitter_ms`` more, at random) to every round trip through the proxy."""
    latency = _milliseconds("latency_ms", latency_ms)
    jitter = _milliseconds("jitter_ms", jitter_ms)
    return _change(state_file, lambda fault: replace(fault, latency=latency / 1000.0, jitter=jitter / 1000.0))


@acts_on(Reach.LOCAL_HOST)
def blackhole(state_file: str) -> dict[str, Any]:
    """Forward nothing, either way, not even new connections: clients hang until their own timeouts."""
    return _change(state_file, lambda fault: replace(fault, blackhole=True))


@acts_on(Reach.LOCAL_HOST)
def reset_connections(state_file: str) -> dict[str, Any]:
    """Reset (RST) every open connection, and every new one until ``clear_faults``."""
    return _change(state_file, lambda fault: replace(fault, reset=True))


@acts_on(Reach.LOCAL_HOST)
def limit_bandwidth(state_file: str, bytes_per_second: int) -> dict[str, Any]:
    """Let at most ``bytes_per_second`` through in each direction of each connection."""
    if isinstance(bytes_per_second, bool) or not isinstance(bytes_per_second, int) or bytes_per_second <= 0:
        raise _failed(f"bytes_per_second must be a whole number > 0, got {bytes_per_second!r}")
    return _change(state_file, lambda fault: replace(fault, bandwidth=bytes_per_second))


@acts_on(Reach.LOCAL_HOST)
def clear_faults(state_file: str) -> dict[str, Any]:
    """Remove every fault: the proxy forwards untouched again. Nothing to do if no proxy is recorded."""
    if _read_state(_Files.of(state_file)) is None:
        logger.info("no proxy recorded in %s: no fault to clear", state_file)
        return {"cleared": False, "state_file": state_file, "reason": "no proxy recorded"}
    return {"cleared": True, **_change(state_file, lambda fault: NO_FAULT)}


@dataclass(frozen=True)
class _Files:
    """The files of one proxy: its state (for these functions), its control file, its log."""

    state: Path
    control: Path
    log: Path

    @classmethod
    def of(cls, state_file: str) -> _Files:
        if not isinstance(state_file, str) or not state_file.strip():
            raise _failed(f"state_file must be a file path, got {state_file!r}")
        state = Path(state_file).absolute()
        return cls(state, state.with_name(state.name + ".control"), state.with_name(state.name + ".log"))


def _change(state_file: str, change: Callable[[ProxyFault], ProxyFault]) -> dict[str, Any]:
    """Read the control file, change its fault, write the next generation, wait for the proxy to apply it."""
    files = _Files.of(state_file)
    state = _read_state(files)
    if state is None:
        raise _failed(f"no proxy is recorded in {state_file}: run start_proxy with this state_file first")
    if not _proxy_alive(state):
        raise _failed(f"the proxy (pid {state['pid']}) recorded in {state_file} is not running; see {files.log}")
    try:
        current = read_control(files.control)
    except FileNotFoundError:
        current = ControlState(0, NO_FAULT)
    except (OSError, ValueError) as exc:
        raise _failed(f"cannot read the proxy's control file {files.control}: {exc}") from None
    try:
        fault = change(current.fault)
    except ValueError as exc:
        raise _failed(str(exc)) from None
    generation = current.generation + 1
    try:
        write_control(files.control, ControlState(generation, fault))
    except OSError as exc:
        raise _failed(f"cannot write the proxy's control file {files.control}: {exc.strerror or exc}") from None
    _wait_applied(files, state, generation)
    logger.info("proxy %d on port %d: %s", state["pid"], state["listen_port"], fault)
    return {
        "pid": state["pid"],
        "listen_port": state["listen_port"],
        "target": state["target"],
        "fault": fault_to_json(fault),
    }


def _wait_applied(files: _Files, state: dict[str, Any], generation: int) -> None:
    deadline = time.monotonic() + APPLY_TIMEOUT
    acknowledged = None
    while time.monotonic() < deadline:
        acknowledged = read_acknowledgement(acknowledgement_path(files.control))
        if acknowledged is not None and acknowledged.generation >= generation:
            return
        if not _proxy_alive(state):
            raise _failed(f"the proxy (pid {state['pid']}) died before it applied the fault; see {files.log}")
        time.sleep(0.01)
    why = f": {acknowledged.error}" if acknowledged is not None and acknowledged.error else ""
    raise _failed(
        f"the proxy (pid {state['pid']}) did not apply the fault within {APPLY_TIMEOUT:g}s{why}; see {files.log}"
    )


def _launch(port: int, target: str, files: _Files) -> dict[str, Any]:
    """Run ``python -m gamedays.faults.local.proxy --daemon``: it forks the proxy, prints its report and exits."""
    root = str(Path(__file__).resolve().parents[3])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    command = [
        sys.executable, "-m", MODULE, "--daemon", "--listen", str(port), "--target", target,
        "--control", str(files.control), "--log", str(files.log),
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=START_TIMEOUT, env=env, start_new_session=True, check=False
        )
    except subprocess.TimeoutExpired:
        raise _failed(f"the proxy did not start within {START_TIMEOUT:g}s; see {files.log}") from None
    except OSError as exc:
        raise _failed(f"cannot run {sys.executable}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise _failed(f"the proxy could not start: {lines[-1] if lines else f'exit code {done.returncode}'}")
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
        int(report["pid"]), int(report["port"])
    except (ValueError, IndexError, KeyError, TypeError):
        raise _failed(f"the proxy started but its report is unreadable: {done.stdout!r}") from None
    return dict(report)


def _forget(files: _Files) -> None:
    """Remove the state, control and acknowledgement files, and the log if it is empty."""
    for path in (files.state, files.control, acknowledgement_path(files.control)):
        path.unlink(missing_ok=True)
    try:
        if files.log.stat().st_size == 0:
            files.log.unlink()
    except FileNotFoundError:
        logger.debug("no proxy log %s to tidy", files.log)


def _read_state(files: _Files) -> dict[str, Any] | None:
    try:
        data = json.loads(files.state.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise _failed(f"cannot read the proxy state file {files.state}: {exc}") from None
    valid = isinstance(data, dict) and all(isinstance(data.get(key), int) for key in ("pid", "listen_port"))
    if not valid or not isinstance(data.get("control_file"), str):
        raise _failed(f"{files.state} is not a state file written by start_proxy")
    return dict(data)


def _proxy_alive(state: dict[str, Any]) -> bool:
    """True if the recorded pid is a live proxy with this control file (not a process that reused the pid)."""
    pid = int(state["pid"])
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return alive(pid) and MODULE.encode() in cmdline and str(state["control_file"]).encode() in cmdline


def _terminate(pid: int) -> bool:
    """SIGTERM (the proxy closes its connections), SIGKILL if it lingers; True once it is gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        if wait_gone([pid], STOP_TIMEOUT):
            return True
    return not alive(pid)


def _port(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 65536:
        raise _failed(f"listen_port must be a port of 1-65535 (or 0 for a free one), got {value!r}")
    return value


def _milliseconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise _failed(f"{name} must be a number of milliseconds >= 0, got {value!r}")
    return float(value)


def _failed(message: str) -> Exception:
    """chaoslib's ActivityFailed, imported lazily (the proxy process itself does not need chaoslib)."""
    from chaoslib.exceptions import ActivityFailed

    return ActivityFailed(message)


if __name__ == "__main__":
    sys.exit(proxyprocess.main(sys.argv[1:]))
