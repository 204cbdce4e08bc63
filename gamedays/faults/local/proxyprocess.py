"""The TCP fault proxy as a process of its own, controlled through a file.

    python -m gamedays.faults.local.proxy --listen PORT --target HOST:PORT --control FILE [--log FILE] [--daemon]

It runs a :class:`~gamedays.faults.local.tcpproxy.TcpProxy` on 127.0.0.1:PORT (0: a free port)
forwarding to HOST:PORT, and applies the fault of the control file
(:mod:`gamedays.faults.local.proxycontrol`) whenever the file changes. Once it listens, it
prints one JSON line on stdout: ``{"pid": ..., "port": ..., "target": ..., "control": ...}``;
if it cannot start it prints the reason on stderr and exits with 2. SIGTERM or SIGINT
stops it: every connection is closed, then it exits with 0.

With ``--daemon`` it detaches: the process forks; the child starts its own session,
sends its output to ``--log`` and runs the proxy; the parent waits for the child's
report, prints it (or the error) and exits at once. The caller so never has a child
to reap, and the proxy outlives the caller (a ``chaos run`` between two activities).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import select
import signal
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

from gamedays.faults.local.proxycontrol import ControlWatcher
from gamedays.faults.local.tcpproxy import LOOPBACK, TcpProxy
from gamedays.model.errors import SandboxError

__all__ = ["main", "parse_target"]

logger = logging.getLogger(__name__)

PROGRAM = "python -m gamedays.faults.local.proxy"
#: How often the process looks at the control file and its stop flag, in seconds.
CONTROL_POLL = 0.05
#: How long a ``--daemon`` parent waits for the child's report, in seconds.
REPORT_TIMEOUT = 10.0

Report = Callable[[dict[str, object]], None]


def parse_target(text: str) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) to its parts; ValueError saying what is wrong."""
    host, sep, port_text = text.strip().rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"target {text!r} is not host:port with a port of 1-65535")
    return host, int(port_text)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog=PROGRAM, description="a TCP proxy whose network faults come from a control file"
    )
    parser.add_argument("--listen", type=int, required=True, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--target", required=True, help="host:port to forward to")
    parser.add_argument("--control", type=Path, required=True, help="the JSON control file (see proxycontrol)")
    parser.add_argument("--log", type=Path, help="log file (default: stderr; with --daemon: discarded)")
    parser.add_argument("--daemon", action="store_true", help="detach, print the start report, exit")
    args = parser.parse_args(list(argv))
    try:
        target = parse_target(args.target)
    except ValueError as exc:
        parser.error(str(exc))
    if not 0 <= args.listen < 65536:
        parser.error(f"--listen {args.listen} is not a port of 0-65535")
    if args.daemon:
        return _daemonize(args.listen, target, args.control, args.log)
    _configure_logging(args.log)
    return _serve(args.listen, target, args.control, _print_report)


def _serve(listen: int, target: tuple[str, int], control: Path, report: Report) -> int:
    """Run the proxy until SIGTERM/SIGINT; ``report`` gets the start report (or the reason it could not start)."""
    stop_requested: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        stop_requested.append(signum)  # only a flag: the main loop notices within CONTROL_POLL

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    proxy = TcpProxy(lambda: target, port=listen)
    try:
        proxy.start()
    except SandboxError as exc:
        report({"error": str(exc)})
        return 2
    try:
        watcher = ControlWatcher(control, proxy.set_fault, os.getpid())
        watcher.poll()  # a fault already in the control file is in effect before anyone is told we listen
        report({"pid": os.getpid(), "port": proxy.port, "target": f"{target[0]}:{target[1]}", "control": str(control)})
        while not stop_requested:
            time.sleep(CONTROL_POLL)
            watcher.poll()
        logger.info("signal %d: stopping the proxy on %s:%d", stop_requested[0], LOOPBACK, proxy.port)
    finally:
        proxy.stop()
    return 0


def _print_report(payload: dict[str, object]) -> None:
    stream = sys.stderr if "error" in payload else sys.stdout
    stream.write((str(payload["error"]) if "error" in payload else json.dumps(payload)) + "\n")
    stream.flush()


def _daemonize(listen: int, target: tuple[str, int], control: Path, log: Path | None) -> int:
    """Fork; the child serves (detached), the parent relays the child's report and exits."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read_end)
        os.setsid()
        _redirect_output(log)
        _configure_logging(None)  # stderr is the log file now
        return _serve(listen, target, control, _pipe_report(write_end))
    os.close(write_end)
    payload = _read_report(read_end)
    os.close(read_end)
    if payload is None or "port" not in payload:
        _kill_and_reap(child)
        reason = payload.get("error") if payload else "the proxy process ended or hung before it listened (see its log)"
        sys.stderr.write(f"{reason}\n")
        return 2
    sys.stdout.write(json.dumps(payload) + "\n")
    return 0


def _pipe_report(fd: int) -> Report:
    def report(payload: dict[str, object]) -> None:
        try:
            os.write(fd, (json.dumps(payload) + "\n").encode())
        finally:
            os.close(fd)

    return report


def _read_report(fd: int) -> dict[str, object] | None:
    """The child's one-line report; None if it said nothing (died, or hung) within REPORT_TIMEOUT."""
    deadline = time.monotonic() + REPORT_TIMEOUT
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return None
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    try:
        payload = json.loads(data.decode()) if data.strip() else None
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _kill_and_reap(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        logger.debug("the proxy child %d is already gone", pid)
    os.waitpid(pid, 0)


def _redirect_output(log: Path | None) -> None:
    """Detach from the caller's pipes: stdin from /dev/null, stdout and stderr to ``log`` (or /dev/null)."""
    null = os.open(os.devnull, os.O_RDWR)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if log is not None else null
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    for fd in {null, out}:
        os.close(fd)


def _configure_logging(log: Path | None) -> None:
    handler: logging.Handler = logging.FileHandler(log) if log is not None else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
