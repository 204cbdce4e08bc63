"""The proxy as a process of its own: the Chaos Toolkit functions, and `python -m gamedays.faults.local.proxy` itself."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from chaoslib.exceptions import ActivityFailed

from gamedays.faults.local import proxy as ctk
from gamedays.processes import alive as pid_alive
from gamedays.processes import wait_gone
from gamedays.sandbox.ports import free_port
from tests.faults.proxy.conftest import port_refuses
from tests.faults.proxy.echo import (
    EchoServer,
    connect,
    recv_exactly,
    round_trip,
    wait_until,
)


def _files(state_file: str) -> list[str]:
    folder = Path(state_file).parent
    return sorted(path.name for path in folder.iterdir() if path.name.startswith(Path(state_file).name))


def test_start_fault_clear_stop(echo: EchoServer, state_file: str):
    started = ctk.start_proxy(listen_port=0, target=f"127.0.0.1:{echo.port}", state_file=state_file)
    pid, port = started["pid"], started["listen_port"]
    assert pid_alive(pid) and pid != os.getpid()
    assert json.loads(Path(state_file).read_text()) == started
    assert round_trip(port) < 0.1

    applied = ctk.add_latency(state_file, latency_ms=300)
    assert applied["fault"]["latency_ms"] == 300.0
    assert 0.3 <= round_trip(port) < 0.6  # in effect as soon as add_latency returns
    ctk.limit_bandwidth(state_file, bytes_per_second=100_000)  # faults compose
    control = json.loads(Path(started["control_file"]).read_text())
    assert (control["latency_ms"], control["bytes_per_second"], control["generation"]) == (300.0, 100_000, 2)

    ctk.clear_faults(state_file)
    assert round_trip(port) < 0.1

    ctk.blackhole(state_file)
    with connect(port, timeout=0.5) as sock:
        sock.sendall(b"lost")
        with pytest.raises(TimeoutError):
            sock.recv(4)
    assert echo.received == 3 * 4  # the three round trips before, nothing since

    ctk.reset_connections(state_file)
    with pytest.raises(ConnectionResetError):  # on connect already, when the proxy's RST comes first (a busy machine)
        with connect(port, timeout=2) as sock:
            sock.sendall(b"x")
            sock.recv(1)
    ctk.clear_faults(state_file)
    assert round_trip(port) < 0.5

    stopped = ctk.stop_proxy(state_file)
    assert stopped == {"stopped": True, "state_file": state_file, "pid": pid, "listen_port": port}
    assert wait_gone([pid], 5.0)
    assert port_refuses(port)
    assert _files(state_file) == ["proxy.json.log"]  # the log stays for the post-mortem
    assert ctk.stop_proxy(state_file) == {"stopped": False, "state_file": state_file, "reason": "no proxy recorded"}


def test_bandwidth_in_the_process(echo: EchoServer, state_file: str):
    port = ctk.start_proxy(0, f"127.0.0.1:{echo.port}", state_file)["listen_port"]
    ctk.limit_bandwidth(state_file, 50_000)
    payload = os.urandom(50_000)
    with connect(port, timeout=10) as sock:
        sender = threading.Thread(target=sock.sendall, args=(payload,), daemon=True)
        started = time.monotonic()
        sender.start()
        assert recv_exactly(sock, len(payload)) == payload
        assert 0.9 <= time.monotonic() - started < 3.0
        sender.join(5)


def test_stop_closes_open_connections(echo: EchoServer, state_file: str):
    started = ctk.start_proxy(0, f"127.0.0.1:{echo.port}", state_file)
    with connect(started["listen_port"], timeout=5) as sock:
        sock.sendall(b"hi")
        assert recv_exactly(sock, 2) == b"hi"
        began = time.monotonic()
        ctk.stop_proxy(state_file)
        assert time.monotonic() - began < 2.0
        try:
            rest = sock.recv(1)
        except ConnectionResetError:
            rest = b""
        assert rest == b""
    assert wait_gone([started["pid"]], 5.0)


def test_a_taken_port_fails_start_with_the_reason_and_leaves_nothing(echo: EchoServer, tmp_path: Path):
    state_file = str(tmp_path / "taken.json")
    with pytest.raises(ActivityFailed, match=rf"cannot listen on 127\.0\.0\.1:{echo.port}: Address already in use"):
        ctk.start_proxy(echo.port, f"127.0.0.1:{echo.port}", state_file)
    assert _files(state_file) == []


def test_a_second_start_on_the_same_state_file_is_refused(echo: EchoServer, state_file: str):
    first = ctk.start_proxy(0, f"127.0.0.1:{echo.port}", state_file)
    with pytest.raises(ActivityFailed, match=rf"still runs \(pid {first['pid']}, port {first['listen_port']}\)"):
        ctk.start_proxy(0, f"127.0.0.1:{echo.port}", state_file)
    assert json.loads(Path(state_file).read_text()) == first


def test_a_fixed_port_is_used(echo: EchoServer, state_file: str):
    port = free_port()
    assert ctk.start_proxy(port, f"localhost:{echo.port}", state_file)["listen_port"] == port
    assert round_trip(port) < 0.5


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: ctk.start_proxy(0, "db.internal", s), "target 'db.internal' is not host:port"),
        (lambda s: ctk.start_proxy(70000, "127.0.0.1:5432", s), "listen_port must be a port of 1-65535"),
        (lambda s: ctk.start_proxy(0, "127.0.0.1:5432", ""), "state_file must be a file path"),
        (lambda s: ctk.add_latency(s, latency_ms=-5), "latency_ms must be a number of milliseconds >= 0, got -5"),
        (lambda s: ctk.add_latency(s, latency_ms=5, jitter_ms="x"), "jitter_ms must be a number"),
        (lambda s: ctk.limit_bandwidth(s, bytes_per_second=0), "bytes_per_second must be a whole number > 0, got 0"),
        (lambda s: ctk.blackhole(s), "no proxy is recorded in .*proxy.json: run start_proxy"),
        (lambda s: ctk.reset_connections(s), "no proxy is recorded"),
    ],
)
def test_bad_calls_fail_with_a_clear_message(call, message: str, state_file: str):  # type: ignore[no-untyped-def]
    with pytest.raises(ActivityFailed, match=message):
        call(state_file)


def test_clear_faults_without_a_proxy_is_a_harmless_rollback(state_file: str):
    assert ctk.clear_faults(state_file)["cleared"] is False


def test_a_dead_proxy_is_reported_and_stop_still_tidies_up(echo: EchoServer, state_file: str):
    started = ctk.start_proxy(0, f"127.0.0.1:{echo.port}", state_file)
    os.kill(started["pid"], signal.SIGKILL)
    assert wait_gone([started["pid"]], 5.0)
    with pytest.raises(ActivityFailed, match=rf"the proxy \(pid {started['pid']}\) recorded in .* is not running"):
        ctk.add_latency(state_file, 100)
    assert ctk.stop_proxy(state_file)["stopped"] is False
    assert not Path(state_file).exists()


def test_the_command_follows_its_control_file_and_stops_on_sigterm(echo: EchoServer, tmp_path: Path):
    control = tmp_path / "control.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "gamedays.faults.local.proxy", "--listen", "0", "--target", f"127.0.0.1:{echo.port}",
         "--control", str(control)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        report = json.loads(process.stdout.readline())
        port = report["port"]
        assert report["pid"] == process.pid and round_trip(port) < 0.1

        _write(control, {"generation": 1, "latency_ms": 200})  # written atomically, as any tool should
        assert wait_until(lambda: _applied(control) == (1, None), timeout=3)
        assert 0.2 <= round_trip(port) < 0.5

        control.write_text("{not json")  # a broken file is refused; the fault in effect stays
        assert wait_until(lambda: (_applied(control) or (0, None))[1] is not None, timeout=3)
        assert "is not a valid control file" in str(_applied(control)[1])  # type: ignore[index]
        assert 0.2 <= round_trip(port) < 0.5

        _write(control, {"generation": 2, "latency_ms": 0, "lateny_ms": 5})
        assert wait_until(lambda: "unknown keys ['lateny_ms']" in str((_applied(control) or (0, ""))[1]), timeout=3)

        _write(control, {"generation": 2})
        assert wait_until(lambda: _applied(control) == (2, None), timeout=3)
        assert round_trip(port) < 0.1

        process.send_signal(signal.SIGTERM)
        assert process.wait(5) == 0
        assert port_refuses(port)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(5)
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]


def test_the_command_reports_a_taken_port(echo: EchoServer, tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "gamedays.faults.local.proxy", "--listen", str(echo.port),
         "--target", f"127.0.0.1:{echo.port}", "--control", str(tmp_path / "control.json")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{echo.port}: Address already in use" in done.stderr


def _write(path: Path, data: dict[str, object]) -> None:
    temp = path.with_name(path.name + ".new")
    temp.write_text(json.dumps(data))
    os.replace(temp, path)


def _applied(control: Path) -> tuple[int, str | None] | None:
    try:
        data = json.loads(control.with_name(control.name + ".applied").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return int(data["generation"]), data["error"]


def test_a_proxy_started_here_is_not_our_child(echo: EchoServer, state_file: str):
    """Detached: the caller has nothing to reap, and the proxy is in a session of its own."""
    pid = ctk.start_proxy(0, f"127.0.0.1:{echo.port}", state_file)["pid"]
    stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    parent, session = int(stat[1]), int(stat[3])  # fields 4 and 6 of /proc/pid/stat
    assert parent != os.getpid()
    assert session == pid and session != os.getsid(0)
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_the_listen_socket_is_on_loopback(echo: EchoServer, state_file: str):
    port = ctk.start_proxy(0, f"127.0.0.1:{echo.port}", state_file)["listen_port"]
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) == 0
